/* SPDX-License-Identifier: MIT */
/* yg_inject.c: keys into a guest and out again, see yg_agent.h
 * (yg_agent_inject, yg_agent_wipe_file).
 *
 * The rule (docs/SECURITY.md, "Keys in the guest"): the key file lands only
 * on a tmpfs, never through a symlink, in a directory that only the guest's
 * root can change, owned by the policy's inject_owner, mode 0600. One
 * guest-exec of a constant script prepares it (path and owner reach the
 * shell only as positional parameters), then guest-file-open/write/close
 * fill it. The script's exit code says which part of the rule failed. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "yg_agent_int.h"

#define YG_AGENT_WIPE_MAX (16u * 1024 * 1024)	/* zero at most this much */

/* sh -c SCRIPT yg PATH OWNER. ck: DIR is a directory owned by uid 0 that
 * nobody else may write to (or sticky, as /tmp). Each component of the
 * key's directory is checked in turn, made (0711) when missing, and never a
 * symlink; the directory is then a tmpfs (or ramfs), or gets a fresh tmpfs
 * mounted on it when it is empty. The file is made with noclobber
 * (O_EXCL: a symlink put there is not followed) under umask 077. A non-root
 * owner gets search permission on the directory (go+x), not more. */
static const char prepare_script[] =
	"umask 077; set -f; f=$1; o=$2; d=${f%/*}; d=${d:-/}\n"
	"ck() { case $(stat -c %u:%A -- \"$1\") in"
	" 0:d????[!w]??[!w]?|0:d????????[tT]) ;; *) exit 12;; esac; }\n"
	"ck /; p=; IFS=/\n"
	"for c in ${d#/}; do\n"
	" [ -n \"$c\" ] || continue; p=$p/$c\n"
	" [ -L \"$p\" ] && exit 10\n"
	" [ -d \"$p\" ] || mkdir -m 711 -- \"$p\" || exit 11\n"
	" [ -L \"$p\" ] && exit 10; ck \"$p\"\n"
	"done\n"
	"unset IFS; t=$(stat -f -c %T -- \"$d\") || exit 17\n"
	"case $t in tmpfs|ramfs) ;; *)\n"
	" [ -z \"$(ls -A -- \"$d\")\" ] || exit 13\n"
	" mount -t tmpfs -o mode=711,size=1m,nosuid,nodev,noexec yolo-keys \"$d\" || exit 14\n"
	" [ \"$(stat -f -c %T -- \"$d\")\" = tmpfs ] || exit 14;;\n"
	"esac\n"
	"rm -f -- \"$f\" && set -C && command : > \"$f\" || exit 15\n"
	"chown -- \"$o\" \"$f\" || exit 16\n"
	"case $o in root|0|root:*|0:*) ;; *) chmod go+x -- \"$d\" || exit 11;; esac\n";

/* path: absolute, not ending in '/', no "." or ".." component. */
static int check_key_path(const char *path, yg_err *err)
{
	const char *p;
	size_t n;
	int rc = yg_agent_check_path(path, err);

	if (rc < 0)
		return rc;
	for (p = path; *p; p += n) {
		p += strspn(p, "/");
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.') ||
		    (n == 0 && p[-1] == '/'))
			return yg_err_set(err, -EINVAL, "guest path %s must name a file, without "
					  "'.' or '..' components (fix inject_path)", path);
	}
	return 0;
}

static bool owner_part(const char *s, size_t n)
{
	return n > 0 && n <= 32 && s[0] != '-';
}

/* owner: NAME or NAME:GROUP, each 1 to 32 of [A-Za-z0-9_.$-], not starting
 * with '-' (a name or a numeric id in the guest). */
static int check_owner(const char *owner, yg_err *err)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				 "0123456789_.-$";
	size_t u = strspn(owner, ok), g;
	bool valid;

	if (owner[u] == ':') {
		g = strspn(owner + u + 1, ok);
		valid = owner_part(owner, u) && owner_part(owner + u + 1, g) &&
			owner[u + 1 + g] == '\0';
	} else {
		valid = owner_part(owner, u) && owner[u] == '\0';
	}
	if (!valid)
		return yg_err_set(err, -EINVAL, "the guest owner of the keys is not a user or "
				  "user:group name or id (fix inject_owner)");
	return 0;
}

