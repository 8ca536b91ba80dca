/* SPDX-License-Identifier: MIT */
/* prototest.c: the wire codec (yg_proto). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "yg_proto.h"

/* One sample of every message type, with every field set. */
static const uint8_t data_bytes[] = { 0, 1, 2, 0xff, '\n', 0x1b };

static int samples(yg_msg *v)
{
	int n = 0;

	memset(v, 0, sizeof(yg_msg) * YG_MSG_MAX_TYPE);
	v[n].type = YG_MSG_HELLO;
	v[n].u.hello.version = 0x01020304;
	strcpy(v[n++].u.hello.peer, "yolo-shell 0.1.0");
	v[n].type = YG_MSG_OPEN;
	v[n].u.open.mode = YG_OPEN_PLAIN;
	strcpy(v[n].u.open.term, "xterm-256color");
	v[n].u.open.rows = 50;
	v[n].u.open.cols = 0xfffe;
	strcpy(v[n].u.open.box, "yolo-alice");
	strcpy(v[n++].u.open.session, "4f2a");
	v[n].type = YG_MSG_PROGRESS;
	strcpy(v[n++].u.progress.text, "reverting yolo-alice to clean-state ... 1.8 s");
	v[n].type = YG_MSG_READY;
	strcpy(v[n].u.ready.session, "s1");
	strcpy(v[n].u.ready.box, "b1");
	v[n++].u.ready.escape = 0x1d;
	v[n].type = YG_MSG_DATA;
	v[n].u.data.bytes = data_bytes;
	v[n++].u.data.len = sizeof(data_bytes);
	v[n].type = YG_MSG_WINCH;
	v[n].u.winch.rows = 24;
	v[n++].u.winch.cols = 80;
	v[n].type = YG_MSG_EXIT;
	v[n].u.exit.status = 0xdeadbeef;
	strcpy(v[n++].u.exit.reason, "escape");
	v[n].type = YG_MSG_ERROR;
	v[n].u.error.code = YG_ERR_BUSY;
	strcpy(v[n++].u.error.text, "box busy");
	v[n].type = YG_MSG_PREPARE;
	strcpy(v[n].u.prepare.user, "alice");
	strcpy(v[n++].u.prepare.from, "10.0.0.1");
	v[n].type = YG_MSG_SESSION;
	strcpy(v[n++].u.session.session, "abcdef");
	v[n].type = YG_MSG_RELEASE;
	strcpy(v[n++].u.release.session, "abcdef");
	v[n].type = YG_MSG_ACCOUNT;
	strcpy(v[n++].u.account.user, "bob");
	v[n].type = YG_MSG_POLICY;
	v[n].u.policy.gated = 1;
	v[n].u.policy.enabled = 0;
	strcpy(v[n++].u.policy.text, "disabled until Monday");
	v[n].type = YG_MSG_RUN;
	v[n].u.run.flags = YG_RUN_PTY;
	strcpy(v[n].u.run.term, "xterm");
	v[n].u.run.rows = 40;
	v[n].u.run.cols = 0x1234;
	strcpy(v[n].u.run.box, "lab");
	strcpy(v[n].u.run.session, "5e");
	strcpy(v[n].u.run.subsystem, "sftp");
	strcpy(v[n++].u.run.command, "make test");
	v[n].type = YG_MSG_STDERR;
	v[n].u.data.bytes = data_bytes;
	v[n++].u.data.len = sizeof(data_bytes);
	v[n++].type = YG_MSG_EOF;
	v[n].type = YG_MSG_SIGNAL;
	v[n++].u.signal.signo = SIGINT;
	return n;
}

static void assert_same_frame(const yg_frame_out *a, const yg_frame_out *b)
{
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->buf, b->buf, a->len);
}

