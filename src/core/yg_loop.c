/* SPDX-License-Identifier: MIT */
/* yg_loop.c: the event-loop switch and its poll(2) implementation.
 *
 * The poll loop keeps its watches and timers in two small arrays (a relay
 * has a handful). Removal inside a callback only marks the entry dead; dead
 * entries are dropped when no dispatch is running, so ids and opaque
 * pointers of removed entries are never called again.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "yg_loop.h"
#include "yg_time.h"

struct entry {
	int id;
	bool dead;
	int fd, events;		/* watches */
	int ms;			/* timers */
	uint64_t due;
	yg_watch_fn wfn;
	yg_timer_fn tfn;
	void *opaque;
};

struct table {
	struct entry *e;
	size_t n, cap;
};

static struct {
	struct table w, t;
	int next_id;
	bool dispatching;
	struct pollfd *pfd;
	int *pid;
	size_t pcap;
} P;

static struct entry *find(struct table *tb, int id)
{
	for (size_t i = 0; i < tb->n; i++)
		if (tb->e[i].id == id && !tb->e[i].dead)
			return &tb->e[i];
	return NULL;
}

static struct entry *append(struct table *tb)
{
	struct entry *e;

	if (P.next_id == INT32_MAX)
		return NULL;
	if (tb->n == tb->cap) {
		size_t cap = tb->cap ? 2 * tb->cap : 8;

		e = realloc(tb->e, cap * sizeof(*e));
		if (!e)
			return NULL;
		tb->e = e;
		tb->cap = cap;
	}
	e = &tb->e[tb->n++];
	memset(e, 0, sizeof(*e));
	e->id = P.next_id++;
	return e;
}

static void sweep(struct table *tb)
{
	size_t k = 0;

	for (size_t i = 0; i < tb->n; i++)
		if (!tb->e[i].dead)
			tb->e[k++] = tb->e[i];
	tb->n = k;
}

static void kill_entry(struct table *tb, int id)
{
	struct entry *e = id >= 0 ? find(tb, id) : NULL;

	if (!e)
		return;
	e->dead = true;
	if (!P.dispatching)
		sweep(tb);
}

static int poll_watch_add(int fd, int events, yg_watch_fn fn, void *opaque)
{
	struct entry *e;

	if (fd < 0 || !fn)
		return -EINVAL;
	e = append(&P.w);
	if (!e)
		return -ENOMEM;
	e->fd = fd;
	e->events = events & (YG_EV_READ | YG_EV_WRITE);
	e->wfn = fn;
	e->opaque = opaque;
	return e->id;
}

static void poll_watch_update(int watch, int events)
{
	struct entry *e = find(&P.w, watch);

	if (e)
		e->events = events & (YG_EV_READ | YG_EV_WRITE);
}

static void poll_watch_remove(int watch)
{
	kill_entry(&P.w, watch);
}

static int poll_timer_add(int ms, yg_timer_fn fn, void *opaque)
{
	struct entry *e;

	if (ms < 0 || !fn)
		return -EINVAL;
	e = append(&P.t);
	if (!e)
		return -ENOMEM;
	e->ms = ms;
	e->due = yg_now_ms() + (uint64_t)ms;
	e->tfn = fn;
	e->opaque = opaque;
	return e->id;
}

static void poll_timer_remove(int timer)
{
	kill_entry(&P.t, timer);
}

static int poll_events(short revents)
{
	return (revents & POLLIN ? YG_EV_READ : 0) | (revents & POLLOUT ? YG_EV_WRITE : 0) |
	       (revents & (POLLERR | POLLNVAL) ? YG_EV_ERROR : 0) |
	       (revents & POLLHUP ? YG_EV_HUP : 0);
}

