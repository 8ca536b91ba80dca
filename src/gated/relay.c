/* relay.c: the console relay, on libvirt's default event loop.
 *
 * Bounded buffers, one per direction and client. Console bytes become DATA
 * frames in each client's buf (never more than TOCLI_SIZE bytes); DATA
 * payloads from any client are queued in the one tocon (never more than
 * TOCON_SIZE). When a buffer is full the relay stops reading from the side
 * that fills it (event masks), so a slow client or a stuck guest costs
 * bounded memory, never more.
 *
 * concurrent = attach: up to YG_GD_CLIENTS_MAX clients. The console is read
 * only when every client has room (backpressure), so one of several clients
 * that has had no room for YG_GD_SLOW_CLIENT_MS is dropped rather than
 * stall the others; a single client is never dropped for that. A client
 * that leaves while others stay is handed to ops->detach; the last one ends
 * the relay.
 *
 * Callbacks only move bytes and set flags; anything that calls libvirt
 * synchronously (WINCH through the agent, a handoff that reverts the box) runs
 * from the loop below, outside the event callbacks.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "session.h"

#define TOCLI_SIZE (2 * (5 + YG_DATA_MAX))
#define TOCON_SIZE (2 * YG_DATA_MAX)
#define CONSOLE_CHUNK 16384
#define CONSOLE_MIN_ROOM 256

/* One attached client: its fd, what it sent, what it is sent. */
struct cli {
	struct yg_gd_relay *r;
	int fd, watch;
	yg_frame_in *in;
	bool own_in;		/* in was allocated here (a joined client) */
	enum yg_gd_end gone;	/* why it left, NONE while attached */
	uint64_t full_since;	/* monotonic ms since its buffer is full, 0 = not */
	uint8_t buf[TOCLI_SIZE];
	size_t off, len;
};

struct yg_gd_relay {
	struct cli *cli[YG_GD_CLIENTS_MAX];
	size_t ncli;		/* 0 in wait mode */
	virStreamPtr st;	/* console, NULL in wait mode */
	int rdv_watch, sig_watch, tick_timer, max_timer;
	bool st_watch;
	int rdv_fd;
	struct yg_gd_limits lim;
	uint64_t last_active;	/* monotonic ms of the last activity */
	bool idle_warned;
	unsigned max_warned;	/* bit 0: 10 min, bit 1: 1 min */
	uint8_t tocon[TOCON_SIZE];
	size_t con_off, con_len;
	uint8_t chunk[CONSOLE_CHUNK];
	enum yg_gd_end end;
	bool winch;
	uint16_t rows, cols;
	bool handoff;
	int handoff_fd;
	struct yg_gd_handoff h;
	const struct yg_gd_relay_ops *ops;
	void *opaque;
};

const char *yg_gd_end_name(enum yg_gd_end e)
{
	static const char *const names[] = {
		[YG_GD_END_NONE] = "none",
		[YG_GD_END_CLIENT_EOF] = "client_eof",
		[YG_GD_END_CLIENT_EXIT] = "client_exit",
		[YG_GD_END_CONSOLE] = "console_closed",
		[YG_GD_END_PROTOCOL] = "protocol_error",
		[YG_GD_END_SIGNAL] = "sigterm",
		[YG_GD_END_IDLE] = "idle_timeout",
		[YG_GD_END_MAX] = "max_session",
		[YG_GD_END_TAKEOVER] = "takeover",
		[YG_GD_END_RELEASE] = "release",
		[YG_GD_END_ATTACH] = "attach",
		[YG_GD_END_TIMEOUT] = "prepare_timeout",
		[YG_GD_END_ERROR] = "error",
		[YG_GD_END_ADMIN] = "ended_by_admin",
		[YG_GD_END_JOIN] = "attach",
		[YG_GD_END_SLOW] = "slow_client",
		[YG_GD_END_LIBVIRT] = "libvirt_lost",
	};

	if ((size_t)e < sizeof(names) / sizeof(names[0]) && names[e])
		return names[e];
	return "unknown";
}

