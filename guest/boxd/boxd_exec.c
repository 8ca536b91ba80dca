/* SPDX-License-Identifier: MIT */
/* boxd_exec.c: the streams of yolo-boxd: EXEC, stdin from the host, output
 * to the host within its credit, signals, window size, exit.
 *
 * Bounds: at most YG_CHAN_STREAMS_MAX commands; a command's stdin is held in
 * a ring of YG_CHAN_WINDOW bytes, which the host cannot overrun without a
 * protocol error (its credit is given back only for bytes the command took);
 * a command's output is read only while the host granted credit and the
 * output queue has room for a whole DATA frame, so a slow host stops the
 * command (its pipe fills) instead of growing boxd.
 *
 * A stream ends with EXITED once the command was reaped and both output
 * fds reached EOF (the last DATA and both EOFs are queued before it).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "boxd.h"
#include "boxd_spawn.h"
#include "yg_time.h"

enum role { R_OUT = 0, R_ERR = 1, R_IN = 2, R_PTY = 3 };

/* what each pollfd of boxd_streams_pollfds stands for */
static struct { struct boxd_stream *s; enum role role; } poll_map[3 * YG_CHAN_STREAMS_MAX];

const char *boxd_proto_why;

int boxd_proto(const char *why)
{
	boxd_proto_why = why;
	return -EPROTO;
}

struct boxd_stream *boxd_stream_find(struct boxd *b, uint32_t id)
{
	for (size_t i = 0; id && i < YG_CHAN_STREAMS_MAX; i++)
		if (b->streams[i].id == id)
			return &b->streams[i];
	return NULL;
}

static void stream_free(struct boxd *b, struct boxd_stream *s)
{
	if (s->in_fd >= 0 && s->in_fd != s->out_fd[0])
		close(s->in_fd);
	for (int i = 0; i < 2; i++)
		if (s->out_fd[i] >= 0)
			close(s->out_fd[i]);
	if (s->inbuf) {
		boxd_bzero(s->inbuf, YG_CHAN_WINDOW);
		free(s->inbuf);
	}
	memset(s, 0, sizeof(*s));
	s->in_fd = s->out_fd[0] = s->out_fd[1] = -1;
	b->nstreams--;
}

static void bury(struct boxd *b, pid_t pid)
{
	if (kill(-pid, SIGHUP) < 0)
		return;
	if (b->ngraves == BOXD_GRAVES) {
		(void)kill(-pid, SIGKILL);
		return;
	}
	b->graves[b->ngraves++] = (struct boxd_grave){ pid, yg_now_ms() + BOXD_KILL_MS };
}

void boxd_streams_reset(struct boxd *b)
{
	for (size_t i = 0; i < YG_CHAN_STREAMS_MAX; i++) {
		struct boxd_stream *s = &b->streams[i];

		if (!s->id)
			continue;
		if (!s->reaped)
			bury(b, s->pid);
		stream_free(b, s);
	}
}