static void test_round_trip(void **state)
{
	yg_msg v[YG_MSG_MAX_TYPE], back;
	yg_frame_out out, again;
	int n = samples(v);

	assert_int_equal(n, YG_MSG_MAX_TYPE);
	for (int i = 0; i < n; i++) {
		assert_int_equal(yg_msg_encode(&v[i], &out), 0);
		uint32_t flen = (uint32_t)out.buf[0] << 24 | out.buf[1] << 16 |
				out.buf[2] << 8 | out.buf[3];
		assert_int_equal(flen, out.len - 4);
		assert_int_equal(out.buf[4], v[i].type);
		assert_int_equal(yg_msg_decode(out.buf[4], out.buf + 5, out.len - 5, &back), 0);
		assert_int_equal(back.type, v[i].type);
		assert_int_equal(yg_msg_encode(&back, &again), 0);
		assert_same_frame(&out, &again);
		assert_string_not_equal(yg_msg_type_name(v[i].type), "unknown");
	}
	/* spot checks that fields land where they belong */
	assert_int_equal(yg_msg_encode(&v[1], &out), 0);
	assert_int_equal(yg_msg_decode(out.buf[4], out.buf + 5, out.len - 5, &back), 0);
	assert_int_equal(back.u.open.cols, 0xfffe);
	assert_int_equal(back.u.open.rows, 50);
	assert_string_equal(back.u.open.box, "yolo-alice");
	assert_string_equal(back.u.open.session, "4f2a");
	assert_int_equal(yg_msg_encode(&v[4], &out), 0);
	assert_int_equal(yg_msg_decode(out.buf[4], out.buf + 5, out.len - 5, &back), 0);
	assert_int_equal(back.u.data.len, sizeof(data_bytes));
	assert_memory_equal(back.u.data.bytes, data_bytes, sizeof(data_bytes));
	assert_ptr_equal(back.u.data.bytes, out.buf + 5);
	assert_string_equal(yg_msg_type_name(YG_MSG_HELLO), "HELLO");
}

static void test_truncated_and_trailing(void **state)
{
	yg_msg v[YG_MSG_MAX_TYPE], back;
	uint8_t longer[256];
	yg_frame_out out;
	int n = samples(v);

	for (int i = 0; i < n; i++) {
		size_t plen;

		assert_int_equal(yg_msg_encode(&v[i], &out), 0);
		plen = out.len - 5;
		if (v[i].type == YG_MSG_DATA || v[i].type == YG_MSG_STDERR)
			continue;	/* any length is a valid DATA */
		for (size_t k = 0; k < plen; k++)
			assert_int_equal(yg_msg_decode(v[i].type, out.buf + 5, k, &back), -EPROTO);
		assert_true(plen + 1 <= sizeof(longer));
		memcpy(longer, out.buf + 5, plen);
		longer[plen] = 'x';
		assert_int_equal(yg_msg_decode(v[i].type, longer, plen + 1, &back), -EPROTO);
	}
}

/* PROGRESS payload holding a string of n bytes, all 'a' unless patched. */
static size_t str_payload(uint8_t *p, size_t n)
{
	p[0] = (uint8_t)(n >> 8);
	p[1] = (uint8_t)n;
	memset(p + 2, 'a', n);
	return n + 2;
}

static void test_strings(void **state)
{
	static uint8_t p[4 + YG_TEXT_MAX + 8];
	yg_msg m, back;
	yg_frame_out out;
	size_t len;

	len = str_payload(p, 3);
	p[3] = '\0';
	assert_int_equal(yg_msg_decode(YG_MSG_PROGRESS, p, len, &m), -EPROTO);
	len = str_payload(p, YG_TEXT_MAX);
	assert_int_equal(yg_msg_decode(YG_MSG_PROGRESS, p, len, &m), 0);
	assert_int_equal(strlen(m.u.progress.text), YG_TEXT_MAX);
	assert_int_equal(yg_msg_encode(&m, &out), 0);
	assert_int_equal(yg_msg_decode(out.buf[4], out.buf + 5, out.len - 5, &back), 0);
	assert_string_equal(back.u.progress.text, m.u.progress.text);
	len = str_payload(p, YG_TEXT_MAX + 1);
	assert_int_equal(yg_msg_decode(YG_MSG_PROGRESS, p, len, &m), -EPROTO);
	/* session ids are shorter: max and max + 1 through SESSION */
	len = str_payload(p, YG_SESSION_MAX);
	assert_int_equal(yg_msg_decode(YG_MSG_SESSION, p, len, &m), 0);
	len = str_payload(p, YG_SESSION_MAX + 1);
	assert_int_equal(yg_msg_decode(YG_MSG_SESSION, p, len, &m), -EPROTO);
	/* names: HELLO = u32 + str */
	memset(p, 0, 4);
	len = 4 + str_payload(p + 4, YG_NAME_MAX);
	assert_int_equal(yg_msg_decode(YG_MSG_HELLO, p, len, &m), 0);
	len = 4 + str_payload(p + 4, YG_NAME_MAX + 1);
	assert_int_equal(yg_msg_decode(YG_MSG_HELLO, p, len, &m), -EPROTO);
	/* the encoder refuses (never truncates) an unterminated field */
	memset(&m, 0, sizeof(m));
	m.type = YG_MSG_ACCOUNT;
	memset(m.u.account.user, 'u', sizeof(m.u.account.user));
	assert_int_equal(yg_msg_encode(&m, &out), -EINVAL);
	m.u.account.user[YG_NAME_MAX] = '\0';
	assert_int_equal(yg_msg_encode(&m, &out), 0);
}

