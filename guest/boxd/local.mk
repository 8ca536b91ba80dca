# SPDX-License-Identifier: MIT
# guest/boxd: yolo-boxd, the guest daemon of the box channel (yg_chan.h).
# It runs in the box, so it links nothing but libc and the codec objects of
# libygcore it uses (a static convenience archive: only those members are
# linked; tests/unit/boxdtest.sh checks with ldd).
sbin_PROGRAMS += guest/boxd/yolo-boxd
guest_boxd_yolo_boxd_SOURCES = \
	guest/boxd/boxd.c guest/boxd/boxd.h guest/boxd/boxd_main.c \
	guest/boxd/boxd_exec.c \
	guest/boxd/boxd_spawn.c guest/boxd/boxd_spawn.h \
	guest/boxd/boxd_keys.c
guest_boxd_yolo_boxd_LDADD = src/core/libygcore.la
dist_man_MANS += docs/yolo-boxd.8

# The unit tests drive a real yolo-boxd over a socket with the codec
# (tests/unit/boxdrig.c plays the host).
BOXD_TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) \
	-DBOXD_PATH_BIN='"$(abs_top_builddir)/guest/boxd/yolo-boxd"'
BOXD_TEST_LDADD = src/core/libygcore.la $(CMOCKA_LIBS)
check_PROGRAMS += tests/unit/boxdtest tests/unit/boxdkeystest
UNIT_TESTS += tests/unit/boxdtest tests/unit/boxdkeystest
tests_unit_boxdtest_SOURCES = tests/unit/boxdtest.c tests/unit/boxdrig.c tests/unit/boxdrig.h
tests_unit_boxdtest_CFLAGS = $(BOXD_TEST_CFLAGS)
tests_unit_boxdtest_LDADD = $(BOXD_TEST_LDADD)
EXTRA_tests_unit_boxdtest_DEPENDENCIES = guest/boxd/yolo-boxd
tests_unit_boxdkeystest_SOURCES = tests/unit/boxdkeystest.c tests/unit/boxdrig.c tests/unit/boxdrig.h
tests_unit_boxdkeystest_CFLAGS = $(BOXD_TEST_CFLAGS)
tests_unit_boxdkeystest_LDADD = $(BOXD_TEST_LDADD)
EXTRA_tests_unit_boxdkeystest_DEPENDENCIES = guest/boxd/yolo-boxd

# The integration check: the tiny guest's yolo-boxd over the real port.
INTEGRATION_TESTS += tests/integration/boxd.sh
EXTRA_DIST += tests/integration/boxd.sh
check_PROGRAMS += tests/integration/chanprobe
tests_integration_chanprobe_SOURCES = tests/integration/chanprobe.c
tests_integration_chanprobe_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS)
tests_integration_chanprobe_LDADD = src/core/libygcore.la $(LIBVIRT_LIBS)
