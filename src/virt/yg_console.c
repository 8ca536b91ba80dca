/* SPDX-License-Identifier: MIT */
/* yg_console.c: the console endpoint, see yg_console.h. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include <libvirt/libvirt.h>

#include "yg_console.h"

struct con_ep {
	struct yg_ep ep;	/* first: a struct yg_ep * is a struct con_ep * */
	virStreamPtr st;
	bool watching;		/* the stream callback is registered */
};

static struct con_ep *con_of(struct yg_ep *ep)
{
	return (struct con_ep *)ep;
}

/* virStreamRecv / virStreamSend: -2 = would block, -1 = error */
static ssize_t stream_ret(int n)
{
	return n >= 0 ? n : n == -2 ? -EAGAIN : -EIO;
}

static ssize_t con_read(struct yg_ep *ep, void *buf, size_t len)
{
	return stream_ret(virStreamRecv(con_of(ep)->st, buf, len));
}

static ssize_t con_write(struct yg_ep *ep, const void *buf, size_t len)
{
	return stream_ret(virStreamSend(con_of(ep)->st, buf, len));
}

static void con_event(virStreamPtr st, int events, void *opaque)
{
	yg_ep_event(opaque, (events & VIR_STREAM_EVENT_READABLE ? YG_EV_READ : 0) |
			    (events & VIR_STREAM_EVENT_WRITABLE ? YG_EV_WRITE : 0) |
			    (events & VIR_STREAM_EVENT_ERROR ? YG_EV_ERROR : 0) |
			    (events & VIR_STREAM_EVENT_HANGUP ? YG_EV_HUP : 0));
}

static int con_interest(struct yg_ep *ep, int events)
{
	struct con_ep *c = con_of(ep);
	int ev = (events & YG_EV_READ ? VIR_STREAM_EVENT_READABLE : 0) |
		 (events & YG_EV_WRITE ? VIR_STREAM_EVENT_WRITABLE : 0);

	if (c->watching)
		return virStreamEventUpdateCallback(c->st, ev) < 0 ? -EIO : 0;
	if (virStreamEventAddCallback(c->st, ev, con_event, ep, NULL) < 0)
		return -EIO;
	c->watching = true;
	return 0;
}

static void con_close(struct yg_ep *ep)
{
	struct con_ep *c = con_of(ep);

	if (c->watching)
		virStreamEventRemoveCallback(c->st);
	virStreamAbort(c->st);
	virStreamFree(c->st);
	free(c);
}

static const struct yg_ep_ops con_ops = {
	.kind = "console",
	.read = con_read,
	.write = con_write,
	.interest = con_interest,
	.close = con_close,
};

static const struct yg_ep_ops chan_ops = {
	.kind = "channel",
	.read = con_read,
	.write = con_write,
	.interest = con_interest,
	.close = con_close,
};

static int open_ep(yg_box *box, const char *dev, bool channel, struct yg_ep **out,
		   yg_err *err)
{
	struct con_ep *c = calloc(1, sizeof(*c));
	int r;

	*out = NULL;
	if (!c)
		return yg_err_set(err, -ENOMEM, "out of memory opening a stream of box %s",
				  yg_box_name(box));
	r = channel ? yg_box_open_channel(box, dev, &c->st, err) :
		      yg_box_open_console(box, dev, &c->st, err);
	if (r < 0) {
		free(c);
		return r;
	}
	c->ep.ops = channel ? &chan_ops : &con_ops;
	c->ep.no_backpressure = true;	/* see yg_endpoint.h */
	*out = &c->ep;
	return 0;
}

int yg_console_open(yg_box *box, const char *dev, struct yg_ep **out, yg_err *err)
{
	return open_ep(box, dev, false, out, err);
}

int yg_channel_open(yg_box *box, const char *port, struct yg_ep **out, yg_err *err)
{
	return open_ep(box, port, true, out, err);
}
