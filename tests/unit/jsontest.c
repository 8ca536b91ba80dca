/* SPDX-License-Identifier: MIT */
/* jsontest.c: yg_json_escape, the project's one JSON string writer. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "yg_json.h"

static void esc(const void *in, size_t n, const char *want)
{
	char out[256];
	size_t used = 99, o = yg_json_escape(out, 0, sizeof(out), in, n, &used);

	assert_string_equal(out, want);
	assert_int_equal(o, strlen(want));
	assert_int_equal(used, n);
}

static void test_escapes(void **state)
{
	(void)state;
	esc("plain", 5, "plain");
	esc("a\"b\\c", 5, "a\\\"b\\\\c");
	esc("\n\x01\x7f", 3, "\\u000a\\u0001\\u007f");
	esc("a\0b", 3, "a\\u0000b");			/* a NUL byte is data, not the end */
	esc("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	esc("\xff", 1, "\\ufffd");			/* never valid */
	esc("\xc3", 1, "\\ufffd");			/* cut sequence */
	esc("\xc3(", 2, "\\ufffd(");			/* bad continuation */
	esc("\xc0\xaf", 2, "\\ufffd\\ufffd");		/* overlong */
}

/* Whatever comes in, the quoted result is one valid JSON string. */
static void test_always_parses(void **state)
{
	uint8_t in[256];
	char out[2048];
	size_t o;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(255 - i);
	out[0] = '"';
	o = yg_json_escape(out, 1, sizeof(out) - 1, in, sizeof(in), NULL);
	out[o++] = '"';
	out[o] = '\0';
	assert_int_equal(yg_json_validate(out, o), 0);
}

static void test_bounds(void **state)
{
	char out[8];
	size_t used, o;

	(void)state;
	memset(out, 'x', sizeof(out));
	o = yg_json_escape(out, 0, 4, "abcdef", 6, &used);
	assert_int_equal(o, 3);			/* out[3] is the NUL, nothing past it */
	assert_int_equal(used, 3);
	assert_string_equal(out, "abc");
	assert_int_equal(out[4], 'x');
	o = yg_json_escape(out, 0, 6, "\n", 1, &used);	/* 6 bytes + NUL do not fit */
	assert_int_equal(o, 0);
	assert_int_equal(used, 0);
	memset(out, 'x', sizeof(out));
	o = yg_json_escape(out, 5, 4, "a", 1, &used);	/* offset past the end: no write */
	assert_int_equal(o, 5);
	assert_int_equal(used, 0);
	assert_int_equal(out[5], 'x');
	assert_int_equal(yg_json_quote(out, 5, "ab"), 0);
	assert_string_equal(out, "\"ab\"");
	assert_int_equal(yg_json_quote(out, 4, "ab"), -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_always_parses),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
