/* SPDX-License-Identifier: MIT */
/* ctl_util.c: what every admin subcommand shares: loading the policy,
 * resolving a user, connecting to libvirt, progress lines, the list of
 * users that have a box. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "yg_box.h"

static int yg_ctl_verrf(const char *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "yolo-gatectl %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	return YG_CTL_EXIT_FAIL;
}

int yg_ctl_errf(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	yg_ctl_verrf(cmd, fmt, ap);
	va_end(ap);
	return YG_CTL_EXIT_FAIL;
}

int yg_ctl_fail(const char *cmd, const yg_err *err)
{
	return yg_ctl_errf(cmd, "%s", err && err->msg[0] ? err->msg :
			   "failed without a message (this is a bug)");
}

int yg_ctl_policy_load(const char *cmd, const char *confdir, yg_policy **out)
{
	yg_diags diags = { 0 };
	int rc = yg_policy_load(confdir, out, &diags);

	yg_diags_print(&diags, stderr);
	yg_diags_free(&diags);
	if (rc == 0)
		return 0;
	if (rc != -EINVAL)
		yg_ctl_errf(cmd, "loading the policy from %s failed: %s",
			    confdir ? confdir : YG_POLICY_DEFAULT_CONFDIR,
			    strerror(-rc));
	else
		yg_ctl_errf(cmd, "the policy has errors (listed above); fix "
			    "them, then check with: yolo-gatectl check");
	return YG_CTL_EXIT_FAIL;
}

int yg_ctl_user(const char *cmd, const yg_policy *pol, const char *user,
		yg_user_policy *up)
{
	yg_diags diags = { 0 };
	int rc = yg_policy_user_lookup(pol, user, up, &diags);

	size_t ndiags = diags.n;

	yg_diags_print(&diags, stderr);
	yg_diags_free(&diags);
	if (rc < 0 && ndiags)
		return YG_CTL_EXIT_FAIL;	/* the diagnostics said why */
	if (rc < 0)
		return yg_ctl_errf(cmd, "cannot evaluate the policy of user "
				   "%s: %s", user, strerror(-rc));
	if (!up->gated)
		return yg_ctl_errf(cmd, "user %s has no box: no [user:], "
				   "[group:] or [box:] section applies to them "
				   "(see yolo-gatectl check --user %s)", user,
				   user);
	return 0;
}

/* Open host's connection: 0, or -errno with err saying what to do. A
 * remote host's connect is bounded (it may be unreachable). */
static int host_open(const char *cmd, const struct yg_host_conf *h, virConnectPtr *out,
		     yg_err *err)
{
	bool local = !strcmp(h->name, "local");
	int rc = local ? yg_conn_open(h->uri, out, err) :
		 yg_conn_open_bounded(h->uri, YG_CTL_HOST_CONNECT_MS, out, err);

	if (rc == -EACCES)
		yg_err_set(err, rc, "%s needs access to %s: run as root or as a member "
			   "of group libvirt%s", cmd, h->uri,
			   local ? "" : " (or the gate's client credentials for that host)");
	else if (rc < 0 && !local)
		yg_err_prefix(err, "host %s is unreachable", h->name);
	return rc;
}

int yg_ctl_connect_host(const char *cmd, const yg_policy *pol, const char *host,
			virConnectPtr *out)
{
	const struct yg_host_conf *h = yg_policy_host(pol, host ? host : "local");
	yg_err err;

	*out = NULL;
	if (!h)
		return yg_ctl_errf(cmd, "host %s is not in the policy; see yolo-gatectl check",
				   host);
	if (host_open(cmd, h, out, &err) < 0)
		return yg_ctl_fail(cmd, &err);
	return 0;
}

int yg_ctl_connect(const char *cmd, const yg_policy *pol, virConnectPtr *out)
{
	return yg_ctl_connect_host(cmd, pol, "local", out);
}

int yg_ctl_conns_init(struct yg_ctl_conns *c, const char *cmd, const yg_policy *pol)
{
	memset(c, 0, sizeof(*c));
	c->cmd = cmd;
	c->pol = pol;
	c->n = yg_policy_nhosts(pol);
	c->h = calloc(c->n, sizeof(*c->h));
	if (!c->h)
		return yg_ctl_errf(cmd, "out of memory");
	return 0;
}

