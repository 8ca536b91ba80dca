/* SPDX-License-Identifier: MIT */
/* lifecycle.c: one box from lock to final revert, in the session child.
 *
 *   lock -> check -> (revert) -> resume -> keys and clock (guest.c: by
 *   yolo-boxd, or the agent) -> console -> relay -> close console -> EXIT
 *   to the clients -> wipe keys -> revert (revert = logout) -> unlock
 *
 * libvirt is the source of truth: nothing here remembers whether a box is
 * clean; a child that dies leaves a box the next login will revert.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "yg_console.h"
#include "yg_file.h"
#include "yg_log.h"
#include "yg_rundir.h"
#include "yg_text.h"
#include "session.h"

void yg_gd_fmt_ms(char *buf, size_t len, long ms)
{
	if (ms < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%ld", ms);
}

static void fmt_uid(char *buf, size_t len, uid_t uid)
{
	snprintf(buf, len, "%u", (unsigned)uid);
}

/* "since 12:03:55 (session 4f2a...)" from the lock record of fd. */
static void describe_holder(int fd, char *out, size_t outlen)
{
	struct yg_rundir_lock l;
	char hms[16];
	struct tm tm;
	time_t t;

	if (fd < 0 || yg_rundir_lock_read(fd, &l, NULL) < 0) {
		snprintf(out, outlen, "by another session");
		return;
	}
	t = (time_t)l.since;
	if (!localtime_r(&t, &tm) || !strftime(hms, sizeof(hms), "%H:%M:%S", &tm))
		snprintf(hms, sizeof(hms), "?");
	snprintf(out, outlen, "since %s (session %s)", hms, l.holder);
}

/* Replace run_dir/sessions/<id> (yg_rundir): 0 or -errno (logged). */
static int sessinfo_write(struct yg_gd_sess *s, const struct yg_gd_times *t)
{
	struct yg_rundir_session rec = { .uid = s->u.uid, .pid = (int)getpid() };
	uint64_t now = t ? t->now : yg_now_ms();
	yg_err err;
	int r;

	if (!s->sess_path[0])
		return 0;
	s->info_ms = now;
	s->info_active = t ? t->last_active : now;
	yg_rundir_text_set(rec.box, sizeof(rec.box), s->u.domain);
	yg_rundir_text_set(rec.host, sizeof(rec.host), s->u.host[0] ? s->u.host : "local");
	yg_rundir_text_set(rec.user, sizeof(rec.user), s->u.user);
	yg_rundir_text_set(rec.from, sizeof(rec.from), s->from);
	yg_rundir_text_set(rec.record, sizeof(rec.record), s->rec ? yg_gd_rec_name(s->rec) : NULL);
	rec.started = yg_wall_of(s->t_start, now);
	rec.last_active = yg_wall_of(s->info_active, now);
	rec.idle_end = yg_wall_of(t ? t->idle_end : 0, now);
	rec.max_end = yg_wall_of(t ? t->max_end : 0, now);
	r = yg_rundir_session_write(AT_FDCWD, s->sess_path, &rec, &err);
	if (r < 0)
		yg_log(YG_LOG_WARNING, "event", "session_file_failed", "session", s->id,
		       "path", s->sess_path, "error", strerror(-r), NULL);
	return r;
}

void yg_gd_sessinfo(struct yg_gd_sess *s, const struct yg_gd_times *t)
{
	(void)sessinfo_write(s, t);
}

/* Write who holds the box into the lock file and run_dir/sessions/<id>.
 * Without them no one sees or can end the session (yolo-gatectl sessions,
 * end; BUSY names no holder), so a login that cannot write them fails. */
