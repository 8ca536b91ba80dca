/* SPDX-License-Identifier: MIT */
/* yg_base64.h: base64 (RFC 4648, standard alphabet, padded), for the guest
 * agent's file calls. */
#ifndef YG_BASE64_H
#define YG_BASE64_H

#include <stddef.h>
#include "yg_err.h"

/* Length of the encoding of n bytes, without the NUL. */
size_t yg_b64_enc_len(size_t n);
/* Encode; out must hold yg_b64_enc_len(n) + 1 bytes. Returns the length. */
size_t yg_b64_encode(const void *in, size_t n, char *out);
/* Decode strictly (padding required, no whitespace, canonical trailing
 * bits). out must hold at least len / 4 * 3 bytes. 0 or -EINVAL. */
int yg_b64_decode(const char *in, size_t len, void *out, size_t *outlen) YG_MUST_CHECK;

#endif
