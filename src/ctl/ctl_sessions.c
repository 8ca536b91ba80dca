/* ctl_sessions.c: yolo-gatectl sessions [--json] and yolo-gatectl end.
 *
 * The broker's session child keeps run_dir/sessions/<id> up to date: the
 * domain on the first line, then key=value lines (user, uid, from, pid,
 * started, last_active, idle_end, max_end in wall-clock seconds, 0 = none;
 * record).  `end` writes run_dir/sessions/<id>.end (the message) and sends
 * SIGUSR1 to the session child, which tells the user and reverts the box.
 * Only root and the service user may do that (they alone may write there
 * and signal the child).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_sessions.h"

#define SID_LEN 16
#define END_WAIT_MS 120000

static bool valid_sid(const char *id)
{
	size_t i;

	for (i = 0; id[i]; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return i == SID_LEN;
}

static void field(const char *text, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);

	out[0] = '\0';
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			size_t n = strcspn(p + kl + 1, "\n");

			snprintf(out, len, "%.*s", (int)n, p + kl + 1);
			return;
		}
}

static long long num(const char *text, const char *key)
{
	char v[32];

	field(text, key, v, sizeof(v));
	return strtoll(v, NULL, 10);
}

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

int yg_ctl_session_read(const char *run_dir, const char *id, struct yg_ctl_session *out)
{
	char path[4096], text[2048];
	ssize_t n;
	int fd;

	memset(out, 0, sizeof(*out));
	if (!valid_sid(id))
		return -EINVAL;
	if (snprintf(path, sizeof(path), "%s/sessions/%s", run_dir, id) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENODATA;
	text[n] = '\0';
	snprintf(out->id, sizeof(out->id), "%s", id);
	snprintf(out->box, sizeof(out->box), "%.*s", (int)strcspn(text, "\n"), text);
	field(text, "user", out->user, sizeof(out->user));
	field(text, "from", out->from, sizeof(out->from));
	field(text, "record", out->record, sizeof(out->record));
	out->pid = (int)num(text, "pid");
	out->started = num(text, "started");
	out->last_active = num(text, "last_active");
	out->idle_end = num(text, "idle_end");
	out->max_end = num(text, "max_end");
	out->alive = pid_alive(out->pid);
	return 0;
}

long long yg_ctl_session_left(const struct yg_ctl_session *s, long long now)
{
	long long end = s->idle_end;

	if (s->max_end && (!end || s->max_end < end))
		end = s->max_end;
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

static void json_s(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < ' ')
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void show(const struct yg_ctl_session *s, bool json, bool first, long long now)
{
	char started[32], idle[48], left[48];
	struct tm tm;
	time_t t = (time_t)s->started;

	localtime_r(&t, &tm);
	strftime(started, sizeof(started), "%Y-%m-%d %H:%M:%S", &tm);
	fmt_secs(idle, sizeof(idle), s->last_active ? now - s->last_active : -1);
	fmt_secs(left, sizeof(left), yg_ctl_session_left(s, now));
	if (!json) {
		printf("%-16s %-12s %-20s %-15s %-19s %6s %6s\n", s->id, s->user, s->box,
		       s->from, started, idle, left);
		return;
	}
	printf("%s\n  {\"id\": ", first ? "" : ",");
	json_s(s->id);
	printf(", \"user\": ");
	json_s(s->user);
	printf(", \"box\": ");
	json_s(s->box);
	printf(", \"from\": ");
	json_s(strcmp(s->from, "-") ? s->from : "");
	printf(", \"pid\": %d, \"started\": %lld, \"idle_seconds\": %lld, "
	       "\"left_seconds\": %lld, \"idle_end\": %lld, \"max_end\": %lld, \"record\": ",
	       s->pid, s->started, s->last_active ? now - s->last_active : 0,
	       yg_ctl_session_left(s, now), s->idle_end, s->max_end);
	json_s(strcmp(s->record, "-") ? s->record : "");
	printf("}");
}

static int list(const char *run_dir, bool json)
{
	char path[4096], **names = NULL;
	size_t n = 0, cap = 0, shown = 0;
	long long now = (long long)time(NULL);
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/sessions", run_dir);
	d = opendir(path);
	if (!d && errno != ENOENT)
		return yg_ctl_errf("sessions", "cannot read %s: %s; run as root or as the "
				   "service user", path, strerror(errno));
	while (d && (de = readdir(d))) {
		if (!valid_sid(de->d_name))
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
		printf("%-16s %-12s %-20s %-15s %-19s %6s %6s\n", "ID", "USER", "BOX", "FROM",
		       "STARTED", "IDLE", "LEFT");
	for (size_t i = 0; i < n; i++) {
		struct yg_ctl_session s;

		if (yg_ctl_session_read(run_dir, names[i], &s) == 0 && s.alive)
			show(&s, json, shown++ == 0, now);
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

/* Write the message for the session child, then signal it. */
static int end_one(const char *run_dir, const struct yg_ctl_session *s, const char *msg)
{
	char path[4096];
	size_t len = strlen(msg);
	int fd;

	snprintf(path, sizeof(path), "%s/sessions/%s.end", run_dir, s->id);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || fchmod(fd, 0644) < 0 || write(fd, msg, len) != (ssize_t)len) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return yg_ctl_errf("end", "cannot write %s: %s; run as root or as the service "
				   "user", path, strerror(e));
	}
	close(fd);
	if (kill(s->pid, SIGUSR1) < 0) {
		int e = errno;

		unlink(path);
		return yg_ctl_errf("end", "cannot signal the session process %d: %s; run as "
				   "root or as the service user", s->pid, strerror(e));
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
	int c, rc = YG_CTL_EXIT_FAIL;

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
	if (!valid_sid(argv[optind]))
		return yg_ctl_errf("end", "'%s' is not a session id: use the 16-hex-digit ID "
				   "that yolo-gatectl sessions shows", argv[optind]);
	if (strlen(msg) > 900)
		return yg_ctl_errf("end", "the message is %zu characters long: use at most 900",
				   strlen(msg));
	if (yg_ctl_policy_load("end", confdir, &pol))
		return YG_CTL_EXIT_FAIL;
	run_dir = yg_policy_gate(pol)->run_dir;
	if (geteuid() != 0 && (yg_ctl_service_user(pol, &svc_uid, &svc_gid, &err) < 0 ||
			       geteuid() != svc_uid)) {
		rc = yg_ctl_errf("end", "only root or the service user %s may end a session",
				 yg_policy_gate(pol)->service_user);
		goto out;
	}
	if (yg_ctl_session_read(run_dir, argv[optind], &s) < 0 || !s.alive) {
		rc = yg_ctl_errf("end", "no session %s is running; see yolo-gatectl sessions",
				 argv[optind]);
		goto out;
	}
	yg_ctl_step_begin(&step, "end", "ending session %s of %s on %s", s.id, s.user, s.box);
	if (end_one(run_dir, &s, msg) != 0) {
		yg_ctl_step_end(&step, -1);
		goto out;
	}
	for (uint64_t t0 = yg_now_ms(); yg_now_ms() - t0 < END_WAIT_MS;) {
		struct yg_ctl_session now;

		if (yg_ctl_session_read(run_dir, s.id, &now) < 0 || !now.alive) {
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