static void finish(struct yg_gd_relay *r, enum yg_gd_end e)
{
	if (r->end == YG_GD_END_NONE)
		r->end = e;
}

/* Compact a buffer so its free space is contiguous at the end. */
static void compact(uint8_t *buf, size_t *off, size_t *len)
{
	if (*off == 0)
		return;
	memmove(buf, buf + *off, *len);
	*off = 0;
}

/* Room for one more console chunk in every client's buffer? A client that
 * has had none for a while is noted (full_since) for the tick to drop. */
static size_t console_room(struct yg_gd_relay *r)
{
	size_t room = CONSOLE_CHUNK + 5, k;
	uint64_t now = 0;

	for (size_t i = 0; i < r->ncli; i++) {
		struct cli *c = r->cli[i];

		if (c->gone)
			continue;
		k = TOCLI_SIZE - c->len;
		if (k < 5 + CONSOLE_MIN_ROOM) {
			if (!c->full_since)
				c->full_since = now ? now : (now = yg_now_ms());
		} else {
			c->full_since = 0;
		}
		if (k < room)
			room = k;
	}
	return room;
}

static void update_masks(struct yg_gd_relay *r)
{
	int ev;

	for (size_t i = 0; i < r->ncli; i++) {
		struct cli *c = r->cli[i];

		ev = 0;
		if (c->watch < 0)
			continue;
		if (!c->gone && TOCON_SIZE - r->con_len >= YG_DATA_MAX)
			ev |= VIR_EVENT_HANDLE_READABLE;
		if (!c->gone && c->len > 0)
			ev |= VIR_EVENT_HANDLE_WRITABLE;
		virEventUpdateHandle(c->watch, ev);
	}
	if (r->st_watch) {
		ev = 0;
		if (console_room(r) >= 5 + CONSOLE_MIN_ROOM)
			ev |= VIR_STREAM_EVENT_READABLE;
		if (r->con_len > 0)
			ev |= VIR_STREAM_EVENT_WRITABLE;
		virStreamEventUpdateCallback(r->st, ev);
	}
}

static void leave(struct cli *c, enum yg_gd_end e)
{
	if (c->gone == YG_GD_END_NONE)
		c->gone = e;
}

/* Decode the frames a client already sent, as long as tocon can take a
 * full DATA. Input from any client goes to the one console. */
static void client_frames(struct cli *c)
{
	struct yg_gd_relay *r = c->r;
	const uint8_t *payload;
	uint8_t type;
	size_t len;
	yg_msg m;
	int k;

	while (!c->gone && r->end == YG_GD_END_NONE && TOCON_SIZE - r->con_len >= YG_DATA_MAX) {
		k = yg_frame_next(c->in, &type, &payload, &len);
		if (k == 0)
			return;
		if (k < 0 || yg_msg_decode(type, payload, len, &m) < 0) {
			leave(c, YG_GD_END_PROTOCOL);
			return;
		}
		switch (m.type) {
		case YG_MSG_DATA:
			compact(r->tocon, &r->con_off, &r->con_len);
			memcpy(r->tocon + r->con_len, m.u.data.bytes, m.u.data.len);
			r->con_len += m.u.data.len;
			r->last_active = yg_now_ms();
			r->idle_warned = false;
			break;
		case YG_MSG_WINCH:	/* the last writer wins */
			r->winch = true;
			r->rows = m.u.winch.rows;
			r->cols = m.u.winch.cols;
			break;
		case YG_MSG_EXIT:
			leave(c, YG_GD_END_CLIENT_EXIT);
			break;
		default:	/* not allowed in the RELAY phase */
			leave(c, YG_GD_END_PROTOCOL);
			break;
		}
	}
}

static void all_frames(struct yg_gd_relay *r)
{
	for (size_t i = 0; i < r->ncli; i++)
		client_frames(r->cli[i]);
}

