/* relaytest.c: the broker's relay (src/gated/relay.c) over socketpairs, on
 * the poll loop: no libvirt, no root.
 *
 * The relay runs in a thread, as in the broker's session child; this thread
 * plays the console (a socketpair end behind an fd endpoint) and the clients
 * (socketpairs speaking frames; more join through the real rendezvous
 * socket), and checks what crosses: bytes both ways, backpressure with
 * bounded buffers, fan-out to attached clients, the slow-client drop (with a
 * short bound), the end reasons, the flush at the end, and that DATA is
 * passed through byte for byte (the escape byte 0x1d included: the escape is
 * yolo-shell's business).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "gated.h"
#include "yg_endpoint.h"
#include "yg_loop.h"

#define BOX "yolo-test"
#define SOCKBUF 16384		/* SO_SNDBUF of every socket here: small queues */
#define MAXPEERS 4
#define FRAME_PAYLOAD 1000	/* client DATA frames */
#define GATE "\r\n[yolo-gate]"	/* how the gate's own lines start */
#define LIMIT (32u << 20)	/* more than this through a stalled side = unbounded */

static char dir[64];

/* The console's byte pattern: k-th byte of the stream. 0x1d (the escape)
 * comes by every 251 bytes; "\r\n" never does, so no chunk looks like GATE. */
static uint8_t pat(size_t k)
{
	return (uint8_t)(k % 251);
}

static void pat_fill(uint8_t *buf, size_t from, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(from + i);
}

static bool is_pat(const uint8_t *buf, size_t from, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pat(from + i))
			return false;
	return true;
}

struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void bytes_add(struct bytes *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		assert_non_null(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static bool bytes_has(const struct bytes *b, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i + n <= b->len; i++)
		if (memcmp(b->p + i, s, n) == 0)
			return true;
	return false;
}

/* One client, the test's end. */
struct peer {
	int fd;			/* the test's end */
	int relay_fd;		/* the relay's end, -1 once handed over */
	bool reading;		/* read what comes (else leave it queued) */
	yg_frame_in in;
	struct bytes data;	/* console bytes received */
	struct bytes gate;	/* the gate's own lines */
	bool eof;
	int exits, others;
	/* writer: w_target payload bytes of the pattern, as DATA frames */
	size_t w_target, w_done, w_bytes;
	uint8_t wbuf[5 + FRAME_PAYLOAD];
	size_t woff, wlen;
};

/* The relay and the console, the test's end. */
static struct {
	int con, con_relay;	/* the console's socketpair */
	struct yg_ep *con_ep;
	bool con_reading;
	size_t con_target, con_sent;	/* pattern bytes to write / written */
	struct bytes con_in;		/* what the relay wrote to the console */
	struct yg_gd_clients cl;
	struct yg_gd_limits lim;
	int rdv_fd, sig[2], done[2];
	pthread_t th;
	bool running;
	enum yg_gd_end end;
	/* seen by the callbacks, in the relay's thread */
	pthread_mutex_t mu;
	size_t ndetach, output;
	enum yg_gd_end why[YG_GD_CLIENTS_MAX];
	size_t left[YG_GD_CLIENTS_MAX];
	uint64_t detach_ms[YG_GD_CLIENTS_MAX];
	int nwinch;
	uint16_t rows, cols;
} g;

static struct peer peers[MAXPEERS];

/* ---- the relay's callbacks ---- */

static void t_winch(void *opaque, uint16_t rows, uint16_t cols)
{
	pthread_mutex_lock(&g.mu);
	g.nwinch++;
	g.rows = rows;
	g.cols = cols;
	pthread_mutex_unlock(&g.mu);
}

static enum yg_gd_end t_handoff(void *opaque, int fd, const struct yg_gd_handoff *h)
{
	return YG_GD_END_JOIN;	/* concurrent = attach (READY is the session's) */
}

static void t_queued(void *opaque, int fd, const struct yg_gd_handoff *h)
{
	close(fd);
}

static void t_output(void *opaque, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&g.mu);
	g.output += len;
	pthread_mutex_unlock(&g.mu);
}

static void t_detach(void *opaque, int fd, enum yg_gd_end why, size_t left)
{
	pthread_mutex_lock(&g.mu);
	if (g.ndetach < YG_GD_CLIENTS_MAX) {
		g.why[g.ndetach] = why;
		g.left[g.ndetach] = left;
		g.detach_ms[g.ndetach] = yg_now_ms();
		g.ndetach++;
	}
	pthread_mutex_unlock(&g.mu);
	close(fd);
}

