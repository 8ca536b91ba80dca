/* SPDX-License-Identifier: MIT */
/* yg_keyfile.h: the per-user key file, keys.d/<user>.env.
 *
 * Lines NAME=value; NAME matches [A-Za-z_][A-Za-z0-9_]*; blank lines and lines
 * starting with '#' are skipped; the value is the rest of the line (no quoting
 * rules, no expansion, no NUL, no CR). At most YG_KEYFILE_MAX bytes. The file
 * must be owned by the broker's user, mode 0600 (no group/other bits), a
 * regular file with one link, not a symlink (yg_file rules). The value bytes
 * live only in mlock'ed memory and are zeroed on free; they are never logged:
 * errors cite the line number and key name only. */
#ifndef YG_KEYFILE_H
#define YG_KEYFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "yg_err.h"

#define YG_KEYFILE_MAX (64u * 1024u)
#define YG_KEYFILE_NAME_MAX 128u	/* bytes in a key name */
#define YG_KEYFILE_SPARE 80u		/* free bytes at the end of buf (cap - len) */

typedef struct yg_keyfile {
	char *buf;		/* secure buffer: normalised "NAME=value\n" lines, with
				 * at least YG_KEYFILE_SPARE bytes free behind them */
	size_t len, cap;
	char **names;		/* key names, in file order (plain heap) */
	size_t nnames;
} yg_keyfile;

/* Parse text (len bytes; need not be NUL-terminated). path is only for messages. */
int yg_keyfile_parse(const char *path, const char *text, size_t len, yg_keyfile *out, yg_err *err) YG_MUST_CHECK;

/* Open path with the rules (owner = owner uid, mode 0600) and parse. -ENOENT
 * (no key file) is returned without being an error for the caller to log.
 * Errors: -ELOOP symlink, -EINVAL not regular / bad line, -EMLINK hard links,
 * -EPERM owner or mode, -EFBIG too big; a key set twice is -EINVAL. On error
 * out is empty (nothing to clear). */
int yg_keyfile_load(const char *path, uid_t owner, yg_keyfile *out, yg_err *err) YG_MUST_CHECK;

/* The value of name inside kf->buf (not NUL-terminated: it ends at '\n'),
 * its length in *len; NULL when absent. Duplicate names are refused by the
 * parser, so there is at most one. */
const char *yg_keyfile_value(const yg_keyfile *kf, const char *name, size_t *len);

void yg_keyfile_clear(yg_keyfile *kf);	/* zeroes and frees; NULL ok */

#endif
