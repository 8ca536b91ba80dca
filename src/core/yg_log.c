/* SPDX-License-Identifier: MIT */
/* yg_log.c: key=value event lines to syslog (LOG_AUTHPRIV) or stderr. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "yg_log.h"

static char log_ident[64] = "yolo-gate";
static enum yg_log_target log_target = YG_LOG_STDERR;
static enum yg_log_level log_max = YG_LOG_INFO;

void yg_log_open(const char *ident, enum yg_log_target target, enum yg_log_level max_level)
{
	if (ident && *ident)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_target = target;
	log_max = max_level;
	if (target == YG_LOG_SYSLOG)
		openlog(log_ident, LOG_PID, LOG_AUTHPRIV);
}

void yg_log_set_level(enum yg_log_level max_level)
{
	log_max = max_level;
}

void yg_log_get(const char **ident, enum yg_log_target *target, enum yg_log_level *max_level)
{
	*ident = log_ident;
	*target = log_target;
	*max_level = log_max;
}

int yg_log_level_parse(const char *s, enum yg_log_level *out)
{
	static const struct { const char *name; enum yg_log_level level; } names[] = {
		{ "error", YG_LOG_ERROR }, { "warning", YG_LOG_WARNING },
		{ "warn", YG_LOG_WARNING }, { "info", YG_LOG_INFO },
		{ "debug", YG_LOG_DEBUG },
	};

	for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

static bool needs_escape(unsigned char c)
{
	return c < 0x20 || c >= 0x7f || c == '\\' || c == '"' || c == ' ' || c == '=';
}

static size_t escaped_width(const unsigned char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += needs_escape(*s) ? 4 : 1;
	return w;
}

char *yg_log_escape(const char *src, char *dst, size_t dstlen)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)(src ? src : "-");
	size_t o = 0;

	if (dstlen == 0)
		return dst;
	if (!*s) {
		snprintf(dst, dstlen, "\"\"");
		return dst;
	}
	for (; *s; s++) {
		size_t w = needs_escape(*s) ? 4 : 1;

		/* keep room for "..." + NUL unless everything left fits */
		if (o + w + 4 > dstlen && o + escaped_width(s) + 1 > dstlen) {
			if (o + 4 <= dstlen) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (w == 1) {
			dst[o++] = (char)*s;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[*s >> 4];
			dst[o++] = hex[*s & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}

static int syslog_priority(enum yg_log_level level)
{
	switch (level) {
	case YG_LOG_ERROR:
		return LOG_ERR;
	case YG_LOG_WARNING:
		return LOG_WARNING;
	case YG_LOG_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;	/* nowhere left to report it */
		p += w;
		n -= (size_t)w;
	}
}

void yg_log(enum yg_log_level level, ...)
{
	char line[YG_LOG_LINE_MAX + 1];
	char key[64], val[YG_LOG_VALUE_MAX];
	const char *k;
	size_t o = 0;
	int saved_errno = errno;
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, level);
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		size_t need;

		yg_log_escape(k, key, sizeof(key));
		yg_log_escape(v ? v : "-", val, sizeof(val));
		need = (o ? 1 : 0) + strlen(key) + 1 + strlen(val);
		if (o + need > YG_LOG_LINE_MAX - 4) {
			memcpy(line + o, o ? " ..." : "...", o ? 4 : 3);
			o += o ? 4 : 3;
			break;
		}
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s=%s", o ? " " : "", key, val);
	}
	va_end(ap);
	line[o] = '\0';

	if (log_target == YG_LOG_SYSLOG) {
		syslog(LOG_AUTHPRIV | syslog_priority(level), "%s", line);
	} else {
		char out[sizeof(log_ident) + 32 + sizeof(line)];
		int n = snprintf(out, sizeof(out), "%s[%ld]: %s\n", log_ident, (long)getpid(), line);

		if (n > 0)
			write_all(STDERR_FILENO, out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
	}
	errno = saved_errno;
}
