/* SPDX-License-Identifier: MIT */
/* boxd.c: a session child's channel to the box's yolo-boxd (the
 * virtio-serial port YG_CHAN_PORT, opened through libvirt only:
 * yg_channel_open; codec yg_chan.h). The one owner of the channel: its
 * queue to the guest, the HELLO exchange, the requests (KEYS, WIPE, CLOCK,
 * WAKE, CONSIZE: each a stream id the guest answers with OK or FAILED),
 * PING while commands run, and the rule that any fault makes it dead.
 * exec.c runs the commands on its other streams (struct yg_gd_boxd_hooks).
 *
 * A login talks to it first: HELLO, KEYS and CLOCK go out in one write and
 * are answered in one guest round trip (yg_gd_boxd_start, _request,
 * _settle). Every byte from the guest is hostile: a malformed frame, a bad
 * length, a message the host does not take, an answer to nothing, or a
 * queue the guest does not drain kills the channel.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "yg_chan.h"
#include "yg_console.h"
#include "yg_log.h"
#include "yg_loop.h"
#include "session.h"

#define TOCHAN_CAP  (4u * (4u + YG_FRAME_MAX))
#define CTL_ROOM    1024u	/* kept free in the queue for control frames */
#define REQ_MAX     8u		/* requests in flight */

unsigned long yg_gd_boxd_ping_ms = YG_GD_BOXD_PING_MS;
unsigned long yg_gd_boxd_pong_ms = YG_GD_BOXD_PONG_MS;

struct req {
	uint32_t id;
	uint8_t type;
	bool wait;		/* yg_gd_boxd_settle waits for it */
	uint64_t t0;		/* sent (queued) */
};

static struct {
	struct yg_gd_sess *s;
	const struct yg_gd_boxd_hooks *hooks;
	struct yg_ep *ep;
	yg_frame_in in;
	yg_chan_msg m;		/* decoded guest message (large) */
	uint8_t out[TOCHAN_CAP];
	size_t off, len;
	bool open, hello, dead;
	uint32_t features;
	char why[256];
	uint32_t next_id;
	struct req req[REQ_MAX];
	size_t nreq;
	char failed[YG_TEXT_MAX + 1];	/* the first FAILED text of a waited request */
	uint32_t failed_code;		/* ... and its code (YG_CHAN_E_*) */
	int timer;
	uint64_t ping_at, cookie;	/* a PING in flight since ping_at (0 = none) */
	uint64_t last_heard;
} B = { .timer = -1 };

/* Move the pending bytes to the front when fewer than need bytes are free
 * behind them (not on every frame); the copy left behind is zeroed (KEYS and
 * EXEC carry key values). */
static void compact(size_t need)
{
	if (B.off && sizeof(B.out) - B.off - B.len < need) {
		memmove(B.out, B.out + B.off, B.len);
		memset(B.out + B.len, 0, B.off);
		B.off = 0;
	}
}

bool yg_gd_boxd_send(const yg_chan_msg *m)
{
	size_t n;

	compact(4 + YG_FRAME_MAX);
	if (B.dead || !B.open ||
	    yg_chan_encode(m, B.out + B.off + B.len, sizeof(B.out) - B.off - B.len, &n) < 0)
		return false;
	B.len += n;
	return true;
}

bool yg_gd_boxd_room(size_t n)
{
	return sizeof(B.out) - B.len >= n + CTL_ROOM;	/* after a compact */
}

void yg_gd_boxd_ctl(uint8_t type, uint32_t stream, uint32_t num)
{
	yg_chan_msg m = { .type = type, .stream = stream };

	if (type == YG_CHAN_MSG_WINDOW)
		m.u.window.bytes = num;
	else if (type == YG_CHAN_MSG_SIGNAL)
		m.u.signal.signo = (uint8_t)num;
	else if (type == YG_CHAN_MSG_EOF)
		m.u.eof.fd = (uint8_t)num;
	if (!yg_gd_boxd_send(&m))
		yg_gd_boxd_kill("its queue is full (it does not read)");
}

uint32_t yg_gd_boxd_stream(void)
{
	return B.next_id++;
}

bool yg_gd_boxd_up(void)
{
	return B.open && B.hello && !B.dead;
}

bool yg_gd_boxd_dead(void)
{
	return B.dead;
}

uint32_t yg_gd_boxd_features(void)
{
	return B.features;
}

void yg_gd_boxd_kill(const char *fmt, ...)
{
	char line[YG_TEXT_MAX];
	va_list ap;

	if (B.dead || !B.open)
		return;
	va_start(ap, fmt);
	vsnprintf(B.why, sizeof(B.why), fmt, ap);
	va_end(ap);
	B.dead = true;
	memset(B.out, 0, sizeof(B.out));
	B.len = B.off = 0;
	yg_gd_audit(YG_LOG_ERROR, "boxd_failed", "session", B.s->id, "user", B.s->u.user,
		    "box", B.s->u.domain, "error", B.why, NULL);
	snprintf(line, sizeof(line), "yolo-gate: the box's yolo-boxd %s; the session ends "
		 "and box %s is reverted\n", B.why, B.s->u.domain);
	if (B.hooks)
		B.hooks->dead(line);
}

