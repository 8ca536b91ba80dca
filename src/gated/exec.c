/* SPDX-License-Identifier: MIT */
/* exec.c: remote commands (RUN) in a session child, over the box's channel
 * to yolo-boxd (boxd.c owns the channel; codec yg_chan.h).
 *
 * The channel is opened by the login (keys) or the first command and kept
 * until the session ends; one channel stream per command, each tied to its
 * client's socket (the client speaks yg_proto.h: DATA is stdin and stdout,
 * STDERR, EOF, WINCH, SIGNAL, EXIT). Everything runs on the process's event
 * loop, next to the console relay when a login holds the session.
 *
 * Every byte from the guest is hostile: frames go through the channel
 * decoder, a guest that overruns a window, names a stream that is not open,
 * sends a message the host does not take, or does not answer PING within
 * YG_GD_BOXD_PONG_MS makes the channel dead: every command gets a line on its
 * stderr and EXIT 255, and the session ends (yg_gd_exec_dead), which
 * reverts the box. Memory is bounded: a client gets at most the stream's
 * window in flight plus half of it buffered (credit is given back to the
 * guest only while the client's buffer is at most half full); the guest
 * gets stdin only as its credit allows.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "yg_chan.h"
#include "yg_console.h"
#include "yg_keyfile.h"
#include "yg_log.h"
#include "yg_loop.h"
#include "session.h"

#define TOCLI_CAP   (2u * YG_CHAN_WINDOW)
#define GONE_KILL_MS 10000u	/* client gone, no EXITED: SIGKILL after this */
#define GONE_DROP_MS 20000u	/* ... and the stream is dropped after this */

/* One command. */
struct xs {
	uint32_t id;		/* channel stream */
	struct yg_ep *ep;	/* the client's socket (owned) */
	yg_frame_in in;		/* what the client sent */
	uint8_t *out;		/* frames for the client, TOCLI_CAP */
	size_t off, len;
	yg_chan_credit to_box, from_box;
	size_t unpassed;	/* output taken but not yet given back as credit */
	bool pty, exited, gone;
	uint64_t gone_at;
	uint32_t status;
	uint64_t bytes_in, bytes_out, t0;
	char user[YG_NAME_MAX + 1];
};

static struct {
	struct yg_gd_sess *s;
	struct xs *xs[YG_GD_EXEC_MAX];
	size_t n;
	bool failed;		/* the channel died under commands: the session ends */
} X;

static void update(void);

/* Move the pending bytes to the front when fewer than need bytes are free
 * behind them (not on every frame: a buffer of many frames would be copied
 * over and over); the copy they leave behind is zeroed (an EXEC carries key
 * values). */
static void compact(uint8_t *buf, size_t cap, size_t *off, size_t *len, size_t need)
{
	if (*off && cap - *off - *len < need) {
		memmove(buf, buf + *off, *len);
		memset(buf + *len, 0, *off);
		*off = 0;
	}
}

/* ---- the client side ---- */

static bool to_cli(struct xs *x, const yg_msg *m)
{
	size_t n;

	if (x->gone)
		return true;
	compact(x->out, TOCLI_CAP, &x->off, &x->len, 4 + YG_FRAME_MAX);
	if (yg_msg_encode_to(m, x->out + x->off + x->len, TOCLI_CAP - x->off - x->len, &n) < 0)
		return false;
	x->len += n;
	return true;
}

static void cli_text(struct xs *x, uint8_t type, uint32_t status, const char *text)
{
	yg_msg m = { .type = type };

	if (type == YG_MSG_EXIT) {
		m.u.exit.status = status;
		snprintf(m.u.exit.reason, sizeof(m.u.exit.reason), "%s", text);
	} else {
		m.u.data.bytes = (const uint8_t *)text;
		m.u.data.len = strlen(text);
	}
	(void)to_cli(x, &m);
}

/* Give output credit back while the client's buffer is at most half full. */
static void give_credit(struct xs *x)
{
	uint32_t w;

	if (x->exited || !x->unpassed || (!x->gone && x->len > TOCLI_CAP / 4))
		return;
	w = yg_chan_credit_passed(&x->from_box, x->unpassed);
	x->unpassed = 0;
	if (w)
		yg_gd_boxd_ctl(YG_CHAN_MSG_WINDOW, x->id, w);
}

