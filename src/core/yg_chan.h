/* SPDX-License-Identifier: MIT */
/* yg_chan.h: the box channel codec, host broker <-> guest yolo-boxd.
 *
 * Transport: the virtio-serial port YG_CHAN_PORT ("org.yologate.boxd.0"),
 * which the broker opens only through virDomainOpenChannel. Framing is the
 * client protocol's (yg_proto.h), read with yg_frame_in / yg_frame_next:
 *
 *     u32 length (network order) | u8 type | payload,  1 <= length <= YG_FRAME_MAX
 *
 * Every payload starts with u32 stream. Integers are big-endian; str = u16
 * length + bytes, no NUL inside, at most the field's maximum. A payload must
 * be consumed exactly. Stream 0 is control (HELLO, PING, PONG and only they);
 * every other message names a stream 1..YG_CHAN_STREAM_MAX chosen by the
 * host (for KEYS, WIPE, WAKE, CLOCK, CONSIZE and their OK/FAILED it is a
 * request id).
 *
 * Messages (H = host, G = guest), payload after u32 stream:
 *   HELLO    H<->G u32 version (YG_CHAN_VERSION), u32 features (YG_CHAN_F_*),
 *                  str peer (<= YG_NAME_MAX). The host sends it first; a host
 *                  HELLO resets the guest (SIGHUP to every earlier stream).
 *   PING     H->G  u64 cookie
 *   PONG     G->H  u64 cookie
 *   EXEC     H->G  u8 flags (YG_CHAN_EXEC_PTY), u16 rows, u16 cols,
 *                  str term (<= 64), str user (<= 64, "" = boxd's default),
 *                  str cwd (<= 1024, "" = home), u16 argc (1..256),
 *                  argc x str (<= 32768), u16 envc (0..256),
 *                  envc x str "NAME=value" (<= 32768)
 *   STARTED  G->H  u32 pid
 *   DATA     both  u8 fd (0 stdin H->G; 1, 2 G->H), bytes (rest, <= YG_CHAN_DATA_MAX)
 *   EOF      both  u8 fd
 *   WINDOW   both  u32 bytes: credit given back (see yg_chan_credit below)
 *   RESIZE   H->G  u16 rows, u16 cols
 *   SIGNAL   H->G  u8 signo: SIGHUP, SIGINT, SIGQUIT, SIGTERM or SIGKILL
 *   EXITED   G->H  u8 how (YG_CHAN_EXIT_*), u8 value (status or signal)
 *   FAILED   G->H  u32 code (YG_CHAN_E_*), str text (<= YG_TEXT_MAX)
 *   KEYS     H->G  str path (<= 1024, absolute), str owner (<= 64, "" = root),
 *                  u32 mode (<= 07777), bytes content (rest)
 *   WIPE     H->G  str path (<= 1024, absolute)
 *   WAKE     H->G  str path (<= 1024, absolute), u16 rows, u16 cols: a
 *                  console tty that boxd gives that window size (0 0: left
 *                  as it is) and writes "\r\n" to (YG_CHAN_F_WAKE), so that
 *                  the host end of a pty chardev sees output from the guest
 *   CLOCK    H->G  u64 unix time in ns
 *   CONSIZE  H->G  WAKE's fields (u.wake): the console tty is given that
 *                  window size and nothing is written (YG_CHAN_F_CONSIZE):
 *                  a resize in the middle of a session
 *   OK       G->H  (empty)
 * The decoder checks the shape and every bound above; which direction a
 * message may travel, stream bookkeeping (YG_CHAN_STREAMS_MAX, no reuse) and
 * credit are the caller's.
 */
#ifndef YG_CHAN_H
#define YG_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "yg_err.h"
#include "yg_proto.h"

