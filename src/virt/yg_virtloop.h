/* SPDX-License-Identifier: MIT */
/* yg_virtloop.h: yg_loop (src/core/yg_loop.h) on libvirt's default event
 * loop, so that libvirt streams (the console endpoint, yg_console.h) and the
 * connection's keepalive run in the same loop as the relay's fds and timers. */
#ifndef YG_VIRTLOOP_H
#define YG_VIRTLOOP_H

#include "yg_err.h"
#include "yg_loop.h"

extern const struct yg_loop_impl yg_virtloop;

/* virEventRegisterDefaultImpl, then yg_loop_select(&yg_virtloop). Call it
 * once, before the first yg_conn_open. 0 or -errno (err says why). */
int yg_virtloop_register(yg_err *err) YG_MUST_CHECK;

#endif