static void test_bad_values(void **state)
{
	static uint8_t big[YG_DATA_MAX + 1];
	uint8_t open_bad[] = { 2, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0 };
	yg_msg m;
	yg_frame_out out;

	assert_int_equal(yg_msg_decode(YG_MSG_OPEN, open_bad, sizeof(open_bad), &m), -EPROTO);
	open_bad[0] = YG_OPEN_TTY;
	assert_int_equal(yg_msg_decode(YG_MSG_OPEN, open_bad, sizeof(open_bad), &m), 0);
	assert_int_equal(yg_msg_decode(YG_MSG_DATA, big, sizeof(big), &m), -EPROTO);
	assert_int_equal(yg_msg_decode(YG_MSG_DATA, big, YG_DATA_MAX, &m), 0);
	memset(&m, 0, sizeof(m));
	m.type = YG_MSG_DATA;
	m.u.data.bytes = big;
	m.u.data.len = sizeof(big);
	assert_int_equal(yg_msg_encode(&m, &out), -EMSGSIZE);
	m.u.data.len = 0;
	assert_int_equal(yg_msg_encode(&m, &out), 0);
	assert_int_equal(out.len, 5);
	memset(&m, 0, sizeof(m));
	m.type = YG_MSG_POLICY;
	m.u.policy.gated = 2;
	assert_int_equal(yg_msg_encode(&m, &out), -EINVAL);
}

