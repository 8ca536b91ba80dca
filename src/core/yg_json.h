/* SPDX-License-Identifier: MIT */
/* yg_json.h: the project's one JSON reader (for guest agent replies and
 * other hostile input) and its one JSON string writer (audit log, status
 * and sessions --json, agent commands). No JSON library dependency. */
#ifndef YG_JSON_H
#define YG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "yg_err.h"

#define YG_JSON_MAX_DEPTH 32

/* Check that s[0..len) is exactly one well-formed JSON value (RFC 8259,
 * strings without embedded NUL, depth <= YG_JSON_MAX_DEPTH). 0 or -EINVAL. */
int yg_json_validate(const char *s, size_t len) YG_MUST_CHECK;

/* Find member key of the top-level object of s (or, when path has a dot,
 * e.g. "return.pid", walk into nested objects), and read its value.
 * -ENOENT: absent; -EINVAL: malformed JSON or wrong type; -ERANGE: number
 * out of range or string too long. s must be a NUL-terminated string. */
int yg_json_get_int(const char *s, const char *path, long long *out) YG_MUST_CHECK;
int yg_json_get_bool(const char *s, const char *path, bool *out) YG_MUST_CHECK;
/* Unescapes into buf (NUL-terminated); \u0000 is rejected. *outlen may be
 * NULL. */
int yg_json_get_string(const char *s, const char *path, char *buf,
		       size_t buflen, size_t *outlen) YG_MUST_CHECK;
/* true when path exists (any type). */
bool yg_json_has(const char *s, const char *path);

/* The one JSON string writer. Append n bytes of src as the body of a JSON
 * string (no quotes) to out at offset o, never writing at or past out[len - 1]
 * and always NUL-terminating: '"' and '\\' are escaped, control characters
 * and DEL become \u00XX, valid UTF-8 is kept, any other byte becomes \ufffd
 * (so the result always parses, whatever the input). Returns the new
 * offset; *used (may be NULL) is how many bytes of src were written. */
size_t yg_json_escape(char *out, size_t o, size_t len, const void *src, size_t n,
		      size_t *used);

/* Write to buf a JSON string literal (with quotes) for s, through
 * yg_json_escape. Returns 0 or -ERANGE when it does not fit. */
int yg_json_quote(char *buf, size_t buflen, const char *s) YG_MUST_CHECK;

#endif
