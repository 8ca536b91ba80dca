/* yg_log.h: one key=value line per event, to syslog (LOG_AUTHPRIV) or stderr.
 *
 *   yg_log(YG_LOG_INFO, "event", "session", id, "user", name, "ms", "1834", NULL);
 *
 * produces "event=login_ready session=4f2a user=alice ms=1834". Values are
 * escaped: control characters, backslash, quote, space and '=' become \xNN (a
 * value with spaces is quoted); nothing a user or a guest sends can forge a
 * field or a line. Secrets must never be passed to it.
 */
#ifndef YG_LOG_H
#define YG_LOG_H

#include <stddef.h>

enum yg_log_level { YG_LOG_ERROR = 0, YG_LOG_WARNING = 1, YG_LOG_INFO = 2, YG_LOG_DEBUG = 3 };

enum yg_log_target { YG_LOG_SYSLOG, YG_LOG_STDERR };

/* ident: "yolo-gated"; stderr target writes "<ident>: key=value ..." lines. */
void yg_log_open(const char *ident, enum yg_log_target target, enum yg_log_level max_level);
void yg_log_set_level(enum yg_log_level max_level);
int  yg_log_level_parse(const char *s, enum yg_log_level *out);	/* "error".."debug" */

/* Pairs of (key, value) strings, terminated by NULL. The first pair should be
 * ("event", NAME). A NULL value is written as "-". */
void yg_log(enum yg_log_level level, ...) __attribute__((sentinel));

/* Escape src into dst (always NUL-terminated, truncated with "..." when
 * dst is too small). Returns dst. Exposed for tests and for PAM. */
char *yg_log_escape(const char *src, char *dst, size_t dstlen);

#endif
