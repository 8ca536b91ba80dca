/* SPDX-License-Identifier: MIT */
/* pam_options.c: see pam_options.h. Pure: no PAM handle, no I/O, no globals. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pam_options.h"
#include "yg_client.h"	/* YG_CLIENT_SOCKET, the one default socket path */

int yg_pam_duration_parse(const char *s, int *ms)
{
	unsigned long long v, mult;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		mult = 1000;
	else if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "m"))
		mult = 60 * 1000;
	else
		return -EINVAL;
	if (v == 0 || v > YG_PAM_TIMEOUT_MAX_MS / mult)
		return -EINVAL;
	*ms = (int)(v * mult);
	return 0;
}

typedef int (*yg_pam_opt_fn)(yg_pam_opts *o, const char *val, yg_err *err);

static int yg_pam_yesno(const char *name, const char *val, bool *out, yg_err *err)
{
	if (!strcmp(val, "yes"))
		*out = true;
	else if (!strcmp(val, "no"))
		*out = false;
	else
		return yg_err_set(err, -EINVAL,
				  "bad value '%s' for %s= (use %s=yes or %s=no)",
				  val, name, name, name);
	return 0;
}

static int yg_pam_opt_socket(yg_pam_opts *o, const char *val, yg_err *err)
{
	size_t len = strlen(val);

	if (val[0] != '/')
		return yg_err_set(err, -EINVAL,
				  "bad value '%s' for socket= (use an absolute path)", val);
	if (len > YG_PAM_SOCKET_MAX)
		return yg_err_set(err, -EINVAL,
				  "socket= path is %zu bytes long, more than a unix socket allows "
				  "(use a path of at most %d bytes)", len, YG_PAM_SOCKET_MAX);
	memcpy(o->socket, val, len + 1);
	return 0;
}

static int yg_pam_opt_prepare(yg_pam_opts *o, const char *val, yg_err *err)
{
	return yg_pam_yesno("prepare", val, &o->prepare, err);
}

static int yg_pam_opt_timeout(yg_pam_opts *o, const char *val, yg_err *err)
{
	if (yg_pam_duration_parse(val, &o->timeout_ms) < 0)
		return yg_err_set(err, -EINVAL,
				  "bad value '%s' for timeout= (use a duration from 1ms to 60m, "
				  "e.g. 500ms, 30s or 2m)", val);
	return 0;
}

static int yg_pam_opt_fail(yg_pam_opts *o, const char *val, yg_err *err)
{
	if (!strcmp(val, "closed"))
		o->fail = YG_PAM_FAIL_CLOSED;
	else if (!strcmp(val, "open"))
		o->fail = YG_PAM_FAIL_OPEN;
	else
		return yg_err_set(err, -EINVAL,
				  "bad value '%s' for fail= (use fail=closed or fail=open)", val);
	return 0;
}

static int yg_pam_opt_require(yg_pam_opts *o, const char *val, yg_err *err)
{
	o->require = true;
	return 0;
}

static int yg_pam_opt_debug(yg_pam_opts *o, const char *val, yg_err *err)
{
	o->debug = true;
	return 0;
}

static const struct yg_pam_opt {
	const char *name;
	bool has_value;
	yg_pam_opt_fn set;
} yg_pam_opt_table[] = {
	{ "socket", true, yg_pam_opt_socket },
	{ "require", false, yg_pam_opt_require },
	{ "debug", false, yg_pam_opt_debug },
	{ "prepare", true, yg_pam_opt_prepare },
	{ "timeout", true, yg_pam_opt_timeout },
	{ "fail", true, yg_pam_opt_fail },
};

static const struct yg_pam_opt *yg_pam_opt_find(const char *arg, size_t namelen)
{
	size_t i;

	for (i = 0; i < sizeof(yg_pam_opt_table) / sizeof(yg_pam_opt_table[0]); i++) {
		const struct yg_pam_opt *t = &yg_pam_opt_table[i];

		if (strlen(t->name) == namelen && !strncmp(t->name, arg, namelen))
			return t;
	}
	return NULL;
}

int yg_pam_opts_parse(int argc, const char **argv, yg_pam_opts *o, yg_err *err,
		      yg_pam_unknown_fn unknown, void *ctx)
{
	int i, r;

	memset(o, 0, sizeof(*o));
	strcpy(o->socket, YG_CLIENT_SOCKET);
	o->prepare = true;
	o->fail = YG_PAM_FAIL_CLOSED;

	for (i = 0; i < argc; i++) {
		const char *arg = argv[i] ? argv[i] : "";
		const char *eq = strchr(arg, '=');
		size_t namelen = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct yg_pam_opt *t = yg_pam_opt_find(arg, namelen);

		if (!t) {
			if (unknown)
				unknown(ctx, arg);
			continue;
		}
		if (t->has_value && !eq)
			return yg_err_set(err, -EINVAL,
					  "option %s needs a value (write %s=VALUE)", t->name, t->name);
		if (!t->has_value && eq)
			return yg_err_set(err, -EINVAL,
					  "option %s takes no value (write just %s)", t->name, t->name);
		r = t->set(o, eq ? eq + 1 : NULL, err);
		if (r < 0)
			return r;
	}
	return 0;
}