static void stream_end(struct xs *x, uint32_t status, const char *why)
{
	yg_msg m = { .type = YG_MSG_EXIT };

	if (x->exited)
		return;
	x->exited = true;
	x->status = status;
	m.u.exit.status = status;
	snprintf(m.u.exit.reason, sizeof(m.u.exit.reason), "%s", why);
	if (!to_cli(x, &m)) {	/* no room: the output is cut, the EXIT goes */
		x->len = x->off = 0;
		(void)to_cli(x, &m);
	}
}

static void client_gone(struct xs *x)
{
	if (x->gone)
		return;
	x->gone = true;
	x->gone_at = yg_now_ms();
	x->len = x->off = 0;
	if (!x->exited && !yg_gd_boxd_dead())
		yg_gd_boxd_ctl(YG_CHAN_MSG_SIGNAL, x->id, SIGHUP);
	give_credit(x);
}

static ssize_t ep_read(void *ep, void *buf, size_t len)
{
	return yg_ep_read(ep, buf, len);
}

/* The client's frames, as far as the guest's credit and the channel's
 * queue take them (a DATA is taken only when a whole one fits). */
static void client_frames(struct xs *x)
{
	const uint8_t *payload;
	uint8_t type;
	size_t len;
	yg_msg m;
	int k;

	while (!x->gone && !x->exited && !yg_gd_boxd_dead() && yg_gd_boxd_room(YG_FRAME_MAX) &&
	       yg_chan_credit_room(&x->to_box) >= YG_DATA_MAX) {
		k = yg_frame_next(&x->in, &type, &payload, &len);
		if (k == 0)
			return;
		if (k < 0 || yg_msg_decode(type, payload, len, &m) < 0) {
			client_gone(x);
			return;
		}
		switch (m.type) {
		case YG_MSG_DATA: {
			yg_chan_msg d = { .type = YG_CHAN_MSG_DATA, .stream = x->id };

			if (!m.u.data.len)
				break;
			d.u.data.fd = 0;
			d.u.data.bytes = m.u.data.bytes;
			d.u.data.len = m.u.data.len;
			(void)yg_chan_credit_take(&x->to_box, m.u.data.len);
			x->bytes_in += m.u.data.len;
			if (!yg_gd_boxd_send(&d))
				yg_gd_boxd_kill("its queue is full (it does not read)");
			break;
		}
		case YG_MSG_EOF:
			yg_gd_boxd_ctl(YG_CHAN_MSG_EOF, x->id, 0);
			break;
		case YG_MSG_WINCH:
			if (x->pty) {
				yg_chan_msg r = { .type = YG_CHAN_MSG_RESIZE, .stream = x->id };

				r.u.resize.rows = m.u.winch.rows;
				r.u.resize.cols = m.u.winch.cols;
				if (!yg_gd_boxd_send(&r))
					yg_gd_boxd_kill("its queue is full (it does not read)");
			}
			break;
		case YG_MSG_SIGNAL:
			yg_gd_boxd_ctl(YG_CHAN_MSG_SIGNAL, x->id, m.u.signal.signo);
			break;
		default:	/* EXIT (the user left) or out of phase */
			client_gone(x);
			return;
		}
	}
}

static void client_cb(struct yg_ep *ep, int events, void *opaque)
{
	struct xs *x = opaque;
	ssize_t n;

	if (x->gone)
		return;
	if ((events & YG_EV_WRITE) && x->len) {
		n = yg_ep_write(ep, x->out + x->off, x->len);
		if (n > 0) {
			x->off += (size_t)n;
			x->len -= (size_t)n;
		} else if (n != -EAGAIN) {
			client_gone(x);
		}
		give_credit(x);
	}
	if (!x->gone && !x->exited && (events & YG_EV_READ)) {
		n = yg_frame_in_read(&x->in, ep_read, ep);
		if (n == 0 || (n < 0 && n != -EAGAIN && n != -ENOBUFS))
			client_gone(x);
	} else if (!(events & (YG_EV_READ | YG_EV_WRITE)) && (events & (YG_EV_HUP | YG_EV_ERROR))) {
		client_gone(x);
	}
	client_frames(x);
	update();
}

/* ---- the guest side ---- */

static struct xs *find(uint32_t id)
{
	for (size_t i = 0; i < X.n; i++)
		if (X.xs[i]->id == id)
			return X.xs[i];
	return NULL;
}

/* boxd.c: the channel died; every command gets line on its stderr and 255.
 * With commands running (or a session of commands), the session ends. */
static void on_dead(const char *line)
{
	X.failed |= X.n > 0 || (X.s && X.s->run_mode);
	for (size_t i = 0; i < X.n; i++) {
		cli_text(X.xs[i], YG_MSG_STDERR, 0, line);
		stream_end(X.xs[i], 255, "yolo-boxd failed");
	}
}

