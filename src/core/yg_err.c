/* SPDX-License-Identifier: MIT */
/* yg_err.c: see yg_err.h */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "yg_err.h"

int yg_err_set(yg_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

int yg_err_prefix(yg_err *err, const char *fmt, ...)
{
	char head[YG_ERR_MSG_MAX];
	char old[YG_ERR_MSG_MAX];
	va_list ap;

	if (!err)
		return 0;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* A message too long for the buffer is cut, never overflowed. */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", head, old) < 0)
		err->msg[0] = '\0';
	return err->code;
}