static const struct yg_gd_relay_ops ops = {
	.winch = t_winch,
	.handoff = t_handoff,
	.queued = t_queued,
	.output = t_output,
	.detach = t_detach,
};

static size_t locked(const size_t *v)
{
	size_t x;

	pthread_mutex_lock(&g.mu);
	x = *v;
	pthread_mutex_unlock(&g.mu);
	return x;
}

/* ---- set-up ---- */

static void small_buf(int fd)
{
	int n = SOCKBUF;

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n)), 0);
}

static void nonblock(int fd)
{
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

static void pair(int *mine, int *theirs)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	small_buf(sv[0]);
	small_buf(sv[1]);
	nonblock(sv[0]);
	*mine = sv[0];
	*theirs = sv[1];
}

static struct peer *peer_new(void)
{
	for (int i = 0; i < MAXPEERS; i++) {
		struct peer *p = &peers[i];

		if (p->fd < 0) {
			pair(&p->fd, &p->relay_fd);
			p->reading = true;
			yg_frame_in_init(&p->in);
			return p;
		}
	}
	fail_msg("more than %d peers", MAXPEERS);
	return NULL;
}

static void *relay_main(void *arg)
{
	g.end = yg_gd_relay_run(&g.cl, g.con_ep, g.rdv_fd, g.sig[0], &g.lim, &ops, NULL);
	if (write(g.done[1], "x", 1) != 1)
		abort();
	return NULL;
}

/* Start the relay with one client (returned); slow_ms: the slow-client bound. */
static struct peer *start(unsigned long slow_ms)
{
	struct peer *p = peer_new();

	pair(&g.con, &g.con_relay);
	assert_int_equal(yg_ep_fd_new(g.con_relay, YG_EP_OWN_FD, &g.con_ep), 0);
	g.cl.fd = p->relay_fd;
	g.cl.in = malloc(sizeof(*g.cl.in));
	assert_non_null(g.cl.in);
	yg_frame_in_init(g.cl.in);
	g.lim.slow_ms = slow_ms;
	assert_int_equal(pthread_create(&g.th, NULL, relay_main, NULL), 0);
	g.running = true;
	return p;
}

static int setup(void **state)
{
	char path[PATH_MAX];
	yg_err err;

	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.mu, NULL);
	g.con = g.con_relay = g.cl.fd = -1;
	g.con_reading = true;
	for (int i = 0; i < MAXPEERS; i++) {
		memset(&peers[i], 0, sizeof(peers[i]));
		peers[i].fd = peers[i].relay_fd = -1;
	}
	g.rdv_fd = yg_gd_rdv_listen(dir, BOX, path, sizeof(path), &err);
	if (g.rdv_fd < 0 || pipe2(g.sig, O_CLOEXEC) < 0 || pipe2(g.done, O_CLOEXEC) < 0)
		return -1;
	return 0;
}

/* Wait up to ms for the relay to return; true when it did. */
static bool ended(int ms)
{
	struct pollfd p = { .fd = g.done[0], .events = POLLIN };

	if (!g.running)
		return true;
	if (poll(&p, 1, ms) != 1)
		return false;
	pthread_join(g.th, NULL);
	g.running = false;
	return true;
}

static int teardown(void **state)
{
	if (g.running) {	/* a failed test: stop the relay (SIGTERM) */
		if (write(g.sig[1], "x", 1) != 1 || !ended(10000))
			abort();
	}
	yg_ep_close(g.con_ep);
	if (g.con >= 0)
		close(g.con);
	if (g.cl.fd >= 0)
		close(g.cl.fd);
	for (size_t i = 0; i < g.cl.nrest; i++)
		close(g.cl.rest[i]);
	free(g.cl.in);
	free(g.con_in.p);
	for (int i = 0; i < MAXPEERS; i++) {
		struct peer *p = &peers[i];

		if (p->fd >= 0)
			close(p->fd);
		if (p->relay_fd >= 0 && p->relay_fd != g.cl.fd)
			close(p->relay_fd);
		free(p->data.p);
		free(p->gate.p);
	}
	close(g.rdv_fd);
	close(g.sig[0]);
	close(g.sig[1]);
	close(g.done[0]);
	close(g.done[1]);
	pthread_mutex_destroy(&g.mu);
	return 0;
}

