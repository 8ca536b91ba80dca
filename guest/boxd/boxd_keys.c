/* SPDX-License-Identifier: MIT */
/* boxd_keys.c: KEYS, WIPE, CLOCK, WAKE and CONSIZE, and the key lines kept
 * for EXEC.
 *
 * KEYS writes a key file in one round trip: every component of its
 * directory is opened with O_NOFOLLOW from / (a symlink anywhere is
 * refused; only the last directory is created, 0711, when missing); the
 * directory must be on a tmpfs or ramfs, and when it is not but is empty,
 * boxd mounts a tmpfs (mode 0711, 1 MiB) on it; a non-empty directory on a
 * disk is refused. The file is written as a temporary created with
 * O_CREAT|O_EXCL|O_NOFOLLOW, given to its owner and mode, and renamed into
 * place. Its NAME=value lines are kept, in locked memory, for the
 * environment of later commands (as a login would load them) until WIPE or
 * the next host HELLO.
 *
 * WAKE writes "\r\n" to a console tty (/dev/ttyS<n>, /dev/hvc<n>,
 * /dev/tty<n> or /dev/console, and no other path), opened without
 * following a symlink and checked to be a character device: QEMU's pty
 * chardev notices a newly attached host-side reader only when the guest
 * writes to the port. It waits at most 100 ms for the bytes to go out.
 * CONSIZE opens the same paths the same way and only sets the window size
 * (the kernel sends SIGWINCH to the tty's foreground group).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "boxd.h"
#include "boxd_spawn.h"
#include "yg_time.h"

#define TMPFS_MAGIC_ 0x01021994ul
#define RAMFS_MAGIC_ 0x858458f6ul
#define WAKE_DRAIN_MS 100u	/* a WAKE waits at most this long for its bytes to go out */

/* the key lines: NAME=value strings in store, pointed to by env */
static struct {
	char store[YG_FRAME_MAX];
	const char *env[YG_CHAN_ARGS_MAX + 1];
} *keys;

int boxd_keys_init(void)
{
	keys = mmap(NULL, sizeof(*keys), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (keys == MAP_FAILED) {
		keys = NULL;
		boxd_log(3, "out of memory for the key store");
		return -ENOMEM;
	}
	if (mlock(keys, sizeof(*keys)) < 0)
		boxd_log(4, "cannot lock the key store in memory: %s", strerror(errno));
	(void)madvise(keys, sizeof(*keys), MADV_DONTDUMP);
	return 0;
}

void boxd_keys_forget(void)
{
	if (keys)
		boxd_bzero(keys, sizeof(*keys));
}

const char *const *boxd_keys_env(void)
{
	return keys->env;
}

static void keep_lines(const uint8_t *content, size_t len)
{
	char *p, *end;
	size_t n = 0;

	boxd_keys_forget();
	if (len >= sizeof(keys->store))
		len = sizeof(keys->store) - 1;
	memcpy(keys->store, content, len);
	end = keys->store + len;
	for (p = keys->store; p < end && n < YG_CHAN_ARGS_MAX;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl)
			*nl = '\0';
		else
			nl = end;
		/* whole lines only: no NUL, no CR inside */
		if (strlen(p) == (size_t)(nl - p) && !strchr(p, '\r') && boxd_env_ok(p))
			keys->env[n++] = p;
		p = nl + 1;
	}
}

/* Open dir (absolute, no "." or ".." parts) one component at a time with
 * O_NOFOLLOW; create the last one when mk. Returns an fd or -1 with f set. */
static int open_dir(const char *dir, bool mk, struct boxd_fail *f)
{
	char part[YG_CHAN_PATH_MAX + 1];
	const char *p = dir;
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	while (fd >= 0 && *p) {
		size_t len = strcspn(p, "/");
		struct stat st;
		int nfd;

		if (!len) {
			p++;
			continue;
		}
		memcpy(part, p, len);
		part[len] = '\0';
		p += len;
		nfd = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && mk && !p[strspn(p, "/")] && mkdirat(fd, part, 0711) == 0)
			nfd = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			int e = errno;

			if (fstatat(fd, part, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
				f->code = YG_CHAN_E_SYMLINK;
				snprintf(f->text, sizeof(f->text),
					 "%.800s in the box has a symlink in its path (%.100s); refusing it", dir, part);
			} else {
				f->code = e == ENOENT ? YG_CHAN_E_NOENT : YG_CHAN_E_IO;
				snprintf(f->text, sizeof(f->text), "cannot open directory %.800s in the box: %s",
					 dir, strerror(e));
			}
			close(fd);
			return -1;
		}
		close(fd);
		fd = nfd;
	}
	if (fd < 0) {
		f->code = YG_CHAN_E_IO;
		snprintf(f->text, sizeof(f->text), "cannot open / in the box: %s", strerror(errno));
	}
	return fd;
}

