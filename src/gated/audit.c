/* audit.c: the audit trail and session recordings of a session child.
 *
 * yg_gd_audit() logs one event to syslog/journal (yg_log, key=value) and,
 * with [gate] audit_log = PATH, appends it as one JSON object per line to
 * PATH (0600, owned by the service user, O_APPEND, O_NOFOLLOW: a line is
 * one write(2), so children appending at once do not interleave).
 *
 * With record = yes, the console output of a session goes to an asciinema
 * v2 file record_dir/<user>/<start>-<session>.cast (0600); when it reaches
 * record_max_size it is renamed to NAME.cast.1 (replacing an older one) and
 * a new file starts with its own header.
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

/* ---- recordings ---- */

struct yg_gd_rec {
	int dirfd;
	char name[96];
	FILE *f;
	uint64_t t0;		/* monotonic ms of the header */
	unsigned long long size, max;
	uint16_t rows, cols;
	char *line;		/* one event line, AUDIT_LINE_MAX * 2 */
};

static int rec_start(struct yg_gd_rec *r)
{
	char hdr[256];
	int fd, n;

	fd = openat(r->dirfd, r->name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -errno;
	r->f = fdopen(fd, "w");
	if (!r->f) {
		close(fd);
		return -ENOMEM;
	}
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

void yg_gd_rec_output(struct yg_gd_rec *r, const uint8_t *buf, size_t len)
{
	char old[sizeof(r->name) + 4];
	size_t o;

	if (!r || !r->f)
		return;
	o = (size_t)snprintf(r->line, 2 * AUDIT_LINE_MAX, "[%.3f, \"o\", \"",
			     (double)(yg_now_ms() - r->t0) / 1000.0);
	while (len > 0) {	/* bounded chunks: one line never overflows */
		size_t n = len > AUDIT_LINE_MAX / 8 ? AUDIT_LINE_MAX / 8 : len;
		size_t e = yg_json_escape(r->line, o, 2 * AUDIT_LINE_MAX - 8, buf, n, NULL);

		memcpy(r->line + e, "\"]\n", 4);
		fputs(r->line, r->f);
		r->size += e + 3;
		buf += n;
		len -= n;
	}
	fflush(r->f);
	if (r->max && r->size >= r->max) {
		fclose(r->f);
		r->f = NULL;
		snprintf(old, sizeof(old), "%s.1", r->name);
		if (renameat(r->dirfd, r->name, r->dirfd, old) < 0 || rec_start(r) < 0)
			yg_log(YG_LOG_WARNING, "event", "record_rotate_failed", "file", r->name,
			       "error", strerror(errno), NULL);
	}
}

void yg_gd_rec_close(struct yg_gd_rec *r)
{
	if (!r)
		return;
	if (r->f)
		fclose(r->f);
	if (r->dirfd >= 0)
		close(r->dirfd);
	free(r->line);
	free(r);
}
