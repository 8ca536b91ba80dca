/* SPDX-License-Identifier: MIT */
/* yg_wire.c: the table-driven encoder and decoder of yg_wire.h, over a
 * writer that never writes past its buffer and a reader that never reads
 * past its payload. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "yg_wire.h"

/* ---- writer: a frame into buf[0..cap) ----
 * Errors are sticky and ranked: a bad value (-EINVAL) wins over a frame
 * that is too big for any buffer (-EMSGSIZE), which wins over a buffer that
 * is too small (-ENOBUFS). Past cap the writer only counts, so that the
 * frame's size is known in the end. */
typedef struct yg_wr {
	uint8_t *buf;
	size_t cap, pos;
	int err;
} yg_wr;

static int yg_wr_rank(int err)
{
	return err == -EINVAL ? 3 : err == -EMSGSIZE ? 2 : err ? 1 : 0;
}

static void yg_wr_fail(yg_wr *w, int err)
{
	if (yg_wr_rank(err) > yg_wr_rank(w->err))
		w->err = err;
}

/* Room for n more bytes at the cursor? Counts them either way. */
static bool yg_wr_room(yg_wr *w, size_t n)
{
	bool ok = w->pos <= w->cap && w->cap - w->pos >= n;

	if (!ok)
		yg_wr_fail(w, -ENOBUFS);
	return ok;
}

static void yg_wr_be(yg_wr *w, uint64_t v, unsigned n)
{
	if (yg_wr_room(w, n))
		yg_put_be(w->buf + w->pos, v, n);
	w->pos += n;
}

static void yg_wr_bytes(yg_wr *w, const void *p, size_t n)
{
	if (n && !p) {
		yg_wr_fail(w, -EINVAL);
		return;
	}
	if (n && yg_wr_room(w, n))
		memcpy(w->buf + w->pos, p, n);
	w->pos += n;
}

/* A string of at most max bytes; a longer one (or NULL) is -EINVAL, never
 * truncated. s needs no NUL within max + 1 bytes: a field of max + 1 bytes
 * with none is too long. */
static void yg_wr_str(yg_wr *w, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max + 1) : max + 1;

	if (n > max) {
		yg_wr_fail(w, -EINVAL);
		return;
	}
	yg_wr_be(w, n, 2);
	yg_wr_bytes(w, s, n);
}

/* Start a frame of this type: the length is filled in by yg_wr_frame_end. */
static void yg_wr_frame_begin(yg_wr *w, uint8_t *buf, size_t cap, uint8_t type)
{
	w->buf = buf;
	w->cap = cap;
	w->pos = 0;
	w->err = 0;
	yg_wr_be(w, 0, 4);
	yg_wr_be(w, type, 1);
}

/* 0 with *len = the frame's size, or the worst error met. */
static int yg_wr_frame_end(yg_wr *w, size_t *len)
{
	if (w->pos - 4 > YG_FRAME_MAX)
		yg_wr_fail(w, -EMSGSIZE);
	if (w->err)
		return w->err;
	yg_put_be(w->buf, w->pos - 4, 4);
	*len = w->pos;
	return 0;
}

/* ---- reader: one payload ----
 * A short payload or a bad value marks the reader bad; reads after that
 * return zeros. yg_rd_done says whether all went well and all was read. */
typedef struct yg_rd {
	const uint8_t *p;
	size_t len, pos;
	bool bad;
} yg_rd;

static void yg_rd_init(yg_rd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->bad = len && !p;
}

static uint64_t yg_rd_be(yg_rd *r, unsigned n)
{
	uint64_t v;

	if (r->bad || r->len - r->pos < n) {
		r->bad = true;
		return 0;
	}
	v = yg_get_be(r->p + r->pos, n);
	r->pos += n;
	return v;
}

/* A string of at most max bytes into dst (max + 1 bytes), NUL-terminated
 * ("" when bad). Returns its length. */
static size_t yg_rd_str(yg_rd *r, char *dst, size_t max)
{
	size_t n = (size_t)yg_rd_be(r, 2);

	dst[0] = '\0';
	if (r->bad || n > max || r->len - r->pos < n || memchr(r->p + r->pos, 0, n)) {
		r->bad = true;
		return 0;
	}
	memcpy(dst, r->p + r->pos, n);
	dst[n] = '\0';
	r->pos += n;
	return n;
}

/* The rest of the payload, at most max bytes (NULL and 0 when bad). */
static const uint8_t *yg_rd_rest(yg_rd *r, size_t max, size_t *n)
{
	const uint8_t *p;

	*n = r->bad ? 0 : r->len - r->pos;
	if (r->bad || *n > max) {
		r->bad = true;
		*n = 0;
		return NULL;
	}
	p = r->p + r->pos;
	r->pos = r->len;
	return p;
}

static bool yg_rd_done(const yg_rd *r)
{
	return !r->bad && r->pos == r->len;
}

/* ---- the field walk ---- */

static unsigned int_width(uint8_t kind)
{
	return kind == YG_F_U8 ? 1 : kind == YG_F_U16 ? 2 : kind == YG_F_U32 ? 4 : 8;
}

static uint64_t load_int(uint8_t kind, const void *p)
{
	switch (kind) {
	case YG_F_U8:
		return *(const uint8_t *)p;
	case YG_F_U16:
		return *(const uint16_t *)p;
	case YG_F_U32:
		return *(const uint32_t *)p;
	default:
		return *(const uint64_t *)p;
	}
}

