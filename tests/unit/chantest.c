/* SPDX-License-Identifier: MIT */
/* chantest.c: the box channel codec (yg_chan): round trips, every bound at
 * and one past it, truncated and trailing payloads, stream rules, credit,
 * and the golden frames of tests/data/chan/
 * that pin the wire format. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "yg_chan.h"

#define NTYPES YG_CHAN_MSG_MAX_TYPE

static const uint8_t data_bytes[] = { 0, 1, 2, 0xff, '\n' };
static const uint8_t key_bytes[] = "A=1\n";
static const char *const exec_argv[] = { "/bin/sh", "-c", "echo hi", NULL };
static const char *const exec_envp[] = { "LANG=C", NULL };

/* One sample of every type, in type order; the golden files hold the same. */
static yg_chan_msg samples[NTYPES];

static void make_samples(void)
{
	yg_chan_msg *v = samples;

	memset(samples, 0, sizeof(samples));
	for (int i = 0; i < NTYPES; i++) {
		v[i].type = (uint8_t)(i + 1);
		v[i].stream = 7;
	}
	v[0].stream = v[1].stream = v[2].stream = 0;
	v[0].u.hello.version = YG_CHAN_VERSION;
	v[0].u.hello.features = YG_CHAN_F_EXEC | YG_CHAN_F_PTY | YG_CHAN_F_KEYS | YG_CHAN_F_CLOCK;
	strcpy(v[0].u.hello.peer, "yolo-boxd 0.1.0");
	v[1].u.ping.cookie = 0x0102030405060708ull;
	v[2].u.ping.cookie = 0xfffffffffffffffeull;
	v[3].u.exec.flags = YG_CHAN_EXEC_PTY;
	v[3].u.exec.rows = 24;
	v[3].u.exec.cols = 80;
	strcpy(v[3].u.exec.term, "xterm");
	strcpy(v[3].u.exec.user, "alice");
	strcpy(v[3].u.exec.cwd, "/home/alice");
	v[3].u.exec.argc = 3;
	memcpy(v[3].u.exec.argv, exec_argv, sizeof(exec_argv));
	v[3].u.exec.envc = 1;
	memcpy(v[3].u.exec.envp, exec_envp, sizeof(exec_envp));
	v[4].u.started.pid = 4242;
	v[5].u.data.fd = 1;
	v[5].u.data.bytes = data_bytes;
	v[5].u.data.len = sizeof(data_bytes);
	v[6].u.eof.fd = 0;
	v[7].u.window.bytes = 65536;
	v[8].u.resize.rows = 50;
	v[8].u.resize.cols = 132;
	v[9].u.signal.signo = SIGINT;
	v[10].u.exited.how = YG_CHAN_EXIT_SIGNAL;
	v[10].u.exited.value = 9;
	v[11].stream = 9;
	v[11].u.failed.code = YG_CHAN_E_NOENT;
	strcpy(v[11].u.failed.text, "sh: nosuch: not found");
	v[12].stream = v[13].stream = YG_CHAN_STREAM_MAX;
	strcpy(v[12].u.keys.path, "/run/yolo-gate/keys.env");
	strcpy(v[12].u.keys.owner, "alice");
	v[12].u.keys.mode = 0600;
	v[12].u.keys.bytes = key_bytes;
	v[12].u.keys.len = sizeof(key_bytes) - 1;
	strcpy(v[13].u.wipe.path, "/run/yolo-gate/keys.env");
	v[14].stream = v[15].stream = 3;
	v[14].u.clock.ns = 1700000000123456789ull;
	v[16].stream = 11;
	strcpy(v[16].u.wake.path, "/dev/ttyS0");
	v[16].u.wake.rows = 33;
	v[16].u.wake.cols = 111;
	v[17].stream = 11;
	strcpy(v[17].u.wake.path, "/dev/ttyS0");
	v[17].u.wake.rows = 50;
	v[17].u.wake.cols = 132;
}

static yg_frame_out out, again;
static yg_chan_msg back;

/* Decode a whole encoded frame. */
static int decode_frame(const yg_frame_out *f, yg_chan_msg *m)
{
	return yg_chan_decode(f->buf[4], f->buf + 5, f->len - 5, m);
}

