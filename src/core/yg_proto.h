/* SPDX-License-Identifier: MIT */
/* yg_proto.h: the client <-> broker wire protocol.
 *
 * A unix SOCK_STREAM carries frames:
 *
 *     u32 length (network order) | u8 type | payload
 *
 * where length counts the type byte plus the payload, so 1 <= length <=
 * YG_FRAME_MAX. The length is checked as soon as its four bytes are in, before
 * anything is allocated or read further; a bad length ends the connection.
 * Integers are big-endian. A string is u16 length + bytes, at most the field's
 * maximum, with no NUL byte inside (decoders reject NUL and over-long strings
 * rather than truncating). A payload must be consumed exactly: trailing bytes
 * are an error.
 *
 * Messages (-> broker, <- broker):
 *   HELLO     <->  u32 version, str peer (e.g. "yolo-shell 0.1.0"). First frame
 *                  each way; a version mismatch is an ERROR then close.
 *   OPEN       ->  u8 mode (YG_OPEN_TTY|YG_OPEN_PLAIN), str term, u16 rows,
 *                  u16 cols, str box ("" = the caller's own), str session
 *                  ("" or the id PAM's PREPARE returned, from YOLO_GATE_SESSION)
 *   PROGRESS  <-   str text ("reverting yolo-alice to clean-state ... 1.8 s")
 *   READY     <-   str session id, str box, u16 escape (YG_ESCAPE_NONE = none)
 *   DATA      <->  raw bytes (rest of the payload, 0..YG_DATA_MAX)
 *   WINCH      ->  u16 rows, u16 cols
 *   EXIT      <->  u32 status, str reason (client -> broker: the user left,
 *                  e.g. "escape"; broker -> client: the session is over)
 *   ERROR     <-   u32 code (YG_ERR_*), str text for the user
 *   PREPARE    ->  str user, str from (PAM_RHOST or ""); uid 0 only
 *   SESSION   <-   str session id (answer to PREPARE)
 *   RELEASE    ->  str session id; uid 0 only; answered with EXIT
 *   ACCOUNT    ->  str user; uid 0 only
 *   POLICY    <-   u8 gated, u8 enabled, str message (answer to ACCOUNT)
 *   RUN        ->  u8 flags (YG_RUN_PTY), str term, u16 rows, u16 cols, str box
 *                  ("" = own), str session ("" or PAM's id), str subsystem
 *                  ("" = a command, "sftp"), str command (<= YG_CMD_MAX; ""
 *                  with a subsystem). Answered like OPEN: PROGRESS*, READY
 *                  or ERROR; then DATA <- is stdout (with a pty all output),
 *                  STDERR its stderr, EXIT ends it (status = exit status or
 *                  128 + signal); DATA -> is stdin, WINCH resizes the pty.
 *   STDERR    <-   raw bytes (rest, 0..YG_DATA_MAX), decoded into u.data
 *   EOF        ->  (empty) the client's stdin ended
 *   SIGNAL     ->  u8 signo: SIGHUP, SIGINT, SIGQUIT or SIGTERM
 */
#ifndef YG_PROTO_H
#define YG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "yg_err.h"

#define YG_PROTO_VERSION 2u
#define YG_FRAME_MAX     65536u	/* type + payload */
#define YG_DATA_MAX      32768u	/* DATA payload */
#define YG_TEXT_MAX      1024u	/* PROGRESS, EXIT, ERROR, POLICY text */
#define YG_NAME_MAX      64u	/* user, box, peer, term */
#define YG_SESSION_MAX   40u	/* session id */
#define YG_CMD_MAX       32768u	/* RUN command */
#define YG_ESCAPE_NONE   0xffffu

enum yg_msg_type {
	YG_MSG_HELLO = 1,
	YG_MSG_OPEN = 2,
	YG_MSG_PROGRESS = 3,
	YG_MSG_READY = 4,
	YG_MSG_DATA = 5,
	YG_MSG_WINCH = 6,
	YG_MSG_EXIT = 7,
	YG_MSG_ERROR = 8,
	YG_MSG_PREPARE = 9,
	YG_MSG_SESSION = 10,
	YG_MSG_RELEASE = 11,
	YG_MSG_ACCOUNT = 12,
	YG_MSG_POLICY = 13,
	YG_MSG_RUN = 14,
	YG_MSG_STDERR = 15,
	YG_MSG_EOF = 16,
	YG_MSG_SIGNAL = 17,
	YG_MSG_MAX_TYPE = 17,
};

enum yg_open_mode { YG_OPEN_TTY = 0, YG_OPEN_PLAIN = 1 };

/* RUN flags */
#define YG_RUN_PTY 1u

/* ERROR codes: what the client may tell the user / map to an exit status. */
enum yg_err_code {
	YG_ERR_PROTOCOL = 1,	/* malformed or out-of-phase frame */
	YG_ERR_VERSION = 2,	/* protocol version mismatch */
	YG_ERR_NOPOLICY = 3,	/* no box is configured for this user */
	YG_ERR_DISABLED = 4,	/* the user's box is disabled by policy */
	YG_ERR_DENIED = 5,	/* not allowed (other user's box, non-root PREPARE) */
	YG_ERR_BUSY = 6,	/* box in use (concurrent = refuse) */
	YG_ERR_BOX = 7,		/* libvirt / box failure (domain, snapshot, libvirtd) */
	YG_ERR_AGENT = 8,	/* guest agent did not answer */
	YG_ERR_KEYS = 9,	/* key file refused */
	YG_ERR_INTERNAL = 10,
};

/* A decoded message. Strings are NUL-terminated copies; DATA (and STDERR,
 * which uses u.data too) points into the frame it was decoded from (valid
 * until the reader is advanced). EOF has no fields. */