/* A second or later client, through the rendezvous socket as in the broker. */
static struct peer *join(void)
{
	struct yg_gd_handoff h = { .uid = geteuid(), .type = YG_MSG_OPEN };
	struct peer *p = peer_new();

	snprintf(h.box, sizeof(h.box), BOX);
	assert_int_equal(yg_gd_rdv_send(dir, BOX, p->relay_fd, &h, 1000), 0);
	close(p->relay_fd);	/* the relay has its own copy now */
	p->relay_fd = -1;
	return p;
}

/* ---- the test's side of the sockets ---- */

static void peer_frames(struct peer *p)
{
	const uint8_t *payload;
	uint8_t type;
	size_t len;
	yg_msg m;

	while (yg_frame_next(&p->in, &type, &payload, &len) == 1) {
		assert_int_equal(yg_msg_decode(type, payload, len, &m), 0);
		if (m.type == YG_MSG_EXIT) {
			p->exits++;
		} else if (m.type != YG_MSG_DATA) {
			p->others++;
		} else if (m.u.data.len >= strlen(GATE) &&
			   memcmp(m.u.data.bytes, GATE, strlen(GATE)) == 0) {
			bytes_add(&p->gate, m.u.data.bytes, m.u.data.len);
		} else {
			bytes_add(&p->data, m.u.data.bytes, m.u.data.len);
		}
	}
}

static bool peer_read(struct peer *p)
{
	bool moved = false;
	ssize_t n;

	while (!p->eof && (n = yg_frame_in_fill(&p->in, p->fd)) != -EAGAIN) {
		if (n == 0 || n == -ECONNRESET)
			p->eof = true;
		else
			assert_true(n > 0);
		moved = true;
		peer_frames(p);
	}
	return moved;
}

static bool peer_write(struct peer *p)
{
	bool moved = false;
	ssize_t n;

	for (;;) {
		if (!p->wlen && p->w_done < p->w_target) {
			uint8_t chunk[FRAME_PAYLOAD];
			size_t k = p->w_target - p->w_done;
			yg_msg m = { .type = YG_MSG_DATA };

			k = k < FRAME_PAYLOAD ? k : FRAME_PAYLOAD;
			pat_fill(chunk, p->w_done, k);
			m.u.data.bytes = chunk;
			m.u.data.len = k;
			assert_int_equal(yg_msg_encode_to(&m, p->wbuf, sizeof(p->wbuf), &p->wlen), 0);
			p->woff = 0;
			p->w_done += k;
		}
		if (!p->wlen)
			return moved;
		n = write(p->fd, p->wbuf + p->woff, p->wlen);
		if (n < 0 && errno == EAGAIN)
			return moved;
		assert_true(n > 0);
		p->woff += (size_t)n;
		p->wlen -= (size_t)n;
		p->w_bytes += (size_t)n;
		moved = true;
	}
}

static bool con_read(void)
{
	uint8_t buf[65536];
	bool moved = false;
	ssize_t n;

	while ((n = read(g.con, buf, sizeof(buf))) > 0) {
		bytes_add(&g.con_in, buf, (size_t)n);
		moved = true;
	}
	return moved;
}

static bool con_write(void)
{
	uint8_t buf[65536];
	bool moved = false;
	ssize_t n;

	while (g.con_sent < g.con_target) {
		size_t k = g.con_target - g.con_sent;

		k = k < sizeof(buf) ? k : sizeof(buf);
		pat_fill(buf, g.con_sent, k);
		n = write(g.con, buf, k);
		if (n < 0 && errno == EAGAIN)
			break;
		assert_true(n > 0);
		g.con_sent += (size_t)n;
		moved = true;
	}
	return moved;
}

/* Move bytes on the test's side (console and every peer, as their flags
 * say) until done() or ms pass; quiet_ms > 0: also stop once nothing could
 * be written for that long (the relay stopped taking). Returns whether done()
 * (or the quiet spell) came. */