static int claim(struct yg_gd_sess *s, yg_err *err)
{
	struct yg_rundir_lock l = { .since = (long long)time(NULL), .pid = (int)getpid(),
				    .revert_ms = -1 };
	int r;

	snprintf(l.holder, sizeof(l.holder), "%s", s->id);
	r = yg_rundir_lock_write(s->lockfd, &l);
	if (r < 0) {
		yg_log(YG_LOG_WARNING, "event", "lock_record_failed", "session", s->id,
		       "box", s->u.domain, "error", strerror(-r), NULL);
		return yg_err_set(err, r, "cannot write the lock record of box %s in %s/boxes: "
				  "%s; free space in yolo-gated's [gate] run_dir", s->u.domain,
				  s->gate->run_dir, strerror(-r));
	}
	if (s->sess_path[0])
		unlink(s->sess_path);
	r = yg_rundir_session_path(s->sess_path, sizeof(s->sess_path), s->gate->run_dir, s->id,
				   err);
	if (r < 0) {
		s->sess_path[0] = '\0';
		return r;
	}
	r = sessinfo_write(s, NULL);
	if (r < 0)
		return yg_err_set(err, r, "cannot write the session file %s: %s; free space in "
				  "yolo-gated's [gate] run_dir %s", s->sess_path, strerror(-r),
				  s->gate->run_dir);
	return 0;
}

void yg_gd_reclaim(struct yg_gd_sess *s)
{
	yg_err err;

	(void)claim(s, &err);	/* logged; the session goes on */
}

void yg_gd_describe(struct yg_gd_sess *s, char *out, size_t outlen)
{
	describe_holder(s->lockfd, out, outlen);
}

int yg_gd_lock(struct yg_gd_sess *s, char *busy, size_t busylen, yg_err *err)
{
	uint64_t t0 = yg_now_ms();
	char name[YG_RUNDIR_KEY_MAX + 8], path[PATH_MAX];
	int fd, r;

	if (s->dirfd < 0) {
		r = yg_rundir_boxes_dir(path, sizeof(path), s->gate->run_dir, err);
		if (r < 0)
			return r;
		s->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s->dirfd < 0)
			return yg_err_set(err, -errno, "cannot open %s: %s; restart yolo-gated "
					  "so it recreates it", path, strerror(errno));
	}
	r = yg_rundir_lock_name(name, sizeof(name), yg_gd_key(s), err);
	if (r < 0)
		return r;
	fd = yg_lockfile_open(s->dirfd, name, err);
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		describe_holder(fd, busy, busylen);
		close(fd);
		return r == -EWOULDBLOCK ? r : yg_err_set(err, r, "cannot lock %s: %s",
							  name, strerror(-r));
	}
	s->lockfd = fd;
	r = yg_gd_rdv_listen(s->gate->run_dir, yg_gd_key(s), s->rdv_path, sizeof(s->rdv_path), err);
	if (r < 0)
		return r;
	s->rdv_fd = r;
	r = claim(s, err);
	if (r < 0)
		return r;
	s->ms_lock = (long)(yg_now_ms() - t0);
	return 0;
}

static int check_and_revert(struct yg_gd_sess *s, yg_err *err)
{
	uint64_t t0 = yg_now_ms();
	char why[128] = "", ms[24];
	bool clean = false;
	int r;

	r = yg_box_check_clean(s->box, &clean, why, sizeof(why), err);
	if (r < 0)
		return r;
	s->ms_check = (long)(yg_now_ms() - t0);
	if (clean && !s->u.revert_login)
		return 0;
	t0 = yg_now_ms();
	yg_gd_progress(s, "reverting %s to %s ...", s->u.domain, s->u.snapshot);
	r = yg_box_revert(s->box, err);
	if (r < 0)
		return r;
	s->dirty = false;
	s->ms_revert = (long)(yg_now_ms() - t0);
	yg_gd_progress(s, "reverting %s to %s ... done in %.1f s", s->u.domain, s->u.snapshot,
		       (double)s->ms_revert / 1000.0);
	yg_gd_fmt_ms(ms, sizeof(ms), s->ms_revert);
	yg_gd_audit(YG_LOG_INFO, "reverted", "session", s->id, "user", s->u.user,
		    "box", s->u.domain, "why", clean ? "revert=login" : why, "ms", ms, NULL);
	return 0;
}

