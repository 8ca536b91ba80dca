/* SPDX-License-Identifier: MIT */
/* yg_domain.c: a domain before it is a box, see yg_domain.h */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "yg_agent.h"
#include "yg_box.h"
#include "yg_domain.h"
#include "yg_xml.h"

struct yg_dom {
	virDomainPtr dom;
	char *name;
};

static int wrap(virDomainPtr d, const char *name, yg_dom **out, yg_err *err)
{
	yg_dom *dom = calloc(1, sizeof(*dom));

	if (dom)
		dom->name = strdup(name);
	if (!dom || !dom->name) {
		free(dom);
		virDomainFree(d);
		return yg_err_set(err, -ENOMEM, "out of memory for box %s",
				  name);
	}
	dom->dom = d;
	*out = dom;
	return 0;
}

int yg_dom_define(virConnectPtr conn, const char *name, const char *xml,
		  yg_dom **out, yg_err *err)
{
	virDomainPtr d;

	*out = NULL;
	d = virDomainDefineXML(conn, xml);
	if (!d)
		return yg_box_virt_err(err, "cannot define box %s", name);
	return wrap(d, name, out, err);
}

int yg_dom_lookup(virConnectPtr conn, const char *name, yg_dom **out,
		  yg_err *err)
{
	virDomainPtr d;
	virErrorPtr e;

	*out = NULL;
	d = virDomainLookupByName(conn, name);
	if (!d) {
		e = virGetLastError();
		if (e && e->code == VIR_ERR_NO_DOMAIN)
			return yg_err_set(err, -ENOENT, "box %s is not "
					  "defined", name);
		return yg_box_virt_err(err, "cannot look up box %s", name);
	}
	return wrap(d, name, out, err);
}

bool yg_dom_defined(virConnectPtr conn, const char *name)
{
	yg_dom *dom = NULL;

	if (yg_dom_lookup(conn, name, &dom, NULL) < 0)
		return false;
	yg_dom_free(dom);
	return true;
}

void yg_dom_free(yg_dom *dom)
{
	if (!dom)
		return;
	virDomainFree(dom->dom);
	free(dom->name);
	free(dom);
}

const char *yg_dom_name(const yg_dom *dom)
{
	return dom ? dom->name : NULL;
}

virDomainPtr yg_dom_ptr(const yg_dom *dom)
{
	return dom ? dom->dom : NULL;
}

int yg_dom_start(yg_dom *dom, yg_err *err)
{
	if (virDomainCreate(dom->dom) < 0)
		return yg_box_virt_err(err, "cannot start box %s", dom->name);
	return 0;
}

int yg_dom_wait_agent(yg_dom *dom, unsigned long timeout_ms, yg_err *err)
{
	return yg_agent_wait_domain(dom->dom, dom->name, timeout_ms, err);
}

const char *yg_dom_state_text(yg_dom *dom)
{
	int st, rs;

	if (virDomainGetState(dom->dom, &st, &rs, 0) < 0)
		return "unknown";
	return yg_box_state_name(st);
}

unsigned long long yg_dom_max_memory(yg_dom *dom)
{
	return (unsigned long long)virDomainGetMaxMemory(dom->dom) << 10;
}

int yg_dom_snapshot_create(yg_dom *dom, const char *name,
			   const char *description, yg_err *err)
{
	char xml[1024], n[256], d[512];
	virDomainSnapshotPtr snap;

	if (yg_xml_escape(n, sizeof(n), name) < 0 ||
	    yg_xml_escape(d, sizeof(d), description ? description : "") < 0)
		return yg_err_set(err, -EINVAL, "snapshot name '%s' or its "
				  "description is too long or has control "
				  "characters", name);
	snprintf(xml, sizeof(xml),
		 "<domainsnapshot><name>%s</name>"
		 "<description>%s</description>"
		 "<memory snapshot='internal'/></domainsnapshot>", n, d);
	snap = virDomainSnapshotCreateXML(dom->dom, xml, 0);
	if (!snap)
		return yg_box_virt_err(err, "cannot take snapshot '%s' of box "
				       "%s", name, dom->name);
	virDomainSnapshotFree(snap);
	return 0;
}

int yg_dom_snapshot_delete(yg_dom *dom, const char *name, yg_err *err)
{
	virDomainSnapshotPtr snap;
	virErrorPtr e;
	int rc = 0;

	snap = virDomainSnapshotLookupByName(dom->dom, name, 0);
	if (!snap) {
		e = virGetLastError();
		if (e && e->code == VIR_ERR_NO_DOMAIN_SNAPSHOT)
			return yg_err_set(err, -ENOENT, "box %s has no "
					  "snapshot '%s'", dom->name, name);
		return yg_box_virt_err(err, "cannot find snapshot '%s' of box "
				       "%s", name, dom->name);
	}
	if (virDomainSnapshotDelete(snap, 0) < 0)
		rc = yg_box_virt_err(err, "cannot delete snapshot '%s' of box "
				     "%s", name, dom->name);
	virDomainSnapshotFree(snap);
	return rc;
}

int yg_dom_snapshot_retake(yg_dom *dom, const char *name,
			   const char *description, yg_err *err)
{
	int rc = yg_dom_snapshot_delete(dom, name, err);

	return rc < 0 ? rc : yg_dom_snapshot_create(dom, name, description,
						    err);
}

int yg_dom_remove(virConnectPtr conn, const char *name, bool *existed,
		  yg_err *err)
{
	unsigned flags = VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
			 VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA |
			 VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
			 VIR_DOMAIN_UNDEFINE_NVRAM;
	/* what every driver knows (the test driver, libvirt before 5.6) */
	unsigned basic = VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
			 VIR_DOMAIN_UNDEFINE_MANAGED_SAVE;
	yg_dom *dom = NULL;
	virErrorPtr e;
	int rc;

	*existed = false;
	rc = yg_dom_lookup(conn, name, &dom, err);
	if (rc == -ENOENT) {
		yg_err_clear(err);
		return 0;
	}
	if (rc < 0)
		return rc;
	*existed = true;
	if (virDomainIsActive(dom->dom) == 1 && virDomainDestroy(dom->dom) < 0)
		rc = yg_box_virt_err(err, "cannot stop box %s", name);
	else if (virDomainUndefineFlags(dom->dom, flags) < 0 &&
		 (!(e = virGetLastError()) || e->code != VIR_ERR_INVALID_ARG ||
		  virDomainUndefineFlags(dom->dom, flags & basic) < 0))
		rc = yg_box_virt_err(err, "cannot undefine box %s", name);
	yg_dom_free(dom);
	return rc;
}
