/* SPDX-License-Identifier: MIT */
/* yg_trust.c: open policy files and directories only when they are safe
 * to trust, like OpenSSH's StrictModes and sudo's sudo_check_secure:
 *  - owned by root or by the effective uid of the reader (so that tests,
 *    and a broker reading a config dir it owns, work unprivileged),
 *  - not group- or world-writable,
 *  - a regular file (a directory for policy.d), never a symlink.
 * Files are opened with O_NOFOLLOW|O_NONBLOCK (a FIFO cannot hang us) and
 * the checks run on fstat() of the opened fd, so there is no TOCTOU. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "yg_policy_int.h"

static int check_stat(const struct stat *st, const char *path, bool want_dir,
		      yg_diags *diags)
{
	int rc = 0;

	if (want_dir && !S_ISDIR(st->st_mode))
		return yg_diags_addf(diags, path, 0, "not a directory: "
				     "replace it with a directory owned by "
				     "root") ?: -ENOTDIR;
	if (!want_dir && !S_ISREG(st->st_mode))
		return yg_diags_addf(diags, path, 0, "not a regular file: "
				     "replace it with a regular file owned "
				     "by root") ?: -EPERM;
	if (st->st_uid != 0 && st->st_uid != geteuid())
		rc = yg_diags_addf(diags, path, 0, "owned by uid %u, not by "
				   "root (or uid %u, the reader): refusing "
				   "to trust it; fix with: chown root:root "
				   "%s", (unsigned)st->st_uid,
				   (unsigned)geteuid(), path) ?: -EPERM;
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		rc = yg_diags_addf(diags, path, 0, "is %s-writable: refusing "
				   "to trust it; fix with: chmod go-w %s",
				   (st->st_mode & S_IWOTH) ? "world" : "group",
				   path) ?: -EPERM;
	return rc;
}

static int open_checked(int dirfd, const char *name, const char *path,
			int flags, bool want_dir, bool entry, yg_diags *diags)
{
	struct stat st;
	int fd, rc;

	if (entry && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return yg_diags_addf(diags, path, 0, "is a symlink; entries "
				     "of policy.d must not be symlinks: "
				     "replace it with a regular file owned by "
				     "root") ?: -ELOOP;
	fd = openat(dirfd, name, flags | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			return rc;
		if (rc == -ELOOP)
			return yg_diags_addf(diags, path, 0, "is a symlink: "
					     "replace it with the %s itself, "
					     "owned by root",
					     want_dir ? "directory" : "file")
				?: rc;
		if (rc == -ENOTDIR && want_dir)
			return check_stat(&(struct stat){ .st_mode = S_IFREG },
					  path, true, diags);
		return yg_diags_addf(diags, path, 0, "cannot open: %s",
				     strerror(-rc)) ?: rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		yg_diags_addf(diags, path, 0, "cannot stat: %s", strerror(-rc));
		close(fd);
		return rc;
	}
	rc = check_stat(&st, path, want_dir, diags);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

int yg_trust_open_file(int dirfd, const char *name, const char *path,
		       bool is_dir_entry, yg_diags *diags)
{
	return open_checked(dirfd, name, path,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK, false,
			    is_dir_entry, diags);
}

int yg_trust_open_dir(int dirfd, const char *name, const char *path,
		      bool follow, yg_diags *diags)
{
	return open_checked(dirfd, name, path,
			    O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW),
			    true, false, diags);
}

int yg_trust_read(int fd, const char *path, char **buf, size_t *len,
		  yg_diags *diags)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap + 1);

	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap >= YG_POLICY_MAX_FILE) {
				free(b);
				return yg_diags_addf(diags, path, 0, "larger "
						     "than %d bytes: split it "
						     "into several files",
						     YG_POLICY_MAX_FILE)
					?: -EFBIG;
			}
			cap *= 2;
			nb = realloc(b, cap + 1);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int rc = -errno;

			free(b);
			return yg_diags_addf(diags, path, 0, "cannot read: %s",
					     strerror(-rc)) ?: rc;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (memchr(b, '\0', n)) {
		free(b);
		return yg_diags_addf(diags, path, 0, "contains a NUL byte: "
				     "is this a text file?") ?: -EINVAL;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}
