/* SPDX-License-Identifier: MIT */
/* yg_watchdog.c: the process's deadline thread, see yg_watchdog.h.
 *
 * The thread sleeps in poll() on a pipe until the earliest deadline. An arm
 * wakes it only when its deadline is earlier than the one the thread sleeps
 * towards (a disarm never does: the thread wakes at the old deadline, finds
 * none or a later one and sleeps again), so a call costs a lock and a
 * snprintf. yg_watchdog_final, from a signal handler, only sets a flag and
 * writes to the pipe; the thread turns it into a deadline.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "yg_log.h"
#include "yg_time.h"
#include "yg_watchdog.h"

static struct {
	pthread_mutex_t mu;
	int started;			/* 1 running, -errno when it cannot */
	int wake[2];
	uint64_t call_at;		/* 0 = not armed */
	unsigned call_ms;
	char what[256];
	uint64_t target;		/* the thread sleeps until then, 0 = no end */
	uint64_t final_at;
	unsigned final_ms;
	volatile sig_atomic_t final_req;
	yg_watchdog_fn fn;
	void *opaque;
} wd = { .mu = PTHREAD_MUTEX_INITIALIZER, .wake = { -1, -1 } };

static void default_hook(enum yg_watchdog_why why, const char *what, unsigned secs,
			 void *opaque)
{
	char b[24];

	(void)opaque;
	snprintf(b, sizeof(b), "%u", secs);
	if (why == YG_WATCHDOG_FINAL) {
		yg_log(YG_LOG_ERROR, "event", "stop_timeout", "bound_s", b, NULL);
		return;
	}
	yg_log(YG_LOG_ERROR, "event", "libvirt_timeout", "what", what, "bound_s", b, NULL);
	fprintf(stderr, "%s: libvirt did not answer within %u s (%s); the host may be "
		"overloaded; try again, or tell your admin\n", program_invocation_short_name,
		secs, what);
}

static void expire(enum yg_watchdog_why why, const char *what, unsigned ms)
	__attribute__((noreturn));
static void expire(enum yg_watchdog_why why, const char *what, unsigned ms)
{
	wd.fn(why, what, (ms + 999) / 1000, wd.opaque);
	_exit(1);
}

static void *run(void *arg)
{
	char what[sizeof(wd.what)], buf[16];
	struct pollfd p = { .events = POLLIN };
	uint64_t now, next;

	(void)arg;
	p.fd = wd.wake[0];
	for (;;) {
		pthread_mutex_lock(&wd.mu);
		now = yg_now_ms();
		if (wd.final_req && !wd.final_at)
			wd.final_at = now + wd.final_ms;
		if (wd.final_at && now >= wd.final_at) {
			pthread_mutex_unlock(&wd.mu);
			expire(YG_WATCHDOG_FINAL, "", wd.final_ms);
		}
		if (wd.call_at && now >= wd.call_at) {
			unsigned ms = wd.call_ms;

			memcpy(what, wd.what, sizeof(what));
			pthread_mutex_unlock(&wd.mu);
			expire(YG_WATCHDOG_CALL, what, ms);
		}
		next = wd.final_at;
		if (wd.call_at && (!next || wd.call_at < next))
			next = wd.call_at;
		wd.target = next;
		pthread_mutex_unlock(&wd.mu);
		if (poll(&p, 1, yg_ms_left(next)) > 0)
			while (read(p.fd, buf, sizeof(buf)) > 0)
				;
	}
	return NULL;
}

/* Called with wd.mu held. */
static int start_locked(void)
{
	sigset_t all, old;
	pthread_attr_t a;
	pthread_t t;
	int r;

	if (wd.started)
		return wd.started < 0 ? wd.started : 0;
	if (pipe2(wd.wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		wd.started = -errno;
		return wd.started;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &a, run, NULL);
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		close(wd.wake[0]);
		close(wd.wake[1]);
		wd.wake[0] = wd.wake[1] = -1;
		wd.started = -r;
		return -r;
	}
	wd.started = 1;
	return 0;
}

int yg_watchdog_start(unsigned final_ms, yg_watchdog_fn fn, void *opaque, yg_err *err)
{
	int r;

	pthread_mutex_lock(&wd.mu);
	wd.fn = fn ? fn : default_hook;
	wd.opaque = opaque;
	wd.final_ms = final_ms;
	r = start_locked();
	pthread_mutex_unlock(&wd.mu);
	if (r < 0)
		return yg_err_set(err, r, "cannot start the thread that bounds libvirt calls: %s",
				  strerror(-r));
	return 0;
}

void yg_watchdog_arm(unsigned ms, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&wd.mu);
	if (!wd.fn)
		wd.fn = default_hook;
	if (start_locked() == 0) {
		wd.call_at = yg_now_ms() + ms;
		wd.call_ms = ms;
		va_start(ap, fmt);
		vsnprintf(wd.what, sizeof(wd.what), fmt, ap);
		va_end(ap);
		if (!wd.target || wd.call_at < wd.target)
			(void)!write(wd.wake[1], "a", 1);
	}
	pthread_mutex_unlock(&wd.mu);
}

void yg_watchdog_disarm(void)
{
	pthread_mutex_lock(&wd.mu);
	wd.call_at = 0;
	pthread_mutex_unlock(&wd.mu);
}

void yg_watchdog_final(void)
{
	int saved = errno;

	wd.final_req = 1;
	if (wd.wake[1] >= 0)
		(void)!write(wd.wake[1], "f", 1);
	errno = saved;
}
