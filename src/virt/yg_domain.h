/* SPDX-License-Identifier: MIT */
/* yg_domain.h: a libvirt domain before it is a box, and the operations
 * provisioning needs on it: define from XML, start, wait for the guest
 * agent, take, delete and retake the clean snapshot, and
 * remove it again (destroy + undefine with its snapshot metadata).
 *
 * A yg_box (yg_box.h) needs the box's snapshot to exist; a yg_dom does not,
 * so provision works on a yg_dom until the snapshot is there.  The domain
 * object survives a revert, so one yg_dom serves a whole provision run. */
#ifndef YG_DOMAIN_H
#define YG_DOMAIN_H

#include <stdbool.h>

#include <libvirt/libvirt.h>

#include "yg_err.h"

typedef struct yg_dom yg_dom;

/* Define the persistent domain name from xml (a complete <domain> that
 * names it).  0 or -errno with err. */
int yg_dom_define(virConnectPtr conn, const char *name, const char *xml,
		  yg_dom **out, yg_err *err) YG_MUST_CHECK;
/* Look up domain name: 0, -ENOENT ("box NAME is not defined"), or another
 * -errno when libvirt fails. */
int yg_dom_lookup(virConnectPtr conn, const char *name, yg_dom **out,
		  yg_err *err) YG_MUST_CHECK;
/* Does libvirt know a domain of that name? */
bool yg_dom_defined(virConnectPtr conn, const char *name);
void yg_dom_free(yg_dom *dom);			/* NULL ok */
const char *yg_dom_name(const yg_dom *dom);
/* For the other libygvirt files (yg_net.c attaches the interface,
 * yg_limits.c): the libvirt object, owned by dom. */
virDomainPtr yg_dom_ptr(const yg_dom *dom);

/* Start (boot) the defined domain. */
int yg_dom_start(yg_dom *dom, yg_err *err) YG_MUST_CHECK;
/* Poll the guest agent until it answers (yg_agent_wait_domain): -ETIMEDOUT
 * after timeout_ms, -EIO at once when the domain stops running. */
int yg_dom_wait_agent(yg_dom *dom, unsigned long timeout_ms, yg_err *err) YG_MUST_CHECK;

/* Its state in a word or two, for tables: "running", "paused", "shut off",
 * ..., "unknown" when libvirt cannot tell. */
const char *yg_dom_state_text(yg_dom *dom);
/* Its maximum memory in bytes (what it may take of its host); 0 when
 * libvirt cannot tell. */
unsigned long long yg_dom_max_memory(yg_dom *dom);

/* Take the internal snapshot name, with memory, of the running domain;
 * description (may be NULL) is stored with it. */
int yg_dom_snapshot_create(yg_dom *dom, const char *name,
			   const char *description, yg_err *err) YG_MUST_CHECK;
/* Delete snapshot name; -ENOENT when there is none. */
int yg_dom_snapshot_delete(yg_dom *dom, const char *name, yg_err *err) YG_MUST_CHECK;
/* Delete snapshot name and take it again from the current state (for a
 * paused, just reverted domain: the same clean state, with the live
 * definition, which a revert restores). */
int yg_dom_snapshot_retake(yg_dom *dom, const char *name,
			   const char *description, yg_err *err) YG_MUST_CHECK;

/* Remove domain name: destroyed first when running, then undefined with
 * its snapshot and checkpoint metadata, managed save and NVRAM.  A domain
 * that does not exist is success with *existed false. */
int yg_dom_remove(virConnectPtr conn, const char *name, bool *existed,
		  yg_err *err) YG_MUST_CHECK;

#endif
