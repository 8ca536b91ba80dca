/* SPDX-License-Identifier: MIT */
/* ctl_keys.c: yolo-gatectl keys set|rm|list USER [NAME].
 *
 * The key file is the policy's `keys` path for the user, owned by the
 * [gate] service_user, mode 0600, in a directory of that user with mode
 * 0700 (created when missing).  A value is read from stdin, never argv; it
 * lives only in yg_secure_alloc buffers.  Writes are atomic: a temporary
 * file in the same directory (O_EXCL, fchown, fchmod 0600, write, fsync),
 * rename over the old file, fsync of the directory.  Comments and the
 * order of the other keys are kept.
 *
 * Without root, the command works only when the service user is the
 * caller (a test configuration with service_user = $(id -un)); otherwise
 * it says that it needs root and why.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "ctl.h"
#include "yg_file.h"
#include "yg_keyfile.h"

#define CMD "keys"

struct keys {
	const char *verb, *name, *path;
	const yg_user_policy *up;
	uid_t uid;
	gid_t gid;
};

static bool valid_name(const char *s)
{
	static const char first[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz_";

	return s[0] && strchr(first, s[0]) && strlen(s) <= YG_KEYFILE_NAME_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "_0123456789") == strlen(s);
}

/* The value from stdin into a secure buffer; a tty gets a prompt without
 * echo and ends at the first newline. One trailing newline is dropped;
 * any other newline, a CR or a NUL is refused. */