/* EXITED or FAILED of a command. */
static void guest_end(struct xs *x, const yg_chan_msg *m)
{
	char line[YG_TEXT_MAX + 16];
	uint32_t st;

	if (m->type == YG_CHAN_MSG_EXITED) {
		st = m->u.exited.how == YG_CHAN_EXIT_SIGNAL ? 128u + m->u.exited.value :
			m->u.exited.value;
		stream_end(x, st, "");
		return;
	}
	snprintf(line, sizeof(line), "%s%s\n", m->u.failed.code == YG_CHAN_E_NOENT ? "" :
		 "yolo-gate: ", m->u.failed.text);
	cli_text(x, YG_MSG_STDERR, 0, line);
	stream_end(x, m->u.failed.code == YG_CHAN_E_NOENT ? 127 :
		   m->u.failed.code == YG_CHAN_E_PERM ? 126 : 1, "");
}

static void guest_data(struct xs *x, const yg_chan_msg *m)
{
	yg_msg d = { .type = m->u.data.fd == 2 ? YG_MSG_STDERR : YG_MSG_DATA };

	if (m->u.data.fd == 0 || !yg_chan_credit_take(&x->from_box, m->u.data.len)) {
		yg_gd_boxd_kill("sent more output than its window allows (stream %u)", x->id);
		return;
	}
	x->bytes_out += m->u.data.len;
	yg_gd_rec_output(X.s->rec, m->u.data.bytes, m->u.data.len);
	x->unpassed += m->u.data.len;
	d.u.data.bytes = m->u.data.bytes;
	d.u.data.len = m->u.data.len;
	if (!to_cli(x, &d))	/* cannot happen within the window: be safe */
		yg_gd_boxd_kill("sent output beyond what the host buffers (stream %u)", x->id);
	give_credit(x);
}

/* boxd.c: a message on a stream that is not a request; false: the host
 * does not take it (the channel dies). */
static bool on_stream(const yg_chan_msg *m)
{
	struct xs *x = find(m->stream);

	if (!x)
		return false;
	switch (m->type) {
	case YG_CHAN_MSG_STARTED:
	case YG_CHAN_MSG_EOF:
		return true;
	case YG_CHAN_MSG_DATA:
		if (x->exited)
			return false;
		guest_data(x, m);
		return true;
	case YG_CHAN_MSG_WINDOW:
		return x->exited || yg_chan_credit_give(&x->to_box, m->u.window.bytes);
	case YG_CHAN_MSG_EXITED:
	case YG_CHAN_MSG_FAILED:
		if (x->exited)
			return false;
		guest_end(x, m);
		return true;
	default:
		return false;
	}
}

/* boxd.c: after channel I/O and on its tick */
static void on_pump(void)
{
	for (size_t i = 0; i < X.n; i++)
		client_frames(X.xs[i]);
	update();
}

static bool on_busy(void)
{
	return X.n > 0;
}

const struct yg_gd_boxd_hooks yg_gd_exec_hooks = {
	.stream_msg = on_stream,
	.dead = on_dead,
	.pump = on_pump,
	.busy = on_busy,
};

/* ---- bookkeeping ---- */

