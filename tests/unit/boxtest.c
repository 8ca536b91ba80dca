/* SPDX-License-Identifier: MIT */
/* boxtest: the box layer against libvirt's test driver.
 *
 * Each test opens its own connection to test:///<abs>/tests/data/box/node.xml,
 * which gives it a private driver with one running domain and no snapshots. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "yg_agent.h"
#include "yg_box.h"

#define DOM "yolo-test"
#define SNAP "clean-state"
#define HINT "run: yolo-gatectl provision alice"

static char uri[4096];

typedef struct fx {
	virConnectPtr conn;
	yg_box *box;
	yg_err err;
} fx;

static void snap_create(virConnectPtr conn, const char *name)
{
	char xml[256];
	virDomainPtr dom = virDomainLookupByName(conn, DOM);
	virDomainSnapshotPtr s;

	assert_non_null(dom);
	snprintf(xml, sizeof(xml), "<domainsnapshot><name>%s</name></domainsnapshot>", name);
	s = virDomainSnapshotCreateXML(dom, xml, 0);
	assert_non_null(s);
	virDomainSnapshotFree(s);
	virDomainFree(dom);
}

static int setup(void **state)
{
	static fx f;

	memset(&f, 0, sizeof(f));
	if (yg_conn_open(uri, &f.conn, &f.err) < 0) {
		fprintf(stderr, "%s\n", f.err.msg);
		return -1;
	}
	*state = &f;
	return 0;
}

/* setup + a clean-state snapshot of the running domain + an open box */
static int setup_box(void **state)
{
	fx *f;

	if (setup(state) < 0)
		return -1;
	f = *state;
	snap_create(f->conn, SNAP);
	if (yg_box_open(f->conn, DOM, SNAP, HINT, &f->box, &f->err) < 0) {
		fprintf(stderr, "%s\n", f->err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	yg_box_free(f->box);
	if (f->conn)
		virConnectClose(f->conn);
	return 0;
}

static void expect_clean(fx *f, bool want, const char *why_want)
{
	char why[128];
	bool clean = !want;

	assert_int_equal(yg_box_check_clean(f->box, &clean, why, sizeof(why), &f->err), 0);
	if (clean != want)
		fail_msg("clean=%d, wanted %d (why: %s)", clean, want, why);
	if (why_want)
		assert_string_equal(why, why_want);
}

static void test_bad_uri(void **state)
{
	virConnectPtr conn = (virConnectPtr)1;
	yg_err err;
	int rc;

	(void)state;
	rc = yg_conn_open("test:///nonexistent/yg/node.xml", &conn, &err);
	assert_true(rc < 0);
	assert_null(conn);
	assert_int_equal(err.code, rc);
	assert_non_null(strstr(err.msg, "cannot connect to libvirt at test:///nonexistent/yg/node.xml"));
	assert_non_null(strstr(err.msg, "check the libvirt URI"));
}

static void test_no_daemon(void **state)
{
	virConnectPtr conn = NULL;
	yg_err err;

	(void)state;
	/* a libvirtd socket that does not exist: the fix is to start libvirtd */
	assert_int_equal(yg_conn_open("qemu:///system?socket=/nonexistent/yg/libvirt-sock",
				      &conn, &err), -ECONNREFUSED);
	assert_null(conn);
	assert_non_null(strstr(err.msg, "cannot connect to libvirt at qemu:///system?socket="));
	assert_non_null(strstr(err.msg, "start libvirtd"));
}

/* A socket we may not open: as root, in a child that drops to nobody; as a
 * user, behind a directory with mode 0. The fix names the libvirt group. */
static void test_permission_denied(void **state)
{
	char dir[] = "/tmp/yg-boxtest.XXXXXX", u[300];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	virConnectPtr conn = NULL;
	int fd, status = -1;
	yg_err err;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(chmod(dir, geteuid() == 0 ? 0700 : 0), 0);
	snprintf(u, sizeof(u), "qemu:///system?socket=%s", sa.sun_path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(3);
		if (yg_conn_open(u, &conn, &err) != -EACCES)
			_exit(1);
		_exit(strstr(err.msg, "must be in group libvirt") ? 0 : 2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	chmod(dir, 0700);
	close(fd);
	unlink(sa.sun_path);
	rmdir(dir);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_missing_domain(void **state)
{
	fx *f = *state;
	char want[4200];
	yg_box *box = (yg_box *)1;

	assert_int_equal(yg_box_open(f->conn, "yolo-nobody", SNAP, HINT, &box, &f->err), -ENOENT);
	assert_null(box);
	snprintf(want, sizeof(want), "box yolo-nobody is not defined in %s (" HINT ")", uri);
	assert_string_equal(f->err.msg, want);
	/* no hint: no parentheses */
	assert_int_equal(yg_box_open(f->conn, "yolo-nobody", SNAP, NULL, &box, &f->err), -ENOENT);
	snprintf(want, sizeof(want), "box yolo-nobody is not defined in %s", uri);
	assert_string_equal(f->err.msg, want);
}

static void test_missing_snapshot(void **state)
{
	fx *f = *state;
	yg_box *box = NULL;

	assert_int_equal(yg_box_open(f->conn, DOM, SNAP, HINT, &box, &f->err), -ENOENT);
	assert_null(box);
	assert_string_equal(f->err.msg, "box " DOM " has no snapshot '" SNAP "' (" HINT ")");
}

static void test_bad_args(void **state)
{
	fx *f = *state;
	yg_box *box = NULL;

	assert_int_equal(yg_box_open(f->conn, "", SNAP, NULL, &box, &f->err), -EINVAL);
	assert_int_equal(yg_box_open(f->conn, DOM, NULL, NULL, &box, &f->err), -EINVAL);
	yg_box_free(NULL);
}

static void test_accessors(void **state)
{
	fx *f = *state;

	assert_string_equal(yg_box_name(f->box), DOM);
	assert_string_equal(yg_box_snapshot_name(f->box), SNAP);
	assert_string_equal(virDomainGetName(yg_box_domain(f->box)), DOM);
}

static void test_lifecycle(void **state)
{
	fx *f = *state;
	int st, rs;

	expect_clean(f, false, "running");
	assert_int_equal(yg_box_revert(f->box, &f->err), 0);
	assert_int_equal(yg_box_state(f->box, &st, &rs, &f->err), 0);
	assert_int_equal(st, VIR_DOMAIN_PAUSED);
	assert_int_equal(rs, VIR_DOMAIN_PAUSED_FROM_SNAPSHOT);
	expect_clean(f, true, "");
	assert_int_equal(yg_box_resume(f->box, &f->err), 0);
	expect_clean(f, false, "running");
	/* a second revert works from running, too */
	assert_int_equal(yg_box_revert(f->box, &f->err), 0);
	expect_clean(f, true, "");
}

static void test_paused_by_user(void **state)
{
	fx *f = *state;

	assert_int_equal(virDomainSuspend(yg_box_domain(f->box)), 0);
	expect_clean(f, false, "paused (user)");
}

static void test_wrong_current_snapshot(void **state)
{
	fx *f = *state;
	virDomainSnapshotPtr other;

	snap_create(f->conn, "other");
	other = virDomainSnapshotLookupByName(yg_box_domain(f->box), "other", 0);
	assert_non_null(other);
	assert_int_equal(virDomainRevertToSnapshot(other, VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED), 0);
	virDomainSnapshotFree(other);
	expect_clean(f, false, "current snapshot is 'other'");
	/* reverting to the box's snapshot makes it clean again */
	assert_int_equal(yg_box_revert(f->box, &f->err), 0);
	expect_clean(f, true, "");
}

static void test_destroy(void **state)
{
	fx *f = *state;

	assert_int_equal(yg_box_destroy(f->box, &f->err), 0);
	expect_clean(f, false, "shut off");
	/* idempotent */
	assert_int_equal(yg_box_destroy(f->box, &f->err), 0);
	/* resume of a shut off box is an error that names the box */
	assert_true(yg_box_resume(f->box, &f->err) < 0);
	assert_non_null(strstr(f->err.msg, "cannot resume box " DOM ": "));
}

static void test_snapshot_deleted(void **state)
{
	fx *f = *state;
	virDomainSnapshotPtr s;

	s = virDomainSnapshotLookupByName(yg_box_domain(f->box), SNAP, 0);
	assert_non_null(s);
	assert_int_equal(virDomainSnapshotDelete(s, 0), 0);
	virDomainSnapshotFree(s);
	assert_int_equal(yg_box_revert(f->box, &f->err), -ENOENT);
	assert_string_equal(f->err.msg, "box " DOM " has no snapshot '" SNAP "' (" HINT ")");
}

static void test_console(void **state)
{
	fx *f = *state;
	virStreamPtr st = NULL;
	int rc;

	/* The test driver may or may not implement consoles; either way the
	 * result must be coherent and an error must name the box. */
	rc = yg_box_open_console(f->box, NULL, &st, &f->err);
	if (rc == 0) {
		assert_non_null(st);
		virStreamAbort(st);
		virStreamFree(st);
	} else {
		assert_null(st);
		assert_non_null(strstr(f->err.msg, "of box " DOM));
	}
}

/* The test driver has no guest agent: every agent call must fail cleanly,
 * bounded in time, naming the box and the fix. */
static void test_agent_errors(void **state)
{
	const char *argv[] = { "/bin/true", NULL };
	fx *f = *state;
	char *reply = (char *)1;
	struct timespec a, b;
	long ms;
	int code = -1;

	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(yg_agent_wait(f->box, 150, &f->err), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 150 && ms < 3000);
	assert_non_null(strstr(f->err.msg, "guest agent of box " DOM " did not answer within 0.1 s "
			       "(is qemu-guest-agent running in the guest?"));
	assert_int_equal(yg_agent_wait(f->box, 0, &f->err), -ETIMEDOUT);
	assert_non_null(strstr(f->err.msg, "within 0 s"));

	assert_true(yg_agent_cmd(f->box, "{\"execute\":\"guest-ping\"}", 1, &reply, &f->err) < 0);
	assert_null(reply);
	assert_non_null(strstr(f->err.msg, "guest-ping"));
	assert_non_null(strstr(f->err.msg, "box " DOM));

	assert_true(yg_agent_exec(f->box, argv, 1000, &code, &f->err) < 0);
	assert_int_equal(code, -1);
	assert_non_null(strstr(f->err.msg, "cannot run /bin/true: "));

	assert_true(yg_agent_write_file(f->box, "/run/yolo/keys.env", "SECRET=1", 8, &f->err) < 0);
	assert_null(strstr(f->err.msg, "SECRET"));
	assert_non_null(strstr(f->err.msg, "box " DOM));
	assert_int_equal(yg_agent_write_file(f->box, "run/x", "x", 1, &f->err), -EINVAL);
	assert_non_null(strstr(f->err.msg, "not absolute"));
	assert_true(yg_agent_wipe_file(f->box, "/run/yolo/keys.env", &f->err) < 0);
	assert_non_null(strstr(f->err.msg, "cannot wipe /run/yolo/keys.env: "));
	/* a NULL err must not turn a failure into success */
	assert_true(yg_agent_wipe_file(f->box, "/run/yolo/keys.env", NULL) < 0);
	assert_true(yg_agent_exec(f->box, argv, 1000, NULL, NULL) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_uri),
		cmocka_unit_test(test_no_daemon),
		cmocka_unit_test(test_permission_denied),
		cmocka_unit_test_setup_teardown(test_missing_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accessors, setup_box, teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle, setup_box, teardown),
		cmocka_unit_test_setup_teardown(test_paused_by_user, setup_box, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_current_snapshot, setup_box, teardown),
		cmocka_unit_test_setup_teardown(test_destroy, setup_box, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_deleted, setup_box, teardown),
		cmocka_unit_test_setup_teardown(test_console, setup_box, teardown),
		cmocka_unit_test_setup_teardown(test_agent_errors, setup_box, teardown),
	};

	snprintf(uri, sizeof(uri), "test://%s/node.xml", YG_BOX_TESTDATA);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
