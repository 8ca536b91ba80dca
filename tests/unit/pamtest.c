/* SPDX-License-Identifier: MIT */
/* pamtest: pam_yolo_gate.so through the real libpam (pam_start_confdir) against
 * a scripted fake broker (pamfake.c), plus the pure option parser.
 *
 * libpam's pam_syslog() ends in __syslog_chk(); this program defines it, so
 * the module's log lines land in a buffer the tests read.
 *
 *   pamtest                       run the tests
 *   pamtest --serve SOCK STEP...  be the fake broker (for pamtester.sh): STEP is
 *                                 policy:G:E:TEXT error:CODE:TEXT session:ID
 *                                 exit:STATUS:REASON silent hangup
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <security/pam_appl.h>

#include "pam_options.h"
#include "pamfake.h"

/* ---- captured syslog and conversation ---- */

static char yg_logbuf[65536];
static char yg_convbuf[8192];

void __syslog_chk(int pri, int flag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void __syslog_chk(int pri, int flag, const char *fmt, ...)
{
	size_t start = strlen(yg_logbuf), off;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(yg_logbuf + start, sizeof(yg_logbuf) - start, fmt, ap);
	va_end(ap);
	off = strlen(yg_logbuf);
	snprintf(yg_logbuf + off, sizeof(yg_logbuf) - off, "\n");
	if (getenv("PAMTEST_VERBOSE"))
		fprintf(stderr, "syslog: %s", yg_logbuf + start);
}

static int yg_conv(int n, const struct pam_message **msg, struct pam_response **resp,
		   void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	size_t off;
	int i;

	if (!r)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		/* pam_debug.so, which shows the module's PAM_IGNORE, talks too */
		if (strstr(msg[i]->msg, "=authinfo_unavail"))
			continue;
		off = strlen(yg_convbuf);
		snprintf(yg_convbuf + off, sizeof(yg_convbuf) - off, "%s: %s\n",
			 msg[i]->msg_style == PAM_ERROR_MSG ? "error" : "info", msg[i]->msg);
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* ---- fixture: a temp dir with the fake broker and the service file ---- */

typedef struct yg_t {
	char dir[64];
	char sock[128];
	yg_fake fake;
	char user[64];
	pam_handle_t *pamh;
} yg_t;

static int yg_setup(void **state)
{
	yg_t *t = calloc(1, sizeof(*t));
	struct passwd *pw = getpwuid(geteuid());

	assert_non_null(t);
	assert_non_null(pw);
	snprintf(t->user, sizeof(t->user), "%s", pw->pw_name);
	strcpy(t->dir, "/tmp/ygpam.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->sock, sizeof(t->sock), "%s/gated.sock", t->dir);
	assert_int_equal(yg_fake_start(&t->fake, t->sock), 0);
	yg_logbuf[0] = yg_convbuf[0] = '\0';
	*state = t;
	return 0;
}

static int yg_teardown(void **state)
{
	yg_t *t = *state;
	char path[256];

	if (t->pamh)
		pam_end(t->pamh, PAM_SUCCESS);
	yg_fake_stop(&t->fake);
	snprintf(path, sizeof(path), "%s/yg-test", t->dir);
	unlink(path);
	rmdir(t->dir);
	free(t);
	return 0;
}

/* Expand "SOCK" in args to socket=<the fake broker's socket>. */
static void yg_args(const yg_t *t, const char *args, char *a, size_t n)
{
	const char *s;
	size_t len;

	a[0] = '\0';
	for (s = args; *s && strlen(a) + 1 < n; ) {
		if (!strncmp(s, "SOCK", 4)) {
			snprintf(a + strlen(a), n - strlen(a), "socket=%s", t->sock);
			s += 4;
		} else {
			len = strlen(a);
			a[len] = *s++;
			a[len + 1] = '\0';
		}
	}
}

/* Write <dir>/yg-test from the template with args, and start a PAM
 * transaction for user. */
static void yg_begin(yg_t *t, const char *user, const char *args)
{
	static const struct pam_conv conv = { yg_conv, NULL };
	char tmpl[4096], out[8192], a[512], path[256], *p, *q;
	size_t len;
	FILE *f;

	yg_args(t, args, a, sizeof(a));
	f = fopen(YG_PAM_SERVICE_IN, "r");
	assert_non_null(f);
	len = fread(tmpl, 1, sizeof(tmpl) - 1, f);
	fclose(f);
	tmpl[len] = '\0';
	out[0] = '\0';
	for (p = tmpl; (q = strchr(p, '@')); p = q) {
		strncat(out, p, (size_t)(q - p));
		if (!strncmp(q, "@MODULE@", 8)) {
			strcat(out, YG_PAM_MODULE);
			q += 8;
		} else if (!strncmp(q, "@ARGS@", 6)) {
			strcat(out, a);
			q += 6;
		} else {
			strncat(out, q++, 1);
		}
	}
	strcat(out, p);
	snprintf(path, sizeof(path), "%s/yg-test", t->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(out, f);
	fclose(f);
	if (t->pamh)
		pam_end(t->pamh, PAM_SUCCESS);
	t->pamh = NULL;
	assert_int_equal(pam_start_confdir("yg-test", user ? user : t->user, &conv, t->dir,
					   &t->pamh), PAM_SUCCESS);
	yg_logbuf[0] = yg_convbuf[0] = '\0';
}

/* The stack turns the module's PAM_IGNORE into PAM_AUTHINFO_UNAVAIL. */
static int yg_mod(int r)
{
	return r == PAM_AUTHINFO_UNAVAIL ? PAM_IGNORE : r;
}

static int yg_acct(yg_t *t, const char *user, const char *args)
{
	yg_begin(t, user, args);
	return yg_mod(pam_acct_mgmt(t->pamh, 0));
}

static void yg_script1(yg_t *t, yg_fake_step s)
{
	yg_fake_script(&t->fake, &s, 1);
}

#define assert_in(hay, needle) do { \
	if (!strstr((hay), (needle))) \
		fail_msg("'%s' not found in:\n%s", (needle), (hay)); \
} while (0)
#define assert_not_in(hay, needle) do { \
	if (strstr((hay), (needle))) \
		fail_msg("'%s' unexpectedly found in:\n%s", (needle), (hay)); \
} while (0)

/* ---- options (pure) ---- */

static void yg_unknown_count(void *ctx, const char *arg)
{
	(*(int *)ctx)++;
}

static void test_opts_defaults(void **state)
{
	yg_pam_opts o;
	yg_err err;

	assert_int_equal(yg_pam_opts_parse(0, NULL, &o, &err, NULL, NULL), 0);
	assert_string_equal(o.socket, RUNSTATEDIR "/yolo-gate/gated.sock");
	assert_false(o.require);
	assert_false(o.debug);
	assert_true(o.prepare);
	assert_int_equal(o.fail, YG_PAM_FAIL_CLOSED);
	assert_int_equal(yg_pam_opts_timeout(&o, YG_PAM_PREPARE_TIMEOUT_MS), 30000);
}

static void test_opts_all(void **state)
{
	const char *argv[] = { "socket=/x/y.sock", "require", "debug", "prepare=no",
			       "timeout=2m", "fail=open", "bogus", "other=1" };
	yg_pam_opts o;
	yg_err err;
	int unknown = 0;

	assert_int_equal(yg_pam_opts_parse(8, argv, &o, &err, yg_unknown_count, &unknown), 0);
	assert_string_equal(o.socket, "/x/y.sock");
	assert_true(o.require);
	assert_true(o.debug);
	assert_false(o.prepare);
	assert_int_equal(o.timeout_ms, 120000);
	assert_int_equal(o.fail, YG_PAM_FAIL_OPEN);
	assert_int_equal(unknown, 2);
	/* a later option wins */
	argv[0] = "fail=open";
	argv[1] = "fail=closed";
	argv[2] = "prepare=yes";
	assert_int_equal(yg_pam_opts_parse(3, argv, &o, &err, NULL, NULL), 0);
	assert_int_equal(o.fail, YG_PAM_FAIL_CLOSED);
	assert_true(o.prepare);
}

static void test_opts_bad(void **state)
{
	static const struct { const char *arg, *msg; } bad[] = {
		{ "socket=relative.sock", "absolute path" },
		{ "socket=", "absolute path" },
		{ "socket=/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "at most 107 bytes" },
		{ "prepare=maybe", "prepare=yes or prepare=no" },
		{ "prepare", "needs a value" },
		{ "timeout=0", "duration" },
		{ "timeout=5h", "duration" },
		{ "timeout=61m", "duration" },
		{ "timeout=-1", "duration" },
		{ "timeout=10x", "duration" },
		{ "fail=sometimes", "fail=closed or fail=open" },
		{ "require=yes", "takes no value" },
		{ "debug=1", "takes no value" },
	};
	yg_pam_opts o;
	yg_err err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *argv[] = { bad[i].arg };

		yg_err_clear(&err);
		assert_int_equal(yg_pam_opts_parse(1, argv, &o, &err, NULL, NULL), -EINVAL);
		assert_in(err.msg, bad[i].msg);
	}
}

static void test_duration(void **state)
{
	int ms = 0;

	assert_int_equal(yg_pam_duration_parse("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(yg_pam_duration_parse("30s", &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(yg_pam_duration_parse("7", &ms), 0);
	assert_int_equal(ms, 7000);
	assert_int_equal(yg_pam_duration_parse("60m", &ms), 0);
	assert_int_equal(ms, 3600000);
	assert_int_equal(yg_pam_duration_parse("", &ms), -EINVAL);
	assert_int_equal(yg_pam_duration_parse("s", &ms), -EINVAL);
	assert_int_equal(yg_pam_duration_parse(" 5s", &ms), -EINVAL);
	assert_int_equal(yg_pam_duration_parse("99999999999999999999999s", &ms), -EINVAL);
}

/* ---- account ---- */

static void test_acct_gated(void **state)
{
	yg_t *t = *state;
	yg_msg req;

	yg_script1(t, yg_fake_policy(1, 1, ""));
	assert_int_equal(yg_acct(t, NULL, "SOCK"), PAM_SUCCESS);
	assert_int_equal(yg_fake_seen(&t->fake, 0, &req), 1);
	assert_int_equal(req.type, YG_MSG_ACCOUNT);
	assert_string_equal(req.u.account.user, t->user);
	assert_in(yg_logbuf, "event=pam_account user=");
	assert_in(yg_logbuf, "result=gated");
}

static void test_acct_nopolicy(void **state)
{
	yg_t *t = *state;

	yg_script1(t, yg_fake_policy(0, 0, ""));
	assert_int_equal(yg_acct(t, NULL, "SOCK"), PAM_IGNORE);
	assert_string_equal(yg_convbuf, "");
	/* the broker may also say so with an ERROR */
	yg_script1(t, yg_fake_error(YG_ERR_NOPOLICY, "no box for you"));
	assert_int_equal(yg_acct(t, NULL, "SOCK"), PAM_IGNORE);
}

static void test_acct_require(void **state)
{
	yg_t *t = *state;

	yg_script1(t, yg_fake_policy(0, 0, ""));
	assert_int_equal(yg_acct(t, NULL, "SOCK require"), PAM_PERM_DENIED);
	assert_in(yg_convbuf, "error: yolo-gate: no box is configured for user");
	assert_in(yg_logbuf, "reason=require");
	/* require does not change anything for a gated user */
	yg_script1(t, yg_fake_policy(1, 1, ""));
	assert_int_equal(yg_acct(t, NULL, "SOCK require"), PAM_SUCCESS);
}

static void test_acct_disabled(void **state)
{
	yg_t *t = *state;

	yg_script1(t, yg_fake_policy(1, 0, "your box is disabled until Monday"));
	assert_int_equal(yg_acct(t, NULL, "SOCK"), PAM_PERM_DENIED);
	assert_in(yg_convbuf, "error: yolo-gate: your box is disabled until Monday");
	assert_in(yg_logbuf, "reason=disabled");
	/* with no text from the broker the user still hears why */
	yg_script1(t, yg_fake_error(YG_ERR_DISABLED, ""));
	assert_int_equal(yg_acct(t, NULL, "SOCK"), PAM_PERM_DENIED);
	assert_in(yg_convbuf, "refused by policy");
}

/* Broker text goes to the user's terminal through the conversation: no
 * escape sequence gets through, neither ESC nor a C1 control (U+009B CSI,
 * UTF-8 c2 9b) nor a bare C1 byte. */
static void test_acct_text_controls(void **state)
{
	yg_t *t = *state;

	yg_script1(t, yg_fake_policy(1, 0, "off\x1b[2J until \xc2\x9b" "1m Monday\x9b\a"));
	assert_int_equal(yg_acct(t, NULL, "SOCK"), PAM_PERM_DENIED);
	assert_in(yg_convbuf, "error: yolo-gate: off?[2J until ??1m Monday??");
	assert_null(strchr(yg_convbuf, 0x1b));
	assert_null(strstr(yg_convbuf, "\xc2\x9b"));
}

static void test_acct_broker_error(void **state)
{
	yg_t *t = *state;

	yg_script1(t, yg_fake_error(YG_ERR_INTERNAL, "policy files are broken"));
	assert_int_equal(yg_acct(t, NULL, "SOCK"), PAM_SYSTEM_ERR);
	assert_in(yg_convbuf, "policy files are broken");
	/* a reply of the wrong type is a protocol fault, not a denial */
	yg_script1(t, yg_fake_session("0abc000000000000"));
	assert_int_equal(yg_acct(t, NULL, "SOCK"), PAM_SYSTEM_ERR);
	assert_in(yg_logbuf, "error=unexpected\\x20reply");
}

static void test_acct_down_closed(void **state)
{
	yg_t *t = *state;

	assert_int_equal(yg_acct(t, NULL, "socket=/nonexistent/gated.sock"), PAM_SYSTEM_ERR);
	assert_in(yg_convbuf, "broker is down");
	assert_in(yg_convbuf, "fail=open would let you in");
	assert_in(yg_logbuf, "event=pam_broker_down");
	assert_in(yg_logbuf, "action=deny");
	/* the default is closed; saying it changes nothing */
	assert_int_equal(yg_acct(t, NULL, "socket=/nonexistent/gated.sock fail=closed"),
			 PAM_SYSTEM_ERR);
}

static void test_acct_down_open(void **state)
{
	yg_t *t = *state;

	assert_int_equal(yg_acct(t, NULL, "socket=/nonexistent/gated.sock fail=open"),
			 PAM_IGNORE);
	assert_string_equal(yg_convbuf, "");
	assert_in(yg_logbuf, "event=pam_broker_down");
	assert_in(yg_logbuf, "action=allow");
	/* a broker that hangs up before answering is down as well */
	yg_fake_step s = { .action = YG_FAKE_HANGUP };
	yg_script1(t, s);
	assert_int_equal(yg_acct(t, NULL, "SOCK fail=open"), PAM_IGNORE);
	assert_int_equal(yg_fake_seen(&t->fake, 0, NULL), 1);
}

static double yg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_acct_timeout(void **state)
{
	yg_t *t = *state;
	yg_fake_step s = { .action = YG_FAKE_SILENT };
	double t0, dt;

	yg_script1(t, s);
	t0 = yg_now();
	assert_int_equal(yg_acct(t, NULL, "SOCK timeout=300ms"), PAM_SYSTEM_ERR);
	dt = yg_now() - t0;
	assert_true(dt >= 0.29);
	assert_true(dt < 2.0);
	assert_in(yg_logbuf, "did\\x20not\\x20answer\\x20in\\x20time");
	assert_in(yg_convbuf, "broker is down");
	yg_script1(t, s);
	assert_int_equal(yg_acct(t, NULL, "SOCK timeout=300ms fail=open"), PAM_IGNORE);
}

static void test_bad_option(void **state)
{
	yg_t *t = *state;

	yg_script1(t, yg_fake_policy(1, 1, ""));
	assert_int_equal(yg_acct(t, NULL, "SOCK fail=sometimes"), PAM_SERVICE_ERR);
	assert_in(yg_logbuf, "event=pam_config_error");
	assert_in(yg_logbuf, "fail\\x3dclosed\\x20or\\x20fail\\x3dopen");
	assert_int_equal(yg_fake_seen(&t->fake, 0, NULL), 0);
	assert_int_equal(yg_acct(t, NULL, "SOCK timeout=soon"), PAM_SERVICE_ERR);
	assert_int_equal(yg_acct(t, NULL, "socket=relative"), PAM_SERVICE_ERR);
}

static void test_unknown_option(void **state)
{
	yg_t *t = *state;

	yg_script1(t, yg_fake_policy(1, 1, ""));
	assert_int_equal(yg_acct(t, NULL, "SOCK frobnicate=7"), PAM_SUCCESS);
	assert_in(yg_logbuf, "event=pam_option_unknown option=frobnicate\\x3d7 action=ignored");
}

static void test_debug_option(void **state)
{
	yg_t *t = *state;

	yg_script1(t, yg_fake_policy(0, 0, ""));
	assert_int_equal(yg_acct(t, NULL, "SOCK"), PAM_IGNORE);
	assert_not_in(yg_logbuf, "event=pam_request");
	assert_not_in(yg_logbuf, "event=pam_no_policy");
	yg_script1(t, yg_fake_policy(0, 0, ""));
	assert_int_equal(yg_acct(t, NULL, "SOCK debug"), PAM_IGNORE);
	assert_in(yg_logbuf, "event=pam_request");
	assert_in(yg_logbuf, "request=ACCOUNT");
	assert_in(yg_logbuf, "event=pam_no_policy");
}

static void test_user_unknown(void **state)
{
	yg_t *t = *state;

	yg_script1(t, yg_fake_policy(1, 1, ""));
	assert_int_equal(yg_acct(t, "yg-no-such-user", "SOCK"), PAM_USER_UNKNOWN);
	assert_int_equal(yg_acct(t, "a-name-that-is-longer-than-the-sixty-four-bytes-the-"
				 "protocol-allows", "SOCK"), PAM_USER_UNKNOWN);
	assert_int_equal(yg_fake_seen(&t->fake, 0, NULL), 0);
	assert_in(yg_logbuf, "event=pam_user_unknown");
}

/* ---- session ---- */

static void test_session_open_close(void **state)
{
	yg_t *t = *state;
	yg_fake_step s[2] = { yg_fake_session("4f2a00000000beef"), yg_fake_exit(0, "released") };
	const char *env;
	yg_msg req;

	yg_fake_script(&t->fake, s, 2);
	yg_begin(t, NULL, "SOCK");
	assert_int_equal(pam_set_item(t->pamh, PAM_RHOST, "192.0.2.7"), PAM_SUCCESS);
	assert_int_equal(yg_mod(pam_open_session(t->pamh, 0)), PAM_SUCCESS);
	env = pam_getenv(t->pamh, "YOLO_GATE_SESSION");
	assert_non_null(env);
	assert_string_equal(env, "4f2a00000000beef");
	assert_int_equal(yg_fake_seen(&t->fake, 0, &req), 1);
	assert_int_equal(req.type, YG_MSG_PREPARE);
	assert_string_equal(req.u.prepare.user, t->user);
	assert_string_equal(req.u.prepare.from, "192.0.2.7");
	assert_in(yg_logbuf, "event=pam_prepare");
	assert_in(yg_logbuf, "session=4f2a00000000beef from=192.0.2.7");

	assert_int_equal(yg_mod(pam_close_session(t->pamh, 0)), PAM_SUCCESS);
	assert_int_equal(yg_fake_seen(&t->fake, 1, &req), 2);
	assert_int_equal(req.type, YG_MSG_RELEASE);
	assert_string_equal(req.u.release.session, "4f2a00000000beef");
	assert_in(yg_logbuf, "event=pam_release");
	/* a second close has nothing to release */
	assert_int_equal(yg_mod(pam_close_session(t->pamh, 0)), PAM_IGNORE);
	assert_int_equal(yg_fake_seen(&t->fake, 0, NULL), 2);
}

static void test_session_nopolicy(void **state)
{
	yg_t *t = *state;

	yg_script1(t, yg_fake_error(YG_ERR_NOPOLICY, "no box"));
	yg_begin(t, NULL, "SOCK");
	assert_int_equal(yg_mod(pam_open_session(t->pamh, 0)), PAM_IGNORE);
	assert_null(pam_getenv(t->pamh, "YOLO_GATE_SESSION"));
	/* nothing to release at close, and no connection for it */
	assert_int_equal(yg_mod(pam_close_session(t->pamh, 0)), PAM_IGNORE);
	assert_int_equal(yg_fake_seen(&t->fake, 0, NULL), 1);
	yg_script1(t, yg_fake_error(YG_ERR_NOPOLICY, "no box"));
	yg_begin(t, NULL, "SOCK require");
	assert_int_equal(yg_mod(pam_open_session(t->pamh, 0)), PAM_PERM_DENIED);
}

static void test_session_refused(void **state)
{
	yg_t *t = *state;

	yg_script1(t, yg_fake_error(YG_ERR_BUSY, "your box is in use by another login"));
	yg_begin(t, NULL, "SOCK");
	assert_int_equal(yg_mod(pam_open_session(t->pamh, 0)), PAM_PERM_DENIED);
	assert_in(yg_convbuf, "in use by another login");
	yg_script1(t, yg_fake_error(YG_ERR_BOX, "box yolo-x has no snapshot"));
	yg_begin(t, NULL, "SOCK");
	assert_int_equal(yg_mod(pam_open_session(t->pamh, 0)), PAM_SYSTEM_ERR);
	assert_in(yg_convbuf, "no snapshot");
}

static void test_session_bad_id(void **state)
{
	yg_t *t = *state;

	yg_script1(t, yg_fake_session("../../etc;rm"));
	yg_begin(t, NULL, "SOCK");
	assert_int_equal(yg_mod(pam_open_session(t->pamh, 0)), PAM_SYSTEM_ERR);
	assert_null(pam_getenv(t->pamh, "YOLO_GATE_SESSION"));
	assert_in(yg_logbuf, "bad\\x20session\\x20id");
}

static void test_session_prepare_no(void **state)
{
	yg_t *t = *state;

	yg_script1(t, yg_fake_session("5000000000000001"));
	yg_begin(t, NULL, "SOCK prepare=no");
	assert_int_equal(yg_mod(pam_open_session(t->pamh, 0)), PAM_IGNORE);
	assert_null(pam_getenv(t->pamh, "YOLO_GATE_SESSION"));
	assert_int_equal(yg_mod(pam_close_session(t->pamh, 0)), PAM_IGNORE);
	assert_int_equal(yg_fake_seen(&t->fake, 0, NULL), 0);
}

static void test_session_close_down(void **state)
{
	yg_t *t = *state;
	yg_fake_step s[2] = { yg_fake_session("9000000000000009"), { .action = YG_FAKE_SILENT } };

	yg_fake_script(&t->fake, s, 2);
	yg_begin(t, NULL, "SOCK timeout=200ms");
	assert_int_equal(yg_mod(pam_open_session(t->pamh, 0)), PAM_SUCCESS);
	assert_int_equal(yg_mod(pam_close_session(t->pamh, 0)), PAM_SYSTEM_ERR);
	assert_in(yg_logbuf, "phase=close_session");
	/* nothing is said to the user at logout */
	assert_string_equal(yg_convbuf, "");
	/* fail=open: a broker that is down at logout is logged and ignored */
	yg_fake_script(&t->fake, s, 2);
	yg_begin(t, NULL, "SOCK timeout=200ms fail=open");
	assert_int_equal(yg_mod(pam_open_session(t->pamh, 0)), PAM_SUCCESS);
	assert_int_equal(yg_mod(pam_close_session(t->pamh, 0)), PAM_IGNORE);
	assert_in(yg_logbuf, "action=allow");
}

static void test_other_stacks_ignored(void **state)
{
	yg_t *t = *state;

	yg_begin(t, NULL, "SOCK");
	assert_int_equal(yg_mod(pam_authenticate(t->pamh, 0)), PAM_IGNORE);
	assert_int_equal(yg_mod(pam_setcred(t->pamh, PAM_ESTABLISH_CRED)), PAM_IGNORE);
	assert_int_equal(yg_mod(pam_chauthtok(t->pamh, 0)), PAM_IGNORE);
	assert_int_equal(yg_fake_seen(&t->fake, 0, NULL), 0);
}

/* ---- fake broker as a process, for pamtester.sh ---- */

static int yg_parse_step(const char *arg, yg_fake_step *s)
{
	char buf[256], *a, *b;

	snprintf(buf, sizeof(buf), "%s", arg);
	a = strchr(buf, ':');
	if (a)
		*a++ = '\0';
	b = a ? strchr(a, ':') : NULL;
	if (b)
		*b++ = '\0';
	memset(s, 0, sizeof(*s));
	if (!strcmp(buf, "silent"))
		s->action = YG_FAKE_SILENT;
	else if (!strcmp(buf, "hangup"))
		s->action = YG_FAKE_HANGUP;
	else if (!strcmp(buf, "session") && a)
		*s = yg_fake_session(a);
	else if (!strcmp(buf, "error") && b)
		*s = yg_fake_error((uint32_t)atoi(a), b);
	else if (!strcmp(buf, "exit") && b)
		*s = yg_fake_exit((uint32_t)atoi(a), b);
	else if (!strcmp(buf, "policy") && b) {
		char *c = strchr(b, ':');

		if (c)
			*c++ = '\0';
		*s = yg_fake_policy(atoi(a), atoi(b), c ? c : "");
	} else
		return -EINVAL;
	return 0;
}

static int yg_serve(int argc, char **argv)
{
	yg_fake_step steps[YG_FAKE_MAX_STEPS];
	yg_fake f;
	int i, n = argc - 3;

	if (n < 1 || n > YG_FAKE_MAX_STEPS) {
		fprintf(stderr, "usage: pamtest --serve SOCKET STEP... (1 to %d steps)\n",
			YG_FAKE_MAX_STEPS);
		return 2;
	}
	for (i = 0; i < n; i++) {
		if (yg_parse_step(argv[3 + i], &steps[i]) < 0) {
			fprintf(stderr, "pamtest: bad step '%s'\n", argv[3 + i]);
			return 2;
		}
	}
	if (yg_fake_start(&f, argv[2]) < 0) {
		fprintf(stderr, "pamtest: cannot listen on %s\n", argv[2]);
		return 1;
	}
	yg_fake_script(&f, steps, n);
	printf("ready\n");
	fflush(stdout);
	/* serve until killed, or until every step was used and a second passed */
	while (yg_fake_seen(&f, 0, NULL) < n)
		usleep(20000);
	usleep(200000);
	for (i = 0; i < n; i++) {
		yg_msg req;

		yg_fake_seen(&f, i, &req);
		printf("request %s %s\n", yg_msg_type_name(req.type),
		       req.type == YG_MSG_ACCOUNT ? req.u.account.user : "");
	}
	yg_fake_stop(&f);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_defaults),
		cmocka_unit_test(test_opts_all),
		cmocka_unit_test(test_opts_bad),
		cmocka_unit_test(test_duration),
#define T(f) cmocka_unit_test_setup_teardown(f, yg_setup, yg_teardown)
		T(test_acct_gated),
		T(test_acct_nopolicy),
		T(test_acct_require),
		T(test_acct_disabled),
		T(test_acct_text_controls),
		T(test_acct_broker_error),
		T(test_acct_down_closed),
		T(test_acct_down_open),
		T(test_acct_timeout),
		T(test_bad_option),
		T(test_unknown_option),
		T(test_debug_option),
		T(test_user_unknown),
		T(test_session_open_close),
		T(test_session_nopolicy),
		T(test_session_refused),
		T(test_session_bad_id),
		T(test_session_prepare_no),
		T(test_session_close_down),
		T(test_other_stacks_ignored),
#undef T
	};

	if (argc >= 2 && !strcmp(argv[1], "--serve"))
		return yg_serve(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
