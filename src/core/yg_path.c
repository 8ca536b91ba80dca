/* SPDX-License-Identifier: MIT */
/* yg_path.c: see yg_path.h */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "yg_path.h"

int yg_pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
