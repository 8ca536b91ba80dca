/* SPDX-License-Identifier: MIT */
/* boxd.c: yolo-boxd's main loop: options, the port to the host, the output
 * queue, and the dispatch of the host's frames (see boxd.h, yg_chan.h).
 *
 * The host end comes and goes. On a virtio-serial port, poll() reports
 * POLLHUP (level-triggered) while no host is connected, and read() returns 0
 * when a host went away: boxd then forgets every command (SIGHUP, SIGKILL 2 s
 * later) and probes the port every 100 ms until a host is back. A protocol
 * error of the host does the same, except that on a port (where boxd cannot
 * hang up) the rest of that connection's bytes are discarded until the host
 * closes it. For tests, --fd takes a listening unix socket (one host per
 * accepted connection; a protocol error closes it) or any connected fd (its
 * EOF ends boxd).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "boxd.h"

#define PROBE_MS 100

bool boxd_use_syslog;
volatile sig_atomic_t boxd_stop_signal;

void boxd_log(int prio, const char *fmt, ...)
{
	static const char *const names[8] = {
		"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
	};
	char line[1024];
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (boxd_use_syslog)
		syslog(prio, "%s", line);
	else
		fprintf(stderr, BOXD_NAME ": %s: %s\n", names[prio & 7], line);
	errno = saved;
}

void boxd_bzero(void *p, size_t n)
{
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, n);
#else
	volatile uint8_t *v = p;

	while (n--)
		*v++ = 0;
#endif
}

/* ---- the output queue: whole frames, written in order ---- */

size_t boxd_outq_room(const struct boxd *b)
{
	return BOXD_OUTQ_CAP - b->out_len;
}

uint8_t *boxd_outq_tail(struct boxd *b, size_t need)
{
	if (boxd_outq_room(b) < need)
		return NULL;
	if (b->out_off + b->out_len + need > BOXD_OUTQ_CAP) {
		memmove(b->outq, b->outq + b->out_off, b->out_len);
		b->out_off = 0;
	}
	return b->outq + b->out_off + b->out_len;
}

void boxd_outq_commit(struct boxd *b, size_t len)
{
	b->out_len += len;
}

int boxd_send(struct boxd *b, const yg_chan_msg *m)
{
	uint8_t *tail;
	size_t len;
	int r;

	if (b->link != LINK_LIVE)
		return 0;	/* nobody to tell */
	tail = boxd_outq_tail(b, 4 + YG_FRAME_MAX);
	if (!tail) {
		boxd_log(LOG_ERR, "the output queue is full, dropping a %s frame (a bug)",
			 yg_chan_type_name(m->type));
		return -ENOBUFS;
	}
	r = yg_chan_encode(m, tail, 4 + YG_FRAME_MAX, &len);
	if (r < 0) {
		boxd_log(LOG_ERR, "cannot encode a %s frame: %s (a bug)",
			 yg_chan_type_name(m->type), strerror(-r));
		return r;
	}
	boxd_outq_commit(b, len);
	return 0;
}

int boxd_send_failed(struct boxd *b, uint32_t stream, uint32_t code, const char *fmt, ...)
{
	static yg_chan_msg m;
	va_list ap;

	memset(&m.u.failed, 0, sizeof(m.u.failed));
	m.type = YG_CHAN_MSG_FAILED;
	m.stream = stream;
	m.u.failed.code = code;
	va_start(ap, fmt);
	vsnprintf(m.u.failed.text, sizeof(m.u.failed.text), fmt, ap);
	va_end(ap);
	boxd_debug(b, "stream %u: FAILED %u: %s", stream, code, m.u.failed.text);
	return boxd_send(b, &m);
}

int boxd_send_ok(struct boxd *b, uint32_t stream)
{
	yg_chan_msg m = { .type = YG_CHAN_MSG_OK, .stream = stream };

	return boxd_send(b, &m);
}

/* Bytes written to the port: keeps track of where the frame being written
 * ends, so that a reset can drop the frames behind it and no other. */
static void outq_written(struct boxd *b, size_t n)
{
	while (n) {
		size_t k;

		if (!b->out_frame_left) {
			const uint8_t *h = b->outq + b->out_off;

			b->out_frame_left = 4 + ((size_t)h[0] << 24 | (size_t)h[1] << 16 |
						 (size_t)h[2] << 8 | h[3]);
		}
		k = n < b->out_frame_left ? n : b->out_frame_left;
		b->out_frame_left -= k;
		b->out_off += k;
		b->out_len -= k;
		n -= k;
	}
	if (!b->out_len)
		b->out_off = 0;
}

/* ---- the connection ---- */

static void conn_begin(struct boxd *b)
{
	b->link = LINK_LIVE;
	b->hello = false;
	yg_frame_in_init(b->in);
	b->out_off = b->out_len = b->out_frame_left = 0;
	boxd_debug(b, "a host is connected");
}