static void store_int(uint8_t kind, void *p, uint64_t v)
{
	switch (kind) {
	case YG_F_U8:
		*(uint8_t *)p = (uint8_t)v;
		break;
	case YG_F_U16:
		*(uint16_t *)p = (uint16_t)v;
		break;
	case YG_F_U32:
		*(uint32_t *)p = (uint32_t)v;
		break;
	default:
		*(uint64_t *)p = v;
	}
}

static bool int_ok(const struct yg_field *f, uint64_t v)
{
	if (v < f->min || v > f->max)
		return false;
	return !f->set || (v < 64 && (f->set & YG_BIT(v)));
}

static bool str_ok(const struct yg_field *f, const char *s)
{
	return !f->abs || s[0] == '/';
}

static bool is_int(uint8_t kind)
{
	return kind >= YG_F_U8 && kind <= YG_F_U64;
}

const struct yg_desc *yg_wire_desc(const struct yg_codec *c, uint8_t type)
{
	if (type == 0 || type >= c->count || !c->descs[type].name)
		return NULL;
	return &c->descs[type];
}

const char *yg_wire_name(const struct yg_codec *c, uint8_t type)
{
	const struct yg_desc *d = yg_wire_desc(c, type);

	return d ? d->name : "unknown";
}

int yg_wire_encode(const struct yg_codec *c, uint8_t type, const void *msg,
		   uint8_t *buf, size_t cap, size_t *len)
{
	const struct yg_desc *d = yg_wire_desc(c, type);
	const uint8_t *base = msg;
	yg_wr w;

	if (!d)
		return -EINVAL;
	yg_wr_frame_begin(&w, buf, cap, type);
	for (const struct yg_field *f = d->fields; f < d->fields + YG_FIELDS_MAX && f->kind; f++) {
		const void *src = base + f->off;
		uint64_t v;

		if (is_int(f->kind)) {
			v = load_int(f->kind, src);
			if (!int_ok(f, v))
				yg_wr_fail(&w, -EINVAL);
			yg_wr_be(&w, v, int_width(f->kind));
		} else if (f->kind == YG_F_STR) {
			yg_wr_str(&w, src, f->max);
			if (!str_ok(f, src))
				yg_wr_fail(&w, -EINVAL);
		} else if (f->kind == YG_F_REST) {
			size_t n = *(const size_t *)(base + f->off2);

			if (n > f->max)
				yg_wr_fail(&w, -EMSGSIZE);
			else
				yg_wr_bytes(&w, *(const uint8_t *const *)src, n);
		} else if (f->kind == YG_F_STRV) {
			const char *const *strv = src;
			uint16_t n = *(const uint16_t *)(base + f->off2);

			if (n < f->min || n > f->max) {
				yg_wr_fail(&w, -EINVAL);
				break;	/* do not walk past the array */
			}
			yg_wr_be(&w, n, 2);
			for (uint16_t i = 0; i < n; i++)
				yg_wr_str(&w, strv[i], f->each);
		} else {
			yg_wr_fail(&w, -EINVAL);
		}
	}
	return yg_wr_frame_end(&w, len);
}

/* count strings into v[], copied NUL-terminated to *strings: each one's u16
 * prefix pays for its NUL, so strings of len bytes never overflow. */
static void rd_strv(yg_rd *r, const char **v, uint16_t count, uint32_t each, char **strings)
{
	for (uint16_t i = 0; i < count && !r->bad; i++) {
		v[i] = *strings;
		*strings += yg_rd_str(r, *strings, each) + 1;
	}
	v[r->bad ? 0 : count] = NULL;
}

int yg_wire_decode(const struct yg_codec *c, uint8_t type, void *msg,
		   const uint8_t *payload, size_t len, char *strings, size_t strings_cap)
{
	const struct yg_desc *d = yg_wire_desc(c, type);
	uint8_t *base = msg;
	yg_rd r;

	if (!d || len > YG_FRAME_MAX - 1 || (strings && strings_cap < len))
		return -EPROTO;
	yg_rd_init(&r, payload, len);
	for (const struct yg_field *f = d->fields; f < d->fields + YG_FIELDS_MAX && f->kind; f++) {
		void *dst = base + f->off;

		if (is_int(f->kind)) {
			uint64_t v = yg_rd_be(&r, int_width(f->kind));

			if (!int_ok(f, v))
				r.bad = true;
			store_int(f->kind, dst, v);
		} else if (f->kind == YG_F_STR) {
			yg_rd_str(&r, dst, f->max);
			if (!str_ok(f, dst))
				r.bad = true;
		} else if (f->kind == YG_F_REST) {
			*(const uint8_t **)dst = yg_rd_rest(&r, f->max, (size_t *)(base + f->off2));
		} else if (f->kind == YG_F_STRV && strings) {
			uint16_t n = (uint16_t)yg_rd_be(&r, 2);

			*(uint16_t *)(base + f->off2) = n;
			if (n < f->min || n > f->max)
				r.bad = true;
			rd_strv(&r, dst, n, f->each, &strings);
		} else {
			r.bad = true;
		}
		if (r.bad)
			break;
	}
	return yg_rd_done(&r) ? 0 : -EPROTO;
}
