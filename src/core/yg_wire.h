/* SPDX-License-Identifier: MIT */
/* yg_wire.h: the table-driven codec both wire formats share, the client
 * protocol (yg_proto.c) and the box channel (yg_chan.c).
 *
 * A message type is a row of fields (kind, bounds, offset into the
 * message struct); one encoder and one decoder walk the rows, so every
 * bound is checked in one place and what the encoder writes the decoder
 * accepts. Integers are big-endian; a string is u16 length + bytes, no NUL
 * inside, at most its maximum (never truncated); a frame is u32 length |
 * u8 type | fields, 1 <= length <= YG_FRAME_MAX. Internal to libygcore.
 */
#ifndef YG_WIRE_H
#define YG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yg_proto.h"

enum yg_field_kind {
	YG_F_END = 0,
	YG_F_U8, YG_F_U16, YG_F_U32, YG_F_U64,	/* value in [min, max] */
	YG_F_STR,	/* char[max + 1]; abs: non-empty and starting with '/' */
	YG_F_REST,	/* the rest of the payload, <= max bytes: const uint8_t * at
			 * off, size_t len at off2 */
	YG_F_STRV,	/* u16 count in [min, max], then count strings of <= each
			 * bytes: const char *[max + 1] at off (NULL-terminated on
			 * decode), uint16_t count at off2 */
};

struct yg_field {
	uint8_t kind;
	bool abs;
	uint32_t each;
	uint64_t min, max;
	uint64_t set;	/* integers: when non-zero, the value must be < 64 with its bit set */
	size_t off, off2;
};

#define YG_FIELDS_MAX 10	/* YG_F_END included */

struct yg_desc {
	const char *name;
	struct yg_field fields[YG_FIELDS_MAX];
};

/* Row builders: S is the message struct type, m the member. */
#define YG_FINT(S, k, m, lo, hi)  { .kind = (k), .min = (lo), .max = (hi), .off = offsetof(S, m) }
#define YG_FU8(S, m, hi)          YG_FINT(S, YG_F_U8, m, 0, hi)
#define YG_FU16(S, m)             YG_FINT(S, YG_F_U16, m, 0, UINT16_MAX)
#define YG_FU32(S, m)             YG_FINT(S, YG_F_U32, m, 0, UINT32_MAX)
#define YG_FU64(S, m)             YG_FINT(S, YG_F_U64, m, 0, UINT64_MAX)
#define YG_FSET8(S, m, bits)      { .kind = YG_F_U8, .max = UINT8_MAX, .set = (bits), .off = offsetof(S, m) }
#define YG_FSTR(S, m, hi)         { .kind = YG_F_STR, .max = (hi), .off = offsetof(S, m) }
#define YG_FPATH(S, m, hi)        { .kind = YG_F_STR, .abs = true, .max = (hi), .off = offsetof(S, m) }
#define YG_FREST(S, p, n, hi)     { .kind = YG_F_REST, .max = (hi), .off = offsetof(S, p), .off2 = offsetof(S, n) }
#define YG_FSTRV(S, v, n, lo, hi, e) \
	{ .kind = YG_F_STRV, .min = (lo), .max = (hi), .each = (e), .off = offsetof(S, v), .off2 = offsetof(S, n) }
#define YG_FEND                   { .kind = YG_F_END }
#define YG_BIT(n)                 (1ull << (n))

static inline void yg_put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static inline uint64_t yg_get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* A codec: its rows, indexed by type (a row without name is no type). */
struct yg_codec {
	const struct yg_desc *descs;
	size_t count;
};

/* The row of type, NULL for none; its name, "unknown" for none. */
const struct yg_desc *yg_wire_desc(const struct yg_codec *c, uint8_t type);
const char *yg_wire_name(const struct yg_codec *c, uint8_t type);

/* Encode the message at msg, of this type, as a whole frame into buf (cap
 * bytes). 0 with *len = the frame's size, or the worst error met: -EINVAL
 * (no such type, a value out of its bounds, a string too long, NULL bytes),
 * then -EMSGSIZE (REST over its maximum, frame over YG_FRAME_MAX), then
 * -ENOBUFS (cap too small). Nothing is written past cap. */
int yg_wire_encode(const struct yg_codec *c, uint8_t type, const void *msg,
		   uint8_t *buf, size_t cap, size_t *len);

/* Decode a payload of this type into the fields of msg: 0, or -EPROTO (no
 * such type, short, long, a bound broken). STRV strings are copied into
 * strings (at least len bytes, or NULL when no type has any). Fields not in
 * the row are left alone. */
int yg_wire_decode(const struct yg_codec *c, uint8_t type, void *msg,
		   const uint8_t *payload, size_t len, char *strings, size_t strings_cap);

#endif