int yg_gd_login(struct yg_gd_sess *s, uint32_t *code, yg_err *err)
{
	bool boxd;
	char hint[128];
	uint64_t t0;
	int r;

	s->ms_check = s->ms_revert = s->ms_resume = s->ms_agent = s->ms_inject = -1;
	s->ms_console = -1;
	s->clock_set = false;
	s->con_rows = s->con_cols = 0;	/* a revert or a resume: the snapshot's size */
	*code = YG_ERR_BOX;
	if (!s->u.host_enabled)
		return yg_err_set(err, -EPERM, "box host %s takes no logins now (enabled = no "
				  "in its [host:%s]); ask your administrator", s->u.host,
				  s->u.host);
	if (!s->conn) {
		r = yg_gd_conn_open(s, err);
		if (r < 0)
			return r;
	}
	yg_box_free(s->box);
	s->box = NULL;
	snprintf(hint, sizeof(hint), "ask your administrator to run: yolo-gatectl provision %s",
		 s->u.user);
	r = yg_box_open(s->conn, s->u.domain, s->u.snapshot, hint, &s->box, err);
	if (r < 0)
		return r;
	r = check_and_revert(s, err);
	if (r < 0)
		return r;
	if (yg_gd_sigterm())
		return yg_err_set(err, -EINTR, "yolo-gated is stopping; log in again later");
	boxd = yg_gd_guest_boxd(s);
	t0 = yg_now_ms();
	s->dirty = true;	/* from here on, a failure reverts */
	r = yg_box_resume(s->box, err);
	if (r < 0)
		return r;
	s->ms_resume = (long)(yg_now_ms() - t0);
	r = yg_gd_guest_login(s, boxd, code, err);
	if (r < 0)
		return r;
	if (yg_gd_sigterm())
		return yg_err_set(err, -EINTR, "yolo-gated is stopping; log in again later");
	return 0;
}

void yg_gd_new_id(struct yg_gd_sess *s)
{
	if (yg_session_id_new(s->id) < 0)
		yg_gd_fail(s, YG_ERR_INTERNAL, "internal_error", "cannot get random bytes for "
			   "a session id; try again");
	s->t_start = yg_now_ms();
}

/* Resolve uid (the peer's, or a handed-off client's) and check it may have
 * box reqbox ("" = its default box, yg_gd_choose_box); on refusal, ERROR and
 * exit. */
void yg_gd_resolve_user(struct yg_gd_sess *s, uid_t uid, const char *reqbox)
{
	char text[YG_TEXT_MAX];
	uint32_t code;
	yg_err err;
	int r;

	yg_gd_user_clear(&s->u);
	r = yg_gd_user_by_uid(s->pol, uid, &s->u, &err);
	if (r == -ENOENT || (r == 0 && !s->u.gated)) {
		snprintf(text, sizeof(text), "no box is configured for user %s; ask your "
			 "administrator", s->u.user[0] ? s->u.user : "(unknown)");
		yg_gd_fail(s, YG_ERR_NOPOLICY, "nopolicy", text);
	}
	if (r < 0)
		yg_gd_fail(s, YG_ERR_INTERNAL, "policy_error", err.msg);
	if (!s->u.enabled) {
		snprintf(text, sizeof(text), "the box of user %s is disabled; ask your "
			 "administrator", s->u.user);
		yg_gd_fail(s, YG_ERR_DISABLED, "disabled", text);
	}
	code = yg_gd_choose_box(s->pol, &s->u, reqbox, text, sizeof(text));
	if (code)
		yg_gd_fail(s, code, code == YG_ERR_DENIED ? "denied" : "nopolicy", text);
}

void yg_gd_login_or_fail(struct yg_gd_sess *s)
{
	uint32_t code;
	yg_err err;

	if (yg_gd_login(s, &code, &err) < 0)
		yg_gd_fail(s, code, "login_failed", err.msg);
}

