/* SPDX-License-Identifier: MIT */
/* yg_endpoint.c: the fd endpoint (see yg_endpoint.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "yg_endpoint.h"

struct fd_ep {
	struct yg_ep ep;	/* first: a struct yg_ep * is a struct fd_ep * */
	int fd, watch;
	bool own, sock;
};

static const struct yg_ep_ops fd_ops;

static struct fd_ep *fd_of(struct yg_ep *ep)
{
	return (struct fd_ep *)ep;
}

static ssize_t errno_ret(void)
{
	return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
}

static ssize_t fd_read(struct yg_ep *ep, void *buf, size_t len)
{
	ssize_t n = read(fd_of(ep)->fd, buf, len);

	return n < 0 ? errno_ret() : n;
}

static ssize_t fd_write(struct yg_ep *ep, const void *buf, size_t len)
{
	struct fd_ep *f = fd_of(ep);
	ssize_t n;

	if (f->sock) {
		n = send(f->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0 || errno != ENOTSOCK)
			return n < 0 ? errno_ret() : n;
		f->sock = false;	/* a pipe or tty: SIGPIPE is the process's business */
	}
	n = write(f->fd, buf, len);
	return n < 0 ? errno_ret() : n;
}

static void fd_event(int watch, int fd, int events, void *opaque)
{
	yg_ep_event(opaque, events);
}

static int fd_interest(struct yg_ep *ep, int events)
{
	struct fd_ep *f = fd_of(ep);

	if (f->watch >= 0) {
		yg_loop_watch_update(f->watch, events);
		return 0;
	}
	f->watch = yg_loop_watch_add(f->fd, events, fd_event, ep);
	return f->watch < 0 ? f->watch : 0;
}

static void fd_close(struct yg_ep *ep)
{
	struct fd_ep *f = fd_of(ep);

	yg_loop_watch_remove(f->watch);
	if (f->own)
		close(f->fd);
	free(f);
}

static const struct yg_ep_ops fd_ops = {
	.kind = "fd",
	.read = fd_read,
	.write = fd_write,
	.interest = fd_interest,
	.close = fd_close,
};

int yg_ep_fd_new(int fd, unsigned flags, struct yg_ep **out)
{
	int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
	struct fd_ep *f;

	*out = NULL;
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return fd < 0 ? -EBADF : -errno;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->ep.ops = &fd_ops;
	f->fd = fd;
	f->watch = -1;
	f->own = flags & YG_EP_OWN_FD;
	f->sock = true;
	*out = &f->ep;
	return 0;
}

int yg_ep_fd(const struct yg_ep *ep)
{
	return ep && ep->ops == &fd_ops ? ((const struct fd_ep *)ep)->fd : -1;
}

void yg_ep_close(struct yg_ep *ep)
{
	if (ep)
		ep->ops->close(ep);
}
