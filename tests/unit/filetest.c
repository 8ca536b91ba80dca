/* SPDX-License-Identifier: MIT */
/* filetest.c: yg_file: checked opens, secure buffers, dirs and lock files.
 * Runs as any user: the "right owner" is the caller's own uid. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "yg_file.h"

static char tmpdir[] = "/tmp/yg-filetest-XXXXXX";
static char pbuf[4][512];

static const char *tpath(int slot, const char *name)
{
	snprintf(pbuf[slot], sizeof(pbuf[slot]), "%s/%s", tmpdir, name);
	return pbuf[slot];
}

static const char *mkfile(const char *name, const char *content, size_t len, mode_t mode)
{
	const char *p = tpath(0, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return p;
}

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	umask(022);
	alarm(60);	/* a FIFO must never hang us: fail loudly if it does */
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct yg_file_rules rules_own(mode_t forbidden, size_t max)
{
	return (struct yg_file_rules){ .owner = geteuid(), .forbidden = forbidden, .max_size = max };
}

/* Expect open_checked(path) to fail with code and a message containing want. */
static void expect_refused(const char *path, struct yg_file_rules r, int code, const char *want)
{
	yg_err err;
	int fd;

	yg_err_clear(&err);
	fd = yg_file_open_checked(path, &r, &err);
	if (fd >= 0)
		close(fd);
	assert_int_equal(fd, code);
	assert_int_equal(err.code, code);
	if (!strstr(err.msg, want))
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	assert_non_null(strstr(err.msg, path));
}

static void test_open_good(void **state)
{
	struct yg_file_rules r = rules_own(077, 1024);
	const char *p = mkfile("good", "hello", 5, 0600);
	char *buf;
	size_t len;
	yg_err err;
	int fd;

	fd = yg_file_open_checked(p, &r, &err);
	assert_true(fd >= 0);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(yg_file_read_secure(fd, 1024, &buf, &len, &err), 0);
	close(fd);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "hello");
	yg_secure_free(buf, len);
	/* 0640 with forbidden 002 is fine */
	p = mkfile("group-read", "x", 1, 0640);
	r.forbidden = 002;
	fd = yg_file_open_checked(p, &r, &err);
	assert_true(fd >= 0);
	close(fd);
}

static void test_open_refusals(void **state)
{
	struct yg_file_rules r = rules_own(077, 0);
	const char *p;

	expect_refused(tpath(1, "missing"), r, -ENOENT, "does not exist");

	p = mkfile("target", "x", 1, 0600);
	assert_int_equal(symlink(p, tpath(1, "link")), 0);
	expect_refused(pbuf[1], r, -ELOOP, "is a symlink (fix: replace it with a regular file)");

	assert_int_equal(mkfifo(tpath(1, "fifo"), 0600), 0);
	expect_refused(pbuf[1], r, -EINVAL, "is not a regular file");
	expect_refused(tmpdir, r, -EINVAL, "is not a regular file");

	p = mkfile("linked", "x", 1, 0600);
	assert_int_equal(link(p, tpath(1, "linked2")), 0);
	expect_refused(p, r, -EMLINK, "has 2 hard links");

	p = mkfile("mode", "x", 1, 0644);
	expect_refused(p, r, -EPERM, "is mode 0644 (fix: chmod 600 ");
	r.forbidden = 022;
	p = mkfile("mode2", "x", 1, 0664);
	expect_refused(p, r, -EPERM, "is mode 0664 (fix: chmod 644 ");
	r.forbidden = 077;

	p = mkfile("owner", "x", 1, 0600);
	r.owner = geteuid() + 1;
	expect_refused(p, r, -EPERM, "is owned by uid ");
	expect_refused(p, r, -EPERM, "(fix: chown ");
	r.owner = geteuid();

	r.max_size = 1024;
	{
		char big[1025];

		memset(big, 'b', sizeof(big));
		p = mkfile("big", big, sizeof(big), 0600);
		expect_refused(p, r, -EFBIG, "is larger than 1 KiB");
		r.max_size = 10;
		expect_refused(p, r, -EFBIG, "is larger than 10 bytes");
		p = mkfile("exact", big, 10, 0600);
		yg_err err;
		int fd = yg_file_open_checked(p, &r, &err);

		assert_true(fd >= 0);
		close(fd);
	}
}

static void test_read_secure_limits(void **state)
{
	struct yg_file_rules r = rules_own(077, 0);
	const char *p = mkfile("ten", "0123456789", 10, 0600);
	char *buf = (char *)1;
	size_t len = 99;
	yg_err err;
	int fd;

	fd = yg_file_open_checked(p, &r, &err);
	assert_true(fd >= 0);
	assert_int_equal(yg_file_read_secure(fd, 9, &buf, &len, &err), -EFBIG);
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(yg_file_read_secure(fd, 10, &buf, &len, &err), 0);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "0123456789");
	yg_secure_free(buf, len);
	close(fd);
}

