/* shelltest: yolo-shell's pure helpers (escape scan, TERM scrub, session id
 * validation, sanitising broker text). */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

#include "yg_proto.h"
#include "yg_shell_text.h"

static void test_escape_anywhere(void **state)
{
	const uint8_t buf[] = "ls -l\x1d" "exit";
	size_t i;

	assert_int_equal(yg_shell_escape_find(buf, sizeof(buf) - 1, 0x1d), 5);
	/* first byte, last byte, absent */
	assert_int_equal(yg_shell_escape_find((const uint8_t *)"\x1d", 1, 0x1d), 0);
	assert_int_equal(yg_shell_escape_find((const uint8_t *)"ab\x1d", 3, 0x1d), 2);
	assert_int_equal(yg_shell_escape_find((const uint8_t *)"abc", 3, 0x1d), -1);
	/* every position of a long read, not only the first byte */
	for (i = 0; i < 4096; i += 97) {
		uint8_t big[4096];

		memset(big, 'x', sizeof(big));
		big[i] = 0x1d;
		assert_int_equal(yg_shell_escape_find(big, sizeof(big), 0x1d), (ssize_t)i);
		/* the first of two wins */
		if (i + 1 < sizeof(big)) {
			big[sizeof(big) - 1] = 0x1d;
			assert_int_equal(yg_shell_escape_find(big, sizeof(big), 0x1d), (ssize_t)i);
		}
	}
	/* len bounds the scan */
	assert_int_equal(yg_shell_escape_find(buf, 5, 0x1d), -1);
	(void)state;
}

static void test_escape_none(void **state)
{
	const uint8_t buf[] = { 0x00, 0x1d, 0xff, 0x7f };

	assert_int_equal(yg_shell_escape_find(buf, sizeof(buf), YG_ESCAPE_NONE), -1);
	assert_int_equal(yg_shell_escape_find(buf, sizeof(buf), 0x100), -1);
	assert_int_equal(yg_shell_escape_find(buf, 0, 0x1d), -1);
	assert_int_equal(yg_shell_escape_find(NULL, 4, 0x1d), -1);
	/* NUL and 0xff are real escape bytes when asked for */
	assert_int_equal(yg_shell_escape_find(buf, sizeof(buf), 0x00), 0);
	assert_int_equal(yg_shell_escape_find(buf, sizeof(buf), 0xff), 2);
	(void)state;
}

static void test_escape_name(void **state)
{
	char s[8];

	yg_shell_escape_name(0x1d, s, sizeof(s));
	assert_string_equal(s, "^]");
	yg_shell_escape_name(0x01, s, sizeof(s));
	assert_string_equal(s, "^A");
	yg_shell_escape_name('~', s, sizeof(s));
	assert_string_equal(s, "~");
	yg_shell_escape_name(0x7f, s, sizeof(s));
	assert_string_equal(s, "^?");
	yg_shell_escape_name(0xe9, s, sizeof(s));
	assert_string_equal(s, "\\xe9");
	yg_shell_escape_name(YG_ESCAPE_NONE, s, sizeof(s));
	assert_string_equal(s, "none");
	(void)state;
}

static void test_term_scrub(void **state)
{
	char longest[YG_SHELL_TERM_MAX + 2];

	assert_string_equal(yg_shell_term_scrub("xterm-256color"), "xterm-256color");
	assert_string_equal(yg_shell_term_scrub("screen.xterm+x_1"), "screen.xterm+x_1");
	assert_string_equal(yg_shell_term_scrub(NULL), "vt100");
	assert_string_equal(yg_shell_term_scrub(""), "vt100");
	assert_string_equal(yg_shell_term_scrub("xterm;rm -rf /"), "vt100");
	assert_string_equal(yg_shell_term_scrub("../../etc/x"), "vt100");
	assert_string_equal(yg_shell_term_scrub("x\033]0;t\a"), "vt100");
	assert_string_equal(yg_shell_term_scrub("x\n"), "vt100");
	assert_string_equal(yg_shell_term_scrub("caf\xc3\xa9"), "vt100");

	memset(longest, 'a', YG_SHELL_TERM_MAX);
	longest[YG_SHELL_TERM_MAX] = '\0';
	assert_ptr_equal(yg_shell_term_scrub(longest), longest);
	longest[YG_SHELL_TERM_MAX] = 'a';
	longest[YG_SHELL_TERM_MAX + 1] = '\0';
	assert_string_equal(yg_shell_term_scrub(longest), "vt100");
	(void)state;
}

static void test_session_valid(void **state)
{
	char id[YG_SESSION_MAX + 2];

	assert_true(yg_shell_session_valid("0123456789abcdef"));
	assert_true(yg_shell_session_valid("ABC-def-123"));
	assert_false(yg_shell_session_valid(NULL));
	assert_false(yg_shell_session_valid(""));
	assert_false(yg_shell_session_valid("abc def"));
	assert_false(yg_shell_session_valid("abc_def"));
	assert_false(yg_shell_session_valid("../x"));
	assert_false(yg_shell_session_valid("ab\ncd"));

	memset(id, 'f', YG_SESSION_MAX);
	id[YG_SESSION_MAX] = '\0';
	assert_true(yg_shell_session_valid(id));
	id[YG_SESSION_MAX] = 'f';
	id[YG_SESSION_MAX + 1] = '\0';
	assert_false(yg_shell_session_valid(id));
	(void)state;
}

static void test_sanitize(void **state)
{
	char out[64];

	assert_int_equal(yg_shell_sanitize("reverting yolo-alice ... 1.8 s", out, sizeof(out)), 30);
	assert_string_equal(out, "reverting yolo-alice ... 1.8 s");
	/* terminal escapes, CR/LF, BEL, DEL */
	yg_shell_sanitize("a\033]0;pwned\a\r\nb\x7f", out, sizeof(out));
	assert_string_equal(out, "a?]0;pwned???b?");
	/* UTF-8 kept, C1 control (U+009B CSI) and malformed bytes not */
	yg_shell_sanitize("wait\xe2\x80\xa6 ok", out, sizeof(out));
	assert_string_equal(out, "wait\xe2\x80\xa6 ok");
	yg_shell_sanitize("x\xc2\x9b" "1m", out, sizeof(out));
	assert_string_equal(out, "x??1m");
	yg_shell_sanitize("\x9b\xff\xc0\xaf", out, sizeof(out));
	assert_string_equal(out, "????");
	yg_shell_sanitize("\xe2\x80", out, sizeof(out));	/* truncated */
	assert_string_equal(out, "??");
	yg_shell_sanitize("\xed\xa0\x80", out, sizeof(out));	/* surrogate */
	assert_string_equal(out, "???");
	yg_shell_sanitize(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	(void)state;
}

static void test_sanitize_bounds(void **state)
{
	char out[5];

	assert_int_equal(yg_shell_sanitize("abcdefgh", out, sizeof(out)), 4);
	assert_string_equal(out, "abcd");
	/* a multi-byte character that does not fit is dropped whole */
	assert_int_equal(yg_shell_sanitize("abc\xe2\x80\xa6", out, sizeof(out)), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(yg_shell_sanitize("abc", out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(yg_shell_sanitize("abc", NULL, 0), 0);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_anywhere),
		cmocka_unit_test(test_escape_none),
		cmocka_unit_test(test_escape_name),
		cmocka_unit_test(test_term_scrub),
		cmocka_unit_test(test_session_valid),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_sanitize_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