int boxd_graves_timeout(const struct boxd *b)
{
	uint64_t now = yg_now_ms(), next = 0;

	for (size_t i = 0; i < b->ngraves; i++)
		if (b->graves[i].deadline && (!next || b->graves[i].deadline < next))
			next = b->graves[i].deadline;
	if (!next)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

static void send_window(struct boxd *b, struct boxd_stream *s, size_t n)
{
	yg_chan_msg w = { .type = YG_CHAN_MSG_WINDOW, .stream = s->id };

	w.u.window.bytes = yg_chan_credit_passed(&s->in_cr, n);
	if (w.u.window.bytes)
		(void)boxd_send(b, &w);
}

static void close_stdin(struct boxd_stream *s)
{
	if (s->in_fd >= 0 && s->in_fd != s->out_fd[0])
		close(s->in_fd);
	if (!s->pty)
		s->in_fd = -1;
}

/* EXITED, once the command is reaped and its output is all queued. */
static void maybe_finish(struct boxd *b, struct boxd_stream *s)
{
	yg_chan_msg m = { .type = YG_CHAN_MSG_EXITED, .stream = s->id };

	if (!s->id || !s->reaped || s->out_fd[0] >= 0 || s->out_fd[1] >= 0 ||
	    boxd_outq_room(b) < BOXD_CTL_ROOM)
		return;
	if (WIFSIGNALED(s->status)) {
		m.u.exited.how = YG_CHAN_EXIT_SIGNAL;
		m.u.exited.value = (uint8_t)WTERMSIG(s->status);
	} else {
		m.u.exited.how = YG_CHAN_EXIT_STATUS;
		m.u.exited.value = (uint8_t)WEXITSTATUS(s->status);
	}
	boxd_debug(b, "stream %u: pid %d %s %u", s->id, (int)s->pid,
		   m.u.exited.how ? "killed by signal" : "exited with", m.u.exited.value);
	(void)boxd_send(b, &m);
	stream_free(b, s);
}

void boxd_reap(struct boxd *b)
{
	uint64_t now = yg_now_ms();

	for (;;) {
		siginfo_t si;
		int status;
		pid_t pid;

		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || !si.si_pid)
			break;
		pid = si.si_pid;
		/* a forgotten command: the rest of its group dies with it, while
		 * the unreaped leader still holds the group id */
		for (size_t i = 0; i < b->ngraves; i++) {
			if (b->graves[i].pid == pid) {
				(void)kill(-pid, SIGKILL);
				b->graves[i] = b->graves[--b->ngraves];
				break;
			}
		}
		if (waitpid(pid, &status, 0) < 0)
			break;
		for (size_t i = 0; i < YG_CHAN_STREAMS_MAX; i++) {
			struct boxd_stream *s = &b->streams[i];

			if (s->id && !s->reaped && s->pid == pid) {
				s->reaped = true;
				s->status = status;
			}
		}
	}
	for (size_t i = 0; i < b->ngraves; i++) {
		if (b->graves[i].deadline && b->graves[i].deadline <= now) {
			(void)kill(-b->graves[i].pid, SIGKILL);
			b->graves[i].deadline = 0;	/* killed; reaped above later */
		}
	}
	for (size_t i = 0; i < YG_CHAN_STREAMS_MAX; i++)
		maybe_finish(b, &b->streams[i]);
}

int boxd_exec(struct boxd *b, const yg_chan_msg *m)
{
	const char *uname = m->u.exec.user[0] ? m->u.exec.user : b->user;
	struct boxd_stream *s = NULL;
	static struct boxd_user u;
	static struct boxd_fail f;
	yg_chan_msg r = { .type = YG_CHAN_MSG_STARTED, .stream = m->stream };
	int e;

	if (!m->stream || boxd_stream_find(b, m->stream))
		return boxd_proto("EXEC on stream 0 or on a stream already open");
	if (b->nstreams >= YG_CHAN_STREAMS_MAX)
		return boxd_send_failed(b, m->stream, YG_CHAN_E_BUSY,
					"too many commands: %u are running in the box",
					YG_CHAN_STREAMS_MAX);
	e = boxd_user(uname, &u);
	if (e < 0)
		return boxd_send_failed(b, m->stream, YG_CHAN_E_NOUSER, "no user %s in the box%s%s",
					uname, e == -ENOENT ? "" : ": ",
					e == -ENOENT ? "" : strerror(-e));
	if (geteuid() != 0 && u.uid != geteuid())
		return boxd_send_failed(b, m->stream, YG_CHAN_E_PERM,
					"yolo-boxd does not run as root and cannot run commands as %s",
					u.name);
	for (size_t i = 0; i < m->u.exec.envc; i++)
		if (!boxd_env_ok(m->u.exec.envp[i]))
			return boxd_send_failed(b, m->stream, YG_CHAN_E_PROTO,
						"environment entry %zu is not NAME=value", i);
	for (size_t i = 0; i < YG_CHAN_STREAMS_MAX && !s; i++)
		if (!b->streams[i].id)
			s = &b->streams[i];
	if (!s)
		return boxd_proto("no free stream slot (a bug)");
	memset(s, 0, sizeof(*s));
	s->in_fd = s->out_fd[0] = s->out_fd[1] = -1;
	if (boxd_spawn(m, &u, s, &f) < 0)
		return boxd_send_failed(b, m->stream, f.code, "%s", f.text);
	s->id = m->stream;
	b->nstreams++;
	yg_chan_credit_init(&s->in_cr);
	yg_chan_credit_init(&s->out_cr);
	boxd_debug(b, "stream %u: pid %d runs %s as %s%s", s->id, (int)s->pid,
		   m->u.exec.argv[0], u.name, s->pty ? " on a pty" : "");
	r.u.started.pid = (uint32_t)s->pid;
	return boxd_send(b, &r);
}

