# src/gated: yolo-gated, the broker.
sbin_PROGRAMS += src/gated/yolo-gated
src_gated_yolo_gated_SOURCES = \
	src/gated/gated.h src/gated/session.h \
	src/gated/main.c src/gated/access.c src/gated/session.c \
	src/gated/lifecycle.c src/gated/relay.c src/gated/handoff.c
src_gated_yolo_gated_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(CAPNG_CFLAGS)
src_gated_yolo_gated_LDADD = src/lib/libyg.la policy/libygpolicy.la \
	$(LIBVIRT_LIBS) $(CAPNG_LIBS) $(INIPARSER_LIBS)

dist_man_MANS += docs/yolo-gated.8

# Integration test: a real box, a real broker, a tiny client.
check_PROGRAMS += tests/integration/gatedclient
tests_integration_gatedclient_SOURCES = tests/integration/gatedclient.c
tests_integration_gatedclient_LDADD = src/lib/libyg.la
INTEGRATION_TESTS += tests/integration/gated.sh
dist_check_SCRIPTS += tests/integration/gated.sh
