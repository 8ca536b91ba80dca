/* SPDX-License-Identifier: MIT */
/* yg_clock.c: the guest clock from the host, see yg_clock.h */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "yg_clock.h"

int yg_clock_sync_domain(virDomainPtr dom, const char *name, yg_err *err)
{
	virErrorPtr e;
	yg_err why;
	int rc;

	/* Without this bound libvirt waits for guest-set-time forever. An
	 * older libvirt (or a driver without it) keeps its default. */
	if (virDomainAgentSetResponseTimeout(dom, YG_CLOCK_TIMEOUT_S, 0) < 0) {
		e = virGetLastError();
		if (!e || (e->code != VIR_ERR_NO_SUPPORT &&
			   e->code != VIR_ERR_OPERATION_UNSUPPORTED))
			return yg_box_virt_err(err, "cannot bound the guest agent of box %s to "
					       "%d s", name, YG_CLOCK_TIMEOUT_S);
	}
	if (virDomainSetTime(dom, 0, 0, VIR_DOMAIN_TIME_SYNC) == 0)
		return 0;
	e = virGetLastError();
	rc = yg_box_virt_err(&why, "cannot set the clock of box %s from the host "
			     "(guest-set-time)", name);
	if (e && e->message && strstr(e->message, "hwclock"))
		return yg_err_set(err, -ENOTSUP, "%s; install hwclock in the guest "
				  "(Debian: util-linux-extra)", why.msg);
	if (e && e->code == VIR_ERR_AGENT_UNRESPONSIVE)
		return yg_err_set(err, -ETIMEDOUT, "%s; the guest agent did not answer "
				  "within %d s", why.msg, YG_CLOCK_TIMEOUT_S);
	return yg_err_set(err, rc, "%s", why.msg);
}

int yg_box_set_time(yg_box *box, yg_err *err)
{
	return yg_clock_sync_domain(yg_box_domain(box), yg_box_name(box), err);
}