static void log_ready(struct yg_gd_sess *s)
{
	char uid[16], l[24], c[24], rv[24], rs[24], a[24], k[24], co[24];

	fmt_uid(uid, sizeof(uid), s->u.uid);
	yg_gd_fmt_ms(l, sizeof(l), s->ms_lock);
	yg_gd_fmt_ms(c, sizeof(c), s->ms_check);
	yg_gd_fmt_ms(rv, sizeof(rv), s->ms_revert);
	yg_gd_fmt_ms(rs, sizeof(rs), s->ms_resume);
	yg_gd_fmt_ms(a, sizeof(a), s->ms_agent);
	yg_gd_fmt_ms(k, sizeof(k), s->ms_inject);
	yg_gd_fmt_ms(co, sizeof(co), s->ms_console);
	yg_gd_audit(YG_LOG_INFO, "session_ready", "session", s->id, "user", s->u.user,
	       "uid", uid, "box", s->u.domain, "from", s->from[0] ? s->from : NULL,
	       "record", s->rec ? yg_gd_rec_name(s->rec) : NULL, "ms_lock", l, "ms_check", c, "ms_revert", rv,
	       "ms_resume", rs, "ms_agent", a, "ms_inject", k, "ms_console", co,
	       "host", s->u.host, "console", s->held_id ? "held" : "opened", NULL);
}

enum yg_gd_end yg_gd_attach(struct yg_gd_sess *s, const struct yg_gd_relay_ops *ops)
{
	uint64_t t0 = yg_now_ms();
	struct yg_gd_limits lim = { 0 };
	struct yg_gd_clients cl;
	enum yg_gd_end e;
	yg_err err;

	/* a PREPAREd box got its keys before the shell said its TERM */
	if (s->keys_in && yg_text_term_ok(s->term) && strcmp(s->term, s->term_in) != 0) {
		uint32_t code;

		if (yg_gd_guest_keys(s, &code, &err) < 0)
			yg_log(YG_LOG_WARNING, "event", "term_failed", "session", s->id,
			       "error", err.msg, NULL);
	}
	/* the console held across the pause (hold.c), or a new one */
	if (!yg_gd_held_console_ok(s) && yg_console_open(s->box, s->u.console, &s->st, &err) < 0)
		yg_gd_fail(s, YG_ERR_BOX, "console_failed", err.msg);
	yg_gd_guest_wake(s);
	s->ms_console = (long)(yg_now_ms() - t0);
	if (s->u.record && !s->rec && yg_gd_rec_open(s, &s->rec, &err) < 0)
		yg_gd_audit(YG_LOG_ERROR, "record_failed", "session", s->id, "user", s->u.user,
			    "error", err.msg, NULL);
	yg_gd_sessinfo(s, NULL);
	if (yg_gd_send_ready(s, s->fd) < 0)
		return YG_GD_END_CLIENT_EOF;
	log_ready(s);
	yg_gd_guest_clock(s);
	lim.idle_ms = s->u.idle_timeout_ms;
	lim.idle_warn_ms = s->u.idle_warning_ms;
	lim.idle_output = s->u.idle_output;
	lim.max_ms = s->u.max_session_ms;
	lim.start_ms = s->t_start;
	cl.fd = s->fd;
	cl.in = s->in;
	e = yg_gd_relay_run(&cl, s->st, s->rdv_fd, s->sig_fd, &lim, ops, s);
	s->fd = cl.fd;
	memcpy(s->rest, cl.rest, cl.nrest * sizeof(cl.rest[0]));
	s->nrest = cl.nrest;
	return e;
}

/* libvirtd restarted under us: the old connection is dead (and with it the
 * console stream). Open a new one and look the box up again, waiting for
 * libvirtd to come back for up to YG_GD_RECONNECT_MS; for a remote host
 * (host.c) until it is back, however long (or SIGTERM): its box still has
 * the keys, and only this process knows. */