void yg_gd_boxd_update(void)
{
	if (B.ep)
		(void)yg_ep_interest(B.ep, B.dead ? 0 : YG_EV_READ | (B.len ? YG_EV_WRITE : 0));
}

/* ---- from the guest ---- */

static struct req *find_req(uint32_t id)
{
	for (size_t i = 0; i < B.nreq; i++)
		if (B.req[i].id == id)
			return &B.req[i];
	return NULL;
}

/* OK or FAILED of a request: true when m answered one. */
static bool answer(const yg_chan_msg *m)
{
	struct req *r = m->stream ? find_req(m->stream) : NULL;

	if (!r || (m->type != YG_CHAN_MSG_OK && m->type != YG_CHAN_MSG_FAILED))
		return false;
	if (r->type == YG_CHAN_MSG_CLOCK) {	/* the guest clock: logged, as the agent's */
		char ms[24];

		yg_gd_fmt_ms(ms, sizeof(ms), (long)(yg_now_ms() - r->t0));
		yg_log(YG_LOG_INFO, "event", m->type == YG_CHAN_MSG_OK ? "clock_set" : "clock_failed",
		       "session", B.s->id, "box", B.s->u.domain, "by", "yolo-boxd", "ms_clock", ms,
		       "error", m->type == YG_CHAN_MSG_OK ? NULL : m->u.failed.text, NULL);
	}
	if (m->type == YG_CHAN_MSG_FAILED) {
		yg_log(YG_LOG_INFO, "event", "boxd_refused", "session", B.s->id,
		       "request", yg_chan_type_name(r->type), "error", m->u.failed.text, NULL);
		if (r->wait && !B.failed[0]) {
			snprintf(B.failed, sizeof(B.failed), "%s", m->u.failed.text);
			B.failed_code = m->u.failed.code;
		}
	}
	*r = B.req[--B.nreq];
	return true;
}

static void guest_msg(const yg_chan_msg *m)
{
	B.last_heard = yg_now_ms();
	if (m->type == YG_CHAN_MSG_HELLO && !B.hello && m->stream == 0) {
		B.hello = true;
		B.features = m->u.hello.features;
		return;
	}
	if (m->type == YG_CHAN_MSG_PONG && m->stream == 0) {
		if (m->u.ping.cookie == B.cookie)
			B.ping_at = 0;
		return;
	}
	if (m->stream && (answer(m) || (B.hello && B.hooks && B.hooks->stream_msg(m))))
		return;
	yg_gd_boxd_kill("sent %s on stream %u, which the host does not take",
			yg_chan_type_name(m->type), m->stream);
}

static void guest_frames(void)
{
	const uint8_t *payload;
	uint8_t type;
	size_t len;
	int k;

	while (!B.dead) {
		k = yg_frame_next(&B.in, &type, &payload, &len);
		if (k == 0)
			return;
		if (k < 0 || yg_chan_decode(type, payload, len, &B.m) < 0) {
			yg_gd_boxd_kill("sent a malformed frame (type %u, %zu bytes)", type, len);
			return;
		}
		guest_msg(&B.m);
	}
}

static ssize_t ep_read(void *ep, void *buf, size_t len)
{
	return yg_ep_read(ep, buf, len);
}

static void pump(void)
{
	if (B.hooks)
		B.hooks->pump();
	else
		yg_gd_boxd_update();
}

static void chan_cb(struct yg_ep *ep, int events, void *opaque)
{
	ssize_t n;

	(void)opaque;
	if (B.dead)
		return;
	if ((events & YG_EV_WRITE) && B.len) {
		n = yg_ep_write(ep, B.out + B.off, B.len);
		if (n > 0) {
			memset(B.out + B.off, 0, (size_t)n);	/* KEYS, EXEC: key values */
			B.off += (size_t)n;
			B.len -= (size_t)n;
		} else if (n != -EAGAIN) {
			yg_gd_boxd_kill("channel closed");
		}
	}
	for (int i = 0; !B.dead && (events & YG_EV_READ) && i < 16; i++) {
		n = yg_frame_in_read(&B.in, ep_read, ep);
		if (n == -EAGAIN)
			break;
		if (n == -ENOBUFS) {
			guest_frames();
			continue;
		}
		if (n <= 0) {
			yg_gd_boxd_kill(n == -EPROTO ? "sent a frame with a bad length" :
					"channel closed (the guest daemon stopped?)");
			break;
		}
		guest_frames();
	}
	if (!(events & (YG_EV_READ | YG_EV_WRITE)) && (events & (YG_EV_HUP | YG_EV_ERROR)))
		yg_gd_boxd_kill("channel closed (the guest daemon stopped?)");
	pump();
}

