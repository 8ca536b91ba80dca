/* SPDX-License-Identifier: MIT */
/* concurrent.c: a session child that holds a box: relay, log out, and what
 * happens when another login comes for the same box (the policy's
 * `concurrent`: refuse, takeover, attach; a login queued during a logout),
 * through the callbacks the relay and the PREPARE wait call.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "yg_log.h"
#include "yg_rundir.h"
#include "session.h"

static const char *end_text(enum yg_gd_end e)
{
	switch (e) {
	case YG_GD_END_CLIENT_EXIT:
	case YG_GD_END_CLIENT_EOF:	return "session closed";
	case YG_GD_END_CONSOLE:		return "the box's console closed (the guest stopped?)";
	case YG_GD_END_PROTOCOL:	return "protocol error";
	case YG_GD_END_SIGNAL:		return "yolo-gated is stopping";
	case YG_GD_END_IDLE:		return "idle timeout: session closed";
	case YG_GD_END_MAX:		return "maximum session time reached";
	case YG_GD_END_TAKEOVER:	return "session taken over by a new login";
	case YG_GD_END_RELEASE:		return "session released";
	case YG_GD_END_TIMEOUT:		return "nobody attached to the prepared box";
	case YG_GD_END_ADMIN:		return "session ended by an administrator";
	case YG_GD_END_LIBVIRT:		return "the virtualisation service (libvirtd) went away; "
					       "the box is reverted, log in again";
	case YG_GD_END_BOXD:		return "the box's yolo-boxd failed; the box is reverted";
	case YG_GD_END_DONE:		return "the remote commands ended";
	default:			return "session ended by an error";
	}
}

/* A handed-off client becomes the session's client. A takeover is a new
 * session (its user, a new id); an attach joins the PREPAREd one. */
static void take_next(struct yg_gd_sess *s, bool takeover)
{
	s->fd = s->next_fd;
	s->next_fd = -1;
	s->peer_uid = s->next.uid;
	s->rows = s->next.rows;
	s->cols = s->next.cols;
	snprintf(s->term, sizeof(s->term), "%s", s->next.term);
	s->prepared = false;
	yg_frame_in_init(s->in);
	if (!takeover) {
		if (!s->run_mode)
			yg_gd_winch(s, s->rows, s->cols);
		return;
	}
	snprintf(s->from, sizeof(s->from), "%s", s->next.from);
	yg_gd_resolve_user(s, s->next.uid, s->next.box);
	yg_gd_new_id(s);
	yg_gd_reclaim(s);
}

void yg_gd_send_session(int fd, const char *id)
{
	yg_msg r = { .type = YG_MSG_SESSION };

	snprintf(r.u.session.session, sizeof(r.u.session.session), "%s", id);
	(void)!yg_msg_send(fd, &r, YG_GD_SEND_TIMEOUT_MS);	/* PAM's loss */
	close(fd);
}

/* ---- callbacks from the relay and the PREPARE wait ---- */

static void on_winch(void *opaque, uint16_t rows, uint16_t cols)
{
	yg_gd_winch(opaque, rows, cols);
}

/* concurrent = attach (the policy of the session's user): may login h join
 * this session? Its sender already checked that its user may enter the box,
 * and whether the policy (as it is now) lets that user attach to another
 * user's session. The session's own user may; another user sees the console
 * of a guest that holds this user's keys, so only where a [box:] entry of
 * this box lists them with attach = yes. who gets the joiner's name. */
static bool may_join(struct yg_gd_sess *s, const struct yg_gd_handoff *h, char *who,
		     size_t len)
{
	snprintf(who, len, "%s", h->uid == s->u.uid ? s->u.user : h->user);
	return s->u.attach && (h->uid == s->u.uid || h->attach_ok);
}