static void test_round_trip(void **state)
{
	make_samples();
	for (int i = 0; i < NTYPES; i++) {
		assert_int_equal(yg_chan_encode_frame(&samples[i], &out), 0);
		assert_int_equal(out.buf[4], samples[i].type);
		assert_int_equal(decode_frame(&out, &back), 0);
		assert_int_equal(back.type, samples[i].type);
		assert_int_equal(back.stream, samples[i].stream);
		assert_int_equal(yg_chan_encode_frame(&back, &again), 0);
		assert_int_equal(again.len, out.len);
		assert_memory_equal(again.buf, out.buf, out.len);
		assert_string_not_equal(yg_chan_type_name(samples[i].type), "unknown");
	}
	/* fields land where they belong */
	assert_int_equal(yg_chan_encode_frame(&samples[3], &out), 0);
	assert_int_equal(decode_frame(&out, &back), 0);
	assert_int_equal(back.u.exec.argc, 3);
	assert_string_equal(back.u.exec.argv[2], "echo hi");
	assert_null(back.u.exec.argv[3]);
	assert_string_equal(back.u.exec.envp[0], "LANG=C");
	assert_null(back.u.exec.envp[1]);
	assert_string_equal(back.u.exec.cwd, "/home/alice");
	assert_int_equal(back.u.exec.cols, 80);
	assert_int_equal(yg_chan_encode_frame(&samples[5], &out), 0);
	assert_int_equal(decode_frame(&out, &back), 0);
	assert_ptr_equal(back.u.data.bytes, out.buf + 5 + 5);
	assert_int_equal(back.u.data.len, sizeof(data_bytes));
	assert_int_equal(yg_chan_encode_frame(&samples[12], &out), 0);
	assert_int_equal(decode_frame(&out, &back), 0);
	assert_int_equal(back.u.keys.len, 4);
	assert_memory_equal(back.u.keys.bytes, "A=1\n", 4);
	assert_int_equal(back.u.keys.mode, 0600);
	assert_int_equal(yg_chan_encode_frame(&samples[16], &out), 0);
	memset(back.u.wake.path, 'x', sizeof(back.u.wake.path));
	assert_int_equal(decode_frame(&out, &back), 0);
	assert_int_equal(back.type, YG_CHAN_MSG_WAKE);
	assert_int_equal(back.stream, 11);
	assert_string_equal(back.u.wake.path, "/dev/ttyS0");
	assert_int_equal(back.u.wake.rows, 33);
	assert_int_equal(back.u.wake.cols, 111);
	assert_string_equal(yg_chan_type_name(YG_CHAN_MSG_WINDOW), "WINDOW");
	assert_string_equal(yg_chan_type_name(YG_CHAN_MSG_WAKE), "WAKE");
	assert_int_equal(yg_chan_encode_frame(&samples[17], &out), 0);
	assert_int_equal(decode_frame(&out, &back), 0);
	assert_int_equal(back.type, YG_CHAN_MSG_CONSIZE);
	assert_string_equal(back.u.wake.path, "/dev/ttyS0");
	assert_int_equal(back.u.wake.rows, 50);
	assert_int_equal(back.u.wake.cols, 132);
	assert_string_equal(yg_chan_type_name(YG_CHAN_MSG_CONSIZE), "CONSIZE");
}

/* Every shorter payload is refused, and one trailing byte too, except where
 * the rest of the payload is a byte string (DATA, KEYS): there only cuts
 * into the fixed fields are refused. */
static void test_truncated_and_trailing(void **state)
{
	static uint8_t longer[512];

	make_samples();
	for (int i = 0; i < NTYPES; i++) {
		uint8_t type = samples[i].type;
		size_t plen, fixed;

		assert_int_equal(yg_chan_encode_frame(&samples[i], &out), 0);
		plen = out.len - 5;
		fixed = type == YG_CHAN_MSG_DATA ? 5 :
			type == YG_CHAN_MSG_KEYS ? plen - samples[i].u.keys.len : plen;
		for (size_t k = 0; k < fixed; k++)
			assert_int_equal(yg_chan_decode(type, out.buf + 5, k, &back), -EPROTO);
		if (fixed < plen)
			continue;
		assert_true(plen + 1 <= sizeof(longer));
		memcpy(longer, out.buf + 5, plen);
		longer[plen] = 0;
		assert_int_equal(yg_chan_decode(type, longer, plen + 1, &back), -EPROTO);
	}
}