/* RUN, STDERR, EOF, SIGNAL (protocol version 2): their bounds. */
static void test_run_bounds(void **state)
{
	static uint8_t p[2 * YG_CMD_MAX];
	static yg_msg m, back;
	static yg_frame_out out;
	size_t len;

	/* RUN: flags, term, rows, cols, box, session, subsystem, command */
	for (size_t cmd = YG_CMD_MAX + 1; cmd >= YG_CMD_MAX; cmd--) {	/* over, then at the bound */
		len = 0;
		p[len++] = YG_RUN_PTY;
		len += str_payload(p + len, 5);
		memset(p + len, 0, 4);
		len += 4;
		len += str_payload(p + len, YG_NAME_MAX);
		len += str_payload(p + len, YG_SESSION_MAX);
		len += str_payload(p + len, YG_NAME_MAX);
		len += str_payload(p + len, cmd);
		assert_int_equal(yg_msg_decode(YG_MSG_RUN, p, len, &m), cmd <= YG_CMD_MAX ? 0 : -EPROTO);
	}
	assert_int_equal(strlen(m.u.run.command), YG_CMD_MAX);
	assert_int_equal(strlen(m.u.run.subsystem), YG_NAME_MAX);
	assert_int_equal(m.u.run.flags, YG_RUN_PTY);
	assert_int_equal(yg_msg_encode(&m, &out), 0);
	assert_int_equal(out.len, 4 + 1 + len);
	assert_int_equal(yg_msg_decode(out.buf[4], out.buf + 5, out.len - 5, &back), 0);
	assert_string_equal(back.u.run.command, m.u.run.command);
	m.u.run.command[YG_CMD_MAX] = 'x';	/* no NUL in the field: too long */
	assert_int_equal(yg_msg_encode(&m, &out), -EINVAL);
	m.u.run.command[YG_CMD_MAX] = '\0';
	m.u.run.flags = 2;
	assert_int_equal(yg_msg_encode(&m, &out), -EINVAL);
	p[0] = 2;
	assert_int_equal(yg_msg_decode(YG_MSG_RUN, p, len, &m), -EPROTO);
	/* a subsystem one byte over */
	len = 0;
	p[len++] = 0;
	len += str_payload(p + len, 0);
	memset(p + len, 0, 4);
	len += 4;
	len += str_payload(p + len, 0);
	len += str_payload(p + len, 0);
	len += str_payload(p + len, YG_NAME_MAX + 1);
	len += str_payload(p + len, 0);
	assert_int_equal(yg_msg_decode(YG_MSG_RUN, p, len, &m), -EPROTO);
	/* SIGNAL: HUP INT QUIT TERM and nothing else (not even KILL) */
	for (unsigned sig = 0; sig < 256; sig++) {
		bool ok = sig == SIGHUP || sig == SIGINT || sig == SIGQUIT || sig == SIGTERM;
		uint8_t b = (uint8_t)sig;

		assert_int_equal(yg_msg_decode(YG_MSG_SIGNAL, &b, 1, &m), ok ? 0 : -EPROTO);
		memset(&m, 0, sizeof(m));
		m.type = YG_MSG_SIGNAL;
		m.u.signal.signo = b;
		assert_int_equal(yg_msg_encode(&m, &out), ok ? 0 : -EINVAL);
	}
	/* EOF is empty; STDERR is DATA's shape and bound */
	assert_int_equal(yg_msg_decode(YG_MSG_EOF, p, 0, &m), 0);
	assert_int_equal(yg_msg_decode(YG_MSG_EOF, p, 1, &m), -EPROTO);
	assert_int_equal(yg_msg_decode(YG_MSG_STDERR, p, YG_DATA_MAX, &m), 0);
	assert_ptr_equal(m.u.data.bytes, p);
	assert_int_equal(m.u.data.len, YG_DATA_MAX);
	assert_int_equal(yg_msg_decode(YG_MSG_STDERR, p, YG_DATA_MAX + 1, &m), -EPROTO);
	assert_string_equal(yg_msg_type_name(YG_MSG_RUN), "RUN");
	assert_string_equal(yg_msg_type_name(YG_MSG_SIGNAL), "SIGNAL");
	assert_int_equal(YG_PROTO_VERSION, 2);
}

static void test_unknown_type(void **state)
{
	yg_msg m;
	yg_frame_out out;
	uint8_t p[8] = { 0 };

	assert_int_equal(yg_msg_decode(0, p, 0, &m), -EPROTO);
	assert_int_equal(yg_msg_decode(YG_MSG_MAX_TYPE + 1, p, 0, &m), -EPROTO);
	assert_int_equal(yg_msg_decode(255, p, 4, &m), -EPROTO);
	memset(&m, 0, sizeof(m));
	m.type = YG_MSG_MAX_TYPE + 1;
	assert_int_equal(yg_msg_encode(&m, &out), -EINVAL);
	assert_string_equal(yg_msg_type_name(0), "unknown");
	assert_string_equal(yg_msg_type_name(200), "unknown");
}

static int next_after_header(uint32_t flen)
{
	static yg_frame_in in;
	uint8_t h[4] = { flen >> 24, flen >> 16, flen >> 8, flen };
	const uint8_t *p;
	size_t len;
	uint8_t type;

	yg_frame_in_init(&in);
	assert_int_equal(yg_frame_in_feed(&in, h, sizeof(h)), 0);
	return yg_frame_next(&in, &type, &p, &len);
}

