/* session.c: one connection, in the child forked for it.
 *
 * The request table says which message may come in which phase and who may
 * send it (OpenSSH monitor style); anything else is logged as
 * event=protocol_error and ends the connection. The RELAY phase (DATA, WINCH,
 * EXIT) is served by relay.c.
 *
 * The child ignores SIGPIPE and SIGHUP and never depends on its client: the
 * end of a session (wipe, revert, unlock) runs even when the client is killed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "yg_log.h"
#include "yg_virtloop.h"
#include "session.h"

enum phase { PH_HELLO = 1u, PH_REQUEST = 2u, PH_RELAY = 4u };
#define REQ_ROOT_ONLY 1u

static void new_sid(struct yg_gd_sess *s)
{
	if (yg_session_id_new(s->id) < 0)
		yg_gd_fail(s, YG_ERR_INTERNAL, "internal_error", "cannot get random bytes for "
			   "a session id; try again");
	s->t_start = yg_now_ms();
}

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
	default:			return "session ended by an error";
	}
}

/* ---- the user of a request ---- */

/* Resolve uid (the peer's, or a handed-off client's) and check it may have
 * box reqbox ("" = its own); on refusal, ERROR and exit. */
static void resolve_user(struct yg_gd_sess *s, uid_t uid, const char *reqbox)
{
	char text[YG_TEXT_MAX];
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
	if (reqbox[0] && strcmp(reqbox, s->u.domain) != 0) {
		if (!yg_gd_may_enter(s->pol, &s->u, reqbox)) {
			snprintf(text, sizeof(text), "user %s may not enter box %s; ask your "
				 "administrator for a [box:%s] entry", s->u.user, reqbox, reqbox);
			yg_gd_fail(s, YG_ERR_DENIED, "denied", text);
		}
		snprintf(s->u.domain, sizeof(s->u.domain), "%s", reqbox);
	}
}

static void login_or_fail(struct yg_gd_sess *s)
{
	uint32_t code;
	yg_err err;

	if (yg_gd_login(s, &code, &err) < 0)
		yg_gd_fail(s, code, "login_failed", err.msg);
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
	s->prepared = false;
	yg_frame_in_init(s->in);
	if (!takeover) {
		yg_gd_winch(s, s->rows, s->cols);
		return;
	}
	resolve_user(s, s->next.uid, s->next.box);
	new_sid(s);
	yg_gd_reclaim(s);
}

/* ---- callbacks from the relay and the PREPARE wait ---- */

static void on_winch(void *opaque, uint16_t rows, uint16_t cols)
{
	yg_gd_winch(opaque, rows, cols);
}

/* concurrent = attach: a later login of this box joins the running console
 * (its sender already checked that its user may enter the box). The policy
 * of the session's user decides; the newcomer's window size wins. */
static enum yg_gd_end join(struct yg_gd_sess *s, int fd, const struct yg_gd_handoff *h)
{
	char uid[16];

	snprintf(uid, sizeof(uid), "%u", (unsigned)h->uid);
	if (yg_gd_send_ready(s, fd) < 0) {
		close(fd);
		return YG_GD_END_NONE;
	}
	yg_gd_audit(YG_LOG_INFO, "attach", "session", s->id, "user", s->u.user,
		    "box", s->u.domain, "uid", uid, NULL);
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

static enum yg_gd_end on_handoff(void *opaque, int fd, const struct yg_gd_handoff *h)
{
	struct yg_gd_sess *s = opaque;
	char since[128], uid[16];

