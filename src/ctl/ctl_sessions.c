/* SPDX-License-Identifier: MIT */
/* ctl_sessions.c: yolo-gatectl sessions [--json] and yolo-gatectl end.
 *
 * The broker's session child keeps its session record run_dir/sessions/<id>
 * up to date (yg_rundir.h: box, user, uid, from, pid, started, last_active,
 * idle_end, max_end in wall-clock seconds, 0 = none; record).  `end` writes
 * the end request run_dir/sessions/<id>.end (the message) and sends SIGUSR1
 * to the session child, which tells the user and reverts the box.  Only root
 * and the service user may do that (they alone may write there and signal
 * the child).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_sessions.h"
#include "yg_json.h"

#define END_WAIT_MS 120000

/* Is pid a live yolo-gated process? */
static bool pid_alive(int pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (pid <= 1)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return !strcmp(comm, "yolo-gated");
}

/* Is the session live? A record's pid is only a claim (a stale record may
 * name any process, even the broker's parent, which `end` would kill): the
 * session is live when its box's lock is held and the lock record names
 * this very session and pid, and that pid is a yolo-gated process. */
static bool session_holds_box(const char *run_dir, const struct yg_ctl_session *s)
{
	struct yg_ctl_holder h;

	if (!pid_alive(s->rec.pid) ||
	    yg_ctl_lock_probe(run_dir, s->rec.host, s->rec.box, &h, NULL) < 0)
		return false;
	return h.busy && h.known && h.pid == s->rec.pid && !strcmp(h.session, s->id);
}

int yg_ctl_session_read(const char *run_dir, const char *id, struct yg_ctl_session *out,
			yg_err *err)
{
	char path[PATH_MAX];
	int r;

	memset(out, 0, sizeof(*out));
	r = yg_rundir_session_path(path, sizeof(path), run_dir, id, err);
	if (r == 0)
		r = yg_rundir_session_read(AT_FDCWD, path, &out->rec, err);
	if (r < 0)
		return r;
	snprintf(out->id, sizeof(out->id), "%s", id);
	out->alive = session_holds_box(run_dir, out);
	return 0;
}

long long yg_ctl_session_left(const struct yg_ctl_session *s, long long now)
{
	long long end = s->rec.idle_end;

	if (s->rec.max_end && (!end || s->rec.max_end < end))
		end = s->rec.max_end;
	if (!end)
		return -1;
	return end > now ? end - now : 0;
}

static void fmt_secs(char *buf, size_t len, long long s)
{
	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 120)
		snprintf(buf, len, "%llds", s);
	else if (s < 7200)
		snprintf(buf, len, "%lldm", s / 60);
	else
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s / 60 % 60);
}

/* A record field as a JSON string (fields are bounded by yg_rundir). */
static void json_s(const char *s)
{
	char q[6 * YG_RUNDIR_RECORD_MAX + 3];

	if (yg_json_quote(q, sizeof(q), s) < 0)
		snprintf(q, sizeof(q), "null");
	fputs(q, stdout);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void show(const struct yg_ctl_session *s, bool json, bool first, long long now)
{
	const struct yg_rundir_session *r = &s->rec;
	char started[32], idle[48], left[48];
	struct tm tm;
	time_t t = (time_t)r->started;

	localtime_r(&t, &tm);
	strftime(started, sizeof(started), "%Y-%m-%d %H:%M:%S", &tm);
	fmt_secs(idle, sizeof(idle), r->last_active ? now - r->last_active : -1);
	fmt_secs(left, sizeof(left), yg_ctl_session_left(s, now));
	if (!json) {
		printf("%-16s %-12s %-20s %-10s %-15s %-19s %6s %6s\n", s->id, r->user, r->box,
		       r->host, r->from, started, idle, left);
		return;
	}
	printf("%s\n  {\"id\": ", first ? "" : ",");
	json_s(s->id);
	printf(", \"user\": ");
	json_s(r->user);
	printf(", \"box\": ");
	json_s(r->box);
	printf(", \"host\": ");
	json_s(r->host);
	printf(", \"from\": ");
	json_s(strcmp(r->from, "-") ? r->from : "");
	printf(", \"pid\": %d, \"started\": %lld, \"idle_seconds\": %lld, "
	       "\"left_seconds\": %lld, \"idle_end\": %lld, \"max_end\": %lld, \"record\": ",
	       r->pid, r->started, r->last_active ? now - r->last_active : 0,
	       yg_ctl_session_left(s, now), r->idle_end, r->max_end);
	json_s(strcmp(r->record, "-") ? r->record : "");
	printf("}");
}

static int list(const char *run_dir, bool json)
{
	char path[PATH_MAX], **names = NULL;
	size_t n = 0, cap = 0, shown = 0;
	long long now = (long long)time(NULL);
	struct dirent *de;
	yg_err err;
	DIR *d;

	if (yg_rundir_sessions_dir(path, sizeof(path), run_dir, &err) < 0)
		return yg_ctl_fail("sessions", &err);
	d = opendir(path);
	if (!d && errno != ENOENT)
		return yg_ctl_errf("sessions", "cannot read %s: %s; run as root or as the "
				   "service user", path, strerror(errno));
	while (d && (de = readdir(d))) {
		if (yg_rundir_session_entry(de->d_name) != YG_RUNDIR_SESSION)
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof(*names));

			if (!nn)
				break;
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	if (d)
		closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	if (json)
		printf("[");
	else
		printf("%-16s %-12s %-20s %-10s %-15s %-19s %6s %6s\n", "ID", "USER", "BOX", "HOST", "FROM",
		       "STARTED", "IDLE", "LEFT");
	for (size_t i = 0; i < n; i++) {
		struct yg_ctl_session s;
		int r = yg_ctl_session_read(run_dir, names[i], &s, &err);

		if (r == 0 && s.alive)
			show(&s, json, shown++ == 0, now);
		else if (r == -EPROTO || r == -EINVAL)	/* not one that just ended */
			fprintf(stderr, "sessions: note: %s\n", err.msg);
		free(names[i]);
	}
	free(names);
	if (json)
		printf("%s]\n", shown ? "\n" : "");
	return YG_CTL_EXIT_OK;
}

int yg_ctl_sessions(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *confdir = NULL;
	yg_policy *pol = NULL;
	bool json = false;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c')
			confdir = optarg;
		else if (c == 'j')
			json = true;
		else
			return yg_ctl_usage("sessions");
	}
	if (optind != argc)
		return yg_ctl_usage("sessions");
	if (yg_ctl_policy_load("sessions", confdir, &pol))
		return YG_CTL_EXIT_FAIL;
	rc = list(yg_policy_gate(pol)->run_dir, json);
	yg_policy_free(pol);
	return rc;
}

