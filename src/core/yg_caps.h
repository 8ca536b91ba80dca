/* SPDX-License-Identifier: MIT */
/* yg_caps.h: privileges, with libcap-ng. */
#ifndef YG_CAPS_H
#define YG_CAPS_H

#include <stdbool.h>

#include "yg_err.h"

/* Broker start-up as root: switch to user (its groups from NSS, libvirt
 * included), clear every capability and the bounding set, set no_new_privs.
 * Not root: only verifies that no capability is held, and sets no_new_privs. */
int yg_caps_drop_to(const char *user, yg_err *err) YG_MUST_CHECK;

/* Clients (yolo-shell): refuse when running setuid/setgid (AT_SECURE) or with
 * any capability in the effective, permitted or ambient set. */
int yg_caps_refuse_privileged(yg_err *err) YG_MUST_CHECK;

/* True when the process holds no capability at all (effective, permitted). */
bool yg_caps_none(void);

#endif
