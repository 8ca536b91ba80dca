/* SPDX-License-Identifier: MIT */
/* yg_file.c: safe opening of files that cross a trust boundary, secure
 * buffers, runtime directories and lock files. See yg_file.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "yg_file.h"

#ifndef HAVE_EXPLICIT_BZERO
static void explicit_bzero(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}
#endif

/* "alice", or "uid 1001" when the uid has no passwd entry. */
static const char *user_name(uid_t uid, char *buf, size_t n)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, n, "%s", pw.pw_name);
	else
		snprintf(buf, n, "%u", (unsigned)uid);
	return buf;
}

static const char *group_name(gid_t gid, char *buf, size_t n)
{
	struct group gr, *res = NULL;
	char tmp[1024];

	if (getgrgid_r(gid, &gr, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, n, "%s", gr.gr_name);
	else
		snprintf(buf, n, "%u", (unsigned)gid);
	return buf;
}

static int err_symlink(const char *path, yg_err *err)
{
	return yg_err_set(err, -ELOOP, "%s is a symlink (fix: replace it with a regular file)", path);
}

/* Common fstat checks. what: "key file", "lock file", ...; owner (uid_t)-1 = any. */
static int check_stat(const char *path, const struct stat *st, uid_t owner,
		      mode_t forbidden, size_t max_size, yg_err *err)
{
	char want[64], have[64];
	mode_t perm = st->st_mode & 07777;

	if (!S_ISREG(st->st_mode))
		return yg_err_set(err, -EINVAL,
				  "%s is not a regular file (fix: replace it with a regular file)", path);
	if (st->st_nlink != 1)
		return yg_err_set(err, -EMLINK,
				  "%s has %lu hard links (fix: remove the other links, or replace it "
				  "with a copy: cp %s %s.new && mv %s.new %s)",
				  path, (unsigned long)st->st_nlink, path, path, path, path);
	if (owner != (uid_t)-1 && st->st_uid != owner)
		return yg_err_set(err, -EPERM,
				  "%s is owned by uid %u (%s), not %s (fix: chown %s: %s)",
				  path, (unsigned)st->st_uid, user_name(st->st_uid, have, sizeof(have)),
				  user_name(owner, want, sizeof(want)), want, path);
	if (perm & forbidden)
		return yg_err_set(err, -EPERM, "%s is mode %04o (fix: chmod %o %s)",
				  path, (unsigned)perm, (unsigned)(perm & ~forbidden), path);
	if (max_size && (unsigned long long)st->st_size > max_size) {
		if (max_size % 1024 == 0)
			return yg_err_set(err, -EFBIG, "%s is larger than %zu KiB (fix: check that "
					  "it is the right file and shorten it)", path, max_size / 1024);
		return yg_err_set(err, -EFBIG, "%s is larger than %zu bytes (fix: check that "
				  "it is the right file and shorten it)", path, max_size);
	}
	return 0;
}

static void clear_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && (fl & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

int yg_file_open_checked(const char *path, const struct yg_file_rules *rules, yg_err *err)
{
	struct stat st;
	int fd, r;

	/* lstat first so a device node is never even opened; the fstat below
	 * is the check that counts (no race between check and use) */
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return err_symlink(path, err);
		if (!S_ISREG(st.st_mode))
			return check_stat(path, &st, (uid_t)-1, 0, 0, err);
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			return yg_err_set(err, r, "%s does not exist", path);
		if (r == -ELOOP)
			return err_symlink(path, err);
		return yg_err_set(err, r, "cannot open %s: %s (fix: check the path and the "
				  "permissions of its directories)", path, strerror(-r));
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return yg_err_set(err, r, "cannot stat %s: %s", path, strerror(-r));
	}
	r = check_stat(path, &st, rules->owner, rules->forbidden, rules->max_size, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	clear_nonblock(fd);
	return fd;
}

/* ---- secure buffers: own pages, locked, kept out of core dumps ---- */

#define SECURE_HDR 16u

void *yg_secure_alloc(size_t len)
{
	size_t total;
	unsigned char *base;

	if (len > SIZE_MAX - SECURE_HDR)
		return NULL;
	total = len + SECURE_HDR;
	base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	(void)mlock(base, total);		/* best effort: RLIMIT_MEMLOCK */
	(void)madvise(base, total, MADV_DONTDUMP);
	memcpy(base, &total, sizeof(total));
	return base + SECURE_HDR;
}

void yg_secure_free(void *p, size_t len)
{
	unsigned char *base;
	size_t total;

	(void)len;	/* the real size was recorded by yg_secure_alloc */
	if (!p)
		return;
	base = (unsigned char *)p - SECURE_HDR;
	memcpy(&total, base, sizeof(total));
	explicit_bzero(base, total);
	(void)munlock(base, total);
	munmap(base, total);
}

int yg_file_read_secure(int fd, size_t max, char **out, size_t *len, yg_err *err)
{
	size_t have = 0;
	char *buf;

	*out = NULL;
	*len = 0;
	if (max == SIZE_MAX)
		return yg_err_set(err, -EINVAL, "internal error: no size limit for a secure read");
	/* max + 1 bytes: one more than allowed tells "too big" apart, and the
	 * buffer is always NUL-terminated */
	buf = yg_secure_alloc(max + 1);
	if (!buf)
		return yg_err_set(err, -ENOMEM, "cannot allocate %zu bytes of locked memory", max + 1);
	for (;;) {
		ssize_t n = read(fd, buf + have, max + 1 - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			yg_secure_free(buf, max + 1);
			return yg_err_set(err, r, "cannot read: %s", strerror(-r));
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > max) {
			yg_secure_free(buf, max + 1);
			return yg_err_set(err, -EFBIG, "file is larger than %zu bytes", max);
		}
	}
	buf[have] = '\0';
	*out = buf;
	*len = have;
	return 0;
}

/* ---- directories ---- */

int yg_dir_ensure(const char *path, mode_t mode, uid_t owner, gid_t group, yg_err *err)
{
	char un[64], gn[64], wun[64], wgn[64];	/* what it is, what it should be */
	bool created = false;
	struct stat st;
	mode_t perm;
	int fd, r = 0;

	if (mkdir(path, mode & 07777) == 0)
		created = true;
	else if (errno != EEXIST)
		return yg_err_set(err, -errno, "cannot create directory %s: %s (fix: check its "
				  "parent directory)", path, strerror(errno));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			return yg_err_set(err, -ELOOP, "%s is a symlink, not a directory (fix: rm %s)",
					  path, path);
		if (r == -ENOTDIR)
			return yg_err_set(err, r, "%s is not a directory (fix: rm %s)", path, path);
		return yg_err_set(err, r, "cannot open directory %s: %s", path, strerror(-r));
	}
	if (created) {
		if ((owner != (uid_t)-1 || group != (gid_t)-1) && fchown(fd, owner, group) < 0) {
			r = yg_err_set(err, -errno, "cannot chown new directory %s: %s", path,
				       strerror(errno));
			goto out;
		}
		if (fchmod(fd, mode & 07777) < 0) {
			r = yg_err_set(err, -errno, "cannot chmod new directory %s: %s", path,
				       strerror(errno));
			goto out;
		}
	}
	if (fstat(fd, &st) < 0) {
		r = yg_err_set(err, -errno, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	perm = st.st_mode & 07777;
	if ((owner != (uid_t)-1 && st.st_uid != owner) ||
	    (group != (gid_t)-1 && st.st_gid != group)) {
		r = yg_err_set(err, -EPERM, "directory %s is owned by %s:%s (fix: chown %s:%s %s)",
			       path, user_name(st.st_uid, un, sizeof(un)),
			       group_name(st.st_gid, gn, sizeof(gn)),
			       owner != (uid_t)-1 ? user_name(owner, wun, sizeof(wun)) : "",
			       group != (gid_t)-1 ? group_name(group, wgn, sizeof(wgn)) : "", path);
		goto out;
	}
	if (perm & ~(mode & 07777))
		r = yg_err_set(err, -EPERM, "directory %s is mode %04o (fix: chmod %o %s)",
			       path, (unsigned)perm, (unsigned)(perm & mode & 07777), path);
out:
	close(fd);
	return r;
}

/* ---- lock files ---- */

int yg_lockfile_open(int dirfd, const char *name, yg_err *err)
{
	char dir[PATH_MAX], link[64], path[PATH_MAX + 256];
	struct stat st;
	ssize_t n;
	int fd, r;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = readlink(link, dir, sizeof(dir) - 1);
	if (n < 0)
		n = snprintf(dir, sizeof(dir), "(directory fd %d)", dirfd);
	dir[n] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, name ? name : "");
	if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return yg_err_set(err, -EINVAL, "invalid lock file name '%s' in %s (a plain file "
				  "name is needed)", name ? name : "", dir);
	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		    0600);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			return err_symlink(path, err);
		return yg_err_set(err, r, "cannot open lock file %s: %s", path, strerror(-r));
	}
	if (fstat(fd, &st) < 0) {
		r = yg_err_set(err, -errno, "cannot stat lock file %s: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	/* anyone who can open it could flock it: no group/other access */
	r = check_stat(path, &st, geteuid(), 077, 0, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	clear_nonblock(fd);
	return fd;
}
