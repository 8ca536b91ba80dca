/* SPDX-License-Identifier: MIT */
/* yg_proto.c: frame codec and message encode/decode, see yg_proto.h.
 *
 * Every message is described by a field table (kind, bound, offset into
 * yg_msg), so one encoder and one decoder (yg_wire.c, shared with the box
 * channel's yg_chan.c) serve all types: adding a message is adding a table
 * row, and the bounds are checked in exactly one place.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "yg_proto.h"
#include "yg_time.h"
#include "yg_wire.h"

#define FU8(m, hi)	YG_FU8(yg_msg, u.m, hi)
#define FU16(m)		YG_FU16(yg_msg, u.m)
#define FU32(m)		YG_FU32(yg_msg, u.m)
#define FSTR(m, hi)	YG_FSTR(yg_msg, u.m, hi)
#define FDATA		YG_FREST(yg_msg, u.data.bytes, u.data.len, YG_DATA_MAX)
#define FEND		YG_FEND
/* The signals a client may forward with SIGNAL. */
#define CLIENT_SIGNALS	(YG_BIT(SIGHUP) | YG_BIT(SIGINT) | YG_BIT(SIGQUIT) | YG_BIT(SIGTERM))

static const struct yg_desc descs[YG_MSG_MAX_TYPE + 1] = {
	[YG_MSG_HELLO] = { "HELLO", {
		FU32(hello.version), FSTR(hello.peer, YG_NAME_MAX), FEND } },
	[YG_MSG_OPEN] = { "OPEN", {
		FU8(open.mode, YG_OPEN_PLAIN), FSTR(open.term, YG_NAME_MAX),
		FU16(open.rows), FU16(open.cols), FSTR(open.box, YG_NAME_MAX),
		FSTR(open.session, YG_SESSION_MAX), FEND } },
	[YG_MSG_PROGRESS] = { "PROGRESS", {
		FSTR(progress.text, YG_TEXT_MAX), FEND } },
	[YG_MSG_READY] = { "READY", {
		FSTR(ready.session, YG_SESSION_MAX), FSTR(ready.box, YG_NAME_MAX),
		FU16(ready.escape), FEND } },
	[YG_MSG_DATA] = { "DATA", { FDATA, FEND } },
	[YG_MSG_WINCH] = { "WINCH", {
		FU16(winch.rows), FU16(winch.cols), FEND } },
	[YG_MSG_EXIT] = { "EXIT", {
		FU32(exit.status), FSTR(exit.reason, YG_TEXT_MAX), FEND } },
	[YG_MSG_ERROR] = { "ERROR", {
		FU32(error.code), FSTR(error.text, YG_TEXT_MAX), FEND } },
	[YG_MSG_PREPARE] = { "PREPARE", {
		FSTR(prepare.user, YG_NAME_MAX), FSTR(prepare.from, YG_NAME_MAX), FEND } },
	[YG_MSG_SESSION] = { "SESSION", {
		FSTR(session.session, YG_SESSION_MAX), FEND } },
	[YG_MSG_RELEASE] = { "RELEASE", {
		FSTR(release.session, YG_SESSION_MAX), FEND } },
	[YG_MSG_ACCOUNT] = { "ACCOUNT", {
		FSTR(account.user, YG_NAME_MAX), FEND } },
	[YG_MSG_POLICY] = { "POLICY", {
		FU8(policy.gated, 1), FU8(policy.enabled, 1),
		FSTR(policy.text, YG_TEXT_MAX), FEND } },
	[YG_MSG_RUN] = { "RUN", {
		FU8(run.flags, YG_RUN_PTY), FSTR(run.term, YG_NAME_MAX),
		FU16(run.rows), FU16(run.cols), FSTR(run.box, YG_NAME_MAX),
		FSTR(run.session, YG_SESSION_MAX), FSTR(run.subsystem, YG_NAME_MAX),
		FSTR(run.command, YG_CMD_MAX), FEND } },
	[YG_MSG_STDERR] = { "STDERR", { FDATA, FEND } },
	[YG_MSG_EOF] = { "EOF", { FEND } },
	[YG_MSG_SIGNAL] = { "SIGNAL", {
		YG_FSET8(yg_msg, u.signal.signo, CLIENT_SIGNALS), FEND } },
};

static const struct yg_codec codec = { descs, YG_MSG_MAX_TYPE + 1 };

const char *yg_msg_type_name(uint8_t type)
{
	return yg_wire_name(&codec, type);
}

/* ---- encoder and decoder: the field walk of yg_wire.c ---- */

int yg_msg_encode_to(const yg_msg *m, uint8_t *buf, size_t cap, size_t *len)
{
	return yg_wire_encode(&codec, m->type, m, buf, cap, len);
}

int yg_msg_encode(const yg_msg *m, yg_frame_out *out)
{
	return yg_msg_encode_to(m, out->buf, sizeof(out->buf), &out->len);
}

