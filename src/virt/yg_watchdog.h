/* SPDX-License-Identifier: MIT */
/* yg_watchdog.h: a bound on what libvirt itself does not bound.
 *
 * virConnectOpen has no timeout, and a call whose daemon answers keepalives
 * but never the call itself waits forever. One thread per process sleeps
 * until the earliest of two deadlines; when one passes, the thread calls the
 * process's hook (which must not call libvirt: the main thread may be stuck
 * in it) and ends the process with _exit(1). The kernel then drops its
 * flocks (a box lock is released).
 *
 *   call deadline   yg_watchdog_arm(ms, what) ... yg_watchdog_disarm(),
 *                   around one libvirt call (not nested: a disarm lifts it)
 *   final deadline  yg_watchdog_final(), from a SIGTERM handler: the process
 *                   ends final_ms later whatever it is doing; nothing lifts it
 *
 * The thread blocks every signal, so signals keep reaching the main thread.
 */
#ifndef YG_WATCHDOG_H
#define YG_WATCHDOG_H

#include "yg_err.h"

/* The bounds of libvirt calls (see yolo-gated(8)). libvirt's keepalive
 * (yg_conn_open) probes a connection after YG_VIRT_KEEPALIVE_S s of silence,
 * again every YG_VIRT_KEEPALIVE_S s, and closes it when YG_VIRT_KEEPALIVE_COUNT
 * probes in a row went unanswered: YG_VIRT_DEAD_S s after the daemon's last
 * byte (measured: 20.3 s for 5 x 3). A connect (virConnectOpen and the
 * keepalive setup) and a close get as long, YG_VIRT_CONNECT_MS; one call of
 * the box layer (yg_box.c: state, revert, resume, ...) YG_VIRT_CALL_MS. */
#define YG_VIRT_KEEPALIVE_S	5
#define YG_VIRT_KEEPALIVE_COUNT	3
#define YG_VIRT_DEAD_S		((unsigned)(YG_VIRT_KEEPALIVE_S * (YG_VIRT_KEEPALIVE_COUNT + 1)))
#define YG_VIRT_CONNECT_MS	(YG_VIRT_DEAD_S * 1000u)
#define YG_VIRT_CALL_MS		120000u

/* What a user hears when a bound passed (a printf format: the seconds). */
#define YG_VIRT_UNANSWERED "libvirt did not answer within %u s; the box's host may be " \
	"overloaded; try again, or tell your admin"

/* The value of the libvirt call expr, bounded by YG_VIRT_CALL_MS; the rest
 * is what waits, for the log: YG_BOUND(virDomainResume(d), "resuming %s", n) */
#define YG_BOUND(expr, ...) __extension__ ({ \
	yg_watchdog_arm(YG_VIRT_CALL_MS, __VA_ARGS__); \
	__typeof__(expr) yg_bound_v_ = (expr); \
	yg_watchdog_disarm(); \
	yg_bound_v_; })

enum yg_watchdog_why {
	YG_WATCHDOG_CALL,	/* a call deadline passed: libvirt did not answer */
	YG_WATCHDOG_FINAL,	/* the final deadline passed */
};

/* Called in the watchdog thread when a deadline passed; the process ends
 * with _exit(1) when it returns. what: yg_watchdog_arm's text ("" for the
 * final deadline); secs: the bound that passed, in seconds. */
typedef void (*yg_watchdog_fn)(enum yg_watchdog_why why, const char *what, unsigned secs,
			       void *opaque);

/* Start the thread (once per process) and set the hook (NULL: log the
 * event and print a line to stderr) and the final bound. 0 or -errno. */
int yg_watchdog_start(unsigned final_ms, yg_watchdog_fn fn, void *opaque, yg_err *err)
	YG_MUST_CHECK;
/* The process ends ms from now unless yg_watchdog_disarm comes first; what
 * says what waits, for the log ("connecting to qemu:///system"). Starts the
 * thread (default hook) when yg_watchdog_start was not called; without a
 * thread (pthread_create failed) there is no bound. */
void yg_watchdog_arm(unsigned ms, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void yg_watchdog_disarm(void);
/* Async-signal-safe: the process ends final_ms (yg_watchdog_start) from the
 * first call at the latest. No effect before yg_watchdog_start. */
void yg_watchdog_final(void);

#endif
