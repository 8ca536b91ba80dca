/* SPDX-License-Identifier: MIT */
/* yg_scan.c: the policy file line scanner, and an iniparser cross-check.
 *
 * Why our own scanner: iniparser 4.1 lowercases section names and keys,
 * merges repeated sections, silently keeps the last of duplicate keys, does
 * not report line numbers and caps lines at 1024 bytes.  User and group
 * names are case-sensitive on Linux ([user:Alice] and [user:alice] are two
 * users), duplicates must be errors and every error needs file:line.  So
 * this small scanner reads lines itself, with exact case and line numbers,
 * using iniparser's value syntax: `[section]`, `key = value`, `# comment`
 * or `; comment`, blank lines; a value is either quoted ("..." or '...',
 * kept verbatim) or unquoted (ends at the first # or ;, trimmed).
 *
 * Split of work: yg_scan() is the parser of record.  iniparser is then used
 * as a cross-check on files that scanned cleanly (yg_scan_crosscheck()):
 * it reads the same open file through /proc/self/fd/N and every value it
 * sees must equal the last value our scanner saw for that (lowercased)
 * section and key; a disagreement is reported as an internal error, so a
 * divergence between the two parsers can never go unnoticed.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iniparser/iniparser.h>

#include "yg_policy_int.h"

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Trim [*s, *e) in place. */
static void trim(const char **s, const char **e)
{
	while (*s < *e && is_ws(**s))
		(*s)++;
	while (*e > *s && is_ws((*e)[-1]))
		(*e)--;
}

static char *dup_range(const char *s, const char *e)
{
	return strndup(s, (size_t)(e - s));
}

/* Parse the value part [s, e) (already trimmed).  Returns a new string, or
 * NULL with *why set (or errno ENOMEM). */
static char *scan_value(const char *s, const char *e, const char **why)
{
	const char *q, *rest;

	*why = NULL;
	if (s < e && (*s == '"' || *s == '\'')) {
		q = memchr(s + 1, *s, (size_t)(e - s - 1));
		if (!q) {
			*why = "the quoted value has no closing quote";
			return NULL;
		}
		rest = q + 1;
		while (rest < e && is_ws(*rest))
			rest++;
		if (rest < e && *rest != '#' && *rest != ';') {
			*why = "text after the closing quote (only a # or ; "
			       "comment may follow a quoted value)";
			return NULL;
		}
		return dup_range(s + 1, q);
	}
	for (q = s; q < e && *q != '#' && *q != ';'; q++)
		;
	while (q > s && is_ws(q[-1]))
		q--;
	return dup_range(s, q);
}

static int scan_line(const char *file, unsigned lineno, const char *s,
		     const char *e, const struct yg_scan_cb *cb, void *ctx,
		     yg_diags *diags)
{
	const char *eq, *why;
	char *a, *b;
	int rc;

	trim(&s, &e);
	if (s == e || *s == '#' || *s == ';')
		return 0;
	if (e[-1] == '\\')
		return yg_diags_addf(diags, file, lineno, "a line ending in "
				     "'\\' (continuation) is not supported: "
				     "write the value on one line");
	if (*s == '[') {
		const char *ns = s + 1, *ne = e - 1;

		if (e[-1] != ']' || e - s < 2)
			return yg_diags_addf(diags, file, lineno, "a section "
					     "header must be '[name]' alone on "
					     "its line");
		trim(&ns, &ne);
		if (ns == ne || memchr(ns, '[', (size_t)(ne - ns)) ||
		    memchr(ns, ']', (size_t)(ne - ns)))
			return yg_diags_addf(diags, file, lineno, "bad section "
					     "header: expected [gate], "
					     "[defaults], [group:NAME], "
					     "[user:NAME], [box:NAME] or "
					     "[host:NAME]");
		if (!(a = dup_range(ns, ne)))
			return -ENOMEM;
		rc = cb->section(ctx, a, lineno);
		free(a);
		return rc;
	}
	eq = memchr(s, '=', (size_t)(e - s));
	if (!eq)
		return yg_diags_addf(diags, file, lineno, "expected 'key = "
				     "value', a [section], or a # comment");
	{
		const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;

		trim(&ks, &ke);
		trim(&vs, &ve);
		if (ks == ke)
			return yg_diags_addf(diags, file, lineno, "missing key "
					     "name before '='");
		b = scan_value(vs, ve, &why);
		if (!b)
			return why ? yg_diags_addf(diags, file, lineno, "%s",
						   why) : -ENOMEM;
		if (!(a = dup_range(ks, ke))) {
			free(b);
			return -ENOMEM;
		}
		rc = cb->pair(ctx, a, b, lineno);
		free(a);
		free(b);
		return rc;
	}
}

