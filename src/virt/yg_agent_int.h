/* SPDX-License-Identifier: MIT */
/* yg_agent_int.h: what yg_agent.c shares with yg_inject.c (not part of the
 * library's interface: include yg_agent.h elsewhere). */
#ifndef YG_AGENT_INT_H
#define YG_AGENT_INT_H

#include "yg_agent.h"

#define YG_AGENT_OP_TIMEOUT_S 10		/* one file/exec command */
#define YG_AGENT_EXEC_TIMEOUT_MS 10000ul	/* helper execs (mkdir, rm, ...) */

void yg_agent_wipe_mem(void *p, size_t n);

/* path is absolute: 0, or -EINVAL with "(fix inject_path)" in err. */
int yg_agent_check_path(const char *path, yg_err *err) YG_MUST_CHECK;

/* Run /bin/sh -c script yg args... (args NULL-terminated, at most 3) in
 * the guest and wait for it; *status is its exit code. */
int yg_agent_sh(yg_box *box, const char *script, const char *const args[], int *status,
		yg_err *err) YG_MUST_CHECK;

/* guest-file-open of path with mode ("r", "w", "r+"); *handle. */
int yg_agent_file_open(yg_box *box, const char *path, const char *mode, long long *handle,
		       yg_err *err) YG_MUST_CHECK;

/* guest-file-{flush,close} (op) on handle. */
int yg_agent_file_op(yg_box *box, const char *op, long long handle, yg_err *err);

/* guest-file-write of len bytes (a secret: never in err) at the current
 * offset of handle, in chunks; each command is built in locked memory. */
int yg_agent_file_write(yg_box *box, long long handle, const unsigned char *data, size_t len,
			yg_err *err) YG_MUST_CHECK;

/* guest-file-seek to offset 0 from whence ("set", "end"); *pos. */
int yg_agent_seek(yg_box *box, long long handle, const char *whence, long long *pos,
		  yg_err *err) YG_MUST_CHECK;

/* Open path "w", write len bytes, flush, close; err prefixed with path. */
int yg_agent_put(yg_box *box, const char *path, const void *data, size_t len,
		 yg_err *err) YG_MUST_CHECK;

#endif