static void audit_attach(struct yg_gd_sess *s, const struct yg_gd_handoff *h, const char *who)
{
	char uid[16];

	snprintf(uid, sizeof(uid), "%u", (unsigned)h->uid);
	yg_gd_audit(YG_LOG_INFO, "attach", "session", s->id, "user", s->u.user,
		    "box", s->u.domain, "uid", uid, "joiner", who[0] ? who : NULL,
		    "prepared", s->prepared ? "yes" : NULL, NULL);
}

/* A later login joins the running console; the newcomer's window size wins. */
static enum yg_gd_end join(struct yg_gd_sess *s, int fd, const struct yg_gd_handoff *h,
			   const char *who)
{
	if (yg_gd_send_ready(s, fd) < 0) {
		close(fd);
		return YG_GD_END_NONE;
	}
	audit_attach(s, h, who);
	yg_gd_winch(s, h->rows, h->cols);
	return YG_GD_END_JOIN;
}

/* One of several attached clients left: the others keep the session. */
static void on_detach(void *opaque, int fd, enum yg_gd_end why, size_t left)
{
	struct yg_gd_sess *s = opaque;
	char n[16];

	snprintf(n, sizeof(n), "%zu", left);
	yg_gd_audit(YG_LOG_INFO, "detach", "session", s->id, "user", s->u.user,
		    "box", s->u.domain, "reason", yg_gd_end_name(why), "clients", n, NULL);
	if (why == YG_GD_END_CLIENT_EXIT)
		yg_gd_send_fmt(fd, YG_MSG_EXIT, 0, "detached; the session goes on for %zu other "
			 "client%s", left, left == 1 ? "" : "s");
	close(fd);
}

/* Keep one queued client for after the logout (told that it waits);
 * refuse any other. */
static void queue_next(struct yg_gd_sess *s, int fd, const struct yg_gd_handoff *h)
{
	if ((h->type == YG_MSG_OPEN || h->type == YG_MSG_PREPARE || h->type == YG_MSG_RUN) &&
	    s->next_fd < 0) {
		s->next_fd = fd;
		s->next = *h;
		yg_gd_send_fmt(fd, YG_MSG_PROGRESS, 0, "box %s: waiting for its previous session "
			       "to end (the box is being reverted) ...", s->u.domain);
		return;
	}
	if (h->type == YG_MSG_RELEASE)
		yg_gd_send_exit(fd, 0, "the session had already ended");
	else
		yg_gd_send_error(fd, YG_ERR_BUSY, "box %s is in use by another login; try "
				 "again later", h->box);
	close(fd);
}

static enum yg_gd_end on_handoff(void *opaque, int fd, const struct yg_gd_handoff *h)
{
	struct yg_gd_sess *s = opaque;
	char since[128], uid[16], who[YG_NAME_MAX + 1], id[YG_SESSION_ID_LEN + 1];
	bool joinable;

