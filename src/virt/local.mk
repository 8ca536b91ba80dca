# SPDX-License-Identifier: MIT
# src/virt: libygvirt, every libvirt call of the project: connections, the
# box lifecycle (state, proof of cleanliness, revert, resume, console), the
# guest agent, provisioning (domains, snapshots, storage pools and volumes,
# networks and filters, limits). src/gated and src/ctl reach libvirt only
# through it (tests/unit/needed.sh checks their objects for vir* references).
noinst_LTLIBRARIES += src/virt/libygvirt.la
src_virt_libygvirt_la_SOURCES = \
	src/virt/yg_box.c src/virt/yg_box.h \
	src/virt/yg_agent.c src/virt/yg_agent.h src/virt/yg_agent_int.h \
	src/virt/yg_inject.c \
	src/virt/yg_agent_tty.c \
	src/virt/yg_domain.c src/virt/yg_domain.h \
	src/virt/yg_volume.c src/virt/yg_volume.h \
	src/virt/yg_net.c src/virt/yg_net.h \
	src/virt/yg_limits.c src/virt/yg_limits.h \
	src/virt/yg_xml.c src/virt/yg_xml.h \
	src/virt/yg_clock.c src/virt/yg_clock.h \
	src/virt/yg_probe.c src/virt/yg_probe.h
src_virt_libygvirt_la_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(LIBVIRT_QEMU_CFLAGS)
src_virt_libygvirt_la_LIBADD = src/core/libygcore.la $(LIBVIRT_LIBS) $(LIBVIRT_QEMU_LIBS)

UNIT_TESTS += tests/unit/boxtest tests/unit/agenttest tests/unit/provtest
check_PROGRAMS += tests/unit/boxtest tests/unit/agenttest tests/unit/provtest \
	tests/integration/boxrealtest
EXTRA_DIST += tests/data/box/node.xml tests/data/prov/node.xml

tests_unit_boxtest_SOURCES = tests/unit/boxtest.c
tests_unit_boxtest_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_boxtest_CPPFLAGS = $(AM_CPPFLAGS) -DYG_BOX_TESTDATA='"$(abs_top_srcdir)/tests/data/box"'
tests_unit_boxtest_LDADD = src/virt/libygvirt.la $(LIBVIRT_LIBS) $(CMOCKA_LIBS)

tests_unit_provtest_SOURCES = tests/unit/provtest.c
tests_unit_provtest_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_provtest_CPPFLAGS = $(AM_CPPFLAGS) -DYG_PROV_TESTDATA='"$(abs_top_srcdir)/tests/data/prov"'
tests_unit_provtest_LDADD = src/virt/libygvirt.la $(LIBVIRT_LIBS) $(CMOCKA_LIBS)

tests_unit_agenttest_SOURCES = tests/unit/agenttest.c
tests_unit_agenttest_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_agenttest_LDADD = src/virt/libygvirt.la $(CMOCKA_LIBS)

tests_integration_boxrealtest_SOURCES = tests/integration/boxrealtest.c
tests_integration_boxrealtest_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) -pthread
tests_integration_boxrealtest_LDADD = src/virt/libygvirt.la $(LIBVIRT_LIBS) -lpthread

# the agent's command sequences against scripted agents (tests/data/agent)
UNIT_TESTS += tests/unit/agentseqtest
check_PROGRAMS += tests/unit/agentseqtest
EXTRA_DIST += tests/data/agent
tests_unit_agentseqtest_SOURCES = tests/unit/agentseqtest.c
tests_unit_agentseqtest_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_agentseqtest_CPPFLAGS = $(AM_CPPFLAGS) \
	-DYG_BOX_TESTDATA='"$(abs_top_srcdir)/tests/data/box"' \
	-DYG_AGENT_TESTDATA='"$(abs_top_srcdir)/tests/data/agent"'
tests_unit_agentseqtest_LDADD = src/virt/libygvirt.la $(LIBVIRT_LIBS) $(CMOCKA_LIBS)

# yg_loop on libvirt's default event loop, and the console as an endpoint.
src_virt_libygvirt_la_SOURCES += \
	src/virt/yg_virtloop.c src/virt/yg_virtloop.h \
	src/virt/yg_console.c src/virt/yg_console.h

# The layers on what the linker made: yolo-shell and the PAM module without
# libvirt, no vir* reference in src/gated or src/ctl objects.
UNIT_TESTS += tests/unit/needed.sh
dist_check_SCRIPTS += tests/unit/needed.sh

# yg_watchdog: the bound on libvirt calls libvirt does not bound (issue 13)
src_virt_libygvirt_la_SOURCES += src/virt/yg_watchdog.c src/virt/yg_watchdog.h
src_virt_libygvirt_la_CFLAGS += -pthread
src_virt_libygvirt_la_LIBADD += -lpthread
UNIT_TESTS += tests/unit/watchdogtest
check_PROGRAMS += tests/unit/watchdogtest
tests_unit_watchdogtest_SOURCES = tests/unit/watchdogtest.c
tests_unit_watchdogtest_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_watchdogtest_LDADD = src/virt/libygvirt.la $(CMOCKA_LIBS)
# the guest clock from the host (yg_clock.c) on libvirt's test driver
UNIT_TESTS += tests/unit/clocktest
check_PROGRAMS += tests/unit/clocktest
tests_unit_clocktest_SOURCES = tests/unit/clocktest.c
tests_unit_clocktest_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_clocktest_CPPFLAGS = $(AM_CPPFLAGS) -DYG_BOX_TESTDATA='"$(abs_top_srcdir)/tests/data/box"'
tests_unit_clocktest_LDADD = src/virt/libygvirt.la $(LIBVIRT_LIBS) $(CMOCKA_LIBS)