/* The pollfd array for the watches with an interest; nfds in *n. */
static int build_pollfds(nfds_t *n)
{
	*n = 0;
	if (P.pcap < P.w.n) {
		struct pollfd *pfd = realloc(P.pfd, P.w.n * sizeof(*pfd));
		int *pid;

		if (!pfd)
			return -ENOMEM;
		P.pfd = pfd;
		pid = realloc(P.pid, P.w.n * sizeof(*pid));
		if (!pid)
			return -ENOMEM;
		P.pid = pid;
		P.pcap = P.w.n;
	}
	for (size_t i = 0; i < P.w.n; i++) {
		const struct entry *e = &P.w.e[i];

		if (e->dead || !e->events)
			continue;
		P.pfd[*n].fd = e->fd;
		P.pfd[*n].events = (short)((e->events & YG_EV_READ ? POLLIN : 0) |
					   (e->events & YG_EV_WRITE ? POLLOUT : 0));
		P.pfd[*n].revents = 0;
		P.pid[*n] = e->id;
		(*n)++;
	}
	return 0;
}

static int next_timeout(void)
{
	uint64_t now = yg_now_ms(), first = UINT64_MAX;

	for (size_t i = 0; i < P.t.n; i++)
		if (!P.t.e[i].dead && P.t.e[i].due < first)
			first = P.t.e[i].due;
	if (first == UINT64_MAX)
		return -1;
	if (first <= now)
		return 0;
	return first - now > INT32_MAX ? INT32_MAX : (int)(first - now);
}

/* Entries may be appended (and the arrays moved) by a callback: index, and
 * find again after each call. Entries added meanwhile wait for the next
 * round. */
static void dispatch(nfds_t npfd)
{
	uint64_t now = yg_now_ms();
	size_t nt = P.t.n;

	for (size_t i = 0; i < nt; i++) {
		struct entry *e = &P.t.e[i];

		if (e->dead || e->due > now)
			continue;
		e->due = now + (uint64_t)e->ms;
		e->tfn(e->id, e->opaque);
	}
	for (nfds_t i = 0; i < npfd; i++) {
		struct entry *e;
		int ev;

		if (!P.pfd[i].revents)
			continue;
		e = find(&P.w, P.pid[i]);
		if (!e || !e->events)
			continue;	/* removed, or lost its interest meanwhile */
		ev = poll_events(P.pfd[i].revents) & (e->events | YG_EV_ERROR | YG_EV_HUP);
		if (ev)
			e->wfn(e->id, e->fd, ev, e->opaque);
	}
}

static int poll_run_once(void)
{
	nfds_t n;
	int r;

	if (P.dispatching)
		return -EDEADLK;	/* from inside a callback */
	r = build_pollfds(&n);
	if (r < 0)
		return r;
	r = poll(P.pfd, n, next_timeout());
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	P.dispatching = true;
	dispatch(r > 0 ? n : 0);
	P.dispatching = false;
	sweep(&P.w);
	sweep(&P.t);
	return 0;
}

const struct yg_loop_impl yg_loop_poll = {
	.name = "poll",
	.watch_add = poll_watch_add,
	.watch_update = poll_watch_update,
	.watch_remove = poll_watch_remove,
	.timer_add = poll_timer_add,
	.timer_remove = poll_timer_remove,
	.run_once = poll_run_once,
};

/* ---- the switch ---- */

static const struct yg_loop_impl *cur = &yg_loop_poll;

void yg_loop_select(const struct yg_loop_impl *impl)
{
	cur = impl ? impl : &yg_loop_poll;
}

const struct yg_loop_impl *yg_loop_current(void)
{
	return cur;
}

int yg_loop_watch_add(int fd, int events, yg_watch_fn fn, void *opaque)
{
	return cur->watch_add(fd, events, fn, opaque);
}

void yg_loop_watch_update(int watch, int events)
{
	if (watch >= 0)
		cur->watch_update(watch, events);
}

void yg_loop_watch_remove(int watch)
{
	if (watch >= 0)
		cur->watch_remove(watch);
}

int yg_loop_timer_add(unsigned long ms, yg_timer_fn fn, void *opaque)
{
	int t = ms < 1 ? 1 : ms > (unsigned long)INT32_MAX ? INT32_MAX : (int)ms;

	return cur->timer_add(t, fn, opaque);
}

void yg_loop_timer_remove(int timer)
{
	if (timer >= 0)
		cur->timer_remove(timer);
}

int yg_loop_run_once(void)
{
	return cur->run_once();
}
