/* SPDX-License-Identifier: MIT */
/* relayrig.c: the test rig of relaytest.c (see relayrig.h): the relay in a
 * thread on the poll loop, the console and the clients on this side. */
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

#include "relayrig.h"
#include "yg_endpoint.h"
#include "yg_loop.h"

#define BOX "yolo-test"
#define SOCKBUF 16384		/* SO_SNDBUF of every socket here: small queues */

static char dir[64];

uint8_t pat(size_t k)
{
	return (uint8_t)(k % 251);
}

void pat_fill(uint8_t *buf, size_t from, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pat(from + i);
}

bool is_pat(const uint8_t *buf, size_t from, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pat(from + i))
			return false;
	return true;
}

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

bool bytes_has(const struct bytes *b, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i + n <= b->len; i++)
		if (memcmp(b->p + i, s, n) == 0)
			return true;
	return false;
}

struct rig g;
struct peer peers[MAXPEERS];

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

const struct yg_gd_relay_ops rig_ops = {
	.winch = t_winch,
	.handoff = t_handoff,
	.queued = t_queued,
	.output = t_output,
	.detach = t_detach,
};

size_t locked(const size_t *v)
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
	g.end = yg_gd_relay_run(&g.cl, g.con_ep, g.rdv_fd, g.sig[0], &g.lim, &rig_ops, NULL);
	if (write(g.done[1], "x", 1) != 1)
		abort();
	return NULL;
}

/* Start the relay with one client (returned); slow_ms: the slow-client bound. */
struct peer *start(unsigned long slow_ms)
{
	struct peer *p = peer_new();

	pair(&g.con, &g.con_relay);
	assert_int_equal(yg_ep_fd_new(g.con_relay, YG_EP_OWN_FD, &g.con_ep), 0);
	g.con_ep->no_backpressure = g.con_nobp;
	g.cl.fd = p->relay_fd;
	g.cl.in = malloc(sizeof(*g.cl.in));
	assert_non_null(g.cl.in);
	yg_frame_in_init(g.cl.in);
	g.lim.slow_ms = slow_ms;
	assert_int_equal(pthread_create(&g.th, NULL, relay_main, NULL), 0);
	g.running = true;
	return p;
}

int rig_setup(void **state)
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
bool ended(int ms)
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

int rig_teardown(void **state)
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
struct peer *join(void)
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
bool drive(int ms, int quiet_ms, bool (*done)(void))
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

void con_close(void)
{
	close(g.con);
	g.con = -1;
}

void send_msg(struct peer *p, const yg_msg *m)
{
	assert_int_equal(yg_msg_send(p->fd, m, 2000), 0);
}

void send_data(struct peer *p, const void *bytes, size_t len)
{
	yg_msg m = { .type = YG_MSG_DATA };

	m.u.data.bytes = bytes;
	m.u.data.len = len;
	send_msg(p, &m);
}

/* CPU time of the relay's thread (ms): a relay that waits for the wrong
 * events spins instead of sleeping. */
uint64_t relay_cpu_ms(void)
{
	struct timespec ts;
	clockid_t cid;

	assert_int_equal(pthread_getcpuclockid(g.th, &cid), 0);
	assert_int_equal(clock_gettime(cid, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

size_t fionread(int fd)
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

void wait_con(size_t n)
{
	want = n;
	assert_true(drive(5000, 0, con_has_want));
}

void wait_data(struct peer *p, size_t n)
{
	who = p;
	want = n;
	assert_true(drive(10000, 0, who_has_want));
}

void wait_gate(struct peer *p, const char *s)
{
	who = p;
	what = s;
	if (!drive(5000, 0, who_has_what))
		fail_msg("no gate line \"%s\"", s);
}

void wait_detach(size_t n)
{
	want = n;
	assert_true(drive(10000, 0, one_detach));
}

void wait_all(size_t n)
{
	want = n;
	assert_true(drive(20000, 0, all_have_want));
}

void wait_eof(struct peer *p)
{
	who = p;
	assert_true(drive(5000, 0, who_at_eof));
}

void wait_winch(void)
{
	assert_true(drive(5000, 0, one_winch));
}

int rig_group_setup(void **state)
{
	char sub[96];

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/yg-relay.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(sub, sizeof(sub), "%s/boxes", dir);
	return mkdir(sub, 0700);
}

int rig_group_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}
