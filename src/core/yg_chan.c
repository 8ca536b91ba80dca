/* SPDX-License-Identifier: MIT */
/* yg_chan.c: the box channel codec, see yg_chan.h.
 *
 * A field table a message type (stream first: 0 for control, 1..2^31-1
 * for the others), walked by the one encoder and decoder of yg_wire.c that
 * the client protocol uses too: every bound of yg_chan.h is a row here.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "yg_chan.h"
#include "yg_wire.h"

#define M		yg_chan_msg
#define CONTROL		YG_FINT(M, YG_F_U32, stream, 0, 0)
#define STREAM		YG_FINT(M, YG_F_U32, stream, 1, YG_CHAN_STREAM_MAX)
#define FD(m)		YG_FU8(M, u.m, 2)
#define CHAN_SIGNALS	(YG_BIT(SIGHUP) | YG_BIT(SIGINT) | YG_BIT(SIGQUIT) | \
			 YG_BIT(SIGTERM) | YG_BIT(SIGKILL))

static const struct yg_desc descs[YG_CHAN_MSG_MAX_TYPE + 1] = {
	[YG_CHAN_MSG_HELLO] = { "HELLO", { CONTROL,
		YG_FU32(M, u.hello.version), YG_FU32(M, u.hello.features),
		YG_FSTR(M, u.hello.peer, YG_NAME_MAX), YG_FEND } },
	[YG_CHAN_MSG_PING] = { "PING", { CONTROL, YG_FU64(M, u.ping.cookie), YG_FEND } },
	[YG_CHAN_MSG_PONG] = { "PONG", { CONTROL, YG_FU64(M, u.ping.cookie), YG_FEND } },
	[YG_CHAN_MSG_EXEC] = { "EXEC", { STREAM,
		YG_FU8(M, u.exec.flags, YG_CHAN_EXEC_PTY),
		YG_FU16(M, u.exec.rows), YG_FU16(M, u.exec.cols),
		YG_FSTR(M, u.exec.term, YG_NAME_MAX), YG_FSTR(M, u.exec.user, YG_NAME_MAX),
		YG_FSTR(M, u.exec.cwd, YG_CHAN_PATH_MAX),
		YG_FSTRV(M, u.exec.argv, u.exec.argc, 1, YG_CHAN_ARGS_MAX, YG_CHAN_ARG_MAX),
		YG_FSTRV(M, u.exec.envp, u.exec.envc, 0, YG_CHAN_ARGS_MAX, YG_CHAN_ARG_MAX),
		YG_FEND } },
	[YG_CHAN_MSG_STARTED] = { "STARTED", { STREAM, YG_FU32(M, u.started.pid), YG_FEND } },
	[YG_CHAN_MSG_DATA] = { "DATA", { STREAM, FD(data.fd),
		YG_FREST(M, u.data.bytes, u.data.len, YG_CHAN_DATA_MAX), YG_FEND } },
	[YG_CHAN_MSG_EOF] = { "EOF", { STREAM, FD(eof.fd), YG_FEND } },
	[YG_CHAN_MSG_WINDOW] = { "WINDOW", { STREAM, YG_FU32(M, u.window.bytes), YG_FEND } },
	[YG_CHAN_MSG_RESIZE] = { "RESIZE", { STREAM,
		YG_FU16(M, u.resize.rows), YG_FU16(M, u.resize.cols), YG_FEND } },
	[YG_CHAN_MSG_SIGNAL] = { "SIGNAL", { STREAM,
		YG_FSET8(M, u.signal.signo, CHAN_SIGNALS), YG_FEND } },
	[YG_CHAN_MSG_EXITED] = { "EXITED", { STREAM,
		YG_FU8(M, u.exited.how, YG_CHAN_EXIT_SIGNAL), YG_FU8(M, u.exited.value, UINT8_MAX),
		YG_FEND } },
	[YG_CHAN_MSG_FAILED] = { "FAILED", { STREAM,
		YG_FINT(M, YG_F_U32, u.failed.code, 1, YG_CHAN_E_MAX),
		YG_FSTR(M, u.failed.text, YG_TEXT_MAX), YG_FEND } },
	[YG_CHAN_MSG_KEYS] = { "KEYS", { STREAM,
		YG_FPATH(M, u.keys.path, YG_CHAN_PATH_MAX), YG_FSTR(M, u.keys.owner, YG_NAME_MAX),
		YG_FINT(M, YG_F_U32, u.keys.mode, 0, 07777),
		YG_FREST(M, u.keys.bytes, u.keys.len, YG_FRAME_MAX), YG_FEND } },
	[YG_CHAN_MSG_WIPE] = { "WIPE", { STREAM, YG_FPATH(M, u.wipe.path, YG_CHAN_PATH_MAX), YG_FEND } },
	[YG_CHAN_MSG_CLOCK] = { "CLOCK", { STREAM, YG_FU64(M, u.clock.ns), YG_FEND } },
	[YG_CHAN_MSG_OK] = { "OK", { STREAM, YG_FEND } },
#define CONSOLE_TTY { STREAM, YG_FPATH(M, u.wake.path, YG_CHAN_PATH_MAX), \
		YG_FU16(M, u.wake.rows), YG_FU16(M, u.wake.cols), YG_FEND }
	[YG_CHAN_MSG_WAKE] = { "WAKE", CONSOLE_TTY },
	[YG_CHAN_MSG_CONSIZE] = { "CONSIZE", CONSOLE_TTY },
#undef CONSOLE_TTY
};

static const struct yg_codec codec = { descs, YG_CHAN_MSG_MAX_TYPE + 1 };

const char *yg_chan_type_name(uint8_t type)
{
	return yg_wire_name(&codec, type);
}

int yg_chan_encode(const yg_chan_msg *m, uint8_t *buf, size_t cap, size_t *len)
{
	return yg_wire_encode(&codec, m->type, m, buf, cap, len);
}

int yg_chan_encode_frame(const yg_chan_msg *m, yg_frame_out *out)
{
	return yg_chan_encode(m, out->buf, sizeof(out->buf), &out->len);
}

int yg_chan_data_header(uint8_t *buf, uint32_t stream, uint8_t fd, size_t len)
{
	if (stream == 0 || stream > YG_CHAN_STREAM_MAX || fd > 2)
		return -EINVAL;
	if (len > YG_CHAN_DATA_MAX)
		return -EMSGSIZE;
	yg_put_be(buf, 1 + 4 + 1 + len, 4);
	buf[4] = YG_CHAN_MSG_DATA;
	yg_put_be(buf + 5, stream, 4);
	buf[9] = fd;
	return 0;
}

int yg_chan_decode(uint8_t type, const uint8_t *payload, size_t len, yg_chan_msg *m)
{
	/* nothing is cleared (the struct is large): the fields of the type
	 * are all set, EXEC's vectors NULL-terminated */
	m->type = type;
	m->stream = 0;
	if (type == YG_CHAN_MSG_EXEC) {
		m->u.exec.argv[0] = m->u.exec.envp[0] = NULL;
		m->u.exec.argc = m->u.exec.envc = 0;
	}
	return yg_wire_decode(&codec, type, m, payload, len,
			      m->u.exec.strings, sizeof(m->u.exec.strings));
}

