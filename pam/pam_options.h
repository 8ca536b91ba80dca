/* SPDX-License-Identifier: MIT */
/* pam_options.h: the module arguments of pam_yolo_gate.so, parsed by a pure
 * function (no PAM handle, no I/O) so it can be unit tested and fuzzed.
 *
 *   socket=PATH        broker socket (default RUNSTATEDIR/yolo-gate/gated.sock)
 *   require            a user with no policy is refused instead of ignored
 *   debug              log every step at LOG_DEBUG
 *   prepare=yes|no     ask the broker to prepare the box at session open
 *   timeout=DURATION   bound on connect + reply (units ms, s, m; bare = s)
 *   fail=closed|open   what to do when the broker cannot be reached
 */
#ifndef YG_PAM_OPTIONS_H
#define YG_PAM_OPTIONS_H

#include <stdbool.h>

#include "yg_err.h"

#define YG_PAM_SOCKET_MAX 107	/* sizeof(sun_path) - 1 */
#define YG_PAM_TIMEOUT_MAX_MS (60 * 60 * 1000)

/* Default reply bounds when timeout= is not given, per request. */
#define YG_PAM_ACCOUNT_TIMEOUT_MS 5000
#define YG_PAM_PREPARE_TIMEOUT_MS 30000	/* PREPARE may wait for a revert */
#define YG_PAM_RELEASE_TIMEOUT_MS 30000	/* the broker answers once the box is reverted */

enum yg_pam_fail { YG_PAM_FAIL_CLOSED = 0, YG_PAM_FAIL_OPEN = 1 };

typedef struct yg_pam_opts {
	char socket[YG_PAM_SOCKET_MAX + 1];
	bool require;
	bool debug;
	bool prepare;
	int timeout_ms;		/* 0 = the per-request default above */
	enum yg_pam_fail fail;
} yg_pam_opts;

/* Called once per argument that is not in the option table (the caller logs
 * it with pam_syslog); may be NULL. */
typedef void (*yg_pam_unknown_fn)(void *ctx, const char *arg);

/* Fill o with the defaults, then apply argv in order (a later option wins).
 * Returns 0, or -EINVAL for a bad value of a known option (err says which and
 * what is valid). Unknown options are reported through unknown and skipped. */
int yg_pam_opts_parse(int argc, const char **argv, yg_pam_opts *o, yg_err *err,
		      yg_pam_unknown_fn unknown, void *ctx) YG_MUST_CHECK;

/* "250ms", "30s", "30", "2m" -> milliseconds in 1..YG_PAM_TIMEOUT_MAX_MS.
 * Returns 0 or -EINVAL. */
int yg_pam_duration_parse(const char *s, int *ms) YG_MUST_CHECK;

/* The timeout for a request whose default is default_ms. */
static inline int yg_pam_opts_timeout(const yg_pam_opts *o, int default_ms)
{
	return o->timeout_ms > 0 ? o->timeout_ms : default_ms;
}

#endif
