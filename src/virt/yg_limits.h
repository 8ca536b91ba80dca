/* SPDX-License-Identifier: MIT */
/* yg_limits.h: a box's resource limits, set through libvirt so that any
 * domain definition gets them:
 *
 *   cpu_quota N   <cputune><global_period>100000 <global_quota>N*1000: the
 *                 whole QEMU process (vCPUs, emulator and I/O threads) gets
 *                 at most N % of one host CPU; 0 = no limit.
 *   disk_iops     <iotune><total_iops_sec>, 0 = no limit
 *   disk_bps      <iotune><total_bytes_sec>, 0 = no limit
 *
 * vcpus, memory and the disk's virtual size are in the definition and the
 * overlay; they cannot change under a memory snapshot (yg_limits_diff says
 * which of them differ from what is wanted). */
#ifndef YG_LIMITS_H
#define YG_LIMITS_H

#include <stdbool.h>
#include <stddef.h>

#include "yg_domain.h"
#include "yg_err.h"

/* The scheduler period of cpu_quota (microseconds). */
#define YG_CPU_PERIOD_US 100000ULL

struct yg_limits {
	unsigned cpu_quota;		/* % of one host CPU, 0 = none */
	unsigned long disk_iops;	/* 0 = none */
	unsigned long long disk_bps;	/* 0 = none */
};

/* Apply lim to dom, whose disk is disk_path, in its persistent definition
 * and, with live, in the running (or paused) domain too.  Without live (a
 * new definition, which has no limits) a zero limit is left unset.  0 or
 * -errno with err. */
int yg_limits_apply(yg_dom *dom, const char *disk_path,
		    const struct yg_limits *lim, bool live, yg_err *err) YG_MUST_CHECK;

/* Compare what needs a new snapshot (vcpus, memory, the virtual size of
 * disk_path, the network of the interface; network NULL, "" or "none" =
 * no interface) between dom's persistent definition and the wanted values;
 * writes "vcpus 1 -> 2, ..." into what (empty when nothing differs).  0 or
 * -errno with err. */
int yg_limits_diff(yg_dom *dom, const char *disk_path, unsigned long vcpus,
		   unsigned long memory_mib, unsigned long long disk_bytes,
		   const char *network, char *what, size_t len, yg_err *err) YG_MUST_CHECK;

#endif
