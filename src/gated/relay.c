/* SPDX-License-Identifier: MIT */
/* relay.c: the console relay, between endpoints (yg_endpoint.h) on the
 * process's event loop (yg_loop.h): the console (a libvirt stream in the
 * broker, a socketpair in tests/unit/relaytest) and the client sockets.
 *
 * Bounded buffers, one per direction and client. Console bytes become DATA
 * frames, written by the codec, in each client's buf (never more than
 * YG_GD_TOCLI_SIZE bytes); DATA payloads from any client are queued in the
 * one tocon (never more than YG_GD_TOCON_SIZE). When a buffer is full the
 * relay stops reading from the side that fills it (interest masks), so a
 * slow client or a stuck guest costs bounded memory, never more.
 *
 * Except from a console that does not push back (ep->no_backpressure: a
 * libvirt stream, whose client library queues every packet while the event
 * loop runs, read or not). That one is always read, and box output that does
 * not fit in a client's buf is dropped for that client alone (counted); once
 * it has taken half of its buf, it gets one line saying how many bytes it
 * missed (notice), where the gap is, and its output goes on.
 *
 * concurrent = attach: up to YG_GD_CLIENTS_MAX clients. A console that
 * pushes back is read only when every client has room, so one of several
 * clients that has had no room for YG_GD_SLOW_CLIENT_MS is dropped rather
 * than stall the others (from a console that does not push back, one that
 * has been missing output that long); a single client is never dropped for
 * that. A client that leaves while others stay is handed to ops->detach; the
 * last one ends the relay.
 *
 * Callbacks only move bytes and set flags; anything that calls libvirt
 * synchronously (WINCH through the agent, a handoff that reverts the box) runs
 * from the loop below, outside the event callbacks. At the end, what was
 * already read from the console still goes to the clients, for at most
 * YG_GD_FLUSH_MS, on the same loop.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gated.h"
#include "yg_log.h"
#include "yg_loop.h"

#define TOCLI_SIZE YG_GD_TOCLI_SIZE
#define TOCON_SIZE YG_GD_TOCON_SIZE
#define CONSOLE_CHUNK 16384
#define CONSOLE_MIN_ROOM 256
#define CONSOLE_READS 8		/* chunks per console event at most */

/* One attached client: its endpoint, what it sent, what it is sent. */
struct cli {
	struct yg_gd_relay *r;
	struct yg_ep *ep;
	int fd;			/* ep's, handed back at the end (never closed here) */
	yg_frame_in *in;
	bool own_in;		/* in was allocated here (a joined client) */
	enum yg_gd_end gone;	/* why it left, NONE while attached */
	uint64_t full_since;	/* monotonic ms since its buffer is full, 0 = not */
	bool missing;		/* box output it had no room for is dropped */
	uint64_t missed;	/* bytes of it, not yet told (notice) */
	size_t tail;		/* where the last frame in buf starts, */
	bool tail_box;		/* if box output (extend) */
	uint8_t buf[TOCLI_SIZE];
	size_t off, len;
};

