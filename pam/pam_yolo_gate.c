/* SPDX-License-Identifier: MIT */
/* pam_yolo_gate.c: PAM module that puts gated users into their yolo-gate box.
 *
 *   account   ACCOUNT(user) -> POLICY: gated and enabled -> PAM_SUCCESS; no
 *             policy -> PAM_IGNORE (PAM_PERM_DENIED with `require`); disabled
 *             -> PAM_PERM_DENIED with the broker's message.
 *   session   open: PREPARE(user, rhost) -> SESSION(id), YOLO_GATE_SESSION=id;
 *             close: RELEASE(id) -> EXIT.
 *
 * The pam_sm_* entry points are thin wrappers around yg_pam_run(). State that
 * must outlive a call (the session id) lives in pam_set_data, never in
 * globals. See pam_yolo_gate(8).
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "pam_options.h"
#include "yg_client.h"
#include "yg_log.h"
#include "yg_proto.h"
#include "yg_rundir.h"
#include "yg_text.h"
#include "yg_time.h"

#define YG_PAM_DATA_SESSION "yolo_gate_session"
#define YG_PAM_ENV_SESSION  "YOLO_GATE_SESSION"
#define YG_PAM_LOG_MAX      1024

enum yg_pam_phase { YG_PAM_ACCOUNT, YG_PAM_OPEN, YG_PAM_CLOSE };

typedef struct yg_pam_ctx {
	pam_handle_t *pamh;
	int flags;
	enum yg_pam_phase phase;
	yg_pam_opts opts;
	const char *user;
} yg_pam_ctx;

static const char *const yg_pam_phase_name[] = {
	[YG_PAM_ACCOUNT] = "account",
	[YG_PAM_OPEN] = "open_session",
	[YG_PAM_CLOSE] = "close_session",
};

/* pam_syslog one "key=value key=value" line from (key, value) pairs ending in
 * NULL, values escaped with yg_log_escape. LOG_DEBUG only with `debug`. */
static void __attribute__((sentinel)) yg_pam_log(const yg_pam_ctx *c, int prio, ...)
{
	char line[YG_PAM_LOG_MAX], val[256];
	const char *k, *v;
	size_t off = 0;
	va_list ap;
	int n;

	if (prio == LOG_DEBUG && !c->opts.debug)
		return;
	line[0] = '\0';
	va_start(ap, prio);
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		yg_log_escape(v ? v : "-", val, sizeof(val));
		n = snprintf(line + off, sizeof(line) - off, "%s%s=%s", off ? " " : "", k, val);
		if (n < 0 || (size_t)n >= sizeof(line) - off)
			break;
		off += (size_t)n;
	}
	va_end(ap);
	pam_syslog(c->pamh, prio, "%s", line);
}

/* Tell the user something through the application's conversation function.
 * Errors are always shown; information is suppressed by PAM_SILENT. */
static void __attribute__((format(printf, 3, 4)))
yg_pam_say(const yg_pam_ctx *c, int style, const char *fmt, ...)
{
	char raw[YG_TEXT_MAX + 128], msg[sizeof(raw)];
	va_list ap;

	if (c->phase == YG_PAM_CLOSE || (style == PAM_TEXT_INFO && (c->flags & PAM_SILENT)))
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* the broker's text reaches the user's terminal: no control sequences */
	yg_text_safe(raw, msg, sizeof(msg));
	if (style == PAM_TEXT_INFO)
		pam_info(c->pamh, "%s", msg);
	else
		pam_error(c->pamh, "%s", msg);
}

static void yg_pam_unknown_option(void *ctx, const char *arg)
{
	yg_pam_log(ctx, LOG_WARNING, "event", "pam_option_unknown", "option", arg,
		   "action", "ignored", NULL);
}

