/* SPDX-License-Identifier: MIT */
/* yg_base64.c: RFC 4648 base64, see yg_base64.h. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "yg_base64.h"

static const char yg_b64_alpha[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t yg_b64_enc_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t yg_b64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *s = in;
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		out[o++] = yg_b64_alpha[v >> 18];
		out[o++] = yg_b64_alpha[(v >> 12) & 63];
		out[o++] = yg_b64_alpha[(v >> 6) & 63];
		out[o++] = yg_b64_alpha[v & 63];
	}
	if (i < n) {
		v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
		out[o++] = yg_b64_alpha[v >> 18];
		out[o++] = yg_b64_alpha[(v >> 12) & 63];
		out[o++] = i + 1 < n ? yg_b64_alpha[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int yg_b64_val(char c)
{
	const char *p;

	if (!c)
		return -1;
	p = strchr(yg_b64_alpha, c);
	return p ? (int)(p - yg_b64_alpha) : -1;
}

int yg_b64_decode(const char *in, size_t len, void *out, size_t *outlen)
{
	unsigned char *o = out;
	size_t i, n = 0, pad = 0;
	uint32_t v;
	int j, d;

	if (len % 4)
		return -EINVAL;
	if (len && in[len - 1] == '=')
		pad = (len > 1 && in[len - 2] == '=') ? 2 : 1;
	for (i = 0; i < len; i += 4) {
		bool last = i + 4 == len;

		v = 0;
		for (j = 0; j < 4; j++) {
			if (last && j >= 4 - (int)pad) {
				d = 0;
			} else if ((d = yg_b64_val(in[i + j])) < 0) {
				return -EINVAL;
			}
			v = v << 6 | (uint32_t)d;
		}
		o[n++] = (unsigned char)(v >> 16);
		if (!last || pad < 2)
			o[n++] = (unsigned char)(v >> 8);
		if (!last || pad < 1)
			o[n++] = (unsigned char)v;
		/* canonical: the bits under the padding must be zero */
		if (last && ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff))))
			return -EINVAL;
	}
	if (outlen)
		*outlen = n;
	return 0;
}
