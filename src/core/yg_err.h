/* SPDX-License-Identifier: MIT */
/* yg_err.h: the error record every yolo-gate layer fills in.
 *
 * Convention (see docs/HACKING.md): functions return 0 on success or a
 * negative errno; when they fail they also write a sentence for a human into
 * a yg_err: what failed, on which object, and what to do about it, e.g.
 *   box yolo-alice has no snapshot 'clean-state' (run: yolo-gatectl provision alice)
 */
#ifndef YG_ERR_H
#define YG_ERR_H

#include <stddef.h>

#define YG_ERR_MSG_MAX 512

/* On every function that returns an error (0 or a negative errno): its
 * caller must look at it. A best-effort call says so: (void)!f(...). */
#define YG_MUST_CHECK __attribute__((warn_unused_result))

typedef struct yg_err {
	int code;                 /* negative errno, 0 when unset */
	char msg[YG_ERR_MSG_MAX]; /* one line, no trailing newline */
} yg_err;

/* Fill err (which may be NULL) and return code (a negative errno), so that
 * callers can write: return yg_err_set(err, -ENOENT, "box %s ...", name); */
int yg_err_set(yg_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix an existing message: "context: old message". Returns err->code. */
int yg_err_prefix(yg_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline void yg_err_clear(yg_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

#endif
