# SPDX-License-Identifier: MIT
# src/gated: yolo-gated, the broker. The listening parent (main.c with the
# policy, the client caps and error replies) does not link libvirt; the rest
# is the session module yolo-gated-session.so that its children load
# (module.h), built from a convenience library that the unit tests link too.
noinst_LTLIBRARIES += src/gated/libyggated.la
src_gated_libyggated_la_SOURCES = \
	src/gated/gated.h src/gated/session.h src/gated/module.h \
	src/gated/access.c src/gated/dispatch.c src/gated/concurrent.c src/gated/lifecycle.c \
	src/gated/relay.c src/gated/exec.c src/gated/boxd.c src/gated/guest.c \
	src/gated/handoff.c src/gated/hold.c src/gated/audit.c src/gated/host.c \
	src/gated/reply.c src/gated/signals.c src/gated/clients.c src/gated/cleanup.c
src_gated_libyggated_la_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS)
src_gated_libyggated_la_LIBADD = src/virt/libygvirt.la src/core/libygcaps.la src/core/libygcore.la policy/libygpolicy.la \
	$(LIBVIRT_LIBS) $(INIPARSER_LIBS)

pkglib_LTLIBRARIES += src/gated/yolo-gated-session.la
src_gated_yolo_gated_session_la_SOURCES = src/gated/module.c
src_gated_yolo_gated_session_la_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS)
src_gated_yolo_gated_session_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^yg_gd_module_' -Wl,-Bsymbolic -Wl,-z,now -Wl,-z,relro
# The convenience library as a plain (PIC) archive, not as a .la: libtool
# would put it into the module whole, with the copies of libygcore that each
# of libygvirt, libygcaps and libygpolicy carries: multiple definitions.
src_gated_yolo_gated_session_la_LIBADD = src/gated/.libs/libyggated.a \
	$(LIBVIRT_LIBS) $(LIBVIRT_QEMU_LIBS) $(CAPNG_LIBS) $(INIPARSER_LIBS) -lpthread
src_gated_yolo_gated_session_la_DEPENDENCIES = src/gated/libyggated.la

sbin_PROGRAMS += src/gated/yolo-gated
src_gated_yolo_gated_SOURCES = src/gated/main.c src/gated/access.c src/gated/clients.c \
	src/gated/reply.c
src_gated_yolo_gated_CPPFLAGS = $(AM_CPPFLAGS) -DYG_GD_MODULE_DIR='"$(pkglibdir)"'
src_gated_yolo_gated_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS)
src_gated_yolo_gated_LDADD = src/core/libygcaps.la src/core/libygcore.la policy/libygpolicy.la \
	$(INIPARSER_LIBS)
if YG_SANITIZERS
# ASan looks its interceptors' real functions up once, at start-up: a library
# with intercepted functions that is mapped only later, by the module, would
# have them jump to NULL. libvirt's RPC calls libtirpc's xdr_* (intercepted),
# so the sanitizer build maps libtirpc in the parent.
src_gated_yolo_gated_LDFLAGS = -Wl,--no-as-needed,-ltirpc,--as-needed
endif

dist_man_MANS += docs/yolo-gated.8

# Unit test (no root, no libvirt): the per-box rendezvous.
check_PROGRAMS += tests/unit/handofftest
UNIT_TESTS += tests/unit/handofftest
tests_unit_handofftest_SOURCES = tests/unit/handofftest.c
tests_unit_handofftest_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/gated
tests_unit_handofftest_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_handofftest_LDADD = src/gated/libyggated.la $(CMOCKA_LIBS)

# Integration test: a real box, a real broker, a tiny client.
check_PROGRAMS += tests/integration/gatedclient
tests_integration_gatedclient_SOURCES = tests/integration/gatedclient.c
tests_integration_gatedclient_LDADD = src/core/libygcore.la
INTEGRATION_TESTS += tests/integration/gated.sh
dist_check_SCRIPTS += tests/integration/gated.sh

# Integration test: remote commands (yolo-shell -c) through yolo-boxd.
INTEGRATION_TESTS += tests/integration/exec.sh
dist_check_SCRIPTS += tests/integration/exec.sh

# Integration test: timeouts, sessions/end, audit, recordings.
INTEGRATION_TESTS += tests/integration/session.sh
dist_check_SCRIPTS += tests/integration/session.sh

# Socket activation (LISTEN_FDS), without systemd as PID 1.
UNIT_TESTS += tests/unit/activation.sh
dist_check_SCRIPTS += tests/unit/activation.sh

# Unit test (no root, no libvirt): the relay over socketpairs on the poll loop.
check_PROGRAMS += tests/unit/relaytest
UNIT_TESTS += tests/unit/relaytest
tests_unit_relaytest_SOURCES = tests/unit/relaytest.c \
	tests/unit/relayrig.c tests/unit/relayrig.h
tests_unit_relaytest_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/gated
tests_unit_relaytest_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -pthread
tests_unit_relaytest_LDADD = src/gated/libyggated.la $(CMOCKA_LIBS) -lpthread

# Unit test (no root, no libvirt): recordings over record_max_size keep the
# start, a marker and the end (audit.c).
check_PROGRAMS += tests/unit/rectest
UNIT_TESTS += tests/unit/rectest
tests_unit_rectest_SOURCES = tests/unit/rectest.c
tests_unit_rectest_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/gated
tests_unit_rectest_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_rectest_LDADD = src/gated/libyggated.la $(CMOCKA_LIBS)
