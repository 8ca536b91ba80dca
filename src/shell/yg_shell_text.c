/* SPDX-License-Identifier: MIT */
/* yg_shell_text.c: pure helpers of yolo-shell (see yg_shell_text.h). */
#include <config.h>

#include <stdio.h>
#include <string.h>

#include "yg_proto.h"
#include "yg_shell_text.h"

ssize_t yg_shell_escape_find(const uint8_t *buf, size_t len, uint16_t escape)
{
	const uint8_t *p;

	if (escape > 0xff || !buf || !len)
		return -1;
	p = memchr(buf, (int)escape, len);
	return p ? (ssize_t)(p - buf) : -1;
}

const char *yg_shell_term_scrub(const char *term)
{
	return yg_text_term_ok(term) ? term : YG_SHELL_TERM_FALLBACK;
}

void yg_shell_escape_name(uint16_t escape, char *out, size_t outsz)
{
	if (escape > 0xff)
		snprintf(out, outsz, "none");
	else if (escape < 0x20)
		snprintf(out, outsz, "^%c", (char)(escape + '@'));
	else if (escape == 0x7f)
		snprintf(out, outsz, "^?");
	else if (escape < 0x7f)
		snprintf(out, outsz, "%c", (char)escape);
	else
		snprintf(out, outsz, "\\x%02x", (unsigned)escape);
}

bool yg_shell_box_valid(const char *box)
{
	size_t n;

	if (!box || !box[0] || box[0] == '.' || box[0] == '-')
		return false;
	for (n = 0; box[n]; n++)
		if (n >= 64 || !((box[n] >= 'a' && box[n] <= 'z') ||
				 (box[n] >= 'A' && box[n] <= 'Z') ||
				 (box[n] >= '0' && box[n] <= '9') || strchr("_.+-", box[n])))
			return false;
	return true;
}