	snprintf(uid, sizeof(uid), "%u", (unsigned)h->uid);
	if (h->type == YG_MSG_RELEASE) {
		if (strcmp(h->session, s->id) == 0 && s->release_fd < 0) {
			s->release_fd = fd;
			return YG_GD_END_RELEASE;
		}
		yg_gd_send_exit(fd, 1, "no such session on this box");
		close(fd);
		return YG_GD_END_NONE;
	}
	if (s->next_fd < 0 && s->prepared && ((h->uid == s->u.uid &&
	    strcmp(h->session, s->id) == 0) || s->u.attach)) {
		s->next_fd = fd;
		s->next = *h;
		return YG_GD_END_ATTACH;
	}
	if (s->u.attach && s->st && !s->prepared)	/* concurrent = attach */
		return join(s, fd, h);
	if (s->next_fd < 0 && s->u.takeover) {
		yg_gd_audit(YG_LOG_INFO, "takeover", "session", s->id, "user", s->u.user,
			    "box", s->u.domain, "new_uid", uid, NULL);
		s->next_fd = fd;
		s->next = *h;
		return YG_GD_END_TAKEOVER;
	}
	yg_gd_describe(s, since, sizeof(since));
	yg_gd_audit(YG_LOG_INFO, "refused", "reason", "busy", "session", s->id,
		    "user", s->u.user, "box", s->u.domain, "refused_uid", uid, NULL);
	yg_gd_send_error(fd, YG_ERR_BUSY, "box %s is in use %s; log out there first, or "
			 "try again later", s->u.domain, since);
	close(fd);
	return YG_GD_END_NONE;
}

/* Keep one queued client for after the logout; refuse any other. */
static void queue_next(struct yg_gd_sess *s, int fd, const struct yg_gd_handoff *h)
{
	if (h->type == YG_MSG_OPEN && s->next_fd < 0) {
		s->next_fd = fd;
		s->next = *h;
		return;
	}
	if (h->type == YG_MSG_RELEASE)
		yg_gd_send_exit(fd, 0, "the session had already ended");
	else
		yg_gd_send_error(fd, YG_ERR_BUSY, "box %s is in use by another login; try "
				 "again later", h->box);
	close(fd);
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

static const struct yg_gd_relay_ops yg_gd_sess_ops = {
	.winch = on_winch,
	.handoff = on_handoff,
	.queued = on_queued,
	.tick = on_tick,
	.output = on_output,
	.detach = on_detach,
};

/* The EXIT text for an end, with the administrator's message if any. */
static const char *end_reason(struct yg_gd_sess *s, enum yg_gd_end e, char *buf, size_t len)
{
	if (e != YG_GD_END_ADMIN || !s->end_msg[0])
		return end_text(e);
	snprintf(buf, len, "%s: %.900s", end_text(e), s->end_msg);
	return buf;
}

static void logout(struct yg_gd_sess *s, enum yg_gd_end e)
{
	char buf[YG_TEXT_MAX];

	yg_gd_logout(s, e, end_reason(s, e, buf, sizeof(buf)));
	s->end_msg[0] = '\0';
}

/* After a logout, with the lock still held: is a login waiting for this box?
 * New senders are stopped first (the socket is unlinked: they retry the
 * lock), then those already in flight are drained, so none is lost. */
static bool next_queued(struct yg_gd_sess *s)
{
	struct yg_gd_handoff h;
	yg_err err;
	int fd, r;

	if (s->rdv_fd < 0)
		return s->next_fd >= 0;
	unlink(s->rdv_path);
	for (int n = 0; n < 64; n++) {	/* bounded: the backlog is small */
		if (yg_gd_rdv_accept(s->rdv_fd, &fd, &h) == -EAGAIN)
			break;
		if (fd >= 0)
			queue_next(s, fd, &h);
	}
	close(s->rdv_fd);
	s->rdv_fd = -1;
	if (s->next_fd < 0)
		return false;
	r = yg_gd_rdv_listen(s->gate->run_dir, s->u.domain, s->rdv_path, sizeof(s->rdv_path), &err);
	if (r < 0)
		yg_gd_fail(s, YG_ERR_INTERNAL, "rendezvous_failed", err.msg);
	s->rdv_fd = r;
	return true;
}

/* Relay, end, and serve the next client while one was handed over or is
 * queued. */
static void __attribute__((noreturn)) serve(struct yg_gd_sess *s)
{
	enum yg_gd_end e;

	for (;;) {
		e = yg_gd_attach(s, &yg_gd_sess_ops);
		logout(s, e);
		if (e == YG_GD_END_SIGNAL || !next_queued(s))
			yg_gd_exit(s, 0);
		take_next(s, true);
		login_or_fail(s);
	}
}

/* ---- requests ---- */

static void req_hello(struct yg_gd_sess *s, const yg_msg *m)
{
	yg_msg r = { .type = YG_MSG_HELLO };
	char v[16];

	if (m->u.hello.version != YG_PROTO_VERSION) {
		snprintf(v, sizeof(v), "%u", m->u.hello.version);
		yg_log(YG_LOG_WARNING, "event", "protocol_error", "reason", "version",
		       "version", v, "peer", m->u.hello.peer, NULL);
		yg_gd_send_error(s->fd, YG_ERR_VERSION, "protocol version %u is not supported "
				 "by this yolo-gated (it speaks %u); install matching versions of "
				 "yolo-gate", m->u.hello.version, YG_PROTO_VERSION);
		yg_gd_exit(s, 1);
	}
	r.u.hello.version = YG_PROTO_VERSION;
	snprintf(r.u.hello.peer, sizeof(r.u.hello.peer), "yolo-gated %s", PACKAGE_VERSION);
	if (yg_msg_send(s->fd, &r, YG_GD_SEND_TIMEOUT_MS) < 0)
		yg_gd_exit(s, 1);
}

static void req_open(struct yg_gd_sess *s, const yg_msg *m)
{
	struct yg_gd_handoff h = { .uid = s->peer_uid, .type = YG_MSG_OPEN };
	char busy[160], text[YG_TEXT_MAX];
	uint64_t deadline = yg_now_ms() + YG_GD_HANDOFF_WAIT_MS;
	yg_err err;
	int r;

	s->rows = m->u.open.rows;
	s->cols = m->u.open.cols;

	resolve_user(s, s->peer_uid, m->u.open.box);
	new_sid(s);
	snprintf(h.box, sizeof(h.box), "%s", s->u.domain);
	snprintf(h.session, sizeof(h.session), "%s", m->u.open.session);
	snprintf(h.term, sizeof(h.term), "%s", m->u.open.term);
	h.mode = m->u.open.mode;
	h.rows = m->u.open.rows;
	h.cols = m->u.open.cols;
	/* One box, one owner: either we take the lock, or we hand the client
	 * to the child that has it. Between the two (an owner starting up, or
	 * ending and no longer listening), try again for a while. */
	while ((r = yg_gd_lock(s, busy, sizeof(busy), &err)) == -EWOULDBLOCK) {
		if (yg_gd_rdv_send(s->gate->run_dir, s->u.domain, s->fd, &h, 0) == 0) {
			yg_log(YG_LOG_INFO, "event", "handoff", "user", s->u.user,
			       "box", s->u.domain, NULL);
			close(s->fd);
			s->fd = -1;
			yg_gd_exit(s, 0);
		}
		if (yg_now_ms() > deadline || yg_gd_sigterm()) {
			snprintf(text, sizeof(text), "box %s is in use %s; try again later",
				 s->u.domain, busy);
			yg_gd_fail(s, YG_ERR_BUSY, "busy", text);
		}
		usleep(50 * 1000);
	}
	if (r < 0)
		yg_gd_fail(s, YG_ERR_INTERNAL, "lock_failed", err.msg);
	login_or_fail(s);
	serve(s);
}

static void req_prepare(struct yg_gd_sess *s, const yg_msg *m)
{
	yg_msg r = { .type = YG_MSG_SESSION };
	char busy[160], text[YG_TEXT_MAX];
	enum yg_gd_end e;
	uint32_t code;
	yg_err err;
	int pam_fd, k;

	if (yg_gd_user_by_name(s->pol, m->u.prepare.user, &s->u, &err) < 0 || !s->u.gated) {
		snprintf(text, sizeof(text), "no box is configured for user %s",
			 m->u.prepare.user);
		yg_gd_fail(s, YG_ERR_NOPOLICY, "nopolicy", text);
	}
	if (!s->u.enabled) {
		snprintf(text, sizeof(text), "the box of user %s is disabled", s->u.user);
		yg_gd_fail(s, YG_ERR_DISABLED, "disabled", text);
	}
	new_sid(s);
	snprintf(s->from, sizeof(s->from), "%s", m->u.prepare.from);
	k = yg_gd_lock(s, busy, sizeof(busy), &err);
	if (k == -EWOULDBLOCK) {
		snprintf(text, sizeof(text), "box %s is in use %s", s->u.domain, busy);
		yg_gd_fail(s, YG_ERR_BUSY, "busy", text);
	}
	if (k < 0)
		yg_gd_fail(s, YG_ERR_INTERNAL, "lock_failed", err.msg);
	/* no PROGRESS to PAM: it waits for SESSION only */
	pam_fd = s->fd;
	s->fd = -1;
	if (yg_gd_login(s, &code, &err) < 0) {
		s->fd = pam_fd;
		yg_gd_fail(s, code, "prepare_failed", err.msg);
	}
	snprintf(r.u.session.session, sizeof(r.u.session.session), "%s", s->id);
	yg_msg_send(pam_fd, &r, YG_GD_SEND_TIMEOUT_MS);
	close(pam_fd);
	yg_gd_audit(YG_LOG_INFO, "prepared", "session", s->id, "user", s->u.user,
		    "box", s->u.domain, "from", m->u.prepare.from, NULL);
	s->prepared = true;
	e = yg_gd_wait_handoff(s->rdv_fd, s->sig_fd, YG_GD_PREPARE_WAIT_MS, &yg_gd_sess_ops, s);
	if (e == YG_GD_END_ATTACH || e == YG_GD_END_TAKEOVER) {
		if (e == YG_GD_END_TAKEOVER)
			logout(s, e);
		take_next(s, e == YG_GD_END_TAKEOVER);
		if (e == YG_GD_END_TAKEOVER)
			login_or_fail(s);
		serve(s);
	}
	logout(s, e);
	if (e != YG_GD_END_SIGNAL && next_queued(s)) {
		take_next(s, true);
		login_or_fail(s);
		serve(s);
	}
	yg_gd_exit(s, 0);
}

static void req_release(struct yg_gd_sess *s, const yg_msg *m)
{
	struct yg_gd_handoff h = { .uid = s->peer_uid, .type = YG_MSG_RELEASE };
	struct yg_rundir_session rec;
	char path[PATH_MAX];

	if (yg_rundir_session_path(path, sizeof(path), s->gate->run_dir, m->u.release.session,
				   NULL) == 0 &&
	    yg_rundir_session_read(AT_FDCWD, path, &rec, NULL) == 0) {
		snprintf(h.box, sizeof(h.box), "%s", rec.box);
		snprintf(h.session, sizeof(h.session), "%s", m->u.release.session);
		/* the owner answers EXIT on this connection once the box is down */
		if (yg_gd_rdv_send(s->gate->run_dir, h.box, s->fd, &h, 0) == 0)
			yg_gd_exit(s, 0);
	}
	yg_gd_send_exit(s->fd, 1, "no such session");
	yg_gd_exit(s, 0);
}

static void req_account(struct yg_gd_sess *s, const yg_msg *m)
{
	yg_msg r = { .type = YG_MSG_POLICY };
	yg_err err;
	int k;

	k = yg_gd_user_by_name(s->pol, m->u.account.user, &s->u, &err);
	if (k == -EINVAL) {	/* a policy error: fail closed */
		r.u.policy.gated = 1;
		snprintf(r.u.policy.text, sizeof(r.u.policy.text), "%s", err.msg);
	} else if (k == 0 && s->u.gated) {
		r.u.policy.gated = 1;
		r.u.policy.enabled = s->u.enabled;
		if (!s->u.enabled)
			snprintf(r.u.policy.text, sizeof(r.u.policy.text), "the box of user %s "
				 "is disabled; ask your administrator", s->u.user);
	}
	yg_log(YG_LOG_INFO, "event", "account", "user", m->u.account.user,
	       "gated", r.u.policy.gated ? "yes" : "no",
	       "enabled", r.u.policy.enabled ? "yes" : "no", NULL);
	yg_msg_send(s->fd, &r, YG_GD_SEND_TIMEOUT_MS);
	yg_gd_exit(s, 0);
}

static const struct request {
	uint8_t type;
	unsigned phases;
	unsigned flags;
	void (*fn)(struct yg_gd_sess *s, const yg_msg *m);
} requests[] = {
	{ YG_MSG_HELLO,   PH_HELLO,   0,             req_hello },
	{ YG_MSG_OPEN,    PH_REQUEST, 0,             req_open },
	{ YG_MSG_PREPARE, PH_REQUEST, REQ_ROOT_ONLY, req_prepare },
	{ YG_MSG_RELEASE, PH_REQUEST, REQ_ROOT_ONLY, req_release },
	{ YG_MSG_ACCOUNT, PH_REQUEST, REQ_ROOT_ONLY, req_account },
	/* PH_RELAY: DATA, WINCH, EXIT, in relay.c */
};

static void protocol_error(struct yg_gd_sess *s, const char *why, const char *type)
{
	char uid[16];

	snprintf(uid, sizeof(uid), "%u", (unsigned)s->peer_uid);
	yg_log(YG_LOG_WARNING, "event", "protocol_error", "uid", uid, "reason", why,
	       "type", type, NULL);
	if (s->fd >= 0 && strcmp(why, "eof") != 0)
		yg_gd_send_error(s->fd, YG_ERR_PROTOCOL, "protocol error (%s %s); is this a "
				 "yolo-gate client of the same version?", why, type ? type : "");
	yg_gd_exit(s, 1);
}

static void dispatch(struct yg_gd_sess *s, unsigned phase)
{
	const struct request *q = NULL;
	yg_msg m;
	size_t i;
	int r;

	r = yg_msg_recv(s->fd, s->in, &m, YG_GD_HELLO_TIMEOUT_MS);
	if (r < 0)
		protocol_error(s, r == -ETIMEDOUT ? "timeout" : r == -ECONNRESET ? "eof" :
			       "bad_frame", NULL);
	for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		if (requests[i].type == m.type)
			q = &requests[i];
	if (!q || !(q->phases & phase))
		protocol_error(s, "unexpected", yg_msg_type_name(m.type));
	if ((q->flags & REQ_ROOT_ONLY) && s->peer_uid != 0) {
		char uid[16];

		snprintf(uid, sizeof(uid), "%u", (unsigned)s->peer_uid);
		yg_log(YG_LOG_WARNING, "event", "denied", "uid", uid,
		       "type", yg_msg_type_name(m.type), NULL);
		yg_gd_send_error(s->fd, YG_ERR_DENIED, "only root may send %s",
				 yg_msg_type_name(m.type));
		yg_gd_exit(s, 1);
	}
	q->fn(s, &m);
}

void yg_gd_session_main(int fd, uid_t peer_uid, pid_t peer_pid, yg_policy *pol,
			const struct yg_gd_gate *gate)
{
	static struct yg_gd_sess sess;
	struct yg_gd_sess *s = &sess;
	sigset_t none;
	yg_err err;

	s->fd = fd;
	s->peer_uid = peer_uid;
	s->peer_pid = peer_pid;
	s->pol = pol;
	s->gate = gate;
	yg_gd_audit_setup(gate);
	s->dirfd = s->lockfd = s->rdv_fd = s->next_fd = s->release_fd = -1;
	s->sig_fd = yg_gd_child_signals();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	s->in = malloc(sizeof(*s->in));
	if (!s->in || s->sig_fd < 0)
		_exit(1);
	yg_frame_in_init(s->in);
	/* libvirt's event loop first (the relay runs on it too), then (later)
	 * the one connection */
	if (yg_virtloop_register(&err) < 0)
		yg_gd_fail(s, YG_ERR_INTERNAL, "internal_error", err.msg);
	dispatch(s, PH_HELLO);
	dispatch(s, PH_REQUEST);
	yg_gd_exit(s, 0);
}
