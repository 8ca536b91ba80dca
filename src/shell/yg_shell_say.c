/* SPDX-License-Identifier: MIT */
/* yg_shell_say.c: yolo-shell's one way of telling the user something (see
 * yg_shell.h). Its own file so that the relay and main both call it without
 * calling each other. */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>

#include "yg_proto.h"
#include "yg_shell.h"
#include "yg_shell_text.h"
#include "yg_text.h"

void yg_shell_say(const char *fmt, ...)
{
	char raw[YG_TEXT_MAX + 256], clean[sizeof(raw)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	yg_text_safe(raw, clean, sizeof(clean));
	fprintf(stderr, "yolo-gate: %s%s", clean, yg_shell_tty_is_raw() ? "\r\n" : "\n");
	fflush(stderr);
}