static void test_unknown_type(void **state)
{
	uint8_t p[8] = { 0 };
	yg_chan_msg m = { .type = 0, .stream = 1 };

	assert_int_equal(yg_chan_decode(0, p, 4, &back), -EPROTO);
	assert_int_equal(yg_chan_decode(YG_CHAN_MSG_MAX_TYPE + 1, p, 4, &back), -EPROTO);
	assert_int_equal(yg_chan_decode(255, p, 8, &back), -EPROTO);
	assert_int_equal(yg_chan_encode_frame(&m, &out), -EINVAL);
	m.type = YG_CHAN_MSG_MAX_TYPE + 1;
	assert_int_equal(yg_chan_encode_frame(&m, &out), -EINVAL);
	assert_string_equal(yg_chan_type_name(0), "unknown");
	assert_string_equal(yg_chan_type_name(YG_CHAN_MSG_MAX_TYPE + 1), "unknown");
	assert_string_equal(yg_chan_type_name(19), "unknown");
	assert_string_equal(yg_chan_type_name(YG_CHAN_MSG_OK), "OK");
}

/* Stream 0 only for HELLO, PING, PONG; the others 1..2^31-1. */
static void test_streams(void **state)
{
	static const uint32_t bad_ids[] = { 0, YG_CHAN_STREAM_MAX + 1, 0xffffffffu };

	make_samples();
	for (int i = 0; i < NTYPES; i++) {
		yg_chan_msg *m = &samples[i];
		bool control = m->stream == 0;

		assert_int_equal(yg_chan_encode_frame(m, &out), 0);
		for (size_t b = 0; b < sizeof(bad_ids) / sizeof(bad_ids[0]); b++) {
			uint32_t id = control ? bad_ids[b] + 1 : bad_ids[b];

			if (control && id == 0)
				continue;	/* 0xffffffff + 1 */
			out.buf[5] = (uint8_t)(id >> 24);
			out.buf[6] = (uint8_t)(id >> 16);
			out.buf[7] = (uint8_t)(id >> 8);
			out.buf[8] = (uint8_t)id;
			assert_int_equal(decode_frame(&out, &back), -EPROTO);
			m->stream = id;
			assert_int_equal(yg_chan_encode_frame(m, &again), -EINVAL);
		}
	}
	make_samples();
	samples[5].stream = YG_CHAN_STREAM_MAX;
	assert_int_equal(yg_chan_encode_frame(&samples[5], &out), 0);
	assert_int_equal(decode_frame(&out, &back), 0);
	assert_int_equal(back.stream, YG_CHAN_STREAM_MAX);
	samples[5].stream = 1;
	assert_int_equal(yg_chan_encode_frame(&samples[5], &out), 0);
	assert_int_equal(decode_frame(&out, &back), 0);
}

/* ---- raw payloads, for the decoder's bounds ---- */

static struct payload {
	uint8_t b[2 * YG_FRAME_MAX];
	size_t n;
} pl;

static void pl_be(uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		pl.b[pl.n++] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* a string of n bytes 'a' */
static void pl_str(size_t n)
{
	pl_be(n, 2);
	memset(pl.b + pl.n, 'a', n);
	pl.n += n;
}

static int pl_decode(uint8_t type)
{
	return yg_chan_decode(type, pl.b, pl.n, &back);
}

struct exec_shape {
	uint8_t flags;
	size_t term, user, cwd;
	unsigned argc, envc;
	size_t arg;	/* length of the last argument */
};

static const struct exec_shape exec_ok = { 1, 5, 5, 5, 1, 0, 7 };

static int exec_decode(struct exec_shape s)
{
	pl.n = 0;
	pl_be(7, 4);
	pl_be(s.flags, 1);
	pl_be(24, 2);
	pl_be(80, 2);
	pl_str(s.term);
	pl_str(s.user);
	pl_str(s.cwd);
	pl_be(s.argc, 2);
	for (unsigned i = 0; i < s.argc; i++)
		pl_str(i + 1 == s.argc ? s.arg : 1);
	pl_be(s.envc, 2);
	for (unsigned i = 0; i < s.envc; i++)
		pl_str(3);
	if (pl.n > YG_FRAME_MAX - 1)
		return 1;	/* cannot be a frame: the caller does not ask */
	return pl_decode(YG_CHAN_MSG_EXEC);
}

static void test_exec_bounds(void **state)
{
	struct exec_shape s;

	assert_int_equal(exec_decode(exec_ok), 0);
	assert_int_equal(back.u.exec.argc, 1);
	assert_int_equal(strlen(back.u.exec.argv[0]), 7);
#define BOUND(field, max) do { \
		s = exec_ok; s.field = (max); \
		assert_int_equal(exec_decode(s), 0); \
		s.field = (max) + 1; \
		assert_int_equal(exec_decode(s), -EPROTO); \
	} while (0)
	BOUND(term, YG_NAME_MAX);
	BOUND(user, YG_NAME_MAX);
	BOUND(cwd, YG_CHAN_PATH_MAX);
	BOUND(argc, YG_CHAN_ARGS_MAX);
	BOUND(envc, YG_CHAN_ARGS_MAX);
	s = exec_ok;
	s.argc = s.envc = YG_CHAN_ARGS_MAX;
	assert_int_equal(exec_decode(s), 0);
	assert_int_equal(back.u.exec.argc, YG_CHAN_ARGS_MAX);
	assert_string_equal(back.u.exec.argv[YG_CHAN_ARGS_MAX - 2], "a");
	assert_int_equal(strlen(back.u.exec.argv[YG_CHAN_ARGS_MAX - 1]), 7);
	assert_null(back.u.exec.argv[YG_CHAN_ARGS_MAX]);
	assert_int_equal(back.u.exec.envc, YG_CHAN_ARGS_MAX);
	assert_string_equal(back.u.exec.envp[YG_CHAN_ARGS_MAX - 1], "aaa");
	assert_null(back.u.exec.envp[YG_CHAN_ARGS_MAX]);
	BOUND(arg, YG_CHAN_ARG_MAX);
	BOUND(flags, YG_CHAN_EXEC_PTY);
#undef BOUND
	s = exec_ok;
	s.argc = 0;
	assert_int_equal(exec_decode(s), -EPROTO);
	/* a NUL inside an argument */
	assert_int_equal(exec_decode(exec_ok), 0);
	pl.b[pl.n - 3] = 0;
	assert_int_equal(pl_decode(YG_CHAN_MSG_EXEC), -EPROTO);
}