static void test_frame_lengths(void **state)
{
	static yg_frame_in in;
	static uint8_t frame[4 + YG_FRAME_MAX];
	const uint8_t *p;
	size_t len;
	uint8_t type;

	assert_int_equal(next_after_header(0), -EPROTO);
	assert_int_equal(next_after_header(YG_FRAME_MAX + 1), -EPROTO);
	assert_int_equal(next_after_header(UINT32_MAX), -EPROTO);
	assert_int_equal(next_after_header(1), 0);	/* needs the type byte */
	assert_int_equal(next_after_header(YG_FRAME_MAX), 0);

	/* length 1: a type and an empty payload */
	yg_frame_in_init(&in);
	assert_int_equal(yg_frame_in_feed(&in, (uint8_t[]){ 0, 0, 0, 1, YG_MSG_DATA }, 5), 0);
	assert_int_equal(yg_frame_next(&in, &type, &p, &len), 1);
	assert_int_equal(type, YG_MSG_DATA);
	assert_int_equal(len, 0);
	assert_int_equal(yg_frame_next(&in, &type, &p, &len), 0);
	assert_int_equal(in.have, 0);

	/* the largest frame fits exactly */
	frame[0] = 0;
	frame[1] = 1;
	frame[2] = 0;
	frame[3] = 0;
	frame[4] = 77;
	frame[sizeof(frame) - 1] = 0xaa;
	yg_frame_in_init(&in);
	assert_int_equal(yg_frame_in_feed(&in, frame, sizeof(frame)), 0);
	assert_int_equal(yg_frame_in_feed(&in, frame, 1), -ENOBUFS);
	assert_int_equal(yg_frame_next(&in, &type, &p, &len), 1);
	assert_int_equal(type, 77);
	assert_int_equal(len, YG_FRAME_MAX - 1);
	assert_int_equal(p[len - 1], 0xaa);
}

static void test_two_frames_one_feed(void **state)
{
	yg_msg v[YG_MSG_MAX_TYPE], m;
	static yg_frame_in in;
	yg_frame_out a, b;
	uint8_t both[512];
	const uint8_t *p;
	size_t len;
	uint8_t type;

	samples(v);
	assert_int_equal(yg_msg_encode(&v[0], &a), 0);
	assert_int_equal(yg_msg_encode(&v[6], &b), 0);
	memcpy(both, a.buf, a.len);
	memcpy(both + a.len, b.buf, b.len);
	yg_frame_in_init(&in);
	assert_int_equal(yg_frame_in_feed(&in, both, a.len + b.len), 0);
	assert_int_equal(yg_frame_next(&in, &type, &p, &len), 1);
	assert_int_equal(yg_msg_decode(type, p, len, &m), 0);
	assert_int_equal(m.type, YG_MSG_HELLO);
	assert_string_equal(m.u.hello.peer, "yolo-shell 0.1.0");
	assert_int_equal(yg_frame_next(&in, &type, &p, &len), 1);
	assert_int_equal(yg_msg_decode(type, p, len, &m), 0);
	assert_int_equal(m.type, YG_MSG_EXIT);
	assert_int_equal(m.u.exit.status, 0xdeadbeef);
	assert_int_equal(yg_frame_next(&in, &type, &p, &len), 0);
}