/* Write the end request for the session child, then signal it. */
static int end_one(const char *run_dir, const struct yg_ctl_session *s, const char *msg)
{
	char path[PATH_MAX];
	yg_err err;

	if (yg_rundir_end_path(path, sizeof(path), run_dir, s->id, &err) < 0)
		return yg_ctl_fail("end", &err);
	if (yg_rundir_end_write(path, msg, &err) < 0)
		return yg_ctl_errf("end", "%s; run as root or as the service user", err.msg);
	if (kill(s->rec.pid, SIGUSR1) < 0) {
		int e = errno;

		unlink(path);
		return yg_ctl_errf("end", "cannot signal the session process %d: %s; run as "
				   "root or as the service user", s->rec.pid, strerror(e));
	}
	return 0;
}

int yg_ctl_end(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "message", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *confdir = NULL, *msg = "", *run_dir;
	struct yg_ctl_session s;
	struct yg_ctl_step step;
	yg_policy *pol = NULL;
	uid_t svc_uid;
	gid_t svc_gid;
	yg_err err;
	int c, r, rc = YG_CTL_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c')
			confdir = optarg;
		else if (c == 'm')
			msg = optarg;
		else
			return yg_ctl_usage("end");
	}
	if (optind != argc - 1)
		return yg_ctl_usage("end");
	if (!yg_session_id_valid(argv[optind]))
		return yg_ctl_errf("end", "'%s' is not a session id: use the %d-hex-digit ID "
				   "that yolo-gatectl sessions shows", argv[optind],
				   YG_SESSION_ID_LEN);
	if (strlen(msg) > YG_RUNDIR_END_MAX)
		return yg_ctl_errf("end", "the message is %zu characters long: use at most %d",
				   strlen(msg), YG_RUNDIR_END_MAX);
	if (yg_ctl_policy_load("end", confdir, &pol))
		return YG_CTL_EXIT_FAIL;
	run_dir = yg_policy_gate(pol)->run_dir;
	if (geteuid() != 0 && (yg_ctl_service_user(pol, &svc_uid, &svc_gid, &err) < 0 ||
			       geteuid() != svc_uid)) {
		rc = yg_ctl_errf("end", "only root or the service user %s may end a session",
				 yg_policy_gate(pol)->service_user);
		goto out;
	}
	r = yg_ctl_session_read(run_dir, argv[optind], &s, &err);
	if (r == -EPROTO || r == -EINVAL) {
		rc = yg_ctl_fail("end", &err);
		goto out;
	}
	if (r < 0 || !s.alive) {
		rc = yg_ctl_errf("end", "no session %s is running; see yolo-gatectl sessions",
				 argv[optind]);
		goto out;
	}
	yg_ctl_step_begin(&step, "end", "ending session %s of %s on %s", s.id, s.rec.user,
			  s.rec.box);
	if (end_one(run_dir, &s, msg) != 0) {
		yg_ctl_step_end(&step, -1);
		goto out;
	}
	for (uint64_t t0 = yg_now_ms(); yg_now_ms() - t0 < END_WAIT_MS;) {
		struct yg_ctl_session now;

		if (yg_ctl_session_read(run_dir, s.id, &now, NULL) < 0 || !now.alive) {
			rc = YG_CTL_EXIT_OK;
			break;
		}
		usleep(100 * 1000);
	}
	yg_ctl_step_end(&step, rc == YG_CTL_EXIT_OK ? 0 : -ETIMEDOUT);
	if (rc != YG_CTL_EXIT_OK)
		yg_ctl_errf("end", "session %s is still there after %d s; see the broker's log",
			    s.id, END_WAIT_MS / 1000);
out:
	yg_policy_free(pol);
	return rc;
}
