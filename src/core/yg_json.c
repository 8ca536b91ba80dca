/* SPDX-License-Identifier: MIT */
/* yg_json.c: the tiny, strict JSON reader and the one JSON string writer
 * (declared in yg_json.h). The reader treats its input as hostile: sizes are
 * bounded, nesting is bounded, anything that is not exactly one well-formed
 * JSON value is rejected. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "yg_json.h"

#define YG_JSON_MAX_LEN (16u * 1024 * 1024)
#define YG_JSON_KEY_MAX 128

static const char *yg_json_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int yg_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const char *yg_json_skip_value(const char *p, const char *end, int depth);

/* p at '"'; returns the byte after the closing quote, or NULL */
static const char *yg_json_skip_string(const char *p, const char *end)
{
	int i;

	for (p++; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"')
			return p + 1;
		if (c < 0x20)
			return NULL;
		if (c != '\\')
			continue;
		if (++p >= end)
			return NULL;
		if (*p == 'u') {
			for (i = 0; i < 4; i++)
				if (++p >= end || yg_hexval(*p) < 0)
					return NULL;
		} else if (!strchr("\"\\/bfnrt", *p) || !*p) {
			return NULL;
		}
	}
	return NULL;
}

static const char *yg_json_digits(const char *p, const char *end)
{
	const char *s = p;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p == s ? NULL : p;
}

static const char *yg_json_skip_number(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (!(p = yg_json_digits(p, end)))
		return NULL;
	if (p < end && *p == '.' && !(p = yg_json_digits(p + 1, end)))
		return NULL;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (!(p = yg_json_digits(p, end)))
			return NULL;
	}
	return p;
}

static const char *yg_json_literal(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0)
		return NULL;
	return p + n;
}

/* object or array at p; returns the byte after it, or NULL */
static const char *yg_json_skip_container(const char *p, const char *end, int depth)
{
	char close = *p == '{' ? '}' : ']';
	bool obj = *p == '{';

	if (depth >= YG_JSON_MAX_DEPTH)
		return NULL;
	p = yg_json_ws(p + 1, end);
	if (p < end && *p == close)
		return p + 1;
	for (;;) {
		if (obj) {
			if (p >= end || *p != '"' || !(p = yg_json_skip_string(p, end)))
				return NULL;
			p = yg_json_ws(p, end);
			if (p >= end || *p != ':')
				return NULL;
			p = yg_json_ws(p + 1, end);
		}
		if (!(p = yg_json_skip_value(p, end, depth + 1)))
			return NULL;
		p = yg_json_ws(p, end);
		if (p < end && *p == close)
			return p + 1;
		if (p >= end || *p != ',')
			return NULL;
		p = yg_json_ws(p + 1, end);
	}
}

static const char *yg_json_skip_value(const char *p, const char *end, int depth)
{
	if (p >= end)
		return NULL;
	switch (*p) {
	case '{':
	case '[':
		return yg_json_skip_container(p, end, depth);
	case '"':
		return yg_json_skip_string(p, end);
	case 't':
		return yg_json_literal(p, end, "true");
	case 'f':
		return yg_json_literal(p, end, "false");
	case 'n':
		return yg_json_literal(p, end, "null");
	default:
		return yg_json_skip_number(p, end);
	}
}

int yg_json_validate(const char *s, size_t len)
{
	const char *end, *p;

	if (!s || len > YG_JSON_MAX_LEN)
		return -EINVAL;
	end = s + len;
	p = yg_json_skip_value(yg_json_ws(s, end), end, 0);
	if (!p || yg_json_ws(p, end) != end)
		return -EINVAL;
	return 0;
}

static size_t yg_utf8_put(char *o, unsigned long cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static unsigned long yg_hex4(const char *p)
{
	return (unsigned long)(yg_hexval(p[0]) << 12 | yg_hexval(p[1]) << 8 |
			       yg_hexval(p[2]) << 4 | yg_hexval(p[3]));
}

/* Decode the (already validated) string literal at p into buf. */
static int yg_json_unescape(const char *p, char *buf, size_t buflen, size_t *outlen)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	size_t n = 0, k;
	unsigned long cp, lo;
	char tmp[4];

	for (p++; *p != '"'; p++) {
		if (*p != '\\') {
			tmp[0] = *p;
			k = 1;
		} else if (*++p != 'u') {
			tmp[0] = to[strchr(from, *p) - from];
			k = 1;
		} else {
			cp = yg_hex4(p + 1);
			p += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return -EINVAL;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p[1] != '\\' || p[2] != 'u')
					return -EINVAL;
				lo = yg_hex4(p + 3);
				if (lo < 0xdc00 || lo > 0xdfff)
					return -EINVAL;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
			if (cp == 0)
				return -EINVAL;
			k = yg_utf8_put(tmp, cp);
		}
		if (n + k >= buflen)
			return -ERANGE;
		memcpy(buf + n, tmp, k);
		n += k;
	}
	buf[n] = '\0';
	if (outlen)
		*outlen = n;
	return 0;
}

/* In the object at p (validated), find key; *val = its value. Duplicate keys
 * are ambiguous and rejected. */
