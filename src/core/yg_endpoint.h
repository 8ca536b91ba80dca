/* SPDX-License-Identifier: MIT */
/* yg_endpoint.h: one end of a byte stream, as the relay sees it.
 *
 * An endpoint reads and writes without blocking and reports readiness on the
 * process's event loop (yg_loop.h): the owner binds a callback, then says
 * what it waits for (YG_EV_READ, YG_EV_WRITE; 0 = nothing), and the callback
 * gets YG_EV_* as they come (ERROR and HUP whenever some interest is set).
 * Kinds: an fd (client sockets, socketpairs in tests) here; a box's console
 * (a libvirt stream) in libygvirt (yg_console.h); the exec channel next.
 */
#ifndef YG_ENDPOINT_H
#define YG_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "yg_loop.h"
#include "yg_err.h"

struct yg_ep;
typedef void (*yg_ep_fn)(struct yg_ep *ep, int events, void *opaque);

struct yg_ep_ops {
	const char *kind;
	/* bytes (> 0), 0 at EOF, -EAGAIN when nothing is pending, or -errno */
	ssize_t (*read)(struct yg_ep *ep, void *buf, size_t len);
	/* bytes taken (>= 0), -EAGAIN when none fit now, or -errno (-EPIPE:
	 * the other side is gone; never a SIGPIPE) */
	ssize_t (*write)(struct yg_ep *ep, const void *buf, size_t len);
	/* what to wait for from now on: 0 or -errno */
	int (*interest)(struct yg_ep *ep, int events);
	/* stop watching, release everything; ep is freed */
	void (*close)(struct yg_ep *ep);
};

struct yg_ep {
	const struct yg_ep_ops *ops;
	yg_ep_fn fn;		/* NULL: events are dropped */
	void *opaque;
	/* Not reading this endpoint holds nobody back: it takes in whatever its
	 * peer sends, read or not (a libvirt stream: libvirt's client queues
	 * every packet that arrives while the event loop runs, without bound).
	 * Its owner must keep reading it and drop what it cannot pass on. An
	 * fd endpoint pushes back (false): the kernel's queue fills and the
	 * writer waits. */
	bool no_backpressure;
};

static inline ssize_t yg_ep_read(struct yg_ep *ep, void *buf, size_t len)
{
	return ep->ops->read(ep, buf, len);
}

static inline ssize_t yg_ep_write(struct yg_ep *ep, const void *buf, size_t len)
{
	return ep->ops->write(ep, buf, len);
}

static inline int yg_ep_interest(struct yg_ep *ep, int events)
{
	return ep->ops->interest(ep, events);
}

/* Where events go (fn NULL: nowhere, e.g. when the relay that owned them
 * ends; the interest is left as it is). */
static inline void yg_ep_bind(struct yg_ep *ep, yg_ep_fn fn, void *opaque)
{
	ep->fn = fn;
	ep->opaque = opaque;
}

/* For implementations: hand events to the bound callback. */
static inline void yg_ep_event(struct yg_ep *ep, int events)
{
	if (ep->fn)
		ep->fn(ep, events, ep->opaque);
}

void yg_ep_close(struct yg_ep *ep);	/* NULL ok */

/* An fd endpoint; fd is made non-blocking. flags YG_EP_OWN_FD: close(fd)
 * with the endpoint, else the caller keeps it. 0 or -errno. */
#define YG_EP_OWN_FD 1u
int yg_ep_fd_new(int fd, unsigned flags, struct yg_ep **out) YG_MUST_CHECK;
/* The fd of an fd endpoint, -1 for other kinds. */
int yg_ep_fd(const struct yg_ep *ep) YG_MUST_CHECK;

#endif
