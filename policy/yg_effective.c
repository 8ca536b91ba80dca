/* SPDX-License-Identifier: MIT */
/* yg_effective.c: the effective policy of one user, and box entry.
 *
 * Precedence: built-in default < [defaults] < [group:G] (any group of the
 * user) < [user:U].  Two groups of the user that give one key different
 * (expanded) values is an error naming both places, unless [user:U] sets
 * that key itself (then the groups do not matter for this user).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "yg_groups.h"
#include "yg_policy_int.h"

#define WHY_MAX 512

struct who {
	const char *user, *group;
	char uid[16];
	const struct yg_section *usec, *dsec;
	const struct yg_section **gsecs;
	size_t ngsecs;
};

static bool box_lists(const yg_policy *pol, const struct yg_section *b,
		      const char *user, const char *const *groups,
		      size_t ngroups)
{
	if (b->ent[YG_K_USERS] >= 0 &&
	    yg_list_has(pol->ents[b->ent[YG_K_USERS]].value, user))
		return true;
	if (b->ent[YG_K_GROUPS] < 0)
		return false;
	for (size_t i = 0; i < ngroups; i++)
		if (yg_list_has(pol->ents[b->ent[YG_K_GROUPS]].value,
				groups[i]))
			return true;
	return false;
}

static char *origin_of(const yg_policy *pol, const struct yg_entry *e)
{
	char *s;

	if (!e)
		return strdup("built-in default");
	if (asprintf(&s, "%s:%u", pol->files[e->file], e->line) < 0)
		return NULL;
	return s;
}

/* Check raw for key k as it applies to this user; report at e. */
static int check_for(const yg_policy *pol, const struct who *w, int k,
		     const char *raw, const struct yg_entry *e,
		     struct yg_val *v, yg_diags *diags)
{
	char why[WHY_MAX];
	int rc = yg_key_check(k, raw, w->user, w->uid, w->group, v, why,
			      sizeof(why));

	if (rc == -EINVAL)
		rc = yg_diags_addf(diags, e ? pol->files[e->file] : NULL,
				   e ? e->line : 0, "%s%s for user %s: %s",
				   e ? "" : "built-in default of ",
				   yg_keys[k].name, w->user, why) ?: -EINVAL;
	return rc;
}

/* Pick the entry that applies for key k (NULL = built-in default); report
 * group conflicts.  Returns 0, -EINVAL (conflict reported) or -ENOMEM. */
static int winner(const yg_policy *pol, const struct who *w, int k,
		  const struct yg_entry **out, yg_diags *diags)
{
	const struct yg_entry *best = NULL;
	const char *bestg = NULL;
	char *bestv = NULL;
	unsigned long long bestn = 0;
	int rc = 0;

	*out = NULL;
	if (w->usec && w->usec->ent[k] >= 0) {
		*out = &pol->ents[w->usec->ent[k]];
		return 0;
	}
	for (size_t i = 0; i < w->ngsecs && rc != -ENOMEM; i++) {
		const struct yg_section *g = w->gsecs[i];
		const struct yg_entry *e;
		struct yg_val v;

		if (g->ent[k] < 0)
			continue;
		e = &pol->ents[g->ent[k]];
		if (check_for(pol, w, k, e->value, e, &v, diags) < 0) {
			rc = -EINVAL;
			continue;
		}
		if (!best) {
			best = e;
			bestg = g->name;
			bestv = v.str;
			bestn = v.num;
			continue;
		}
		/* Same meaning is agreement: 2h and 120m, ^a and ^A. */
		if (yg_key_textual(k) ? strcmp(bestv, v.str) != 0 :
		    bestn != v.num)
			rc = yg_diags_addf(diags, pol->files[e->file], e->line,
					   "user %s is in groups '%s' and '%s', "
					   "which set '%s' to different values "
					   "('%s' at %s:%u, '%s' here): make "
					   "them agree or set it in [user:%s]",
					   w->user, bestg, g->name,
					   yg_keys[k].name, bestv,
					   pol->files[best->file], best->line,
					   v.str, w->user) ?: -EINVAL;
		free(v.str);
	}
	free(bestv);
	if (!best && w->dsec && w->dsec->ent[k] >= 0)
		best = &pol->ents[w->dsec->ent[k]];
	*out = best;
	return rc;
}