static long vmlck_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void test_secure_alloc(void **state)
{
	struct rlimit rl;
	long before = vmlck_kb();
	unsigned char *p = yg_secure_alloc(10000);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < 10000; i++)
		assert_int_equal(p[i], 0);
	memset(p, 0xa5, 10000);
#ifdef __SANITIZE_ADDRESS__
	/* ASan turns mlock into a no-op */
	print_message("skipping the mlock check: built with AddressSanitizer\n");
	(void)rl;
#else
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur >= 64 * 1024 && before >= 0)
		assert_true(vmlck_kb() >= before + 8);
	else
		print_message("skipping the mlock check: RLIMIT_MEMLOCK too small\n");
#endif
	yg_secure_free(p, 10000);
	if (before >= 0)
		assert_int_equal(vmlck_kb(), before);
	yg_secure_free(NULL, 0);
	p = yg_secure_alloc(0);
	assert_non_null(p);
	yg_secure_free(p, 0);
}

static void test_dir_ensure(void **state)
{
	const char *d = tpath(1, "rundir");
	struct stat st;
	yg_err err;

	assert_int_equal(yg_dir_ensure(d, 0750, (uid_t)-1, (gid_t)-1, &err), 0);
	assert_int_equal(lstat(d, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);	/* despite umask 022 */
	assert_int_equal(yg_dir_ensure(d, 0750, geteuid(), getegid(), &err), 0);
	assert_int_equal(yg_dir_ensure(d, 0755, geteuid(), (gid_t)-1, &err), 0);
	assert_int_equal(yg_dir_ensure(d, 0700, (uid_t)-1, (gid_t)-1, &err), -EPERM);
	assert_non_null(strstr(err.msg, "is mode 0750 (fix: chmod 700 "));
	assert_int_equal(yg_dir_ensure(d, 0750, geteuid() + 1, (gid_t)-1, &err), -EPERM);
	assert_non_null(strstr(err.msg, "fix: chown "));

	assert_int_equal(symlink(d, tpath(2, "dirlink")), 0);
	assert_int_equal(yg_dir_ensure(pbuf[2], 0750, (uid_t)-1, (gid_t)-1, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "is a symlink"));
	mkfile("plainfile", "x", 1, 0600);
	assert_int_equal(yg_dir_ensure(pbuf[0], 0750, (uid_t)-1, (gid_t)-1, &err), -ENOTDIR);
	assert_non_null(strstr(err.msg, "is not a directory"));
}

static void test_lockfile(void **state)
{
	int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	yg_err err;
	int fd, fd2;

	assert_true(dfd >= 0);
	fd = yg_lockfile_open(dfd, "box.lock", &err);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	fd2 = yg_lockfile_open(dfd, "box.lock", &err);
	assert_true(fd2 >= 0);
	close(fd2);

	assert_int_equal(yg_lockfile_open(dfd, "../escape.lock", &err), -EINVAL);
	assert_int_equal(yg_lockfile_open(dfd, "..", &err), -EINVAL);
	assert_int_equal(yg_lockfile_open(dfd, "", &err), -EINVAL);

	assert_int_equal(symlinkat("box.lock", dfd, "sym.lock"), 0);
	assert_int_equal(yg_lockfile_open(dfd, "sym.lock", &err), -ELOOP);
	assert_non_null(strstr(err.msg, "is a symlink"));
	assert_non_null(strstr(err.msg, "sym.lock"));

	assert_int_equal(linkat(dfd, "box.lock", dfd, "hard.lock", 0), 0);
	assert_int_equal(yg_lockfile_open(dfd, "hard.lock", &err), -EMLINK);
	assert_int_equal(unlinkat(dfd, "hard.lock", 0), 0);

	assert_int_equal(fchmod(fd, 0644), 0);
	assert_int_equal(yg_lockfile_open(dfd, "box.lock", &err), -EPERM);
	assert_non_null(strstr(err.msg, "chmod 600"));
	close(fd);

	assert_int_equal(mkfifoat(dfd, "fifo.lock", 0600), 0);
	assert_int_equal(yg_lockfile_open(dfd, "fifo.lock", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "is not a regular file"));
	close(dfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_good),
		cmocka_unit_test(test_open_refusals),
		cmocka_unit_test(test_read_secure_limits),
		cmocka_unit_test(test_secure_alloc),
		cmocka_unit_test(test_dir_ensure),
		cmocka_unit_test(test_lockfile),
	};

	return cmocka_run_group_tests_name("yg_file", tests, setup, teardown);
}
