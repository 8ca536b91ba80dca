/* SPDX-License-Identifier: MIT */
/* yg_text.h: text from the broker or a guest, made safe for a terminal.
 * yolo-shell prints broker messages with it, the PAM module hands them to
 * the application's conversation (sshd writes them to the user's terminal)
 * with it. */
#ifndef YG_TEXT_H
#define YG_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Copy text into out (size outsz >= 1, always NUL-terminated) so that it is
 * safe to print on a terminal: ASCII control characters, DEL, C1 controls
 * (also UTF-8 encoded: U+0080..U+009F, e.g. U+009B CSI) and malformed UTF-8
 * become '?'; well-formed printable UTF-8 (e.g. an ellipsis) is kept whole or
 * not at all. Returns strlen(out). */
size_t yg_text_safe(const char *text, char *out, size_t outsz);

/* A terminal type that may travel as TERM (the client's, into the box):
 * 1 to YG_TEXT_TERM_MAX characters of [A-Za-z0-9._+-]. */
#define YG_TEXT_TERM_MAX 64u
bool yg_text_term_ok(const char *term);

#endif