	snprintf(uid, sizeof(uid), "%u", (unsigned)h->uid);
	if (h->type == YG_MSG_RELEASE) {
		/* PAM's (root), or the user's shell giving back a box it did not open */
		if (strcmp(h->session, s->id) == 0 && s->release_fd < 0 &&
		    (h->uid == 0 || (h->uid == s->u.uid && s->prepared))) {
			s->release_fd = fd;
			return YG_GD_END_RELEASE;
		}
		yg_gd_send_exit(fd, 1, "no such session on this box");
		close(fd);
		return YG_GD_END_NONE;
	}
	if (s->next_fd < 0 && s->prepared && (h->type == YG_MSG_OPEN || h->type == YG_MSG_RUN) &&
	    h->uid == s->u.uid && strcmp(h->session, s->id) == 0) {	/* the shell of the PREPAREd session */
		s->next_fd = fd;
		s->next = *h;
		return YG_GD_END_ATTACH;
	}
	if (h->type == YG_MSG_RUN && s->run_mode && !yg_gd_exec_count() && !s->u.linger_ms &&
	    s->next_fd < 0) {
		/* the last command ended (linger = 0): this one gets a new session */
		queue_next(s, fd, h);
		return YG_GD_END_DONE;
	}
	if (h->type == YG_MSG_RUN && !s->prepared && (s->st || s->run_mode) &&
	    (h->uid == s->u.uid || (s->u.attach && h->attach_ok))) {
		/* a command joins the live session */
		(void)yg_gd_exec_add(s, fd, NULL, &h->run, h->user);
		return YG_GD_END_NONE;
	}
	if (h->type == YG_MSG_OPEN && s->run_mode && s->next_fd < 0 &&
	    (h->uid == s->u.uid || (s->u.attach && h->attach_ok))) {
		/* a login joins a session of remote commands: it gets the console */
		s->next_fd = fd;
		s->next = *h;
		return YG_GD_END_ATTACH;
	}
	joinable = may_join(s, h, who, sizeof(who));
	if (joinable && h->type == YG_MSG_PREPARE && yg_session_id_new(id) == 0) {
		/* nothing to prepare: the shell's OPEN that follows joins */
		yg_log(YG_LOG_INFO, "event", "prepare_join", "session", s->id, "user", who,
		       "box", s->u.domain, NULL);
		yg_gd_send_session(fd, id);
		return YG_GD_END_NONE;
	}
	if (joinable && h->type == YG_MSG_OPEN && s->prepared && s->next_fd < 0) {
		audit_attach(s, h, who);	/* the first client of a PREPAREd box */
		s->next_fd = fd;
		s->next = *h;
		return YG_GD_END_ATTACH;
	}
	if (joinable && h->type == YG_MSG_OPEN && s->st && !s->prepared)
		return join(s, fd, h, who);
	if (s->next_fd < 0 && s->u.takeover) {
		yg_gd_audit(YG_LOG_INFO, "takeover", "session", s->id, "user", s->u.user,
			    "box", s->u.domain, "new_uid", uid,
			    "via", h->type == YG_MSG_PREPARE ? "prepare" : NULL, NULL);
		s->next_fd = fd;
		s->next = *h;
		return YG_GD_END_TAKEOVER;
	}
	yg_gd_describe(s, since, sizeof(since));
	yg_gd_audit(YG_LOG_INFO, "refused", "reason", "busy", "session", s->id,
		    "user", s->u.user, "box", s->u.domain, "refused_uid", uid,
		    "refused_user", who[0] ? who : NULL, NULL);
	yg_gd_send_error(fd, YG_ERR_BUSY, "box %s is in use %s; %s", s->u.domain, since,
			 s->u.attach && h->uid != s->u.uid ? "only its user may attach to that "
			 "session (an administrator can allow others with attach = yes in "
			 "[box:] for this box)" : "log out there first, or try again later");
	close(fd);
	return YG_GD_END_NONE;
}

static void on_queued(void *opaque, int fd, const struct yg_gd_handoff *h)
{
	queue_next(opaque, fd, h);
}

/* yolo-gatectl end wrote run_dir/sessions/<id>.end (its message) and sent
 * SIGUSR1: take the message if root or we wrote it. */
static void read_end_msg(struct yg_gd_sess *s)
{
	char path[PATH_MAX];
	yg_err err;
	int r;

	s->end_msg[0] = '\0';
	if (yg_rundir_end_path(path, sizeof(path), s->gate->run_dir, s->id, NULL) < 0)
		return;
	r = yg_rundir_end_take(path, geteuid(), s->end_msg, sizeof(s->end_msg), &err);
	if (r < 0 && r != -ENOENT)
		yg_log(YG_LOG_WARNING, "event", "end_request_refused", "session", s->id,
		       "error", err.msg, NULL);
}

static enum yg_gd_end on_tick(void *opaque, const struct yg_gd_times *t)
{
	struct yg_gd_sess *s = opaque;

	if (yg_gd_end_requested()) {
		read_end_msg(s);
		return YG_GD_END_ADMIN;
	}
	if (yg_gd_exec_dead())
		return YG_GD_END_BOXD;
	/* A libvirtd restart kills the connection but the console stream
	 * reports nothing: notice it here, within one tick. */
	if (yg_conn_alive(s->conn) == 0)
		return YG_GD_END_LIBVIRT;
	if (t->now - s->info_ms >= 1000 && t->last_active != s->info_active)
		yg_gd_sessinfo(s, t);
	return YG_GD_END_NONE;
}