/* The encoder's EXEC bounds, and a frame over YG_FRAME_MAX. */
static void test_exec_encode_bounds(void **state)
{
	static char big[YG_CHAN_ARG_MAX + 2];
	static const char *argv[YG_CHAN_ARGS_MAX + 2];
	yg_chan_msg *m;

	make_samples();
	m = &samples[3];
	for (size_t i = 0; i < YG_CHAN_ARGS_MAX + 1; i++)
		argv[i] = "x";
	memcpy(m->u.exec.argv, argv, sizeof(m->u.exec.argv));
	m->u.exec.argc = YG_CHAN_ARGS_MAX;
	assert_int_equal(yg_chan_encode_frame(m, &out), 0);
	m->u.exec.argc = YG_CHAN_ARGS_MAX + 1;
	assert_int_equal(yg_chan_encode_frame(m, &out), -EINVAL);
	m->u.exec.argc = 0;
	assert_int_equal(yg_chan_encode_frame(m, &out), -EINVAL);
	m->u.exec.argc = 1;
	m->u.exec.envc = YG_CHAN_ARGS_MAX + 1;
	assert_int_equal(yg_chan_encode_frame(m, &out), -EINVAL);
	m->u.exec.envc = 0;
	m->u.exec.flags = 2;
	assert_int_equal(yg_chan_encode_frame(m, &out), -EINVAL);
	m->u.exec.flags = 0;
	memset(big, 'b', YG_CHAN_ARG_MAX);
	m->u.exec.argv[0] = big;
	assert_int_equal(yg_chan_encode_frame(m, &out), 0);
	big[YG_CHAN_ARG_MAX] = 'b';
	assert_int_equal(yg_chan_encode_frame(m, &out), -EINVAL);
	big[YG_CHAN_ARG_MAX] = '\0';
	m->u.exec.argv[0] = NULL;
	assert_int_equal(yg_chan_encode_frame(m, &out), -EINVAL);
	/* two full arguments do not fit one frame: -EMSGSIZE, nothing past cap */
	m->u.exec.argv[0] = m->u.exec.argv[1] = big;
	m->u.exec.argc = 2;
	assert_int_equal(yg_chan_encode_frame(m, &out), -EMSGSIZE);
	/* trimmed to exactly YG_FRAME_MAX it is accepted, and decodes */
	{
		size_t over = 4 + 1 + 4 + 1 + 2 + 2 + 2 + strlen(m->u.exec.term) + 2 +
			strlen(m->u.exec.user) + 2 + strlen(m->u.exec.cwd) + 2 + 2 * (2 + YG_CHAN_ARG_MAX) + 2;
		static char trimmed[YG_CHAN_ARG_MAX + 1];
		size_t keep = YG_CHAN_ARG_MAX - (over - 4 - YG_FRAME_MAX);

		memset(trimmed, 't', keep);
		m->u.exec.argv[1] = trimmed;
		assert_int_equal(yg_chan_encode_frame(m, &out), 0);
		assert_int_equal(out.len, 4 + YG_FRAME_MAX);
		assert_int_equal(decode_frame(&out, &back), 0);
		assert_int_equal(strlen(back.u.exec.argv[1]), keep);
		trimmed[keep] = 't';
		assert_int_equal(yg_chan_encode_frame(m, &out), -EMSGSIZE);
	}
}

