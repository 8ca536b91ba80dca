/* SPDX-License-Identifier: MIT */
/* ctl.h: yolo-gatectl subcommands.  Each subcommand lives in its own file
 * (ctl_<name>.c) and is listed in the table in ctl.c.  A subcommand gets
 * argv starting at its own name and returns the process exit status:
 * 0 success, 1 failure (problems found), 2 usage error.
 *
 * Progress lines and errors go to stderr, data (status, keys list) to
 * stdout. */
#ifndef YG_CTL_H
#define YG_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "yg_box.h"
#include "yg_domain.h"
#include "yg_err.h"
#include "yg_path.h"
#include "yg_policy.h"
#include "yg_rundir.h"
#include "yg_time.h"

#define YG_CTL_EXIT_OK 0
#define YG_CTL_EXIT_FAIL 1
#define YG_CTL_EXIT_USAGE 2

struct yg_ctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;  /* arguments after the name */
	const char *help;   /* one line */
};

/* Print the usage of one subcommand (or all when cmd is NULL) on stderr
 * and return YG_CTL_EXIT_USAGE. */
int yg_ctl_usage(const char *cmd);

int yg_ctl_check(int argc, char **argv) YG_MUST_CHECK;
int yg_ctl_provision(int argc, char **argv) YG_MUST_CHECK;
int yg_ctl_deprovision(int argc, char **argv) YG_MUST_CHECK;
int yg_ctl_status(int argc, char **argv) YG_MUST_CHECK;
int yg_ctl_revert(int argc, char **argv) YG_MUST_CHECK;
int yg_ctl_sweep(int argc, char **argv) YG_MUST_CHECK;
int yg_ctl_keys(int argc, char **argv) YG_MUST_CHECK;
int yg_ctl_image(int argc, char **argv) YG_MUST_CHECK;

/* ---- shared helpers (ctl_util.c) ----------------------------------- */

/* Where provision puts overlays unless --images (or the host's images =)
 * says otherwise: the policy's default, one constant for both. */
#define YG_CTL_IMAGES_DIR YG_POLICY_DEFAULT_IMAGES

/* A set of names (users seen once): add returns 1 when name is new (copied
 * in), 0 when it was there, -ENOMEM; free empties it. */
struct yg_ctl_names {
	char **v;
	size_t n, cap;
};
int yg_ctl_names_add(struct yg_ctl_names *s, const char *name) YG_MUST_CHECK;
void yg_ctl_names_free(struct yg_ctl_names *s);