static int set_field(yg_user_policy *up, int k, const struct yg_val *v)
{
	char **str = NULL;

	switch (k) {
	case YG_K_ENABLED: up->enabled = v->num == 1; break;
	case YG_K_WARM: up->warm = v->num == 1; break;
	case YG_K_DOMAIN: str = &up->domain; break;
	case YG_K_SNAPSHOT: str = &up->snapshot; break;
	case YG_K_KEYS: str = &up->keys; break;
	case YG_K_INJECT_PATH: str = &up->inject_path; break;
	case YG_K_INJECT_OWNER: str = &up->inject_owner; break;
	case YG_K_CONSOLE: str = &up->console; break;
	case YG_K_ESCAPE: up->escape = (int)(long long)v->num; break;
	case YG_K_REVERT: up->revert = (enum yg_revert)v->num; break;
	case YG_K_CONCURRENT: up->concurrent = (enum yg_concurrent)v->num;
		break;
	case YG_K_AGENT_TIMEOUT: up->agent_timeout_ms = v->num; break;
	case YG_K_IDLE_TIMEOUT: up->idle_timeout_ms = v->num; break;
	case YG_K_MAX_SESSION: up->max_session_ms = v->num; break;
	case YG_K_IDLE: up->idle_output = v->num == 1; break;
	case YG_K_IDLE_WARNING: up->idle_warning_ms = v->num; break;
	case YG_K_RECORD: up->record = v->num == 1; break;
	case YG_K_REMOTE: up->remote = v->num == 1; break;
	case YG_K_LINGER: up->linger_ms = v->num; break;
	case YG_K_CONSOLE_HOLD: up->console_hold_ms = v->num; break;
	case YG_K_VCPUS: up->vcpus = (unsigned)v->num; break;
	case YG_K_MEMORY: up->memory_bytes = v->num; break;
	case YG_K_CPU_QUOTA: up->cpu_quota = (unsigned)v->num; break;
	case YG_K_DISK_SIZE: up->disk_size_bytes = v->num; break;
	case YG_K_DISK_IOPS: up->disk_iops = (unsigned long)v->num; break;
	case YG_K_DISK_BPS: up->disk_bps = v->num; break;
	case YG_K_NETWORK:
		if (strcmp(v->str, "none"))
			str = &up->network;
		break;
	case YG_K_HOST: str = &up->host; break;
	}
	if (str && !(*str = strdup(v->str)))
		return -ENOMEM;
	return 0;
}

/* Checks that involve two keys, once every key has its value. */
static int cross_check(const yg_policy *pol, const struct who *w,
		       const yg_user_policy *up, yg_diags *diags)
{
	const struct yg_entry *e = NULL;

	if (up->cpu_quota <= 100u * up->vcpus)
		return 0;
	if (winner(pol, w, YG_K_CPU_QUOTA, &e, diags) == -ENOMEM)
		return -ENOMEM;
	return yg_diags_addf(diags, e ? pol->files[e->file] : NULL,
			     e ? e->line : 0, "cpu_quota for user %s: '%u' is "
			     "more than %u vcpus can use: use 0 (unlimited) "
			     "or at most %u (100 per vcpu)", w->user,
			     up->cpu_quota, up->vcpus, 100u * up->vcpus)
		?: -EINVAL;
}

static int one_key(const yg_policy *pol, const struct who *w, int k,
		   yg_user_policy *up, yg_diags *diags)
{
	const struct yg_entry *e;
	struct yg_setting *st = &up->settings[up->nsettings];
	struct yg_val v;
	const char *raw;
	int rc = winner(pol, w, k, &e, diags), rc2;

	if (rc == -ENOMEM)
		return rc;
	raw = e ? e->value : yg_keys[k].def ? yg_keys[k].def : pol->def_keys;
	rc2 = check_for(pol, w, k, raw, e, &v, diags);
	if (rc2 < 0)
		return rc2;
	st->key = yg_keys[k].name;
	st->value = v.str;
	st->origin = origin_of(pol, e);
	up->nsettings++;
	if (!st->origin)
		return -ENOMEM;
	rc2 = set_field(up, k, &v);
	return rc2 ? rc2 : rc;
}

