/* SPDX-License-Identifier: MIT */
/* access.c: the broker's view of the policy engine.
 *
 * The only file of yolo-gated that includes yg_policy.h: it copies what the
 * broker needs into plain structs (gated.h), and resolves users and their
 * groups through NSS.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "yg_groups.h"
#include "yg_policy.h"
#include "gated.h"

static char *diags_text(const yg_diags *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	yg_diags_print(d, f);
	fclose(f);
	return buf;
}

int yg_gd_policy_load(const char *confdir, yg_policy **out, char **diagtext)
{
	yg_diags d = { 0 };
	int r;

	*diagtext = NULL;
	r = yg_policy_load(confdir, out, &d);
	if (r < 0)
		*diagtext = diags_text(&d);
	yg_diags_free(&d);
	return r;
}

void yg_gd_policy_free(yg_policy *pol)
{
	yg_policy_free(pol);
}

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

void yg_gd_gate_get(const yg_policy *pol, struct yg_gd_gate *out)
{
	const struct yg_gate_conf *g = yg_policy_gate(pol);

	copy_str(out->uri, sizeof(out->uri), g->uri);
	copy_str(out->socket, sizeof(out->socket), g->socket);
	copy_str(out->run_dir, sizeof(out->run_dir), g->run_dir);
	copy_str(out->service_user, sizeof(out->service_user), g->service_user);
	out->log_level = g->log_level;
	copy_str(out->audit_log, sizeof(out->audit_log), g->audit_log);
	copy_str(out->record_dir, sizeof(out->record_dir), g->record_dir);
	out->record_max_size = g->record_max_size;
	out->max_clients = g->max_clients;
	out->max_clients_per_user = g->max_clients_per_user;
}

void yg_gd_user_clear(struct yg_gd_user *u)
{
	if (!u)
		return;
	if (u->up) {
		yg_user_policy_clear(u->up);
		free(u->up);
	}
	yg_groups_free(u->groups, u->ngroups);
	memset(u, 0, sizeof(*u));
}

static void fill_user(struct yg_gd_user *u, const yg_user_policy *up)
{
	u->gated = up->gated;
	u->enabled = up->enabled;
	u->own = up->own;
	copy_str(u->domain, sizeof(u->domain), up->domain);
	copy_str(u->snapshot, sizeof(u->snapshot), up->snapshot);
	copy_str(u->keys, sizeof(u->keys), up->keys);
	copy_str(u->inject_path, sizeof(u->inject_path), up->inject_path);
	copy_str(u->inject_owner, sizeof(u->inject_owner), up->inject_owner);
	copy_str(u->console, sizeof(u->console), up->console);
	u->escape = up->escape;
	u->revert_login = up->revert == YG_REVERT_LOGIN;
	u->warm = up->warm;
	u->takeover = up->concurrent == YG_CONCURRENT_TAKEOVER;
	u->attach = up->concurrent == YG_CONCURRENT_ATTACH;
	u->idle_output = up->idle_output;
	u->record = up->record;
	u->remote = up->remote;
	u->linger_ms = up->linger_ms;
	u->console_hold_ms = up->console_hold_ms;
	u->idle_warning_ms = up->idle_warning_ms;
	u->agent_timeout_ms = up->agent_timeout_ms;
	u->idle_timeout_ms = up->idle_timeout_ms;
	u->max_session_ms = up->max_session_ms;
}

static int user_from_pw(const yg_policy *pol, const struct passwd *pw,
			struct yg_gd_user *u, yg_err *err)
{
	yg_diags d = { 0 };
	int r;

	memset(u, 0, sizeof(*u));
	u->uid = pw->pw_uid;
	copy_str(u->user, sizeof(u->user), pw->pw_name);
	r = yg_groups_of(pw->pw_name, pw->pw_gid, &u->groups, &u->ngroups);
	if (r < 0)
		return yg_err_set(err, r, "cannot list the groups of user %s", pw->pw_name);
	u->up = calloc(1, sizeof(*u->up));
	if (!u->up)
		return yg_err_set(err, -ENOMEM, "out of memory resolving user %s", pw->pw_name);
	r = yg_policy_for_user(pol, pw->pw_name, pw->pw_uid,
			       (const char *const *)u->groups, u->ngroups, u->up, &d);
	if (r < 0) {
		char *t = diags_text(&d);

		yg_err_set(err, r, "policy error for user %s: %s; ask your administrator "
			   "to run yolo-gatectl check", pw->pw_name, t ? t : "?");
		if (err) {
			char *nl;

			while ((nl = strchr(err->msg, '\n')))
				*nl = ' ';
		}
		free(t);
		yg_diags_free(&d);
		return r;
	}
	yg_diags_free(&d);
	fill_user(u, u->up);
	return yg_gd_user_host(pol, u, u->up->host) < 0 ?
	       yg_err_set(err, -EINVAL, "policy error for user %s: host %s is not defined",
			  u->user, u->up->host) : 0;
}

bool yg_gd_host_local(const char *host)
{
	return !host || !host[0] || !strcmp(host, "local");
}

int yg_gd_user_host(const yg_policy *pol, struct yg_gd_user *u, const char *host)
{
	const struct yg_host_conf *h = yg_policy_host(pol, host ? host : "local");

	if (!h)
		return -ENOENT;
	copy_str(u->host, sizeof(u->host), h->name);
	copy_str(u->uri, sizeof(u->uri), h->uri);
	u->host_enabled = h->enabled;
	return 0;
}

/* The box domain for u, and the host it lives on: u's own (u's host =), or
 * a [box:] entry's (its host =). */
