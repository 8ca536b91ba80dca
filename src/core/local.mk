# SPDX-License-Identifier: MIT
# src/core: libygcore, the layer every program links and the only one
# yolo-shell and the PAM module link. No libvirt here (tests/unit/needed.sh
# checks it): errors, log, the wire codec, safe files and fds, key files,
# JSON and base64, the clock, paths.
#
# Capabilities (libcap-ng) are the one part with an outside dependency, so
# they are a convenience library of their own: the PAM module, which never
# changes privilege, is linked whole (libtool --whole-archive for a module)
# and must not pull libcap-ng into sshd.
noinst_LTLIBRARIES += src/core/libygcore.la src/core/libygcaps.la
src_core_libygcore_la_SOURCES = \
	src/core/yg_err.c src/core/yg_err.h \
	src/core/yg_log.c src/core/yg_log.h \
	src/core/yg_proto.c src/core/yg_proto.h \
	src/core/yg_wire.c src/core/yg_wire.h \
	src/core/yg_chan.c src/core/yg_chan.h \
	src/core/yg_file.c src/core/yg_file.h \
	src/core/yg_keyfile.c src/core/yg_keyfile.h \
	src/core/yg_json.c src/core/yg_json.h \
	src/core/yg_base64.c src/core/yg_base64.h \
	src/core/yg_time.c src/core/yg_time.h \
	src/core/yg_path.c src/core/yg_path.h \
	src/core/yg_groups.c src/core/yg_groups.h \
	src/core/yg_text.c src/core/yg_text.h \
	src/core/yg_nodump.c src/core/yg_nodump.h
src_core_libygcaps_la_SOURCES = src/core/yg_caps.c src/core/yg_caps.h
src_core_libygcaps_la_CFLAGS = $(AM_CFLAGS) $(CAPNG_CFLAGS)
src_core_libygcaps_la_LIBADD = src/core/libygcore.la $(CAPNG_LIBS)

# Unit tests (cmocka), one program per area.
YG_CORE_TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
YG_CORE_TEST_LDADD = src/core/libygcore.la $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/prototest
UNIT_TESTS += tests/unit/prototest
tests_unit_prototest_SOURCES = tests/unit/prototest.c
tests_unit_prototest_CFLAGS = $(YG_CORE_TEST_CFLAGS)
tests_unit_prototest_LDADD = $(YG_CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/logtest
UNIT_TESTS += tests/unit/logtest
tests_unit_logtest_SOURCES = tests/unit/logtest.c
tests_unit_logtest_CFLAGS = $(YG_CORE_TEST_CFLAGS)
tests_unit_logtest_LDADD = $(YG_CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/filetest
UNIT_TESTS += tests/unit/filetest
tests_unit_filetest_SOURCES = tests/unit/filetest.c
tests_unit_filetest_CFLAGS = $(YG_CORE_TEST_CFLAGS)
tests_unit_filetest_LDADD = $(YG_CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/keyfiletest
UNIT_TESTS += tests/unit/keyfiletest
tests_unit_keyfiletest_SOURCES = tests/unit/keyfiletest.c
tests_unit_keyfiletest_CFLAGS = $(YG_CORE_TEST_CFLAGS)
tests_unit_keyfiletest_LDADD = $(YG_CORE_TEST_LDADD)
EXTRA_DIST += \
	tests/data/keyfile/good.env tests/data/keyfile/comments-only.env \
	tests/data/keyfile/empty.env tests/data/keyfile/bad-crlf.env \
	tests/data/keyfile/bad-name.env tests/data/keyfile/bad-noeq.env \
	tests/data/keyfile/bad-dup.env tests/data/keyfile/bad-leading-space.env \
	tests/data/keyfile/bad-empty-name.env

check_PROGRAMS += tests/unit/capstest
UNIT_TESTS += tests/unit/capstest
tests_unit_capstest_SOURCES = tests/unit/capstest.c
tests_unit_capstest_CFLAGS = $(YG_CORE_TEST_CFLAGS)
tests_unit_capstest_LDADD = src/core/libygcaps.la $(YG_CORE_TEST_LDADD)

check_PROGRAMS += tests/unit/jsontest
UNIT_TESTS += tests/unit/jsontest
tests_unit_jsontest_SOURCES = tests/unit/jsontest.c
tests_unit_jsontest_CFLAGS = $(YG_CORE_TEST_CFLAGS)
tests_unit_jsontest_LDADD = $(YG_CORE_TEST_LDADD)

# The broker client (yg_client): connect + HELLO, one typed call per request.
src_core_libygcore_la_SOURCES += src/core/yg_client.c src/core/yg_client.h
check_PROGRAMS += tests/unit/clienttest
UNIT_TESTS += tests/unit/clienttest
tests_unit_clienttest_SOURCES = tests/unit/clienttest.c
tests_unit_clienttest_CFLAGS = $(YG_CORE_TEST_CFLAGS) -pthread
tests_unit_clienttest_LDADD = $(YG_CORE_TEST_LDADD) -lpthread

# run_dir paths and records (yg_rundir): shared by yolo-gated and yolo-gatectl.
src_core_libygcore_la_SOURCES += src/core/yg_rundir.c src/core/yg_rundir.h \
	src/core/yg_rundir_host.c src/core/yg_rundir_int.h

check_PROGRAMS += tests/unit/rundirtest
UNIT_TESTS += tests/unit/rundirtest
tests_unit_rundirtest_SOURCES = tests/unit/rundirtest.c
tests_unit_rundirtest_CFLAGS = $(YG_CORE_TEST_CFLAGS)
tests_unit_rundirtest_LDADD = $(YG_CORE_TEST_LDADD)
EXTRA_DIST += tests/data/rundir

# The event loop (poll(2) here; libvirt's in src/virt/yg_virtloop.c) and the
# endpoints the broker's relay runs over.
src_core_libygcore_la_SOURCES += \
	src/core/yg_loop.c src/core/yg_loop.h \
	src/core/yg_endpoint.c src/core/yg_endpoint.h

# The box channel codec (yg_chan, over the wire primitives of yg_wire.h).
check_PROGRAMS += tests/unit/chantest
UNIT_TESTS += tests/unit/chantest
tests_unit_chantest_SOURCES = tests/unit/chantest.c
tests_unit_chantest_CFLAGS = $(YG_CORE_TEST_CFLAGS)
tests_unit_chantest_LDADD = $(YG_CORE_TEST_LDADD)
EXTRA_DIST += tests/data/chan
