/* SPDX-License-Identifier: MIT */
/* yg_hosts.c: the libvirt hosts of a lab (issue #17).
 *
 * [host:NAME] sections are ordinary sections of the policy (yg_policy.c
 * reads and checks their keys); here, once every file is read, each one
 * must have a uri and every host = must name a defined host, and the
 * table that yg_policy_host*() answer from is built: the reserved host
 * "local" ([gate] uri) first, then the [host:] sections in order of
 * first appearance.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yg_policy_int.h"

/* How many host names an "is not defined" error lists at most. */
#define LIST_MAX 8

static bool host_defined(const yg_policy *pol, const char *name)
{
	return !strcmp(name, YG_HOST_LOCAL) ||
	       yg_policy_section(pol, YG_SEC_HOST, name) != NULL;
}

/* "local, hv2, hv3" (at most LIST_MAX names, then ", ...") and the defined
 * name closest to name within edit distance 2 (or NULL). */
static void host_names(const yg_policy *pol, const char *name, char *buf,
		       size_t n, const char **best)
{
	unsigned bestd = 3, listed = 1;
	size_t off;

	*best = NULL;
	off = (size_t)snprintf(buf, n, "%s", YG_HOST_LOCAL);
	if (yg_edit_distance(name, YG_HOST_LOCAL) < bestd) {
		bestd = yg_edit_distance(name, YG_HOST_LOCAL);
		*best = YG_HOST_LOCAL;
	}
	for (size_t i = 0; i < pol->nsecs; i++) {
		const struct yg_section *s = &pol->secs[i];
		unsigned d;

		if (s->kind != YG_SEC_HOST)
			continue;
		d = yg_edit_distance(name, s->name);
		if (d < bestd) {
			bestd = d;
			*best = s->name;
		}
		if (off < n && listed <= LIST_MAX)
			off += (size_t)snprintf(buf + off, n - off, "%s",
						listed < LIST_MAX ? ", " :
						", ...");
		if (off < n && listed < LIST_MAX)
			off += (size_t)snprintf(buf + off, n - off, "%s",
						s->name);
		listed++;
	}
}

static int check_ref(const yg_policy *pol, const struct yg_entry *e,
		     yg_diags *diags)
{
	char names[512];
	const char *best;

	/* a value that is no valid name was reported when it was read */
	if (!yg_valid_domain_name(e->value) || host_defined(pol, e->value))
		return 0;
	host_names(pol, e->value, names, sizeof(names), &best);
	return yg_diags_addf(diags, pol->files[e->file], e->line, "host \"%s\" "
			     "is not defined; define [host:%s] with a uri, or "
			     "use one of: %s%s%s%s", e->value, e->value, names,
			     best ? " (did you mean '" : "", best ? best : "",
			     best ? "'?)" : "");
}

int yg_hosts_check(const yg_policy *pol, yg_diags *diags)
{
	for (size_t i = 0; i < pol->nsecs; i++) {
		const struct yg_section *s = &pol->secs[i];
		int rc = 0;

		if (s->kind == YG_SEC_HOST && s->ent[YG_K_URI] < 0)
			rc = yg_diags_addf(diags, pol->files[s->file], s->line,
					   "host %s: uri is missing (fix: add "
					   "a libvirt URI under [host:%s], "
					   "such as uri = qemu+ssh://root@%s/"
					   "system)", s->name, s->name,
					   s->name);
		else if (s->kind != YG_SEC_HOST && s->kind != YG_SEC_GATE &&
			 s->ent[YG_K_HOST] >= 0)
			rc = check_ref(pol, &pol->ents[s->ent[YG_K_HOST]],
				       diags);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Value of key k in host section s, or its [host:] default. */
static const char *hval(const yg_policy *pol, const struct yg_section *s,
			int k)
{
	return s->ent[k] >= 0 ? pol->ents[s->ent[k]].value :
	       yg_key_host_default(k);
}

static int add_host(yg_policy *pol, const struct yg_section *s)
{
	struct yg_host *h = &pol->hosts[pol->nhosts];
	struct yg_host_conf *c = &h->conf;

	c->name = s->name;
	c->uri = hval(pol, s, YG_K_URI);
	c->images = hval(pol, s, YG_K_IMAGES);
	/* All checked at load time (0..100000, a size, yes|no). */
	c->capacity = (unsigned)strtoul(hval(pol, s, YG_K_CAPACITY), NULL, 10);
	if (yg_parse_size(hval(pol, s, YG_K_MEMORY), &c->memory_bytes) < 0)
		c->memory_bytes = 0;
	c->enabled = !strcmp(hval(pol, s, YG_K_ENABLED), "yes");
	if (asprintf(&h->origin, "%s:%u", pol->files[s->file], s->line) < 0) {
		h->origin = NULL;
		return -ENOMEM;
	}
	c->origin = h->origin;
	pol->nhosts++;
	return 0;
}

int yg_hosts_build(yg_policy *pol)
{
	size_t n = 1;
	struct yg_host_conf *local;

	for (size_t i = 0; i < pol->nsecs; i++)
		n += pol->secs[i].kind == YG_SEC_HOST;
	pol->hosts = calloc(n, sizeof(*pol->hosts));
	if (!pol->hosts)
		return -ENOMEM;
	local = &pol->hosts[0].conf;
	local->name = YG_HOST_LOCAL;
	local->uri = pol->gate.uri;
	local->images = YG_POLICY_DEFAULT_IMAGES;
	local->enabled = true;
	local->origin = "built-in ([gate] uri)";
	pol->nhosts = 1;
	for (size_t i = 0; i < pol->nsecs; i++) {
		int rc;

		if (pol->secs[i].kind != YG_SEC_HOST)
			continue;
		rc = add_host(pol, &pol->secs[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void yg_hosts_free(yg_policy *pol)
{
	for (size_t i = 0; i < pol->nhosts; i++)
		free(pol->hosts[i].origin);
	free(pol->hosts);
	pol->hosts = NULL;
	pol->nhosts = 0;
}

size_t yg_policy_nhosts(const yg_policy *pol)
{
	return pol->nhosts;
}

const struct yg_host_conf *yg_policy_host_at(const yg_policy *pol, size_t i)
{
	return i < pol->nhosts ? &pol->hosts[i].conf : NULL;
}

const struct yg_host_conf *yg_policy_host(const yg_policy *pol,
					  const char *name)
{
	for (size_t i = 0; name && i < pol->nhosts; i++)
		if (!strcmp(pol->hosts[i].conf.name, name))
			return &pol->hosts[i].conf;
	return NULL;
}

const char *yg_policy_box_host(const yg_policy *pol, const char *box)
{
	const struct yg_section *b;

	if (!box)
		return NULL;
	b = yg_policy_section(pol, YG_SEC_BOX, box);
	if (!b)
		return NULL;
	return b->ent[YG_K_HOST] >= 0 ? pol->ents[b->ent[YG_K_HOST]].value :
	       YG_HOST_LOCAL;
}
