/* SPDX-License-Identifier: MIT */
/* yg_loop.h: the event loop the broker's relay runs on.
 *
 * One loop per process, chosen once at start-up through a table of
 * functions (struct yg_loop_impl): the poll(2) one here, the default (unit
 * tests, any program without libvirt), or libvirt's default event loop
 * (yg_virtloop_register in libygvirt), which libvirt streams need to deliver
 * their events. Code above (the relay, endpoints) only calls yg_loop_*.
 *
 * A watch reports YG_EV_* on an fd: READ and WRITE as asked for, ERROR and
 * HUP always while any interest is set; a watch with no interest (0) is not
 * polled at all. A timer fires every ms milliseconds until removed. Callbacks
 * run from yg_loop_run_once, in the thread that calls it; they may add,
 * update and remove watches and timers (their own included). Not
 * thread-safe: one thread runs the loop.
 */
#ifndef YG_LOOP_H
#define YG_LOOP_H

#include "yg_err.h"

#define YG_EV_READ  1
#define YG_EV_WRITE 2
#define YG_EV_ERROR 4
#define YG_EV_HUP   8

typedef void (*yg_watch_fn)(int watch, int fd, int events, void *opaque);
typedef void (*yg_timer_fn)(int timer, void *opaque);

struct yg_loop_impl {
	const char *name;
	/* a watch or timer id >= 0, or a negative errno */
	int (*watch_add)(int fd, int events, yg_watch_fn fn, void *opaque);
	void (*watch_update)(int watch, int events);
	void (*watch_remove)(int watch);
	int (*timer_add)(int ms, yg_timer_fn fn, void *opaque);
	void (*timer_remove)(int timer);
	/* wait for the next events or timers and dispatch them: 0 or -errno */
	int (*run_once)(void);
};

/* The poll(2) implementation. */
extern const struct yg_loop_impl yg_loop_poll;

/* Use impl from now on (NULL = yg_loop_poll). Call it before anything is
 * watched: watches and timers stay with the implementation that made them. */
void yg_loop_select(const struct yg_loop_impl *impl);
const struct yg_loop_impl *yg_loop_current(void);

int yg_loop_watch_add(int fd, int events, yg_watch_fn fn, void *opaque) YG_MUST_CHECK;
void yg_loop_watch_update(int watch, int events);
void yg_loop_watch_remove(int watch);		/* -1 ok */
/* ms is clamped to 1 .. INT32_MAX. */
int yg_loop_timer_add(unsigned long ms, yg_timer_fn fn, void *opaque) YG_MUST_CHECK;
void yg_loop_timer_remove(int timer);		/* -1 ok */
int yg_loop_run_once(void) YG_MUST_CHECK;

#endif
