/* SPDX-License-Identifier: MIT */
/* boxdkeystest.c: yolo-boxd's KEYS and WIPE (key files into a tmpfs, their
 * lines in later commands' environment, the refusals), WAKE and CONSIZE
 * (the console path rule, the open's errors, the write, the window size),
 * and that it links libc only.
 * The case that mounts a tmpfs and the WAKE write case run only as root
 * (they say so when they skip; under CI=true they fail instead).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <regex.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <termios.h>
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

/* ---- WAKE ---- */

/* WAKE (or CONSIZE) of path with the window size rows x cols (0 0: none) */
static uint32_t tty_msg(uint8_t type, uint32_t id, const char *path, uint16_t rows, uint16_t cols)
{
	static yg_chan_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.stream = id;
	m.u.wake.rows = rows;
	m.u.wake.cols = cols;
	snprintf(m.u.wake.path, sizeof(m.u.wake.path), "%.1000s", path);
	return request(&m);
}

static uint32_t wake_size(uint32_t id, const char *path, uint16_t rows, uint16_t cols)
{
	return tty_msg(YG_CHAN_MSG_WAKE, id, path, rows, cols);
}

static uint32_t wake_send(uint32_t id, const char *path)
{
	return wake_size(id, path, 0, 0);
}

static uint32_t consize_send(uint32_t id, const char *path, uint16_t rows, uint16_t cols)
{
	return tty_msg(YG_CHAN_MSG_CONSIZE, id, path, rows, cols);
}

/* the FAILED text in H.m has this in it */
static void text_has(const char *what)
{
	if (!strstr(H.m.u.failed.text, what))
		fail_msg("FAILED text '%s' lacks '%s'", H.m.u.failed.text, what);
}

/* Only a console tty: anything else is FAILED PERM, with a text that names
 * the path and the rule. An allowed path that is missing: NOENT. (None of
 * these paths is opened; the missing ones do not exist.) */
static void test_wake_refused(void **state)
{
	static const char *const bad[] = {
		"/etc/passwd", "/dev/null", "/dev/pts/987654", "/dev/tty", "/dev/ttyS",
		"/dev/hvc", "/dev/ttyS0x", "/dev/tty1/", "/dev/ttyS1/../../etc/passwd",
		"/dev/hvc-1", "/dev/tty+1", "/dev/tty 1", "/dev/console0", "/dev/console/",
		"/dev/ttyUSB0", "/dev//ttyS0", "//dev/ttyS0", "/dev/./tty1", "/tmp/dev/ttyS0",
		"/DEV/TTYS0",
	};
	static const char *const missing[] = { "/dev/hvc987654", "/dev/ttyS987654", "/dev/tty987654" };
	uint32_t id = 800;
	struct run r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(wake_send(id++, bad[i]), YG_CHAN_E_PERM);
		text_has(bad[i]);
		text_has("/dev/ttyS<n>, /dev/hvc<n>, /dev/tty<n> or /dev/console");
		assert_int_equal(consize_send(id++, bad[i], 30, 100), YG_CHAN_E_PERM);
		text_has("CONSIZE refused for");
		text_has(bad[i]);
	}
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
		assert_int_equal(access(missing[i], F_OK), -1);
		assert_int_equal(wake_send(id++, missing[i]), YG_CHAN_E_NOENT);
		text_has(missing[i]);
		text_has(strerror(ENOENT));
	}
	/* a refusal is an answer, not a protocol error: the host stays */
	run_simple(id, "echo still", &r);
	assert_string_equal((char *)outbuf, "still\n");
}

static bool wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* A /dev of its own, a tmpfs in a private mount namespace (root), with the
 * pty slave pts bound onto /dev/ttyS5 (a node from mknod would not open: a
 * pty slave opens only through its devpts). 0, or -1 when the kernel will
 * not give a namespace. */
