/* SPDX-License-Identifier: MIT */
/* yg_client.c: see yg_client.h */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "yg_client.h"
#include "yg_time.h"

#define YG_CLIENT_RETRY_MAX_MS 100	/* connect retry step while the backlog is full */

/* "300 s" or "250 ms" */
static const char *yg_client_dur(int ms, char *buf, size_t n)
{
	if (ms >= 1000 && ms % 1000 == 0)
		snprintf(buf, n, "%d s", ms / 1000);
	else
		snprintf(buf, n, "%d ms", ms);
	return buf;
}

/* The bound of the next wait, in ms (-1 = none); *overall tells whether it is
 * the connection's deadline rather than the idle bound. */
static int yg_client_bound(const yg_client *c, bool *overall)
{
	int t = c->idle_ms;

	*overall = false;
	if (c->deadline) {
		int left = yg_ms_left(c->deadline);

		if (t < 0 || left <= t) {
			t = left;
			*overall = true;
		}
	}
	return t;
}

static int yg_client_timed_out(const yg_client *c, bool overall, const char *doing,
			       yg_err *err)
{
	char d[32];

	if (overall)
		return yg_err_set(err, -ETIMEDOUT, "the gate service did not answer in time "
				  "(within %s) while %s; try again later or ask your administrator",
				  yg_client_dur(c->timeout_ms, d, sizeof(d)), doing);
	return yg_err_set(err, -ETIMEDOUT, "the gate service did not answer for %s while %s; "
			  "try again later or ask your administrator",
			  yg_client_dur(c->idle_ms, d, sizeof(d)), doing);
}

/* ---- connect ---- */

/* One connect attempt on a non-blocking socket: 0 connected, -EAGAIN the
 * backlog is full (an AF_UNIX socket then stays unconnected: try again), or
 * -errno. */
