/* SPDX-License-Identifier: MIT */
/* floor: the physical floor of a login into one box, with libvirt alone.
 *
 *   floor [-c URI] [-d DEV] [-n | -p MS] [-S RxC] [-C] [-K] [-q MS] [-r MS] [-t SECS] [-T TTY]
 *         [-o TRANSCRIPT] [-v] DOMAIN
 *   floor [-c URI] -R N DOMAIN
 *
 * -R N times N virDomainGetState calls of DOMAIN (any state) on the open
 * connection and prints "rt MEDIAN_MS MAX_MS": one libvirt round trip, the
 * cost of each call the broker makes on a remote host. Otherwise:
 * DOMAIN must be paused (from its snapshot: what a logout leaves). After
 * the connection (not timed) the clock runs through, in order:
 *
 *   resume  virDomainResume
 *   open    virDomainOpenConsole (DEV, default the first console;
 *           VIR_DOMAIN_CONSOLE_FORCE) into a non-blocking stream
 *   wake    virDomainOpenChannel on the box's exec channel (YG_CHAN_PORT),
 *           HELLO and WAKE TTY (default /dev/ttyS0, window size left as it
 *           is) in one write, until yolo-boxd has answered both (its HELLO,
 *           OK): the guest writes to its console tty, as the broker's wake
 *           does, for QEMU's pty chardev, which after a fresh start looks
 *           for a reader only once a second. (Whether that gets the keys
 *           through at once depends on QEMU: 7.2.22 as Debian 12 ships it
 *           sends the guest's bytes out but still reads the keys only once
 *           its poll has seen the reader; -p shows the floor without it.)
 *   echo    `echo Y$((6*7))Z` typed on the console, again every MS ms
 *           (-r, default 200) while no Y42Z came back, until Y42Z
 *
 * -K sends CLOCK (the host's time) between HELLO and WAKE.
 * -S ROWSxCOLS makes the WAKE set that window size (SIGWINCH in the
 * guest), -C writes a CR to the console once the wake is answered (both as
 * the broker does), and -q MS then holds the typing until the console has
 * been quiet for MS ms after its first byte (at most 1 s; settle= in the
 * output, the echo counted from there): whether a shell busy with the CR or
 * the SIGWINCH loses what is typed meanwhile, and whether waiting helps.
 *
 * -n leaves the wake out (resume, open, echo), so that QEMU's pty poll
 * shows. -p MS opens the console MS ms before the clock starts (the box
 * still paused), so that QEMU's poll has seen the reader by then, and times
 * resume and echo only (no wake): what a console held open across the pause
 * would cost. One line on stdout, ms with CLOCK_MONOTONIC:
 *
 *   floor mode=wake|nowake|preopen resume=MS open=MS|- wake=MS|- hello=MS|-
 *         settle=MS|- echo=MS
 *         total=MS typed=N
 *
 * (hello: of the wake, the channel open and yolo-boxd's HELLO alone, one
 * guest round trip; typed: how often the command was typed). -v traces on
 * stderr when each byte came and each message went, ms since the clock
 * started. The box is left running.
 * Exit status 0; 2 when the run took longer than -t (default 60 s); 1 on
 * usage, libvirt or channel errors. Errors say what failed on stderr.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "yg_chan.h"
#include "yg_proto.h"

#define FL_CMD    "echo Y$((6*7))Z\r"
#define FL_MARK   "Y42Z"
#define FL_RT_MAX 1000		/* -R's bound */
#define FL_WINDOW 4096		/* console output kept for the match */
#define FL_OUT    1024		/* bytes queued to a stream */
#define FL_TICK   10		/* ms: the timer that retypes and checks the deadline */
#define FL_WAKE_ID 1u		/* the WAKE's request id */
#define FL_CLOCK_ID 2u		/* -K: the CLOCK's request id */
#define FL_SETTLE_MAX 1000	/* ms: -q waits at most this long */

