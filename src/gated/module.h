/* SPDX-License-Identifier: MIT */
/* module.h: yolo-gated-session.so, everything of the broker that talks to
 * libvirt.
 *
 * The listening parent (main.c) maps neither libvirt nor the libraries
 * libvirt pulls in (glib, gnutls, libxml2, ...): idle, the broker holds
 * only its own few pages. A child forked for a connection, or for the
 * cleanup of a dead session's box, dlopen()s this module after the fork
 * and calls one of its two entries, which never return.
 *
 * The module carries its own copies of libygcore and libygpolicy (linked
 * with -Bsymbolic, only the entries exported), so the parent hands over
 * what its copy holds: the log settings, the policy and the gate. The
 * policy and the gate are used by both copies, so both must come from one
 * build: the module's yg_gd_module_build must equal the parent's
 * YG_GD_MODULE_BUILD, or the child refuses to enter it.
 */
#ifndef YG_GD_MODULE_H
#define YG_GD_MODULE_H

#include <sys/types.h>

#include "yg_log.h"
#include "yg_policy.h"

#define YG_GD_MODULE_NAME "yolo-gated-session.so"
/* bump with any change to struct yg_gd_entry */
#define YG_GD_MODULE_BUILD PACKAGE_VERSION " entry 2"

struct yg_gd_gate;
struct yg_rundir_session;

struct yg_gd_entry {
	const char *log_ident;
	enum yg_log_target log_target;
	enum yg_log_level log_level;
	yg_policy *pol;
	const struct yg_gd_gate *gate;
	/* yg_gd_module_session: the accepted connection and its peer */
	int fd;
	uid_t uid;
	pid_t pid;
	/* where the policy came from, and the parent's reload count (access.c) */
	const char *confdir;
	volatile unsigned *policy_gen;
	/* yg_gd_module_cleanup: what yg_gd_cleanup_main takes */
	const struct yg_rundir_session *rec;
	const char *session;
	int status;
};

typedef void (*yg_gd_entry_fn)(const struct yg_gd_entry *e);

extern const char yg_gd_module_build[];
/* yg_gd_session_main(e->fd, e->uid, e->pid, e->pol, e->gate) */
void yg_gd_module_session(const struct yg_gd_entry *e) __attribute__((noreturn));
/* yg_gd_cleanup_main(e->rec, e->session, e->status, e->pol, e->gate) */
void yg_gd_module_cleanup(const struct yg_gd_entry *e) __attribute__((noreturn));

#endif
