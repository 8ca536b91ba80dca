/* ctl_limits.c: a box's resource limits from policy, applied through
 * libvirt (see ctl_limits.h).
 *
 *   cpu_quota N   <cputune><global_period>100000 <global_quota>N*1000: the
 *                 whole QEMU process (vCPUs, emulator and I/O threads) gets
 *                 at most N % of one host CPU; 0 = no limit.
 *   disk_iops     <iotune><total_iops_sec>, 0 = no limit
 *   disk_bps      <iotune><total_bytes_sec>, 0 = no limit
 *
 * vcpus, memory and the disk's virtual size are in the template and the
 * overlay; they cannot change under a memory snapshot. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_limits.h"
#include "yg_box.h"

int yg_ctl_limits_apply(virDomainPtr dom, const char *disk_path,
			const yg_user_policy *up, unsigned int flags,
			yg_err *err)
{
	virTypedParameterPtr par = NULL;
	int n = 0, max = 0, rc = 0;
	/* libvirt: a negative quota is "no limit" */
	long long quota = up->cpu_quota ?
			  (long long)up->cpu_quota * 1000 : -1;
	/* a new definition has no limits: "no limit" needs no call */
	bool fresh = !(flags & VIR_DOMAIN_AFFECT_LIVE);

	if (fresh && !up->cpu_quota)
		goto io;
	if (virTypedParamsAddULLong(&par, &n, &max,
				    VIR_DOMAIN_SCHEDULER_GLOBAL_PERIOD,
				    YG_CTL_CPU_PERIOD_US) < 0 ||
	    virTypedParamsAddLLong(&par, &n, &max,
				   VIR_DOMAIN_SCHEDULER_GLOBAL_QUOTA,
				   quota) < 0)
		rc = yg_err_set(err, -ENOMEM, "out of memory");
	if (rc == 0 && virDomainSetSchedulerParametersFlags(dom, par, n,
							    flags) < 0)
		rc = yg_box_virt_err(err, "cannot set the CPU quota (%u %%) "
				     "of box %s; cputune needs the cgroup cpu "
				     "controller", up->cpu_quota,
				     virDomainGetName(dom));
	virTypedParamsFree(par, n);
	if (rc)
		return rc;
io:
	if (fresh && !up->disk_iops && !up->disk_bps)
		return 0;
	par = NULL;
	n = max = 0;
	if (virTypedParamsAddULLong(&par, &n, &max,
				    VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_IOPS_SEC,
				    up->disk_iops) < 0 ||
	    virTypedParamsAddULLong(&par, &n, &max,
				    VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_BYTES_SEC,
				    up->disk_bps) < 0)
		rc = yg_err_set(err, -ENOMEM, "out of memory");
	if (rc == 0 && virDomainSetBlockIoTune(dom, disk_path, par, n,
					       flags) < 0)
		rc = yg_box_virt_err(err, "cannot set the disk limits of box "
				     "%s on %s", virDomainGetName(dom),
				     disk_path);
	virTypedParamsFree(par, n);
	return rc;
}

static void add(char *what, size_t len, const char *key, const char *unit,
		unsigned long long have, unsigned long long want)
{
	size_t used = strlen(what);

	if (have == want || used + 1 >= len)
		return;
	snprintf(what + used, len - used, "%s%s %llu%s -> %llu%s",
		 used ? ", " : "", key, have, unit, want, unit);
}

int yg_ctl_limits_diff(virDomainPtr dom, const char *overlay,
		       unsigned long vcpus, unsigned long memory_mib,
		       unsigned long long disk_bytes, const char *network,
		       char *what, size_t len, yg_err *err)
{
	char want_src[128], *xml, *src;
	virDomainBlockInfo bi;
	int nv;
	unsigned long mem;
	bool has_if, want_if = network && network[0] &&
			       strcmp(network, "none");

	what[0] = '\0';
	nv = virDomainGetVcpusFlags(dom, VIR_DOMAIN_AFFECT_CONFIG |
				    VIR_DOMAIN_VCPU_MAXIMUM);
	mem = virDomainGetMaxMemory(dom);
	if (nv < 0 || mem == 0 ||
	    virDomainGetBlockInfo(dom, overlay, &bi, 0) < 0)
		return yg_box_virt_err(err, "cannot read the size of box %s",
				       virDomainGetName(dom));
	add(what, len, "vcpus", "", (unsigned long long)nv, vcpus);
	add(what, len, "memory", " MiB", mem / 1024, memory_mib);
	add(what, len, "disk_size", " bytes", bi.capacity, disk_bytes);
	xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
	if (!xml)
		return yg_box_virt_err(err, "cannot read the definition of "
				       "box %s", virDomainGetName(dom));
	has_if = strstr(xml, "<interface") != NULL;
	snprintf(want_src, sizeof(want_src), "<source network='%s'",
		 want_if ? network : "");
	src = want_if ? strstr(xml, want_src) : NULL;
	free(xml);
	if (has_if != want_if || (want_if && !src)) {
		size_t used = strlen(what);

		snprintf(what + used, len - used, "%snetwork -> %s",
			 used ? ", " : "", want_if ? network : "none");
	}
	return 0;
}