typedef struct yg_msg {
	uint8_t type;
	union {
		struct { uint32_t version; char peer[YG_NAME_MAX + 1]; } hello;
		struct {
			uint8_t mode;
			char term[YG_NAME_MAX + 1];
			uint16_t rows, cols;
			char box[YG_NAME_MAX + 1];
			char session[YG_SESSION_MAX + 1];
		} open;
		struct { char text[YG_TEXT_MAX + 1]; } progress;
		struct {
			char session[YG_SESSION_MAX + 1];
			char box[YG_NAME_MAX + 1];
			uint16_t escape;
		} ready;
		struct { const uint8_t *bytes; size_t len; } data;
		struct { uint16_t rows, cols; } winch;
		struct { uint32_t status; char reason[YG_TEXT_MAX + 1]; } exit;
		struct { uint32_t code; char text[YG_TEXT_MAX + 1]; } error;
		struct { char user[YG_NAME_MAX + 1]; char from[YG_NAME_MAX + 1]; } prepare;
		struct { char session[YG_SESSION_MAX + 1]; } session;
		struct { char session[YG_SESSION_MAX + 1]; } release;
		struct { char user[YG_NAME_MAX + 1]; } account;
		struct { uint8_t gated, enabled; char text[YG_TEXT_MAX + 1]; } policy;
		struct {
			uint8_t flags;
			char term[YG_NAME_MAX + 1];
			uint16_t rows, cols;
			char box[YG_NAME_MAX + 1];
			char session[YG_SESSION_MAX + 1];
			char subsystem[YG_NAME_MAX + 1];
			char command[YG_CMD_MAX + 1];
		} run;
		struct { uint8_t signo; } signal;
	} u;
} yg_msg;

/* An encoded frame, ready to send: header included. */
typedef struct yg_frame_out {
	uint8_t buf[4 + YG_FRAME_MAX];
	size_t len;
} yg_frame_out;

/* Encode m into out. Returns 0, -EINVAL (unknown type, string with NUL or too
 * long) or -EMSGSIZE. */
int yg_msg_encode(const yg_msg *m, yg_frame_out *out) YG_MUST_CHECK;
/* The same encoder, into a caller's buffer of cap bytes (e.g. the free end of
 * a relay's output buffer): 0 with *len = the frame's size, header included,
 * -ENOBUFS when the frame does not fit (nothing meaningful is left in buf),
 * or the errors of yg_msg_encode. */
int yg_msg_encode_to(const yg_msg *m, uint8_t *buf, size_t cap, size_t *len) YG_MUST_CHECK;

/* Decode one frame's type + payload. Returns 0 or -EPROTO (unknown type,
 * short/long payload, bad string). m->u.data.bytes points into payload. */
int yg_msg_decode(uint8_t type, const uint8_t *payload, size_t len, yg_msg *m) YG_MUST_CHECK;

/* Incremental reader for blocking or non-blocking fds. */
typedef struct yg_frame_in {
	uint8_t buf[4 + YG_FRAME_MAX];
	size_t have;	/* bytes in buf */
	size_t done;	/* size of the frame handed out by yg_frame_next, consumed on the next call */
} yg_frame_in;

void yg_frame_in_init(yg_frame_in *in);

/* Append bytes (for tests and fuzzing). Returns -ENOBUFS when they do not fit. */
int yg_frame_in_feed(yg_frame_in *in, const void *data, size_t len) YG_MUST_CHECK;

/* One read(2) from fd into in. Returns bytes read (> 0), 0 at EOF, -EAGAIN,
 * -EPROTO when the pending frame's length field is already known to be bad
 * (nothing more is read), -ENOBUFS when a whole frame waits (call
 * yg_frame_next first), or a negative errno. It may read ahead into following
 * frames; yg_frame_next hands them out in order. */
ssize_t yg_frame_in_fill(yg_frame_in *in, int fd) YG_MUST_CHECK;

/* The same with any reader: rd(ctx, buf, len) returns bytes read (> 0), 0 at
 * EOF or a negative errno (-EAGAIN: nothing now), as read(2) would; a
 * relay endpoint, for instance. Same returns as yg_frame_in_fill. */
typedef ssize_t (*yg_read_fn)(void *ctx, void *buf, size_t len);
ssize_t yg_frame_in_read(yg_frame_in *in, yg_read_fn rd, void *ctx) YG_MUST_CHECK;

/* Next complete frame: returns 1 and sets type, payload and len; 0 when more
 * bytes are needed; -EPROTO when the length field is 0 or > YG_FRAME_MAX (the
 * caller must close the connection). The previous frame is consumed first: its
 * payload pointer (and a decoded DATA's bytes) stays valid until the next call
 * to yg_frame_next, yg_frame_in_fill or yg_frame_in_feed. */
int yg_frame_next(yg_frame_in *in, uint8_t *type, const uint8_t **payload, size_t *len) YG_MUST_CHECK;

/* Read until one whole message is decoded (blocking fd, or poll with
 * timeout_ms; -1 = forever). Returns 0, -ECONNRESET at EOF, -ETIMEDOUT, -EPROTO. */
int yg_msg_recv(int fd, yg_frame_in *in, yg_msg *m, int timeout_ms) YG_MUST_CHECK;

/* Encode and write the whole frame (loops on partial writes and EINTR; for a
 * non-blocking fd it polls for POLLOUT up to timeout_ms, -1 = forever). */
int yg_msg_send(int fd, const yg_msg *m, int timeout_ms) YG_MUST_CHECK;

const char *yg_msg_type_name(uint8_t type);	/* "HELLO", ..., "unknown" */

#endif
