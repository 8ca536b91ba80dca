# SPDX-License-Identifier: MIT
# policy: the policy engine library, its unit test, examples and man page.
noinst_LTLIBRARIES += policy/libygpolicy.la
policy_libygpolicy_la_SOURCES = \
	policy/yg_policy.h policy/yg_policy_int.h \
	policy/yg_diag.c policy/yg_values.c policy/yg_keys.c \
	policy/yg_scan.c policy/yg_trust.c policy/yg_policy.c \
	policy/yg_effective.c policy/yg_hosts.c
policy_libygpolicy_la_LIBADD = src/core/libygcore.la $(INIPARSER_LIBS)

check_PROGRAMS += tests/unit/policytest
UNIT_TESTS += tests/unit/policytest
tests_unit_policytest_SOURCES = tests/unit/policytest.c
tests_unit_policytest_CPPFLAGS = $(AM_CPPFLAGS) \
	-DYG_ABS_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_policytest_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_policytest_LDADD = policy/libygpolicy.la $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/policyhosttest
UNIT_TESTS += tests/unit/policyhosttest
tests_unit_policyhosttest_SOURCES = tests/unit/policyhosttest.c
tests_unit_policyhosttest_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_policyhosttest_LDADD = policy/libygpolicy.la $(CMOCKA_LIBS)

EXTRA_DIST += policy/examples tests/data/policy
dist_man_MANS += docs/yolo-gate.conf.5
