# SPDX-License-Identifier: MIT
# pam fragment: pam_yolo_gate.so and its tests.
#
# The module must not pull libvirt (or libcap-ng) into sshd: it links
# libygcore alone (tests/unit/needed.sh). pam/libygpam.la is the module's own
# option parser and broker calls.
noinst_LTLIBRARIES += pam/libygpam.la
pam_libygpam_la_SOURCES = \
	pam/pam_options.c pam/pam_options.h
pam_libygpam_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
pam_libygpam_la_LIBADD = src/core/libygcore.la

pammod_LTLIBRARIES += pam/pam_yolo_gate.la
pam_pam_yolo_gate_la_SOURCES = pam/pam_yolo_gate.c
pam_pam_yolo_gate_la_CFLAGS = $(AM_CFLAGS) $(PAM_CFLAGS)
pam_pam_yolo_gate_la_LDFLAGS = -module -avoid-version -shared \
	-Wl,--version-script=$(srcdir)/pam/pam_yolo_gate.map -Wl,-z,now -Wl,-z,relro
pam_pam_yolo_gate_la_LIBADD = pam/libygpam.la $(PAM_LIBS)
pam_pam_yolo_gate_la_DEPENDENCIES = pam/libygpam.la pam/pam_yolo_gate.map
EXTRA_DIST += pam/pam_yolo_gate.map

# Unit tier: the module through libpam against a fake broker, its exported
# symbols and NEEDED libraries.
check_PROGRAMS += tests/unit/pamtest
UNIT_TESTS += tests/unit/pamtest tests/unit/pamsyms.sh tests/unit/pamtester.sh
tests_unit_pamtest_SOURCES = tests/unit/pamtest.c tests/unit/pamfake.c tests/unit/pamfake.h
tests_unit_pamtest_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/pam \
	-DYG_PAM_MODULE='"$(abs_top_builddir)/pam/.libs/pam_yolo_gate.so"' \
	-DYG_PAM_SERVICE_IN='"$(abs_top_srcdir)/tests/data/pam/yg-test.in"'
tests_unit_pamtest_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(PAM_CFLAGS) -pthread
tests_unit_pamtest_LDADD = pam/libygpam.la $(CMOCKA_LIBS) $(PAM_LIBS) -lpthread
EXTRA_DIST += tests/unit/pamsyms.sh tests/unit/pamtester.sh tests/data/pam/yg-test.in

dist_man_MANS += docs/pam_yolo_gate.8
EXTRA_DIST += packaging/pam/sshd.example

# End-to-end tier (root): the module in a real sshd's PAM stack.
E2E_TESTS += tests/e2e/pam.sh
EXTRA_DIST += tests/e2e/pam.sh

# A PAM module is loaded by path: libtool's .la file has no business in the
# module directory.
install-data-hook: remove-pam-la
remove-pam-la:
	rm -f $(DESTDIR)$(pammoddir)/pam_yolo_gate.la
uninstall-hook:
	rm -f $(DESTDIR)$(pammoddir)/pam_yolo_gate.so
.PHONY: remove-pam-la
