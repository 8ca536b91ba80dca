/* SPDX-License-Identifier: MIT */
/* yg_limits.c: a box's resource limits through libvirt, see yg_limits.h */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>

#include "yg_box.h"
#include "yg_limits.h"

static int set_cpu(virDomainPtr d, const char *name,
		   const struct yg_limits *lim, unsigned flags, yg_err *err)
{
	virTypedParameterPtr par = NULL;
	int n = 0, max = 0, rc = 0;
	/* libvirt: a negative quota is "no limit" */
	long long quota = lim->cpu_quota ?
			  (long long)lim->cpu_quota * 1000 : -1;

	if (virTypedParamsAddULLong(&par, &n, &max,
				    VIR_DOMAIN_SCHEDULER_GLOBAL_PERIOD,
				    YG_CPU_PERIOD_US) < 0 ||
	    virTypedParamsAddLLong(&par, &n, &max,
				   VIR_DOMAIN_SCHEDULER_GLOBAL_QUOTA,
				   quota) < 0)
		rc = yg_err_set(err, -ENOMEM, "out of memory");
	if (rc == 0 && virDomainSetSchedulerParametersFlags(d, par, n,
							    flags) < 0)
		rc = yg_box_virt_err(err, "cannot set the CPU quota (%u %%) "
				     "of box %s; cputune needs the cgroup cpu "
				     "controller", lim->cpu_quota, name);
	virTypedParamsFree(par, n);
	return rc;
}

static int set_io(virDomainPtr d, const char *name, const char *disk_path,
		  const struct yg_limits *lim, unsigned flags, yg_err *err)
{
	virTypedParameterPtr par = NULL;
	int n = 0, max = 0, rc = 0;

	if (virTypedParamsAddULLong(&par, &n, &max,
				    VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_IOPS_SEC,
				    lim->disk_iops) < 0 ||
	    virTypedParamsAddULLong(&par, &n, &max,
				    VIR_DOMAIN_BLOCK_IOTUNE_TOTAL_BYTES_SEC,
				    lim->disk_bps) < 0)
		rc = yg_err_set(err, -ENOMEM, "out of memory");
	if (rc == 0 && virDomainSetBlockIoTune(d, disk_path, par, n,
					       flags) < 0)
		rc = yg_box_virt_err(err, "cannot set the disk limits of box "
				     "%s on %s", name, disk_path);
	virTypedParamsFree(par, n);
	return rc;
}

int yg_limits_apply(yg_dom *dom, const char *disk_path,
		    const struct yg_limits *lim, bool live, yg_err *err)
{
	unsigned flags = VIR_DOMAIN_AFFECT_CONFIG |
			 (live ? VIR_DOMAIN_AFFECT_LIVE : 0);
	virDomainPtr d = yg_dom_ptr(dom);
	const char *name = yg_dom_name(dom);
	int rc = 0;

	/* a new definition has no limits: "no limit" needs no call */
	if (live || lim->cpu_quota)
		rc = set_cpu(d, name, lim, flags, err);
	if (rc == 0 && (live || lim->disk_iops || lim->disk_bps))
		rc = set_io(d, name, disk_path, lim, flags, err);
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

int yg_limits_diff(yg_dom *dom, const char *disk_path, unsigned long vcpus,
		   unsigned long memory_mib, unsigned long long disk_bytes,
		   const char *network, char *what, size_t len, yg_err *err)
{
	virDomainPtr d = yg_dom_ptr(dom);
	const char *name = yg_dom_name(dom);
	char want_src[128], *xml, *src;
	virDomainBlockInfo bi;
	int nv;
	unsigned long mem;
	bool has_if, want_if = network && network[0] &&
			       strcmp(network, "none");

	what[0] = '\0';
	nv = virDomainGetVcpusFlags(d, VIR_DOMAIN_AFFECT_CONFIG |
				    VIR_DOMAIN_VCPU_MAXIMUM);
	mem = virDomainGetMaxMemory(d);
	if (nv < 0 || mem == 0 ||
	    virDomainGetBlockInfo(d, disk_path, &bi, 0) < 0)
		return yg_box_virt_err(err, "cannot read the size of box %s",
				       name);
	add(what, len, "vcpus", "", (unsigned long long)nv, vcpus);
	add(what, len, "memory", " MiB", mem / 1024, memory_mib);
	add(what, len, "disk_size", " bytes", bi.capacity, disk_bytes);
	xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	if (!xml)
		return yg_box_virt_err(err, "cannot read the definition of "
				       "box %s", name);
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
