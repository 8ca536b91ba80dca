/* SPDX-License-Identifier: MIT */
/* dispatch.c: one connection, in the child forked for it: the request table
 * and the requests.
 *
 * The request table says which message may come in which phase and who may
 * send it (OpenSSH monitor style); anything else is logged as
 * event=protocol_error and ends the connection. The RELAY phase (DATA, WINCH,
 * EXIT) is served by relay.c; what happens once a box is held (and when a
 * second login comes for it) by concurrent.c.
 *
 * The child ignores SIGPIPE and SIGHUP and never depends on its client: the
 * end of a session (wipe, revert, unlock) runs even when the client is killed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "yg_log.h"
#include "yg_virtloop.h"
#include "session.h"

enum phase { PH_HELLO = 1u, PH_REQUEST = 2u, PH_RELAY = 4u };
#define REQ_ROOT_ONLY 1u

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

/* Has the client on fd hung up (PAM gave up, the user pressed ^C)? */
static bool client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return false;
	return (p.revents & (POLLHUP | POLLERR)) ||
	       recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* One box, one owner: either we take the lock, or we hand the client (h) to
 * the child that has it, and exit. A locked box whose owner does not listen
 * is starting (a moment) or ending: its logout revert runs. Then wait for the
 * lock, with one PROGRESS line, up to YG_GD_ENDING_WAIT_MS. Returns once we
 * hold the lock; exits otherwise. */
