/* SPDX-License-Identifier: MIT */
/* yg_shell_text.h: pure helpers of yolo-shell (no I/O), unit-tested in
 * tests/unit/shelltest.c. */
#ifndef YG_SHELL_TEXT_H
#define YG_SHELL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "yg_text.h"

/* The TERM sent to the broker when the caller's is missing or unsafe. */
#define YG_SHELL_TERM_FALLBACK "vt100"
#define YG_SHELL_TERM_MAX YG_TEXT_TERM_MAX

/* Index of the first escape byte in buf[0..len), or -1 when there is none.
 * escape is READY.escape: 0..255 is a byte; anything else (YG_ESCAPE_NONE)
 * means "no escape character". */
ssize_t yg_shell_escape_find(const uint8_t *buf, size_t len, uint16_t escape);

/* term when it is 1..YG_SHELL_TERM_MAX characters of [A-Za-z0-9._+-],
 * else YG_SHELL_TERM_FALLBACK. Never NULL. */
const char *yg_shell_term_scrub(const char *term);

/* Is box a libvirt domain name as the policy accepts it: 1..64 characters
 * of [A-Za-z0-9_.+-], not starting with '.' or '-'? */
bool yg_shell_box_valid(const char *box);

/* "^]" style name of an escape byte for messages: writes at most 8 bytes
 * into out (size >= 8). "none" for YG_ESCAPE_NONE. */
void yg_shell_escape_name(uint16_t escape, char *out, size_t outsz);

#endif