static void client_cb(int watch, int fd, int events, void *opaque)
{
	struct cli *c = opaque;
	ssize_t n;

	if (c->gone)
		return;
	if (events & VIR_EVENT_HANDLE_WRITABLE && c->len > 0) {
		n = write(fd, c->buf + c->off, c->len);
		if (n > 0) {
			c->off += (size_t)n;
			c->len -= (size_t)n;
			if (c->len == 0)
				c->off = 0;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			leave(c, YG_GD_END_CLIENT_EOF);
		}
	}
	if (events & VIR_EVENT_HANDLE_READABLE) {
		n = yg_frame_in_fill(c->in, fd);
		if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR))
			leave(c, n == -EPROTO ? YG_GD_END_PROTOCOL : YG_GD_END_CLIENT_EOF);
	} else if (events & (VIR_EVENT_HANDLE_HANGUP | VIR_EVENT_HANDLE_ERROR)) {
		leave(c, YG_GD_END_CLIENT_EOF);
	}
	all_frames(c->r);
	update_masks(c->r);
}

/* Queue bytes as one DATA frame to every client with room (a client
 * without room misses them: only the gate's own lines are sent that way). */
static void to_clients(struct yg_gd_relay *r, const uint8_t *bytes, size_t n)
{
	uint32_t flen = (uint32_t)n + 1;

	for (size_t i = 0; i < r->ncli; i++) {
		struct cli *c = r->cli[i];
		uint8_t *hdr;

		compact(c->buf, &c->off, &c->len);
		if (c->gone || TOCLI_SIZE - c->len < 5 + n)
			continue;
		hdr = c->buf + c->len;
		hdr[0] = (uint8_t)(flen >> 24);
		hdr[1] = (uint8_t)(flen >> 16);
		hdr[2] = (uint8_t)(flen >> 8);
		hdr[3] = (uint8_t)flen;
		hdr[4] = YG_MSG_DATA;
		memcpy(hdr + 5, bytes, n);
		c->len += 5 + n;
	}
	if (r->ops->output)
		r->ops->output(r->opaque, bytes, n);
}

static void console_cb(virStreamPtr st, int events, void *opaque)
{
	struct yg_gd_relay *r = opaque;
	size_t room;
	int n;

	if (events & VIR_STREAM_EVENT_WRITABLE && r->con_len > 0) {
		n = virStreamSend(st, (const char *)r->tocon + r->con_off, r->con_len);
		if (n > 0) {
			r->con_off += (size_t)n;
			r->con_len -= (size_t)n;
			if (r->con_len == 0)
				r->con_off = 0;
		} else if (n == -1) {
			finish(r, YG_GD_END_CONSOLE);
		}
	}
	if (events & VIR_STREAM_EVENT_READABLE) {
		room = console_room(r);
		if (room >= 5 + CONSOLE_MIN_ROOM) {
			room -= 5;
			if (room > CONSOLE_CHUNK)
				room = CONSOLE_CHUNK;
			n = virStreamRecv(st, (char *)r->chunk, room);
			if (n > 0) {
				if (r->lim.idle_output)
					r->last_active = yg_now_ms();
				to_clients(r, r->chunk, (size_t)n);
			} else if (n == 0 || n == -1) {
				finish(r, YG_GD_END_CONSOLE);
			}
		}
	} else if (events & (VIR_STREAM_EVENT_HANGUP | VIR_STREAM_EVENT_ERROR)) {
		finish(r, YG_GD_END_CONSOLE);
	}
	all_frames(r);
	update_masks(r);
}

static void rdv_cb(int watch, int fd, int events, void *opaque)
{
	struct yg_gd_relay *r = opaque;
	struct yg_gd_handoff h;
	int cfd;

	if (yg_gd_rdv_accept(fd, &cfd, &h) < 0)
		return;
	if (r->handoff) {	/* one at a time */
		yg_gd_send_error(cfd, YG_ERR_BUSY, "box %s is being handed over to another "
				 "login; try again in a few seconds", h.box);
		close(cfd);
		return;
	}
	r->handoff = true;
	r->handoff_fd = cfd;
	r->h = h;
}

