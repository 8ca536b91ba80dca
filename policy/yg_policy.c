/* SPDX-License-Identifier: MIT */
/* yg_policy.c: load gate.conf and policy.d/NAME.conf into a yg_policy.
 *
 * Every file is opened through yg_trust (ownership, modes, no symlinks),
 * read whole, scanned line by line by yg_scan (exact case, line numbers),
 * each section and key is checked here, and files that scanned cleanly are
 * cross-checked against iniparser.  Errors are collected, never fatal on
 * the first one: the caller gets all of them.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "yg_policy_int.h"

#define WHY_MAX 512

struct load_ctx {
	yg_policy *pol;
	yg_diags *diags;
	unsigned file;
	long sec;         /* index in secs; -1 none yet; -2 bad header */
};

static const char *const kind_names[] = {
	[YG_SEC_GATE] = "gate", [YG_SEC_DEFAULTS] = "defaults",
	[YG_SEC_GROUP] = "group", [YG_SEC_USER] = "user", [YG_SEC_BOX] = "box",
	[YG_SEC_HOST] = "host",
};

static size_t sec_hash(int kind, const char *name)
{
	size_t h = 2166136261u ^ (size_t)kind;

	for (const char *p = name ? name : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

static bool sec_is(const struct yg_section *s, int kind, const char *name)
{
	if (s->kind != kind)
		return false;
	return (!s->name && !name) || (s->name && name && !strcmp(s->name, name));
}

const struct yg_section *yg_policy_section(const yg_policy *pol, int kind,
					   const char *name)
{
	if (!pol->hcap)
		return NULL;
	for (size_t i = sec_hash(kind, name) & (pol->hcap - 1);;
	     i = (i + 1) & (pol->hcap - 1)) {
		size_t v = pol->htab[i];

		if (!v)
			return NULL;
		if (sec_is(&pol->secs[v - 1], kind, name))
			return &pol->secs[v - 1];
	}
}

static void hash_place(yg_policy *pol, size_t idx)
{
	const struct yg_section *s = &pol->secs[idx];

	for (size_t i = sec_hash(s->kind, s->name) & (pol->hcap - 1);;
	     i = (i + 1) & (pol->hcap - 1))
		if (!pol->htab[i]) {
			pol->htab[i] = idx + 1;
			return;
		}
}

/* idx is the last section (already counted in nsecs). */
static int hash_insert(yg_policy *pol, size_t idx)
{
	if (pol->nsecs * 2 > pol->hcap) {
		size_t ncap = pol->hcap ? pol->hcap * 2 : 16;
		size_t *nt = calloc(ncap, sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		free(pol->htab);
		pol->htab = nt;
		pol->hcap = ncap;
		for (size_t j = 0; j < pol->nsecs; j++)
			hash_place(pol, j);
		return 0;
	}
	hash_place(pol, idx);
	return 0;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *nv;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	nv = realloc(*v, ncap * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static long sec_get(yg_policy *pol, int kind, const char *name,
		    unsigned file, unsigned line)
{
	const struct yg_section *found = yg_policy_section(pol, kind, name);
	struct yg_section *s;

	if (found)
		return found - pol->secs;
	if (grow((void **)&pol->secs, &pol->capsecs, pol->nsecs,
		 sizeof(*pol->secs)) < 0)
		return -ENOMEM;
	s = &pol->secs[pol->nsecs];
	s->kind = kind;
	s->name = NULL;
	if (name && !(s->name = strdup(name)))
		return -ENOMEM;
	s->file = file;
	s->line = line;
	for (int k = 0; k < YG_NKEYS; k++)
		s->ent[k] = -1;
	pol->nsecs++;
	if (hash_insert(pol, pol->nsecs - 1) < 0)
		return -ENOMEM;
	return (long)pol->nsecs - 1;
}

static const char *fname(const struct load_ctx *c)
{
	return c->pol->files[c->file];
}

static int bad_section(struct load_ctx *c, const char *name, unsigned line)
{
	static const char *const cands[] = { "gate", "defaults", "group",
					     "user", "box", "host" };
	const char *colon = strchr(name, ':');
	size_t plen = colon ? (size_t)(colon - name) : strlen(name);
	char prefix[64];
	const char *best = NULL;
	unsigned bestd = 3;

	c->sec = -2;
	snprintf(prefix, sizeof(prefix), "%.*s", (int)plen, name);
	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		unsigned d = yg_edit_distance(prefix, cands[i]);

		if (d < bestd && (i < 2) == !colon) {
			bestd = d;
			best = cands[i];
		}
	}
	return yg_diags_addf(c->diags, fname(c), line, "unknown section "
			     "[%s]: valid sections are [gate], [defaults], "
			     "[group:NAME], [user:NAME], [box:NAME] and "
			     "[host:NAME]%s%s%s%s",
			     name, best ? " (did you mean '[" : "",
			     best ? best : "", best && colon ? colon : "",
			     best ? "]'?)" : "");
}

static int on_section(void *ctx, const char *name, unsigned line)
{
	struct load_ctx *c = ctx;
	const char *colon = strchr(name, ':'), *arg = colon ? colon + 1 : NULL;
	int kind = -1;
	long idx;

	for (int k = 0; k < YG_NKINDS; k++) {
		size_t n = strlen(kind_names[k]);

		if (k <= YG_SEC_DEFAULTS ? !strcmp(name, kind_names[k]) :
		    (colon && (size_t)(colon - name) == n &&
		     !strncmp(name, kind_names[k], n)))
			kind = k;
	}
	if (kind < 0)
		return bad_section(c, name, line);
	if (kind == YG_SEC_BOX && !yg_valid_domain_name(arg)) {
		c->sec = -2;
		return yg_diags_addf(c->diags, fname(c), line, "[box:%s]: "
				     "'%s' is not a valid libvirt domain name: "
				     "use %s", arg, arg, yg_domain_name_rule);
	}
	if (kind == YG_SEC_HOST && !yg_valid_domain_name(arg)) {
		c->sec = -2;
		return yg_diags_addf(c->diags, fname(c), line, "[host:%s]: "
				     "'%s' is not a valid host name: use %s",
				     arg, arg, yg_domain_name_rule);
	}
	if (kind == YG_SEC_HOST && !strcmp(arg, YG_HOST_LOCAL)) {
		c->sec = -2;
		return yg_diags_addf(c->diags, fname(c), line, "[host:local]: "
				     "local is the gate's own libvirt and "
				     "always exists: set [gate] uri instead "
				     "(or give this host another name)");
	}
	if ((kind == YG_SEC_USER || kind == YG_SEC_GROUP) &&
	    !yg_valid_posix_name(arg)) {
		c->sec = -2;
		return yg_diags_addf(c->diags, fname(c), line, "[%s]: '%s' is "
				     "not a valid %s name: use %s", name, arg,
				     kind_names[kind], yg_posix_name_rule);
	}
	idx = sec_get(c->pol, kind, arg, c->file, line);
	if (idx < 0)
		return (int)idx;
	c->sec = idx;
	return 0;
}

/* "[gate]", "[defaults], [group:NAME] or [user:NAME]", ...: the sections
 * of every scope bit, the last joined with "or". */
static const char *scope_where(unsigned scope, char *buf, size_t n)
{
	static const char *const where[] = { "[gate]", "[defaults]",
					     "[group:NAME]", "[user:NAME]",
					     "[box:NAME]", "[host:NAME]" };
	static const unsigned bit[] = { YG_SCOPE_GATE, YG_SCOPE_USER,
					YG_SCOPE_USER, YG_SCOPE_USER,
					YG_SCOPE_BOX, YG_SCOPE_HOST };
	size_t cnt = 0, total = 0, off = 0;

	for (size_t i = 0; i < sizeof(bit) / sizeof(bit[0]); i++)
		total += (scope & bit[i]) != 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(bit) / sizeof(bit[0]) && off < n; i++) {
		if (!(scope & bit[i]))
			continue;
		cnt++;
		off += (size_t)snprintf(buf + off, n - off, "%s%s",
					cnt == 1 ? "" : cnt == total ? " or " :
					", ", where[i]);
	}
	return buf;
}

static unsigned sec_scope(const struct yg_section *s)
{
	if (s->kind == YG_SEC_GATE)
		return YG_SCOPE_GATE;
	if (s->kind == YG_SEC_BOX)
		return YG_SCOPE_BOX;
	if (s->kind == YG_SEC_HOST)
		return YG_SCOPE_HOST;
	return YG_SCOPE_USER;
}

static void sec_label(const struct yg_section *s, char *buf, size_t n)
{
	snprintf(buf, n, "[%s%s%s]", kind_names[s->kind], s->name ? ":" : "",
		 s->name ? s->name : "");
}

static int on_pair(void *ctx, const char *key, const char *value,
		   unsigned line)
{
	struct load_ctx *c = ctx;
	yg_policy *pol = c->pol;
	struct yg_section *s;
	struct yg_entry *e;
	char label[128], why[WHY_MAX], where[160];
	struct yg_val v;
	unsigned scope;
	int k, rc;

	if (c->sec == -2)
		return 0; /* under a bad header, already reported */
	if (c->sec == -1)
		return yg_diags_addf(c->diags, fname(c), line, "'%s' is outside "
				     "any section: put it under [gate], "
				     "[defaults], [group:NAME], [user:NAME], "
				     "[box:NAME] or [host:NAME]", key);
	s = &pol->secs[c->sec];
	scope = sec_scope(s);
	sec_label(s, label, sizeof(label));
	k = yg_key_find(key);
	if (k < 0) {
		const char *sug = yg_key_suggest(key, scope);

		return yg_diags_addf(c->diags, fname(c), line, "unknown key "
				     "'%s' in %s%s%s%s", key, label,
				     sug ? " (did you mean '" : "",
				     sug ? sug : "", sug ? "'?)" : "");
	}
	if (!(yg_keys[k].scope & scope))
		return yg_diags_addf(c->diags, fname(c), line, "key '%s' is not "
				     "valid in %s: it belongs in %s", key,
				     label, scope_where(yg_keys[k].scope, where,
							sizeof(where)));
	if (s->ent[k] >= 0) {
		const struct yg_entry *first = &pol->ents[s->ent[k]];

		return yg_diags_addf(c->diags, fname(c), line, "duplicate key "
				     "'%s' in %s (already set at %s:%u): keep "
				     "only one", key, label,
				     pol->files[first->file], first->line);
	}
	if (grow((void **)&pol->ents, &pol->capents, pol->nents,
		 sizeof(*pol->ents)) < 0)
		return -ENOMEM;
	e = &pol->ents[pol->nents];
	if (!(e->value = strdup(value)))
		return -ENOMEM;
	e->file = c->file;
	e->line = line;
	s->ent[k] = (int)pol->nents++;
	/* Static check: per-user values are expanded with the section's
	 * user name (or placeholders); yg_policy_for_user re-checks with the
	 * real user. */
	if (s->kind == YG_SEC_HOST)
		rc = yg_key_check_host(k, value, &v, why, sizeof(why));
	else
		rc = yg_key_check(k, value, s->kind == YG_SEC_USER ? s->name :
				  NULL, NULL, "g", &v, why, sizeof(why));
	if (rc == -ENOMEM)
		return rc;
	free(v.str);
	if (rc < 0 && s->kind == YG_SEC_HOST)
		return yg_diags_addf(c->diags, fname(c), line, "host %s: %s %s",
				     s->name, key, why);
	if (rc < 0)
		return yg_diags_addf(c->diags, fname(c), line, "%s in %s: %s",
				     key, label, why);
	return 0;
}

static int add_file(yg_policy *pol, const char *path)
{
	char *p = strdup(path);
	char **nf;

	if (!p)
		return -ENOMEM;
	nf = realloc(pol->files, (pol->nfiles + 1) * sizeof(*nf));
	if (!nf) {
		free(p);
		return -ENOMEM;
	}
	pol->files = nf;
	pol->files[pol->nfiles++] = p;
	return 0;
}

/* Read and parse one opened, trusted file. */
static int load_fd(yg_policy *pol, int fd, const char *path, yg_diags *diags)
{
	static const struct yg_scan_cb cb = { on_section, on_pair };
	struct load_ctx c = { pol, diags, 0, -1 };
	size_t before = diags->n, len;
	char *buf;
	int rc;

	rc = yg_trust_read(fd, path, &buf, &len, diags);
	if (rc < 0)
		return rc == -ENOMEM ? rc : 0;
	rc = add_file(pol, path);
	if (rc == 0) {
		c.file = (unsigned)pol->nfiles - 1;
		rc = yg_scan(path, buf, len, &cb, &c, diags);
	}
	if (rc == 0 && diags->n == before)
		rc = yg_scan_crosscheck(path, fd, buf, len, diags);
	free(buf);
	return rc == -ENOMEM ? rc : 0;
}

static int load_one(yg_policy *pol, int dirfd, const char *name,
		    const char *path, bool entry, yg_diags *diags)
{
	int fd = yg_trust_open_file(dirfd, name, path, entry, diags);
	int rc;

	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd == -ENOMEM ? fd : 0;
	rc = load_fd(pol, fd, path, diags);
	close(fd);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool wanted(const char *n)
{
	size_t l = strlen(n);

	return n[0] != '.' && l > 5 && !strcmp(n + l - 5, ".conf");
}

static int load_policy_d(yg_policy *pol, int cfd, yg_diags *diags)
{
	char *dpath = NULL, **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *dir;
	int dfd, rc = 0;

	if (asprintf(&dpath, "%s/policy.d", pol->confdir) < 0)
		return -ENOMEM;
	dfd = yg_trust_open_dir(cfd, "policy.d", dpath, false, diags);
	if (dfd < 0) {
		free(dpath);
		return dfd == -ENOMEM ? dfd : 0;
	}
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		free(dpath);
		return -ENOMEM;
	}
	while (rc == 0 && (de = readdir(dir))) {
		char **nn;

		if (!wanted(de->d_name))
			continue;
		nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn || !(nn[n] = strdup(de->d_name)))
			rc = -ENOMEM;
		if (nn)
			names = nn;
		if (rc == 0)
			n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char *path = NULL;

		if (rc == 0 && asprintf(&path, "%s/%s", dpath, names[i]) < 0)
			rc = -ENOMEM;
		if (rc == 0)
			rc = load_one(pol, dirfd(dir), names[i], path, true,
				      diags);
		free(path);
		free(names[i]);
	}
	free(names);
	closedir(dir);
	free(dpath);
	return rc;
}

static void set_gate(yg_policy *pol)
{
	const struct yg_section *g = yg_policy_section(pol, YG_SEC_GATE, NULL);
	const char *v[YG_K_LAST_GATE + 1];

	for (int k = 0; k <= YG_K_LAST_GATE; k++)
		v[k] = g && g->ent[k] >= 0 ? pol->ents[g->ent[k]].value :
		       yg_keys[k].def;
	pol->gate.uri = v[YG_K_URI];
	pol->gate.socket = v[YG_K_SOCKET];
	pol->gate.run_dir = v[YG_K_RUN_DIR];
	pol->gate.service_user = v[YG_K_SERVICE_USER];
	pol->gate.audit_log = v[YG_K_AUDIT_LOG];
	pol->gate.record_dir = v[YG_K_RECORD_DIR];
	/* Checked at load time; a bad value never reaches here. */
	if (yg_parse_size(v[YG_K_RECORD_MAX_SIZE],
			  &pol->gate.record_max_size) < 0)
		pol->gate.record_max_size = 10ULL << 20;
	/* checked at load time too (T_COUNT: 0 .. UINT_MAX) */
	pol->gate.max_clients = (unsigned)strtoul(v[YG_K_MAX_CLIENTS], NULL, 10);
	pol->gate.max_clients_per_user =
		(unsigned)strtoul(v[YG_K_MAX_CLIENTS_PER_USER], NULL, 10);
	pol->gate.log_level = YG_LOG_INFO;
	for (int l = YG_LOG_ERROR; l <= YG_LOG_DEBUG; l++) {
		static const char *const names[] = { "error", "warning",
						     "info", "debug" };

		if (!strcmp(v[YG_K_LOG_LEVEL], names[l]))
			pol->gate.log_level = l;
	}
}

int yg_policy_load(const char *confdir, yg_policy **out, yg_diags *diags)
{
	yg_diags local = { 0 };
	yg_policy *pol;
	size_t before;
	char *path = NULL;
	int cfd, rc = 0;

	*out = NULL;
	if (!diags)
		diags = &local;
	before = diags->n;
	pol = calloc(1, sizeof(*pol));
	if (!pol)
		return -ENOMEM;
	pol->confdir = strdup(confdir ? confdir : YG_POLICY_DEFAULT_CONFDIR);
	if (!pol->confdir ||
	    asprintf(&pol->def_keys, "%s/keys.d/%%u.env", pol->confdir) < 0) {
		pol->def_keys = NULL;
		rc = -ENOMEM;
		goto out;
	}
	cfd = yg_trust_open_dir(AT_FDCWD, pol->confdir, pol->confdir, true,
				diags);
	if (cfd == -ENOENT && confdir)
		rc = yg_diags_addf(diags, pol->confdir, 0, "configuration "
				   "directory does not exist: create it or "
				   "give the right --config DIR");
	if (cfd >= 0) {
		if (asprintf(&path, "%s/gate.conf", pol->confdir) < 0)
			rc = -ENOMEM;
		else
			rc = load_one(pol, cfd, "gate.conf", path, false,
				      diags);
		free(path);
		if (rc == 0)
			rc = load_policy_d(pol, cfd, diags);
		close(cfd);
	}
	if (rc == 0)
		rc = yg_hosts_check(pol, diags);
	if (rc == 0 && diags->n > before)
		rc = -EINVAL;
	if (rc == 0) {
		set_gate(pol);
		rc = yg_hosts_build(pol);
	}
out:
	if (rc < 0)
		yg_policy_free(pol);
	else
		*out = pol;
	yg_diags_free(&local);
	return rc;
}

void yg_policy_free(yg_policy *pol)
{
	if (!pol)
		return;
	for (size_t i = 0; i < pol->nfiles; i++)
		free(pol->files[i]);
	for (size_t i = 0; i < pol->nents; i++)
		free(pol->ents[i].value);
	for (size_t i = 0; i < pol->nsecs; i++)
		free(pol->secs[i].name);
	free(pol->files);
	free(pol->ents);
	free(pol->secs);
	free(pol->htab);
	yg_hosts_free(pol);
	free(pol->def_keys);
	free(pol->confdir);
	free(pol);
}

const char *yg_policy_confdir(const yg_policy *pol)
{
	return pol->confdir;
}

size_t yg_policy_nfiles(const yg_policy *pol)
{
	return pol->nfiles;
}

const char *yg_policy_file(const yg_policy *pol, size_t i)
{
	return i < pol->nfiles ? pol->files[i] : NULL;
}

const struct yg_gate_conf *yg_policy_gate(const yg_policy *pol)
{
	return &pol->gate;
}

int yg_policy_each_name(const yg_policy *pol, const char *kind,
			int (*fn)(void *ctx, const char *name), void *ctx)
{
	for (size_t i = 0; i < pol->nsecs; i++) {
		const struct yg_section *s = &pol->secs[i];
		int rc;

		if (!s->name || strcmp(kind_names[s->kind], kind))
			continue;
		rc = fn(ctx, s->name);
		if (rc)
			return rc;
	}
	return 0;
}