static void test_value_bounds(void **state)
{
	static uint8_t big[YG_CHAN_DATA_MAX + 1];
	static const uint8_t ok_sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGKILL };
	yg_chan_msg m;

	/* DATA: fd 0..2, bytes up to YG_CHAN_DATA_MAX */
	for (unsigned fd = 0; fd < 4; fd++) {
		pl.n = 0;
		pl_be(1, 4);
		pl_be(fd, 1);
		assert_int_equal(pl_decode(YG_CHAN_MSG_DATA), fd <= 2 ? 0 : -EPROTO);
		assert_int_equal(pl_decode(YG_CHAN_MSG_EOF), fd <= 2 ? 0 : -EPROTO);
	}
	pl.n = 0;
	pl_be(1, 4);
	pl_be(2, 1);
	memset(pl.b + pl.n, 0, YG_CHAN_DATA_MAX + 1);
	pl.n += YG_CHAN_DATA_MAX;
	assert_int_equal(pl_decode(YG_CHAN_MSG_DATA), 0);
	assert_int_equal(back.u.data.len, YG_CHAN_DATA_MAX);
	pl.n++;
	assert_int_equal(pl_decode(YG_CHAN_MSG_DATA), -EPROTO);
	memset(&m, 0, sizeof(m));
	m.type = YG_CHAN_MSG_DATA;
	m.stream = 1;
	m.u.data.bytes = big;
	m.u.data.len = YG_CHAN_DATA_MAX;
	assert_int_equal(yg_chan_encode_frame(&m, &out), 0);
	m.u.data.len++;
	assert_int_equal(yg_chan_encode_frame(&m, &out), -EMSGSIZE);
	m.u.data.len = 0;
	m.u.data.fd = 3;
	assert_int_equal(yg_chan_encode_frame(&m, &out), -EINVAL);
	/* SIGNAL: the five and no other */
	for (unsigned sig = 0; sig < 256; sig++) {
		bool ok = memchr(ok_sigs, (int)sig, sizeof(ok_sigs)) != NULL;

		pl.n = 0;
		pl_be(1, 4);
		pl_be(sig, 1);
		assert_int_equal(pl_decode(YG_CHAN_MSG_SIGNAL), ok ? 0 : -EPROTO);
		memset(&m, 0, sizeof(m));
		m.type = YG_CHAN_MSG_SIGNAL;
		m.stream = 1;
		m.u.signal.signo = (uint8_t)sig;
		assert_int_equal(yg_chan_encode_frame(&m, &out), ok ? 0 : -EINVAL);
	}
	/* EXITED how 0..1 */
	for (unsigned how = 0; how < 3; how++) {
		pl.n = 0;
		pl_be(1, 4);
		pl_be(how, 1);
		pl_be(255, 1);
		assert_int_equal(pl_decode(YG_CHAN_MSG_EXITED), how <= 1 ? 0 : -EPROTO);
	}
	/* FAILED code 1..YG_CHAN_E_MAX, text up to YG_TEXT_MAX */
	for (unsigned code = 0; code <= YG_CHAN_E_MAX + 1; code++) {
		pl.n = 0;
		pl_be(1, 4);
		pl_be(code, 4);
		pl_str(YG_TEXT_MAX);
		assert_int_equal(pl_decode(YG_CHAN_MSG_FAILED),
				 code >= 1 && code <= YG_CHAN_E_MAX ? 0 : -EPROTO);
	}
	pl.n = 0;
	pl_be(1, 4);
	pl_be(1, 4);
	pl_str(YG_TEXT_MAX + 1);
	assert_int_equal(pl_decode(YG_CHAN_MSG_FAILED), -EPROTO);
	/* HELLO peer up to YG_NAME_MAX, on stream 0 */
	pl.n = 0;
	pl_be(0, 4);
	pl_be(1, 4);
	pl_be(0, 4);
	pl_str(YG_NAME_MAX);
	assert_int_equal(pl_decode(YG_CHAN_MSG_HELLO), 0);
	pl.n = 12;
	pl_str(YG_NAME_MAX + 1);
	assert_int_equal(pl_decode(YG_CHAN_MSG_HELLO), -EPROTO);
}

/* KEYS, WIPE, WAKE and CONSIZE: absolute paths up to YG_CHAN_PATH_MAX; KEYS' owner up
 * to YG_NAME_MAX, its mode up to 07777. */
