/* SPDX-License-Identifier: MIT */
/* yg_log.h: one key=value line per event, to syslog (LOG_AUTHPRIV) or stderr.
 *
 *   yg_log(YG_LOG_INFO, "event", "login_ready", "session", id, "user", name,
 *          "ms", "1834", NULL);
 *
 * produces "event=login_ready session=4f2a user=alice ms=1834". Values (and
 * keys) are escaped: control characters, DEL, bytes >= 0x80, backslash, quote,
 * space and '=' become \xNN (so a value never needs quoting: "user left" is
 * written user\x20left); an empty value is written "". Nothing a user or a
 * guest sends can forge a field or a line. A value is cut at YG_LOG_VALUE_MAX
 * escaped bytes, ending in "...". Secrets must never be passed to it.
 *
 * The stderr target writes "<ident>[<pid>]: key=value ...\n" with one write(2).
 * Before yg_log_open the target is stderr, ident "yolo-gate", level INFO.
 */
#ifndef YG_LOG_H
#define YG_LOG_H

#include <stddef.h>

enum yg_log_level { YG_LOG_ERROR = 0, YG_LOG_WARNING = 1, YG_LOG_INFO = 2, YG_LOG_DEBUG = 3 };

enum yg_log_target { YG_LOG_SYSLOG, YG_LOG_STDERR };

#define YG_LOG_VALUE_MAX 1024	/* escaped bytes per value, NUL included */
#define YG_LOG_LINE_MAX  4096	/* whole line */

/* ident: "yolo-gated" (copied; at most 63 bytes kept). syslog target:
 * openlog(ident, LOG_PID, LOG_AUTHPRIV). */
void yg_log_open(const char *ident, enum yg_log_target target, enum yg_log_level max_level);
void yg_log_set_level(enum yg_log_level max_level);
/* The current settings (ident points into this file's copy), for code with
 * its own copy of libygcore that must log the same way (src/gated/module.h). */
void yg_log_get(const char **ident, enum yg_log_target *target,
		enum yg_log_level *max_level);
/* "error", "warning" (or "warn"), "info", "debug": 0, else -EINVAL. */
int  yg_log_level_parse(const char *s, enum yg_log_level *out);

/* Pairs of (key, value) strings, terminated by NULL. The first pair should be
 * ("event", NAME). A NULL value is written as "-". */
void yg_log(enum yg_log_level level, ...) __attribute__((sentinel));

/* Escape src into dst (always NUL-terminated, truncated with "..." when
 * dst is too small). Returns dst. Exposed for tests and for PAM. */
char *yg_log_escape(const char *src, char *dst, size_t dstlen);

#endif