/* The host is gone (eof) or broke the protocol: forget everything of it. */
static void conn_end(struct boxd *b, bool eof)
{
	boxd_streams_reset(b);
	boxd_keys_forget();
	boxd_bzero(b->in->buf, sizeof(b->in->buf));
	yg_frame_in_init(b->in);
	b->out_off = b->out_len = b->out_frame_left = 0;
	b->hello = false;
	switch (b->kind) {
	case PORT_LISTEN:
		close(b->port);
		b->port = -1;
		b->link = LINK_IDLE;
		break;
	case PORT_STREAM:
		if (eof) {
			boxd_log(LOG_INFO, "the host closed the connection; exiting");
			exit(0);
		}
		b->link = LINK_DRAIN;
		break;
	case PORT_VIRTIO:
		b->link = eof ? LINK_IDLE : LINK_DRAIN;
		break;
	}
	if (eof)
		boxd_debug(b, "the host disconnected");
}

static int proto_error(struct boxd *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int proto_error(struct boxd *b, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	boxd_log(LOG_WARNING, "protocol error from the host: %s; dropping the connection "
		 "(every command gets SIGHUP)", what);
	conn_end(b, false);
	return -EPROTO;
}

static int on_hello(struct boxd *b, const yg_chan_msg *m)
{
	yg_chan_msg r = { .type = YG_CHAN_MSG_HELLO, .stream = 0 };

	if (m->u.hello.version != YG_CHAN_VERSION)
		return proto_error(b, "HELLO with version %u, boxd speaks %u",
				   m->u.hello.version, YG_CHAN_VERSION);
	/* A new host session: nothing of an earlier one survives, not even
	 * frames queued behind the one being written. */
	boxd_streams_reset(b);
	boxd_keys_forget();
	b->out_len = b->out_frame_left;
	if (!b->out_len)
		b->out_off = 0;
	b->hello = true;
	/* each login says HELLO: not worth a journal line in the box (its
	 * journald would take the CPU from the login's KEYS under TCG) */
	boxd_debug(b, "host '%s' said HELLO", m->u.hello.peer);
	r.u.hello.version = YG_CHAN_VERSION;
	r.u.hello.features = YG_CHAN_F_EXEC | YG_CHAN_F_PTY | YG_CHAN_F_KEYS | YG_CHAN_F_CLOCK |
			     YG_CHAN_F_WAKE | YG_CHAN_F_CONSIZE;
	snprintf(r.u.hello.peer, sizeof(r.u.hello.peer), "%s", BOXD_PEER);
	return boxd_send(b, &r);
}

static void port_write(struct boxd *b);

static int dispatch(struct boxd *b, uint8_t type, const uint8_t *payload, size_t len)
{
	yg_chan_msg *m = b->msg;
	int r;

	if (yg_chan_decode(type, payload, len, m) < 0)
		return proto_error(b, "a malformed %s frame (type %u, %zu bytes)",
				   yg_chan_type_name(type), type, len);
	if (!b->hello && m->type != YG_CHAN_MSG_HELLO)
		return proto_error(b, "%s before HELLO", yg_chan_type_name(m->type));
	switch (m->type) {
	case YG_CHAN_MSG_HELLO:
		return on_hello(b, m);
	case YG_CHAN_MSG_PING:
		m->type = YG_CHAN_MSG_PONG;
		return boxd_send(b, m);
	case YG_CHAN_MSG_EXEC:
		r = boxd_exec(b, m);
		break;
	case YG_CHAN_MSG_DATA:
	case YG_CHAN_MSG_EOF:
	case YG_CHAN_MSG_WINDOW:
	case YG_CHAN_MSG_RESIZE:
	case YG_CHAN_MSG_SIGNAL:
		r = boxd_stream_msg(b, m);
		break;
	case YG_CHAN_MSG_KEYS:
		r = boxd_keys(b, m);
		/* the content dies here: in the frame and anywhere the reader
		 * moved it before (stale bytes past what it holds) */
		boxd_bzero((void *)payload, len);
		boxd_bzero(b->in->buf + b->in->have, sizeof(b->in->buf) - b->in->have);
		break;
	case YG_CHAN_MSG_WIPE:
		r = boxd_wipe(b, m);
		break;
	case YG_CHAN_MSG_CLOCK:
		/* the answers queued before it (a login's HELLO and KEYS, in the
		 * same write) go out first: a step wakes the guest's clock
		 * watchers (systemd, resolved), which may take the one vCPU
		 * before this loop gets to write them */
		if (b->out_len)
			port_write(b);
		if (b->link != LINK_LIVE)
			return 0;
		r = boxd_clock(b, m);
		break;
	case YG_CHAN_MSG_WAKE:
	case YG_CHAN_MSG_CONSIZE:
		r = boxd_wake(b, m);
		break;
	default:
		return proto_error(b, "a %s frame, which only boxd sends", yg_chan_type_name(m->type));
	}
	if (r == -EPROTO)
		return proto_error(b, "%s (stream %u)", boxd_proto_why ? boxd_proto_why :
				   "a request on stream 0", m->stream);
	return 0;
}

/* Handle the complete frames in the reader while there is room for answers. */
static void process_frames(struct boxd *b)
{
	while (b->link == LINK_LIVE && boxd_outq_room(b) >= BOXD_CTL_ROOM) {
		const uint8_t *payload;
		size_t len;
		uint8_t type;
		int r = yg_frame_next(b->in, &type, &payload, &len);

		if (r == 0)
			return;
		if (r < 0) {
			(void)proto_error(b, "a frame length of 0 or over %u bytes", YG_FRAME_MAX);
			return;
		}
		if (dispatch(b, type, payload, len) < 0)
			return;
	}
}

static void port_read(struct boxd *b)
{
	ssize_t n;

	if (b->link == LINK_DRAIN) {
		uint8_t junk[4096];

		do
			n = read(b->port, junk, sizeof(junk));
		while (n < 0 && errno == EINTR);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			conn_end(b, true);
		return;
	}
	n = yg_frame_in_fill(b->in, b->port);
	if (n == 0 || (n < 0 && n != -EAGAIN && n != -ENOBUFS && n != -EPROTO)) {
		if (n < 0)
			boxd_log(LOG_WARNING, "reading the port failed: %s", strerror((int)-n));
		conn_end(b, true);
		return;
	}
	process_frames(b);	/* also reports a bad length (-EPROTO) */
}

static void port_write(struct boxd *b)
{
	ssize_t n;

	do
		n = write(b->port, b->outq + b->out_off, b->out_len);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		outq_written(b, (size_t)n);
		return;
	}
	if (n < 0 && errno != EAGAIN) {
		if (errno != EPIPE && errno != ECONNRESET)
			boxd_log(LOG_WARNING, "writing to the port failed: %s", strerror(errno));
		conn_end(b, true);
	}
}