int yg_msg_decode(uint8_t type, const uint8_t *payload, size_t len, yg_msg *m)
{
	/* DATA and STDERR are the hot path and set all they have: the rest
	 * of a large yg_msg (RUN's command) is not cleared for them */
	if (type == YG_MSG_DATA || type == YG_MSG_STDERR)
		memset(m, 0, offsetof(yg_msg, u) + sizeof(m->u.data));
	else
		memset(m, 0, sizeof(*m));
	m->type = type;
	return yg_wire_decode(&codec, type, m, payload, len, NULL, 0);
}

/* ---- incremental reader ---- */

void yg_frame_in_init(yg_frame_in *in)
{
	in->have = 0;
	in->done = 0;
}

/* Drop the frame handed out last; its payload pointer dies here. */
static void consume(yg_frame_in *in)
{
	if (!in->done)
		return;
	memmove(in->buf, in->buf + in->done, in->have - in->done);
	in->have -= in->done;
	in->done = 0;
}

/* -EPROTO as soon as the 4 length bytes of the pending frame are in. */
static int check_head(const yg_frame_in *in)
{
	uint32_t flen;

	if (in->have - in->done < 4)
		return 0;
	flen = (uint32_t)yg_get_be(in->buf + in->done, 4);
	return (flen == 0 || flen > YG_FRAME_MAX) ? -EPROTO : 0;
}

int yg_frame_in_feed(yg_frame_in *in, const void *data, size_t len)
{
	consume(in);
	if (len > sizeof(in->buf) - in->have)
		return -ENOBUFS;
	if (len)
		memcpy(in->buf + in->have, data, len);
	in->have += len;
	return 0;
}

ssize_t yg_frame_in_read(yg_frame_in *in, yg_read_fn rd, void *ctx)
{
	ssize_t n;
	int r;

	consume(in);
	r = check_head(in);
	if (r < 0)
		return r;
	if (in->have == sizeof(in->buf))
		return -ENOBUFS;	/* a whole frame waits: call yg_frame_next */
	n = rd(ctx, in->buf + in->have, sizeof(in->buf) - in->have);
	if (n < 0)
		return n;
	if ((size_t)n > sizeof(in->buf) - in->have)
		return -EIO;	/* a broken reader: nothing past the buffer is trusted */
	in->have += (size_t)n;
	return n;
}

static ssize_t fd_read(void *ctx, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(*(const int *)ctx, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

ssize_t yg_frame_in_fill(yg_frame_in *in, int fd)
{
	return yg_frame_in_read(in, fd_read, &fd);
}

int yg_frame_next(yg_frame_in *in, uint8_t *type, const uint8_t **payload, size_t *len)
{
	uint32_t flen;
	int r;

	consume(in);
	r = check_head(in);
	if (r < 0)
		return r;
	if (in->have < 4)
		return 0;
	flen = (uint32_t)yg_get_be(in->buf, 4);
	if (in->have < 4 + (size_t)flen)
		return 0;
	*type = in->buf[4];
	*payload = in->buf + 5;
	*len = flen - 1;
	in->done = 4 + (size_t)flen;
	return 1;
}

/* ---- blocking helpers with a deadline ---- */

/* Wait for events on fd until deadline (-1 = none). 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r, t;

	for (;;) {
		t = -1;
		if (deadline >= 0) {
			int64_t left = deadline - (int64_t)yg_now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			t = left > 1000000 ? 1000000 : (int)left;
		}
		r = poll(&p, 1, t);
		if (r > 0)
			return 0;	/* ready, or HUP/ERR: the read/write says which */
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

int yg_msg_recv(int fd, yg_frame_in *in, yg_msg *m, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : (int64_t)yg_now_ms() + timeout_ms;
	const uint8_t *payload;
	size_t len;
	uint8_t type;
	ssize_t n;
	int r;

	for (;;) {
		r = yg_frame_next(in, &type, &payload, &len);
		if (r < 0)
			return r;
		if (r == 1)
			return yg_msg_decode(type, payload, len, m) < 0 ? -EPROTO : 0;
		r = wait_fd(fd, POLLIN, deadline);
		if (r < 0)
			return r;
		n = yg_frame_in_fill(in, fd);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && n != -EAGAIN)
			return (int)n;
	}
}

/* write(2) for non-sockets (pipes in tests) without dying of SIGPIPE: block
 * it, and swallow the one our write raised, if it was not already pending. */
static ssize_t write_nosigpipe(int fd, const void *buf, size_t len)
{
	sigset_t pipe_set, old, pending;
	int was_pending, saved;
	ssize_t n;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	n = write(fd, buf, len);
	saved = errno;
	if (n < 0 && saved == EPIPE && !was_pending) {
		struct timespec zero = { 0, 0 };

		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return n;
}

int yg_msg_send(int fd, const yg_msg *m, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : (int64_t)yg_now_ms() + timeout_ms;
	yg_frame_out out;
	bool is_sock = true;
	size_t off = 0;
	int r;

	r = yg_msg_encode(m, &out);
	if (r < 0)
		return r;
	while (off < out.len) {
		ssize_t n;

		if (is_sock) {
			n = send(fd, out.buf + off, out.len - off, MSG_NOSIGNAL);
			if (n < 0 && errno == ENOTSOCK) {
				is_sock = false;
				continue;
			}
		} else {
			n = write_nosigpipe(fd, out.buf + off, out.len - off);
		}
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			return r;
	}
	return 0;
}
