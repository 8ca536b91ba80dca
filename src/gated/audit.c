/* SPDX-License-Identifier: MIT */
/* audit.c: the audit trail and session recordings of a session child.
 *
 * yg_gd_audit() logs one event to syslog/journal (yg_log, key=value) and,
 * with [gate] audit_log = PATH, appends it as one JSON object per line to
 * PATH (0600, owned by the service user, O_APPEND, O_NOFOLLOW: a line is
 * one write(2), so children appending at once do not interleave).
 *
 * With record = yes, the console output of a session goes to an asciinema
 * v2 file record_dir/<user>/<start>-<session>.cast (0600) of at most
 * record_max_size bytes: its start, a marker where output was dropped, and
 * its end (see "recordings" below).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "yg_json.h"
#include "yg_log.h"
#include "session.h"

#define AUDIT_MAX_PAIRS 24
#define AUDIT_LINE_MAX 8192

static const struct yg_gd_gate *audit_gate;
static bool audit_warned;

void yg_gd_audit_setup(const struct yg_gd_gate *gate)
{
	audit_gate = gate;
}

static size_t json_cstr(char *out, size_t o, size_t len, const char *s)
{
	return yg_json_escape(out, o, len, s, strlen(s), NULL);
}

static void audit_write(const char *const *kv, size_t n)
{
	char line[AUDIT_LINE_MAX], ts[40];
	struct timespec now;
	struct stat st;
	struct tm tm;
	size_t o;
	int fd;

	if (!audit_gate || !audit_gate->audit_log[0])
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	o = (size_t)snprintf(line, sizeof(line), "{\"time\":\"%s.%03ldZ\"", ts,
			     now.tv_nsec / 1000000);
	for (size_t i = 0; i + 1 < n; i += 2) {
		if (!kv[i + 1] || o + 16 >= sizeof(line))
			continue;
		line[o++] = ',';
		line[o++] = '"';
		o = json_cstr(line, o, sizeof(line) - 8, kv[i]);
		line[o++] = '"';
		line[o++] = ':';
		line[o++] = '"';
		o = json_cstr(line, o, sizeof(line) - 8, kv[i + 1]);
		line[o++] = '"';
	}
	line[o++] = '}';
	line[o++] = '\n';
	fd = open(audit_gate->audit_log, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
			(st.st_mode & 077))) {
		close(fd);
		fd = -1;
		errno = EPERM;
	}
	if (fd < 0 || write(fd, line, o) != (ssize_t)o) {
		if (!audit_warned)
			yg_log(YG_LOG_ERROR, "event", "audit_log_failed", "path",
			       audit_gate->audit_log, "error", strerror(errno), "fix",
			       "the audit log must be a regular file of mode 0600 owned by "
			       "the service user, in a directory it may write", NULL);
		audit_warned = true;
	}
	if (fd >= 0)
		close(fd);
}

void yg_gd_audit(int level, const char *event, ...)
{
	const char *kv[2 * AUDIT_MAX_PAIRS + 2] = { "event", event };
	size_t n = 2;
	const char *k;
	va_list ap;

	va_start(ap, event);
	while ((k = va_arg(ap, const char *)) != NULL && n + 2 < 2 * AUDIT_MAX_PAIRS) {
		kv[n++] = k;
		kv[n++] = va_arg(ap, const char *);
	}
	va_end(ap);
	/* kv is NULL-padded: yg_log stops at the first NULL key */
	yg_log((enum yg_log_level)level, kv[0], kv[1], kv[2], kv[3], kv[4], kv[5], kv[6],
	       kv[7], kv[8], kv[9], kv[10], kv[11], kv[12], kv[13], kv[14], kv[15], kv[16],
	       kv[17], kv[18], kv[19], kv[20], kv[21], kv[22], kv[23], kv[24], kv[25],
	       kv[26], kv[27], kv[28], kv[29], kv[30], kv[31], NULL);
	audit_write(kv, n);
}

/* ---- recordings ----
 *
 * The start of a session (the login, the first commands) matters most in an
 * audit, the end next. With record_max_size = MAX, NAME.cast keeps the
 * header and the first events up to HEAD = (MAX - REC_RESERVE) / 2 bytes and
 * is never rotated away; after it, events go to a rolling tail of two
 * segments of at most SEG = HEAD / 2 bytes each: NAME.cast.tail (current)
 * and NAME.cast.tail.1 (the one before). A full segment replaces the older
 * one, whose output is counted as dropped. At the end of the session the
 * tail is appended to NAME.cast after one marker event
 * "[yolo-gate: N bytes not recorded]" (N: console bytes of the dropped
 * segments), and the tail files are removed: one replayable file of at most
 * MAX bytes. An event that cannot fit an empty segment (a cap below about
 * 32K) or that a broken tail file cannot take is dropped in place, and a
 * second marker at the end counts those bytes.
 */

