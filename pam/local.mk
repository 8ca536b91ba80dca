# pam fragment: pam_yolo_gate.so and its tests.
#
# The module must not pull libvirt into sshd, so it does not link libyg.la:
# pam/libygpam.la compiles just the codec, the log escaper and yg_err (own
# per-target CFLAGS, so the objects do not clash with libyg's) plus the
# module's own option parser and broker client.
noinst_LTLIBRARIES += pam/libygpam.la
pam_libygpam_la_SOURCES = \
	src/lib/yg_proto.c src/lib/yg_log.c src/lib/yg_err.c \
	pam/pam_options.c pam/pam_options.h \
	pam/pam_broker.c pam/pam_broker.h
pam_libygpam_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden

pammod_LTLIBRARIES += pam/pam_yolo_gate.la
pam_pam_yolo_gate_la_SOURCES = pam/pam_yolo_gate.c
pam_pam_yolo_gate_la_CFLAGS = $(AM_CFLAGS) $(PAM_CFLAGS)
pam_pam_yolo_gate_la_LDFLAGS = -module -avoid-version -shared \
	-Wl,--version-script=$(srcdir)/pam/pam_yolo_gate.map -Wl,-z,now -Wl,-z,relro
pam_pam_yolo_gate_la_LIBADD = pam/libygpam.la $(PAM_LIBS)
pam_pam_yolo_gate_la_DEPENDENCIES = pam/libygpam.la pam/pam_yolo_gate.map
EXTRA_DIST += pam/pam_yolo_gate.map
