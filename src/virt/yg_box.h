/* SPDX-License-Identifier: MIT */
/* yg_box.h: the libvirt box layer.
 *
 * A box is one libvirt domain plus the name of its clean snapshot. libvirt is
 * the source of truth for cleanliness: a box is clean exactly when it is
 * PAUSED with reason VIR_DOMAIN_PAUSED_FROM_SNAPSHOT and the domain's current
 * snapshot is the box's snapshot. Nothing that belongs to the QEMU process
 * (console streams, agent state) is cached across a revert: libvirt >= 9
 * starts a new QEMU process on revert.
 */
#ifndef YG_BOX_H
#define YG_BOX_H

#include <stdbool.h>
#include <stddef.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "yg_err.h"

typedef struct yg_box yg_box;

/* Open a libvirt connection. uri NULL = qemu:///system. Errors name the URI
 * and the fix (libvirtd not running, permission denied, ...). Also silences
 * libvirt's default printing of errors to stderr. */
int yg_conn_open(const char *uri, virConnectPtr *out, yg_err *err) YG_MUST_CHECK;
/* The same for a host that may be unreachable (a remote URI): the connect
 * is given up after ms (-ETIMEDOUT, "no answer within N s") instead of
 * ending the process, as yg_conn_open's watchdog does. The connect runs in
 * a thread, which a give-up leaves to finish (and close) on its own. */
int yg_conn_open_bounded(const char *uri, unsigned ms, virConnectPtr *out,
			 yg_err *err) YG_MUST_CHECK;
/* Close a connection from yg_conn_open (NULL ok). */
void yg_conn_close(virConnectPtr conn);
/* 1 when the connection is alive, 0 when it died (libvirtd restarted),
 * -1 when libvirt cannot tell. */
int yg_conn_alive(virConnectPtr conn) YG_MUST_CHECK;

/* Look up domain and its snapshot. hint (may be NULL) is appended to "not
 * defined"/"no snapshot" errors, e.g. "run: yolo-gatectl provision alice". */
int yg_box_open(virConnectPtr conn, const char *domain, const char *snapshot,
		const char *hint, yg_box **out, yg_err *err) YG_MUST_CHECK;
void yg_box_free(yg_box *box);			/* NULL ok; does not close conn */
const char *yg_box_name(const yg_box *box);
const char *yg_box_snapshot_name(const yg_box *box);
virDomainPtr yg_box_domain(const yg_box *box);
/* The running domain's id now (one lookup), which a new QEMU process
 * changes; 0 when it is not running or unknown. */
int yg_box_id(const yg_box *box);

/* A state number from yg_box_state (a virDomainState) in a word or two, for
 * tables and messages: "running", "paused", "shut off", ..., "unknown". */
const char *yg_box_state_name(int state);

/* virDomainGetState: state is a virDomainState, reason its reason enum. */
int yg_box_state(yg_box *box, int *state, int *reason, yg_err *err) YG_MUST_CHECK;

/* The proof of cleanliness: PAUSED + VIR_DOMAIN_PAUSED_FROM_SNAPSHOT + current
 * snapshot == the box's snapshot. Sets *clean; when not clean, why (if not
 * NULL) says why, e.g. "running", "paused (user)", "current snapshot is 'x'",
 * "shut off". Returns an error only when libvirt fails. */
int yg_box_check_clean(yg_box *box, bool *clean, char *why, size_t whylen,
		       yg_err *err) YG_MUST_CHECK;

/* Revert to the box's snapshot, leaving the domain PAUSED (REVERT_PAUSED). */
int yg_box_revert(yg_box *box, yg_err *err) YG_MUST_CHECK;
int yg_box_resume(yg_box *box, yg_err *err) YG_MUST_CHECK;
/* Pause a running box (nothing to do when paused or shut off). */
int yg_box_suspend(yg_box *box, yg_err *err) YG_MUST_CHECK;
/* Power a box off (nothing to do when shut off). */
int yg_box_destroy(yg_box *box, yg_err *err) YG_MUST_CHECK;

/* Open the console with VIR_DOMAIN_CONSOLE_FORCE on a stream created with
 * VIR_STREAM_NONBLOCK. dev NULL or "" = first console. The caller owns *out
 * (virStreamFinish/Abort + virStreamFree). Data only flows when an event
 * loop runs: call virEventRegisterDefaultImpl() before yg_conn_open and run
 * virEventRunDefaultImpl() (in a thread, or use virStreamEventAddCallback);
 * virStreamRecv then returns -2 when nothing is pending. Open it only after
 * the last revert: a revert starts a new QEMU process. */
/* The same for the virtio-serial channel named port (virDomainOpenChannel,
 * forced: an earlier holder loses it). */
int yg_box_open_channel(yg_box *box, const char *port, virStreamPtr *out, yg_err *err) YG_MUST_CHECK;
/* Whether the box's definition has the virtio-serial channel named port
 * (libvirt's state attribute of it is no help: after a revert it says
 * disconnected while the restored guest holds the port open): 1 yes, 0 no,
 * -errno with err. */
int yg_box_has_channel(yg_box *box, const char *port, yg_err *err) YG_MUST_CHECK;
int yg_box_open_console(yg_box *box, const char *dev, virStreamPtr *out,
			yg_err *err) YG_MUST_CHECK;

/* Fill err from libvirt's last error: "<what>: <libvirt message>". Returns
 * a negative errno guessed from the libvirt error code. For yg_agent.c. */
int yg_box_virt_err(yg_err *err, const char *what_fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Replace control characters in err->msg (which may quote text from the
 * guest, e.g. an agent error) with '?'. err may be NULL. */
void yg_box_err_clean(yg_err *err);

#endif
