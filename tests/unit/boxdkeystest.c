/* SPDX-License-Identifier: MIT */
/* boxdkeystest.c: yolo-boxd's KEYS and WIPE (key files into a tmpfs, their
 * lines in later commands' environment, the refusals), and that it links
 * libc only. The case that mounts a tmpfs runs only as root (it says so
 * when it skips; under CI=true it fails instead).
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "boxdrig.h"
#include "yg_time.h"
/* ---- KEYS, WIPE ---- */

static bool is_tmpfs(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == 0x01021994ul;
}

/* a request (KEYS, WIPE): its answer, OK or FAILED (code returned, text in H.m) */
static uint32_t request(const yg_chan_msg *m)
{
	host_send(m);
	for (;;) {
		assert_int_equal(host_recv(&H.m, TIMEOUT_MS), 0);
		if (H.m.stream == m->stream)
			break;
	}
	if (H.m.type == YG_CHAN_MSG_OK)
		return 0;
	assert_int_equal(H.m.type, YG_CHAN_MSG_FAILED);
	return H.m.u.failed.code;
}

static uint32_t keys_send(uint32_t id, const char *path, const char *owner, uint32_t mode,
			  const char *content)
{
	static yg_chan_msg m;

	memset(&m, 0, sizeof(m));
	m.type = YG_CHAN_MSG_KEYS;
	m.stream = id;
	snprintf(m.u.keys.path, sizeof(m.u.keys.path), "%.1000s", path);
	snprintf(m.u.keys.owner, sizeof(m.u.keys.owner), "%s", owner);
	m.u.keys.mode = mode;
	m.u.keys.bytes = (const uint8_t *)content;
	m.u.keys.len = strlen(content);
	return request(&m);
}

static uint32_t wipe_send(uint32_t id, const char *path)
{
	static yg_chan_msg m;

	memset(&m, 0, sizeof(m));
	m.type = YG_CHAN_MSG_WIPE;
	m.stream = id;
	snprintf(m.u.wipe.path, sizeof(m.u.wipe.path), "%.1000s", path);
	return request(&m);
}

static const char key_content[] = "OPENAI_API_KEY=sk-test-1\n# a comment\nnot a line\nFOO=bar\n";

/* Into a tmpfs: OK, the file's content, owner and mode; its lines in the
 * environment of a later command; WIPE removes both. */
static void test_keys_tmpfs(void **state)
{
	char dir[] = "/dev/shm/boxdtest.XXXXXX", path[800], got[256] = "";
	struct stat st;
	struct run r;
	FILE *f;

	(void)state;
	if (!is_tmpfs("/dev/shm") || !mkdtemp(dir)) {
		print_message("skipped: no writable tmpfs at /dev/shm\n");
		skip();
	}
	snprintf(path, sizeof(path), "%.700s/keys.env", dir);
	assert_int_equal(keys_send(500, path, me(), 0640, key_content), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_uid, geteuid());
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, sizeof(got) - 1, f), strlen(key_content));
	fclose(f);
	assert_string_equal(got, key_content);
	run_simple(501, "echo \"$OPENAI_API_KEY $FOO\"", &r);
	assert_string_equal((char *)outbuf, "sk-test-1 bar\n");
	/* a second delivery replaces the file (rename over it) */
	assert_int_equal(keys_send(502, path, "", 0600, "FOO=baz\n") != 0, geteuid() != 0);
	assert_int_equal(wipe_send(503, path), 0);
	assert_int_equal(access(path, F_OK), -1);
	run_simple(504, "echo \"x$OPENAI_API_KEY$FOO\"", &r);
	assert_string_equal((char *)outbuf, "x\n");
	assert_int_equal(wipe_send(505, path), 0);	/* missing: OK */
	rmdir(dir);
}

/* Refused: not absolute, "..", a symlink on the path, a non-empty dir on a
 * disk (and, without root, an empty one: no mount). */
