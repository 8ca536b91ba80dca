/* SPDX-License-Identifier: MIT */
/* yg_nodump.h: keep a process that holds secrets out of core dumps and
 * away from same-uid debuggers. */
#ifndef YG_NODUMP_H
#define YG_NODUMP_H

#include "yg_err.h"

/* prctl(PR_SET_DUMPABLE, 0) and RLIMIT_CORE 0 (soft and hard): no core
 * file, and /proc/PID/{mem,environ,maps,...} and ptrace are root's only
 * (the files belong to root:root). Also removes LIBVIRT_DEBUG,
 * LIBVIRT_LOG_FILTERS and LIBVIRT_LOG_OUTPUTS from the environment, with a
 * warning in the log: libvirt's client library logs agent commands (the
 * keys) at debug level; call it before the first libvirt call. Not inherited across a change of uid
 * (the kernel resets it to fs.suid_dumpable): call it after the privilege
 * drop; a fork inherits both. 0, or -errno with err set. */
int yg_nodump(yg_err *err) YG_MUST_CHECK;

#endif
