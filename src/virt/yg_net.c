/* SPDX-License-Identifier: MIT */
/* yg_net.c: libvirt networks and nwfilters, see yg_net.h */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "yg_box.h"
#include "yg_net.h"
#include "yg_xml.h"

/* virNetworkLookupByName with -ENOENT for "no such network". */
static int net_lookup(virConnectPtr conn, const char *name,
		      virNetworkPtr *out, yg_err *err)
{
	virErrorPtr e;

	*out = virNetworkLookupByName(conn, name);
	if (*out)
		return 0;
	e = virGetLastError();
	if (e && e->code == VIR_ERR_NO_NETWORK)
		return yg_err_set(err, -ENOENT, "network %s is not defined",
				  name);
	return yg_box_virt_err(err, "cannot look up network %s", name);
}

static int filter_lookup(virConnectPtr conn, const char *name,
			 virNWFilterPtr *out, yg_err *err)
{
	virErrorPtr e;

	*out = virNWFilterLookupByName(conn, name);
	if (*out)
		return 0;
	e = virGetLastError();
	if (e && e->code == VIR_ERR_NO_NWFILTER)
		return yg_err_set(err, -ENOENT, "network filter %s is not "
				  "defined", name);
	return yg_box_virt_err(err, "cannot look up network filter %s", name);
}

int yg_net_get_xml(virConnectPtr conn, const char *name, char **xml,
		   yg_err *err)
{
	virNetworkPtr net;
	int rc;

	*xml = NULL;
	rc = net_lookup(conn, name, &net, err);
	if (rc < 0)
		return rc;
	*xml = virNetworkGetXMLDesc(net, 0);
	if (!*xml)
		rc = yg_box_virt_err(err, "cannot read the definition of "
				     "network %s", name);
	virNetworkFree(net);
	return rc;
}

bool yg_net_defined(virConnectPtr conn, const char *name)
{
	virNetworkPtr net;

	if (net_lookup(conn, name, &net, NULL) < 0)
		return false;
	virNetworkFree(net);
	return true;
}

int yg_net_define(virConnectPtr conn, const char *name, const char *xml,
		  yg_err *err)
{
	virNetworkPtr net = virNetworkDefineXML(conn, xml);

	if (!net)
		return yg_box_virt_err(err, "cannot define network %s", name);
	virNetworkFree(net);
	return 0;
}

int yg_net_start(virConnectPtr conn, const char *name, yg_err *err)
{
	virNetworkPtr net;
	int rc;

	rc = net_lookup(conn, name, &net, err);
	if (rc < 0)
		return rc;
	if (virNetworkSetAutostart(net, 1) < 0)
		rc = yg_box_virt_err(err, "cannot autostart network %s", name);
	else if (virNetworkIsActive(net) != 1 && virNetworkCreate(net) < 0)
		rc = yg_box_virt_err(err, "cannot start network %s (is "
				     "dnsmasq installed?)", name);
	virNetworkFree(net);
	return rc;
}

int yg_net_remove(virConnectPtr conn, const char *name, bool *existed,
		  yg_err *err)
{
	virNetworkPtr net;
	int rc;

	*existed = false;
	rc = net_lookup(conn, name, &net, err);
	if (rc == -ENOENT) {
		yg_err_clear(err);
		return 0;
	}
	if (rc < 0)
		return rc;
	*existed = true;
	if (virNetworkIsActive(net) == 1 && virNetworkDestroy(net) < 0)
		rc = yg_box_virt_err(err, "cannot stop network %s", name);
	if (rc == 0 && virNetworkUndefine(net) < 0)
		rc = yg_box_virt_err(err, "cannot undefine network %s", name);
	virNetworkFree(net);
	return rc;
}

int yg_nwfilter_define(virConnectPtr conn, const char *name, const char *xml,
		       yg_err *err)
{
	char uuid[VIR_UUID_STRING_BUFLEN], *full = NULL;
	const char *gt = strchr(xml, '>');
	virNWFilterPtr flt = NULL;

	/* libvirt redefines a filter only with the same uuid: insert it
	 * after the opening <filter ...> */
	if (filter_lookup(conn, name, &flt, NULL) == 0 && gt &&
	    virNWFilterGetUUIDString(flt, uuid) == 0 &&
	    asprintf(&full, "%.*s\n  <uuid>%s</uuid>%s", (int)(gt + 1 - xml),
		     xml, uuid, gt + 1) < 0)
		full = NULL;
	if (flt)
		virNWFilterFree(flt);
	flt = virNWFilterDefineXML(conn, full ? full : xml);
	free(full);
	if (!flt)
		return yg_box_virt_err(err, "cannot define network filter %s",
				       name);
	virNWFilterFree(flt);
	return 0;
}

bool yg_nwfilter_defined(virConnectPtr conn, const char *name)
{
	virNWFilterPtr flt;

	if (filter_lookup(conn, name, &flt, NULL) < 0)
		return false;
	virNWFilterFree(flt);
	return true;
}

int yg_nwfilter_remove(virConnectPtr conn, const char *name, bool *existed,
		       yg_err *err)
{
	virNWFilterPtr flt;
	int rc;

	*existed = false;
	rc = filter_lookup(conn, name, &flt, err);
	if (rc == -ENOENT) {
		yg_err_clear(err);
		return 0;
	}
	if (rc < 0)
		return rc;
	*existed = true;
	if (virNWFilterUndefine(flt) < 0)
		rc = yg_box_virt_err(err, "cannot remove filter %s (a box "
				     "still uses it? deprovision it first)",
				     name);
	virNWFilterFree(flt);
	return rc;
}

int yg_net_attach(yg_dom *dom, const char *net, const char *filter,
		  yg_err *err)
{
	char n[256], f[256], xml[1024];

	if (yg_xml_escape(n, sizeof(n), net) < 0 ||
	    yg_xml_escape(f, sizeof(f), filter) < 0)
		return yg_err_set(err, -EINVAL, "network name %s or filter "
				  "name %s is too long or has control "
				  "characters", net, filter);
	snprintf(xml, sizeof(xml), "<interface type='network'>\n"
		 "      <source network='%s'/>\n"
		 "      <model type='virtio'/>\n"
		 "      <filterref filter='%s'/>\n"
		 "    </interface>", n, f);
	if (virDomainAttachDeviceFlags(yg_dom_ptr(dom), xml,
				       VIR_DOMAIN_AFFECT_CONFIG) < 0)
		return yg_box_virt_err(err, "cannot give box %s an interface "
				       "on network %s", yg_dom_name(dom), net);
	return 0;
}