static int on_data(struct boxd *b, struct boxd_stream *s, const yg_chan_msg *m)
{
	size_t len = m->u.data.len, head;

	if (m->u.data.fd != 0 || s->in_eof)
		return boxd_proto("DATA for an fd other than stdin, or after its EOF");
	if (!yg_chan_credit_take(&s->in_cr, len))
		return boxd_proto("DATA beyond the credit boxd gave");
	if (s->in_fd < 0) {
		send_window(b, s, len);	/* the command closed stdin: dropped */
		return 0;
	}
	if (!s->inbuf && !(s->inbuf = malloc(YG_CHAN_WINDOW))) {
		boxd_log(3, "stream %u: out of memory for stdin; dropping %zu bytes", s->id, len);
		send_window(b, s, len);
		return 0;
	}
	if (len > YG_CHAN_WINDOW - s->in_len)
		return boxd_proto("DATA beyond the stdin buffer");
	head = (s->in_head + s->in_len) % YG_CHAN_WINDOW;
	for (size_t done = 0; done < len;) {
		size_t k = YG_CHAN_WINDOW - head;

		if (k > len - done)
			k = len - done;
		memcpy(s->inbuf + head, m->u.data.bytes + done, k);
		head = (head + k) % YG_CHAN_WINDOW;
		done += k;
	}
	s->in_len += len;
	return 0;
}

int boxd_stream_msg(struct boxd *b, const yg_chan_msg *m)
{
	struct boxd_stream *s = boxd_stream_find(b, m->stream);
	struct winsize ws;

	if (!s) {
		/* the command may have ended while this was on its way */
		boxd_debug(b, "%s for stream %u, which is not open: ignored",
			   yg_chan_type_name(m->type), m->stream);
		return 0;
	}
	switch (m->type) {
	case YG_CHAN_MSG_DATA:
		return on_data(b, s, m);
	case YG_CHAN_MSG_EOF:
		if (m->u.eof.fd != 0 || s->in_eof)
			return boxd_proto("EOF for an fd other than stdin, or twice");
		s->in_eof = true;
		if (!s->in_len)
			close_stdin(s);
		return 0;
	case YG_CHAN_MSG_WINDOW:
		return yg_chan_credit_give(&s->out_cr, m->u.window.bytes) ? 0 :
			boxd_proto("WINDOW giving back more than boxd sent");
	case YG_CHAN_MSG_RESIZE:
		ws = (struct winsize){ .ws_row = m->u.resize.rows, .ws_col = m->u.resize.cols };
		if (s->pty && s->out_fd[0] >= 0)
			(void)ioctl(s->out_fd[0], TIOCSWINSZ, &ws);
		return 0;
	case YG_CHAN_MSG_SIGNAL:
		switch (m->u.signal.signo) {
		case SIGHUP: case SIGINT: case SIGQUIT: case SIGTERM: case SIGKILL:
			break;
		default:
			return boxd_proto("SIGNAL other than HUP, INT, QUIT, TERM or KILL");
		}
		if (!s->reaped)
			(void)kill(-s->pid, m->u.signal.signo);
		return 0;
	default:
		return boxd_proto("a message boxd does not take on a stream");
	}
}