enum fl_phase { FL_PRE, FL_WAKE, FL_SETTLE, FL_ECHO, FL_DONE };
enum fl_mode { FL_M_WAKE, FL_M_NOWAKE, FL_M_PREOPEN };
static const char *const mode_name[] = { "wake", "nowake", "preopen" };

struct fl_stream {
	const char *what;	/* "console", "channel" */
	virStreamPtr st;
	uint8_t out[FL_OUT];
	size_t len;		/* queued, not yet taken by the stream */
	bool watching;
};

static struct {
	const char *dom;
	struct fl_stream con, chan;
	yg_frame_in in;
	yg_chan_msg m;		/* large: not on the stack */
	FILE *log;
	char win[FL_WINDOW];
	size_t wlen;
	enum fl_phase phase;
	bool hello, woke, verbose, cr, got_out;
	int typed;
	double quiet_ms, t_out;	/* -q: quiet wanted; the last console byte */
	double retype_ms, next_type, deadline, timeout_s;
	double t0, t_resume, t_open, t_hello, t_wake, t_settle, t_echo;
} F = { .con = { .what = "console" }, .chan = { .what = "channel" } };

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void fail(int status, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

static void fail(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("floor: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void trace(const char *fmt, ...)
{
	va_list ap;

	if (!F.verbose)
		return;
	fprintf(stderr, "floor: %8.1f ", now_ms() - F.t0);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *virt_msg(void)
{
	const char *m = virGetLastErrorMessage();

	return m ? m : "unknown libvirt error";
}

/* libvirt's errors are reported by fail(), with what they were about */
static void quiet(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

static void stream_cb(virStreamPtr st, int events, void *opaque);

static void interest(struct fl_stream *s)
{
	int ev = VIR_STREAM_EVENT_READABLE | (s->len ? VIR_STREAM_EVENT_WRITABLE : 0);

	if (s->watching ? virStreamEventUpdateCallback(s->st, ev) :
			  virStreamEventAddCallback(s->st, ev, stream_cb, s, NULL))
		fail(1, "cannot watch the %s stream of %s: %s", s->what, F.dom, virt_msg());
	s->watching = true;
}

/* Hand the queue to the stream, as much as it takes now. */
static void flush(struct fl_stream *s)
{
	size_t off = 0;

	while (off < s->len) {
		int n = virStreamSend(s->st, (const char *)s->out + off, s->len - off);

		if (n == -2)
			break;
		if (n < 0)
			fail(1, "cannot write to the %s of %s: %s", s->what, F.dom, virt_msg());
		off += (size_t)n;
	}
	memmove(s->out, s->out + off, s->len - off);
	s->len -= off;
	interest(s);
}

static void queue(struct fl_stream *s, const void *buf, size_t len)
{
	if (len > sizeof(s->out) - s->len)
		fail(1, "the %s of %s does not take what is written to it", s->what, F.dom);
	memcpy(s->out + s->len, buf, len);
	s->len += len;
	flush(s);
}

static void send_msg(const yg_chan_msg *m)
{
	uint8_t buf[256];
	size_t len;

	if (yg_chan_encode(m, buf, sizeof(buf), &len) < 0)
		fail(1, "cannot encode %s", yg_chan_type_name(m->type));
	queue(&F.chan, buf, len);
	trace("sent %s", yg_chan_type_name(m->type));
}

static void type_cmd(void)
{
	queue(&F.con, FL_CMD, strlen(FL_CMD));
	F.typed++;
	F.next_type = now_ms() + F.retype_ms;
	trace("typed the command (%d)", F.typed);
}

static void start_echo(void)
{
	F.phase = FL_ECHO;
	F.wlen = 0;
	type_cmd();
}

/* ---- the console ---- */

static void console_bytes(const char *buf, size_t n)
{
	if (F.log)
		fwrite(buf, 1, n, F.log);
	if (F.verbose) {
		char show[64];
		size_t i, k = 0;

		for (i = 0; i < n && k < sizeof(show) - 1; i++)
			show[k++] = buf[i] >= 32 && buf[i] < 127 ? buf[i] : '.';
		show[k] = '\0';
		trace("console %zu bytes \"%s\"", n, show);
	}
	if (F.phase == FL_SETTLE) {
		F.got_out = true;
		F.t_out = now_ms();
	}
	if (F.phase != FL_ECHO)
		return;
	if (n >= sizeof(F.win)) {
		buf += n - (sizeof(F.win) - 1);
		n = sizeof(F.win) - 1;
	}
	if (F.wlen + n > sizeof(F.win)) {
		size_t drop = F.wlen + n - sizeof(F.win);

		memmove(F.win, F.win + drop, F.wlen - drop);
		F.wlen -= drop;
	}
	memcpy(F.win + F.wlen, buf, n);
	F.wlen += n;
	if (memmem(F.win, F.wlen, FL_MARK, strlen(FL_MARK))) {
		F.t_echo = now_ms();
		F.phase = FL_DONE;
	}
}

static void console_read(void)
{
	char buf[4096];
	int n;

	while ((n = virStreamRecv(F.con.st, buf, sizeof(buf))) > 0)
		console_bytes(buf, (size_t)n);
	if (n == 0)
		fail(1, "the console of %s closed", F.dom);
	if (n != -2)
		fail(1, "cannot read the console of %s: %s", F.dom, virt_msg());
}

/* ---- the channel to yolo-boxd ---- */

static ssize_t chan_recv(void *ctx, void *buf, size_t len)
{
	int n = virStreamRecv(F.chan.st, buf, len);

	(void)ctx;
	return n >= 0 ? n : n == -2 ? -EAGAIN : -EIO;
}

static void guest_msg(const yg_chan_msg *m)
{
	trace("got %s on stream %u", yg_chan_type_name(m->type), m->stream);
	if (m->type == YG_CHAN_MSG_HELLO && m->stream == 0) {
		if (!(m->u.hello.features & YG_CHAN_F_WAKE))
			fail(1, "yolo-boxd in %s (%s, features %#x) does not take WAKE: "
			     "rebuild the test guest", F.dom, m->u.hello.peer, m->u.hello.features);
		F.hello = true;
		F.t_hello = now_ms();
	} else if (m->type == YG_CHAN_MSG_OK && m->stream == FL_WAKE_ID) {
		F.woke = true;
	} else if (m->type == YG_CHAN_MSG_FAILED && m->stream == FL_CLOCK_ID) {
		fail(1, "yolo-boxd in %s refused the CLOCK (code %u): %s", F.dom,
		     m->u.failed.code, m->u.failed.text);
	} else if (m->type == YG_CHAN_MSG_FAILED && m->stream == FL_WAKE_ID) {
		fail(1, "yolo-boxd in %s refused the WAKE (code %u): %s", F.dom,
		     m->u.failed.code, m->u.failed.text);
	}
	if (F.hello && F.woke && F.phase == FL_WAKE) {
		F.t_wake = now_ms();
		if (F.cr)	/* as the broker: a CR for a fresh prompt */
			queue(&F.con, "\r", 1);
		if (F.quiet_ms > 0) {
			F.phase = FL_SETTLE;
			F.got_out = false;
		} else {
			start_echo();
		}
	}
}

static void chan_frames(void)
{
	const uint8_t *payload;
	uint8_t type;
	size_t len;
	int k;

	while ((k = yg_frame_next(&F.in, &type, &payload, &len)) == 1) {
		if (yg_chan_decode(type, payload, len, &F.m) < 0)
			fail(1, "yolo-boxd in %s sent a malformed frame (type %u, %zu bytes)",
			     F.dom, type, len);
		guest_msg(&F.m);
	}
	if (k < 0)
		fail(1, "yolo-boxd in %s sent a frame with a bad length", F.dom);
}

static void chan_read(void)
{
	for (;;) {
		ssize_t n = yg_frame_in_read(&F.in, chan_recv, NULL);

		if (n == -EAGAIN)
			return;
		if (n == 0 || (n < 0 && n != -ENOBUFS))
			fail(1, "the channel %s of %s %s (is yolo-boxd running in the guest? "
			     "its log: /run/yolo-boxd.log)", YG_CHAN_PORT, F.dom,
			     n == 0 ? "closed" : n == -EPROTO ? "sent a bad frame length" :
			     "failed");
		chan_frames();
	}
}

/* ---- the loop ---- */

static void stream_cb(virStreamPtr st, int events, void *opaque)
{
	struct fl_stream *s = opaque;

	(void)st;
	if ((events & VIR_STREAM_EVENT_WRITABLE) && s->len)
		flush(s);
	if (events & VIR_STREAM_EVENT_READABLE) {
		if (s == &F.con)
			console_read();
		else
			chan_read();
	} else if (events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP)) {
		fail(1, "the %s of %s closed", s->what, F.dom);
	}
}

static void tick(int timer, void *opaque)
{
	double t = now_ms();

	(void)timer;
	(void)opaque;
	if (t > F.deadline)
		fail(2, "%s did not come within %.0f s (resume %.0f ms, console open %.0f ms, "
		     "typed %d times)", F.phase == FL_WAKE ?
		     "yolo-boxd's answer to HELLO and WAKE" : "Y42Z on the console",
		     F.timeout_s, F.t_resume - F.t0, F.t_open ? F.t_open - F.t_resume : 0,
		     F.typed);
	if (F.phase == FL_SETTLE && ((F.got_out && t - F.t_out >= F.quiet_ms) ||
				     t - F.t_wake >= FL_SETTLE_MAX)) {
		F.t_settle = t;
		start_echo();
	}
	if (F.phase == FL_ECHO && t >= F.next_type)
		type_cmd();
}

static void open_stream(virConnectPtr conn, virDomainPtr dom, struct fl_stream *s,
			const char *dev)
{
	s->st = virStreamNew(conn, VIR_STREAM_NONBLOCK);
	if (!s->st)
		fail(1, "cannot create a stream: %s", virt_msg());
	if (s == &F.con ? virDomainOpenConsole(dom, dev, s->st, VIR_DOMAIN_CONSOLE_FORCE) :
			  virDomainOpenChannel(dom, dev, s->st, VIR_DOMAIN_CHANNEL_FORCE))
		fail(1, "cannot open the %s %s of %s: %s", s->what, dev ? dev : "(first)", F.dom,
		     virt_msg());
	interest(s);
}

static void close_stream(struct fl_stream *s)
{
	if (!s->st)
		return;
	if (s->watching)
		virStreamEventRemoveCallback(s->st);
	virStreamAbort(s->st);
	virStreamFree(s->st);
	s->st = NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* -R: N virDomainGetState calls, each timed; "rt MEDIAN MAX" in ms. */
static int round_trips(virDomainPtr dom, int n)
{
	double ms[FL_RT_MAX];
	int state, reason;

	for (int i = 0; i < n; i++) {
		double t = now_ms();

		if (virDomainGetState(dom, &state, &reason, 0) < 0)
			fail(1, "cannot get the state of %s: %s", F.dom, virt_msg());
		ms[i] = now_ms() - t;
	}
	qsort(ms, n, sizeof(*ms), cmp_double);
	printf("rt %.2f %.2f\n", ms[n / 2], ms[n - 1]);
	return 0;
}

static void usage(void)
{
	fputs("usage: floor [-c URI] [-d DEV] [-n | -p MS] [-S RxC] [-C] [-K] [-q MS] [-r MS] [-t SECS]\n"
	      "             [-T TTY] [-o TRANSCRIPT] [-v] DOMAIN\n"
	      "       floor [-c URI] -R N DOMAIN   (N libvirt round trips timed)\n"
	      "  -n  no wake (resume, console open, echo); -p console opened MS ms ahead\n"
	      "      (resume, echo); -r retype period (200 ms);\n"
	      "  -t  timeout (60 s); -T the guest's console tty for WAKE (/dev/ttyS0);\n"
	      "  -S  the window size WAKE sets (ROWSxCOLS; default: left as it is);\n"
	      "  -C  a CR on the console after the wake (as the broker);\n"
	      "  -K  CLOCK (the host's time) before the WAKE (as the broker);\n"
	      "  -q  after that, type only once the console has been quiet MS ms\n"
	      "  -v  trace the events on stderr\n", stderr);
	exit(1);
}

int main(int argc, char **argv)
{
	const char *uri = NULL, *dev = NULL, *tty = "/dev/ttyS0";
	yg_chan_msg hello = { .type = YG_CHAN_MSG_HELLO };
	yg_chan_msg wake = { .type = YG_CHAN_MSG_WAKE, .stream = FL_WAKE_ID };
	virConnectPtr conn;
	virDomainPtr dom;
	enum fl_mode mode = FL_M_WAKE;
	double preopen_ms = 0;
	int c, state = 0, reason = 0, timer, rt_n = 0;
	bool clock = false;
	char open_ms[32], wake_ms[32], hello_ms[32], settle_ms[32];

	F.retype_ms = 200;
	F.timeout_s = 60;
	while ((c = getopt(argc, argv, "c:Cd:Knp:q:r:R:S:t:T:o:v")) != -1) {
		switch (c) {
		case 'C': F.cr = true; break;
		case 'K': clock = true; break;
		case 'q':
			F.quiet_ms = atof(optarg);
			if (F.quiet_ms <= 0 || F.quiet_ms >= FL_SETTLE_MAX)
				usage();
			break;
		case 'S':
			if (sscanf(optarg, "%hux%hu", &wake.u.wake.rows, &wake.u.wake.cols) != 2 ||
			    !wake.u.wake.rows || !wake.u.wake.cols)
				usage();
			break;
		case 'R':
			rt_n = atoi(optarg);
			if (rt_n < 1 || rt_n > FL_RT_MAX)
				usage();
			break;
		case 'c': uri = optarg; break;
		case 'd': dev = optarg; break;
		case 'n':
			if (mode == FL_M_PREOPEN)
				usage();
			mode = FL_M_NOWAKE;
			break;
		case 'p':
			if (mode == FL_M_NOWAKE)
				usage();
			mode = FL_M_PREOPEN;
			preopen_ms = atof(optarg);
			break;
		case 'r': F.retype_ms = atof(optarg); break;
		case 't': F.timeout_s = atof(optarg); break;
		case 'T': tty = optarg; break;
		case 'v': F.verbose = true; break;
		case 'o':
			F.log = fopen(optarg, "we");
			if (!F.log)
				fail(1, "cannot write %s: %s", optarg, strerror(errno));
			break;
		default: usage();
		}
	}
	if (optind + 1 != argc || F.retype_ms < FL_TICK || F.timeout_s <= 0 ||
	    ((F.cr || clock || F.quiet_ms > 0 || wake.u.wake.rows) && mode != FL_M_WAKE) ||
	    (mode == FL_M_PREOPEN && (preopen_ms <= 0 || preopen_ms >= F.timeout_s * 1000)) ||
	    strlen(tty) > YG_CHAN_PATH_MAX || tty[0] != '/')
		usage();
	F.dom = argv[optind];
	hello.u.hello.version = YG_CHAN_VERSION;
	snprintf(hello.u.hello.peer, sizeof(hello.u.hello.peer), "bench/floor %s", PACKAGE_VERSION);
	snprintf(wake.u.wake.path, sizeof(wake.u.wake.path), "%s", tty);
	yg_frame_in_init(&F.in);

	virSetErrorFunc(NULL, quiet);
	if (virEventRegisterDefaultImpl() < 0)
		fail(1, "cannot start libvirt's event loop: %s", virt_msg());
	conn = virConnectOpen(uri);
	if (!conn)
		fail(1, "cannot connect to %s: %s", uri ? uri : "libvirt's default URI", virt_msg());
	dom = virDomainLookupByName(conn, F.dom);
	if (!dom)
		fail(1, "no domain %s: %s", F.dom, virt_msg());
	if (rt_n) {
		c = round_trips(dom, rt_n);
		virDomainFree(dom);
		virConnectClose(conn);
		return c;
	}
	if (virDomainGetState(dom, &state, &reason, 0) < 0)
		fail(1, "cannot get the state of %s: %s", F.dom, virt_msg());
	if (state != VIR_DOMAIN_PAUSED)
		fail(1, "%s is not paused (state %d): revert it first, "
		     "virsh snapshot-revert %s clean-state --paused", F.dom, state, F.dom);
	timer = virEventAddTimeout(FL_TICK, tick, NULL, NULL);
	if (timer < 0)
		fail(1, "cannot add a timer to libvirt's event loop");

	F.phase = FL_PRE;
	F.t0 = now_ms();
	F.deadline = F.t0 + F.timeout_s * 1000;
	if (mode == FL_M_PREOPEN) {
		/* not timed: the console open, and QEMU's poll given time to see it */
		open_stream(conn, dom, &F.con, dev);
		trace("console open, %.0f ms before the resume", preopen_ms);
		while (now_ms() < F.t0 + preopen_ms)
			if (virEventRunDefaultImpl() < 0)
				fail(1, "libvirt's event loop failed: %s", virt_msg());
		F.t0 = now_ms();
		F.deadline = F.t0 + F.timeout_s * 1000;
	}
	if (virDomainResume(dom) < 0)
		fail(1, "cannot resume %s: %s", F.dom, virt_msg());
	F.t_resume = now_ms();
	trace("resumed");
	if (mode != FL_M_PREOPEN) {
		open_stream(conn, dom, &F.con, dev);
		F.t_open = now_ms();
		trace("console open");
	}
	if (mode != FL_M_WAKE) {
		start_echo();
	} else {
		F.phase = FL_WAKE;
		open_stream(conn, dom, &F.chan, YG_CHAN_PORT);
		send_msg(&hello);
		if (clock) {	/* as the broker: the host's time, before the wake */
			yg_chan_msg k = { .type = YG_CHAN_MSG_CLOCK, .stream = FL_CLOCK_ID };
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			k.u.clock.ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
			send_msg(&k);
		}
		send_msg(&wake);
	}
	while (F.phase != FL_DONE)
		if (virEventRunDefaultImpl() < 0)
			fail(1, "libvirt's event loop failed: %s", virt_msg());

	snprintf(open_ms, sizeof(open_ms), "-");
	snprintf(wake_ms, sizeof(wake_ms), "-");
	snprintf(hello_ms, sizeof(hello_ms), "-");
	if (mode != FL_M_PREOPEN)
		snprintf(open_ms, sizeof(open_ms), "%.1f", F.t_open - F.t_resume);
	if (mode == FL_M_WAKE) {
		snprintf(wake_ms, sizeof(wake_ms), "%.1f", F.t_wake - F.t_open);
		snprintf(hello_ms, sizeof(hello_ms), "%.1f", F.t_hello - F.t_open);
	}
	snprintf(settle_ms, sizeof(settle_ms), "-");
	if (F.t_settle)
		snprintf(settle_ms, sizeof(settle_ms), "%.1f", F.t_settle - F.t_wake);
	printf("floor mode=%s resume=%.1f open=%s wake=%s hello=%s settle=%s echo=%.1f total=%.1f "
	       "typed=%d\n", mode_name[mode], F.t_resume - F.t0, open_ms, wake_ms, hello_ms,
	       settle_ms, F.t_echo - (F.t_settle ? F.t_settle : mode == FL_M_WAKE ? F.t_wake :
				      mode == FL_M_NOWAKE ? F.t_open : F.t_resume),
	       F.t_echo - F.t0, F.typed);
	fflush(stdout);
	virEventRemoveTimeout(timer);
	close_stream(&F.chan);
	close_stream(&F.con);
	virDomainFree(dom);
	virConnectClose(conn);
	if (F.log)
		fclose(F.log);
	return 0;
}