static int keys_decode(size_t path, char first, size_t owner, uint32_t mode)
{
	pl.n = 0;
	pl_be(5, 4);
	pl_str(path);
	if (path)
		pl.b[6] = (uint8_t)first;
	pl_str(owner);
	pl_be(mode, 4);
	memcpy(pl.b + pl.n, "K=v\n", 4);
	pl.n += 4;
	return pl_decode(YG_CHAN_MSG_KEYS);
}

/* WIPE, or WAKE and CONSIZE (one shape): a path of len bytes starting with first, then
 * trailing bytes */
static int path_decode(uint8_t type, size_t path, char first, size_t trailing)
{
	pl.n = 0;
	pl_be(5, 4);
	pl_str(path);
	if (path)
		pl.b[6] = (uint8_t)first;
	memset(pl.b + pl.n, 0, trailing);
	pl.n += trailing;
	return pl_decode(type);
}

/* The encoder's path bounds of WIPE, WAKE or CONSIZE, on m (its other fields set). */
static void path_encode_bounds(yg_chan_msg *m, uint8_t type, char *path)
{
	m->type = type;
	path[0] = '\0';
	assert_int_equal(yg_chan_encode_frame(m, &out), -EINVAL);
	strcpy(path, "dev/ttyS0");
	assert_int_equal(yg_chan_encode_frame(m, &out), -EINVAL);
	memset(path, '/', YG_CHAN_PATH_MAX + 1);
	assert_int_equal(yg_chan_encode_frame(m, &out), -EINVAL);
	path[YG_CHAN_PATH_MAX] = '\0';
	assert_int_equal(yg_chan_encode_frame(m, &out), 0);
	assert_int_equal(out.len, 4 + 1 + 4 + 2 + YG_CHAN_PATH_MAX +
			 (type != YG_CHAN_MSG_WIPE ? 4u : 0u));	/* rows, cols */
}

static void test_path_bounds(void **state)
{
	static const uint8_t path_types[] = { YG_CHAN_MSG_WIPE, YG_CHAN_MSG_WAKE,
					      YG_CHAN_MSG_CONSIZE };
	yg_chan_msg m;

	assert_int_equal(keys_decode(YG_CHAN_PATH_MAX, '/', YG_NAME_MAX, 07777), 0);
	assert_int_equal(back.u.keys.len, 4);
	assert_int_equal(keys_decode(YG_CHAN_PATH_MAX + 1, '/', 0, 0600), -EPROTO);
	assert_int_equal(keys_decode(10, '/', YG_NAME_MAX + 1, 0600), -EPROTO);
	assert_int_equal(keys_decode(10, '/', 0, 010000), -EPROTO);
	assert_int_equal(keys_decode(10, 'a', 0, 0600), -EPROTO);
	assert_int_equal(keys_decode(0, '/', 0, 0600), -EPROTO);
	for (size_t i = 0; i < sizeof(path_types); i++) {
		uint8_t type = path_types[i];
		const char *got = type == YG_CHAN_MSG_WIPE ? back.u.wipe.path : back.u.wake.path;
		size_t t = type != YG_CHAN_MSG_WIPE ? 4 : 0;	/* rows, cols */

		assert_int_equal(path_decode(type, YG_CHAN_PATH_MAX, '/', t), 0);
		assert_int_equal(strlen(got), YG_CHAN_PATH_MAX);
		assert_int_equal(path_decode(type, 1, '/', t), 0);
		assert_string_equal(got, "/");
		assert_int_equal(path_decode(type, YG_CHAN_PATH_MAX + 1, '/', t), -EPROTO);
		assert_int_equal(path_decode(type, 10, 'a', t), -EPROTO);
		assert_int_equal(path_decode(type, 0, '/', t), -EPROTO);
		assert_int_equal(path_decode(type, 10, '/', t + 1), -EPROTO);
		assert_int_equal(path_decode(type, 10, '/', t + 4), -EPROTO);
		assert_int_equal(path_decode(type, 10, '\0', t), -EPROTO);	/* a NUL inside */
		if (t)		/* rows without cols */
			assert_int_equal(path_decode(type, 10, '/', 2), -EPROTO);
	}
	memset(&m, 0, sizeof(m));
	m.type = YG_CHAN_MSG_KEYS;
	m.stream = 2;
	strcpy(m.u.keys.path, "relative/keys.env");
	assert_int_equal(yg_chan_encode_frame(&m, &out), -EINVAL);
	m.u.keys.path[0] = '/';
	assert_int_equal(yg_chan_encode_frame(&m, &out), 0);
	m.u.keys.mode = 010000;
	assert_int_equal(yg_chan_encode_frame(&m, &out), -EINVAL);
	m.u.keys.mode = 0;
	m.u.keys.len = 1;	/* bytes NULL */
	assert_int_equal(yg_chan_encode_frame(&m, &out), -EINVAL);
	path_encode_bounds(&m, YG_CHAN_MSG_WIPE, m.u.wipe.path);
	path_encode_bounds(&m, YG_CHAN_MSG_WAKE, m.u.wake.path);
	path_encode_bounds(&m, YG_CHAN_MSG_CONSIZE, m.u.wake.path);
	/* an over-long payload is refused before anything is read */
	assert_int_equal(yg_chan_decode(YG_CHAN_MSG_KEYS, pl.b, YG_FRAME_MAX, &back), -EPROTO);
}

