/* SPDX-License-Identifier: MIT */
/* capstest.c: yg_caps. The expectations come from /proc/self/status, an
 * oracle independent of libcap-ng. drop_to's root path runs in a forked
 * child, and only as root (skipped with a message otherwise). */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "yg_caps.h"

/* A field of /proc/self/status, as a number (base 16 for Cap*, 10 otherwise). */
static unsigned long long status_field(const char *name)
{
	char line[256];
	unsigned long long v = ~0ull;
	size_t n = strlen(name);
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return v;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			v = strtoull(line + n + 1, NULL, strncmp(name, "Cap", 3) == 0 ? 16 : 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static bool oracle_no_caps(void)
{
	return status_field("CapEff") == 0 && status_field("CapPrm") == 0 &&
	       status_field("CapAmb") == 0;
}

static void test_none_matches_proc(void **state)
{
	bool none = status_field("CapEff") == 0 && status_field("CapPrm") == 0;

	assert_int_equal(yg_caps_none(), none);
}

static void test_refuse_privileged(void **state)
{
	yg_err err;
	int r;

	yg_err_clear(&err);
	r = yg_caps_refuse_privileged(&err);
	if (getuid() != 0 && geteuid() != 0 && oracle_no_caps()) {
		assert_int_equal(r, 0);
	} else {
		assert_int_equal(r, -EPERM);
		assert_true(strlen(err.msg) > 0);
		print_message("privileged here, refused as expected: %s\n", err.msg);
	}
}

static void test_unknown_user(void **state)
{
	yg_err err;

	assert_int_equal(yg_caps_drop_to("yg-no-such-user-4711", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "yg-no-such-user-4711 does not exist"));
	assert_int_equal(yg_caps_drop_to("", &err), -EINVAL);
}

/* Run fn in a child; its exit status is the line of the first failed check. */
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "child check failed: %s (line %d)\n", #c, __LINE__); _exit(__LINE__ % 250 + 1); } } while (0)

static int run_child(void (*fn)(const struct passwd *), const struct passwd *pw)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		fn(pw);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void child_drop_as_root(const struct passwd *pw)
{
	gid_t want[64], have[64];
	int nwant = 64, nhave;
	yg_err err;

	CHECK(getgrouplist(pw->pw_name, pw->pw_gid, want, &nwant) >= 0);
	if (yg_caps_drop_to(pw->pw_name, &err) != 0) {
		fprintf(stderr, "drop_to: %s\n", err.msg);
		_exit(200);
	}
	CHECK(getuid() == pw->pw_uid && geteuid() == pw->pw_uid);
	CHECK(getgid() == pw->pw_gid && getegid() == pw->pw_gid);
	nhave = getgroups(64, have);
	CHECK(nhave == nwant);
	for (int i = 0; i < nwant; i++) {
		bool found = false;

		for (int j = 0; j < nhave; j++)
			found |= have[j] == want[i];
		CHECK(found);
	}
	CHECK(status_field("CapEff") == 0);
	CHECK(status_field("CapPrm") == 0);
	CHECK(status_field("CapInh") == 0);
	CHECK(status_field("CapBnd") == 0);
	CHECK(status_field("CapAmb") == 0);
	CHECK(status_field("NoNewPrivs") == 1);
	CHECK(setuid(0) < 0);
	CHECK(yg_caps_none());
	CHECK(yg_caps_refuse_privileged(&err) == 0);
	/* a second call, now unprivileged and already the user, is fine */
	CHECK(yg_caps_drop_to(pw->pw_name, &err) == 0);
	CHECK(yg_caps_drop_to("root", &err) == -EPERM);
	CHECK(strstr(err.msg, "service user is root") != NULL);
}

static void test_drop_to_as_root(void **state)
{
	struct passwd *pw;

	if (geteuid() != 0) {
		print_message("skipping drop_to as root: not root (run make check as root to cover it)\n");
		return;
	}
	pw = getpwnam("nobody");
	if (!pw)
		fail_msg("user nobody is missing: cannot test yg_caps_drop_to");
	assert_int_equal(run_child(child_drop_as_root, pw), 0);
}

static void child_drop_unprivileged(const struct passwd *pw)
{
	struct passwd *me;
	yg_err err;

	if (geteuid() == 0)	/* become an ordinary user first */
		CHECK(setgroups(0, NULL) == 0 && setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == 0 &&
		      setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == 0);
	me = getpwuid(geteuid());
	CHECK(me != NULL);
	if (!oracle_no_caps())
		_exit(0);	/* odd environment (ambient caps): nothing to assert */
	CHECK(status_field("NoNewPrivs") == 0 || status_field("NoNewPrivs") == 1);
	CHECK(yg_caps_drop_to(me->pw_name, &err) == 0);
	CHECK(status_field("NoNewPrivs") == 1);
	CHECK(yg_caps_refuse_privileged(&err) == 0);
}

static void test_drop_to_unprivileged(void **state)
{
	struct passwd *pw = getpwnam("nobody");

	if (geteuid() == 0 && !pw)
		fail_msg("user nobody is missing");
	assert_int_equal(run_child(child_drop_unprivileged, pw), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none_matches_proc),
		cmocka_unit_test(test_refuse_privileged),
		cmocka_unit_test(test_unknown_user),
		cmocka_unit_test(test_drop_to_as_root),
		cmocka_unit_test(test_drop_to_unprivileged),
	};

	return cmocka_run_group_tests_name("yg_caps", tests, NULL, NULL);
}
