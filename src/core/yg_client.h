/* SPDX-License-Identifier: MIT */
/* yg_client.h: the client side of the broker protocol, for every client
 * (yolo-shell, pam_yolo_gate.so, the test clients).
 *
 * One connection, then one typed call per request, the way OpenSSH's
 * monitor_wrap.c has one stub per monitor request:
 *
 *     yg_client_connect    connect (non-blocking, bounded) + HELLO both ways
 *     yg_client_account    ACCOUNT(user)          -> POLICY
 *     yg_client_prepare    PREPARE(user, from)    -> SESSION
 *     yg_client_release    RELEASE(session)       -> EXIT
 *     yg_client_open       OPEN(mode, term, ...)  -> READY, the connection
 *                          then carries the relay (c->fd, c->in)
 *     yg_client_run        RUN(command, ...)      -> READY, then the command's
 *                          streams (DATA, STDERR, EXIT; EOF and SIGNAL out)
 *     yg_client_close
 *
 * PROGRESS frames before an answer go to cfg.progress. Every wait is bounded:
 * cfg.timeout_ms bounds the whole connection from connect on (the PAM
 * module's timeout=), cfg.idle_ms bounds each single wait for the broker
 * (yolo-shell: the longest silence while a box is prepared); -1 = no bound.
 * The socket stays non-blocking; writes never raise SIGPIPE.
 *
 * Every call returns 0 or a negative errno and fills err with a sentence for
 * the user: what failed and what to do. Besides the transport errors:
 *   -EREMOTEIO       the broker answered ERROR: c->refusal holds its code and
 *                    text, err the text (or a sentence when it is empty)
 *   -EPROTONOSUPPORT the broker speaks another protocol version
 *   -EBADMSG         the broker answered with a message of the wrong type
 *   -ECONNABORTED    (yg_client_open) the broker ended the session with EXIT
 *                    before READY: c->ended holds its status and reason
 *   -EPROTO          a malformed frame
 *   -EINVAL          a request field too long for the protocol (nothing sent)
 * yg_client_unreachable() says which results mean "the broker is down".
 */
#ifndef YG_CLIENT_H
#define YG_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "yg_err.h"
#include "yg_proto.h"

#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif
#define YG_CLIENT_SOCKET RUNSTATEDIR "/yolo-gate/gated.sock"

typedef void (*yg_client_progress_fn)(void *ctx, const char *text);

typedef struct yg_client_cfg {
	const char *socket;	/* NULL or "" = YG_CLIENT_SOCKET */
	const char *name;	/* the program, for HELLO ("NAME VERSION") and messages */
	int timeout_ms;		/* bound on the whole connection; -1 = none */
	int idle_ms;		/* bound on each wait for the broker; -1 = none */
	yg_client_progress_fn progress;	/* PROGRESS text; may be NULL */
	void *progress_ctx;
} yg_client_cfg;

typedef struct yg_client_exit {
	uint32_t status;
	char reason[YG_TEXT_MAX + 1];
} yg_client_exit;

typedef struct yg_client {
	int fd;			/* -1 when not connected */
	bool reached;		/* the socket connected (any failure came later) */
	yg_frame_in *in;	/* frames read ahead (DATA after READY): the relay's reader */
	char broker[YG_NAME_MAX + 1];	/* the broker's HELLO peer */
	struct {		/* the last ERROR answer (-EREMOTEIO) */
		uint32_t code;	/* YG_ERR_*, 0 = none */
		char text[YG_TEXT_MAX + 1];
	} refusal;
	yg_client_exit ended;	/* EXIT before READY (-ECONNABORTED) */
	/* private */
	char name[YG_NAME_MAX + 1];
	int timeout_ms, idle_ms;
	uint64_t deadline;	/* yg_now_ms() bound from timeout_ms, 0 = none */
	yg_client_progress_fn progress;
	void *progress_ctx;
} yg_client;

typedef struct yg_client_policy {
	bool gated;		/* a policy names this user */
	bool enabled;		/* and lets them in now */
	char text[YG_TEXT_MAX + 1];	/* the broker's message, may be "" */
} yg_client_policy;

typedef struct yg_client_open_req {
	bool tty;		/* YG_OPEN_TTY, else YG_OPEN_PLAIN */
	const char *term;	/* NULL = "" */
	uint16_t rows, cols;
	const char *box;	/* NULL or "" = the caller's own */
	const char *session;	/* NULL or "" = none; else PAM's PREPARE id */
} yg_client_open_req;

typedef struct yg_client_ready {
	char session[YG_SESSION_MAX + 1];
	char box[YG_NAME_MAX + 1];
	uint16_t escape;	/* YG_ESCAPE_NONE = none */
} yg_client_ready;

/* Connect to cfg->socket and exchange HELLOs. On failure the socket is
 * closed again (c->fd = -1) but c stays readable (its refusal after
 * -EREMOTEIO); yg_client_close(c) is always safe afterwards. */
int yg_client_connect(yg_client *c, const yg_client_cfg *cfg, yg_err *err) YG_MUST_CHECK;

/* Close the socket and free the reader; may be called again, or on a c
 * whose connect failed. */
void yg_client_close(yg_client *c);

int yg_client_account(yg_client *c, const char *user, yg_client_policy *out, yg_err *err) YG_MUST_CHECK;

/* session gets the id (1..YG_SESSION_MAX bytes, as the broker sent it: the
 * caller checks it before it puts it anywhere). from may be NULL. */
int yg_client_prepare(yg_client *c, const char *user, const char *from,
		      char session[YG_SESSION_MAX + 1], yg_err *err) YG_MUST_CHECK;

int yg_client_release(yg_client *c, const char *session, yg_client_exit *out, yg_err *err) YG_MUST_CHECK;

/* OPEN, then PROGRESS... until READY. DATA may already wait in c->in. */
int yg_client_open(yg_client *c, const yg_client_open_req *req, yg_client_ready *ready,
		   yg_err *err) YG_MUST_CHECK;

/* RUN: command (or, with subsystem "sftp", none) in the box, with a pty
 * when req->tty; PROGRESS... until READY, like yg_client_open. */
int yg_client_run(yg_client *c, const yg_client_open_req *req, const char *subsystem,
		  const char *command, yg_client_ready *ready, yg_err *err) YG_MUST_CHECK;

/* True when r (from a yg_client call) means the broker is down or silent: no
 * socket, refused, timed out, or hung up before answering. */
bool yg_client_unreachable(int r);

#endif