/* Into a small buffer: -ENOBUFS at every cap short of the frame, nothing
 * written past cap; the DATA header helper writes what the encoder does. */
static void test_encode_to_and_header(void **state)
{
	static uint8_t buf[4 + YG_FRAME_MAX + 16];
	size_t len;

	make_samples();
	for (int i = 0; i < NTYPES; i++) {
		assert_int_equal(yg_chan_encode_frame(&samples[i], &out), 0);
		for (size_t cap = 0; cap < out.len; cap++) {
			memset(buf, 0xa5, sizeof(buf));
			assert_int_equal(yg_chan_encode(&samples[i], buf, cap, &len), -ENOBUFS);
			for (size_t k = cap; k < out.len; k++)
				assert_int_equal(buf[k], 0xa5);
		}
		assert_int_equal(yg_chan_encode(&samples[i], buf, out.len, &len), 0);
		assert_int_equal(len, out.len);
		assert_memory_equal(buf, out.buf, len);
	}
	assert_int_equal(yg_chan_encode_frame(&samples[5], &out), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(yg_chan_data_header(buf, 7, 1, sizeof(data_bytes)), 0);
	memcpy(buf + YG_CHAN_DATA_HDR, data_bytes, sizeof(data_bytes));
	assert_int_equal(out.len, YG_CHAN_DATA_HDR + sizeof(data_bytes));
	assert_memory_equal(buf, out.buf, out.len);
	assert_int_equal(yg_chan_data_header(buf, 0, 1, 1), -EINVAL);
	assert_int_equal(yg_chan_data_header(buf, YG_CHAN_STREAM_MAX + 1, 1, 1), -EINVAL);
	assert_int_equal(yg_chan_data_header(buf, 1, 3, 1), -EINVAL);
	assert_int_equal(yg_chan_data_header(buf, 1, 2, YG_CHAN_DATA_MAX), 0);
	assert_int_equal(yg_chan_data_header(buf, 1, 2, YG_CHAN_DATA_MAX + 1), -EMSGSIZE);
}

/* Channel frames through the client protocol's reader, all in one feed. */
static void test_framing(void **state)
{
	static yg_frame_in in;
	static uint8_t all[4096];
	size_t n = 0, len;
	const uint8_t *payload;
	uint8_t type;
	int got = 0;

	make_samples();
	for (int i = 0; i < NTYPES; i++) {
		assert_int_equal(yg_chan_encode(&samples[i], all + n, sizeof(all) - n, &len), 0);
		n += len;
	}
	yg_frame_in_init(&in);
	assert_int_equal(yg_frame_in_feed(&in, all, n), 0);
	while (yg_frame_next(&in, &type, &payload, &len) == 1) {
		assert_int_equal(yg_chan_decode(type, payload, len, &back), 0);
		assert_int_equal(back.type, samples[got].type);
		got++;
	}
	assert_int_equal(got, NTYPES);
}

static void test_credit(void **state)
{
	yg_chan_credit tx, rx;
	uint32_t w, total = 0;

	yg_chan_credit_init(&tx);
	yg_chan_credit_init(&rx);
	assert_int_equal(yg_chan_credit_room(&tx), YG_CHAN_WINDOW);
	/* the whole window, in DATA-sized pieces, and not one byte more */
	for (unsigned i = 0; i < YG_CHAN_WINDOW / YG_CHAN_DATA_MAX; i++) {
		assert_true(yg_chan_credit_take(&tx, YG_CHAN_DATA_MAX));
		assert_true(yg_chan_credit_take(&rx, YG_CHAN_DATA_MAX));
	}
	assert_int_equal(yg_chan_credit_room(&tx), 0);
	assert_false(yg_chan_credit_take(&tx, 1));
	assert_false(yg_chan_credit_take(&rx, 1));	/* an overrun: protocol error */
	assert_true(yg_chan_credit_take(&tx, 0));
	/* the receiver passes bytes on; WINDOW goes out once a quarter is owed */
	assert_int_equal(yg_chan_credit_passed(&rx, YG_CHAN_WINDOW / 4 - 1), 0);
	w = yg_chan_credit_passed(&rx, 1);
	assert_int_equal(w, YG_CHAN_WINDOW / 4);
	assert_true(yg_chan_credit_give(&tx, w));
	assert_int_equal(yg_chan_credit_room(&tx), YG_CHAN_WINDOW / 4);
	assert_int_equal(yg_chan_credit_room(&rx), YG_CHAN_WINDOW / 4);
	/* more given back than was ever sent: refused, nothing changed */
	assert_false(yg_chan_credit_give(&tx, YG_CHAN_WINDOW - YG_CHAN_WINDOW / 4 + 1));
	assert_int_equal(yg_chan_credit_room(&tx), YG_CHAN_WINDOW / 4);
	assert_true(yg_chan_credit_give(&tx, YG_CHAN_WINDOW - YG_CHAN_WINDOW / 4));
	assert_int_equal(yg_chan_credit_room(&tx), YG_CHAN_WINDOW);
	assert_false(yg_chan_credit_give(&tx, 1));
	/* the receiver cannot owe more than it received */
	yg_chan_credit_init(&rx);
	assert_true(yg_chan_credit_take(&rx, 100));
	assert_int_equal(yg_chan_credit_passed(&rx, YG_CHAN_WINDOW), 0);
	assert_int_equal(rx.passed, 100);
	/* a long transfer: both ends agree and the sender never stalls */
	yg_chan_credit_init(&tx);
	yg_chan_credit_init(&rx);
	for (unsigned i = 0; i < 1000; i++) {
		size_t n = yg_chan_credit_room(&tx);

		if (n > 1000)
			n = 1000;
		assert_true(n > 0);
		assert_true(yg_chan_credit_take(&tx, n));
		assert_true(yg_chan_credit_take(&rx, n));
		w = yg_chan_credit_passed(&rx, n);
		if (w) {
			assert_true(yg_chan_credit_give(&tx, w));
			total += w;
		}
		assert_int_equal(tx.granted, rx.granted);
	}
	assert_true(total > 1000 * 1000 - YG_CHAN_WINDOW / 4);
}

/* ---- golden frames ---- */

/* Read tests/data/chan/NAME.hex: hex bytes, white space, '#' comments. */
static size_t read_hex(const char *name, uint8_t *buf, size_t cap)
{
	const char *top = getenv("top_srcdir");
	char path[4096], line[512];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/chan/%s.hex", top ? top : ".", name);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s (run from the build dir or set top_srcdir)", path);
	while (fgets(line, sizeof(line), f)) {
		char *p = line;
		unsigned v;
		int used;

		if (*p == '#')
			continue;
		while (sscanf(p, " %2x%n", &v, &used) == 1) {
			assert_true(n < cap);
			buf[n++] = (uint8_t)v;
			p += used;
		}
	}
	fclose(f);
	return n;
}

static void test_golden(void **state)
{
	static uint8_t want[4 + YG_FRAME_MAX];

	make_samples();
	for (int i = 0; i < NTYPES; i++) {
		char name[32];
		size_t n;

		snprintf(name, sizeof(name), "%s", yg_chan_type_name(samples[i].type));
		for (char *c = name; *c; c++)
			*c = (char)(*c - 'A' + 'a');
		n = read_hex(name, want, sizeof(want));
		assert_int_equal(yg_chan_encode_frame(&samples[i], &out), 0);
		if (n != out.len || memcmp(want, out.buf, n))
			fail_msg("%s: the encoding differs from tests/data/chan/%s.hex", name, name);
		assert_int_equal(yg_chan_decode(want[4], want + 5, n - 5, &back), 0);
		assert_int_equal(yg_chan_encode_frame(&back, &again), 0);
		assert_memory_equal(again.buf, want, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncated_and_trailing),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_streams),
		cmocka_unit_test(test_exec_bounds),
		cmocka_unit_test(test_exec_encode_bounds),
		cmocka_unit_test(test_value_bounds),
		cmocka_unit_test(test_path_bounds),
		cmocka_unit_test(test_encode_to_and_header),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_credit),
		cmocka_unit_test(test_golden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