/* The user exists and fits the protocol: PAM_SUCCESS or PAM_USER_UNKNOWN. */
static int yg_pam_check_user(yg_pam_ctx *c)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int r;

	r = pam_get_user(c->pamh, &c->user, NULL);
	if (r != PAM_SUCCESS || !c->user || !*c->user) {
		yg_pam_log(c, LOG_ERR, "event", "pam_no_user", "phase",
			   yg_pam_phase_name[c->phase], "error", pam_strerror(c->pamh, r), NULL);
		return r == PAM_SUCCESS ? PAM_USER_UNKNOWN : r;
	}
	if (strlen(c->user) <= YG_NAME_MAX &&
	    getpwnam_r(c->user, &pw, buf, sizeof(buf), &res) == 0 && res)
		return PAM_SUCCESS;
	yg_pam_log(c, LOG_NOTICE, "event", "pam_user_unknown", "user", c->user, "phase",
		   yg_pam_phase_name[c->phase], NULL);
	return PAM_USER_UNKNOWN;
}

static int yg_pam_no_policy(yg_pam_ctx *c)
{
	if (!c->opts.require) {
		yg_pam_log(c, LOG_DEBUG, "event", "pam_no_policy", "user", c->user, "phase",
			   yg_pam_phase_name[c->phase], "result", "ignore", NULL);
		return PAM_IGNORE;
	}
	yg_pam_log(c, LOG_NOTICE, "event", "pam_no_policy", "user", c->user, "phase",
		   yg_pam_phase_name[c->phase], "result", "deny", "reason", "require", NULL);
	yg_pam_say(c, PAM_ERROR_MSG, "yolo-gate: no box is configured for user %s and this "
		   "service admits only gated users; ask an admin to add a policy for you.",
		   c->user);
	return PAM_PERM_DENIED;
}

static int yg_pam_denied(yg_pam_ctx *c, const char *why, const char *text)
{
	yg_pam_log(c, LOG_NOTICE, "event", "pam_denied", "user", c->user, "phase",
		   yg_pam_phase_name[c->phase], "reason", why, "text", text, NULL);
	yg_pam_say(c, PAM_ERROR_MSG, "yolo-gate: %s", *text ? text : "access to your box is "
		   "refused by policy; ask an admin.");
	return PAM_PERM_DENIED;
}

/* The broker could not be reached or stayed silent: apply fail=. */
static int yg_pam_broker_unreachable(yg_pam_ctx *c, const yg_err *err)
{
	if (c->opts.fail == YG_PAM_FAIL_OPEN) {
		yg_pam_log(c, LOG_WARNING, "event", "pam_broker_down", "user", c->user, "phase",
			   yg_pam_phase_name[c->phase], "socket", c->opts.socket, "error",
			   err->msg, "action", "allow", "reason", "fail=open", NULL);
		return PAM_IGNORE;
	}
	yg_pam_log(c, LOG_ERR, "event", "pam_broker_down", "user", c->user, "phase",
		   yg_pam_phase_name[c->phase], "socket", c->opts.socket, "error", err->msg,
		   "action", "deny", "hint", "start yolo-gated, or set fail=open to let users "
		   "in while it is down", NULL);
	yg_pam_say(c, PAM_ERROR_MSG, "yolo-gate: the gate broker is down, so this login is "
		   "refused (fail=closed; fail=open would let you in); try again later or ask "
		   "an admin.");
	return PAM_SYSTEM_ERR;
}

static int yg_pam_fault(yg_pam_ctx *c, const char *what, const char *text)
{
	yg_pam_log(c, LOG_ERR, "event", "pam_broker_error", "user", c->user, "phase",
		   yg_pam_phase_name[c->phase], "error", what, "text", text, NULL);
	yg_pam_say(c, PAM_ERROR_MSG, "yolo-gate: %s", *text ? text : "the gate broker failed; "
		   "ask an admin to read the yolo-gated log.");
	return PAM_SYSTEM_ERR;
}

/* The broker answered ERROR: a denial the user hears about, or a fault. */
static int yg_pam_refused(yg_pam_ctx *c, uint32_t code, const char *text)
{
	switch (code) {
	case YG_ERR_NOPOLICY:
		return yg_pam_no_policy(c);
	case YG_ERR_DISABLED:
		return yg_pam_denied(c, "disabled", text);
	case YG_ERR_DENIED:
		return yg_pam_denied(c, "denied", text);
	case YG_ERR_BUSY:
		return yg_pam_denied(c, "busy", text);
	default:
		return yg_pam_fault(c, "broker error", text);
	}
}

