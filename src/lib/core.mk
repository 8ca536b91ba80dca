# src/lib core: protocol codec, logging, safe files, key files, capabilities.
src_lib_libyg_la_SOURCES += \
	src/lib/yg_proto.c src/lib/yg_proto.h \
	src/lib/yg_log.c src/lib/yg_log.h \
	src/lib/yg_file.c src/lib/yg_file.h \
	src/lib/yg_keyfile.c src/lib/yg_keyfile.h \
	src/lib/yg_caps.c src/lib/yg_caps.h

# Unit tests (cmocka), one program per area.
YG_CORE_TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
YG_CORE_TEST_LDADD = src/lib/libyg.la $(CMOCKA_LIBS)

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
tests_unit_capstest_LDADD = $(YG_CORE_TEST_LDADD)