/* ---- credit ---- */

void yg_chan_credit_init(yg_chan_credit *c)
{
	c->sent = 0;
	c->granted = YG_CHAN_WINDOW;
	c->passed = 0;
}

size_t yg_chan_credit_room(const yg_chan_credit *c)
{
	return c->granted > c->sent ? (size_t)(c->granted - c->sent) : 0;
}

bool yg_chan_credit_take(yg_chan_credit *c, size_t n)
{
	if (n > yg_chan_credit_room(c))
		return false;
	c->sent += n;
	return true;
}

bool yg_chan_credit_give(yg_chan_credit *c, uint32_t n)
{
	/* the peer gives back only what it got: granted never passes
	 * sent + YG_CHAN_WINDOW */
	if (c->granted + n > c->sent + YG_CHAN_WINDOW)
		return false;
	c->granted += n;
	return true;
}

uint32_t yg_chan_credit_passed(yg_chan_credit *c, size_t n)
{
	/* never more than was received and not yet given back */
	uint64_t owed = c->sent + YG_CHAN_WINDOW - c->granted;
	uint32_t w;

	c->passed = c->passed + n > owed ? owed : c->passed + n;
	if (c->passed < YG_CHAN_WINDOW / 4)
		return 0;
	w = (uint32_t)c->passed;
	c->passed = 0;
	c->granted += w;
	return w;
}