struct yg_gd_relay {
	struct cli *cli[YG_GD_CLIENTS_MAX];
	size_t ncli;		/* 0 in wait mode */
	struct yg_ep *con;	/* console, NULL in wait mode */
	int rdv_watch, sig_watch, tick_timer, max_timer;
	bool flushing, flush_over;	/* the end: only output to the clients */
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
		[YG_GD_END_BOXD] = "boxd_failed",
		[YG_GD_END_DONE] = "commands_done",
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

/* Room for one more console chunk in every client's buffer? */
static size_t console_room(const struct yg_gd_relay *r)
{
	size_t room = CONSOLE_CHUNK + 5;

	for (size_t i = 0; i < r->ncli; i++)
		if (!r->cli[i]->gone && TOCLI_SIZE - r->cli[i]->len < room)
			room = TOCLI_SIZE - r->cli[i]->len;
	return room;
}

/* A client without room for console output (or missing it) is noted
 * (full_since) for the tick to drop if others are attached. */
static void note_full(struct yg_gd_relay *r)
{
	uint64_t now = 0;

	for (size_t i = 0; i < r->ncli; i++) {
		struct cli *c = r->cli[i];

		if (c->gone) {
			continue;
		} else if (c->missing || TOCLI_SIZE - c->len < 5 + CONSOLE_MIN_ROOM) {
			if (!c->full_since)
				c->full_since = now ? now : (now = yg_now_ms());
		} else {
			c->full_since = 0;
		}
	}
}

/* Room in tocon for one more full DATA from a client? */
static bool tocon_room(const struct yg_gd_relay *r)
{
	return TOCON_SIZE - r->con_len >= YG_DATA_MAX;
}

/* What each endpoint waits for, from the buffers' state. While flushing,
 * only output to the clients that are still owed some. */
static void update_masks(struct yg_gd_relay *r)
{
	int ev;

	for (size_t i = 0; i < r->ncli; i++) {
		struct cli *c = r->cli[i];

		ev = 0;
		if ((!c->gone || r->flushing) && c->len > 0)
			ev |= YG_EV_WRITE;
		if (!c->gone && !r->flushing && tocon_room(r))
			ev |= YG_EV_READ;
		(void)yg_ep_interest(c->ep, ev);
	}
	if (r->con) {
		ev = 0;
		note_full(r);
		if (!r->flushing && (r->con->no_backpressure ||
				     console_room(r) >= 5 + CONSOLE_MIN_ROOM))
			ev |= YG_EV_READ;
		if (!r->flushing && r->con_len > 0)
			ev |= YG_EV_WRITE;
		(void)yg_ep_interest(r->con, ev);
	}
}

/* Write what buf holds at off (len bytes) to ep, as much as it takes now.
 * 0 (all or part written, or nothing fits now) or -errno. */
static int drain(struct yg_ep *ep, uint8_t *buf, size_t *off, size_t *len)
{
	ssize_t n = yg_ep_write(ep, buf + *off, *len);

	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return (int)n;
	*off += (size_t)n;
	*len -= (size_t)n;
	if (*len == 0)
		*off = 0;
	return 0;
}

static ssize_t ep_read(void *ep, void *buf, size_t len)
{
	return yg_ep_read(ep, buf, len);
}

/* Append box output to the last frame in c's buf, if that is box output
 * not being sent yet, with room to grow: one frame rather than one per read
 * (a serial console gives some 16 bytes a read), so that buf holds its size
 * of output, not a third of frame headers. */
static bool extend(struct cli *c, const uint8_t *bytes, size_t n)
{
	uint8_t *h = c->buf + c->tail;
	uint32_t be, flen;

	if (!c->tail_box || c->tail < c->off || c->tail >= c->off + c->len ||
	    TOCLI_SIZE - c->off - c->len < n)
		return false;
	memcpy(&be, h, 4);
	flen = ntohl(be);	/* the type byte and the payload */
	if (flen - 1 + n > YG_DATA_MAX)
		return false;
	memcpy(c->buf + c->off + c->len, bytes, n);
	c->len += n;
	be = htonl(flen + (uint32_t)n);
	memcpy(h, &be, 4);
	return true;
}

/* Queue bytes (box: the box's output) in c's buf as DATA; false when they
 * do not fit. */
static bool queue(struct cli *c, const uint8_t *bytes, size_t n, bool box)
{
	const yg_msg m = { .type = YG_MSG_DATA, .u.data = { .bytes = bytes, .len = n } };
	size_t flen;

	if (TOCLI_SIZE - c->off - c->len < 5 + n) {
		c->tail_box = c->tail_box && c->tail >= c->off;
		c->tail -= c->tail_box ? c->off : 0;
		compact(c->buf, &c->off, &c->len);
	}
	if (box && extend(c, bytes, n))
		return true;
	if (yg_msg_encode_to(&m, c->buf + c->off + c->len, TOCLI_SIZE - c->off - c->len,
			     &flen) < 0)
		return false;
	c->tail = c->off + c->len;
	c->tail_box = box;
	c->len += flen;
	return true;
}

/* A client that missed box output is told how much once it has taken half
 * of its buf: the line goes where the gap is, and its output goes on. */
static void notice(struct cli *c)
{
	char text[160], num[24];
	int n;

	if (!c->missing || c->len > TOCLI_SIZE / 2)
		return;
	n = snprintf(text, sizeof(text), "\r\n[yolo-gate] %llu bytes of box output dropped "
		     "while your terminal was not reading\r\n", (unsigned long long)c->missed);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)c->missed);
	yg_log(YG_LOG_INFO, "event", "output_dropped", "bytes", num, NULL);
	c->missing = false;
	c->missed = 0;
	if (n > 0)
		(void)queue(c, (const uint8_t *)text, (size_t)n, false);
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

	while (!c->gone && r->end == YG_GD_END_NONE && tocon_room(r)) {
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

static void client_cb(struct yg_ep *ep, int events, void *opaque)
{
	struct cli *c = opaque;
	struct yg_gd_relay *r = c->r;
	ssize_t n;

	if (r->flushing) {	/* a client that takes nothing more is let go */
		if ((events & (YG_EV_WRITE | YG_EV_ERROR | YG_EV_HUP)) &&
		    (drain(ep, c->buf, &c->off, &c->len) < 0 || !(events & YG_EV_WRITE)))
			c->len = 0;
		else if (!c->gone)
			notice(c);
		update_masks(r);
		return;
	}
	if (c->gone)
		return;
	if (events & YG_EV_WRITE && c->len > 0 && drain(ep, c->buf, &c->off, &c->len) < 0)
		leave(c, YG_GD_END_CLIENT_EOF);
	notice(c);
	if (events & YG_EV_READ) {
		/* a full tocon (another client filled it since the poll) waits:
		 * this client's frames stay in its reader */
		n = tocon_room(r) ? yg_frame_in_read(c->in, ep_read, ep) : -EAGAIN;
		if (n == 0 || (n < 0 && n != -EAGAIN && n != -ENOBUFS))
			leave(c, n == -EPROTO ? YG_GD_END_PROTOCOL : YG_GD_END_CLIENT_EOF);
	} else if (events & (YG_EV_HUP | YG_EV_ERROR)) {
		leave(c, YG_GD_END_CLIENT_EOF);
	}
	all_frames(r);
	update_masks(r);
}

/* Queue bytes (box: the box's output, else a line of the gate's) as one
 * DATA frame to every client with room. One without room misses them: box
 * output is counted for its notice, and dropped whole until then (only
 * from a console that does not push back: else there is always room). */
static void to_clients(struct yg_gd_relay *r, const uint8_t *bytes, size_t n, bool box)
{
	for (size_t i = 0; i < r->ncli; i++) {
		struct cli *c = r->cli[i];

		if (c->gone || (!c->missing && queue(c, bytes, n, box)))
			continue;
		if (box) {
			c->missing = true;
			c->missed += n;
		}
	}
	if (r->ops->output)
		r->ops->output(r->opaque, bytes, n);
}

/* Read what the console has, in chunks: as much as every client has room
 * for, or from a console that does not push back, whatever they have. */
static void read_console(struct yg_gd_relay *r, struct yg_ep *ep)
{
	size_t room;
	ssize_t n;

	for (int i = 0; i < CONSOLE_READS; i++) {
		room = ep->no_backpressure ? CONSOLE_CHUNK + 5 : console_room(r);
		if (room < 5 + CONSOLE_MIN_ROOM)
			return;
		room -= 5;
		if (room > CONSOLE_CHUNK)
			room = CONSOLE_CHUNK;
		n = yg_ep_read(ep, r->chunk, room);
		if (n <= 0) {
			if (n != -EAGAIN)
				finish(r, YG_GD_END_CONSOLE);
			return;
		}
		if (r->lim.idle_output)
			r->last_active = yg_now_ms();
		to_clients(r, r->chunk, (size_t)n, true);
		if ((size_t)n < room)
			return;
	}
}

static void console_cb(struct yg_ep *ep, int events, void *opaque)
{
	struct yg_gd_relay *r = opaque;

	if (r->flushing)
		return;
	if (events & YG_EV_WRITE && r->con_len > 0 &&
	    drain(ep, r->tocon, &r->con_off, &r->con_len) < 0)
		finish(r, YG_GD_END_CONSOLE);
	if (events & YG_EV_READ)
		read_console(r, ep);
	else if (events & (YG_EV_HUP | YG_EV_ERROR))
		finish(r, YG_GD_END_CONSOLE);
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
	to_clients(r, (const uint8_t *)text, (size_t)n, false);
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

	if (r->con && r->lim.idle_ms)
		t.idle_end = r->last_active + r->lim.idle_ms;
	if (r->con && r->lim.max_ms)
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
		    t.now - r->cli[i]->full_since >= r->lim.slow_ms)
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

	finish(r, r->con ? YG_GD_END_MAX : YG_GD_END_TIMEOUT);
}

