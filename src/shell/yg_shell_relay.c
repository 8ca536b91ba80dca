/* SPDX-License-Identifier: MIT */
/* yg_shell_relay.c: the byte relay between the user's terminal and the
 * broker, after READY.
 *
 * One poll() loop, bounded buffers in both directions. A side is read only
 * when its destination has room for what one read may produce (stdin: one
 * chunk plus a frame header; the socket: one whole DATA payload), so a slow
 * terminal or a slow broker stops the other side instead of growing memory.
 * The escape byte is looked for in every byte of every read; the bytes before
 * it are still sent.
 *
 * For a remote command (yg_shell_exec_relay) the same loop with three
 * differences: no escape, the end of stdin is an EOF frame (the command
 * reads on), and STDERR frames go to stderr through a queue of their own;
 * the session ends with the broker's EXIT, whose status is the command's. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "yg_shell.h"
#include "yg_shell_text.h"
#include "yg_time.h"

#define READ_CHUNK	4096u		/* a terminal's input */
#define EXEC_CHUNK	YG_DATA_MAX	/* a remote command's stdin (scp, tar) */
#define SOCK_Q		(2u * YG_DATA_MAX + 1024u)
#define OUT_Q		(2u * YG_DATA_MAX)
#define CTL_RESERVE	(4u + 1u + 4u + 2u + 64u)	/* room kept for WINCH/EXIT */
#define LEAVE_WAIT_MS	3000	/* after escape/EOF: wait this long for EXIT */
#define FLUSH_WAIT_MS	2000	/* at the end: bound on draining stdout */

struct qbuf {
	uint8_t *b;
	size_t size, off, len;
};

struct relay {
	int sock;
	yg_frame_in *in;
	int in_fd, out_fd;	/* the user's side: stdin and stdout */
	bool exec;		/* a remote command (see the top) */
	struct qbuf toerr;	/* exec: bytes for stderr */
	uint16_t escape;
	bool tty;
	struct qbuf tosock;	/* encoded frames for the broker */
	struct qbuf toout;	/* bytes for stdout */
	bool stdin_open;
	bool stdout_ok;
	bool need_more;		/* the frame reader wants more socket bytes */
	bool leaving;		/* we sent EXIT; waiting for the broker's */
	bool winch_pending;
	bool done;
	int status;
	char reason[YG_TEXT_MAX + 1];
	uint64_t leave_deadline;	/* yg_now_ms */
};

static int winch_pipe[2] = { -1, -1 };

static void on_winch(int sig)
{
	int saved = errno;
	ssize_t r = write(winch_pipe[1], "w", 1);

	(void)r;
	(void)sig;
	errno = saved;
}

static size_t q_room(struct qbuf *q)
{
	if (q->off && q->len)
		memmove(q->b, q->b + q->off, q->len);
	q->off = 0;
	return q->size - q->len;
}

static void q_consume(struct qbuf *q, size_t n)
{
	q->off += n;
	q->len -= n;
	if (!q->len)
		q->off = 0;
}

static int q_put(struct qbuf *q, const void *p, size_t n)
{
	if (q_room(q) < n)
		return -ENOBUFS;
	memcpy(q->b + q->len, p, n);
	q->len += n;
	return 0;
}

static int queue_msg(struct relay *r, const yg_msg *m)
{
	static yg_frame_out out;
	int e = yg_msg_encode(m, &out);

	if (e < 0)
		return e;
	return q_put(&r->tosock, out.buf, out.len);
}

static void queue_winch(struct relay *r)
{
	struct winsize ws;
	yg_msg m = { .type = YG_MSG_WINCH };

	r->winch_pending = false;
	if (!r->tty || ioctl(r->in_fd, TIOCGWINSZ, &ws) < 0)
		return;
	m.u.winch.rows = ws.ws_row;
	m.u.winch.cols = ws.ws_col;
	if (queue_msg(r, &m) == -ENOBUFS)
		r->winch_pending = true;
}

static void start_leaving(struct relay *r, const char *why)
{
	yg_msg m = { .type = YG_MSG_EXIT };

	if (r->leaving)
		return;
	r->leaving = true;
	r->stdin_open = false;
	m.u.exit.status = 0;
	snprintf(m.u.exit.reason, sizeof(m.u.exit.reason), "%s", why);
	/* CTL_RESERVE guarantees the room: stdin is read only above it. */
	if (queue_msg(r, &m) < 0)
		r->done = true;
	r->leave_deadline = yg_now_ms() + LEAVE_WAIT_MS;
}

/* Milliseconds until deadline (a yg_now_ms value), 0 once it has passed. */
static int ms_until(uint64_t deadline)
{
	uint64_t now = yg_now_ms();

	return deadline > now ? (int)(deadline - now) : 0;
}

static void finish(struct relay *r, int status, const char *reason)
{
	r->done = true;
	r->status = status;
	snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
}