static bool drive(int ms, int quiet_ms, bool (*done)(void))
{
	uint64_t deadline = yg_now_ms() + (uint64_t)ms, last = yg_now_ms();

	for (;;) {
		struct pollfd pfd[1 + MAXPEERS];
		uint64_t now = yg_now_ms();
		bool wrote = false;

		if (done && done())
			return true;
		if (quiet_ms && now - last >= (uint64_t)quiet_ms)
			return true;
		if (now >= deadline)
			return false;
		pfd[0].fd = g.con;
		pfd[0].events = (short)((g.con_reading ? POLLIN : 0) |
					(g.con_sent < g.con_target ? POLLOUT : 0));
		for (int i = 0; i < MAXPEERS; i++) {
			struct peer *p = &peers[i];

			pfd[1 + i].fd = p->eof ? -1 : p->fd;
			pfd[1 + i].events = (short)((p->reading ? POLLIN : 0) |
						    (p->wlen || p->w_done < p->w_target ? POLLOUT : 0));
		}
		if (poll(pfd, 1 + MAXPEERS, 20) < 0)
			assert_int_equal(errno, EINTR);
		if (g.con >= 0 && g.con_reading)
			con_read();
		if (g.con >= 0)
			wrote |= con_write();
		for (int i = 0; i < MAXPEERS; i++) {
			struct peer *p = &peers[i];

			if (p->fd < 0)
				continue;
			if (p->reading)
				peer_read(p);
			if (!p->eof)
				wrote |= peer_write(p);
		}
		if (wrote || !quiet_ms)
			last = yg_now_ms();
	}
}

static void con_close(void)
{
	close(g.con);
	g.con = -1;
}

static void send_msg(struct peer *p, const yg_msg *m)
{
	assert_int_equal(yg_msg_send(p->fd, m, 2000), 0);
}

static void send_data(struct peer *p, const void *bytes, size_t len)
{
	yg_msg m = { .type = YG_MSG_DATA };

	m.u.data.bytes = bytes;
	m.u.data.len = len;
	send_msg(p, &m);
}

/* CPU time of the relay's thread (ms): a relay that waits for the wrong
 * events spins instead of sleeping. */
