/* SPDX-License-Identifier: MIT */
/* yg_groups.h: a user's groups, the project's one group lookup (the broker
 * and `yolo-gatectl check --user` must see the same groups). */
#ifndef YG_GROUPS_H
#define YG_GROUPS_H

#include <stddef.h>
#include <sys/types.h>

/* The groups of user (primary gid given) through NSS, by name: the primary
 * group first, then the supplementary groups getgrouplist(3) lists (a gid without a name is
 * written as its number). No cut-off: the list is as long as getgrouplist
 * says (at most NGROUPS_MAX). *names is malloc'd, free it with
 * yg_groups_free. 0, -ENOMEM, or -E2BIG beyond NGROUPS_MAX. */
int yg_groups_of(const char *user, gid_t primary, char ***names, size_t *n)
	__attribute__((warn_unused_result));
void yg_groups_free(char **names, size_t n);	/* NULL ok */

#endif
