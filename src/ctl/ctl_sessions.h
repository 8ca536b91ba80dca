/* SPDX-License-Identifier: MIT */
/* ctl_sessions.h: yolo-gatectl sessions / end, and the reader of the
 * broker's run_dir/sessions/<id> records (also used by status). */
#ifndef YG_CTL_SESSIONS_H
#define YG_CTL_SESSIONS_H

#include <stdbool.h>

#include "yg_err.h"
#include "yg_rundir.h"

struct yg_ctl_session {
	char id[YG_SESSION_ID_LEN + 1];
	struct yg_rundir_session rec;	/* box, user, from, pid, times, record */
	bool alive;		/* rec.pid is the yolo-gated holding rec.box for this session */
};

/* Read run_dir/sessions/<id>: 0, -EINVAL (not a session id, or a malformed
 * record), -EPROTO (a record of another version), or -errno; err (may be
 * NULL) says which. */
int yg_ctl_session_read(const char *run_dir, const char *id,
			struct yg_ctl_session *out, yg_err *err) YG_MUST_CHECK;
/* Seconds until the session ends (idle or max, the earlier), -1 = no limit. */
long long yg_ctl_session_left(const struct yg_ctl_session *s, long long now);

int yg_ctl_sessions(int argc, char **argv) YG_MUST_CHECK;
int yg_ctl_end(int argc, char **argv) YG_MUST_CHECK;

#endif
