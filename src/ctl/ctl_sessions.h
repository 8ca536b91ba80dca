/* ctl_sessions.h: yolo-gatectl sessions / end, and the reader of the
 * broker's run_dir/sessions/<id> files (also used by status). */
#ifndef YG_CTL_SESSIONS_H
#define YG_CTL_SESSIONS_H

#include <stdbool.h>

struct yg_ctl_session {
	char id[17];
	char box[65];
	char user[65];
	char from[65];		/* "-" when not known */
	char record[128];	/* .cast file name, "-" when not recording */
	int pid;
	bool alive;		/* pid is a live yolo-gated */
	long long started, last_active, idle_end, max_end; /* wall s, 0 = none */
};

/* Read run_dir/sessions/<id>.  0, -EINVAL (not a session id), or -errno. */
int yg_ctl_session_read(const char *run_dir, const char *id,
			struct yg_ctl_session *out);
/* Seconds until the session ends (idle or max, the earlier), -1 = no limit. */
long long yg_ctl_session_left(const struct yg_ctl_session *s, long long now);

int yg_ctl_sessions(int argc, char **argv);
int yg_ctl_end(int argc, char **argv);

#endif