#define REC_RESERVE 256		/* the marker event, with room to spare */
#define REC_NAME_MAX 96
#define REC_TAIL ".tail"
#define REC_TAIL_OLD ".tail.1"

struct rec_seg {
	unsigned long long size;	/* bytes in the file */
	unsigned long long raw;		/* console bytes in it */
	uint64_t t_first;		/* ms (from t0) of its first event */
	bool used;			/* the file exists */
};

struct yg_gd_rec {
	int dirfd;
	char name[REC_NAME_MAX];
	char tail[REC_NAME_MAX + sizeof(REC_TAIL)];		/* NAME.cast.tail */
	char tail_old[REC_NAME_MAX + sizeof(REC_TAIL_OLD)];	/* NAME.cast.tail.1 */
	FILE *f;		/* NAME.cast */
	FILE *tf;		/* the current tail segment, NULL before the head is full */
	uint64_t t0;		/* monotonic ms of the header */
	unsigned long long size, max, head_max, seg_max;
	struct rec_seg cur, old;
	unsigned long long dropped;	/* console bytes of dropped segments */
	unsigned long long lost;	/* console bytes dropped in place */
	uint64_t last_ms;	/* of the last event */
	bool head_full;		/* NAME.cast took its last event */
	bool failed;		/* a tail file could not be written: logged once */
	uint16_t rows, cols;
	char *line;		/* one event line, AUDIT_LINE_MAX * 2 */
};

static FILE *rec_create(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			0600);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		errno = ENOMEM;
	}
	return f;
}

static int rec_start(struct yg_gd_rec *r)
{
	char hdr[256];
	int n;

	r->f = rec_create(r->dirfd, r->name);
	if (!r->f)
		return -errno;
	r->t0 = yg_now_ms();
	n = snprintf(hdr, sizeof(hdr), "{\"version\":2,\"width\":%u,\"height\":%u,"
		     "\"timestamp\":%lld,\"env\":{\"TERM\":\"xterm\"}}\n",
		     r->cols ? (unsigned)r->cols : 80u, r->rows ? (unsigned)r->rows : 24u,
		     (long long)time(NULL));
	fputs(hdr, r->f);
	r->size = (unsigned long long)n;
	return 0;
}

int yg_gd_rec_open(struct yg_gd_sess *s, struct yg_gd_rec **out, yg_err *err)
{
	char when[32];
	struct yg_gd_rec *r;
	struct tm tm;
	time_t now = time(NULL);
	int top, rc;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->line = malloc(2 * AUDIT_LINE_MAX))) {
		free(r);
		return yg_err_set(err, -ENOMEM, "out of memory starting a recording");
	}
	r->dirfd = -1;
	r->max = s->gate->record_max_size;
	r->head_max = r->max > REC_RESERVE ? (r->max - REC_RESERVE) / 2 : 0;
	r->seg_max = r->head_max / 2;
	r->rows = s->rows;
	r->cols = s->cols;
	(void)mkdir(s->gate->record_dir, 0700);
	top = open(s->gate->record_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (top >= 0) {
		(void)mkdirat(top, s->u.user, 0700);
		r->dirfd = openat(top, s->u.user, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(top);
	}
	if (r->dirfd < 0) {
		rc = -errno;
		yg_gd_rec_close(r);
		return yg_err_set(err, rc, "cannot open the recording directory %s/%s: %s; "
				  "create it writable by the service user, or set record = no",
				  s->gate->record_dir, s->u.user, strerror(-rc));
	}
	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm);
	snprintf(r->name, sizeof(r->name), "%s-%s.cast", when, s->id);
	snprintf(r->tail, sizeof(r->tail), "%s" REC_TAIL, r->name);
	snprintf(r->tail_old, sizeof(r->tail_old), "%s" REC_TAIL_OLD, r->name);
	rc = rec_start(r);
	if (rc < 0) {
		yg_gd_rec_close(r);
		return yg_err_set(err, rc, "cannot create the recording %s/%s/%s: %s",
				  s->gate->record_dir, s->u.user, r->name, strerror(-rc));
	}
	*out = r;
	return 0;
}

const char *yg_gd_rec_name(const struct yg_gd_rec *r)
{
	return r ? r->name : NULL;
}

