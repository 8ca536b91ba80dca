/* SPDX-License-Identifier: MIT */
/* yg_net.h: libvirt networks and network filters (nwfilter) for boxes:
 * define, start, remove, and a box's interface on a network with a filter.
 * What the network and the filters contain is the caller's (yolo-gatectl
 * network writes their XML). */
#ifndef YG_NET_H
#define YG_NET_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "yg_domain.h"
#include "yg_err.h"

/* The XML of network name, malloc'd into *xml: 0; -ENOENT (no message
 * needed, but err is set) when there is no such network. */
int yg_net_get_xml(virConnectPtr conn, const char *name, char **xml,
		   yg_err *err) YG_MUST_CHECK;
/* Does libvirt know a network of that name? */
bool yg_net_defined(virConnectPtr conn, const char *name);
/* Define the persistent network name from xml. */
int yg_net_define(virConnectPtr conn, const char *name, const char *xml,
		  yg_err *err) YG_MUST_CHECK;
/* Mark network name autostarted and start it unless it is active. */
int yg_net_start(virConnectPtr conn, const char *name, yg_err *err) YG_MUST_CHECK;
/* Stop (when active) and undefine network name; none is success with
 * *existed false. */
int yg_net_remove(virConnectPtr conn, const char *name, bool *existed,
		  yg_err *err) YG_MUST_CHECK;

/* Define the nwfilter name from xml, a <filter name='NAME' ...> document;
 * an existing filter of that name is redefined with its uuid, which
 * updates the interfaces that use it. */
int yg_nwfilter_define(virConnectPtr conn, const char *name, const char *xml,
		       yg_err *err) YG_MUST_CHECK;
/* Does libvirt know a network filter of that name? */
bool yg_nwfilter_defined(virConnectPtr conn, const char *name);
/* Undefine the filter name (libvirt refuses while an interface uses it);
 * none is success with *existed false. */
int yg_nwfilter_remove(virConnectPtr conn, const char *name, bool *existed,
		       yg_err *err) YG_MUST_CHECK;

/* Add to dom's persistent definition a virtio interface on network net
 * whose traffic passes filter. */
int yg_net_attach(yg_dom *dom, const char *net, const char *filter,
		  yg_err *err) YG_MUST_CHECK;

#endif
