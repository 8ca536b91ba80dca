/* SPDX-License-Identifier: MIT */
/* yg_keyfile.c: keys.d/<user>.env parsing and loading. See yg_keyfile.h.
 *
 * Never echo a value: a message cites the file, the line number and at most
 * a (short, escaped) key name. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "yg_file.h"
#include "yg_keyfile.h"
#include "yg_log.h"

#define NAME_SHOWN 32	/* escaped bytes of a bad name shown in a message */

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > YG_KEYFILE_NAME_MAX)
		return false;
	if (!(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static bool blank_or_comment(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i == n || s[i] == '#';
}

static int bad_name(const char *path, unsigned lineno, const char *s, size_t n, yg_err *err)
{
	char raw[NAME_SHOWN + 1], shown[NAME_SHOWN * 4 + 4];
	size_t k = n < NAME_SHOWN ? n : NAME_SHOWN;

	if (n == 0)
		return yg_err_set(err, -EINVAL, "key file %s, line %u: empty key name "
				  "(lines are NAME=value)", path, lineno);
	memcpy(raw, s, k);
	raw[k] = '\0';
	yg_log_escape(raw, shown, sizeof(shown));
	return yg_err_set(err, -EINVAL, "key file %s, line %u: invalid key name '%s%s' "
			  "(names match [A-Za-z_][A-Za-z0-9_]*, at most %u bytes)",
			  path, lineno, shown, n > k ? "..." : "", YG_KEYFILE_NAME_MAX);
}

static int add_name(yg_keyfile *kf, const char *s, size_t n)
{
	char **names = realloc(kf->names, (kf->nnames + 1) * sizeof(*names));

	if (!names)
		return -ENOMEM;
	kf->names = names;
	names[kf->nnames] = strndup(s, n);
	if (!names[kf->nnames])
		return -ENOMEM;
	kf->nnames++;
	return 0;
}

/* Line number of an earlier key n, or 0. */
static long find_name(const yg_keyfile *kf, const char *s, size_t n)
{
	for (size_t i = 0; i < kf->nnames; i++)
		if (strlen(kf->names[i]) == n && memcmp(kf->names[i], s, n) == 0)
			return (long)i + 1;
	return 0;
}

static int parse_line(const char *path, unsigned lineno, const char *s, size_t n,
		      yg_keyfile *kf, yg_err *err)
{
	const char *eq;
	size_t nlen;

	if (memchr(s, '\0', n))
		return yg_err_set(err, -EINVAL, "key file %s, line %u: contains a NUL byte "
				  "(fix: remove it; values are plain text)", path, lineno);
	if (memchr(s, '\r', n))
		return yg_err_set(err, -EINVAL, "key file %s, line %u: contains a carriage return "
				  "(fix: use Unix line endings: sed -i 's/\\r$//' %s)",
				  path, lineno, path);
	if (blank_or_comment(s, n))
		return 0;
	eq = memchr(s, '=', n);
	if (!eq)
		return yg_err_set(err, -EINVAL, "key file %s, line %u: no '=' (lines are NAME=value;"
				  " the line is not shown, it may hold a secret)", path, lineno);
	nlen = (size_t)(eq - s);
	if (!name_ok(s, nlen))
		return bad_name(path, lineno, s, nlen, err);
	if (find_name(kf, s, nlen))
		return yg_err_set(err, -EINVAL, "key file %s, line %u: key %.*s is set twice "
				  "(fix: keep one)", path, lineno, (int)nlen, s);
	if (add_name(kf, s, nlen) < 0)
		return yg_err_set(err, -ENOMEM, "key file %s: out of memory", path);
	memcpy(kf->buf + kf->len, s, n);
	kf->len += n;
	kf->buf[kf->len++] = '\n';
	kf->buf[kf->len] = '\0';
	return 0;
}

int yg_keyfile_parse(const char *path, const char *text, size_t len, yg_keyfile *out,
		     yg_err *err)
{
	unsigned lineno = 0;
	size_t pos = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (len > YG_KEYFILE_MAX)
		return yg_err_set(err, -EFBIG, "key file %s is larger than %u KiB (fix: check that "
				  "it is the right file)", path, YG_KEYFILE_MAX / 1024);
	/* normalised lines are never longer than the input, plus a final \n;
	 * and room for one line the broker adds (TERM) */
	out->cap = len + 2 + YG_KEYFILE_SPARE;
	out->buf = yg_secure_alloc(out->cap);
	if (!out->buf)
		return yg_err_set(err, -ENOMEM, "key file %s: cannot allocate locked memory", path);
	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;

		lineno++;
		r = parse_line(path, lineno, s, n, out, err);
		if (r < 0) {
			yg_keyfile_clear(out);
			return r;
		}
		pos += n + 1;
	}
	return 0;
}

const char *yg_keyfile_value(const yg_keyfile *kf, const char *name, size_t *len)
{
	size_t nlen = strlen(name);
	const char *p = kf->buf, *end = kf->buf ? kf->buf + kf->len : NULL;

	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			break;
		if ((size_t)(nl - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
			if (len)
				*len = (size_t)(nl - p) - nlen - 1;
			return p + nlen + 1;
		}
		p = nl + 1;
	}
	return NULL;
}

/* yg_file messages start with the path: make them "key file <path> ...". */
static int prefix_key_file(yg_err *err, int r)
{
	char old[YG_ERR_MSG_MAX];

	if (!err)
		return r;
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	return yg_err_set(err, r, "key file %s", old);
}

int yg_keyfile_load(const char *path, uid_t owner, yg_keyfile *out, yg_err *err)
{
	const struct yg_file_rules rules = {
		.owner = owner, .forbidden = 077, .max_size = YG_KEYFILE_MAX,
	};
	char *raw = NULL;
	size_t rawlen = 0;
	int fd, r;

	memset(out, 0, sizeof(*out));
	fd = yg_file_open_checked(path, &rules, err);
	if (fd < 0)
		return fd == -ENOENT ? fd : prefix_key_file(err, fd);
	r = yg_file_read_secure(fd, YG_KEYFILE_MAX, &raw, &rawlen, err);
	close(fd);
	if (r < 0)
		return yg_err_prefix(err, "key file %s", path);	/* "key file P: file is larger..." */
	r = yg_keyfile_parse(path, raw, rawlen, out, err);
	yg_secure_free(raw, rawlen);
	return r;
}

void yg_keyfile_clear(yg_keyfile *kf)
{
	if (!kf)
		return;
	if (kf->buf)
		yg_secure_free(kf->buf, kf->cap);
	for (size_t i = 0; i < kf->nnames; i++)
		free(kf->names[i]);
	free(kf->names);
	memset(kf, 0, sizeof(*kf));
}
