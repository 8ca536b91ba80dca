/* SPDX-License-Identifier: MIT */
/* yg_rundir.c: the broker's run_dir paths and records. See yg_rundir.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "yg_path.h"
#include "yg_rundir.h"
#include "yg_rundir_int.h"

#define LOCK_TAG "yg-lock"
#define SESSION_TAG "yg-session"
#define END_TAG "yg-end"
/* "yg-end 4294967295\n": the longest head of an end request */
#define END_HEAD_MAX (sizeof(END_TAG) + 11)

/* ---- small checks ---- */

/* 1..max bytes, none a control character (NUL and newline included). */
bool yg_rd_text_ok(const char *s, size_t n, size_t max)
{
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* A plain file name: text, no '/', not "." or "..". */
bool yg_rd_name_ok(const char *s, size_t n, size_t max)
{
	return yg_rd_text_ok(s, n, max) && !memchr(s, '/', n) && !(n == 1 && s[0] == '.') &&
	       !(n == 2 && s[0] == '.' && s[1] == '.');
}

static bool sid_span(const char *s, size_t n)
{
	if (n != YG_SESSION_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool holder_ok(const char *s, size_t n)
{
	return sid_span(s, n) || (n == strlen(YG_RUNDIR_ADMIN) && !memcmp(s, YG_RUNDIR_ADMIN, n)) ||
	       (n == strlen(YG_RUNDIR_HELD) && !memcmp(s, YG_RUNDIR_HELD, n));
}

/* A canonical decimal (no sign, no leading zero) of at most max. */
bool yg_rd_dec_parse(const char *s, size_t n, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || d > max || v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* Read up to size bytes of fd from offset 0 (restarting short reads). */
ssize_t yg_rd_read_some(int fd, char *buf, size_t size)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = pread(fd, buf + got, size - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* ---- session ids ---- */

int yg_session_id_new(char *id)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[YG_SESSION_ID_LEN / 2];
	ssize_t n;

	do
		n = getrandom(b, sizeof(b), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(b))
		return n < 0 ? -errno : -EIO;
	for (size_t i = 0; i < sizeof(b); i++) {
		id[2 * i] = hex[b[i] >> 4];
		id[2 * i + 1] = hex[b[i] & 15];
	}
	id[YG_SESSION_ID_LEN] = '\0';
	return 0;
}

bool yg_session_id_valid(const char *id)
{
	return id && sid_span(id, strnlen(id, YG_SESSION_ID_LEN + 1));
}

/* ---- paths ---- */

static int sub_dir(char *buf, size_t len, const char *run_dir, const char *sub, yg_err *err)
{
	if (yg_pathf(buf, len, "%s/%s", run_dir, sub) < 0)
		return yg_err_set(err, -ENAMETOOLONG, "the %s directory path under %s is too long; "
				  "use a shorter [gate] run_dir", sub, run_dir);
	return 0;
}

int yg_rundir_boxes_dir(char *buf, size_t len, const char *run_dir, yg_err *err)
{
	return sub_dir(buf, len, run_dir, "boxes", err);
}

int yg_rundir_sessions_dir(char *buf, size_t len, const char *run_dir, yg_err *err)
{
	return sub_dir(buf, len, run_dir, "sessions", err);
}

/* A domain (max YG_RUNDIR_NAME_MAX) or a box key (YG_RUNDIR_KEY_MAX - 1). */
int yg_rd_check_name(const char *domain, size_t max, yg_err *err)
{
	if (!domain || !yg_rd_name_ok(domain, strnlen(domain, max + 1), max))
		return yg_err_set(err, -EINVAL, "box name '%s' cannot name a file in run_dir: it "
				  "must be 1 to %zu printable characters without '/'",
				  domain ? domain : "", max);
	return 0;
}

static int check_domain(const char *key, yg_err *err)
{
	return yg_rd_check_name(key, YG_RUNDIR_KEY_MAX - 1, err);
}

int yg_rundir_lock_name(char *buf, size_t len, const char *domain, yg_err *err)
{
	int r = check_domain(domain, err);

	if (r == 0 && yg_pathf(buf, len, "%s.lock", domain) < 0)
		r = yg_err_set(err, -ENAMETOOLONG, "the lock file name of box %s is too long",
			       domain);
	return r;
}

/* run_dir/boxes/DOMAIN.SUFFIX; what names it in the message. */
static int box_path(char *buf, size_t len, const char *run_dir, const char *domain,
		    const char *suffix, const char *what, yg_err *err)
{
	int r = check_domain(domain, err);

	if (r == 0 && yg_pathf(buf, len, "%s/boxes/%s.%s", run_dir, domain, suffix) < 0)
		r = yg_err_set(err, -ENAMETOOLONG, "the %s path of box %s under %s is too long; "
			       "use a shorter [gate] run_dir", what, domain, run_dir);
	return r;
}

int yg_rundir_lock_path(char *buf, size_t len, const char *run_dir, const char *domain,
			yg_err *err)
{
	return box_path(buf, len, run_dir, domain, "lock", "lock", err);
}

int yg_rundir_sock_path(char *buf, size_t len, const char *run_dir, const char *domain,
			yg_err *err)
{
	return box_path(buf, len, run_dir, domain, "sock", "rendezvous socket", err);
}

/* run_dir/sessions/ID + suffix. */
static int sess_path(char *buf, size_t len, const char *run_dir, const char *id,
		     const char *suffix, yg_err *err)
{
	if (!yg_session_id_valid(id))
		return yg_err_set(err, -EINVAL, "'%s' is not a session id (%d hex digits)",
				  id ? id : "", YG_SESSION_ID_LEN);
	if (yg_pathf(buf, len, "%s/sessions/%s%s", run_dir, id, suffix) < 0)
		return yg_err_set(err, -ENAMETOOLONG, "the path of session %s%s under %s is too "
				  "long; use a shorter [gate] run_dir", id, suffix, run_dir);
	return 0;
}

int yg_rundir_session_path(char *buf, size_t len, const char *run_dir, const char *id,
			   yg_err *err)
{
	return sess_path(buf, len, run_dir, id, "", err);
}

int yg_rundir_end_path(char *buf, size_t len, const char *run_dir, const char *id,
		       yg_err *err)
{
	return sess_path(buf, len, run_dir, id, ".end", err);
}

static bool has_suffix(const char *name, size_t n, const char *sfx)
{
	size_t k = strlen(sfx);

	return n > k && !memcmp(name + n - k, sfx, k);
}

enum yg_rundir_entry yg_rundir_box_entry(const char *name)
{
	size_t n = strlen(name);

	if (has_suffix(name, n, ".lock"))
		return YG_RUNDIR_LOCK;
	if (has_suffix(name, n, ".sock"))
		return YG_RUNDIR_SOCK;
	return YG_RUNDIR_OTHER;
}

enum yg_rundir_entry yg_rundir_session_entry(const char *name)
{
	size_t n = strnlen(name, YG_SESSION_ID_LEN + 5);

	if (!sid_span(name, n < YG_SESSION_ID_LEN ? n : YG_SESSION_ID_LEN))
		return YG_RUNDIR_OTHER;
	if (n == YG_SESSION_ID_LEN)
		return YG_RUNDIR_SESSION;
	if (n == YG_SESSION_ID_LEN + 4 && !strcmp(name + YG_SESSION_ID_LEN, ".tmp"))
		return YG_RUNDIR_SESSION_TMP;
	if (n == YG_SESSION_ID_LEN + 4 && !strcmp(name + YG_SESSION_ID_LEN, ".end"))
		return YG_RUNDIR_END;
	return YG_RUNDIR_OTHER;
}

void yg_rundir_text_set(char *dst, size_t len, const char *src)
{
	size_t i;

	if (!len)
		return;
	if (!src || !*src)
		src = "-";
	for (i = 0; src[i] && i + 1 < len; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[i] = '\0';
}

/* ---- the head every record starts with ---- */

/* Check the size of a record and its start "TAG VERSION" + sep. Returns the
 * offset after sep, or -errno with err (what names the record). */
int yg_rd_check_head(const char *buf, size_t len, size_t max, const char *tag, char sep,
		      const char *what, unsigned newest, unsigned *version, yg_err *err)
{
	size_t tl = strlen(tag), i, vl = 0;
	unsigned long long v;

	if (len == 0)
		return yg_err_set(err, -ENODATA, "the %s is empty", what);
	if (len > max)
		return yg_err_set(err, -EFBIG, "the %s is longer than %zu bytes", what, max);
	if (len <= tl || memcmp(buf, tag, tl) != 0 || buf[tl] != ' ')
		return yg_err_set(err, -EINVAL, "the %s does not start with \"%s %u\"",
				  what, tag, newest);
	for (i = tl + 1; i < len && buf[i] >= '0' && buf[i] <= '9'; i++)
		vl++;
	if (!yg_rd_dec_parse(buf + tl + 1, vl, UINT_MAX, &v))
		return yg_err_set(err, -EINVAL, "the version of the %s is not a number", what);
	if (v < 1 || v > newest)
		return yg_err_set(err, -EPROTO, "the %s is of version %llu, and this yolo-gate "
				  "reads version%s %s%u: yolo-gated and yolo-gatectl must come "
				  "from the same yolo-gate", what, v, newest > 1 ? "s" : "",
				  newest > 1 ? "1 to " : "", newest);
	if (i >= len || buf[i] != sep)
		return yg_err_set(err, -EINVAL, "the %s is malformed after its version", what);
	*version = (unsigned)v;
	return (int)(i + 1);
}

/* ---- the lock record ---- */

int yg_rundir_lock_format(const struct yg_rundir_lock *l, char *buf, size_t len)
{
	char ms[24] = "-";
	int n;

	if (l->since < 0 || l->pid <= 0 || l->revert_ms < -1 ||
	    !holder_ok(l->holder, strnlen(l->holder, sizeof(l->holder))))
		return -EINVAL;
	if (l->revert_ms >= 0)
		snprintf(ms, sizeof(ms), "%ld", l->revert_ms);
	n = snprintf(buf, len, LOCK_TAG " %u %lld %s %d %s\n", YG_RUNDIR_VERSION, l->since,
		     l->holder, l->pid, ms);
	if (n < 0 || (size_t)n >= len)
		return -EOVERFLOW;
	return n;
}

static int lock_bad(yg_err *err, const char *field, const char *want)
{
	return yg_err_set(err, -EINVAL, "the lock record's %s field is not %s", field, want);
}

int yg_rundir_lock_parse(const char *buf, size_t len, struct yg_rundir_lock *out,
			 yg_err *err)
{
	const char *f[4], *p, *end;
	unsigned long long v;
	size_t fl[4];
	int off;

	memset(out, 0, sizeof(*out));
	out->revert_ms = -1;
	off = yg_rd_check_head(buf, len, YG_RUNDIR_LOCK_MAX, LOCK_TAG, ' ', "lock record",
			 YG_RUNDIR_VERSION, &out->version, err);
	if (off < 0)
		return off;
	if (memchr(buf, '\0', len))
		return yg_err_set(err, -EINVAL, "the lock record contains a NUL byte");
	p = buf + off;
	end = buf + len - 1;	/* the newline */
	if ((size_t)off >= len || *end != '\n' || memchr(p, '\n', (size_t)(end - p)))
		return yg_err_set(err, -EINVAL, "the lock record is not one line ending with a "
				  "newline");
	for (int k = 0; k < 4; k++) {
		const char *q = memchr(p, ' ', (size_t)(end - p));

		if (k < 3 && !q)
			return yg_err_set(err, -EINVAL, "the lock record has %d fields after its "
					  "version instead of 4", k + 1);
		if (k == 3 && q)
			return yg_err_set(err, -EINVAL, "the lock record has more than 4 fields "
					  "after its version");
		f[k] = p;
		fl[k] = (size_t)((k < 3 ? q : end) - p);
		p = k < 3 ? q + 1 : end;
	}
	if (!yg_rd_dec_parse(f[0], fl[0], LLONG_MAX, &v))
		return lock_bad(err, "since", "a time in seconds");
	out->since = (long long)v;
	if (!holder_ok(f[1], fl[1]))
		return lock_bad(err, "holder", "a session id, " YG_RUNDIR_ADMIN " or " YG_RUNDIR_HELD);
	memcpy(out->holder, f[1], fl[1]);
	out->holder[fl[1]] = '\0';
	if (!yg_rd_dec_parse(f[2], fl[2], INT_MAX, &v) || v == 0)
		return lock_bad(err, "pid", "a process id");
	out->pid = (int)v;
	if (fl[3] == 1 && f[3][0] == '-')
		return 0;
	if (!yg_rd_dec_parse(f[3], fl[3], LONG_MAX, &v))
		return lock_bad(err, "revert_ms", "a number of milliseconds or -");
	out->revert_ms = (long)v;
	return 0;
}

int yg_rundir_lock_write(int fd, const struct yg_rundir_lock *l)
{
	char rec[YG_RUNDIR_LOCK_MAX];
	int n = yg_rundir_lock_format(l, rec, sizeof(rec));
	ssize_t w;

	if (n < 0)
		return n;
	if (ftruncate(fd, 0) < 0)
		return -errno;
	w = pwrite(fd, rec, (size_t)n, 0);
	if (w != n)
		return w < 0 ? -errno : -ENOSPC;	/* short: the file system is full */
	return 0;
}

int yg_rundir_lock_read(int fd, struct yg_rundir_lock *out, yg_err *err)
{
	char rec[YG_RUNDIR_LOCK_MAX + 1];
	ssize_t n = yg_rd_read_some(fd, rec, sizeof(rec));

	if (n < 0) {
		memset(out, 0, sizeof(*out));
		out->revert_ms = -1;
		return yg_err_set(err, (int)n, "cannot read the lock record: %s",
				  strerror((int)-n));
	}
	return yg_rundir_lock_parse(rec, (size_t)n, out, err);
}

/* ---- the session record ---- */

enum ftype { F_NAME, F_TEXT, F_UID, F_PID, F_TIME, F_HOST };

#define SF(k, t) { #k, t, offsetof(struct yg_rundir_session, k), \
		   sizeof(((struct yg_rundir_session *)0)->k) }
static const struct sfield {
	const char *key;
	enum ftype type;
	size_t off, size;
} sfields[] = {
	SF(box, F_NAME), SF(user, F_TEXT), SF(uid, F_UID), SF(from, F_TEXT), SF(pid, F_PID),
	SF(started, F_TIME), SF(last_active, F_TIME), SF(idle_end, F_TIME), SF(max_end, F_TIME),
	SF(record, F_TEXT), SF(host, F_HOST),
};
#undef SF
#define NFIELDS (sizeof(sfields) / sizeof(sfields[0]))
/* Version 1 (before hosts) has every field but the last, host. */
#define NFIELDS_V1 (NFIELDS - 1)

static const char *const fwant[] = {
	[F_NAME] = "a plain file name", [F_TEXT] = "printable text",
	[F_UID] = "a user id", [F_PID] = "a process id", [F_TIME] = "a time in seconds",
	[F_HOST] = "a host name (a plain file name without '@')",
};

/* A host name: half of a box key (DOMAIN@HOST). */
static bool host_ok(const char *s, size_t n, size_t max)
{
	return yg_rd_name_ok(s, n, max) && !memchr(s, '@', n);
}

static bool (*const fcheck[])(const char *, size_t, size_t) = {
	[F_NAME] = yg_rd_name_ok, [F_TEXT] = yg_rd_text_ok, [F_HOST] = host_ok,
};

/* Store value v (n bytes) into field f of s: false when it is not valid. */
static bool field_set(struct yg_rundir_session *s, const struct sfield *f, const char *v,
		      size_t n)
{
	char *p = (char *)s + f->off;
	unsigned long long x;

	switch (f->type) {
	case F_NAME:
	case F_TEXT:
	case F_HOST:
		if (!fcheck[f->type](v, n, f->size - 1))
			return false;
		memcpy(p, v, n);
		p[n] = '\0';
		return true;
	case F_UID:
		if (!yg_rd_dec_parse(v, n, (uid_t)-1 - 1, &x))
			return false;
		*(uid_t *)(void *)p = (uid_t)x;
		return true;
	case F_PID:
		if (!yg_rd_dec_parse(v, n, INT_MAX, &x) || x == 0)
			return false;
		*(int *)(void *)p = (int)x;
		return true;
	case F_TIME:
		if (!yg_rd_dec_parse(v, n, LLONG_MAX, &x))
			return false;
		*(long long *)(void *)p = (long long)x;
		return true;
	}
	return false;
}

/* The value of field f of s as text into buf: false when it may not be
 * written. */
static bool field_get(const struct yg_rundir_session *s, const struct sfield *f, char *buf,
		      size_t len)
{
	const char *p = (const char *)s + f->off;

	switch (f->type) {
	case F_NAME:
	case F_TEXT:
	case F_HOST:
		if (!fcheck[f->type](p, strnlen(p, f->size), f->size - 1))
			return false;
		snprintf(buf, len, "%s", p);
		return true;
	case F_UID:
		snprintf(buf, len, "%u", (unsigned)*(const uid_t *)(const void *)p);
		return *(const uid_t *)(const void *)p != (uid_t)-1;
	case F_PID:
		snprintf(buf, len, "%d", *(const int *)(const void *)p);
		return *(const int *)(const void *)p > 0;
	case F_TIME:
		snprintf(buf, len, "%lld", *(const long long *)(const void *)p);
		return *(const long long *)(const void *)p >= 0;
	}
	return false;
}

int yg_rundir_session_format(const struct yg_rundir_session *s, char *buf, size_t len)
{
	char v[YG_RUNDIR_RECORD_MAX + 1];
	size_t o;
	int n;

	n = snprintf(buf, len, SESSION_TAG " %u\n", YG_RUNDIR_SESSION_VERSION);
	if (n < 0 || (size_t)n >= len)
		return -EOVERFLOW;
	o = (size_t)n;
	for (size_t i = 0; i < NFIELDS; i++) {
		if (!field_get(s, &sfields[i], v, sizeof(v)))
			return -EINVAL;
		n = snprintf(buf + o, len - o, "%s=%s\n", sfields[i].key, v);
		if (n < 0 || (size_t)n >= len - o)
			return -EOVERFLOW;
		o += (size_t)n;
	}
	return (int)o;
}

int yg_rundir_session_parse(const char *buf, size_t len, struct yg_rundir_session *out,
			    yg_err *err)
{
	const char *p, *end = buf + len;
	size_t nfields;
	int off;

	memset(out, 0, sizeof(*out));
	off = yg_rd_check_head(buf, len, YG_RUNDIR_SESSION_MAX, SESSION_TAG, '\n', "session record",
			 YG_RUNDIR_SESSION_VERSION, &out->version, err);
	if (off < 0)
		return off;
	if (memchr(buf, '\0', len))
		return yg_err_set(err, -EINVAL, "the session record contains a NUL byte");
	nfields = out->version == 1 ? NFIELDS_V1 : NFIELDS;
	if (out->version == 1)	/* a session of a broker from before hosts */
		snprintf(out->host, sizeof(out->host), "%s", YG_RUNDIR_HOST_LOCAL);
	p = buf + off;
	for (size_t i = 0; i < nfields; i++) {
		const struct sfield *f = &sfields[i];
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t kl = strlen(f->key);
		int line = (int)i + 2;

		if (p == end)
			return yg_err_set(err, -EINVAL, "the session record ends before line %d "
					  "(%s=)", line, f->key);
		if (!nl)
			return yg_err_set(err, -EINVAL, "line %d of the session record does not "
					  "end with a newline", line);
		if ((size_t)(nl - p) <= kl || memcmp(p, f->key, kl) != 0 || p[kl] != '=')
			return yg_err_set(err, -EINVAL, "line %d of the session record is not "
					  "%s=...", line, f->key);
		if (!field_set(out, f, p + kl + 1, (size_t)(nl - (p + kl + 1))))
			return yg_err_set(err, -EINVAL, "line %d of the session record: %s= is "
					  "not %s%s", line, f->key, fwant[f->type],
					  f->type <= F_TEXT || f->type == F_HOST ?
					  " of bounded length" : "");
		p = nl + 1;
	}
	if (p != end)
		return yg_err_set(err, -EINVAL, "the session record has more than %zu lines",
				  nfields + 1);
	return 0;
}

int yg_rundir_session_write(int dirfd, const char *name, const struct yg_rundir_session *s,
			    yg_err *err)
{
	char buf[YG_RUNDIR_SESSION_MAX], tmp[PATH_MAX];
	int n = yg_rundir_session_format(s, buf, sizeof(buf)), fd, r = 0;
	ssize_t w;

	if (n < 0)
		return yg_err_set(err, n, "cannot write %s: a field of the session record "
				  "cannot be written", name);
	if (yg_pathf(tmp, sizeof(tmp), "%s.tmp", name) < 0)
		return yg_err_set(err, -ENAMETOOLONG, "cannot write %s: the path is too long",
				  name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return yg_err_set(err, -errno, "cannot write %s: %s", name, strerror(errno));
	w = write(fd, buf, (size_t)n);
	if (w != n)
		r = w < 0 ? -errno : -ENOSPC;	/* short: the file system is full */
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return yg_err_set(err, r, "cannot write %s: %s", name, strerror(-r));
	}
	return 0;
}

/* Open name (a regular file, never through a symlink) and read at most size
 * bytes of it. */
static ssize_t read_file(int dirfd, const char *name, char *buf, size_t size, yg_err *err)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return yg_err_set(err, -errno, "cannot open %s: %s", name, strerror(errno));
	if (fstat(fd, &st) < 0)
		n = yg_err_set(err, -errno, "cannot stat %s: %s", name, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		n = yg_err_set(err, -EINVAL, "%s is not a regular file", name);
	else if ((n = yg_rd_read_some(fd, buf, size)) < 0)
		n = yg_err_set(err, (int)n, "cannot read %s: %s", name, strerror((int)-n));
	close(fd);
	return n;
}

int yg_rundir_session_read(int dirfd, const char *name, struct yg_rundir_session *out,
			   yg_err *err)
{
	char buf[YG_RUNDIR_SESSION_MAX + 1];
	ssize_t n;
	int r;

	memset(out, 0, sizeof(*out));
	n = read_file(dirfd, name, buf, sizeof(buf), err);
	if (n < 0)
		return (int)n;
	r = yg_rundir_session_parse(buf, (size_t)n, out, err);
	if (r < 0)
		yg_err_prefix(err, "%s", name);
	return r;
}

/* ---- the end request ---- */

int yg_rundir_end_write(const char *path, const char *msg, yg_err *err)
{
	char buf[END_HEAD_MAX + YG_RUNDIR_END_MAX + 1];
	size_t mlen = strlen(msg);
	ssize_t w = -1;
	int n, fd, r = 0;

	if (mlen > YG_RUNDIR_END_MAX)
		return yg_err_set(err, -EMSGSIZE, "the message is %zu characters long: use at "
				  "most %d", mlen, YG_RUNDIR_END_MAX);
	n = snprintf(buf, sizeof(buf), END_TAG " %u\n%s", YG_RUNDIR_VERSION, msg);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return yg_err_set(err, -EOVERFLOW, "cannot write %s: the request is too long",
				  path);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || fchmod(fd, 0644) < 0 || (w = write(fd, buf, (size_t)n)) != n)
		r = fd >= 0 && w >= 0 ? -ENOSPC : -errno;
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		if (fd >= 0)
			unlink(path);
		return yg_err_set(err, r, "cannot write %s: %s", path, strerror(-r));
	}
	return 0;
}

int yg_rundir_end_parse(const char *buf, size_t len, char *msg, size_t msglen, yg_err *err)
{
	unsigned version;
	size_t n;
	int off;

	if (!msglen)
		return yg_err_set(err, -EINVAL, "no room for the end message");
	msg[0] = '\0';
	off = yg_rd_check_head(buf, len, SIZE_MAX, END_TAG, '\n', "end request", YG_RUNDIR_VERSION,
			 &version, err);
	if (off < 0)
		return off;
	n = len - (size_t)off;
	if (n > msglen - 1)
		n = msglen - 1;
	for (size_t i = 0; i < n; i++) {
		char c = buf[(size_t)off + i];

		msg[i] = (unsigned char)c < 0x20 || c == 0x7f ? ' ' : c;
	}
	msg[n] = '\0';
	return 0;
}

int yg_rundir_end_take(const char *path, uid_t trusted, char *msg, size_t msglen,
		       yg_err *err)
{
	char buf[END_HEAD_MAX + YG_RUNDIR_END_MAX];
	struct stat st;
	ssize_t n = -1;
	int fd, r = 0;

	if (msglen)
		msg[0] = '\0';
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		r = yg_err_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
	else if (fstat(fd, &st) < 0)
		r = yg_err_set(err, -errno, "cannot stat %s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != trusted))
		r = yg_err_set(err, -EPERM, "%s is not a regular file owned by root or uid %u: "
			       "ignored", path, (unsigned)trusted);
	else if ((n = yg_rd_read_some(fd, buf, sizeof(buf))) < 0)
		r = yg_err_set(err, (int)n, "cannot read %s: %s", path, strerror((int)-n));
	if (fd >= 0)
		close(fd);
	unlink(path);	/* taken, or refused: either way gone */
	if (r == 0) {
		r = yg_rundir_end_parse(buf, (size_t)n, msg, msglen, err);
		if (r < 0)
			yg_err_prefix(err, "%s", path);
	}
	return r;
}