static void on_output(void *opaque, const uint8_t *buf, size_t len)
{
	yg_gd_rec_output(((struct yg_gd_sess *)opaque)->rec, buf, len);
}

/* Remote commands alone: the session ends once none runs and linger has
 * passed since the last one ended. */
static enum yg_gd_end on_run_tick(void *opaque, const struct yg_gd_times *t)
{
	struct yg_gd_sess *s = opaque;
	enum yg_gd_end e = on_tick(opaque, t);

	if (e != YG_GD_END_NONE)
		return e;
	if (yg_gd_exec_count()) {
		s->linger_end = 0;
		return YG_GD_END_NONE;
	}
	if (!s->linger_end)
		s->linger_end = t->now + s->u.linger_ms;
	return t->now >= s->linger_end ? YG_GD_END_DONE : YG_GD_END_NONE;
}

static const struct yg_gd_relay_ops yg_gd_sess_ops = {
	.winch = on_winch,
	.handoff = on_handoff,
	.queued = on_queued,
	.tick = on_tick,
	.output = on_output,
	.detach = on_detach,
};

static const struct yg_gd_relay_ops yg_gd_run_ops = {
	.handoff = on_handoff,
	.queued = on_queued,
	.tick = on_run_tick,
};

/* The EXIT text for an end, with the administrator's message if any. */
static const char *end_reason(struct yg_gd_sess *s, enum yg_gd_end e, char *buf, size_t len)
{
	char host[160];

	if (e == YG_GD_END_LIBVIRT && !yg_gd_host_local(s->u.host)) {
		yg_gd_host_down_text(s, host, sizeof(host));
		snprintf(buf, len, "%s; the session ended, and the box is reverted (its keys "
			 "wiped) once the host is back", host);
		return buf;
	}
	if (e != YG_GD_END_ADMIN || !s->end_msg[0])
		return end_text(e);
	snprintf(buf, len, "%s: %.900s", end_text(e), s->end_msg);
	return buf;
}

/* Stop taking handoffs: new senders find no socket and wait for the lock
 * (telling their client), those already in flight are drained into the
 * queue, so none is lost. */
void yg_gd_stop_rendezvous(struct yg_gd_sess *s)
{
	struct yg_gd_handoff h;
	int fd;

	if (s->rdv_fd < 0)
		return;
	unlink(s->rdv_path);
	for (int n = 0; n < 64; n++) {	/* bounded: the backlog is small */
		if (yg_gd_rdv_accept(s->rdv_fd, &fd, &h) == -EAGAIN)
			break;
		if (fd >= 0)
			queue_next(s, fd, &h);
	}
	close(s->rdv_fd);
	s->rdv_fd = -1;
}

/* The logout (wipe, revert) runs with no rendezvous socket: a login that
 * comes meanwhile waits for the lock instead of being refused. */
static void logout(struct yg_gd_sess *s, enum yg_gd_end e)
{
	char buf[YG_TEXT_MAX];

	yg_gd_stop_rendezvous(s);
	yg_gd_logout(s, e, end_reason(s, e, buf, sizeof(buf)));
	s->end_msg[0] = '\0';
}

bool yg_gd_next_queued(struct yg_gd_sess *s)
{
	yg_err err;
	int r;

	yg_gd_stop_rendezvous(s);
	if (s->next_fd < 0)
		return false;
	r = yg_gd_rdv_listen(s->gate->run_dir, yg_gd_key(s), s->rdv_path, sizeof(s->rdv_path), &err);
	if (r < 0)
		yg_gd_fail(s, YG_ERR_INTERNAL, "rendezvous_failed", err.msg);
	s->rdv_fd = r;
	return true;
}

/* After a logout: a login queued meanwhile, or one that comes while the
 * box's console is held (hold.c), resolved with the policy of now. */