static void test_byte_by_byte(void **state)
{
	yg_msg v[YG_MSG_MAX_TYPE], m;
	static yg_frame_in in;
	yg_frame_out out;
	const uint8_t *p;
	size_t len;
	uint8_t type;

	samples(v);
	assert_int_equal(yg_msg_encode(&v[1], &out), 0);
	yg_frame_in_init(&in);
	for (size_t i = 0; i < out.len; i++) {
		assert_int_equal(yg_frame_next(&in, &type, &p, &len), 0);
		assert_int_equal(yg_frame_in_feed(&in, out.buf + i, 1), 0);
	}
	assert_int_equal(yg_frame_next(&in, &type, &p, &len), 1);
	assert_int_equal(yg_msg_decode(type, p, len, &m), 0);
	assert_string_equal(m.u.open.term, "xterm-256color");
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void test_recv_socketpair(void **state)
{
	yg_msg v[YG_MSG_MAX_TYPE], m;
	static yg_frame_in in;
	struct timespec t0;
	int sv[2];

	samples(v);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	yg_frame_in_init(&in);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(yg_msg_recv(sv[0], &in, &m, 100), -ETIMEDOUT);
	assert_true(elapsed_ms(&t0) >= 90);
	assert_int_equal(yg_msg_send(sv[1], &v[2], 1000), 0);
	assert_int_equal(yg_msg_send(sv[1], &v[4], 1000), 0);
	assert_int_equal(yg_msg_recv(sv[0], &in, &m, 1000), 0);
	assert_int_equal(m.type, YG_MSG_PROGRESS);
	assert_string_equal(m.u.progress.text, v[2].u.progress.text);
	assert_int_equal(yg_msg_recv(sv[0], &in, &m, -1), 0);
	assert_int_equal(m.type, YG_MSG_DATA);
	assert_memory_equal(m.u.data.bytes, data_bytes, sizeof(data_bytes));
	/* a bad length ends it before the rest is read */
	assert_int_equal(write(sv[1], "\0\0\0\0junk", 8), 8);
	assert_int_equal(yg_msg_recv(sv[0], &in, &m, 1000), -EPROTO);
	yg_frame_in_init(&in);
	/* a half frame then EOF */
	assert_int_equal(write(sv[1], "\0\0\0\x09\x05", 5), 5);
	close(sv[1]);
	assert_int_equal(yg_msg_recv(sv[0], &in, &m, 1000), -ECONNRESET);
	/* sending to a closed peer is an error, not a SIGPIPE */
	assert_int_equal(yg_msg_send(sv[0], &v[0], 1000), -EPIPE);
	close(sv[0]);
}

static void test_send_timeout_and_pipe(void **state)
{
	yg_msg m;
	static uint8_t chunk[YG_DATA_MAX];
	struct timespec t0;
	int sv[2], pp[2], r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	memset(&m, 0, sizeof(m));
	m.type = YG_MSG_DATA;
	m.u.data.bytes = chunk;
	m.u.data.len = sizeof(chunk);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 1000; i++) {
		r = yg_msg_send(sv[0], &m, 50);
		if (r < 0)
			break;
	}
	assert_int_equal(r, -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);

	/* a pipe (not a socket) with no reader: -EPIPE and we are still alive */
	assert_int_equal(pipe(pp), 0);
	close(pp[0]);
	m.u.data.len = 10;
	assert_int_equal(yg_msg_send(pp[1], &m, 1000), -EPIPE);
	close(pp[1]);
	/* and a working pipe round trip through yg_frame_in_fill */
	{
		static yg_frame_in in;
		yg_msg back;

		assert_int_equal(pipe(pp), 0);
		assert_int_equal(yg_msg_send(pp[1], &m, 1000), 0);
		yg_frame_in_init(&in);
		assert_int_equal(yg_msg_recv(pp[0], &in, &back, 1000), 0);
		assert_int_equal(back.u.data.len, 10);
		close(pp[0]);
		close(pp[1]);
	}
}

/* yg_msg_encode_to: the same bytes as yg_msg_encode, into a buffer of any
 * size; one byte short of the frame is -ENOBUFS, and nothing is written
 * past cap. */
static void test_encode_to(void **state)
{
	yg_msg v[YG_MSG_MAX_TYPE], bad;
	static yg_frame_out out;
	static uint8_t buf[4 + YG_FRAME_MAX + 16];
	size_t len;
	int n = samples(v);

	for (int i = 0; i < n; i++) {
		assert_int_equal(yg_msg_encode(&v[i], &out), 0);
		memset(buf, 0xa5, sizeof(buf));
		len = 0;
		assert_int_equal(yg_msg_encode_to(&v[i], buf, out.len, &len), 0);
		assert_int_equal(len, out.len);
		assert_memory_equal(buf, out.buf, out.len);
		for (size_t cap = 0; cap < out.len; cap++) {
			memset(buf, 0xa5, sizeof(buf));
			assert_int_equal(yg_msg_encode_to(&v[i], buf, cap, &len), -ENOBUFS);
			for (size_t k = cap; k < out.len; k++)
				assert_int_equal(buf[k], 0xa5);
		}
	}
	/* a full DATA at the end of a larger buffer, as the relay does */
	{
		static uint8_t big[YG_DATA_MAX];
		yg_msg m = { .type = YG_MSG_DATA };

		memset(big, 0x1d, sizeof(big));
		m.u.data.bytes = big;
		m.u.data.len = sizeof(big);
		assert_int_equal(yg_msg_encode_to(&m, buf + 7, 5 + sizeof(big), &len), 0);
		assert_int_equal(len, 5 + sizeof(big));
		assert_int_equal(buf[7 + 4], YG_MSG_DATA);
		assert_memory_equal(buf + 7 + 5, big, sizeof(big));
		m.u.data.len = YG_DATA_MAX + 1;	/* too long is -EMSGSIZE, whatever the room */
		assert_int_equal(yg_msg_encode_to(&m, buf, sizeof(buf), &len), -EMSGSIZE);
	}
	/* the value checks are the encoder's, whatever the buffer */
	memset(&bad, 0, sizeof(bad));
	bad.type = YG_MSG_OPEN;
	bad.u.open.mode = 7;
	assert_int_equal(yg_msg_encode_to(&bad, buf, sizeof(buf), &len), -EINVAL);
	bad.type = 0;
	assert_int_equal(yg_msg_encode_to(&bad, buf, sizeof(buf), &len), -EINVAL);
}