static void cli_free(struct cli *c)
{
	yg_ep_close(c->ep);	/* the endpoint, not the fd */
	if (c->own_in)
		free(c->in);
	free(c);
}

static void unwatch(struct yg_gd_relay *r)
{
	yg_loop_watch_remove(r->rdv_watch);
	yg_loop_watch_remove(r->sig_watch);
	yg_loop_timer_remove(r->tick_timer);
	yg_loop_timer_remove(r->max_timer);
	r->rdv_watch = r->sig_watch = r->tick_timer = r->max_timer = -1;
}

/* Add a client (fd made non-blocking). in: what was already read from it,
 * NULL for a fresh reader. */
static int cli_add(struct yg_gd_relay *r, int fd, yg_frame_in *in)
{
	struct cli *c;
	int k;

	if (r->ncli >= YG_GD_CLIENTS_MAX)
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
	k = c->in ? yg_ep_fd_new(fd, 0, &c->ep) : -ENOMEM;
	if (k == 0) {
		yg_ep_bind(c->ep, client_cb, c);
		k = yg_ep_interest(c->ep, YG_EV_READ);
	}
	if (k < 0) {
		cli_free(c);
		return k;
	}
	r->cli[r->ncli++] = c;
	return 0;
}

/* Clients that left: each is handed back to the session (ops->detach), but
 * the last one ends the relay and stays, for the session's EXIT. */