static void read_stdin(struct relay *r)
{
	static uint8_t buf[EXEC_CHUNK];
	yg_msg m = { .type = YG_MSG_DATA };
	ssize_t n, esc;

	n = read(r->in_fd, buf, r->exec ? EXEC_CHUNK : READ_CHUNK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 0 && r->exec) {	/* the command's stdin ends; it goes on */
		yg_msg eof = { .type = YG_MSG_EOF };

		r->stdin_open = false;
		if (queue_msg(r, &eof) < 0)
			finish(r, 1, "internal error: cannot queue input for the gate service");
		return;
	}
	if (n <= 0) {	/* EOF, or EIO after a terminal hangup */
		start_leaving(r, n == 0 ? "eof" : "hangup");
		return;
	}
	esc = yg_shell_escape_find(buf, (size_t)n, r->escape);
	m.u.data.bytes = buf;
	m.u.data.len = esc >= 0 ? (size_t)esc : (size_t)n;
	if (m.u.data.len && queue_msg(r, &m) < 0) {
		finish(r, 1, "internal error: cannot queue input for the gate service");
		return;
	}
	if (esc >= 0)
		start_leaving(r, "escape");
}

static void write_stdout(struct relay *r)
{
	ssize_t n = write(r->out_fd, r->toout.b + r->toout.off, r->toout.len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {	/* the terminal is gone: nothing more to show */
		r->stdout_ok = false;
		r->toout.len = r->toout.off = 0;
		start_leaving(r, "hangup");
		return;
	}
	q_consume(&r->toout, (size_t)n);
}

static void write_stderr(struct relay *r)
{
	ssize_t n = write(STDERR_FILENO, r->toerr.b + r->toerr.off, r->toerr.len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {	/* nobody reads stderr: drop it, not the command */
		r->toerr.len = r->toerr.off = 0;
		return;
	}
	q_consume(&r->toerr, (size_t)n);
}

static void write_sock(struct relay *r)
{
	ssize_t n = send(r->sock, r->tosock.b + r->tosock.off, r->tosock.len,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		finish(r, 1, "the gate service closed the connection; the session is over");
		return;
	}
	q_consume(&r->tosock, (size_t)n);
}

static void handle_msg(struct relay *r, const yg_msg *m)
{
	switch (m->type) {
	case YG_MSG_DATA:
		if (r->stdout_ok)
			q_put(&r->toout, m->u.data.bytes, m->u.data.len);
		break;
	case YG_MSG_STDERR:
		if (r->exec)
			q_put(&r->toerr, m->u.data.bytes, m->u.data.len);
		else
			finish(r, 1, "protocol error: unexpected message from the gate service");
		break;
	case YG_MSG_PROGRESS:
		yg_shell_say("%s", m->u.progress.text);
		break;
	case YG_MSG_EXIT:
		finish(r, m->u.exit.status <= 255 ? (int)m->u.exit.status : 1,
		       m->u.exit.reason);
		break;
	case YG_MSG_ERROR:
		finish(r, 1, m->u.error.text);
		break;
	default:
		finish(r, 1, "protocol error: unexpected message from the gate service");
		break;
	}
}

/* Hand out complete frames while stdout has room for a whole DATA. */
static void process_frames(struct relay *r)
{
	while (!r->done && !r->need_more && q_room(&r->toout) >= YG_DATA_MAX &&
	       (!r->exec || q_room(&r->toerr) >= YG_DATA_MAX)) {
		const uint8_t *payload;
		uint8_t type;
		size_t len;
		yg_msg m;
		int e = yg_frame_next(r->in, &type, &payload, &len);

		if (e == 0) {
			r->need_more = true;
		} else if (e < 0 || yg_msg_decode(type, payload, len, &m) < 0) {
			finish(r, 1, "protocol error: malformed frame from the gate service");
		} else {
			handle_msg(r, &m);
		}
	}
}

static void read_sock(struct relay *r)
{
	ssize_t n = yg_frame_in_fill(r->in, r->sock);

	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n <= 0) {
		if (r->leaving)
			finish(r, 0, "");
		else
			finish(r, 1, "the gate service closed the connection; the session is over");
		return;
	}
	r->need_more = false;
	process_frames(r);
}

static void drain_winch(struct relay *r)
{
	char b[64];

	while (read(winch_pipe[0], b, sizeof(b)) > 0)
		;
	queue_winch(r);
}

/* Bounded, best-effort: show what the box printed before it ended. */
static void flush_stdout(struct relay *r)
{
	uint64_t end = yg_now_ms() + FLUSH_WAIT_MS;
	struct pollfd p = { .fd = r->out_fd, .events = POLLOUT };

	while (r->stdout_ok && r->toout.len && ms_until(end) > 0) {
		if (poll(&p, 1, ms_until(end)) <= 0)
			break;
		write_stdout(r);
	}
	p.fd = STDERR_FILENO;
	while (r->toerr.len && ms_until(end) > 0) {
		if (poll(&p, 1, ms_until(end)) <= 0)
			break;
		write_stderr(r);
	}
}

static int setup_winch(void)
{
	struct sigaction sa;

	if (winch_pipe[0] >= 0)	/* a second relay in one process (the tests) */
		return 0;
	if (pipe2(winch_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_winch;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGWINCH, &sa, NULL) < 0)
		return -errno;
	return 0;
}

enum { P_STDIN, P_STDOUT, P_SOCK, P_WINCH, P_STDERR, P_N };

static void relay_loop(struct relay *r)
{
	struct pollfd p[P_N];

	while (!r->done) {
		int timeout = r->leaving ? ms_until(r->leave_deadline) : -1;

		if (r->winch_pending && q_room(&r->tosock) >= CTL_RESERVE)
			queue_winch(r);
		p[P_STDIN] = (struct pollfd){ .fd = r->in_fd };
		if (r->stdin_open && q_room(&r->tosock) >= (r->exec ? EXEC_CHUNK : READ_CHUNK) +
		    5 + CTL_RESERVE)
			p[P_STDIN].events = POLLIN;
		p[P_STDOUT] = (struct pollfd){ .fd = r->out_fd,
			.events = r->toout.len ? POLLOUT : 0 };
		p[P_SOCK] = (struct pollfd){ .fd = r->sock,
			.events = r->tosock.len ? POLLOUT : 0 };
		if (r->need_more && q_room(&r->toout) >= YG_DATA_MAX)
			p[P_SOCK].events |= POLLIN;
		p[P_WINCH] = (struct pollfd){ .fd = winch_pipe[0], .events = POLLIN };
		p[P_STDERR] = (struct pollfd){ .fd = STDERR_FILENO,
			.events = r->toerr.len ? POLLOUT : 0 };
		/* An fd we are not waiting on must not wake us with POLLHUP. */
		for (int i = 0; i < P_N; i++)
			if (!p[i].events)
				p[i].fd = -1;

		if (r->leaving && timeout == 0) {
			finish(r, 0, "");
			break;
		}
		if (poll(p, P_N, timeout) < 0) {
			if (errno == EINTR)
				continue;
			finish(r, 1, "internal error: poll failed");
			break;
		}
		if (p[P_WINCH].revents)
			drain_winch(r);
		if (p[P_STDIN].revents)
			read_stdin(r);
		if (!r->done && p[P_STDOUT].revents)
			write_stdout(r);
		if (!r->done && p[P_STDERR].revents)
			write_stderr(r);
		if (!r->done && (p[P_SOCK].revents & POLLOUT))
			write_sock(r);
		if (!r->done && (p[P_SOCK].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    r->need_more)
			read_sock(r);
		if (!r->done)
			process_frames(r);
	}
}

static int relay(int sock, yg_frame_in *in, int in_fd, int out_fd, uint16_t escape,
		 bool tty, bool exec)
{
	static uint8_t sockq[SOCK_Q], outq[OUT_Q], errq[OUT_Q];
	static struct relay r;
	int fl;

	memset(&r, 0, sizeof(r));
	r.sock = sock;
	r.in = in;
	r.in_fd = in_fd;
	r.out_fd = out_fd;
	r.escape = escape;
	r.tty = tty;
	r.exec = exec;
	r.tosock = (struct qbuf){ .b = sockq, .size = sizeof(sockq) };
	r.toout = (struct qbuf){ .b = outq, .size = sizeof(outq) };
	r.toerr = (struct qbuf){ .b = errq, .size = sizeof(errq) };
	r.stdin_open = true;
	r.stdout_ok = true;

	fl = fcntl(sock, F_GETFL);
	if (fl < 0 || fcntl(sock, F_SETFL, fl | O_NONBLOCK) < 0 || setup_winch() < 0) {
		yg_shell_say("cannot set up the session relay (%s); try again", strerror(errno));
		return 1;
	}
	if (tty)
		queue_winch(&r);	/* the size may have changed while we waited */
	process_frames(&r);	/* DATA may have come with READY */
	relay_loop(&r);
	flush_stdout(&r);
	yg_shell_tty_restore();
	if (r.reason[0]) {
		if (tty)	/* the box's cursor may be mid-line */
			fputs("\n", stderr);
		yg_shell_say("%s", r.reason);
	}
	return r.status;
}

int yg_shell_relay(int sock, yg_frame_in *in, int in_fd, int out_fd, uint16_t escape,
		   bool tty)
{
	return relay(sock, in, in_fd, out_fd, escape, tty, false);
}

int yg_shell_exec_relay(int sock, yg_frame_in *in, bool tty)
{
	return relay(sock, in, STDIN_FILENO, STDOUT_FILENO, YG_ESCAPE_NONE, tty, true);
}
