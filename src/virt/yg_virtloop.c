/* SPDX-License-Identifier: MIT */
/* yg_virtloop.c: yg_loop on libvirt's default event loop, see yg_virtloop.h.
 *
 * libvirt calls back with its own event bits and signatures: each watch or
 * timer carries a small context (our callback, its opaque) that libvirt frees
 * through its free callback once the entry is really gone.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include <libvirt/libvirt.h>

#include "yg_box.h"
#include "yg_virtloop.h"

struct ctx {
	yg_watch_fn wfn;
	yg_timer_fn tfn;
	void *opaque;
};

static int to_virt(int events)
{
	return (events & YG_EV_READ ? VIR_EVENT_HANDLE_READABLE : 0) |
	       (events & YG_EV_WRITE ? VIR_EVENT_HANDLE_WRITABLE : 0);
}

static int from_virt(int events)
{
	return (events & VIR_EVENT_HANDLE_READABLE ? YG_EV_READ : 0) |
	       (events & VIR_EVENT_HANDLE_WRITABLE ? YG_EV_WRITE : 0) |
	       (events & VIR_EVENT_HANDLE_ERROR ? YG_EV_ERROR : 0) |
	       (events & VIR_EVENT_HANDLE_HANGUP ? YG_EV_HUP : 0);
}

static struct ctx *ctx_new(yg_watch_fn wfn, yg_timer_fn tfn, void *opaque)
{
	struct ctx *c = malloc(sizeof(*c));

	if (c) {
		c->wfn = wfn;
		c->tfn = tfn;
		c->opaque = opaque;
	}
	return c;
}

static void on_handle(int watch, int fd, int events, void *opaque)
{
	struct ctx *c = opaque;

	c->wfn(watch, fd, from_virt(events), c->opaque);
}

static void on_timeout(int timer, void *opaque)
{
	struct ctx *c = opaque;

	c->tfn(timer, c->opaque);
}

static int vl_watch_add(int fd, int events, yg_watch_fn fn, void *opaque)
{
	struct ctx *c = ctx_new(fn, NULL, opaque);
	int w;

	if (!c)
		return -ENOMEM;
	w = virEventAddHandle(fd, to_virt(events), on_handle, c, free);
	if (w < 0) {
		free(c);
		return -ENOMEM;
	}
	return w;
}

static void vl_watch_update(int watch, int events)
{
	virEventUpdateHandle(watch, to_virt(events));
}

static void vl_watch_remove(int watch)
{
	virEventRemoveHandle(watch);
}

static int vl_timer_add(int ms, yg_timer_fn fn, void *opaque)
{
	struct ctx *c = ctx_new(NULL, fn, opaque);
	int t;

	if (!c)
		return -ENOMEM;
	t = virEventAddTimeout(ms, on_timeout, c, free);
	if (t < 0) {
		free(c);
		return -ENOMEM;
	}
	return t;
}

static void vl_timer_remove(int timer)
{
	virEventRemoveTimeout(timer);
}

static int vl_run_once(void)
{
	return virEventRunDefaultImpl() < 0 ? -EIO : 0;
}

const struct yg_loop_impl yg_virtloop = {
	.name = "libvirt",
	.watch_add = vl_watch_add,
	.watch_update = vl_watch_update,
	.watch_remove = vl_watch_remove,
	.timer_add = vl_timer_add,
	.timer_remove = vl_timer_remove,
	.run_once = vl_run_once,
};

int yg_virtloop_register(yg_err *err)
{
	if (virEventRegisterDefaultImpl() < 0)
		return yg_box_virt_err(err, "cannot start libvirt's event loop");
	yg_loop_select(&yg_virtloop);
	return 0;
}