static void lock_or_handoff(struct yg_gd_sess *s, const struct yg_gd_handoff *h)
{
	uint64_t t0 = yg_now_ms(), deadline = t0 + YG_GD_HANDOFF_WAIT_MS;
	char busy[160], text[YG_TEXT_MAX];
	bool told = false;
	yg_err err;
	int r;

	while ((r = yg_gd_lock(s, busy, sizeof(busy), &err)) == -EWOULDBLOCK) {
		r = yg_gd_rdv_send(s->gate->run_dir, yg_gd_key(s), s->fd, h, 0);
		if (r == 0) {
			yg_log(YG_LOG_INFO, "event", "handoff", "user", s->u.user,
			       "box", s->u.domain, "type", yg_msg_type_name(h->type), NULL);
			close(s->fd);
			s->fd = -1;
			yg_gd_exit(s, 0);
		}
		if (client_gone(s->fd)) {
			yg_log(YG_LOG_INFO, "event", "gave_up", "user", s->u.user,
			       "box", s->u.domain, NULL);
			yg_gd_exit(s, 0);
		}
		if (!told && (r == -ENOENT || r == -ECONNREFUSED) && yg_now_ms() - t0 >= 100) {
			told = true;
			deadline = t0 + YG_GD_ENDING_WAIT_MS;
			yg_gd_progress(s, "box %s: waiting for its previous session to end (the box "
				       "is being reverted) ...", s->u.domain);
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
}

/* The shell asks for another box than the one PAM prepared for it (YOLO_BOX):
 * give the PREPAREd one back at once instead of after the prepare wait. Only
 * a session of this user that no shell has opened yet is released. */
static void release_prepared_elsewhere(struct yg_gd_sess *s, const char *session)
{
	struct yg_gd_handoff h = { .uid = s->peer_uid, .type = YG_MSG_RELEASE };
	struct yg_rundir_session rec;
	char path[PATH_MAX], key[YG_RUNDIR_KEY_MAX];
	int sv[2];

	if (!yg_session_id_valid(session) ||
	    yg_rundir_session_path(path, sizeof(path), s->gate->run_dir, session, NULL) < 0 ||
	    yg_rundir_session_read(AT_FDCWD, path, &rec, NULL) < 0 ||
	    rec.uid != s->peer_uid ||
	    (strcmp(rec.box, s->u.domain) == 0 && strcmp(rec.host, s->u.host) == 0))
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	snprintf(h.box, sizeof(h.box), "%s", rec.box);
	snprintf(h.session, sizeof(h.session), "%s", session);
	if (yg_rundir_box_key(key, sizeof(key), rec.host, rec.box, NULL) == 0 &&
	    yg_gd_rdv_send(s->gate->run_dir, key, sv[1], &h, 0) == 0)
		yg_log(YG_LOG_INFO, "event", "release_prepared", "session", session,
		       "user", s->u.user, "box", rec.box, "for_box", s->u.domain, NULL);
	close(sv[0]);	/* the owner's EXIT goes nowhere */
	close(sv[1]);
}

static void req_open(struct yg_gd_sess *s, const yg_msg *m)
{
	struct yg_gd_handoff h = { .uid = s->peer_uid, .type = YG_MSG_OPEN };

	s->rows = m->u.open.rows;
	s->cols = m->u.open.cols;
	snprintf(s->term, sizeof(s->term), "%s", m->u.open.term);

	yg_gd_resolve_user(s, s->peer_uid, m->u.open.box);
	yg_gd_new_id(s);
	snprintf(h.box, sizeof(h.box), "%s", s->u.domain);
	snprintf(h.session, sizeof(h.session), "%s", m->u.open.session);
	snprintf(h.term, sizeof(h.term), "%s", m->u.open.term);
	h.mode = m->u.open.mode;
	h.rows = m->u.open.rows;
	h.cols = m->u.open.cols;
	snprintf(h.user, sizeof(h.user), "%s", s->u.user);
	h.attach_ok = yg_gd_may_attach(s->pol, &s->u, s->u.domain);
	release_prepared_elsewhere(s, m->u.open.session);
	lock_or_handoff(s, &h);
	yg_gd_login_or_fail(s);
	yg_gd_serve(s);
}

/* A remote command: it joins the live session of its box (handoff), or
 * starts one that ends with its last command (concurrent.c). */
static void req_run(struct yg_gd_sess *s, const yg_msg *m)
{
	static struct yg_gd_handoff h;	/* 33 KB: not on the stack */
	char text[YG_TEXT_MAX];

	yg_gd_resolve_user(s, s->peer_uid, m->u.run.box);
	if (!s->u.remote) {
		snprintf(text, sizeof(text), "remote commands and file transfer are turned off "
			 "for box %s (remote = no); ask your administrator", s->u.domain);
		yg_gd_fail(s, YG_ERR_DISABLED, "remote_off", text);
	}
	if (m->u.run.subsystem[0] && strcmp(m->u.run.subsystem, "sftp") != 0) {
		snprintf(text, sizeof(text), "there is no subsystem '%.64s' (only sftp)",
			 m->u.run.subsystem);
		yg_gd_fail(s, YG_ERR_PROTOCOL, "bad_run", text);
	}
	if (!m->u.run.subsystem[0] && !m->u.run.command[0])
		yg_gd_fail(s, YG_ERR_PROTOCOL, "bad_run", "the command is empty");
	yg_gd_new_id(s);
	memset(&h, 0, sizeof(h));
	h.uid = s->peer_uid;
	h.type = YG_MSG_RUN;
	snprintf(h.box, sizeof(h.box), "%s", s->u.domain);
	snprintf(h.session, sizeof(h.session), "%s", m->u.run.session);
	snprintf(h.term, sizeof(h.term), "%s", m->u.run.term);
	h.rows = m->u.run.rows;
	h.cols = m->u.run.cols;
	snprintf(h.user, sizeof(h.user), "%s", s->u.user);
	h.attach_ok = yg_gd_may_attach(s->pol, &s->u, s->u.domain);
	h.run.flags = m->u.run.flags;
	memcpy(h.run.term, m->u.run.term, sizeof(h.run.term));
	h.run.rows = m->u.run.rows;
	h.run.cols = m->u.run.cols;
	memcpy(h.run.subsystem, m->u.run.subsystem, sizeof(h.run.subsystem));
	memcpy(h.run.command, m->u.run.command, sizeof(h.run.command));
	release_prepared_elsewhere(s, m->u.run.session);
	lock_or_handoff(s, &h);
	s->run = h.run;
	yg_gd_login_or_fail(s);
	yg_gd_serve_run(s);
}

static void req_prepare(struct yg_gd_sess *s, const yg_msg *m)
{
	struct yg_gd_handoff h = { .type = YG_MSG_PREPARE };
	char text[YG_TEXT_MAX];
	uint32_t code;
	yg_err err;

	if (yg_gd_user_by_name(s->pol, m->u.prepare.user, &s->u, &err) < 0 || !s->u.gated) {
		snprintf(text, sizeof(text), "no box is configured for user %s",
			 m->u.prepare.user);
		yg_gd_fail(s, YG_ERR_NOPOLICY, "nopolicy", text);
	}
	if (!s->u.enabled) {
		snprintf(text, sizeof(text), "the box of user %s is disabled", s->u.user);
		yg_gd_fail(s, YG_ERR_DISABLED, "disabled", text);
	}
	yg_gd_new_id(s);
	snprintf(s->from, sizeof(s->from), "%s", m->u.prepare.from);
	code = yg_gd_choose_box(s->pol, &s->u, "", text, sizeof(text));
	if (code == YG_ERR_DENIED) {
		/* no default box: the shell names one (YOLO_BOX); nothing to prepare */
		yg_log(YG_LOG_INFO, "event", "prepare_skipped", "session", s->id,
		       "user", s->u.user, "reason", text, NULL);
		yg_gd_send_session(s->fd, s->id);
		yg_gd_exit(s, 0);
	}
	if (code)
		yg_gd_fail(s, code, "nopolicy", text);
	h.uid = s->u.uid;
	snprintf(h.box, sizeof(h.box), "%s", s->u.domain);
	snprintf(h.from, sizeof(h.from), "%s", s->from);
	snprintf(h.user, sizeof(h.user), "%s", s->u.user);
	h.attach_ok = yg_gd_may_attach(s->pol, &s->u, s->u.domain);
	lock_or_handoff(s, &h);
	yg_gd_serve_prepare(s);
}

static void req_release(struct yg_gd_sess *s, const yg_msg *m)
{
	struct yg_gd_handoff h = { .uid = s->peer_uid, .type = YG_MSG_RELEASE };
	struct yg_rundir_session rec;
	char path[PATH_MAX], key[YG_RUNDIR_KEY_MAX];

	if (yg_rundir_session_path(path, sizeof(path), s->gate->run_dir, m->u.release.session,
				   NULL) == 0 &&
	    yg_rundir_session_read(AT_FDCWD, path, &rec, NULL) == 0) {
		snprintf(h.box, sizeof(h.box), "%s", rec.box);
		snprintf(h.session, sizeof(h.session), "%s", m->u.release.session);
		/* the owner answers EXIT on this connection once the box is down */
		if (yg_rundir_box_key(key, sizeof(key), rec.host, rec.box, NULL) == 0 &&
		    yg_gd_rdv_send(s->gate->run_dir, key, s->fd, &h, 0) == 0)
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
	(void)!yg_msg_send(s->fd, &r, YG_GD_SEND_TIMEOUT_MS);	/* best effort */
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
	{ YG_MSG_RUN,     PH_REQUEST, 0,             req_run },
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
	s->sig_fd = yg_gd_child_signals(s);
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
