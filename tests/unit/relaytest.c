/* SPDX-License-Identifier: MIT */
/* relaytest.c: the broker's relay (src/gated/relay.c) over socketpairs, on
 * the poll loop: no libvirt, no root (the rig: relayrig.h).
 *
 * What crosses is checked: bytes both ways, backpressure with bounded
 * buffers and a relay that sleeps meanwhile, fan-out to attached clients,
 * the slow-client drop (with a short bound) and a lone slow client that is
 * never dropped, a console that does not push back (as a libvirt stream:
 * read all the same, output a stalled client has no room for dropped with
 * one line of notice, other clients not held back), the end reasons (EXIT,
 * EOF, protocol error, console EOF, idle, SIGTERM), the bounded flush at
 * the end, and that DATA is passed through byte for byte, the escape byte
 * 0x1d included (the escape is yolo-shell's business).
 */
#include "config.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "relayrig.h"

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
	wait_winch();
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

#define DROPPED " bytes of box output dropped while your terminal was not reading"

/* N of the peer's gate line "[yolo-gate] N bytes of box output dropped". */
static size_t dropped(const struct peer *p)
{
	char text[4096];
	size_t n = p->gate.len < sizeof(text) - 1 ? p->gate.len : sizeof(text) - 1;
	const char *at;

	memcpy(text, p->gate.p, n);
	text[n] = '\0';
	at = strstr(text, DROPPED);
	assert_non_null(at);
	while (at > text && isdigit((unsigned char)at[-1]))
		at--;
	return (size_t)strtoull(at, NULL, 10);
}

static bool all_read(void)	/* by the relay, from the console */
{
	return locked(&g.output) >= g.con_target;
}

/* A console that does not push back and a client that reads nothing: the
 * relay reads the console all the same (none of it waits in the socket),
 * holds no more than the client's buffer and then sleeps; once the client
 * reads, it gets what was held, one line with the number of bytes it
 * missed (held + missed = all), and the output again. */
static void test_nobp_stalled_client(void **state)
{
	const size_t n = 8u << 20;
	struct peer *a;
	size_t queued, k;
	uint64_t cpu;

	g.con_nobp = true;
	a = start(200);
	a->reading = false;
	g.con_target = n;
	assert_true(drive(20000, 0, all_read));
	cpu = relay_cpu_ms();
	assert_false(drive(1000, 0, NULL));
	assert_true(relay_cpu_ms() - cpu < 200);
	assert_int_equal(locked(&g.ndetach), 0);	/* alone: never dropped */
	assert_false(ended(0));
	queued = fionread(a->fd);
	a->reading = true;
	wait_gate(a, DROPPED);
	k = a->data.len;
	assert_true(k <= YG_GD_TOCLI_SIZE + queued);
	assert_true(is_pat(a->data.p, 0, k));
	assert_int_equal(dropped(a), n - k);
	g.con_target = n + 100000;
	wait_data(a, k + 100000);
	assert_int_equal(a->data.len, k + 100000);
	assert_true(is_pat(a->data.p + k, n, 100000));
	con_close();
	assert_true(ended(5000));
	assert_int_equal(g.end, YG_GD_END_CONSOLE);
}

/* From a console that does not push back, one stalled client of two holds
 * nobody back: the other, which keeps up with a console that writes at its
 * pace (slices), gets every byte long before the stalled one could be
 * dropped as slow; that one, reading again, is told what it missed. */
static void test_nobp_one_of_two(void **state)
{
	const size_t n = 3 * YG_GD_TOCLI_SIZE, slice = 65536;
	struct peer *a, *b;
	uint64_t t0;
	size_t k;

	g.con_nobp = true;
	a = start(0);
	b = join();
	wait_gate(a, "(2 clients)");
	wait_gate(b, "(2 clients)");
	b->reading = false;
	t0 = yg_now_ms();
	while (g.con_target < n) {
		g.con_target += slice;
		wait_data(a, g.con_target);
	}
	assert_true(yg_now_ms() - t0 < YG_GD_SLOW_CLIENT_MS);
	assert_int_equal(a->data.len, n);
	assert_true(is_pat(a->data.p, 0, n));
	assert_false(bytes_has(&a->gate, DROPPED));
	assert_int_equal(locked(&g.ndetach), 0);
	b->reading = true;
	wait_gate(b, DROPPED);
	k = b->data.len;
	assert_true(k < n);
	assert_true(is_pat(b->data.p, 0, k));
	assert_int_equal(dropped(b), n - k);
	con_close();
	assert_true(ended(5000));
	assert_int_equal(g.end, YG_GD_END_CONSOLE);
	assert_int_equal(g.cl.nrest, 1);
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
	wait_all(300000);
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
	wait_eof(b);	/* its fd was closed (t_detach) */
	g.con_target += 1000;
	wait_all(301000);
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
	const size_t n = 2 * YG_GD_TOCLI_SIZE;	/* more than c's buffer holds */
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
	wait_all(n);
	assert_int_equal(a->data.len, n);
	assert_int_equal(b->data.len, n);
	assert_true(is_pat(a->data.p, 0, n));
	assert_true(is_pat(b->data.p, 0, n));
	wait_gate(a, "a client left this session (2 still attached)");
	/* the dropped one got a prefix, then its connection closed */
	c->reading = true;
	wait_eof(c);
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

	assert_int_equal(yg_gd_wait_handoff(g.rdv_fd, g.sig[0], 300, &rig_ops, NULL),
			 YG_GD_END_TIMEOUT);
	assert_true(yg_now_ms() - t0 >= 290);
}

#define T(f) cmocka_unit_test_setup_teardown(f, rig_setup, rig_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_both_ways),
		T(test_escape_passes),
		T(test_backpressure_to_client),
		T(test_backpressure_to_console),
		T(test_fanout),
		T(test_slow_client_dropped),
		T(test_nobp_stalled_client),
		T(test_nobp_one_of_two),
		T(test_protocol_error),
		T(test_console_eof_flush),
		T(test_flush_bounded),
		T(test_idle),
		T(test_signal),
		T(test_wait_timeout),
	};

	return cmocka_run_group_tests(tests, rig_group_setup, rig_group_teardown);
}
