/* SPDX-License-Identifier: MIT */
/* boxd_spawn.h: starting one EXEC (boxd_spawn.c). */
#ifndef BOXD_SPAWN_H
#define BOXD_SPAWN_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "boxd.h"

struct boxd_user {
	char name[YG_NAME_MAX + 1];
	uid_t uid;
	gid_t gid;
	char home[PATH_MAX];
	char shell[PATH_MAX];
};

/* What FAILED tells the host. */
struct boxd_fail {
	uint32_t code;		/* YG_CHAN_E_* */
	char text[YG_TEXT_MAX + 1];
};

/* getpwnam: 0, -ENOENT (no such user) or another -errno. */
int boxd_user(const char *name, struct boxd_user *u);
/* "NAME=value" with a shell variable name */
bool boxd_env_ok(const char *e);
/* Start m's command as u; on success s gets pid and fds (non-blocking).
 * Returns 0, or -1 with f filled in. */
int boxd_spawn(const yg_chan_msg *m, const struct boxd_user *u, struct boxd_stream *s,
	       struct boxd_fail *f);

#endif