static void test_keys_refused(void **state)
{
	char disk[] = "boxdtest-keys.XXXXXX", abs[4096], path[4200], link[4200];
	char shm[] = "/dev/shm/boxdtest.XXXXXX";
	int fd;

	(void)state;
	/* (a relative path does not even encode) */
	assert_int_equal(keys_send(601, "/run/../tmp/keys.env", "", 0600, "A=1\n"), YG_CHAN_E_PROTO);
	assert_int_equal(keys_send(602, "/tmp/", "", 0600, "A=1\n"), YG_CHAN_E_PROTO);
	assert_int_equal(keys_send(603, "/tmp/k", "no-such-user-boxdtest", 0600, "A=1\n"),
			 YG_CHAN_E_NOUSER);
	assert_non_null(mkdtemp(disk));
	assert_non_null(realpath(disk, abs));
	if (is_tmpfs(abs)) {
		print_message("note: the build directory is on a tmpfs; not-a-tmpfs cases not run\n");
	} else {
		if (geteuid() != 0) {
			snprintf(path, sizeof(path), "%.700s/keys.env", abs);
			assert_int_equal(keys_send(604, path, me(), 0600, "A=1\n"), YG_CHAN_E_NOTTMPFS);
		}
		snprintf(path, sizeof(path), "%.700s/other", abs);
		fd = open(path, O_CREAT | O_WRONLY, 0600);
		assert_true(fd >= 0);
		close(fd);
		snprintf(path, sizeof(path), "%.700s/keys.env", abs);
		assert_int_equal(keys_send(605, path, me(), 0600, "A=1\n"), YG_CHAN_E_NOTTMPFS);
		assert_int_equal(access(path, F_OK), -1);
		snprintf(path, sizeof(path), "%.700s/other", abs);
		unlink(path);
	}
	if (is_tmpfs("/dev/shm") && mkdtemp(shm)) {
		snprintf(link, sizeof(link), "%.700s/link", abs);
		assert_int_equal(symlink(shm, link), 0);
		snprintf(path, sizeof(path), "%.700s/keys.env", link);
		assert_int_equal(keys_send(606, path, me(), 0600, "A=1\n"), YG_CHAN_E_SYMLINK);
		snprintf(path, sizeof(path), "%.700s/keys.env", shm);
		assert_int_equal(access(path, F_OK), -1);
		/* the file itself a symlink: WIPE refuses to follow it */
		assert_int_equal(symlink("/etc/passwd", path), 0);
		assert_int_equal(wipe_send(607, path), YG_CHAN_E_SYMLINK);
		unlink(path);
		unlink(link);
		rmdir(shm);
	}
	rmdir(abs);
}

/* root: an empty dir on a disk gets a tmpfs, the file goes to its owner */
static void test_keys_mount_root(void **state)
{
	char dir[] = "/var/tmp/boxdtest.XXXXXX", path[800];
	struct passwd *nobody = getpwnam("nobody");
	struct stat st;

	(void)state;
	if (geteuid() != 0) {
		if (getenv("CI") && strcmp(getenv("CI"), "true") == 0)
			fail_msg("CI=true: the KEYS mount case needs root");
		print_message("skipped: the KEYS mount case (tmpfs on an empty dir) needs root\n");
		skip();
	}
	assert_non_null(nobody);
	assert_non_null(mkdtemp(dir));
	if (is_tmpfs(dir)) {
		rmdir(dir);
		print_message("skipped: /var/tmp is a tmpfs here\n");
		skip();
	}
	snprintf(path, sizeof(path), "%.700s/keys.env", dir);
	assert_int_equal(keys_send(700, path, "nobody", 0600, key_content), 0);
	assert_true(is_tmpfs(dir));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, nobody->pw_uid);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
	assert_int_equal(wipe_send(701, path), 0);
	assert_int_equal(umount2(dir, MNT_DETACH), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* yolo-boxd runs in any guest: libc only (and a sanitizer's runtime) */
static void test_linked(void **state)
{
	char cmd[4200], line[512];
	FILE *p;
	int n = 0;

	(void)state;
	snprintf(cmd, sizeof(cmd), "ldd '%s'", boxd_bin());
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		if (strstr(line, "linux-vdso") || strstr(line, "libc.so") || strstr(line, "ld-linux") ||
		    strstr(line, "libasan") || strstr(line, "libubsan") || strstr(line, "libm.so") ||
		    strstr(line, "libgcc_s") || strstr(line, "libstdc++") ||
		    strstr(line, "libresolv") || strstr(line, "libdl.so") || strstr(line, "libpthread")) {
			n++;
			continue;
		}
		fail_msg("yolo-boxd links more than libc: %s", line);
	}
	assert_int_equal(pclose(p), 0);
	assert_true(n >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linked),
		cmocka_unit_test_setup_teardown(test_keys_tmpfs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_mount_root, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