static void rec_tail_failed(struct yg_gd_rec *r, const char *file)
{
	if (!r->failed)
		yg_log(YG_LOG_WARNING, "event", "record_tail_failed", "file", file,
		       "error", strerror(errno), NULL);
	r->failed = true;
}

/* Start a new tail segment: the current one becomes NAME.cast.tail.1 (its
 * predecessor's output is dropped). */
static int rec_rotate(struct yg_gd_rec *r)
{
	if (r->tf) {
		fclose(r->tf);
		r->tf = NULL;
		if (renameat(r->dirfd, r->tail, r->dirfd, r->tail_old) < 0) {
			rec_tail_failed(r, r->tail_old);
			return -1;
		}
		if (r->old.used)
			r->dropped += r->old.raw;
		r->old = r->cur;
	}
	memset(&r->cur, 0, sizeof(r->cur));
	r->tf = rec_create(r->dirfd, r->tail);
	if (!r->tf) {
		rec_tail_failed(r, r->tail);
		return -1;
	}
	r->cur.used = true;
	return 0;
}

/* One event line of len bytes carrying raw console bytes, at ms. */
static void rec_put(struct yg_gd_rec *r, const char *line, size_t len, size_t raw, uint64_t ms)
{
	r->last_ms = ms;
	if (!r->max || (!r->head_full && r->size + len <= r->head_max)) {
		fputs(line, r->f);
		r->size += len;
		return;
	}
	r->head_full = true;
	if (len > r->seg_max || r->failed ||
	    ((!r->tf || r->cur.size + len > r->seg_max) && rec_rotate(r) < 0)) {
		r->lost += raw;
		return;
	}
	if (!r->cur.size)
		r->cur.t_first = ms;
	fputs(line, r->tf);
	r->cur.size += len;
	r->cur.raw += raw;
}

void yg_gd_rec_output(struct yg_gd_rec *r, const uint8_t *buf, size_t len)
{
	uint64_t ms;
	size_t o;

	if (!r || !r->f)
		return;
	ms = yg_now_ms() - r->t0;
	o = (size_t)snprintf(r->line, 2 * AUDIT_LINE_MAX, "[%.3f, \"o\", \"",
			     (double)ms / 1000.0);
	while (len > 0) {	/* bounded chunks: one line never overflows */
		size_t n = len > AUDIT_LINE_MAX / 8 ? AUDIT_LINE_MAX / 8 : len;
		size_t e = yg_json_escape(r->line, o, 2 * AUDIT_LINE_MAX - 8, buf, n, NULL);

		memcpy(r->line + e, "\"]\n", 4);
		rec_put(r, r->line, e + 3, n, ms);
		buf += n;
		len -= n;
	}
	fflush(r->f);
	if (r->tf)
		fflush(r->tf);
}

/* Append tail file name (if used) to NAME.cast and remove it. */
static void rec_append(struct yg_gd_rec *r, const char *name, bool used)
{
	size_t n;
	FILE *in;
	int fd;

	if (!used)
		return;
	fd = openat(r->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	in = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!in) {
		if (fd >= 0)
			close(fd);
		rec_tail_failed(r, name);
		return;
	}
	while ((n = fread(r->line, 1, 2 * AUDIT_LINE_MAX, in)) > 0)
		fwrite(r->line, 1, n, r->f);
	fclose(in);
	if (unlinkat(r->dirfd, name, 0) < 0)
		rec_tail_failed(r, name);
}

static void rec_marker(struct yg_gd_rec *r, uint64_t ms, unsigned long long n)
{
	if (n)
		fprintf(r->f, "[%.3f, \"o\", \"\\r\\n[yolo-gate: %llu bytes not recorded]\\r\\n\"]\n",
			(double)ms / 1000.0, n);
}

/* After the head: the marker for the dropped segments, the tail, and the
 * marker for events dropped in place. */
static void rec_finish(struct yg_gd_rec *r)
{
	if (r->tf) {
		fclose(r->tf);
		r->tf = NULL;
	}
	rec_marker(r, r->old.t_first, r->dropped);	/* dropped > 0: old is kept */
	rec_append(r, r->tail_old, r->old.used);
	rec_append(r, r->tail, r->cur.used);
	rec_marker(r, r->last_ms, r->lost);
}

void yg_gd_rec_close(struct yg_gd_rec *r)
{
	if (!r)
		return;
	if (r->f) {
		rec_finish(r);
		fclose(r->f);
	}
	if (r->dirfd >= 0)
		close(r->dirfd);
	free(r->line);
	free(r);
}