int yg_scan(const char *file, const char *buf, size_t len,
	    const struct yg_scan_cb *cb, void *ctx, yg_diags *diags)
{
	const char *p = buf, *end = buf + len;
	unsigned lineno = 0;
	int rc;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		lineno++;
		if (le - p > YG_POLICY_MAX_LINE)
			rc = yg_diags_addf(diags, file, lineno, "line is longer "
					   "than %d characters: shorten it",
					   YG_POLICY_MAX_LINE);
		else
			rc = scan_line(file, lineno, p, le, cb, ctx, diags);
		if (rc < 0)
			return rc;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/* ---- iniparser cross-check ------------------------------------------ */

struct xc {
	dictionary *mine;
	char *section;
	int rc;
};

static void ascii_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int xc_section(void *ctx, const char *name, unsigned line)
{
	struct xc *x = ctx;

	free(x->section);
	x->section = strdup(name);
	if (!x->section)
		return -ENOMEM;
	ascii_lower(x->section);
	return 0;
}

static int xc_pair(void *ctx, const char *key, const char *value,
		   unsigned line)
{
	struct xc *x = ctx;
	char *k;

	if (asprintf(&k, "%s:%s", x->section ? x->section : "", key) < 0)
		return -ENOMEM;
	ascii_lower(k);
	if (dictionary_set(x->mine, k, value) != 0)
		x->rc = -ENOMEM;
	free(k);
	return x->rc;
}

static int quiet(const char *fmt, ...)
{
	return 0;
}

static int count_values(const dictionary *d)
{
	int n = 0;

	for (ssize_t i = 0; i < d->size; i++)
		if (d->key[i] && d->val[i])
			n++;
	return n;
}

int yg_scan_crosscheck(const char *file, int fd, const char *buf, size_t len,
		       yg_diags *diags)
{
	static const struct yg_scan_cb cb = { xc_section, xc_pair };
	struct xc x = { 0 };
	dictionary *theirs;
	char proc[64];
	int rc;

	/* iniparser 4.1 cannot read lines of 1024 bytes or more and is
	 * quadratic: only cross-check files of a sane size. */
	if (len > 64 * 1024)
		return 0;
	for (const char *p = buf, *nl; p < buf + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(buf + len - p));
		if (!nl)
			nl = buf + len;
		if (nl - p >= 1000)
			return 0;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	iniparser_set_error_callback(quiet);
	theirs = iniparser_load(proc);
	iniparser_set_error_callback(NULL);
	if (!theirs)
		return 0; /* no /proc, or iniparser refuses: nothing to compare */
	x.mine = dictionary_new(0);
	if (!x.mine) {
		iniparser_freedict(theirs);
		return -ENOMEM;
	}
	rc = yg_scan(file, buf, len, &cb, &x, NULL);
	if (!rc)
		rc = x.rc;
	for (ssize_t i = 0; !rc && i < x.mine->size; i++) {
		const char *k = x.mine->key[i], *v;

		if (!k)
			continue;
		v = iniparser_getstring(theirs, k, NULL);
		if (!v || strcmp(v, x.mine->val[i]))
			rc = yg_diags_addf(diags, file, 0, "internal error: "
					   "iniparser reads '%s' as '%s', the "
					   "line scanner as '%s' (please "
					   "report this; quoting the value "
					   "may help)", k, v ? v : "(nothing)",
					   x.mine->val[i]) ?: -EINVAL;
	}
	if (!rc && count_values(theirs) != count_values(x.mine))
		rc = yg_diags_addf(diags, file, 0, "internal error: iniparser "
				   "sees %d values, the line scanner %d "
				   "(please report this)",
				   count_values(theirs),
				   count_values(x.mine)) ?: -EINVAL;
	free(x.section);
	dictionary_del(x.mine);
	iniparser_freedict(theirs);
	return rc;
}