static bool next_or_hold(struct yg_gd_sess *s)
{
	yg_err err;

	if (yg_gd_next_queued(s))
		return true;
	if (!yg_gd_hold(s))
		return false;
	if (yg_gd_policy_refresh(&s->pol, &err) < 0) {
		s->fd = s->next_fd;
		s->next_fd = -1;
		yg_gd_fail(s, YG_ERR_INTERNAL, "policy_error", err.msg);
	}
	return true;
}

/* The queued (or taking-over) client becomes a new session of the box. */
static void __attribute__((noreturn)) serve_next(struct yg_gd_sess *s)
{
	bool prepare = s->next.type == YG_MSG_PREPARE;

	take_next(s, true);
	if (prepare)
		yg_gd_serve_prepare(s);
	yg_gd_login_or_fail(s);
	yg_gd_serve(s);
}

/* Remote commands without a console, from the first (s->fd, s->run) on,
 * until the last ends and linger passed, or a login joins (ATTACH). */
static enum yg_gd_end run_commands(struct yg_gd_sess *s)
{
	if (s->fd >= 0) {
		yg_gd_sessinfo(s, NULL);
		(void)yg_gd_exec_add(s, s->fd, s->in, &s->run, s->u.user);
		s->fd = -1;	/* the command's now */
	}
	s->linger_end = 0;
	return yg_gd_wait_handoff(s->rdv_fd, s->sig_fd, 0, &yg_gd_run_ops, s);
}

/* Relay (or run commands), end, and serve the next client while one was
 * handed over or is queued. */
void yg_gd_serve(struct yg_gd_sess *s)
{
	enum yg_gd_end e;

	for (;;) {
		e = s->run_mode ? run_commands(s) : yg_gd_attach(s, &yg_gd_sess_ops);
		if (e == YG_GD_END_ATTACH) {	/* a login joined the commands */
			s->run_mode = false;
			take_next(s, false);
			continue;
		}
		logout(s, e);
		if (e == YG_GD_END_SIGNAL || !next_or_hold(s))
			yg_gd_exit(s, 0);
		if (s->next.type == YG_MSG_PREPARE)
			serve_next(s);
		s->run_mode = s->next.type == YG_MSG_RUN;
		if (s->run_mode)
			s->run = s->next.run;
		take_next(s, true);
		yg_gd_login_or_fail(s);
	}
}

void yg_gd_serve_run(struct yg_gd_sess *s)
{
	s->run_mode = true;
	yg_gd_serve(s);
}

/* After PREPARE: wait for the shell (attach), a takeover, or nobody. */
void yg_gd_serve_prepared(struct yg_gd_sess *s)
{
	enum yg_gd_end e;

	s->prepared = true;
	e = yg_gd_wait_handoff(s->rdv_fd, s->sig_fd, YG_GD_PREPARE_WAIT_MS, &yg_gd_sess_ops, s);
	if (e == YG_GD_END_ATTACH) {
		s->run_mode = s->next.type == YG_MSG_RUN;
		if (s->run_mode)
			s->run = s->next.run;
		take_next(s, false);
		yg_gd_serve(s);
	}
	logout(s, e);
	if (e != YG_GD_END_SIGNAL && next_or_hold(s))
		serve_next(s);
	yg_gd_exit(s, 0);
}

void yg_gd_serve_prepare(struct yg_gd_sess *s)
{
	uint32_t code;
	yg_err err;
	int pam_fd = s->fd;

	s->fd = -1;	/* no PROGRESS to PAM: it waits for SESSION only */
	if (yg_gd_login(s, &code, &err) < 0) {
		s->fd = pam_fd;
		yg_gd_fail(s, code, "prepare_failed", err.msg);
	}
	yg_gd_send_session(pam_fd, s->id);
	yg_gd_audit(YG_LOG_INFO, "prepared", "session", s->id, "user", s->u.user,
		    "box", s->u.domain, "from", s->from[0] ? s->from : NULL, NULL);
	yg_gd_serve_prepared(s);
}