struct yg_ctl_host *yg_ctl_conns_host(struct yg_ctl_conns *c, const char *host)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(yg_policy_host_at(c->pol, i)->name, host ? host : "local"))
			return &c->h[i];
	return NULL;
}

virConnectPtr yg_ctl_conns_get(struct yg_ctl_conns *c, const char *host, const char **why)
{
	struct yg_ctl_host *h = yg_ctl_conns_host(c, host);
	yg_err err;

	*why = "the host is not in the policy";
	if (!h)
		return NULL;
	if (!h->tried) {
		h->tried = true;
		if (host_open(c->cmd, yg_policy_host_at(c->pol, (size_t)(h - c->h)), &h->conn,
			      &err) < 0) {
			snprintf(h->error, sizeof(h->error), "%s", err.msg);
			fprintf(stderr, "yolo-gatectl %s: %s\n", c->cmd, err.msg);
		}
	}
	*why = h->error;
	return h->conn;
}

void yg_ctl_conns_close(struct yg_ctl_conns *c)
{
	for (size_t i = 0; c->h && i < c->n; i++)
		yg_conn_close(c->h[i].conn);
	free(c->h);
	c->h = NULL;
}

int yg_ctl_service_user(const yg_policy *pol, uid_t *uid, gid_t *gid,
			yg_err *err)
{
	const char *name = yg_policy_gate(pol)->service_user;
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (!pw)
		return yg_err_set(err, errno ? -errno : -ENOENT,
				  "the service user %s ([gate] service_user) "
				  "does not exist; create it (useradd --system "
				  "%s) or set [gate] service_user", name, name);
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

void yg_ctl_step_begin(struct yg_ctl_step *s, const char *cmd,
		       const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" ...", stderr);
	fflush(stderr);
	s->t0 = yg_now_ms();
}

void yg_ctl_step_end(struct yg_ctl_step *s, int rc)
{
	uint64_t ms = yg_now_ms() - s->t0;

	if (rc < 0)
		fprintf(stderr, " failed after %.1f s\n", (double)ms / 1000.0);
	else
		fprintf(stderr, " %.1f s\n", (double)ms / 1000.0);
}

/* ---- the users that have a box -------------------------------------- */

int yg_ctl_names_add(struct yg_ctl_names *s, const char *name)
{
	char **v;

	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], name))
			return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		v = realloc(s->v, s->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
	}
	s->v[s->n] = strdup(name);
	if (!s->v[s->n])
		return -ENOMEM;
	s->n++;
	return 1;
}

void yg_ctl_names_free(struct yg_ctl_names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	*s = (struct yg_ctl_names){ 0 };
}

struct each_ctx {
	struct yg_ctl_names seen;
	int (*fn)(void *ctx, const char *user);
	void *ctx;
};

static int visit(struct each_ctx *c, const char *user)
{
	int r = yg_ctl_names_add(&c->seen, user);

	return r <= 0 ? r : c->fn(c->ctx, user);
}

static int collect(void *ctx, const char *user)
{
	return 0;
}

static int visit_user(void *ctx, const char *name)
{
	return visit(ctx, name);
}

/* Members of group name: its member list, then users whose primary group
 * it is.  Names are copied before fn runs: fn uses NSS too. */
static int visit_group(void *ctx, const char *name)
{
	struct group *gr = getgrnam(name);
	struct each_ctx list = { 0 };
	struct passwd *pw;
	gid_t gid;
	int rc = 0;

	if (!gr)
		return 0;	/* check reports unknown groups */
	gid = gr->gr_gid;
	list.fn = collect;
	for (char **m = gr->gr_mem; m && *m && rc == 0; m++)
		rc = visit(&list, *m);
	setpwent();
	while (rc == 0 && (pw = getpwent()))
		if (pw->pw_gid == gid)
			rc = visit(&list, pw->pw_name);
	endpwent();
	for (size_t i = 0; i < list.seen.n && rc == 0; i++)
		rc = visit(ctx, list.seen.v[i]);
	yg_ctl_names_free(&list.seen);
	return rc;
}

int yg_ctl_each_user(const yg_policy *pol,
		     int (*fn)(void *ctx, const char *user), void *ctx)
{
	struct each_ctx c = { .fn = fn, .ctx = ctx };
	int rc;

	rc = yg_policy_each_name(pol, "user", visit_user, &c);
	if (rc == 0)
		rc = yg_policy_each_name(pol, "group", visit_group, &c);
	yg_ctl_names_free(&c.seen);
	return rc;
}