size_t boxd_streams_pollfds(struct boxd *b, struct pollfd *p, size_t cap)
{
	bool out_ok = b->link == LINK_LIVE && boxd_outq_room(b) >= BOXD_DATA_ROOM;
	bool in_ok = b->link == LINK_LIVE && boxd_outq_room(b) >= BOXD_CTL_ROOM;
	size_t n = 0;

	for (size_t i = 0; i < YG_CHAN_STREAMS_MAX && n + 3 <= cap; i++) {
		struct boxd_stream *s = &b->streams[i];
		bool credit = yg_chan_credit_room(&s->out_cr) > 0;

		if (!s->id)
			continue;
		if (s->pty) {
			short ev = 0;

			if (s->out_fd[0] < 0)
				continue;
			if (out_ok && credit)
				ev |= POLLIN;
			if (in_ok && s->in_len)
				ev |= POLLOUT;
			if (!ev)
				continue;	/* not even for POLLHUP: it would spin */
			poll_map[n].s = s;
			poll_map[n].role = R_PTY;
			p[n++] = (struct pollfd){ .fd = s->out_fd[0], .events = ev };
			continue;
		}
		for (int k = 0; k < 2; k++) {
			if (s->out_fd[k] < 0 || !out_ok || !credit)
				continue;
			poll_map[n].s = s;
			poll_map[n].role = (enum role)k;
			p[n++] = (struct pollfd){ .fd = s->out_fd[k], .events = POLLIN };
		}
		if (s->in_fd >= 0 && s->in_len && in_ok) {
			poll_map[n].s = s;
			poll_map[n].role = R_IN;
			p[n++] = (struct pollfd){ .fd = s->in_fd, .events = POLLOUT };
		}
	}
	return n;
}

static void read_out(struct boxd *b, struct boxd_stream *s, int k)
{
	yg_chan_msg eof = { .type = YG_CHAN_MSG_EOF, .stream = s->id };
	size_t room = yg_chan_credit_room(&s->out_cr);
	uint8_t *t;
	ssize_t n;

	if (room > YG_CHAN_DATA_MAX)
		room = YG_CHAN_DATA_MAX;
	if (!room || s->out_fd[k] < 0 || !(t = boxd_outq_tail(b, YG_CHAN_DATA_HDR + room)))
		return;
	do
		n = read(s->out_fd[k], t + YG_CHAN_DATA_HDR, room);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		if (yg_chan_data_header(t, s->id, (uint8_t)(k + 1), (size_t)n) < 0 ||
		    !yg_chan_credit_take(&s->out_cr, (size_t)n))
			return;	/* cannot happen: room and sizes are checked above */
		boxd_outq_commit(b, YG_CHAN_DATA_HDR + (size_t)n);
		return;
	}
	if (n < 0 && errno == EAGAIN)
		return;
	/* EOF; a pty master reads EIO once the last slave fd is closed */
	close(s->out_fd[k]);
	if (s->pty) {
		s->in_fd = -1;
		s->in_len = 0;
	}
	s->out_fd[k] = -1;
	eof.u.eof.fd = (uint8_t)(k + 1);
	(void)boxd_send(b, &eof);
}

static void write_in(struct boxd *b, struct boxd_stream *s)
{
	size_t k = YG_CHAN_WINDOW - s->in_head;
	ssize_t n;

	if (s->in_fd < 0 || !s->in_len)
		return;
	if (k > s->in_len)
		k = s->in_len;
	do
		n = write(s->in_fd, s->inbuf + s->in_head, k);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n < 0) {
		/* the command closed its stdin: the rest is dropped */
		n = (ssize_t)s->in_len;
		close_stdin(s);
		s->in_fd = -1;
	}
	s->in_head = (s->in_head + (size_t)n) % YG_CHAN_WINDOW;
	s->in_len -= (size_t)n;
	send_window(b, s, (size_t)n);
	if (!s->in_len && s->in_eof)
		close_stdin(s);
}

void boxd_streams_io(struct boxd *b, const struct pollfd *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct boxd_stream *s = poll_map[i].s;
		short re = p[i].revents;

		if (!re || !s->id)
			continue;
		switch (poll_map[i].role) {
		case R_OUT:
		case R_ERR:
			read_out(b, s, (int)poll_map[i].role);
			break;
		case R_IN:
			write_in(b, s);
			break;
		case R_PTY:
			if (re & POLLOUT)
				write_in(b, s);
			if (re & (POLLIN | POLLHUP | POLLERR))
				read_out(b, s, 0);
			break;
		}
	}
	for (size_t i = 0; i < YG_CHAN_STREAMS_MAX; i++)
		maybe_finish(b, &b->streams[i]);
}
