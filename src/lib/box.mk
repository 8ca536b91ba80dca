# src/lib box layer: libvirt connection, box state/revert/resume, guest agent.
src_lib_libyg_la_SOURCES += \
	src/lib/yg_box.c src/lib/yg_box.h \
	src/lib/yg_agent.c src/lib/yg_agent.h src/lib/yg_agent_json.c

UNIT_TESTS += tests/unit/boxtest tests/unit/agenttest
check_PROGRAMS += tests/unit/boxtest tests/unit/agenttest \
	tests/integration/boxrealtest
EXTRA_DIST += tests/data/box/node.xml

tests_unit_boxtest_SOURCES = tests/unit/boxtest.c
tests_unit_boxtest_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_boxtest_CPPFLAGS = $(AM_CPPFLAGS) -DYG_BOX_TESTDATA='"$(abs_top_srcdir)/tests/data/box"'
tests_unit_boxtest_LDADD = src/lib/libyg.la $(LIBVIRT_LIBS) $(CMOCKA_LIBS)

tests_unit_agenttest_SOURCES = tests/unit/agenttest.c
tests_unit_agenttest_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_agenttest_LDADD = src/lib/libyg.la $(CMOCKA_LIBS)

tests_integration_boxrealtest_SOURCES = tests/integration/boxrealtest.c
tests_integration_boxrealtest_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) -pthread
tests_integration_boxrealtest_LDADD = src/lib/libyg.la $(LIBVIRT_LIBS) -lpthread
