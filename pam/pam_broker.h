/* pam_broker.h: one request/reply exchange with yolo-gated, bounded in time.
 *
 * connect (non-blocking) -> HELLO both ways -> request -> first reply that is
 * not PROGRESS -> close. Everything, connect included, must finish within
 * timeout_ms. Writes use send(MSG_NOSIGNAL): the module lives in sshd and must
 * not raise SIGPIPE there.
 */
#ifndef YG_PAM_BROKER_H
#define YG_PAM_BROKER_H

#include <stdbool.h>

#include "yg_err.h"
#include "yg_proto.h"

/* Returns 0 with *reply set (which may be an ERROR message), or a negative
 * errno with err filled: see yg_pam_broker_down() for which of them mean the
 * broker could not be reached, the rest are protocol faults. */
int yg_pam_broker_call(const char *socket_path, int timeout_ms, const yg_msg *req,
		       yg_msg *reply, yg_err *err);

/* True when r (from yg_pam_broker_call) means the broker is down or silent:
 * no socket, refused, timed out, or hung up before answering. */
bool yg_pam_broker_down(int r);

/* A session id is safe to put in the environment and in logs: 1..40 of
 * [A-Za-z0-9._-]. */
bool yg_pam_session_id_valid(const char *id);

#endif
