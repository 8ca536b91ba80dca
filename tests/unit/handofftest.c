/* SPDX-License-Identifier: MIT */
/* handofftest.c: the per-box rendezvous of yolo-gated (handoff.c), without
 * libvirt: an fd and a request really cross with SCM_RIGHTS, malformed
 * handoffs are refused, a stale socket is replaced, paths are bounded. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "gated.h"

static char dir[64];

static int setup(void **state)
{
	char sub[96];

	snprintf(dir, sizeof(dir), "/tmp/yg-handoff.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sub, sizeof(sub), "%s/boxes", dir);
	return mkdir(sub, 0700);
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int listen_box(const char *box)
{
	char path[PATH_MAX];
	yg_err err;
	int fd = yg_gd_rdv_listen(dir, box, path, sizeof(path), &err);

	assert_true(fd >= 0);
	return fd;
}

static void test_roundtrip(void **state)
{
	struct yg_gd_handoff h = { .uid = 1234, .type = YG_MSG_OPEN, .rows = 40, .cols = 120 };
	struct yg_gd_handoff got;
	struct stat st;
	char path[PATH_MAX], buf[8] = "";
	int lfd, p[2], fd = -1;

	lfd = listen_box("yolo-a");
	snprintf(path, sizeof(path), "%s/boxes/yolo-a.sock", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	snprintf(h.box, sizeof(h.box), "yolo-a");
	snprintf(h.session, sizeof(h.session), "0123456789abcdef");
	snprintf(h.term, sizeof(h.term), "xterm");
	assert_int_equal(pipe(p), 0);
	assert_int_equal(yg_gd_rdv_send(dir, "yolo-a", p[1], &h, 0), 0);
	close(p[1]);
	assert_int_equal(yg_gd_rdv_accept(lfd, &fd, &got), 0);
	assert_true(fd >= 0);
	assert_int_equal(got.uid, 1234);
	assert_int_equal(got.type, YG_MSG_OPEN);
	assert_string_equal(got.box, "yolo-a");
	assert_string_equal(got.session, "0123456789abcdef");
	assert_string_equal(got.term, "xterm");
	assert_int_equal(got.rows, 40);
	assert_int_equal(got.cols, 120);
	/* the received fd is the sender's pipe */
	assert_int_equal(write(fd, "hi", 2), 2);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "hi", 2);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	close(p[0]);
	close(lfd);
}

static void test_bad_type_refused(void **state)
{
	struct yg_gd_handoff h = { .uid = 1, .type = YG_MSG_DATA }, got;
	int lfd = listen_box("yolo-b"), p[2], fd = 7;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(yg_gd_rdv_send(dir, "yolo-b", p[1], &h, 0), 0);
	assert_int_equal(yg_gd_rdv_accept(lfd, &fd, &got), -EPROTO);
	assert_int_equal(fd, -1);
	close(p[0]);
	close(p[1]);
	close(lfd);
}

/* A sender that passes no fd, or a short record, is refused. */
static void test_short_record_refused(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct yg_gd_handoff got;
	int lfd = listen_box("yolo-c"), s, fd = 7;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/boxes/yolo-c.sock", dir);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(s, "short", 5), 5);
	assert_int_equal(yg_gd_rdv_accept(lfd, &fd, &got), -EPROTO);
	assert_int_equal(fd, -1);
	close(s);
	close(lfd);
}

static void test_stale_socket_replaced(void **state)
{
	int a = listen_box("yolo-d");
	int b;

	close(a);	/* an owner that died: its socket file stays */
	b = listen_box("yolo-d");
	close(b);
}

static void test_no_owner(void **state)
{
	struct yg_gd_handoff h = { .type = YG_MSG_OPEN };

	assert_true(yg_gd_rdv_send(dir, "nobody-here", 0, &h, 0) < 0);
}

static void test_path_too_long(void **state)
{
	char path[PATH_MAX], longdir[200];
	yg_err err;

	memset(longdir, 'x', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	assert_int_equal(yg_gd_rdv_listen(longdir, "yolo-a", path, sizeof(path), &err),
			 -ENAMETOOLONG);
	assert_non_null(strstr(err.msg, "too long"));
	assert_int_equal(yg_pathf(path, 8, "%s", "123456789"), -ENAMETOOLONG);
	assert_int_equal(yg_pathf(path, 8, "%s", "1234567"), 0);
}

static void test_end_names(void **state)
{
	int e;

	for (e = YG_GD_END_NONE; e <= YG_GD_END_LIBVIRT; e++)
		assert_string_not_equal(yg_gd_end_name((enum yg_gd_end)e), "unknown");
	assert_string_equal(yg_gd_end_name((enum yg_gd_end)999), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_bad_type_refused),
		cmocka_unit_test(test_short_record_refused),
		cmocka_unit_test(test_stale_socket_replaced),
		cmocka_unit_test(test_no_owner),
		cmocka_unit_test(test_path_too_long),
		cmocka_unit_test(test_end_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