static void reap(struct yg_gd_relay *r)
{
	enum yg_gd_end why;
	int fd;

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
		fd = c->fd;
		why = c->gone;
		cli_free(c);	/* unwatched before the callee closes fd */
		r->ops->detach(r->opaque, fd, why, r->ncli);
		say(r, "\r\n[yolo-gate] a client left this session (%zu still attached)\r\n",
		    r->ncli);
	}
}

static void flush_over(int timer, void *opaque)
{
	((struct yg_gd_relay *)opaque)->flush_over = true;
}

static bool owed(const struct yg_gd_relay *r)
{
	for (size_t i = 0; i < r->ncli; i++)
		if (r->cli[i]->len > 0)
			return true;
	return false;
}

/* Flush what the console already sent, for at most YG_GD_FLUSH_MS, before
 * the caller sends EXIT: the last lines of output belong to the user (not to
 * a client that hung up or was dropped as too slow). Nothing else is read
 * or watched meanwhile. */
static void flush(struct yg_gd_relay *r)
{
	int timer;

	r->flushing = true;
	for (size_t i = 0; i < r->ncli; i++)
		if (r->cli[i]->gone == YG_GD_END_CLIENT_EOF || r->cli[i]->gone == YG_GD_END_SLOW)
			r->cli[i]->len = 0;
	update_masks(r);
	if (!owed(r))
		return;
	timer = yg_loop_timer_add(YG_GD_FLUSH_MS, flush_over, r);
	while (timer >= 0 && !r->flush_over && owed(r) && yg_loop_run_once() == 0)
		;
	yg_loop_timer_remove(timer);
	for (size_t i = 0; i < r->ncli; i++)
		(void)yg_ep_interest(r->cli[i]->ep, 0);
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
		if (yg_loop_run_once() < 0) {
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
	r->lim.slow_ms = YG_GD_SLOW_CLIENT_MS;
	if (rdv_fd >= 0)
		r->rdv_watch = yg_loop_watch_add(rdv_fd, YG_EV_READ, rdv_cb, r);
	if (sig_fd >= 0)
		r->sig_watch = yg_loop_watch_add(sig_fd, YG_EV_READ, sig_cb, r);
	if (max_ms)
		r->max_timer = yg_loop_timer_add(max_ms, max_cb, r);
	r->tick_timer = yg_loop_timer_add(YG_GD_TICK_MS, tick_cb, r);
	r->last_active = yg_now_ms();
	/* without these it would never end, or never hear of a handoff */
	if ((rdv_fd >= 0 && r->rdv_watch < 0) || (sig_fd >= 0 && r->sig_watch < 0) ||
	    (max_ms && r->max_timer < 0) || r->tick_timer < 0)
		finish(r, YG_GD_END_ERROR);
	return r;
}

enum yg_gd_end yg_gd_relay_run(struct yg_gd_clients *cl, struct yg_ep *con, int rdv_fd,
			       int sig_fd, const struct yg_gd_limits *lim,
			       const struct yg_gd_relay_ops *ops, void *opaque)
{
	struct yg_gd_relay *r = relay_new(rdv_fd, sig_fd, 0, ops, opaque);
	enum yg_gd_end e;

	cl->nrest = 0;
	if (!r)
		return YG_GD_END_ERROR;
	r->lim = *lim;
	if (!r->lim.slow_ms)
		r->lim.slow_ms = YG_GD_SLOW_CLIENT_MS;
	/* QEMU's pty chardev looks at a silent reader only once a second: a CR
	 * makes the guest's shell print its prompt at once. */
	r->tocon[0] = '\r';
	r->con_len = 1;
	if (cli_add(r, cl->fd, cl->in) < 0)
		finish(r, YG_GD_END_ERROR);
	yg_ep_bind(con, console_cb, r);
	if (yg_ep_interest(con, YG_EV_READ | YG_EV_WRITE) == 0)
		r->con = con;
	else
		finish(r, YG_GD_END_ERROR);
	update_masks(r);
	e = run(r);
	unwatch(r);
	flush(r);
	if (r->con)
		(void)yg_ep_interest(con, 0);
	yg_ep_bind(con, NULL, NULL);
	/* the session's end goes to every client still there; the first one
	 * (or the last to leave) is cl->fd, the others cl->rest */
	for (size_t i = 0; i < r->ncli; i++) {
		enum yg_gd_end why = r->cli[i]->gone;
		int fd = r->cli[i]->fd;

		cli_free(r->cli[i]);
		if (i == 0)
			cl->fd = fd;
		else if (why && why != YG_GD_END_SLOW)
			ops->detach(opaque, fd, why, r->ncli - 1);
		else if (why)
			close(fd);
		else
			cl->rest[cl->nrest++] = fd;
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
