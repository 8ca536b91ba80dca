/* SPDX-License-Identifier: MIT */
/* yg_clock.h: the guest clock of a box, set from the host.
 *
 * After a revert the guest's clock is the snapshot's (minutes, or a week,
 * behind), and TLS and request signing fail on skew. libvirt's
 * virDomainSetTime with VIR_DOMAIN_TIME_SYNC asks the guest agent for
 * guest-set-time without a time: the guest reads its RTC (QEMU's, which
 * follows the host) with `hwclock -s`. Bounded: the domain's agent
 * response timeout is set to YG_CLOCK_TIMEOUT_S first (libvirt's own agent
 * calls on that domain, not virDomainQemuAgentCommand, keep that bound).
 */
#ifndef YG_CLOCK_H
#define YG_CLOCK_H

#include <libvirt/libvirt.h>

#include "yg_box.h"
#include "yg_err.h"

#define YG_CLOCK_TIMEOUT_S 10

/* Set the running box's clock from its RTC (guest-set-time). -ETIMEDOUT
 * when the agent does not answer within YG_CLOCK_TIMEOUT_S (plus libvirt's
 * guest-sync), -ENOTSUP when the guest cannot (no hwclock: the error says
 * what to install), another -errno with err otherwise. */
int yg_box_set_time(yg_box *box, yg_err *err) YG_MUST_CHECK;

/* The same on a bare domain named name (image check has no box). */
int yg_clock_sync_domain(virDomainPtr dom, const char *name, yg_err *err) YG_MUST_CHECK;

#endif
