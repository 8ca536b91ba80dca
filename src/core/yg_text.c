/* SPDX-License-Identifier: MIT */
/* yg_text.c: see yg_text.h */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "yg_text.h"

/* Length of the well-formed, printable UTF-8 sequence at s (1..4), or 0. */
static size_t utf8_printable_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong, C1 controls, surrogates, beyond Unicode */
	if ((n == 2 && cp < 0xa0) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
	    cp > 0x10ffff)
		return 0;
	return n;
}

size_t yg_text_safe(const char *text, char *out, size_t outsz)
{
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	size_t o = 0;

	if (!out || !outsz)
		return 0;
	while (*s && o + 1 < outsz) {
		size_t n = 1;

		if (*s >= 0x20 && *s < 0x7f) {
			out[o++] = (char)*s;
		} else if (*s >= 0x80 && (n = utf8_printable_len(s)) > 0) {
			if (o + n >= outsz)
				break;
			memcpy(out + o, s, n);
			o += n;
		} else {
			n = 1;
			out[o++] = '?';
		}
		s += n;
	}
	out[o] = '\0';
	return o;
}

bool yg_text_term_ok(const char *term)
{
	size_t i;

	if (!term || !*term)
		return false;
	for (i = 0; term[i]; i++) {
		unsigned char c = (unsigned char)term[i];

		if (i >= YG_TEXT_TERM_MAX ||
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '+' || c == '-'))
			return false;
	}
	return true;
}