static int read_value(const char *name, char **out, size_t *outlen)
{
	const size_t max = YG_KEYFILE_MAX;
	struct termios old, raw;
	bool tty = isatty(0) && tcgetattr(0, &old) == 0;
	char *buf = yg_secure_alloc(max + 1);
	size_t len = 0;
	ssize_t n;
	int rc = 0;

	if (!buf)
		return yg_ctl_errf(CMD, "out of memory for the value");
	if (tty) {
		fprintf(stderr, "value of %s (not echoed): ", name);
		raw = old;
		raw.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(0, TCSAFLUSH, &raw);
	}
	while (len <= max && (n = read(0, buf + len, max + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = yg_ctl_errf(CMD, "cannot read the value from "
					 "stdin: %s", strerror(errno));
			break;
		}
		len += (size_t)n;
		if (tty && memchr(buf, '\n', len))
			break;
	}
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (rc == 0 && len > max)
		rc = yg_ctl_errf(CMD, "the value of %s is longer than %zu "
				 "bytes", name, max);
	if (rc == 0 && len && buf[len - 1] == '\n')
		len--;
	if (rc == 0 && len == 0)
		rc = yg_ctl_errf(CMD, "the value of %s on stdin is empty; to "
				 "remove a key use: yolo-gatectl keys rm", name);
	if (rc == 0 && (memchr(buf, '\n', len) || memchr(buf, '\r', len) ||
			memchr(buf, '\0', len)))
		rc = yg_ctl_errf(CMD, "the value of %s contains a newline, CR "
				 "or NUL byte; a key value is one line", name);
	if (rc) {
		yg_secure_free(buf, max + 1);
		return rc;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/* The current file (validated), or an empty text when there is none. */
static int load_text(const struct keys *k, char **text, size_t *len)
{
	const struct yg_file_rules rules = { k->uid, 077, YG_KEYFILE_MAX };
	yg_keyfile kf = { 0 };
	yg_err err;
	int fd, rc;

	*text = NULL;
	*len = 0;
	fd = yg_file_open_checked(k->path, &rules, &err);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return yg_ctl_fail(CMD, &err);
	rc = yg_file_read_secure(fd, YG_KEYFILE_MAX, text, len, &err);
	close(fd);
	if (rc == 0)
		rc = yg_keyfile_parse(k->path, *text, *len, &kf, &err);
	yg_keyfile_clear(&kf);
	if (rc < 0) {
		yg_secure_free(*text, *len);
		*text = NULL;
		return yg_ctl_fail(CMD, &err);
	}
	return 0;
}

/* New content: the old lines without NAME's, and NAME=value (set) where
 * NAME was, or at the end.  *found tells whether NAME was there. */
static int edit_text(const struct keys *k, const char *old, size_t oldlen,
		     const char *val, size_t vallen, char **out, size_t *outlen,
		     bool *found)
{
	size_t nlen = strlen(k->name), cap = oldlen + nlen + vallen + 3, len = 0;
	char *buf = yg_secure_alloc(cap);
	const char *p = old, *end = old + oldlen, *nl;

	*found = false;
	if (!buf)
		return yg_ctl_errf(CMD, "out of memory editing %s", k->path);
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if ((size_t)(nl - p) > nlen && !memcmp(p, k->name, nlen) &&
		    p[nlen] == '=') {
			*found = true;
			if (!val)
				continue;
			memcpy(buf + len, k->name, nlen);
			buf[len + nlen] = '=';
			memcpy(buf + len + nlen + 1, val, vallen);
			len += nlen + 1 + vallen;
		} else {
			memcpy(buf + len, p, (size_t)(nl - p));
			len += (size_t)(nl - p);
		}
		buf[len++] = '\n';
	}
	if (val && !*found) {
		memcpy(buf + len, k->name, nlen);
		buf[len + nlen] = '=';
		memcpy(buf + len + nlen + 1, val, vallen);
		len += nlen + 1 + vallen;
		buf[len++] = '\n';
	}
	if (len > YG_KEYFILE_MAX) {
		yg_secure_free(buf, cap);
		return yg_ctl_errf(CMD, "%s would be larger than %u bytes",
				   k->path, YG_KEYFILE_MAX);
	}
	*out = buf;
	*outlen = len;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Replace k->path with text, atomically, owned by the service user. */
static int write_file(const struct keys *k, const char *text, size_t len)
{
	char dir[PATH_MAX], tmp[NAME_MAX + 1];
	const char *base;
	yg_err err;
	int dfd, fd = -1, rc, i;

	base = strrchr(k->path, '/') + 1;	/* the policy: absolute */
	snprintf(dir, sizeof(dir), "%.*s", (int)(base - k->path - 1), k->path);
	if (!dir[0])
		snprintf(dir, sizeof(dir), "/");
	rc = yg_dir_ensure(dir, 0700, k->uid, k->gid, &err);
	if (rc < 0)
		return yg_ctl_fail(CMD, &err);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return yg_ctl_errf(CMD, "cannot open %s: %s", dir,
				   strerror(errno));
	for (i = 0; fd < 0 && i < 100; i++) {
		snprintf(tmp, sizeof(tmp), ".%.200s.%d.%d.tmp", base,
			 (int)getpid(), i);
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			    O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		rc = yg_ctl_errf(CMD, "cannot create a temporary file in %s: "
				 "%s", dir, strerror(errno));
		close(dfd);
		return rc;
	}
	rc = 0;
	if (geteuid() == 0 && fchown(fd, k->uid, k->gid) < 0)
		rc = -errno;
	if (rc == 0 && fchmod(fd, 0600) < 0)
		rc = -errno;
	if (rc == 0)
		rc = write_all(fd, text, len);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dfd, tmp, dfd, base) < 0)
		rc = -errno;
	if (rc == 0 && fsync(dfd) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(dfd, tmp, 0);
		rc = yg_ctl_errf(CMD, "cannot write %s: %s (nothing was "
				 "changed)", k->path, strerror(-rc));
	}
	close(dfd);
	return rc;
}

static int keys_edit(const struct keys *k)
{
	char *old = NULL, *val = NULL, *text = NULL;
	size_t oldlen = 0, vallen = 0, len = 0;
	bool set = !strcmp(k->verb, "set"), found;
	int rc;

	rc = set ? read_value(k->name, &val, &vallen) : 0;
	if (rc == 0)
		rc = load_text(k, &old, &oldlen);
	if (rc == 0)
		rc = edit_text(k, old ? old : "", oldlen, val, vallen, &text,
			       &len, &found);
	if (rc == 0 && !set && !found)
		rc = yg_ctl_errf(CMD, "%s has no key %s (see: yolo-gatectl "
				 "keys list %s)", k->path, k->name,
				 k->up->user);
	if (rc == 0)
		rc = write_file(k, text, len);
	if (rc == 0)
		fprintf(stderr, "keys: %s %s in %s\n", set ? (found ?
			"replaced" : "added") : "removed", k->name, k->path);
	yg_secure_free(text, len);
	yg_secure_free(old, oldlen);
	yg_secure_free(val, YG_KEYFILE_MAX + 1);
	return rc;
}

static int keys_list(const struct keys *k)
{
	yg_keyfile kf = { 0 };
	yg_err err;
	int rc = yg_keyfile_load(k->path, k->uid, &kf, &err);

	if (rc == -ENOENT) {
		fprintf(stderr, "keys: %s has no key file (%s)\n",
			k->up->user, k->path);
		return 0;
	}
	if (rc < 0)
		return yg_ctl_fail(CMD, &err);
	for (size_t i = 0; i < kf.nnames; i++)
		printf("%s\n", kf.names[i]);
	yg_keyfile_clear(&kf);
	return 0;
}

/* Owner of the key file, and whether we may act as it. */
static int key_owner(const yg_policy *pol, struct keys *k)
{
	const char *svc = yg_policy_gate(pol)->service_user;
	bool list = !strcmp(k->verb, "list");
	yg_err err;

	if (yg_ctl_service_user(pol, &k->uid, &k->gid, &err) < 0)
		return yg_ctl_fail(CMD, &err);
	if (geteuid() != 0 && geteuid() != k->uid)
		return yg_ctl_errf(CMD, "keys %s needs root (it %s %s owned by "
				   "%s, mode 0600)", k->verb, list ? "reads" :
				   "writes", k->path, svc);
	return 0;
}

int yg_ctl_keys(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *confdir = NULL, *user;
	yg_user_policy up = { 0 };
	struct keys k = { 0 };
	yg_policy *pol = NULL;
	int o, rc, nargs;

	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (o != 'c')
			return yg_ctl_usage(CMD);
		confdir = optarg;
	}
	nargs = argc - optind;
	if (nargs < 2)
		return yg_ctl_usage(CMD);
	k.verb = argv[optind];
	user = argv[optind + 1];
	if (!strcmp(k.verb, "list") ? nargs != 2 :
	    (strcmp(k.verb, "set") && strcmp(k.verb, "rm")) || nargs != 3)
		return yg_ctl_usage(CMD);
	k.name = nargs == 3 ? argv[optind + 2] : NULL;
	if (k.name && !valid_name(k.name)) {
		yg_ctl_errf(CMD, "'%s' is not a valid key name: use letters, "
			    "digits and '_', not starting with a digit "
			    "(e.g. OPENAI_API_KEY)", k.name);
		return YG_CTL_EXIT_USAGE;
	}
	rc = yg_ctl_policy_load(CMD, confdir, &pol);
	if (rc == 0)
		rc = yg_ctl_user(CMD, pol, user, &up);
	if (rc == 0 && !up.keys)
		rc = yg_ctl_errf(CMD, "the policy sets no key file for %s; set "
				 "keys = /etc/yolo-gate/keys.d/%%u.env in "
				 "[defaults] or their section", user);
	k.up = &up;
	k.path = up.keys;
	if (rc == 0)
		rc = key_owner(pol, &k);
	if (rc == 0)
		rc = k.name ? keys_edit(&k) : keys_list(&k);
	yg_user_policy_clear(&up);
	yg_policy_free(pol);
	return rc;
}
