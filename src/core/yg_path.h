/* SPDX-License-Identifier: MIT */
/* yg_path.h: the project's one path formatter. */
#ifndef YG_PATH_H
#define YG_PATH_H

#include <stddef.h>

/* snprintf for paths: 0, or -ENAMETOOLONG instead of a silently cut path
 * (buf then holds the cut text, which must not be used). */
int yg_pathf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), warn_unused_result));

#endif
