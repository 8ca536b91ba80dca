/* SPDX-License-Identifier: MIT */
/* module.c: the two entries of yolo-gated-session.so (module.h). */
#include "config.h"

#include "gated.h"
#include "module.h"

const char yg_gd_module_build[] = YG_GD_MODULE_BUILD;

void yg_gd_module_session(const struct yg_gd_entry *e)
{
	yg_log_open(e->log_ident, e->log_target, e->log_level);
	yg_gd_policy_origin(e->confdir, e->policy_gen);
	yg_gd_session_main(e->fd, e->uid, e->pid, e->pol, e->gate);
}

void yg_gd_module_cleanup(const struct yg_gd_entry *e)
{
	yg_log_open(e->log_ident, e->log_target, e->log_level);
	yg_gd_cleanup_main(e->rec, e->session, e->status, e->pol, e->gate);
}