#define YG_GD_RECONNECT_MS 60000
static int reconnect(struct yg_gd_sess *s, yg_err *err)
{
	uint64_t t0 = yg_now_ms();
	char ms[24];
	int r;

	yg_log(YG_LOG_WARNING, "event", "libvirt_lost", "session", s->id, "box", s->u.domain,
	       NULL);
	for (;;) {
		yg_box_free(s->box);
		s->box = NULL;
		yg_conn_close(s->conn);
		s->conn = NULL;
		r = yg_gd_conn_open(s, err);
		if (r == 0)
			r = yg_box_open(s->conn, s->u.domain, s->u.snapshot, NULL, &s->box, err);
		if (r == 0 || yg_gd_sigterm() ||
		    (yg_gd_host_local(s->u.host) && yg_now_ms() - t0 >= YG_GD_RECONNECT_MS))
			break;
		/* a remote host: wait for it, however long, to clean its box */
		usleep(yg_gd_host_local(s->u.host) ? 250 * 1000 : 2000 * 1000);
	}
	yg_gd_fmt_ms(ms, sizeof(ms), (long)(yg_now_ms() - t0));
	yg_log(r == 0 ? YG_LOG_INFO : YG_LOG_ERROR, "event", "libvirt_reconnect",
	       "session", s->id, "box", s->u.domain, "ms", ms,
	       "result", r == 0 ? "ok" : err->msg, NULL);
	return r;
}

static bool conn_dead(const struct yg_gd_sess *s)
{
	return yg_conn_alive(s->conn) == 0;
}

/* Close the console, wipe the keys, revert if asked; best effort, logged.
 * A dead libvirt connection is reopened first, so that a libvirtd restart
 * mid-session or mid-revert still ends with the keys wiped and the box clean. */
/* After the logout revert (or instead of it: revert = login, or a revert
 * that failed), nothing of the session may keep running: a box that is still
 * dirty is paused, and with warm = no any box is shut off (its memory freed;
 * the next login reverts it). Best effort, logged. */
static void park(struct yg_gd_sess *s)
{
	const char *what = !s->u.warm ? "stopped" : s->dirty ? "paused" : NULL;
	yg_err err;
	int r;

	if (!what || !s->box)
		return;
	r = s->u.warm ? yg_box_suspend(s->box, &err) : yg_box_destroy(s->box, &err);
	if (r < 0)
		yg_gd_audit(YG_LOG_ERROR, "park_failed", "session", s->id, "box", s->u.domain,
			    "error", err.msg, NULL);
	else
		yg_gd_audit(YG_LOG_INFO, what, "session", s->id, "user", s->u.user,
			    "box", s->u.domain, "why", !s->u.warm ? "warm_no" :
			    s->u.revert_login ? "revert_login" : "revert_failed", NULL);
}

/* What a session's clients see of it ends: its commands, the console, the
 * recording. */
static void front_down(struct yg_gd_sess *s)
{
	yg_gd_exec_close("the session ended; the box is reverted");
	yg_ep_close(s->st);	/* aborts the stream */
	s->st = NULL;
	s->held_id = 0;
	yg_gd_rec_close(s->rec);
	s->rec = NULL;
}

static void box_down(struct yg_gd_sess *s, bool revert)
{
	yg_err err;

	front_down(s);
	if (conn_dead(s) && (s->keys_in || (revert && s->dirty)))
		(void)reconnect(s, &err);
	yg_gd_guest_wipe(s);
	if (revert && s->dirty && s->box) {
		uint64_t t0 = yg_now_ms();
		char ms[24];
		int r = yg_box_revert(s->box, &err);

		if (r < 0 && conn_dead(s) && reconnect(s, &err) == 0)
			r = yg_box_revert(s->box, &err);	/* libvirtd restarted mid-revert */
		if (r < 0) {
			yg_gd_audit(YG_LOG_ERROR, "revert_failed", "session", s->id,
				    "box", s->u.domain, "error", err.msg, NULL);
		} else {
			s->dirty = false;
			yg_gd_fmt_ms(ms, sizeof(ms), (long)(yg_now_ms() - t0));
			yg_gd_audit(YG_LOG_INFO, "reverted", "session", s->id,
				    "user", s->u.user, "box", s->u.domain, "why", "logout",
				    "ms", ms, NULL);
		}
	}
	park(s);
}

void yg_gd_box_down(struct yg_gd_sess *s, bool revert)
{
	box_down(s, revert);
}

