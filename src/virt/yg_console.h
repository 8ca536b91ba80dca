/* SPDX-License-Identifier: MIT */
/* yg_console.h: a box's console as a relay endpoint (yg_endpoint.h).
 *
 * A non-blocking libvirt stream (yg_box_open_console); its events come from
 * libvirt's event loop, so yg_virtloop_register must have run first. Reads
 * and writes never block: -EAGAIN when nothing is pending or nothing fits.
 * yg_ep_write on it is also how to send bytes to the guest right away (the
 * console wake's CR). yg_ep_close aborts and frees the stream.
 */
#ifndef YG_CONSOLE_H
#define YG_CONSOLE_H

#include "yg_box.h"
#include "yg_endpoint.h"
#include "yg_err.h"

/* Open the console dev (NULL or "" = the first) of box. Open it only after
 * the last revert: a revert starts a new QEMU process. */
int yg_console_open(yg_box *box, const char *dev, struct yg_ep **out, yg_err *err) YG_MUST_CHECK;

/* The virtio-serial port named port (the exec channel, YG_CHAN_PORT) as
 * the same kind of endpoint. Its peer (yolo-boxd) is bounded by the
 * channel's credit, not by this endpoint: its owner reads it always. */
int yg_channel_open(yg_box *box, const char *port, struct yg_ep **out, yg_err *err) YG_MUST_CHECK;

#endif