static int set_box(const yg_policy *pol, struct yg_gd_user *u, const char *domain)
{
	bool own = u->own && u->up && strcmp(domain, u->up->domain) == 0;

	copy_str(u->domain, sizeof(u->domain), domain);
	return yg_gd_user_host(pol, u, own ? u->up->host : yg_policy_box_host(pol, domain));
}

int yg_gd_user_by_uid(const yg_policy *pol, uid_t uid, struct yg_gd_user *u, yg_err *err)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwuid(uid);
	if (!pw) {
		memset(u, 0, sizeof(*u));
		return yg_err_set(err, -ENOENT, "uid %u has no passwd entry; ask your "
				  "administrator", (unsigned)uid);
	}
	return user_from_pw(pol, pw, u, err);
}

int yg_gd_user_by_name(const yg_policy *pol, const char *name, struct yg_gd_user *u,
		       yg_err *err)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (!pw) {
		memset(u, 0, sizeof(*u));
		return yg_err_set(err, -ENOENT, "user %s has no passwd entry", name);
	}
	return user_from_pw(pol, pw, u, err);
}

bool yg_gd_may_enter(const yg_policy *pol, const struct yg_gd_user *u, const char *domain)
{
	if (!u->up)
		return false;
	return yg_policy_may_enter(pol, u->up, domain, (const char *const *)u->groups,
				   u->ngroups);
}

/* The [box:] entries that list one user, for the default box. */
struct box_scan {
	const yg_policy *pol;
	const struct yg_gd_user *u;
	size_t n;
	char first[YG_NAME_MAX + 1];
	char list[256];		/* "a, b, c" (cut to fit) */
};

static int box_scan_one(void *ctx, const char *name)
{
	struct box_scan *b = ctx;
	size_t off = strlen(b->list);

	if (!yg_policy_box_lists(b->pol, b->u->up, name, (const char *const *)b->u->groups,
				 b->u->ngroups))
		return 0;
	if (b->n++ == 0)
		copy_str(b->first, sizeof(b->first), name);
	if (off < sizeof(b->list))
		snprintf(b->list + off, sizeof(b->list) - off, "%s%s", off ? ", " : "", name);
	return 0;
}

