/* ctl_limits.h: a box's resource limits from policy (issue #9): CPU quota
 * (<cputune> global_period/global_quota) and disk throttling (<iotune>),
 * set through libvirt so that any template gets them. */
#ifndef YG_CTL_LIMITS_H
#define YG_CTL_LIMITS_H

#include <libvirt/libvirt.h>

#include "yg_err.h"
#include "yg_policy.h"

/* The scheduler period provision uses (microseconds). */
#define YG_CTL_CPU_PERIOD_US 100000ULL

/* Apply up's cpu_quota, disk_iops and disk_bps to dom, whose disk is
 * disk_path.  flags: VIR_DOMAIN_AFFECT_CONFIG and/or _LIVE; with CONFIG
 * alone (a new definition, which has no limits) a zero limit is left
 * unset.  0 or -errno with err. */
int yg_ctl_limits_apply(virDomainPtr dom, const char *disk_path,
			const yg_user_policy *up, unsigned int flags,
			yg_err *err);

/* Compare what needs a new snapshot (vcpus, memory, disk virtual size,
 * network) between dom and the wanted values; writes "vcpus 1 -> 2, ..."
 * into what (empty when nothing differs).  0 or -errno with err. */
int yg_ctl_limits_diff(virDomainPtr dom, const char *overlay,
		       unsigned long vcpus, unsigned long memory_mib,
		       unsigned long long disk_bytes, const char *network,
		       char *what, size_t len, yg_err *err);

#endif