#define YG_CHAN_PORT        "org.yologate.boxd.0"
#define YG_CHAN_VERSION     1u
#define YG_CHAN_STREAM_MAX  0x7fffffffu	/* largest stream id */
#define YG_CHAN_STREAMS_MAX 64u		/* open at once */
#define YG_CHAN_DATA_MAX    32768u	/* DATA bytes in one frame */
#define YG_CHAN_WINDOW      262144u	/* initial credit, each direction of a stream */
#define YG_CHAN_PATH_MAX    1024u	/* cwd, KEYS, WIPE and WAKE path */
#define YG_CHAN_ARGS_MAX    256u	/* argc (at least 1) and envc */
#define YG_CHAN_ARG_MAX     32768u	/* one argument or environment entry */
/* u32 length, u8 type, u32 stream, u8 fd: what precedes DATA's bytes */
#define YG_CHAN_DATA_HDR    10u

/* HELLO features */
#define YG_CHAN_F_EXEC  (1u << 0)
#define YG_CHAN_F_PTY   (1u << 1)
#define YG_CHAN_F_KEYS  (1u << 2)
#define YG_CHAN_F_CLOCK (1u << 3)
#define YG_CHAN_F_WAKE  (1u << 4)	/* takes WAKE */
#define YG_CHAN_F_CONSIZE (1u << 5)	/* takes CONSIZE */

/* EXEC flags */
#define YG_CHAN_EXEC_PTY 1u

enum yg_chan_type {
	YG_CHAN_MSG_HELLO = 1,
	YG_CHAN_MSG_PING = 2,
	YG_CHAN_MSG_PONG = 3,
	YG_CHAN_MSG_EXEC = 4,
	YG_CHAN_MSG_STARTED = 5,
	YG_CHAN_MSG_DATA = 6,
	YG_CHAN_MSG_EOF = 7,
	YG_CHAN_MSG_WINDOW = 8,
	YG_CHAN_MSG_RESIZE = 9,
	YG_CHAN_MSG_SIGNAL = 10,
	YG_CHAN_MSG_EXITED = 11,
	YG_CHAN_MSG_FAILED = 12,
	YG_CHAN_MSG_KEYS = 13,
	YG_CHAN_MSG_WIPE = 14,
	YG_CHAN_MSG_CLOCK = 15,
	YG_CHAN_MSG_OK = 16,
	YG_CHAN_MSG_WAKE = 17,
	YG_CHAN_MSG_CONSIZE = 18,
	YG_CHAN_MSG_MAX_TYPE = 18,
};

/* EXITED how */
enum { YG_CHAN_EXIT_STATUS = 0, YG_CHAN_EXIT_SIGNAL = 1 };

/* FAILED codes */
enum yg_chan_err_code {
	YG_CHAN_E_PROTO = 1,
	YG_CHAN_E_NOENT = 2,	/* command not found (text: the shell's) */
	YG_CHAN_E_PERM = 3,
	YG_CHAN_E_NOUSER = 4,
	YG_CHAN_E_BUSY = 5,	/* too many streams */
	YG_CHAN_E_IO = 6,
	YG_CHAN_E_NOTTMPFS = 7,
	YG_CHAN_E_SYMLINK = 8,
	YG_CHAN_E_INTERNAL = 9,
	YG_CHAN_E_MAX = 9,
};

/* A decoded (or to be encoded) message. Strings are NUL-terminated copies.
 * DATA's and KEYS' bytes point into the decoded payload (valid until the
 * frame reader advances). A decoded EXEC's argv/envp point into its own
 * strings[]: do not copy a decoded yg_chan_msg by value. The struct is large
 * (about 70 KiB, EXEC's strings): keep one per connection, not on a small
 * stack. */