/* A PROGRESS line of the broker (e.g. PREPARE waiting for the revert of the
 * previous session) goes to the user as information. */
static void yg_pam_progress(void *ctx, const char *text)
{
	yg_pam_say(ctx, PAM_TEXT_INFO, "yolo-gate: %s", text);
}

/* Connect for one request, bounded by timeout= or the request's default. */
static int yg_pam_dial(yg_pam_ctx *c, const char *request, int default_ms, yg_client *cl,
		       yg_err *err)
{
	const yg_client_cfg cfg = {
		.socket = c->opts.socket,
		.name = "pam_yolo_gate",
		.timeout_ms = yg_pam_opts_timeout(&c->opts, default_ms),
		.idle_ms = -1,
		.progress = yg_pam_progress,
		.progress_ctx = c,
	};

	yg_err_clear(err);
	yg_pam_log(c, LOG_DEBUG, "event", "pam_request", "user", c->user, "request", request,
		   "socket", c->opts.socket, NULL);
	return yg_client_connect(cl, &cfg, err);
}

/* A yg_client call on cl failed with r: close cl, return the PAM code. */
static int yg_pam_failed(yg_pam_ctx *c, yg_client *cl, int r, const yg_err *err)
{
	int rc;

	if (yg_client_unreachable(r))
		rc = yg_pam_broker_unreachable(c, err);
	else if (r == -EREMOTEIO)
		rc = yg_pam_refused(c, cl->refusal.code, cl->refusal.text);
	else if (r == -EBADMSG)
		rc = yg_pam_fault(c, "unexpected reply", err->msg);
	else
		rc = yg_pam_fault(c, err->msg, "");
	yg_client_close(cl);
	return rc;
}

static int yg_pam_account(yg_pam_ctx *c)
{
	yg_client_policy pol;
	yg_client cl;
	yg_err err;
	int r;

	r = yg_pam_dial(c, "ACCOUNT", YG_PAM_ACCOUNT_TIMEOUT_MS, &cl, &err);
	if (r == 0)
		r = yg_client_account(&cl, c->user, &pol, &err);
	if (r < 0)
		return yg_pam_failed(c, &cl, r, &err);
	yg_client_close(&cl);
	if (!pol.gated)
		return yg_pam_no_policy(c);
	if (!pol.enabled)
		return yg_pam_denied(c, "disabled", pol.text);
	yg_pam_log(c, LOG_INFO, "event", "pam_account", "user", c->user, "result", "gated",
		   NULL);
	return PAM_SUCCESS;
}

static void yg_pam_free_data(pam_handle_t *pamh, void *data, int error_status)
{
	free(data);
}

static int yg_pam_release(yg_pam_ctx *c, const char *session)
{
	yg_client_exit ex;
	yg_client cl;
	char status[16];
	yg_err err;
	int r;

	r = yg_pam_dial(c, "RELEASE", YG_PAM_RELEASE_TIMEOUT_MS, &cl, &err);
	if (r == 0)
		r = yg_client_release(&cl, session, &ex, &err);
	if (r < 0)
		return yg_pam_failed(c, &cl, r, &err);
	yg_client_close(&cl);
	snprintf(status, sizeof(status), "%u", ex.status);
	yg_pam_log(c, LOG_INFO, "event", "pam_release", "user", c->user, "session", session,
		   "status", status, "reason", ex.reason, NULL);
	return PAM_SUCCESS;
}