static int yg_json_member(const char *p, const char *end, const char *key,
			  const char **val)
{
	char k[YG_JSON_KEY_MAX];
	const char *v;

	*val = NULL;
	if (*p != '{')
		return -EINVAL;
	p = yg_json_ws(p + 1, end);
	while (*p == '"') {
		bool match = yg_json_unescape(p, k, sizeof(k), NULL) == 0 &&
			     strcmp(k, key) == 0;

		p = yg_json_ws(yg_json_skip_string(p, end), end) + 1;
		v = yg_json_ws(p, end);
		if (match) {
			if (*val)
				return -EINVAL;
			*val = v;
		}
		p = yg_json_ws(yg_json_skip_value(v, end, 0), end);
		if (*p == ',')
			p = yg_json_ws(p + 1, end);
	}
	return *val ? 0 : -ENOENT;
}

/* Validate s and walk the dotted path; *val = the value's first byte. */
static int yg_json_find(const char *s, const char *path, const char **val)
{
	char seg[YG_JSON_KEY_MAX];
	const char *end, *p, *dot;
	size_t len, n;
	int rc;

	if (!s || !path)
		return -EINVAL;
	len = strnlen(s, YG_JSON_MAX_LEN + 1);
	if (len > YG_JSON_MAX_LEN || yg_json_validate(s, len) < 0)
		return -EINVAL;
	end = s + len;
	p = yg_json_ws(s, end);
	for (;;) {
		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		if (n == 0 || n >= sizeof(seg))
			return -EINVAL;
		memcpy(seg, path, n);
		seg[n] = '\0';
		rc = yg_json_member(p, end, seg, &p);
		if (rc < 0)
			return rc;
		if (!dot)
			break;
		path = dot + 1;
	}
	*val = p;
	return 0;
}

bool yg_json_has(const char *s, const char *path)
{
	const char *v;

	return yg_json_find(s, path, &v) == 0;
}

int yg_json_get_int(const char *s, const char *path, long long *out)
{
	unsigned long long acc = 0, lim;
	const char *v, *e;
	bool neg;
	int rc;

	rc = yg_json_find(s, path, &v);
	if (rc < 0)
		return rc;
	neg = *v == '-';
	e = yg_json_skip_number(v, s + strlen(s));
	if (!e || e == v)
		return -EINVAL;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
	for (v += neg; v < e; v++) {
		if (*v < '0' || *v > '9')
			return -EINVAL;	/* fraction or exponent: not an integer */
		if (acc > (lim - (unsigned long long)(*v - '0')) / 10)
			return -ERANGE;
		acc = acc * 10 + (unsigned long long)(*v - '0');
	}
	if (neg)
		*out = acc == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)acc;
	else
		*out = (long long)acc;
	return 0;
}

int yg_json_get_bool(const char *s, const char *path, bool *out)
{
	const char *v;
	int rc;

	rc = yg_json_find(s, path, &v);
	if (rc < 0)
		return rc;
	if (strncmp(v, "true", 4) == 0)
		*out = true;
	else if (strncmp(v, "false", 5) == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

int yg_json_get_string(const char *s, const char *path, char *buf,
		       size_t buflen, size_t *outlen)
{
	const char *v;
	int rc;

	if (!buf || !buflen)
		return -EINVAL;
	rc = yg_json_find(s, path, &v);
	if (rc < 0)
		return rc;
	if (*v != '"')
		return -EINVAL;
	return yg_json_unescape(v, buf, buflen, outlen);
}

/* The length of the valid UTF-8 sequence at s[0..n) (2..4), 0 if none. */
static size_t yg_utf8_len(const uint8_t *s, size_t n)
{
	size_t k = 0;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 4;
	for (size_t j = 1; k && j < k; j++)
		if (j >= n || (s[j] & 0xc0) != 0x80)
			k = 0;
	return k;
}

size_t yg_json_escape(char *out, size_t o, size_t len, const void *src, size_t n,
		      size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = src;
	size_t i = 0;

	if (used)
		*used = 0;
	if (o >= len)
		return o;
	while (i < n) {
		uint8_t c = s[i];
		char tmp[7];
		const char *put = tmp;
		size_t k = 1, step = 1;

		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			k = 2;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(tmp, "\\u00", 4);
			tmp[4] = hex[c >> 4];
			tmp[5] = hex[c & 15];
			k = 6;
		} else if (c < 0x80) {
			tmp[0] = (char)c;
		} else if ((k = step = yg_utf8_len(s + i, n - i)) != 0) {
			put = (const char *)s + i;
		} else {
			put = "\\ufffd";
			k = 6;
			step = 1;
		}
		if (o + k >= len)
			break;
		memcpy(out + o, put, k);
		o += k;
		i += step;
	}
	out[o] = '\0';
	if (used)
		*used = i;
	return o;
}

int yg_json_quote(char *buf, size_t buflen, const char *s)
{
	size_t n, used, o;

	if (!buf || buflen < 3 || !s)
		return -ERANGE;
	n = strlen(s);
	buf[0] = '"';
	o = yg_json_escape(buf, 1, buflen - 1, s, n, &used);
	if (used < n)
		return -ERANGE;
	buf[o++] = '"';
	buf[o] = '\0';
	return 0;
}