typedef struct yg_chan_msg {
	uint8_t type;
	uint32_t stream;
	union {
		struct { uint32_t version, features; char peer[YG_NAME_MAX + 1]; } hello;
		struct { uint64_t cookie; } ping;	/* PING and PONG */
		struct {
			uint8_t flags;
			uint16_t rows, cols;
			char term[YG_NAME_MAX + 1], user[YG_NAME_MAX + 1];
			char cwd[YG_CHAN_PATH_MAX + 1];
			uint16_t argc, envc;
			const char *argv[YG_CHAN_ARGS_MAX + 1];	/* NULL-terminated */
			const char *envp[YG_CHAN_ARGS_MAX + 1];	/* NULL-terminated */
			char strings[YG_FRAME_MAX];		/* decode: where argv/envp point */
		} exec;
		struct { uint32_t pid; } started;
		struct { uint8_t fd; const uint8_t *bytes; size_t len; } data;
		struct { uint8_t fd; } eof;
		struct { uint32_t bytes; } window;
		struct { uint16_t rows, cols; } resize;
		struct { uint8_t signo; } signal;
		struct { uint8_t how, value; } exited;
		struct { uint32_t code; char text[YG_TEXT_MAX + 1]; } failed;
		struct {
			char path[YG_CHAN_PATH_MAX + 1], owner[YG_NAME_MAX + 1];
			uint32_t mode;
			const uint8_t *bytes;
			size_t len;
		} keys;
		struct { char path[YG_CHAN_PATH_MAX + 1]; } wipe;
		struct { char path[YG_CHAN_PATH_MAX + 1]; uint16_t rows, cols; } wake;
		struct { uint64_t ns; } clock;
	} u;
} yg_chan_msg;

/* Encode m as a whole frame, header included, into buf (cap bytes): 0 with
 * *len set; -EINVAL (unknown type, bad stream for the type, a value out of
 * its range, a string too long or with... no NUL fits), -EMSGSIZE (DATA over
 * YG_CHAN_DATA_MAX, frame over YG_FRAME_MAX) or -ENOBUFS (cap too small).
 * EXEC encodes argv[0..argc-1] and envp[0..envc-1] (not strings[]). */
int yg_chan_encode(const yg_chan_msg *m, uint8_t *buf, size_t cap, size_t *len) YG_MUST_CHECK;
/* The same into a yg_frame_out (always big enough). */
int yg_chan_encode_frame(const yg_chan_msg *m, yg_frame_out *out) YG_MUST_CHECK;

/* Write the YG_CHAN_DATA_HDR bytes that precede len bytes of DATA at
 * buf + YG_CHAN_DATA_HDR (for reading straight into a frame): 0, or -EINVAL
 * (stream 0 or over YG_CHAN_STREAM_MAX, fd > 2), -EMSGSIZE (len too big). */
int yg_chan_data_header(uint8_t *buf, uint32_t stream, uint8_t fd, size_t len) YG_MUST_CHECK;

/* Decode one frame's type and payload (from yg_frame_next): 0 or -EPROTO.
 * Only the fields of that type are set (the struct is not cleared); after
 * -EPROTO its contents mean nothing. */
int yg_chan_decode(uint8_t type, const uint8_t *payload, size_t len, yg_chan_msg *m) YG_MUST_CHECK;

const char *yg_chan_type_name(uint8_t type);	/* "HELLO", ..., "unknown" */

/* Credit, one per direction of each stream, kept alike on both ends. The
 * sender takes credit for each DATA it sends; the receiver takes it for each
 * DATA it receives (false = the peer overran its window: a protocol error),
 * and, as it passes bytes on, sends WINDOW with what yg_chan_credit_passed
 * returns. On WINDOW the sender gives the credit back. */
typedef struct yg_chan_credit {
	uint64_t sent;		/* DATA bytes sent (received) so far */
	uint64_t granted;	/* sent may not pass this; starts at YG_CHAN_WINDOW */
	uint64_t passed;	/* receiver: passed on but not yet given back */
} yg_chan_credit;

void yg_chan_credit_init(yg_chan_credit *c);
/* Room for n more bytes? Then count them and return true; false changes nothing. */
bool yg_chan_credit_take(yg_chan_credit *c, size_t n);
/* A WINDOW of n arrived. false (nothing changed): it gives back more than was
 * sent, which is a protocol error. */
bool yg_chan_credit_give(yg_chan_credit *c, uint32_t n);
/* Bytes that may be sent now. */
size_t yg_chan_credit_room(const yg_chan_credit *c);
/* Receiver: n more bytes were passed on. Returns the WINDOW to send now, and
 * counts it as given (0: not yet; it waits until a quarter of the window is
 * owed, so that WINDOW frames stay rare). */
uint32_t yg_chan_credit_passed(yg_chan_credit *c, size_t n);

#endif