/* record = yes: a line in the session's recording (with its output). */
static void rec_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void rec_line(const char *fmt, ...)
{
	char line[600];
	va_list ap;
	int n;

	if (!X.s->rec)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		yg_gd_rec_output(X.s->rec, (const uint8_t *)line,
				 (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void audit_end(struct xs *x)
{
	char id[16], st[16], in[24], out[24], ms[24];

	snprintf(id, sizeof(id), "%u", x->id);
	snprintf(st, sizeof(st), "%u", x->status);
	snprintf(in, sizeof(in), "%llu", (unsigned long long)x->bytes_in);
	snprintf(out, sizeof(out), "%llu", (unsigned long long)x->bytes_out);
	snprintf(ms, sizeof(ms), "%llu", (unsigned long long)(yg_now_ms() - x->t0));
	rec_line("\r\n[yolo-gate: %s command %u: status %s]\r\n", x->user, x->id,
		 x->exited ? st : "none");
	yg_gd_audit(YG_LOG_INFO, "exec_end", "session", X.s->id, "user", x->user,
		    "box", X.s->u.domain, "stream", id, "status", x->exited ? st : "none",
		    "bytes_in", in, "bytes_out", out, "ms", ms, NULL);
}

static void xs_free(size_t i)
{
	struct xs *x = X.xs[i];

	audit_end(x);
	yg_ep_close(x->ep);
	free(x->out);
	free(x);
	X.xs[i] = X.xs[--X.n];
}

/* Streams that are over: exited and flushed, or gone and exited (or
 * overdue). */
static void reap(void)
{
	uint64_t now = yg_now_ms();

	for (size_t i = 0; i < X.n;) {
		struct xs *x = X.xs[i];

		if (x->gone && !x->exited && !yg_gd_boxd_dead() && now - x->gone_at >= GONE_KILL_MS &&
		    now - x->gone_at < GONE_KILL_MS + YG_GD_BOXD_TICK_MS)
			yg_gd_boxd_ctl(YG_CHAN_MSG_SIGNAL, x->id, SIGKILL);
		if ((x->exited && (x->gone || !x->len)) ||
		    (x->gone && (yg_gd_boxd_dead() || now - x->gone_at >= GONE_DROP_MS)))
			xs_free(i);
		else
			i++;
	}
}

static void update(void)
{
	reap();
	for (size_t i = 0; i < X.n; i++) {
		struct xs *x = X.xs[i];
		int ev = 0;

		if (!x->gone && x->len)
			ev |= YG_EV_WRITE;
		if (!x->gone && !x->exited && !yg_gd_boxd_dead() && yg_gd_boxd_room(YG_FRAME_MAX) &&
		    yg_chan_credit_room(&x->to_box) >= YG_DATA_MAX)
			ev |= YG_EV_READ;
		(void)yg_ep_interest(x->ep, ev);
	}
	yg_gd_boxd_update();
}

/* The channel up (opened by the login, or now: HELLO within
 * YG_GD_BOXD_HELLO_MS, then CLOCK, before any command). 0, or -1 with why. */
static int chan_open(struct yg_gd_sess *s, char *why, size_t len)
{
	X.s = s;
	if (yg_gd_boxd_up())
		return 0;
	yg_gd_boxd_hooks(&yg_gd_exec_hooks);
	if (yg_gd_boxd_start(s, why, len) < 0)
		return -1;
	if (yg_gd_boxd_settle(YG_GD_BOXD_HELLO_MS, why, len) < 0) {
		if (!yg_gd_boxd_dead())
			yg_gd_boxd_close();	/* the next command tries again */
		return -1;
	}
	if (yg_gd_boxd_features() & YG_CHAN_F_CLOCK)
		(void)yg_gd_boxd_clock();
	return 0;
}

/* The sftp subsystem: the box's own sftp-server, wherever its distribution
 * puts it. */
static const char sftp_cmd[] =
	"for p in /usr/lib/openssh/sftp-server /usr/libexec/sftp-server "
	"/usr/libexec/openssh/sftp-server /usr/lib/sftp-server; do "
	"[ -x \"$p\" ] && exec \"$p\"; done; "
	"echo 'yolo-gate: this box has no sftp-server: install openssh-sftp-server in "
	"its image' >&2; exit 127";

/* The session's keys as environment entries (the lines of kf, made
 * NUL-terminated in place): the key file the login put into the box is
 * read by login shells; a command's shell is none. */
static void keys_env(struct yg_gd_sess *s, yg_keyfile *kf, yg_chan_msg *e)
{
	yg_err err;
	char *p, *end;

	if (s->keys_boxd)	/* yolo-boxd has them (KEYS) and adds them itself */
		return;
	if (!s->u.keys[0] || yg_keyfile_load(s->u.keys, geteuid(), kf, &err) < 0)
		return;
	for (p = kf->buf, end = kf->buf + kf->len; p < end && e->u.exec.envc < YG_CHAN_ARGS_MAX;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			break;
		*nl = '\0';
		e->u.exec.envp[e->u.exec.envc++] = p;
		p = nl + 1;
	}
}

static int send_exec(struct yg_gd_sess *s, struct xs *x, const struct yg_gd_run *run)
{
	static yg_chan_msg e;
	yg_keyfile kf = { 0 };
	bool ok;

	memset(&e, 0, sizeof(e));
	e.type = YG_CHAN_MSG_EXEC;
	e.stream = x->id;
	e.u.exec.flags = x->pty ? YG_CHAN_EXEC_PTY : 0;
	e.u.exec.rows = run->rows;
	e.u.exec.cols = run->cols;
	snprintf(e.u.exec.term, sizeof(e.u.exec.term), "%s", x->pty ? run->term : "");
	e.u.exec.argc = 3;
	e.u.exec.argv[0] = "/bin/sh";
	e.u.exec.argv[1] = "-c";
	e.u.exec.argv[2] = run->subsystem[0] ? sftp_cmd : run->command;
	keys_env(s, &kf, &e);	/* TERM: yolo-boxd's, from e.u.exec.term */
	ok = yg_gd_boxd_send(&e);
	yg_keyfile_clear(&kf);
	memset(&e.u.exec, 0, sizeof(e.u.exec));
	return ok ? 0 : -EMSGSIZE;
}

int yg_gd_exec_add(struct yg_gd_sess *s, int fd, const yg_frame_in *in,
		   const struct yg_gd_run *run, const char *user)
{
	char why[YG_TEXT_MAX], id[16];
	struct xs *x;

	if (X.n >= YG_GD_EXEC_MAX) {
		yg_gd_send_error(fd, YG_ERR_BUSY, "box %s runs %u commands already; try again "
				 "when one has ended", s->u.domain, YG_GD_EXEC_MAX);
		close(fd);
		return -1;
	}
	if (chan_open(s, why, sizeof(why)) < 0 || !yg_gd_boxd_room(YG_FRAME_MAX)) {
		yg_gd_audit(YG_LOG_WARNING, "exec_failed", "session", s->id, "user", user,
			    "box", s->u.domain, "error", why, NULL);
		yg_gd_send_error(fd, YG_ERR_AGENT, "%s", yg_gd_boxd_up() ? "the box's yolo-boxd "
				 "does not keep up; try again" : why);
		close(fd);
		return -1;
	}
	x = calloc(1, sizeof(*x));
	if (x)
		x->out = malloc(TOCLI_CAP);
	if (!x || !x->out || yg_ep_fd_new(fd, YG_EP_OWN_FD, &x->ep) < 0) {
		if (x)
			free(x->out);
		free(x);
		yg_gd_send_error(fd, YG_ERR_INTERNAL, "out of memory; try again");
		close(fd);
		return -1;
	}
	if (in)
		memcpy(&x->in, in, sizeof(x->in));
	else
		yg_frame_in_init(&x->in);
	x->id = yg_gd_boxd_stream();
	x->pty = (run->flags & YG_RUN_PTY) && !run->subsystem[0];
	x->t0 = yg_now_ms();
	snprintf(x->user, sizeof(x->user), "%s", user);
	yg_chan_credit_init(&x->to_box);
	yg_chan_credit_init(&x->from_box);
	X.xs[X.n++] = x;
	yg_ep_bind(x->ep, client_cb, x);
	if (yg_gd_send_ready(s, fd) < 0) {
		client_gone(x);
		x->exited = true;
	} else if (send_exec(s, x, run) < 0) {
		cli_text(x, YG_MSG_STDERR, 0, "yolo-gate: the command, with your keys as its "
			 "environment, is larger than one channel frame (64 KiB): shorten it\n");
		stream_end(x, 1, "");
	}
	snprintf(id, sizeof(id), "%u", x->id);
	if (s->u.record && !s->rec) {
		yg_err rerr;

		if (yg_gd_rec_open(s, &s->rec, &rerr) < 0)
			yg_gd_audit(YG_LOG_ERROR, "record_failed", "session", s->id, "user",
				    s->u.user, "error", rerr.msg, NULL);
	}
	rec_line("\r\n[yolo-gate: %s command %u: %.400s]\r\n", user, x->id,
		 run->subsystem[0] ? run->subsystem : run->command);
	yg_gd_audit(YG_LOG_INFO, "exec_start", "session", s->id, "user", user,
		    "box", s->u.domain, "stream", id,
		    "subsystem", run->subsystem[0] ? run->subsystem : NULL,
		    "command", run->subsystem[0] ? NULL : run->command,
		    "pty", x->pty ? "yes" : "no", NULL);
	client_frames(x);
	update();
	return 0;
}

size_t yg_gd_exec_count(void)
{
	return X.n;
}

bool yg_gd_exec_dead(void)
{
	return X.failed;
}

void yg_gd_exec_close(const char *why)
{
	uint64_t t0;

	for (size_t i = 0; i < X.n; i++) {
		stream_end(X.xs[i], 255, why);
	}
	/* what is queued for the clients goes out, for a moment at most */
	t0 = yg_now_ms();
	for (bool owed = true; owed && yg_now_ms() - t0 < YG_GD_FLUSH_MS;) {
		owed = false;
		for (size_t i = 0; i < X.n; i++)
			owed |= !X.xs[i]->gone && X.xs[i]->len;
		update();
		if (owed && yg_loop_run_once() < 0)
			break;
	}
	while (X.n) {
		X.xs[0]->gone = true;
		xs_free(0);
	}
	X.failed = false;
}