/* What the script's exit code (YG_KEYS_*) means, and what to do. */
int yg_keys_refused(const char *b, const char *path, int status, yg_err *err)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	switch (status) {
	case YG_KEYS_SYMLINK:
		return yg_err_set(err, -ELOOP, "%s in box %s has a symlink on its path, and keys are "
				  "never written through one (fix: make it a real directory in the "
				  "guest image, or set inject_path to a file on a tmpfs such as "
				  "/run/yolo/keys.env)", path, b);
	case YG_KEYS_MKDIR:
		return yg_err_set(err, -EIO, "cannot make the directory %s in box %s searchable for "
				  "the keys (fix: check the guest's file system, or set inject_path "
				  "elsewhere)", dir, b);
	case YG_KEYS_OWNER_DIR:
		return yg_err_set(err, -EPERM, "a directory on the path of %s in box %s is not owned "
				  "by root or can be written by others, who could swap the key file "
				  "(fix: chown root and chmod go-w it in the guest image, or set "
				  "inject_path elsewhere)", path, b);
	case YG_KEYS_DISK:
		return yg_err_set(err, -EXDEV, "%s in box %s is not on a tmpfs and is not empty, so "
				  "no tmpfs is mounted over it, and keys must not reach a disk (fix: "
				  "set inject_path to a file on a tmpfs such as /run/yolo/keys.env, "
				  "or mount a tmpfs at %s in the guest image)", dir, b, dir);
	case YG_KEYS_MOUNT:
		return yg_err_set(err, -EXDEV, "%s in box %s is not on a tmpfs and mounting one "
				  "there failed, and keys must not reach a disk (fix: mount a tmpfs "
				  "at %s in the guest image, e.g. the fstab line 'tmpfs %s tmpfs "
				  "mode=0711,nosuid,nodev 0 0', or set inject_path to a file on a "
				  "tmpfs)", dir, b, dir, dir);
	case YG_KEYS_CREATE:
		return yg_err_set(err, -EIO, "cannot create %s mode 0600 in box %s (is it a "
				  "directory?)", path, b);
	case YG_KEYS_NOUSER:
		return yg_err_set(err, -ENOENT, "cannot give %s to its owner in box %s (does the "
				  "user of inject_owner exist in the guest? fix inject_owner or add "
				  "the user to the image)", path, b);
	case YG_KEYS_FSTYPE:
		return yg_err_set(err, -EIO, "cannot tell which file system %s is on in box %s (the "
				  "guest needs stat -f, as coreutils and busybox have)", dir, b);
	}
	return yg_err_set(err, -EIO, "preparing %s for the keys failed in box %s (shell exit "
			  "%d)", path, b, status);
}

int yg_agent_inject(yg_box *box, const char *path, const char *owner, const void *data,
		    size_t len, yg_err *err)
{
	const char *args[3];
	int status = -1, rc;

	if (!owner || !*owner)
		owner = "root";
	rc = check_key_path(path, err);
	if (rc == 0)
		rc = check_owner(owner, err);
	if (rc < 0)
		return rc;
	args[0] = path;
	args[1] = owner;
	args[2] = NULL;
	rc = yg_agent_sh(box, prepare_script, args, &status, err);
	if (rc == 0 && status != 0)
		rc = yg_keys_refused(yg_box_name(box), path, status, err);
	if (rc < 0)
		return rc;
	return yg_agent_put(box, path, data, len, err);
}

static int yg_agent_zero(yg_box *box, long long handle, yg_err *err)
{
	static const unsigned char zeros[YG_AGENT_CHUNK];
	long long size = 0, pos;
	int rc;

	rc = yg_agent_seek(box, handle, "end", &size, err);
	if (rc == 0)
		rc = yg_agent_seek(box, handle, "set", &pos, err);
	if (rc < 0)
		return rc;
	if (size < 0 || size > YG_AGENT_WIPE_MAX)
		size = YG_AGENT_WIPE_MAX;
	while (rc == 0 && size > 0) {
		size_t n = size < (long long)sizeof(zeros) ? (size_t)size : sizeof(zeros);

		rc = yg_agent_file_write(box, handle, zeros, n, err);
		size -= (long long)n;
	}
	if (rc == 0)
		rc = yg_agent_file_op(box, "flush", handle, err);
	return rc;
}

int yg_agent_wipe_file(yg_box *box, const char *path, yg_err *err)
{
	static const char exists[] = "[ -e \"$1\" ] || [ -L \"$1\" ]";
	static const char rm[] = "rm -f -- \"$1\"";
	const char *args[] = { path, NULL };
	long long handle;
	int status = -1, rc;
	yg_err oerr;

	rc = yg_agent_check_path(path, err);
	if (rc < 0)
		return rc;
	rc = yg_agent_file_open(box, path, "r+", &handle, &oerr);
	if (rc < 0) {
		/* missing is success; anything else is the open's error */
		if (yg_agent_sh(box, exists, args, &status, NULL) == 0 && status != 0)
			return 0;
		if (err)
			*err = oerr;
		yg_err_prefix(err, "cannot wipe %s", path);
		return rc;
	}
	rc = yg_agent_zero(box, handle, err);
	if (rc == 0)
		rc = yg_agent_file_op(box, "close", handle, err);
	else
		yg_agent_file_op(box, "close", handle, NULL);
	if (rc == 0)
		rc = yg_agent_sh(box, rm, args, &status, err);
	if (rc == 0 && status != 0)
		rc = yg_err_set(err, -EIO, "rm exited with %d in box %s", status, yg_box_name(box));
	if (rc < 0)
		yg_err_prefix(err, "cannot wipe %s", path);
	return rc;
}