static int yg_pam_open(yg_pam_ctx *c)
{
	char env[sizeof(YG_PAM_ENV_SESSION) + YG_SESSION_MAX + 1], ms[24];
	char from[YG_NAME_MAX + 1] = "", sid[YG_SESSION_MAX + 1];
	const void *rhost = NULL;
	uint64_t t0, t1;
	yg_client cl;
	yg_err err;
	char *id;
	int r;

	if (!c->opts.prepare) {
		yg_pam_log(c, LOG_DEBUG, "event", "pam_prepare", "user", c->user, "result",
			   "skipped", "reason", "prepare=no", NULL);
		return PAM_IGNORE;
	}
	/* a longer PAM_RHOST is cut: the broker only logs it */
	if (pam_get_item(c->pamh, PAM_RHOST, &rhost) == PAM_SUCCESS && rhost)
		snprintf(from, sizeof(from), "%s", (const char *)rhost);
	t0 = yg_now_ms();
	r = yg_pam_dial(c, "PREPARE", YG_PAM_PREPARE_TIMEOUT_MS, &cl, &err);
	if (r == 0)
		r = yg_client_prepare(&cl, c->user, from, sid, &err);
	if (r < 0)
		return yg_pam_failed(c, &cl, r, &err);
	yg_client_close(&cl);
	t1 = yg_now_ms();
	if (!yg_session_id_valid(sid))
		return yg_pam_fault(c, "bad session id", sid);
	id = strdup(sid);
	if (!id || pam_set_data(c->pamh, YG_PAM_DATA_SESSION, id, yg_pam_free_data)
	    != PAM_SUCCESS) {
		free(id);
		r = yg_pam_fault(c, "cannot keep the session id", "");
		goto release;
	}
	snprintf(env, sizeof(env), YG_PAM_ENV_SESSION "=%s", id);
	if (pam_putenv(c->pamh, env) != PAM_SUCCESS) {
		r = yg_pam_fault(c, "cannot set " YG_PAM_ENV_SESSION, "");
		pam_set_data(c->pamh, YG_PAM_DATA_SESSION, NULL, NULL);
		goto release;
	}
	snprintf(ms, sizeof(ms), "%llu", (unsigned long long)(t1 - t0));
	yg_pam_log(c, LOG_INFO, "event", "pam_prepare", "user", c->user, "session", id,
		   "from", from, "ms", ms, NULL);
	return PAM_SUCCESS;
release:
	/* the broker holds a prepared box nobody will open: give it back */
	yg_pam_release(c, sid);
	return r;
}

static int yg_pam_close(yg_pam_ctx *c)
{
	const void *data = NULL;
	char id[YG_SESSION_MAX + 1];

	if (pam_get_data(c->pamh, YG_PAM_DATA_SESSION, &data) != PAM_SUCCESS || !data) {
		yg_pam_log(c, LOG_DEBUG, "event", "pam_release", "user", c->user, "result",
			   "skipped", "reason", "no session", NULL);
		return PAM_IGNORE;
	}
	snprintf(id, sizeof(id), "%s", (const char *)data);
	/* forget it first: a second close must not release twice */
	pam_set_data(c->pamh, YG_PAM_DATA_SESSION, NULL, NULL);
	return yg_pam_release(c, id);
}

static int yg_pam_run(pam_handle_t *pamh, int flags, int argc, const char **argv,
		      enum yg_pam_phase phase)
{
	yg_pam_ctx c = { .pamh = pamh, .flags = flags, .phase = phase };
	yg_err err;
	int r;

	yg_err_clear(&err);
	/* c.opts.debug is false while parsing: unknown options still log (WARNING) */
	if (yg_pam_opts_parse(argc, argv, &c.opts, &err, yg_pam_unknown_option, &c) < 0) {
		yg_pam_log(&c, LOG_ERR, "event", "pam_config_error", "phase",
			   yg_pam_phase_name[phase], "error", err.msg, NULL);
		return PAM_SERVICE_ERR;
	}
	r = yg_pam_check_user(&c);
	if (r != PAM_SUCCESS)
		return r;
	switch (phase) {
	case YG_PAM_ACCOUNT:
		return yg_pam_account(&c);
	case YG_PAM_OPEN:
		return yg_pam_open(&c);
	case YG_PAM_CLOSE:
		return yg_pam_close(&c);
	}
	return PAM_SERVICE_ERR;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return yg_pam_run(pamh, flags, argc, argv, YG_PAM_ACCOUNT);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return yg_pam_run(pamh, flags, argc, argv, YG_PAM_OPEN);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return yg_pam_run(pamh, flags, argc, argv, YG_PAM_CLOSE);
}

/* Not an authentication module: the other stacks ignore it. */
PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_IGNORE;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_IGNORE;
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return PAM_IGNORE;
}