uint32_t yg_gd_choose_box(const yg_policy *pol, struct yg_gd_user *u, const char *reqbox,
			  char *why, size_t whylen)
{
	struct box_scan b = { .pol = pol, .u = u };

	if (reqbox[0]) {
		if ((u->own && strcmp(reqbox, u->domain) == 0) ||
		    yg_policy_box_lists(pol, u->up, reqbox, (const char *const *)u->groups,
					u->ngroups)) {
			if (set_box(pol, u, reqbox) == 0)
				return 0;
			snprintf(why, whylen, "the host of box %s is not defined; ask your "
				 "administrator to run yolo-gatectl check", reqbox);
			return YG_ERR_NOPOLICY;
		}
		snprintf(why, whylen, "user %s may not enter box %s; ask your administrator "
			 "for a [box:%s] entry", u->user, reqbox, reqbox);
		return YG_ERR_DENIED;
	}
	if (u->own)
		return 0;
	if (yg_policy_each_name(pol, "box", box_scan_one, &b) < 0 || b.n == 0) {
		snprintf(why, whylen, "no box is configured for user %s; ask your administrator",
			 u->user);
		return YG_ERR_NOPOLICY;
	}
	if (b.n > 1) {
		snprintf(why, whylen, "user %s may enter %zu boxes (%s) and has none of their own: "
			 "choose one with YOLO_BOX=NAME (ssh -o SetEnv=YOLO_BOX=NAME) or "
			 "yolo-shell --box NAME", u->user, b.n, b.list);
		return YG_ERR_DENIED;
	}
	if (set_box(pol, u, b.first) < 0) {
		snprintf(why, whylen, "the host of box %s is not defined; ask your "
			 "administrator to run yolo-gatectl check", b.first);
		return YG_ERR_NOPOLICY;
	}
	return 0;
}

bool yg_gd_may_attach(const yg_policy *pol, const struct yg_gd_user *u, const char *domain)
{
	return u->up && yg_policy_may_attach(pol, u->up, domain, (const char *const *)u->groups,
					     u->ngroups);
}

/* ---- the policy generation: a reload in the parent, seen by a child ----
 * The parent maps one shared page before its first fork and counts its
 * successful reloads there; a child that lives across reloads (hold.c)
 * compares it with the count it was forked with. */
static volatile unsigned *policy_gen;
static const char *policy_confdir;
static unsigned policy_gen_seen;
static pid_t policy_parent;	/* the broker that forked us */

volatile unsigned *yg_gd_policy_gen_map(void)
{
	void *p = mmap(NULL, sizeof(unsigned), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void yg_gd_policy_origin(const char *confdir, volatile unsigned *gen)
{
	policy_confdir = confdir;
	policy_gen = gen;
	policy_gen_seen = gen ? *gen : 0;
	policy_parent = getppid();
}

bool yg_gd_parent_gone(void)
{
	return policy_parent && getppid() != policy_parent;
}

int yg_gd_policy_refresh(yg_policy **pol, yg_err *err)
{
	yg_policy *np = NULL;
	char *diag = NULL;
	unsigned now;

	/* a broker restarted since (KillMode=process) counts in a page of
	 * its own: load the policy anew */
	now = policy_gen ? *policy_gen : 0;
	if (now == policy_gen_seen && !yg_gd_parent_gone())
		return 0;
	if (yg_gd_policy_load(policy_confdir, &np, &diag) < 0) {
		yg_err_set(err, -EINVAL, "the policy in %s no longer loads (%s); the "
			   "administrator must fix it, then log in again",
			   policy_confdir ? policy_confdir : YG_POLICY_DEFAULT_CONFDIR,
			   diag ? diag : "see yolo-gatectl check");
		free(diag);
		return -EINVAL;
	}
	/* the old one stays: the gate and the user copied out of it may
	 * still point into it (it is this process's, freed at exit) */
	*pol = np;
	policy_gen_seen = now;
	return 1;
}