static void client_exit(int *fd, uint32_t status, const char *text)
{
	if (*fd < 0)
		return;
	yg_gd_send_exit(*fd, status, text);
	close(*fd);
	*fd = -1;
}

/* ms_exit: from the end to the clients' EXIT, -1 = none was sent */
static void log_end(struct yg_gd_sess *s, enum yg_gd_end why, uint64_t t0, long ms_exit)
{
	char uid[16], ms[24], total[24], ex[24];

	fmt_uid(uid, sizeof(uid), s->u.uid);
	yg_gd_fmt_ms(ex, sizeof(ex), ms_exit);
	yg_gd_fmt_ms(ms, sizeof(ms), (long)(yg_now_ms() - t0));
	yg_gd_fmt_ms(total, sizeof(total), (long)(yg_now_ms() - s->t_start));
	yg_gd_audit(YG_LOG_INFO, "session_end", "session", s->id, "user", s->u.user,
	       "uid", uid, "box", s->u.domain, "reason", yg_gd_end_name(why),
	       "message", s->end_msg[0] ? s->end_msg : NULL,
	       "ms_exit", ex, "ms_logout", ms, "ms_total", total, "result", s->dirty ? "dirty" : "clean",
	       "host", s->u.host, NULL);
}

void yg_gd_logout(struct yg_gd_sess *s, enum yg_gd_end why, const char *text)
{
	uint64_t t0 = yg_now_ms();
	bool normal = why == YG_GD_END_CLIENT_EOF || why == YG_GD_END_CLIENT_EXIT ||
		      why == YG_GD_END_RELEASE;
	long ms_exit;

	/* the clients get their EXIT first: nobody waits for the wipe and the
	 * revert (the lock is held until they are done, so a login that comes
	 * meanwhile waits for them, yg_gd_lock's caller) */
	front_down(s);
	client_exit(&s->fd, normal ? 0 : 1, text);
	for (size_t i = 0; i < s->nrest; i++)	/* concurrent = attach */
		client_exit(&s->rest[i], normal ? 0 : 1, text);
	s->nrest = 0;
	client_exit(&s->release_fd, 0, "released");
	ms_exit = (long)(yg_now_ms() - t0);
	box_down(s, !s->u.revert_login);
	log_end(s, why, t0, ms_exit);
}

void yg_gd_exit(struct yg_gd_sess *s, int status)
{
	if (s->rdv_fd >= 0) {
		unlink(s->rdv_path);	/* before the unlock: a new owner binds after */
		close(s->rdv_fd);
	}
	if (s->sess_path[0])
		unlink(s->sess_path);
	if (s->next_fd >= 0)
		close(s->next_fd);
	for (size_t i = 0; i < s->nrest; i++)
		close(s->rest[i]);
	if (s->lockfd >= 0)
		close(s->lockfd);
	yg_box_free(s->box);
	yg_conn_close(s->conn);
	yg_gd_user_clear(&s->u);
	free(s->in);
	_exit(status);
}

void yg_gd_fail(struct yg_gd_sess *s, uint32_t code, const char *event, const char *text)
{
	uint64_t t0;
	bool touched;
	char uid[16];

	fmt_uid(uid, sizeof(uid), s->peer_uid);
	yg_gd_audit(YG_LOG_ERROR, event, "session", s->id[0] ? s->id : NULL,
	       "user", s->u.user[0] ? s->u.user : NULL, "uid", uid,
	       "box", s->u.domain[0] ? s->u.domain : NULL, "error", text, NULL);
	if (s->fd >= 0) {
		yg_gd_send_error(s->fd, code, "%s", text);
		close(s->fd);
		s->fd = -1;
	}
	t0 = yg_now_ms();
	touched = s->dirty || s->keys_in || s->st;
	box_down(s, true);	/* a failed login always reverts what it touched */
	client_exit(&s->release_fd, 1, text);
	if (touched)
		log_end(s, YG_GD_END_ERROR, t0, 0);	/* ERROR went first */
	yg_gd_exit(s, 1);
}