static int yg_client_try(yg_client *c, const struct sockaddr_un *sa)
{
	struct pollfd p = { .fd = c->fd, .events = POLLOUT };
	socklen_t elen = sizeof(int);
	bool overall;
	int e;

	if (connect(c->fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return 0;
	e = errno;
	if (e != EINPROGRESS)
		return e == EWOULDBLOCK ? -EAGAIN : -e;
	/* not for AF_UNIX today, but the POSIX way to finish a connect */
	if (poll(&p, 1, yg_client_bound(c, &overall)) <= 0)
		return -ETIMEDOUT;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
		return -errno;
	return -e;
}

static int yg_client_dial(yg_client *c, const char *path, yg_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t end = 0, now;
	unsigned step = 1;
	bool overall;
	char d[32];
	int r, t;

	if (strlen(path) >= sizeof(sa.sun_path))
		return yg_err_set(err, -ENAMETOOLONG, "the gate socket path %.80s... is too long; "
				  "ask your administrator", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return yg_err_set(err, -errno, "cannot create a unix socket (%s); try again",
				  strerror(errno));
	t = yg_client_bound(c, &overall);
	if (t >= 0)
		end = yg_now_ms() + (uint64_t)t;
	for (;;) {
		r = yg_client_try(c, &sa);
		if (r != -EAGAIN)
			break;
		/* the broker's backlog is full: it is busy, wait for it within the bound */
		now = yg_now_ms();
		if (end && now >= end) {
			r = -ETIMEDOUT;
			break;
		}
		yg_sleep_ms(end && end - now < step ? end - now : step);
		step = step * 2 > YG_CLIENT_RETRY_MAX_MS ? YG_CLIENT_RETRY_MAX_MS : step * 2;
	}
	if (r == -ETIMEDOUT)
		return yg_err_set(err, r, "the gate service at %s did not accept the connection "
				  "within %s; try again later or ask your administrator", path,
				  yg_client_dur(overall ? c->timeout_ms : c->idle_ms, d, sizeof(d)));
	if (r < 0)
		return yg_err_set(err, r, "the gate service is not running (cannot connect to "
				  "%s: %s); ask your administrator", path, strerror(-r));
	return 0;
}

/* ---- one frame each way ---- */

static int yg_client_send(yg_client *c, const yg_msg *m, yg_err *err)
{
	bool overall;
	int r = yg_msg_send(c->fd, m, yg_client_bound(c, &overall));

	if (r < 0)
		return yg_err_set(err, r, "cannot talk to the gate service (sending %s: %s); "
				  "ask your administrator", yg_msg_type_name(m->type),
				  strerror(-r));
	return 0;
}

static int yg_client_recv(yg_client *c, yg_msg *m, const char *doing, yg_err *err)
{
	bool overall;
	int r = yg_msg_recv(c->fd, c->in, m, yg_client_bound(c, &overall));

	if (r == -ETIMEDOUT)
		return yg_client_timed_out(c, overall, doing, err);
	if (r < 0)
		return yg_err_set(err, r, "the gate service closed the connection while %s (%s); "
				  "ask your administrator", doing,
				  r == -EPROTO ? "protocol error" : strerror(-r));
	return 0;
}

static int yg_client_refused(yg_client *c, const yg_msg *m, yg_err *err)
{
	c->refusal.code = m->u.error.code;
	memcpy(c->refusal.text, m->u.error.text, sizeof(c->refusal.text));
	if (!m->u.error.text[0])
		return yg_err_set(err, -EREMOTEIO, "the gate service refused (error %u) without "
				  "saying why; ask your administrator", m->u.error.code);
	return yg_err_set(err, -EREMOTEIO, "%s", m->u.error.text);
}

static int yg_client_unexpected(const yg_msg *m, uint8_t want, yg_err *err)
{
	return yg_err_set(err, -EBADMSG, "protocol error: the gate service sent %s before %s; "
			  "ask your administrator", yg_msg_type_name(m->type), yg_msg_type_name(want));
}

/* Send req, then wait for the answer of type want: PROGRESS goes to the
 * callback, ERROR is a refusal, EXIT before READY ends an OPEN. */
static int yg_client_call(yg_client *c, const yg_msg *req, uint8_t want, const char *doing,
			  yg_msg *m, yg_err *err)
{
	int r;

	if (c->fd < 0)
		return yg_err_set(err, -ENOTCONN, "not connected to the gate service while %s; "
				  "connect first (a bug in %s)", doing, c->name);
	c->refusal.code = 0;
	c->refusal.text[0] = '\0';
	r = yg_client_send(c, req, err);
	if (r < 0)
		return r;
	for (;;) {
		r = yg_client_recv(c, m, doing, err);
		if (r < 0)
			return r;
		if (m->type == want)
			return 0;
		switch (m->type) {
		case YG_MSG_PROGRESS:
			if (c->progress)
				c->progress(c->progress_ctx, m->u.progress.text);
			break;
		case YG_MSG_ERROR:
			return yg_client_refused(c, m, err);
		case YG_MSG_EXIT:
			if (want != YG_MSG_READY)
				return yg_client_unexpected(m, want, err);
			c->ended.status = m->u.exit.status;
			memcpy(c->ended.reason, m->u.exit.reason, sizeof(c->ended.reason));
			return yg_err_set(err, -ECONNABORTED, "%s", m->u.exit.reason[0] ?
					  m->u.exit.reason : "the gate service ended the "
					  "session before it began; try again");
		default:
			return yg_client_unexpected(m, want, err);
		}
	}
}

/* Copy s (NULL = "") into a protocol string field of size n (max n - 1). */
static int yg_client_field(char *dst, size_t n, const char *s, const char *what,
			   yg_err *err)
{
	if (!s)
		s = "";
	if (strlen(s) >= n)
		return yg_err_set(err, -EINVAL, "the %s '%.64s...' is longer than the %zu bytes "
				  "the gate protocol allows; use a shorter one", what, s, n - 1);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* ---- connect + HELLO ---- */

/* The broker's parent refuses a connection over its share (max_clients) with
 * an ERROR and closes at once, maybe before our HELLO is out: the send then
 * fails (EPIPE), but the ERROR is waiting in our receive queue. Read it. */
static bool yg_client_early_refusal(yg_client *c, yg_msg *m)
{
	return yg_msg_recv(c->fd, c->in, m, 1000) == 0 && m->type == YG_MSG_ERROR;
}

int yg_client_connect(yg_client *c, const yg_client_cfg *cfg, yg_err *err)
{
	yg_msg m = { .type = YG_MSG_HELLO };
	const char *doing = "greeting it";
	int r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = cfg->timeout_ms;
	c->idle_ms = cfg->idle_ms;
	c->progress = cfg->progress;
	c->progress_ctx = cfg->progress_ctx;
	snprintf(c->name, sizeof(c->name), "%s", cfg->name && *cfg->name ? cfg->name : "client");
	if (cfg->timeout_ms >= 0)
		c->deadline = yg_now_ms() + (uint64_t)cfg->timeout_ms;
	c->in = malloc(sizeof(*c->in));
	if (!c->in)
		return yg_err_set(err, -ENOMEM, "out of memory for the connection to the gate "
				  "service; try again");
	yg_frame_in_init(c->in);
	r = yg_client_dial(c, cfg->socket && *cfg->socket ? cfg->socket : YG_CLIENT_SOCKET, err);
	if (r == 0) {
		c->reached = true;
		m.u.hello.version = YG_PROTO_VERSION;
		snprintf(m.u.hello.peer, sizeof(m.u.hello.peer), "%.40s %.20s", c->name,
			 PACKAGE_VERSION);
		r = yg_client_send(c, &m, err);
		if (r == 0)
			r = yg_client_recv(c, &m, doing, err);
		else if (yg_client_early_refusal(c, &m))
			r = 0;	/* the ERROR below says why */
	}
	if (r == 0 && m.type == YG_MSG_ERROR)
		r = yg_client_refused(c, &m, err);
	else if (r == 0 && (m.type != YG_MSG_HELLO || m.u.hello.version != YG_PROTO_VERSION))
		r = yg_err_set(err, -EPROTONOSUPPORT, "the gate service speaks protocol %u, "
			       "this %s speaks %u; ask your administrator to install matching "
			       "versions", m.type == YG_MSG_HELLO ? m.u.hello.version : 0,
			       c->name, YG_PROTO_VERSION);
	if (r < 0) {
		yg_client_close(c);
		return r;
	}
	memcpy(c->broker, m.u.hello.peer, sizeof(c->broker));
	return 0;
}

void yg_client_close(yg_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	c->in = NULL;
}

/* ---- the typed calls ---- */

int yg_client_account(yg_client *c, const char *user, yg_client_policy *out, yg_err *err)
{
	yg_msg req = { .type = YG_MSG_ACCOUNT }, m;
	int r;

	r = yg_client_field(req.u.account.user, sizeof(req.u.account.user), user,
			    "user name", err);
	if (r == 0)
		r = yg_client_call(c, &req, YG_MSG_POLICY, "checking the account", &m, err);
	if (r < 0)
		return r;
	out->gated = m.u.policy.gated;
	out->enabled = m.u.policy.enabled;
	memcpy(out->text, m.u.policy.text, sizeof(out->text));
	return 0;
}

int yg_client_prepare(yg_client *c, const char *user, const char *from,
		      char session[YG_SESSION_MAX + 1], yg_err *err)
{
	yg_msg req = { .type = YG_MSG_PREPARE }, m;
	int r;

	r = yg_client_field(req.u.prepare.user, sizeof(req.u.prepare.user), user,
			    "user name", err);
	if (r == 0)
		r = yg_client_field(req.u.prepare.from, sizeof(req.u.prepare.from), from,
				    "remote host name", err);
	if (r == 0)
		r = yg_client_call(c, &req, YG_MSG_SESSION, "preparing the box", &m, err);
	if (r < 0)
		return r;
	memcpy(session, m.u.session.session, YG_SESSION_MAX + 1);
	return 0;
}

int yg_client_release(yg_client *c, const char *session, yg_client_exit *out, yg_err *err)
{
	yg_msg req = { .type = YG_MSG_RELEASE }, m;
	int r;

	r = yg_client_field(req.u.release.session, sizeof(req.u.release.session), session,
			    "session id", err);
	if (r == 0)
		r = yg_client_call(c, &req, YG_MSG_EXIT, "releasing the session", &m, err);
	if (r < 0)
		return r;
	out->status = m.u.exit.status;
	memcpy(out->reason, m.u.exit.reason, sizeof(out->reason));
	return 0;
}

/* OPEN or RUN (o), when its fields were good (r == 0): PROGRESS... READY. */
static int call_ready(yg_client *c, int r, const yg_msg *o, yg_client_ready *ready, yg_err *err)
{
	yg_msg m;

	if (r == 0)
		r = yg_client_call(c, o, YG_MSG_READY, "preparing your box", &m, err);
	if (r < 0)
		return r;
	memcpy(ready->session, m.u.ready.session, sizeof(ready->session));
	memcpy(ready->box, m.u.ready.box, sizeof(ready->box));
	ready->escape = m.u.ready.escape;
	return 0;
}

/* The fields OPEN and RUN share: term, box, session. */
static int req_fields(char *term, size_t tlen, char *box, size_t blen, char *session,
		      size_t slen, const yg_client_open_req *req, yg_err *err)
{
	int r = yg_client_field(term, tlen, req->term, "TERM", err);

	if (r == 0)
		r = yg_client_field(box, blen, req->box, "box name", err);
	if (r == 0)
		r = yg_client_field(session, slen, req->session, "session id", err);
	return r;
}

int yg_client_open(yg_client *c, const yg_client_open_req *req, yg_client_ready *ready,
		   yg_err *err)
{
	yg_msg o = { .type = YG_MSG_OPEN };
	int r;

	o.u.open.mode = req->tty ? YG_OPEN_TTY : YG_OPEN_PLAIN;
	o.u.open.rows = req->rows;
	o.u.open.cols = req->cols;
	r = req_fields(o.u.open.term, sizeof(o.u.open.term), o.u.open.box, sizeof(o.u.open.box),
		       o.u.open.session, sizeof(o.u.open.session), req, err);
	return call_ready(c, r, &o, ready, err);
}

int yg_client_run(yg_client *c, const yg_client_open_req *req, const char *subsystem,
		  const char *command, yg_client_ready *ready, yg_err *err)
{
	static yg_msg o;	/* a RUN is 33 KB */
	int r;

	memset(&o, 0, sizeof(o));
	o.type = YG_MSG_RUN;
	o.u.run.flags = req->tty ? YG_RUN_PTY : 0;
	o.u.run.rows = req->rows;
	o.u.run.cols = req->cols;
	r = req_fields(o.u.run.term, sizeof(o.u.run.term), o.u.run.box, sizeof(o.u.run.box),
		       o.u.run.session, sizeof(o.u.run.session), req, err);
	if (r == 0)
		r = yg_client_field(o.u.run.subsystem, sizeof(o.u.run.subsystem), subsystem,
				    "subsystem", err);
	if (r == 0)
		r = yg_client_field(o.u.run.command, sizeof(o.u.run.command), command,
				    "command", err);
	return call_ready(c, r, &o, ready, err);
}

bool yg_client_unreachable(int r)
{
	switch (-r) {
	case ENOENT:
	case ENOTDIR:
	case EACCES:
	case ECONNREFUSED:
	case ETIMEDOUT:
	case ECONNRESET:
	case EPIPE:
	case EAGAIN:
		return true;
	default:
		return false;
	}
}