static uint64_t relay_cpu_ms(void)
{
	struct timespec ts;
	clockid_t cid;

	assert_int_equal(pthread_getcpuclockid(g.th, &cid), 0);
	assert_int_equal(clock_gettime(cid, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t fionread(int fd)
{
	int n = 0;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return (size_t)n;
}

/* predicates for drive() */
static size_t want;
static struct peer *who;
static const char *what;

static bool con_has_want(void) { return g.con_in.len >= want; }
static bool who_has_want(void) { return who->data.len >= want; }
static bool who_has_what(void) { return bytes_has(&who->gate, what); }
static bool who_at_eof(void) { return who->eof; }
static bool all_have_want(void)
{
	for (int i = 0; i < MAXPEERS; i++)
		if (peers[i].fd >= 0 && peers[i].reading && !peers[i].eof &&
		    peers[i].data.len < want)
			return false;
	return true;
}
static bool one_detach(void) { return locked(&g.ndetach) >= want; }
static bool one_winch(void)
{
	int n;

	pthread_mutex_lock(&g.mu);
	n = g.nwinch;
	pthread_mutex_unlock(&g.mu);
	return n > 0;
}

static void wait_con(size_t n)
{
	want = n;
	assert_true(drive(5000, 0, con_has_want));
}

static void wait_data(struct peer *p, size_t n)
{
	who = p;
	want = n;
	assert_true(drive(10000, 0, who_has_want));
}

static void wait_gate(struct peer *p, const char *s)
{
	who = p;
	what = s;
	if (!drive(5000, 0, who_has_what))
		fail_msg("no gate line \"%s\"", s);
}

static void wait_detach(size_t n)
{
	want = n;
	assert_true(drive(10000, 0, one_detach));
}

/* ---- tests ---- */

/* Input reaches the console (after the relay's wake CR), output the
 * client, WINCH the session, and the client's EXIT ends the relay. */
static void test_both_ways(void **state)
{
	struct peer *a = start(0);
	yg_msg m = { .type = YG_MSG_WINCH };

	wait_con(1);
	assert_int_equal(g.con_in.p[0], '\r');
	send_data(a, "echo hi\r", 8);
	wait_con(9);
	assert_int_equal(g.con_in.len, 9);
	assert_memory_equal(g.con_in.p, "\recho hi\r", 9);
	assert_int_equal(write(g.con, "hi\r\n$ ", 6), 6);
	wait_data(a, 6);
	assert_int_equal(a->data.len, 6);
	assert_memory_equal(a->data.p, "hi\r\n$ ", 6);
	m.u.winch.rows = 40;
	m.u.winch.cols = 100;
	send_msg(a, &m);
	assert_true(drive(5000, 0, one_winch));
	pthread_mutex_lock(&g.mu);
	assert_int_equal(g.nwinch, 1);
	assert_int_equal(g.rows, 40);
	assert_int_equal(g.cols, 100);
	pthread_mutex_unlock(&g.mu);
	assert_false(ended(0));
	m.type = YG_MSG_EXIT;
	snprintf(m.u.exit.reason, sizeof(m.u.exit.reason), "escape");
	send_msg(a, &m);
	assert_true(ended(5000));
	assert_int_equal(g.end, YG_GD_END_CLIENT_EXIT);
	assert_int_equal(g.cl.fd, a->relay_fd);
	assert_int_equal(g.cl.nrest, 0);
	assert_int_equal(g.ndetach, 0);
	assert_int_equal(a->gate.len, 0);
}

/* The broker does not look for the escape byte: 0x1d anywhere in DATA, both
 * ways, passes unchanged, and the session goes on. EOF ends it. */
static void test_escape_passes(void **state)
{
	static const char out[] = "\x1d\x1d q\x1d";
	struct peer *a = start(0);

	send_data(a, "\x1d", 1);
	send_data(a, "a\x1d" "b", 3);
	send_data(a, "xy\x1d", 3);
	wait_con(8);
	assert_int_equal(g.con_in.len, 8);
	assert_memory_equal(g.con_in.p, "\r\x1d" "a\x1d" "bxy\x1d", 8);
	assert_int_equal(write(g.con, out, 5), 5);
	wait_data(a, 5);
	assert_memory_equal(a->data.p, out, 5);
	assert_false(ended(300));
	close(a->fd);
	a->fd = -1;
	assert_true(ended(5000));
	assert_int_equal(g.end, YG_GD_END_CLIENT_EOF);
	assert_int_equal(g.cl.fd, a->relay_fd);
}

/* A client that reads nothing: the relay stops reading the console, holds
 * no more than its buffer, and (alone) is never dropped however long it
 * stalls; once it reads, every byte arrives in order. */
static void test_backpressure_to_client(void **state)
{
	struct peer *a = start(200);
	size_t total, held, queued;
	uint64_t cpu;

	a->reading = false;
	g.con_target = LIMIT;
	assert_true(drive(20000, 500, NULL));
	assert_true(g.con_sent < LIMIT);	/* the console side stopped being read */
	/* five times the slow-client bound: still there, still stalled, and
	 * the relay sleeps meanwhile (nothing is watched that it cannot take) */
	total = g.con_sent;
	cpu = relay_cpu_ms();
	assert_false(drive(1000, 0, NULL));
	assert_int_equal(g.con_sent, total);
	assert_true(relay_cpu_ms() - cpu < 200);
	assert_int_equal(locked(&g.ndetach), 0);
	assert_false(ended(0));
	/* what the relay read = what it handed on (ops->output), and of it no
	 * more than its client buffer is held besides the socket's queue */
	held = locked(&g.output);
	assert_int_equal(held, total - fionread(g.con_relay));
	queued = fionread(a->fd);
	assert_true(held <= YG_GD_TOCLI_SIZE + queued);
	assert_true(total > held);	/* the rest waits in the console's socket */
	/* reading again: everything, in order, and the console flows again */
	a->reading = true;
	g.con_target = total + 100000;
	wait_data(a, total + 100000);
	assert_int_equal(a->data.len, total + 100000);
	assert_true(is_pat(a->data.p, 0, a->data.len));
	assert_int_equal(locked(&g.ndetach), 0);
	con_close();
	assert_true(ended(5000));
	assert_int_equal(g.end, YG_GD_END_CONSOLE);
}

/* A console that takes nothing: the relay stops reading the client, with no
 * more than its reader and tocon held; then every byte arrives in order. */
static void test_backpressure_to_console(void **state)
{
	struct peer *a = start(0);
	size_t consumed, delivered, frames;
	uint64_t cpu;

	g.con_reading = false;
	a->w_target = LIMIT;
	assert_true(drive(20000, 500, NULL));
	assert_true(a->w_done < LIMIT);		/* the client stopped being read */
	cpu = relay_cpu_ms();
	assert_false(drive(1000, 0, NULL));	/* and the relay sleeps */
	assert_true(relay_cpu_ms() - cpu < 200);
	assert_false(ended(0));
	consumed = a->w_bytes - fionread(peers[0].relay_fd);
	delivered = fionread(g.con);
	frames = consumed / (5 + FRAME_PAYLOAD) + 1;
	/* held by the relay (with the frame headers it took apart) */
	assert_true(consumed - delivered <= sizeof(g.cl.in->buf) + YG_GD_TOCON_SIZE + 5 * frames);
	assert_true(a->w_bytes > consumed);	/* the rest waits in the client's socket */
	g.con_reading = true;
	a->w_target = a->w_done;	/* finish the frame under way, no more */
	wait_con(1 + a->w_target);
	assert_int_equal(g.con_in.len, 1 + a->w_target);
	assert_int_equal(g.con_in.p[0], '\r');
	assert_true(is_pat(g.con_in.p + 1, 0, a->w_target));
	con_close();
	assert_true(ended(5000));
	assert_int_equal(g.end, YG_GD_END_CONSOLE);
}

/* Three attached clients get the same output; one that leaves with EXIT is
 * detached (the others are told), and the end hands back the rest. */
static void test_fanout(void **state)
{
	struct peer *a = start(0), *b, *c;
	yg_msg m = { .type = YG_MSG_EXIT };

	b = join();
	wait_gate(a, "another login attached to this session (2 clients)");
	wait_gate(b, "(2 clients)");
	c = join();
	wait_gate(a, "(3 clients)");
	wait_gate(b, "(3 clients)");
	wait_gate(c, "(3 clients)");
	g.con_target = 300000;
	want = 300000;
	assert_true(drive(20000, 0, all_have_want));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(peers[i].data.len, 300000);
		assert_true(is_pat(peers[i].data.p, 0, 300000));
	}
	send_msg(b, &m);
	wait_detach(1);
	assert_int_equal(g.why[0], YG_GD_END_CLIENT_EXIT);
	assert_int_equal(g.left[0], 2);
	wait_gate(a, "a client left this session (2 still attached)");
	wait_gate(c, "(2 still attached)");
	who = b;
	assert_true(drive(5000, 0, who_at_eof));	/* its fd was closed (t_detach) */
	g.con_target += 1000;
	want = 301000;
	assert_true(drive(5000, 0, all_have_want));
	assert_true(is_pat(c->data.p, 0, c->data.len));
	con_close();
	assert_true(ended(5000));
	assert_int_equal(g.end, YG_GD_END_CONSOLE);
	assert_int_equal(g.cl.fd, a->relay_fd);	/* the first still attached */
	assert_int_equal(g.cl.nrest, 1);	/* c */
	assert_int_equal(g.ndetach, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(peers[i].others + peers[i].exits, 0);
}

/* One of several clients that takes nothing is dropped once it has been
 * stuck for the bound (not before), and the others go on with every byte. */
static void test_slow_client_dropped(void **state)
{
	const size_t n = 2u << 20;
	struct peer *a = start(400), *b, *c;
	uint64_t t0;

	b = join();
	c = join();
	wait_gate(a, "(3 clients)");
	wait_gate(b, "(3 clients)");
	c->reading = false;
	t0 = yg_now_ms();
	g.con_target = n;
	wait_detach(1);
	assert_int_equal(g.why[0], YG_GD_END_SLOW);
	assert_int_equal(g.left[0], 2);
	assert_true(g.detach_ms[0] - t0 >= 400);
	want = n;
	assert_true(drive(20000, 0, all_have_want));
	assert_int_equal(a->data.len, n);
	assert_int_equal(b->data.len, n);
	assert_true(is_pat(a->data.p, 0, n));
	assert_true(is_pat(b->data.p, 0, n));
	wait_gate(a, "a client left this session (2 still attached)");
	/* the dropped one got a prefix, then its connection closed */
	c->reading = true;
	who = c;
	assert_true(drive(5000, 0, who_at_eof));
	assert_true(c->data.len < n);
	assert_true(is_pat(c->data.p, 0, c->data.len));
	assert_int_equal(locked(&g.ndetach), 1);
	con_close();
	assert_true(ended(5000));
	assert_int_equal(g.end, YG_GD_END_CONSOLE);
	assert_int_equal(g.cl.nrest, 1);
}

/* A frame not allowed while relaying drops that client only; a bad frame
 * length from the last one ends the relay. Client EOF among several is a
 * detach too. */
static void test_protocol_error(void **state)
{
	struct peer *a = start(0), *b, *c;
	yg_msg m = { .type = YG_MSG_OPEN };

	b = join();
	c = join();
	wait_gate(a, "(3 clients)");
	snprintf(m.u.open.term, sizeof(m.u.open.term), "xterm");
	send_msg(b, &m);
	wait_detach(1);
	assert_int_equal(g.why[0], YG_GD_END_PROTOCOL);
	assert_int_equal(g.left[0], 2);
	close(c->fd);
	c->fd = -1;
	wait_detach(2);
	assert_int_equal(g.why[1], YG_GD_END_CLIENT_EOF);
	assert_int_equal(g.left[1], 1);
	wait_gate(a, "(1 still attached)");
	assert_false(ended(0));
	assert_int_equal(write(a->fd, "\0\0\0\0", 4), 4);
	assert_true(ended(5000));
	assert_int_equal(g.end, YG_GD_END_PROTOCOL);
	assert_int_equal(g.cl.fd, a->relay_fd);
	assert_int_equal(g.cl.nrest, 0);
}

/* Console EOF ends the relay, and the output already read still reaches a
 * client that reads only after the end (the flush). */
static void test_console_eof_flush(void **state)
{
	const size_t n = 40000;	/* more than the client's socket holds */
	struct peer *a = start(0);

	a->reading = false;
	g.con_target = n;
	assert_true(drive(5000, 300, NULL));
	assert_int_equal(g.con_sent, n);
	con_close();
	usleep(300 * 1000);	/* the relay is flushing to a client that reads nothing */
	assert_false(ended(0));
	assert_true(fionread(a->fd) < n);
	a->reading = true;
	wait_data(a, n);
	assert_int_equal(a->data.len, n);
	assert_true(is_pat(a->data.p, 0, n));
	assert_true(ended(5000));
	assert_int_equal(g.end, YG_GD_END_CONSOLE);
	assert_int_equal(g.cl.fd, a->relay_fd);
}

/* The flush is bounded: a client that never reads does not hold the end. */
static void test_flush_bounded(void **state)
{
	struct peer *a = start(0);
	uint64_t t0;

	a->reading = false;
	g.con_target = 40000;
	assert_true(drive(5000, 300, NULL));
	assert_int_equal(g.con_sent, 40000);
	t0 = yg_now_ms();
	con_close();
	assert_true(ended(YG_GD_FLUSH_MS + 2000));
	assert_true(yg_now_ms() - t0 >= YG_GD_FLUSH_MS - 100);
	assert_int_equal(g.end, YG_GD_END_CONSOLE);
	assert_true(fionread(a->fd) < 40000);	/* the rest was given up */
}

/* Idle timeout: the warning line, then the end. */
static void test_idle(void **state)
{
	struct peer *a;
	uint64_t t0 = yg_now_ms();

	g.lim.idle_ms = 900;
	g.lim.idle_warn_ms = 500;
	a = start(0);
	wait_gate(a, "idle: this session ends in");
	assert_true(yg_now_ms() - t0 >= 350);
	assert_true(ended(3000));
	assert_int_equal(g.end, YG_GD_END_IDLE);
	assert_true(yg_now_ms() - t0 >= 850);
}

static void test_signal(void **state)
{
	start(0);
	assert_false(ended(200));
	assert_int_equal(write(g.sig[1], "x", 1), 1);
	assert_true(ended(5000));
	assert_int_equal(g.end, YG_GD_END_SIGNAL);
}

/* Without a client (a PREPAREd box): the wait ends at its bound. */
static void test_wait_timeout(void **state)
{
	uint64_t t0 = yg_now_ms();

	assert_int_equal(yg_gd_wait_handoff(g.rdv_fd, g.sig[0], 300, &ops, NULL),
			 YG_GD_END_TIMEOUT);
	assert_true(yg_now_ms() - t0 >= 290);
}

static int group_setup(void **state)
{
	char sub[96];

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/yg-relay.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sub, sizeof(sub), "%s/boxes", dir);
	return mkdir(sub, 0700);
}

static int group_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_both_ways),
		T(test_escape_passes),
		T(test_backpressure_to_client),
		T(test_backpressure_to_console),
		T(test_fanout),
		T(test_slow_client_dropped),
		T(test_protocol_error),
		T(test_console_eof_flush),
		T(test_flush_bounded),
		T(test_idle),
		T(test_signal),
		T(test_wait_timeout),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