/* PING after yg_gd_boxd_ping_ms of silence while commands run; dead when it
 * is not answered within yg_gd_boxd_pong_ms. */
static void tick_cb(int timer, void *opaque)
{
	uint64_t now = yg_now_ms();

	(void)timer;
	(void)opaque;
	if (B.dead)
		return;
	if (B.ping_at && now - B.ping_at >= yg_gd_boxd_pong_ms) {
		yg_gd_boxd_kill("did not answer for %lu s", yg_gd_boxd_pong_ms / 1000);
	} else if (!B.ping_at && B.hooks && B.hooks->busy() &&
		   now - B.last_heard >= yg_gd_boxd_ping_ms) {
		yg_chan_msg p = { .type = YG_CHAN_MSG_PING };

		p.u.ping.cookie = ++B.cookie;
		B.ping_at = now;
		if (!yg_gd_boxd_send(&p))
			yg_gd_boxd_kill("its queue is full (it does not read)");
	}
	pump();
}

/* ---- opening, requests, closing ---- */

void yg_gd_boxd_hooks(const struct yg_gd_boxd_hooks *h)
{
	B.hooks = h;
}

int yg_gd_boxd_start(struct yg_gd_sess *s, char *why, size_t len)
{
	yg_chan_msg h = { .type = YG_CHAN_MSG_HELLO };
	yg_err err;

	if (B.open && !B.dead)
		return 0;
	if (B.dead) {
		snprintf(why, len, "the box's yolo-boxd %s", B.why);
		return -1;
	}
	B.s = s;
	if (yg_channel_open(s->box, YG_CHAN_PORT, &B.ep, &err) < 0) {
		snprintf(why, len, "%s", err.msg);
		return -1;
	}
	B.open = true;
	yg_frame_in_init(&B.in);
	B.next_id = 1;
	B.nreq = 0;
	B.failed[0] = '\0';
	B.last_heard = yg_now_ms();
	yg_ep_bind(B.ep, chan_cb, NULL);
	h.u.hello.version = YG_CHAN_VERSION;
	snprintf(h.u.hello.peer, sizeof(h.u.hello.peer), "yolo-gated %s", PACKAGE_VERSION);
	(void)yg_gd_boxd_send(&h);
	B.timer = yg_loop_timer_add(YG_GD_BOXD_TICK_MS, tick_cb, NULL);
	yg_gd_boxd_update();
	return 0;
}

uint32_t yg_gd_boxd_request(yg_chan_msg *m, bool wait)
{
	if (B.nreq >= REQ_MAX || !yg_gd_boxd_room(YG_FRAME_MAX))
		return 0;
	m->stream = B.next_id++;
	if (!yg_gd_boxd_send(m))
		return 0;
	B.req[B.nreq++] = (struct req){ .id = m->stream, .type = m->type, .wait = wait,
					.t0 = yg_now_ms() };
	yg_gd_boxd_update();
	return m->stream;
}

uint32_t yg_gd_boxd_clock(void)
{
	yg_chan_msg c = { .type = YG_CHAN_MSG_CLOCK };
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	c.u.clock.ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return yg_gd_boxd_request(&c, false);
}

static bool waiting(void)
{
	if (!B.hello)
		return true;
	for (size_t i = 0; i < B.nreq; i++)
		if (B.req[i].wait)
			return true;
	return false;
}

static void over_cb(int timer, void *opaque)
{
	(void)timer;
	*(bool *)opaque = true;
}

int yg_gd_boxd_settle(unsigned long ms, char *why, size_t len)
{
	bool over = false;
	int t = yg_loop_timer_add(ms, over_cb, &over);

	while (t >= 0 && !over && !B.dead && waiting() && yg_loop_run_once() == 0)
		;
	yg_loop_timer_remove(t);
	if (B.dead) {
		snprintf(why, len, "the box's yolo-boxd %s", B.why);
		return -EPIPE;
	}
	if (!B.hello) {
		snprintf(why, len, "box %s has no yolo-boxd answering on its channel (%s) within "
			 "%lu ms: install the yolo-gate-guest package in its image (see yolo-boxd(8))",
			 B.s->u.domain, YG_CHAN_PORT, ms);
		return -ENOTCONN;
	}
	if (B.failed[0]) {
		snprintf(why, len, "%s", B.failed);
		B.failed[0] = '\0';
		return -(int)(YG_GD_BOXD_FAILED + B.failed_code);
	}
	if (waiting()) {
		snprintf(why, len, "the box's yolo-boxd did not answer within %lu ms", ms);
		return -ETIMEDOUT;
	}
	return 0;
}

void yg_gd_boxd_close(void)
{
	yg_ep_close(B.ep);
	B.ep = NULL;
	yg_loop_timer_remove(B.timer);
	B.timer = -1;
	memset(B.out, 0, sizeof(B.out));
	B.len = B.off = 0;
	B.nreq = 0;
	B.open = B.hello = B.dead = false;
}