/* No host on the virtio port: connected once POLLHUP is gone. */
static void probe_virtio(struct boxd *b)
{
	struct pollfd p = { .fd = b->port, .events = POLLIN | POLLOUT };

	if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && !(p.revents & POLLIN))
		return;
	conn_begin(b);
}

static void accept_host(struct boxd *b)
{
	int fd = accept4(b->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			boxd_log(LOG_WARNING, "accept on fd %d failed: %s", b->listen_fd, strerror(errno));
		return;
	}
	b->port = fd;
	conn_begin(b);
}

int boxd_run(struct boxd *b)
{
	struct pollfd p[3 + 3 * YG_CHAN_STREAMS_MAX];

	while (!boxd_stop_signal) {
		size_t n = 0, port_i = SIZE_MAX, listen_i = SIZE_MAX, s0;
		int timeout = -1, gt, r;

		if (b->link == LINK_LIVE)
			process_frames(b);	/* those left waiting for queue room */
		p[n++] = (struct pollfd){ .fd = b->sig_pipe[0], .events = POLLIN };
		if (b->link == LINK_IDLE && b->kind == PORT_LISTEN) {
			listen_i = n;
			p[n++] = (struct pollfd){ .fd = b->listen_fd, .events = POLLIN };
		} else if (b->link == LINK_IDLE) {
			timeout = PROBE_MS;	/* POLLHUP is level-triggered: probe */
		} else {
			short ev = 0;

			if (b->link == LINK_DRAIN || boxd_outq_room(b) >= BOXD_CTL_ROOM)
				ev |= POLLIN;
			if (b->out_len && b->link == LINK_LIVE)
				ev |= POLLOUT;
			port_i = n;
			p[n++] = (struct pollfd){ .fd = b->port, .events = ev };
		}
		s0 = n;
		n += boxd_streams_pollfds(b, p + n, sizeof(p) / sizeof(p[0]) - n);
		gt = boxd_graves_timeout(b);
		if (gt >= 0 && (timeout < 0 || gt < timeout))
			timeout = gt;
		r = poll(p, n, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			boxd_log(LOG_ERR, "poll failed: %s", strerror(errno));
			return 1;
		}
		if (p[0].revents) {
			char junk[64];

			while (read(b->sig_pipe[0], junk, sizeof(junk)) > 0)
				;
		}
		boxd_reap(b);
		if (listen_i != SIZE_MAX && p[listen_i].revents)
			accept_host(b);
		if (b->link == LINK_IDLE && b->kind == PORT_VIRTIO)
			probe_virtio(b);
		if (port_i != SIZE_MAX && b->port >= 0) {
			short re = p[port_i].revents;

			if (re & POLLOUT)
				port_write(b);
			if (b->link != LINK_IDLE && (re & (POLLIN | POLLERR)))
				port_read(b);
			else if (b->link != LINK_IDLE && (re & POLLHUP))
				conn_end(b, true);
			else if (b->link != LINK_IDLE && (re & POLLNVAL)) {
				boxd_log(LOG_ERR, "the port's fd %d is not open", b->port);
				return 1;
			}
		}
		boxd_streams_io(b, p + s0, n - s0);
	}
	boxd_log(LOG_INFO, "signal %d: stopping (every command gets SIGHUP)", (int)boxd_stop_signal);
	boxd_streams_reset(b);
	boxd_keys_forget();
	return 0;
}
