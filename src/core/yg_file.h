/* SPDX-License-Identifier: MIT */
/* yg_file.h: opening files that cross a trust boundary.
 *
 * Every open uses O_NOFOLLOW|O_CLOEXEC (and O_NONBLOCK so a FIFO never hangs
 * the caller), then fstat()s the descriptor it got (no check-then-open race)
 * and refuses: a symlink, anything but a regular file, a file with more than
 * one hard link, a wrong owner, group/other permission bits beyond the allowed
 * mask. The yg_err message names the file and the exact command that fixes it
 * (chown / chmod / rm). Codes: -ELOOP symlink, -EINVAL not a regular file,
 * -EMLINK more than one link, -EPERM owner or mode, -EFBIG too big. A path
 * that is not a regular file is refused after lstat(), before any open(), so
 * a device node is never opened. */
#ifndef YG_FILE_H
#define YG_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "yg_err.h"

struct yg_file_rules {
	uid_t owner;		/* required owner */
	mode_t forbidden;	/* mode bits that must be clear, e.g. 077 or 022 */
	size_t max_size;	/* 0 = no limit */
};

/* Open path read-only under the rules. Returns an fd (>= 0) or -errno with err set
 * (-ENOENT when it does not exist: the caller decides whether that is fine). */
int yg_file_open_checked(const char *path, const struct yg_file_rules *rules, yg_err *err) YG_MUST_CHECK;

/* Read the whole fd (at most max bytes, error -EFBIG beyond) into a buffer
 * from yg_secure_alloc. *out must be released with yg_secure_free. */
int yg_file_read_secure(int fd, size_t max, char **out, size_t *len, yg_err *err) YG_MUST_CHECK;

/* Zero-filled allocation on pages of its own: mlock'ed (best effort:
 * RLIMIT_MEMLOCK), MADV_DONTDUMP, zeroed with explicit_bzero and unmapped on
 * free. NULL when out of memory. yg_secure_free accepts NULL; its len is only
 * informative (the real size is recorded at allocation), so buffers from
 * yg_file_read_secure can be freed with the returned length. */
void *yg_secure_alloc(size_t len);
void yg_secure_free(void *p, size_t len);

/* Create dir (mode, owner, group: -1 = leave) if missing, with exactly that
 * mode (umask ignored); refuse if it exists and is a symlink (-ELOOP), not a
 * directory (-ENOTDIR), has a wrong owner/group, or permission bits beyond
 * mode (-EPERM). Returns 0. */
int yg_dir_ensure(const char *path, mode_t mode, uid_t owner, gid_t group, yg_err *err) YG_MUST_CHECK;

/* Open (creating 0600 if missing) a lock file inside a trusted directory dirfd,
 * with O_NOFOLLOW; refuses anything but a regular file with one link, owned by
 * the caller's euid, with no group/other bits (whoever can open it could
 * flock it). name is a plain file name (no '/'). Returns an O_RDWR fd. */
int yg_lockfile_open(int dirfd, const char *name, yg_err *err) YG_MUST_CHECK;

#endif
