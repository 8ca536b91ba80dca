/* SPDX-License-Identifier: MIT */
/* yg_groups.c: see yg_groups.h */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "yg_groups.h"

#define YG_GROUPS_FIRST 64

static int group_name(gid_t gid, char **out)
{
	struct group gr, *res = NULL;
	char buf[16384], num[16];

	if (getgrgid_r(gid, &gr, buf, sizeof(buf), &res) != 0 || !res) {
		snprintf(num, sizeof(num), "%u", (unsigned)gid);
		*out = strdup(num);
	} else {
		*out = strdup(gr.gr_name);
	}
	return *out ? 0 : -ENOMEM;
}

/* getgrouplist into a buffer that grows to what it asks for. */
static int gid_list(const char *user, gid_t primary, gid_t **out, int *n)
{
	long max = sysconf(_SC_NGROUPS_MAX);
	int cap = YG_GROUPS_FIRST, want;
	gid_t *g = NULL, *ng;

	if (max <= 0)
		max = 65536;
	for (;;) {
		ng = realloc(g, (size_t)cap * sizeof(*g));
		if (!ng) {
			free(g);
			return -ENOMEM;
		}
		g = ng;
		want = cap;
		if (getgrouplist(user, primary, g, &want) >= 0) {
			*out = g;
			*n = want;
			return 0;
		}
		if (want <= cap || want > max + 1) {	/* +1: the primary group */
			free(g);
			return -E2BIG;
		}
		cap = want;
	}
}

int yg_groups_of(const char *user, gid_t primary, char ***names, size_t *n)
{
	gid_t *gids = NULL;
	char **v;
	size_t k = 0;
	int ng = 0, rc;

	*names = NULL;
	*n = 0;
	rc = gid_list(user, primary, &gids, &ng);
	if (rc < 0)
		return rc;
	v = calloc((size_t)ng + 1, sizeof(*v));
	if (!v) {
		free(gids);
		return -ENOMEM;
	}
	rc = group_name(primary, &v[k++]);
	for (int i = 0; rc == 0 && i < ng; i++)
		if (gids[i] != primary)	/* getgrouplist lists it too */
			rc = group_name(gids[i], &v[k++]);
	free(gids);
	if (rc < 0) {
		yg_groups_free(v, k);
		return rc;
	}
	*names = v;
	*n = k;
	return 0;
}

void yg_groups_free(char **names, size_t n)
{
	if (!names)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
