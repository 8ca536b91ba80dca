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

static bool term_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
	       c == '-';
}

const char *yg_shell_term_scrub(const char *term)
{
	size_t i;

	if (!term || !*term)
		return YG_SHELL_TERM_FALLBACK;
	for (i = 0; term[i]; i++)
		if (i >= YG_SHELL_TERM_MAX || !term_char_ok((unsigned char)term[i]))
			return YG_SHELL_TERM_FALLBACK;
	return term;
}

bool yg_shell_session_valid(const char *id)
{
	size_t i;

	if (!id || !*id)
		return false;
	for (i = 0; id[i]; i++) {
		unsigned char c = (unsigned char)id[i];

		if (i >= YG_SESSION_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

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

size_t yg_shell_sanitize(const char *text, char *out, size_t outsz)
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