static void sig_cb(int watch, int fd, int events, void *opaque)
{
	finish(opaque, YG_GD_END_SIGNAL);
}

/* A line from the gate on the user's console, between the guest's output
 * (dropped when the client's buffer is full: the relay stays bounded). */
static void say(struct yg_gd_relay *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(struct yg_gd_relay *r, const char *fmt, ...)
{
	char text[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (r->ncli == 0 || n <= 0)
		return;
	if ((size_t)n >= sizeof(text))
		n = (int)sizeof(text) - 1;
	to_clients(r, (const uint8_t *)text, (size_t)n);
}

static void fmt_left(char *buf, size_t len, uint64_t ms)
{
	uint64_t sec = (ms + 999) / 1000;

	if (sec >= 120)
		snprintf(buf, len, "%llu min", (unsigned long long)(sec + 30) / 60);
	else
		snprintf(buf, len, "%llu s", (unsigned long long)sec);
}

/* Idle and max-session deadlines, warnings, and the owner's tick. */
static void tick_cb(int timer, void *opaque)
{
	static const unsigned long max_warn[] = { 10 * 60000UL, 60000UL };
	struct yg_gd_relay *r = opaque;
	struct yg_gd_times t = { .now = yg_now_ms() };
	char left[32];
	enum yg_gd_end e;

	if (r->st && r->lim.idle_ms)
		t.idle_end = r->last_active + r->lim.idle_ms;
	if (r->st && r->lim.max_ms)
		t.max_end = r->lim.start_ms + r->lim.max_ms;
	t.last_active = r->last_active;
	if (t.idle_end && t.now >= t.idle_end)
		finish(r, YG_GD_END_IDLE);
	if (t.max_end && t.now >= t.max_end)
		finish(r, YG_GD_END_MAX);
	if (r->end != YG_GD_END_NONE)
		return;
	/* with others attached, one client that has not kept up for a while
	 * is dropped rather than stall them (alone, it only stalls itself) */
	for (size_t i = 0; r->ncli > 1 && i < r->ncli; i++)
		if (r->cli[i]->full_since &&
		    t.now - r->cli[i]->full_since >= YG_GD_SLOW_CLIENT_MS)
			leave(r->cli[i], YG_GD_END_SLOW);
	if (t.idle_end && !r->idle_warned && r->lim.idle_warn_ms &&
	    r->lim.idle_warn_ms < r->lim.idle_ms &&
	    t.now + r->lim.idle_warn_ms >= t.idle_end) {
		r->idle_warned = true;
		fmt_left(left, sizeof(left), t.idle_end - t.now);
		say(r, "\r\n[yolo-gate] idle: this session ends in %s and the box is "
		    "reverted, unless you type something\r\n", left);
	}
	for (unsigned i = 0; t.max_end && i < 2; i++) {
		if ((r->max_warned & (1u << i)) || max_warn[i] >= r->lim.max_ms ||
		    t.now + max_warn[i] < t.max_end)
			continue;
		r->max_warned |= (2u << i) - 1;	/* this one and the longer ones */
		fmt_left(left, sizeof(left), t.max_end - t.now);
		say(r, "\r\n[yolo-gate] maximum session time: this session ends in %s "
		    "and the box is reverted\r\n", left);
	}
	if (r->ops->tick && (e = r->ops->tick(r->opaque, &t)) != YG_GD_END_NONE)
		finish(r, e);
	update_masks(r);
}

static void max_cb(int timer, void *opaque)
{
	struct yg_gd_relay *r = opaque;

	finish(r, r->st ? YG_GD_END_MAX : YG_GD_END_TIMEOUT);
}

static int timer_ms(unsigned long ms)
{
	return ms > (unsigned long)INT32_MAX ? INT32_MAX : (int)ms;
}

static void cli_free(struct cli *c)
{
	if (c->watch >= 0)
		virEventRemoveHandle(c->watch);
	if (c->own_in)
		free(c->in);
	free(c);
}

static void unwatch(struct yg_gd_relay *r)
{
	if (r->st_watch)
		virStreamEventRemoveCallback(r->st);
	if (r->rdv_watch >= 0)
		virEventRemoveHandle(r->rdv_watch);
	if (r->sig_watch >= 0)
		virEventRemoveHandle(r->sig_watch);
	if (r->tick_timer >= 0)
		virEventRemoveTimeout(r->tick_timer);
	if (r->max_timer >= 0)
		virEventRemoveTimeout(r->max_timer);
}

/* Add a client (fd made non-blocking). in: what was already read from it,
 * NULL for a fresh reader. */
static int cli_add(struct yg_gd_relay *r, int fd, yg_frame_in *in)
{
	struct cli *c;
	int fl = fcntl(fd, F_GETFL);

	if (r->ncli >= YG_GD_CLIENTS_MAX || fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -EBUSY;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->r = r;
	c->fd = fd;
	c->in = in;
	if (!in) {
		c->in = malloc(sizeof(*c->in));
		c->own_in = true;
		if (c->in)
			yg_frame_in_init(c->in);
	}
	c->watch = c->in ? virEventAddHandle(fd, VIR_EVENT_HANDLE_READABLE, client_cb, c, NULL) : -1;
	if (c->watch < 0) {
		cli_free(c);
		return -ENOMEM;
	}
	r->cli[r->ncli++] = c;
	return 0;
}

/* Clients that left: each is handed back to the session (ops->detach), but
 * the last one ends the relay and stays, for the session's EXIT. */
static void reap(struct yg_gd_relay *r)
{
	for (size_t i = 0; i < r->ncli;) {
		struct cli *c = r->cli[i];

		if (!c->gone) {
			i++;
			continue;
		}
		if (r->ncli == 1) {
			finish(r, c->gone);
			return;
		}
		r->cli[i] = r->cli[--r->ncli];
		r->ops->detach(r->opaque, c->fd, c->gone, r->ncli);
		cli_free(c);
		say(r, "\r\n[yolo-gate] a client left this session (%zu still attached)\r\n",
		    r->ncli);
	}
}

/* Flush what the console already sent, bounded in time, before the caller
 * sends EXIT: the last lines of output belong to the user. */
static void flush_client(struct cli *c)
{
	struct timeval tv = { .tv_sec = 1 };
	int fl;

	if (c->len == 0 || c->gone == YG_GD_END_CLIENT_EOF || c->gone == YG_GD_END_SLOW)
		return;
	fl = fcntl(c->fd, F_GETFL);
	if (fl >= 0)
		fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (c->len > 0) {
		ssize_t n = write(c->fd, c->buf + c->off, c->len);

		if (n <= 0)
			break;
		c->off += (size_t)n;
		c->len -= (size_t)n;
	}
}

static void handoff(struct yg_gd_relay *r)
{
	enum yg_gd_end e = r->ops->handoff(r->opaque, r->handoff_fd, &r->h);

	r->handoff = false;
	if (e == YG_GD_END_JOIN) {	/* READY was sent: one more client */
		if (cli_add(r, r->handoff_fd, NULL) < 0) {
			yg_gd_send_exit(r->handoff_fd, 1, "too many clients are attached to "
					"this box; try again later");
			close(r->handoff_fd);
		} else {
			say(r, "\r\n[yolo-gate] another login attached to this session (%zu "
			    "clients)\r\n", r->ncli);
		}
		update_masks(r);
	} else if (e != YG_GD_END_NONE) {
		finish(r, e);
	}
}

static enum yg_gd_end run(struct yg_gd_relay *r)
{
	while (r->end == YG_GD_END_NONE) {
		if (virEventRunDefaultImpl() < 0) {
			finish(r, YG_GD_END_ERROR);
			break;
		}
		reap(r);
		if (r->end != YG_GD_END_NONE)
			break;
		if (r->winch && r->ops->winch) {
			r->winch = false;
			r->ops->winch(r->opaque, r->rows, r->cols);
		}
		if (r->handoff)
			handoff(r);
	}
	if (r->handoff) {	/* arrived while this session was ending */
		r->ops->queued(r->opaque, r->handoff_fd, &r->h);
		r->handoff = false;
	}
	return r->end;
}

static struct yg_gd_relay *relay_new(int rdv_fd, int sig_fd, unsigned long max_ms,
				     const struct yg_gd_relay_ops *ops, void *opaque)
{
	struct yg_gd_relay *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->rdv_watch = r->sig_watch = r->tick_timer = r->max_timer = -1;
	r->ops = ops;
	r->opaque = opaque;
	r->rdv_fd = rdv_fd;
	if (rdv_fd >= 0)
		r->rdv_watch = virEventAddHandle(rdv_fd, VIR_EVENT_HANDLE_READABLE, rdv_cb, r, NULL);
	if (sig_fd >= 0)
		r->sig_watch = virEventAddHandle(sig_fd, VIR_EVENT_HANDLE_READABLE, sig_cb, r, NULL);
	if (max_ms)
		r->max_timer = virEventAddTimeout(timer_ms(max_ms), max_cb, r, NULL);
	r->tick_timer = virEventAddTimeout(YG_GD_TICK_MS, tick_cb, r, NULL);
	r->last_active = yg_now_ms();
	return r;
}

enum yg_gd_end yg_gd_relay_run(struct yg_gd_clients *cl, virStreamPtr st, int rdv_fd,
			       int sig_fd, const struct yg_gd_limits *lim,
			       const struct yg_gd_relay_ops *ops, void *opaque)
{
	struct yg_gd_relay *r = relay_new(rdv_fd, sig_fd, 0, ops, opaque);
	enum yg_gd_end e;

	cl->nrest = 0;
	if (!r)
		return YG_GD_END_ERROR;
	r->st = st;
	r->lim = *lim;
	/* QEMU's pty chardev looks at a silent reader only once a second: a CR
	 * makes the guest's shell print its prompt at once. */
	r->tocon[0] = '\r';
	r->con_len = 1;
	if (cli_add(r, cl->fd, cl->in) < 0)
		finish(r, YG_GD_END_ERROR);
	if (virStreamEventAddCallback(st, VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_WRITABLE,
				      console_cb, r, NULL) == 0)
		r->st_watch = true;
	if (!r->st_watch)
		finish(r, YG_GD_END_ERROR);
	update_masks(r);
	e = run(r);
	unwatch(r);
	/* the session's end goes to every client still there; the first one
	 * (or the last to leave) is cl->fd, the others cl->rest */
	for (size_t i = 0; i < r->ncli; i++) {
		struct cli *c = r->cli[i];

		flush_client(c);
		if (i == 0)
			cl->fd = c->fd;
		else if (c->gone && c->gone != YG_GD_END_SLOW)
			ops->detach(opaque, c->fd, c->gone, r->ncli - 1);
		else if (c->gone)
			close(c->fd);
		else
			cl->rest[cl->nrest++] = c->fd;
		cli_free(c);
	}
	free(r);
	return e;
}
enum yg_gd_end yg_gd_wait_handoff(int rdv_fd, int sig_fd, unsigned long timeout_ms,
				  const struct yg_gd_relay_ops *ops, void *opaque)
{
	struct yg_gd_relay *r = relay_new(rdv_fd, sig_fd, timeout_ms, ops, opaque);
	enum yg_gd_end e;

	if (!r)
		return YG_GD_END_ERROR;
	e = run(r);
	unwatch(r);
	free(r);
	return e;
}