/* A reader that hands out at most 3 bytes per call, then EOF or an error. */
struct trickle {
	const uint8_t *p;
	size_t left;
	ssize_t at_end;
};

static ssize_t trickle_read(void *ctx, void *buf, size_t len)
{
	struct trickle *t = ctx;
	size_t n = len < 3 ? len : 3;

	if (!t->left)
		return t->at_end;
	if (n > t->left)
		n = t->left;
	memcpy(buf, t->p, n);
	t->p += n;
	t->left -= n;
	return (ssize_t)n;
}

static void test_frame_in_read(void **state)
{
	yg_msg v[YG_MSG_MAX_TYPE], m;
	static yg_frame_out a, b;
	static uint8_t both[2 * sizeof(a.buf)];
	static yg_frame_in in;
	struct trickle t;
	const uint8_t *payload;
	uint8_t type;
	size_t len;
	int got = 0;

	samples(v);
	assert_int_equal(yg_msg_encode(&v[4], &a), 0);	/* DATA */
	assert_int_equal(yg_msg_encode(&v[6], &b), 0);	/* EXIT */
	memcpy(both, a.buf, a.len);
	memcpy(both + a.len, b.buf, b.len);
	t = (struct trickle){ both, a.len + b.len, 0 };
	yg_frame_in_init(&in);
	for (;;) {
		ssize_t n = yg_frame_in_read(&in, trickle_read, &t);

		while (yg_frame_next(&in, &type, &payload, &len) == 1) {
			assert_int_equal(yg_msg_decode(type, payload, len, &m), 0);
			assert_int_equal(m.type, got == 0 ? YG_MSG_DATA : YG_MSG_EXIT);
			got++;
		}
		if (n == 0)
			break;
		assert_true(n > 0 && n <= 3);
	}
	assert_int_equal(got, 2);
	/* the reader's error comes back as it is */
	t = (struct trickle){ both, 2, -EAGAIN };
	yg_frame_in_init(&in);
	assert_int_equal(yg_frame_in_read(&in, trickle_read, &t), 2);
	assert_int_equal(yg_frame_in_read(&in, trickle_read, &t), -EAGAIN);
	/* a bad length is -EPROTO before the reader is asked for more */
	t = (struct trickle){ (const uint8_t *)"\0\0\0\0", 4, 0 };
	yg_frame_in_init(&in);
	assert_int_equal(yg_frame_in_read(&in, trickle_read, &t), 3);
	assert_int_equal(yg_frame_in_read(&in, trickle_read, &t), 1);
	t.left = 100;	/* would hand out more: it must not be called */
	assert_int_equal(yg_frame_in_read(&in, trickle_read, &t), -EPROTO);
	assert_int_equal(t.left, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated_and_trailing),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_run_bounds),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_frame_lengths),
		cmocka_unit_test(test_two_frames_one_feed),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_recv_socketpair),
		cmocka_unit_test(test_send_timeout_and_pipe),
		cmocka_unit_test(test_encode_to),
		cmocka_unit_test(test_frame_in_read),
	};

	return cmocka_run_group_tests_name("yg_proto", tests, NULL, NULL);
}