/* "yolo-gatectl CMD: message" on stderr; returns YG_CTL_EXIT_FAIL. */
int yg_ctl_errf(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same with the message of err. */
int yg_ctl_fail(const char *cmd, const yg_err *err);

/* Load the policy of confdir (NULL = default); diagnostics are printed.
 * Returns 0 or YG_CTL_EXIT_FAIL. */
int yg_ctl_policy_load(const char *cmd, const char *confdir, yg_policy **out) YG_MUST_CHECK;
/* Effective policy of user, who must exist and be gated.  Clear *up in
 * every case.  Returns 0 or YG_CTL_EXIT_FAIL (printed). */
int yg_ctl_user(const char *cmd, const yg_policy *pol, const char *user,
		yg_user_policy *up) YG_MUST_CHECK;
/* Connect to the policy's libvirt URI; a permission problem is explained
 * ("CMD needs access to URI: run as root or as a member of group
 * libvirt").  Returns 0 or YG_CTL_EXIT_FAIL (printed).  Close it with
 * yg_conn_close. */
int yg_ctl_connect(const char *cmd, const yg_policy *pol, virConnectPtr *out) YG_MUST_CHECK;
/* The same for a [host:] of the policy (NULL or "local": [gate] uri); a
 * remote host that does not answer within YG_CTL_HOST_CONNECT_MS is "host
 * NAME is unreachable: ...". */
#define YG_CTL_HOST_CONNECT_MS 10000u
int yg_ctl_connect_host(const char *cmd, const yg_policy *pol, const char *host,
			virConnectPtr *out) YG_MUST_CHECK;
/* One connection per host of the policy, opened on first use: what the
 * subcommands over every box (status, sweep) use. An unreachable host is
 * reported once (stderr) and affects only its own boxes. */
struct yg_ctl_host {
	bool tried;
	virConnectPtr conn;		/* NULL: not open (error says why) */
	char error[YG_ERR_MSG_MAX];
	unsigned boxes, busy;		/* for a per-host summary */
};
struct yg_ctl_conns {
	const char *cmd;
	const yg_policy *pol;
	size_t n;			/* yg_policy_nhosts */
	struct yg_ctl_host *h;		/* [i]: yg_policy_host_at(pol, i) */
};
int yg_ctl_conns_init(struct yg_ctl_conns *c, const char *cmd, const yg_policy *pol) YG_MUST_CHECK;
/* host's entry (NULL: not in the policy). */
struct yg_ctl_host *yg_ctl_conns_host(struct yg_ctl_conns *c, const char *host);
/* host's connection, or NULL with *why. */
virConnectPtr yg_ctl_conns_get(struct yg_ctl_conns *c, const char *host, const char **why);
void yg_ctl_conns_close(struct yg_ctl_conns *c);
/* The [gate] service_user's uid and gid; a missing user is an error that
 * says how to fix it.  0 or -ENOENT with err set. */
int yg_ctl_service_user(const yg_policy *pol, uid_t *uid, gid_t *gid,
			yg_err *err) YG_MUST_CHECK;

/* Progress of one step: begin prints "CMD: what ...", end prints the time
 * it took (" 4.2 s") or " failed". */
struct yg_ctl_step {
	uint64_t t0;
};
void yg_ctl_step_begin(struct yg_ctl_step *s, const char *cmd,
		       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void yg_ctl_step_end(struct yg_ctl_step *s, int rc);

/* ---- box locks (ctl_lock.c) ---------------------------------------- */

/* Who holds a box, from the lock record in its lock file (yg_rundir.h). */
struct yg_ctl_holder {
	bool busy;		/* a process holds the flock */
	bool held;		/* ... only to keep the box's console open (console_hold) */
	bool known;		/* the fields below come from a record */
	long long since;	/* epoch seconds */
	char session[YG_RUNDIR_HOLDER_MAX + 1];	/* a session id or "yolo-gatectl" */
	int pid;
	long last_revert_ms;	/* -1 unknown */
	char problem[YG_ERR_MSG_MAX];	/* why a record is not known ("" = none) */
};

/* Probe the lock of domain on host (NULL or "local": the gate's own
 * libvirt; yg_rundir_box_key) without taking it.  A missing lock
 * file is a free box.  0 or -errno (with err). */
int yg_ctl_lock_probe(const char *run_dir, const char *host, const char *domain,
		      struct yg_ctl_holder *h, yg_err *err) YG_MUST_CHECK;
/* Take the lock for an admin operation.  Returns an fd (>= 0) to close
 * when done, -1 when there is no boxes directory (no broker ever ran:
 * nothing to lock against), -EWOULDBLOCK with *h filled when a session
 * holds the box, or another -errno with err. */
int yg_ctl_lock_take(const char *run_dir, const char *host, const char *domain,
		     const yg_policy *pol, struct yg_ctl_holder *h,
		     yg_err *err) YG_MUST_CHECK;
/* Record in the held lock fd how long an admin revert took (ms). */
void yg_ctl_lock_note_revert(int fd, long ms);
/* "session S (pid P) since YYYY-MM-DD HH:MM:SS", or "another process", with
 * why its record could not be read if it is not just empty. */
void yg_ctl_holder_text(const struct yg_ctl_holder *h, char *buf,
			size_t len);

/* ---- box operations (ctl_box.c) ------------------------------------ */

/* Revert the box of up to its snapshot, left paused, under the box lock.
 * only_dirty: leave a provably clean box alone (sweep).  A box a session
 * holds is refused with a message.  Returns YG_CTL_EXIT_OK,
 * YG_CTL_EXIT_FAIL (printed) or -EWOULDBLOCK (busy, printed). */
int yg_ctl_revert_box(const char *cmd, const yg_policy *pol,
		      virConnectPtr conn, const yg_user_policy *up,
		      bool only_dirty) YG_MUST_CHECK;
/* The overlay of a box is the volume <domain>.qcow2 of the libvirt
 * storage pool of images_dir (yg_volume.h).  Its path,
 * images_dir/<domain>.qcow2, into buf; -ENAMETOOLONG with err. */
int yg_ctl_overlay_path(char *buf, size_t len, const char *images_dir,
			const char *domain, yg_err *err) YG_MUST_CHECK;
/* Delete the overlay of domain through the pool of images_dir; no pool or
 * no such volume is success with *existed false. */
int yg_ctl_overlay_remove(virConnectPtr conn, const char *images_dir,
			  const char *domain, bool *existed, yg_err *err) YG_MUST_CHECK;

/* Every user the policy gives a box: [user:] names and the members of
 * [group:] groups (primary and supplementary), each once, in policy
 * order.  fn is called for each; stops at a non-zero result. */
int yg_ctl_each_user(const yg_policy *pol,
		     int (*fn)(void *ctx, const char *user), void *ctx) YG_MUST_CHECK;

/* ---- gated users and sshd (ctl_sshd.c) ------------------------------ */

/* The group the shipped sshd snippet closes forwarding for. */
#define YG_CTL_SSH_GROUP "yolo-users"
#define YG_CTL_SSHD "/usr/sbin/sshd"

/* Warn ("warning: ..." on stderr) about every gated user (user, or when
 * NULL: every user the policy gives a box and every user whose login shell
 * is yolo-shell) who is not in YG_CTL_SSH_GROUP, or whom `sshd -T -C`
 * (sshd_config: NULL = sshd's default) would let forward or give a shell
 * other than yolo-shell.  When sshd -T cannot run, one "note:" on stdout
 * says so.  Returns the number of warnings, or -ENOMEM. */
int yg_ctl_check_sshd(const yg_policy *pol, const char *user,
		      const char *sshd_config) YG_MUST_CHECK;

#endif