int yg_policy_for_user(const yg_policy *pol, const char *user, uid_t uid,
		       const char *const *groups, size_t ngroups,
		       yg_user_policy *out, yg_diags *diags)
{
	struct who w = { .user = user, .group = ngroups ? groups[0] : NULL };
	yg_diags local = { 0 };
	size_t before;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->escape = -1;
	if (!diags)
		diags = &local;
	before = diags->n;
	snprintf(w.uid, sizeof(w.uid), "%u", (unsigned)uid);
	out->uid = uid;
	out->user = strdup(user);
	out->group = w.group ? strdup(w.group) : NULL;
	out->settings = calloc(YG_K_LAST_USER - YG_K_FIRST_USER + 1,
			       sizeof(*out->settings));
	w.gsecs = calloc(ngroups ? ngroups : 1, sizeof(*w.gsecs));
	if (!out->user || (w.group && !out->group) || !out->settings ||
	    !w.gsecs) {
		rc = -ENOMEM;
		goto out;
	}
	w.usec = yg_policy_section(pol, YG_SEC_USER, user);
	w.dsec = yg_policy_section(pol, YG_SEC_DEFAULTS, NULL);
	for (size_t i = 0; i < ngroups; i++) {
		const struct yg_section *g =
			yg_policy_section(pol, YG_SEC_GROUP, groups[i]);
		bool dup = false;

		for (size_t j = 0; g && j < w.ngsecs; j++)
			dup |= w.gsecs[j] == g;
		if (g && !dup)
			w.gsecs[w.ngsecs++] = g;
	}
	out->own = w.usec || w.ngsecs;
	out->gated = out->own;
	for (size_t i = 0; !out->gated && i < pol->nsecs; i++)
		out->gated = pol->secs[i].kind == YG_SEC_BOX &&
			     box_lists(pol, &pol->secs[i], user, groups,
				       ngroups);
	/* A user no section applies to gets the defaults, but problems with
	 * them are not this user's: they are not reported. */
	if (!out->gated)
		diags = &local;
	for (int k = YG_K_FIRST_USER; k <= YG_K_LAST_USER && rc != -ENOMEM;
	     k++) {
		int r = one_key(pol, &w, k, out, diags);

		if (r < 0)
			rc = r;
	}
	if (rc == 0) {
		int r = cross_check(pol, &w, out, diags);

		if (r < 0)
			rc = r;
	}
	if (!out->gated && rc == -EINVAL)
		rc = 0;
	if (rc == 0 && diags->n > before)
		rc = -EINVAL;
out:
	free(w.gsecs);
	yg_diags_free(&local);
	return rc;
}

void yg_user_policy_clear(yg_user_policy *up)
{
	if (!up)
		return;
	for (size_t i = 0; i < up->nsettings; i++) {
		free(up->settings[i].value);
		free(up->settings[i].origin);
	}
	free(up->settings);
	free(up->user);
	free(up->group);
	free(up->domain);
	free(up->snapshot);
	free(up->keys);
	free(up->inject_path);
	free(up->inject_owner);
	free(up->console);
	free(up->network);
	free(up->host);
	memset(up, 0, sizeof(*up));
	up->escape = -1;
}

bool yg_policy_may_enter(const yg_policy *pol, const yg_user_policy *up,
			 const char *domain, const char *const *groups,
			 size_t ngroups)
{
	const struct yg_section *b;

	if (!pol || !up || !up->gated || !up->enabled || !domain || !up->user)
		return false;
	if (up->domain && !strcmp(up->domain, domain))
		return true;
	b = yg_policy_section(pol, YG_SEC_BOX, domain);
	return b && box_lists(pol, b, up->user, groups, ngroups);
}

bool yg_policy_box_lists(const yg_policy *pol, const yg_user_policy *up,
			 const char *domain, const char *const *groups,
			 size_t ngroups)
{
	const struct yg_section *b;

	if (!pol || !up || !up->gated || !up->enabled || !domain || !up->user)
		return false;
	b = yg_policy_section(pol, YG_SEC_BOX, domain);
	return b && box_lists(pol, b, up->user, groups, ngroups);
}

bool yg_policy_may_attach(const yg_policy *pol, const yg_user_policy *up,
			  const char *domain, const char *const *groups,
			  size_t ngroups)
{
	const struct yg_section *b;

	if (!yg_policy_box_lists(pol, up, domain, groups, ngroups))
		return false;
	b = yg_policy_section(pol, YG_SEC_BOX, domain);
	return b->ent[YG_K_ATTACH] >= 0 &&
	       !strcmp(pol->ents[b->ent[YG_K_ATTACH]].value, "yes");
}

int yg_policy_user_lookup(const yg_policy *pol, const char *user,
			  yg_user_policy *out, yg_diags *diags)
{
	struct passwd pw, *res = NULL;
	char buf[16384], **names = NULL;
	size_t ng = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->escape = -1;
	rc = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (rc != 0 || !res)
		return yg_diags_addf(diags, NULL, 0, "user %s: %s: check the "
				     "name (names are case-sensitive)", user,
				     rc ? strerror(rc) : "no such user")
			?: -ENOENT;
	rc = yg_groups_of(user, pw.pw_gid, &names, &ng);
	if (rc == 0)
		rc = yg_policy_for_user(pol, user, pw.pw_uid,
					(const char *const *)names, ng, out,
					diags);
	yg_groups_free(names, ng);
	return rc;
}