static int private_dev(const char *pts)
{
	char at[64];
	int fd;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;	/* nothing mounted: the host's /dev is untouched */
	fd = open(pts, O_PATH | O_CLOEXEC);	/* in this namespace's /dev/pts */
	assert_true(fd >= 0);
	assert_int_equal(mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k"), 0);
	close(creat("/dev/ttyS5", 0600));
	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	assert_int_equal(mount(at, "/dev/ttyS5", NULL, MS_BIND, NULL), 0);
	close(fd);
	return 0;
}

/* root: in a private /dev, the pty slave at /dev/ttyS5 gets exactly "\r\n";
 * /dev/console (here /dev/null's device) is OK; a regular file, a symlink and
 * a FIFO under console names are FAILED IO, and nothing reaches the pty. */
static void test_wake_root(void **state)
{
	struct winsize ws;
	struct termios t;
	char got[8];
	int master, slave;

	(void)state;
	if (geteuid() != 0) {
		if (getenv("CI") && strcmp(getenv("CI"), "true") == 0)
			fail_msg("CI=true: the WAKE write case needs root");
		print_message("skipped: the WAKE write case (a private /dev) needs root\n");
		skip();
	}
	master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);
	assert_int_equal(tcgetattr(slave, &t), 0);
	cfmakeraw(&t);
	assert_int_equal(tcsetattr(slave, TCSANOW, &t), 0);
	boxd_stop();
	if (private_dev(ptsname(master)) < 0) {
		print_message("skipped: no private mount namespace here: %s\n", strerror(errno));
		close(slave);
		close(master);
		skip();
	}
	assert_int_equal(mknod("/dev/console", S_IFCHR | 0600, makedev(1, 3)), 0);
	close(creat("/dev/ttyS7", 0600));
	assert_int_equal(symlink("/dev/ttyS5", "/dev/hvc7"), 0);
	assert_int_equal(mkfifo("/dev/tty7", 0600), 0);
	boxd_start(false);
	host_hello();
	assert_int_equal(wake_send(900, "/dev/ttyS5"), 0);
	assert_true(wait_readable(master, TIMEOUT_MS));
	assert_int_equal(read(master, got, sizeof(got)), 2);
	assert_memory_equal(got, "\r\n", 2);
	/* with a window size: the tty has it, then the line break */
	assert_int_equal(wake_size(905, "/dev/ttyS5", 41, 133), 0);
	assert_true(wait_readable(master, TIMEOUT_MS));
	assert_int_equal(read(master, got, sizeof(got)), 2);
	assert_int_equal(ioctl(slave, TIOCGWINSZ, &ws), 0);
	assert_int_equal(ws.ws_row, 41);
	assert_int_equal(ws.ws_col, 133);
	/* CONSIZE: the size, and nothing written */
	assert_int_equal(consize_send(906, "/dev/ttyS5", 52, 140), 0);
	assert_int_equal(ioctl(slave, TIOCGWINSZ, &ws), 0);
	assert_int_equal(ws.ws_row, 52);
	assert_int_equal(ws.ws_col, 140);
	assert_false(wait_readable(master, 100));
	assert_int_equal(consize_send(907, "/dev/console", 52, 140), YG_CHAN_E_IO);	/* not a tty */
	text_has("cannot set the window size of /dev/console");
	assert_int_equal(consize_send(908, "/dev/ttyS7", 52, 140), YG_CHAN_E_IO);
	text_has("not a character device");
	assert_int_equal(wake_send(901, "/dev/console"), 0);
	assert_int_equal(wake_send(902, "/dev/ttyS7"), YG_CHAN_E_IO);
	text_has("not a character device");
	assert_int_equal(wake_send(903, "/dev/hvc7"), YG_CHAN_E_IO);
	text_has("symlink");
	assert_int_equal(wake_send(904, "/dev/tty7"), YG_CHAN_E_IO);	/* no reader: ENXIO */
	text_has("/dev/tty7");
	assert_false(wait_readable(master, 100));
	boxd_stop();
	assert_int_equal(umount2("/dev", MNT_DETACH), 0);
	close(slave);
	close(master);
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
		cmocka_unit_test_setup_teardown(test_wake_refused, setup, teardown),
		/* last: it leaves this process in a mount namespace of its own */
		cmocka_unit_test_setup_teardown(test_wake_root, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