static bool on_tmpfs(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return false;
	return (unsigned long)sf.f_type == TMPFS_MAGIC_ || (unsigned long)sf.f_type == RAMFS_MAGIC_;
}

static bool is_empty(int fd)
{
	int d = dup(fd);
	struct dirent *e;
	bool empty = true;
	DIR *dp;

	if (d < 0 || !(dp = fdopendir(d))) {
		if (d >= 0)
			close(d);
		return false;
	}
	while (empty && (e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(dp);
	return empty;
}

/* The key directory, on a tmpfs (mounted here when it was an empty dir). */
static int key_dir(const char *dir, struct boxd_fail *f)
{
	char at[64];
	int fd = open_dir(dir, true, f);

	if (fd < 0 || on_tmpfs(fd))
		return fd;
	if (!is_empty(fd)) {
		close(fd);
		f->code = YG_CHAN_E_NOTTMPFS;
		snprintf(f->text, sizeof(f->text), "%.800s in the box is not on a tmpfs and not empty; "
			 "keys go only to a tmpfs (boxd mounts one on an empty directory)", dir);
		return -1;
	}
	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	if (mount("tmpfs", at, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0711,size=1m") < 0 &&
	    (errno != ENOENT ||
	     mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0711,size=1m") < 0)) {
		f->code = YG_CHAN_E_NOTTMPFS;
		snprintf(f->text, sizeof(f->text), "%.800s in the box is not on a tmpfs, and mounting one "
			 "there failed: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	fd = open_dir(dir, false, f);	/* now the root of the new tmpfs */
	if (fd >= 0 && !on_tmpfs(fd)) {
		close(fd);
		f->code = YG_CHAN_E_NOTTMPFS;
		snprintf(f->text, sizeof(f->text), "%.800s in the box is still not on a tmpfs after the "
			 "mount (was it replaced?)", dir);
		return -1;
	}
	return fd;
}

/* Split an absolute path into dir and base. -1 with f set when it is not
 * absolute or has an empty, "." or ".." part. */
static int split(const char *path, char *dir, const char **base, struct boxd_fail *f)
{
	const char *slash = strrchr(path, '/');
	const char *p = path;
	bool ok = path[0] == '/';

	while (ok && *p) {
		size_t len = strcspn(++p, "/");

		ok = len && !(len == 1 && p[0] == '.') && !(len == 2 && p[0] == '.' && p[1] == '.');
		p += len;
	}
	if (!ok) {
		f->code = YG_CHAN_E_PROTO;
		snprintf(f->text, sizeof(f->text), "'%.800s' is not an absolute file path without "
			 "empty, '.' or '..' parts", path);
		return -1;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	*base = slash + 1;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int put_file(int dfd, const char *base, const yg_chan_msg *m, const struct boxd_user *o,
		    struct boxd_fail *f)
{
	char tmp[YG_CHAN_PATH_MAX + 32];
	int fd = -1;

	for (unsigned i = 0; fd < 0 && i < 16; i++) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(tmp, sizeof(tmp), ".%s.%ld%u", base, ts.tv_nsec, i);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		goto fail;
	if (write_all(fd, m->u.keys.bytes, m->u.keys.len) < 0 ||
	    (o->uid != geteuid() && fchown(fd, o->uid, o->gid) < 0) ||
	    fchmod(fd, m->u.keys.mode & 0777) < 0 || close(fd) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		unlinkat(dfd, tmp, 0);
		errno = e;
		goto fail;
	}
	if (renameat(dfd, tmp, dfd, base) < 0) {
		int e = errno;

		unlinkat(dfd, tmp, 0);
		errno = e;
		goto fail;
	}
	return 0;
fail:
	f->code = errno == EPERM || errno == EACCES ? YG_CHAN_E_PERM : YG_CHAN_E_IO;
	snprintf(f->text, sizeof(f->text), "cannot write the key file %.800s in the box: %s",
		 m->u.keys.path, strerror(errno));
	return -1;
}

static int answer(struct boxd *b, uint32_t stream, int r, const struct boxd_fail *f)
{
	if (!stream)
		return boxd_proto("a request on stream 0");
	return r < 0 ? boxd_send_failed(b, stream, f->code, "%s", f->text) : boxd_send_ok(b, stream);
}

int boxd_keys(struct boxd *b, const yg_chan_msg *m)
{
	static char dir[YG_CHAN_PATH_MAX + 1];
	static struct boxd_user owner;
	static struct boxd_fail f;
	const char *base, *oname = m->u.keys.owner[0] ? m->u.keys.owner : "root";
	int dfd = -1, r;

	r = split(m->u.keys.path, dir, &base, &f);
	if (r == 0 && boxd_user(oname, &owner) < 0) {
		f.code = YG_CHAN_E_NOUSER;
		snprintf(f.text, sizeof(f.text), "no user %s in the box to own %.800s", oname,
			 m->u.keys.path);
		r = -1;
	}
	if (r == 0 && (dfd = key_dir(dir[0] ? dir : "/", &f)) < 0)
		r = -1;
	if (r == 0)
		r = put_file(dfd, base, m, &owner, &f);
	if (dfd >= 0)
		close(dfd);
	if (r == 0)
		keep_lines(m->u.keys.bytes, m->u.keys.len);
	if (r == 0)	/* each login's: no journal line (as HELLO's) */
		boxd_debug(b, "key file %s (%zu bytes, owner %s): written", m->u.keys.path,
			   m->u.keys.len, oname);
	else
		boxd_log(6, "key file %s (%zu bytes, owner %s): %s", m->u.keys.path,
			 m->u.keys.len, oname, f.text);
	return answer(b, m->stream, r, &f);
}

int boxd_wipe(struct boxd *b, const yg_chan_msg *m)
{
	static char dir[YG_CHAN_PATH_MAX + 1];
	static struct boxd_fail f;
	static const uint8_t zeros[4096];
	const char *base;
	struct stat st;
	int dfd, fd, r;

	boxd_keys_forget();
	r = split(m->u.wipe.path, dir, &base, &f);
	if (r < 0)
		return answer(b, m->stream, r, &f);
	dfd = open_dir(dir[0] ? dir : "/", false, &f);
	if (dfd < 0)
		return answer(b, m->stream, f.code == YG_CHAN_E_NOENT ? 0 : -1, &f);
	fd = openat(dfd, base, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		close(dfd);
		return answer(b, m->stream, 0, &f);
	}
	f.code = errno == ELOOP ? YG_CHAN_E_SYMLINK : YG_CHAN_E_IO;
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		for (off_t left = st.st_size; left > 0 && r == 0; left -= (off_t)sizeof(zeros))
			r = write_all(fd, zeros, left < (off_t)sizeof(zeros) ? (size_t)left : sizeof(zeros));
		if (r == 0 && fsync(fd) == 0 && unlinkat(dfd, base, 0) == 0)
			f.code = 0;
	} else if (fd >= 0) {
		errno = EINVAL;
	}
	if (f.code)
		snprintf(f.text, sizeof(f.text), "cannot wipe %.800s in the box: %s", m->u.wipe.path,
			 f.code == YG_CHAN_E_SYMLINK ? "it is a symlink" : strerror(errno));
	if (fd >= 0)
		close(fd);
	close(dfd);
	boxd_log(6, "wipe %s: %s", m->u.wipe.path, f.code ? f.text : "done");
	return answer(b, m->stream, f.code ? -1 : 0, &f);
}

int boxd_clock(struct boxd *b, const yg_chan_msg *m)
{
	struct timespec ts = { .tv_sec = (time_t)(m->u.clock.ns / 1000000000u),
			       .tv_nsec = (long)(m->u.clock.ns % 1000000000u) };
	static struct boxd_fail f;
	int r = clock_settime(CLOCK_REALTIME, &ts);

	if (r < 0) {
		f.code = errno == EPERM ? YG_CHAN_E_PERM : YG_CHAN_E_IO;
		snprintf(f.text, sizeof(f.text), "cannot set the box's clock: %s", strerror(errno));
	}
	return answer(b, m->stream, r, &f);
}

/* /dev/console, or PREFIX<digits> for one of the console prefixes */
static bool console_path(const char *path)
{
	static const char *const prefixes[] = { "/dev/ttyS", "/dev/hvc", "/dev/tty" };

	if (strcmp(path, "/dev/console") == 0)
		return true;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);

		if (strncmp(path, prefixes[i], n) == 0 && path[n] &&
		    strspn(path + n, "0123456789") == strlen(path + n))
			return true;
	}
	return false;
}

/* The last close of a serial tty waits (up to its closing_wait, 30 s by
 * default) until its output has gone out, which it does not while the host
 * end reads nothing: wait at most WAKE_DRAIN_MS, then drop what is left, so
 * that the one poll loop never stalls for a console. */
static void drain_or_drop(int fd)
{
	int left = 0;

	for (unsigned ms = 0; ms < WAKE_DRAIN_MS; ms += 5) {
		if (ioctl(fd, TIOCOUTQ, &left) < 0 || left == 0)
			return;		/* not a tty with a queue, or it is out */
		yg_sleep_ms(5);
	}
	(void)tcflush(fd, TCOFLUSH);
}

/* Open the console path, give it the window size rows x cols (when both
 * are set) and, for a wake, write a line break to it: 0, or -1 with f set. */
static int wake_tty(const char *path, uint16_t rows, uint16_t cols, bool wake,
		    struct boxd_fail *f)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	struct stat st;
	ssize_t n;
	int r, fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		f->code = e == ENOENT ? YG_CHAN_E_NOENT : YG_CHAN_E_IO;
		snprintf(f->text, sizeof(f->text), "cannot open the console %.800s in the box: %s%s",
			 path, strerror(e), e == ELOOP ? " (a symlink, which boxd does not follow)" : "");
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode)) {
		f->code = YG_CHAN_E_IO;
		snprintf(f->text, sizeof(f->text), "%.800s in the box is not a character device; "
			 "refusing to write to it", path);
		close(fd);
		return -1;
	}
	if (!wake) {	/* CONSIZE: the size is all it asks for */
		r = rows && cols ? ioctl(fd, TIOCSWINSZ, &ws) : 0;
		if (r < 0) {
			f->code = YG_CHAN_E_IO;
			snprintf(f->text, sizeof(f->text), "cannot set the window size of %.800s "
				 "in the box: %s", path, strerror(errno));
		}
		close(fd);
		return r;
	}
	if (rows && cols && ioctl(fd, TIOCSWINSZ, &ws) < 0)	/* best effort, as stty's */
		boxd_log(6, "cannot set the window size of %s: %s", path, strerror(errno));
	do
		n = write(fd, "\r\n", 2);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno != EAGAIN) {
		f->code = YG_CHAN_E_IO;
		snprintf(f->text, sizeof(f->text), "cannot write to the console %.800s in the box: %s",
			 path, strerror(errno));
		close(fd);
		return -1;
	}
	drain_or_drop(fd);	/* ours, or (EAGAIN) what was stuck there before */
	close(fd);	/* EAGAIN, a short write: the wake is best effort */
	return 0;
}

int boxd_wake(struct boxd *b, const yg_chan_msg *m)
{
	static struct boxd_fail f;
	bool wake = m->type == YG_CHAN_MSG_WAKE;
	int r = -1;

	if (!console_path(m->u.wake.path)) {
		f.code = YG_CHAN_E_PERM;
		snprintf(f.text, sizeof(f.text), "%s refused for %.800s: boxd %s only a console "
			 "tty, /dev/ttyS<n>, /dev/hvc<n>, /dev/tty<n> or /dev/console",
			 yg_chan_type_name(m->type), m->u.wake.path, wake ? "writes to" : "resizes");
	} else {
		r = wake_tty(m->u.wake.path, m->u.wake.rows, m->u.wake.cols, wake, &f);
	}
	boxd_debug(b, "%s %s %ux%u: %s", wake ? "wake" : "consize", m->u.wake.path,
		   m->u.wake.rows, m->u.wake.cols, r == 0 ? "done" : f.text);
	return answer(b, m->stream, r, &f);
}
