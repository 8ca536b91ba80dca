/* yg_agent.h: the QEMU guest agent, bounded in time; replies are untrusted.
 *
 * Also the tiny JSON reader and base64 codec the agent protocol needs (no
 * JSON library dependency). Secret data passed to yg_agent_write_file is
 * never logged or put into an error message.
 */
#ifndef YG_AGENT_H
#define YG_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "yg_box.h"

/* The same poll on a bare domain, for callers that have no yg_box yet
 * (provision waits for the agent before the snapshot exists). Fails at once
 * (-EIO) when the domain stops running. */
int yg_agent_wait_domain(virDomainPtr dom, const char *name, unsigned long timeout_ms,
			 yg_err *err);

/* Poll guest-ping every ~25 ms until the agent answers or timeout_ms passes;
 * the error says the agent did not answer within N s. */
int yg_agent_wait(yg_box *box, unsigned long timeout_ms, yg_err *err);

/* Send one JSON command; *reply (malloc'd, caller frees) is the raw reply. */
int yg_agent_cmd(yg_box *box, const char *json, int timeout_s, char **reply,
		 yg_err *err);

/* Write data to path in the guest: missing parent dir created 0700, the file
 * is created mode 0600 before any data byte is written, then written with
 * guest-file-open/write (chunks <= 48 KiB)/close. */
int yg_agent_write_file(yg_box *box, const char *path, const void *data,
			size_t len, yg_err *err);

/* Overwrite path with zeros, flush, remove. A missing file is success. */
int yg_agent_wipe_file(yg_box *box, const char *path, yg_err *err);

/* Read up to max bytes of path (guest-file-read); *out malloc'd, NUL
 * terminated for convenience, *outlen bytes. */
int yg_agent_read_file(yg_box *box, const char *path, size_t max, char **out,
		       size_t *outlen, yg_err *err);

/* guest-exec argv (argv[0] is the program path) and poll guest-exec-status
 * until it exits or timeout_ms passes. *exitcode (may be NULL) is the exit
 * code, or 128+signal. */
int yg_agent_exec(yg_box *box, const char *const argv[],
		  unsigned long timeout_ms, int *exitcode, yg_err *err);

/* ---- minimal JSON reading (bounded, strict; for agent replies) ---- */

#define YG_JSON_MAX_DEPTH 32

/* Check that s[0..len) is exactly one well-formed JSON value (RFC 8259,
 * strings without embedded NUL, depth <= YG_JSON_MAX_DEPTH). 0 or -EINVAL. */
int yg_json_validate(const char *s, size_t len);

/* Find member key of the top-level object of s (or, when path has a dot,
 * e.g. "return.pid", walk into nested objects), and read its value.
 * -ENOENT: absent; -EINVAL: malformed JSON or wrong type; -ERANGE: number
 * out of range or string too long. s must be a NUL-terminated string. */
int yg_json_get_int(const char *s, const char *path, long long *out);
int yg_json_get_bool(const char *s, const char *path, bool *out);
/* Unescapes into buf (NUL-terminated); \u0000 is rejected. *outlen may be
 * NULL. */
int yg_json_get_string(const char *s, const char *path, char *buf,
		       size_t buflen, size_t *outlen);
/* true when path exists (any type). */
bool yg_json_has(const char *s, const char *path);

/* Append to buf a JSON string literal (with quotes) for s. Returns 0 or
 * -ERANGE when it does not fit. */
int yg_json_quote(char *buf, size_t buflen, const char *s);

/* ---- base64 (RFC 4648, standard alphabet, padded) ---- */

/* Length of the encoding of n bytes, without the NUL. */
size_t yg_b64_enc_len(size_t n);
/* Encode; out must hold yg_b64_enc_len(n) + 1 bytes. Returns the length. */
size_t yg_b64_encode(const void *in, size_t n, char *out);
/* Decode strictly (padding required, no whitespace, canonical trailing
 * bits). out must hold at least len / 4 * 3 bytes. 0 or -EINVAL. */
int yg_b64_decode(const char *in, size_t len, void *out, size_t *outlen);

#endif
