/* SPDX-License-Identifier: MIT */
/* clients.c: the parent's count of its session children, per uid and in
 * total, so that no user can take every child the host can give (and lock
 * everyone, admins included, out of ssh: sshd's PAM stack needs a child for
 * ACCOUNT). A connection is counted before the fork; uid 0 (the PAM module
 * in sshd, login, su: ACCOUNT, PREPARE, RELEASE) is never refused and is not
 * held against anyone's share, though it counts towards the total.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yg_log.h"
#include "yg_time.h"
#include "gated.h"

struct child {
	pid_t pid;
	uid_t uid;
};

static struct child *kids;
static size_t nkids, capkids;
static uint64_t refused_at;	/* when the last refusal was logged (ms) */
static unsigned long refused_quiet;	/* refusals not logged since */

static size_t count_uid(uid_t uid)
{
	size_t n = 0;

	for (size_t i = 0; i < nkids; i++)
		n += kids[i].uid == uid;
	return n;
}

int yg_gd_clients_admit(const struct yg_gd_gate *g, uid_t uid, char *why, size_t len)
{
	if (uid == 0)
		return 0;
	if (g->max_clients_per_user && count_uid(uid) >= g->max_clients_per_user) {
		snprintf(why, len, "you already have %u connections to the gate "
			 "(the most one user may have: [gate] max_clients_per_user); "
			 "close some and try again", g->max_clients_per_user);
		return -EUSERS;
	}
	if (g->max_clients && nkids >= g->max_clients) {
		snprintf(why, len, "the gate is serving its most connections (%u, [gate] "
			 "max_clients); try again in a moment", g->max_clients);
		return -EAGAIN;
	}
	return 0;
}

int yg_gd_clients_add(pid_t pid, uid_t uid)
{
	if (nkids == capkids) {
		size_t cap = capkids ? 2 * capkids : 64;
		struct child *k = realloc(kids, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		kids = k;
		capkids = cap;
	}
	kids[nkids].pid = pid;
	kids[nkids].uid = uid;
	nkids++;
	return 0;
}

void yg_gd_clients_remove(pid_t pid)
{
	for (size_t i = 0; i < nkids; i++)
		if (kids[i].pid == pid) {
			kids[i] = kids[--nkids];
			return;
		}
}

size_t yg_gd_clients_count(void)
{
	return nkids;
}

/* One line a second at most, however fast refusals come: a flood of
 * connections must not become a flood of log lines. */
void yg_gd_clients_log_refusal(uid_t uid, int why)
{
	uint64_t now = yg_now_ms();
	char u[16], quiet[24], total[24];

	if (refused_at && now - refused_at < 1000) {
		refused_quiet++;
		return;
	}
	snprintf(u, sizeof(u), "%u", (unsigned)uid);
	snprintf(quiet, sizeof(quiet), "%lu", refused_quiet);
	snprintf(total, sizeof(total), "%zu", nkids);
	yg_log(YG_LOG_WARNING, "event", "refused", "uid", u, "reason",
	       why == -EUSERS ? "max_clients_per_user" : "max_clients", "children", total,
	       "not_logged_since_last", quiet, NULL);
	refused_at = now;
	refused_quiet = 0;
}
