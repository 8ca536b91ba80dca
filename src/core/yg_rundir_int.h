/* SPDX-License-Identifier: MIT */
/* yg_rundir_int.h: what the two files of yg_rundir (yg_rundir.c: sessions,
 * locks, end requests; yg_rundir_host.c: box keys and hosts) share. Not for
 * other callers: yg_rundir.h is the interface. */
#ifndef YG_RUNDIR_INT_H
#define YG_RUNDIR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "yg_err.h"

/* 1..max bytes, none a control character (NUL and newline included). */
bool yg_rd_text_ok(const char *s, size_t n, size_t max);
/* A plain file name: text, no '/', not "." or "..". */
bool yg_rd_name_ok(const char *s, size_t n, size_t max);
/* A canonical decimal (no sign, no leading zero) of at most max. */
bool yg_rd_dec_parse(const char *s, size_t n, unsigned long long max, unsigned long long *out);
/* Read up to size bytes of fd from offset 0 (restarting short reads). */
ssize_t yg_rd_read_some(int fd, char *buf, size_t size);
/* A record's size and its start "TAG VERSION" + sep, versions 1..newest:
 * the offset after sep, or -errno with err (what names the record). */
int yg_rd_check_head(const char *buf, size_t len, size_t max, const char *tag, char sep,
		     const char *what, unsigned newest, unsigned *version, yg_err *err);
/* A domain (max YG_RUNDIR_NAME_MAX) or a box key (YG_RUNDIR_KEY_MAX - 1)
 * that can name a file: 0 or -EINVAL with err. */
int yg_rd_check_name(const char *name, size_t max, yg_err *err);

#endif
