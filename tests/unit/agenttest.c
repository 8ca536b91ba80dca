/* SPDX-License-Identifier: MIT */
/* agenttest: the guest agent's JSON reader and base64 codec, on good and
 * hostile input (agent replies are untrusted), and the guest tty of a
 * console device. The agent's command sequences: agentseqtest.c. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "yg_agent.h"

static void test_validate_good(void **state)
{
	static const char *const good[] = {
		"{}", "[]", "0", "-0", "1.5e-3", "\"x\"", "true", "false", "null",
		" { \"a\" : [ 1 , 2 , { \"b\" : null } ] , \"c\":\"\\u00e9\\n\" } ",
		"{\"return\":{\"pid\":12}}", "[[[[[]]]]]", "\"\\ud83d\\ude00\"",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (yg_json_validate(good[i], strlen(good[i])) != 0)
			fail_msg("rejected good JSON %s", good[i]);
}

static void test_validate_hostile(void **state)
{
	static const char *const bad[] = {
		"", " ", "{", "}", "{\"a\":1", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "{a:1}",
		"{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}", "{\"a\":-}", "+1",
		"{\"a\":tru}", "{\"a\":nul}", "\"abc", "\"\\x\"", "\"\\u12g4\"", "{} {}",
		"{}x", "'a'", "<html>", "{\"a\":\"\t\"}", "[1 2]", "{\"a\":1 \"b\":2}",
		"NaN", "Infinity", "{\"a\":[}", "\"\\",
	};
	char deep[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (yg_json_validate(bad[i], strlen(bad[i])) != -EINVAL)
			fail_msg("accepted bad JSON '%s'", bad[i]);
	/* nesting deeper than YG_JSON_MAX_DEPTH */
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_int_equal(yg_json_validate(deep, sizeof(deep)), -EINVAL);
	/* exactly at the limit is fine */
	memset(deep, '[', YG_JSON_MAX_DEPTH);
	memset(deep + YG_JSON_MAX_DEPTH, ']', YG_JSON_MAX_DEPTH);
	assert_int_equal(yg_json_validate(deep, 2 * YG_JSON_MAX_DEPTH), 0);
	/* embedded NUL inside a string and outside */
	assert_int_equal(yg_json_validate("\"a\0b\"", 5), -EINVAL);
	assert_int_equal(yg_json_validate("{}\0", 3), -EINVAL);
	/* truncations of a valid reply are all invalid */
	{
		const char *r = "{\"return\":{\"pid\":123,\"s\":\"x\\\"y\",\"b\":[true]}}";

		for (i = 0; i < strlen(r); i++)
			if (yg_json_validate(r, i) == 0)
				fail_msg("accepted truncation at %zu", i);
	}
}

static void test_get_int(void **state)
{
	long long v = 0;

	(void)state;
	assert_int_equal(yg_json_get_int("{\"return\":{\"pid\":4242}}", "return.pid", &v), 0);
	assert_int_equal(v, 4242);
	assert_int_equal(yg_json_get_int("{\"a\":-17}", "a", &v), 0);
	assert_int_equal(v, -17);
	assert_int_equal(yg_json_get_int("{\"a\":9223372036854775807}", "a", &v), 0);
	assert_true(v == LLONG_MAX);
	assert_int_equal(yg_json_get_int("{\"a\":-9223372036854775808}", "a", &v), 0);
	assert_true(v == LLONG_MIN);
	assert_int_equal(yg_json_get_int("{\"a\":9223372036854775808}", "a", &v), -ERANGE);
	assert_int_equal(yg_json_get_int("{\"a\":-9223372036854775809}", "a", &v), -ERANGE);
	assert_int_equal(yg_json_get_int("{\"a\":99999999999999999999999999999999}", "a", &v), -ERANGE);
	assert_int_equal(yg_json_get_int("{\"a\":1.5}", "a", &v), -EINVAL);
	assert_int_equal(yg_json_get_int("{\"a\":1e3}", "a", &v), -EINVAL);
	assert_int_equal(yg_json_get_int("{\"a\":\"12\"}", "a", &v), -EINVAL);
	assert_int_equal(yg_json_get_int("{\"a\":true}", "a", &v), -EINVAL);
	assert_int_equal(yg_json_get_int("{\"a\":1}", "b", &v), -ENOENT);
	assert_int_equal(yg_json_get_int("{\"a\":{\"b\":1}}", "a.c", &v), -ENOENT);
	assert_int_equal(yg_json_get_int("{\"a\":1}", "a.b", &v), -EINVAL);
	assert_int_equal(yg_json_get_int("[1]", "a", &v), -EINVAL);
	assert_int_equal(yg_json_get_int("{\"a\":1", "a", &v), -EINVAL);
	/* duplicate key is ambiguous */
	assert_int_equal(yg_json_get_int("{\"a\":1,\"a\":2}", "a", &v), -EINVAL);
	/* a nested member with the same name is not the top-level one */
	assert_int_equal(yg_json_get_int("{\"x\":{\"pid\":1},\"pid\":2}", "pid", &v), 0);
	assert_int_equal(v, 2);
	/* escaped key matches its decoded form */
	assert_int_equal(yg_json_get_int("{\"p\\u0069d\":7}", "pid", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(yg_json_get_int("{\"a\":1}", "", &v), -EINVAL);
	assert_int_equal(yg_json_get_int("{\"a\":1}", "a.", &v), -EINVAL);
}

static void test_get_bool_has(void **state)
{
	bool b = false;

	(void)state;
	assert_int_equal(yg_json_get_bool("{\"return\":{\"exited\":true}}", "return.exited", &b), 0);
	assert_true(b);
	assert_int_equal(yg_json_get_bool("{\"e\":false}", "e", &b), 0);
	assert_false(b);
	assert_int_equal(yg_json_get_bool("{\"e\":null}", "e", &b), -EINVAL);
	assert_int_equal(yg_json_get_bool("{\"e\":1}", "e", &b), -EINVAL);
	assert_true(yg_json_has("{\"error\":{\"desc\":\"x\"}}", "error"));
	assert_true(yg_json_has("{\"error\":{\"desc\":\"x\"}}", "error.desc"));
	assert_false(yg_json_has("{\"return\":{}}", "error"));
	assert_false(yg_json_has("{\"error\":", "error"));
}

static void test_get_string(void **state)
{
	char buf[16];
	size_t n = 0;

	(void)state;
	assert_int_equal(yg_json_get_string("{\"s\":\"a\\\"b\\\\c\\/\\n\"}", "s", buf, sizeof(buf), &n), 0);
	assert_string_equal(buf, "a\"b\\c/\n");
	assert_int_equal(n, 7);
	assert_int_equal(yg_json_get_string("{\"s\":\"\\u00e9\\ud83d\\ude00\"}", "s", buf, sizeof(buf), &n), 0);
	assert_string_equal(buf, "\xc3\xa9\xf0\x9f\x98\x80");
	/* \u0000 would smuggle a NUL: rejected */
	assert_int_equal(yg_json_get_string("{\"s\":\"a\\u0000b\"}", "s", buf, sizeof(buf), &n), -EINVAL);
	/* lone surrogates */
	assert_int_equal(yg_json_get_string("{\"s\":\"\\ud83d\"}", "s", buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(yg_json_get_string("{\"s\":\"\\ude00\"}", "s", buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(yg_json_get_string("{\"s\":\"\\ud83d\\u0041\"}", "s", buf, sizeof(buf), &n), -EINVAL);
	/* too long for the buffer: exactly fits / one over */
	assert_int_equal(yg_json_get_string("{\"s\":\"123456789012345\"}", "s", buf, sizeof(buf), &n), 0);
	assert_int_equal(yg_json_get_string("{\"s\":\"1234567890123456\"}", "s", buf, sizeof(buf), &n), -ERANGE);
	assert_int_equal(yg_json_get_string("{\"s\":5}", "s", buf, sizeof(buf), &n), -EINVAL);
	assert_int_equal(yg_json_get_string("{\"s\":\"x\"}", "s", buf, 0, &n), -EINVAL);
	/* raw control character inside a string */
	assert_int_equal(yg_json_get_string("{\"s\":\"a\x01\"}", "s", buf, sizeof(buf), &n), -EINVAL);
}

static void test_huge_input(void **state)
{
	size_t len = 17u * 1024 * 1024;
	char *s = malloc(len + 1);
	long long v;

	(void)state;
	assert_non_null(s);
	/* {"a":1,"p":"xxxx...."} larger than the reader's bound */
	memset(s, 'x', len);
	memcpy(s, "{\"a\":1,\"p\":\"", 12);
	memcpy(s + len - 2, "\"}", 2);
	s[len] = '\0';
	assert_int_equal(yg_json_get_int(s, "a", &v), -EINVAL);
	/* the same shape at a small size is fine */
	memcpy(s + 1000, "\"}", 3);
	assert_int_equal(yg_json_get_int(s, "a", &v), 0);
	assert_int_equal(v, 1);
	free(s);
}

static void test_quote(void **state)
{
	char buf[64], back[64];
	char json[128];

	(void)state;
	assert_int_equal(yg_json_quote(buf, sizeof(buf), "a\"b\\c\n\x01/x"), 0);
	assert_string_equal(buf, "\"a\\\"b\\\\c\\u000a\\u0001/x\"");
	/* round trip through the reader */
	snprintf(json, sizeof(json), "{\"k\":%s}", buf);
	assert_int_equal(yg_json_get_string(json, "k", back, sizeof(back), NULL), 0);
	assert_string_equal(back, "a\"b\\c\n\x01/x");
	assert_int_equal(yg_json_quote(buf, 4, "ab"), -ERANGE);
	assert_int_equal(yg_json_quote(buf, 5, "ab"), 0);
	assert_string_equal(buf, "\"ab\"");
	assert_int_equal(yg_json_quote(buf, 8, "\n"), -ERANGE);
}

static void test_b64_vectors(void **state)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	char out[16], dec[16];
	size_t i, n;

	(void)state;
	for (i = 0; i < 7; i++) {
		assert_int_equal(yg_b64_enc_len(strlen(plain[i])), strlen(enc[i]));
		assert_int_equal(yg_b64_encode(plain[i], strlen(plain[i]), out), strlen(enc[i]));
		assert_string_equal(out, enc[i]);
		assert_int_equal(yg_b64_decode(enc[i], strlen(enc[i]), dec, &n), 0);
		assert_int_equal(n, strlen(plain[i]));
		assert_memory_equal(dec, plain[i], n);
	}
}

static void test_b64_roundtrip_binary(void **state)
{
	unsigned char in[1000], back[1000];
	char enc[1400];
	size_t len, n, i;

	(void)state;
	srand(1234);
	for (len = 0; len < sizeof(in); len += 37) {
		for (i = 0; i < len; i++)
			in[i] = (unsigned char)rand();
		n = yg_b64_encode(in, len, enc);
		assert_int_equal(yg_b64_decode(enc, n, back, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(in, back, len);
	}
}

static void test_b64_hostile(void **state)
{
	static const char *const bad[] = {
		"Zg=", "Zg", "Z", "Zm9", "Zg==Zg==", "Z===", "====", "Zm9v\n", " Zm9v",
		"Zm-v", "Zm_v", "Zh==", "Zm9=", "Zm=v", "=Zm9",
	};
	char dec[16];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (yg_b64_decode(bad[i], strlen(bad[i]), dec, &n) != -EINVAL)
			fail_msg("accepted bad base64 '%s'", bad[i]);
	/* embedded NUL */
	assert_int_equal(yg_b64_decode("Zm\0v", 4, dec, &n), -EINVAL);
}

/* The policy's console device names its guest tty; nothing else passes. */
static void test_console_tty(void **state)
{
	static const struct { const char *dev, *tty; } good[] = {
		{ NULL, "/dev/ttyS0" }, { "", "/dev/ttyS0" }, { "serial0", "/dev/ttyS0" },
		{ "serial1", "/dev/ttyS1" }, { "serial999", "/dev/ttyS999" },
		{ "console0", "/dev/hvc0" }, { "console1", "/dev/hvc0" },
		{ "console2", "/dev/hvc1" }, { "console100", "/dev/hvc99" },
	};
	static const char *const bad[] = {
		"serial", "serial01", "serial1000", "serial-1", "serial0 ", "serial0;rm",
		"console", "console00", "parallel0", "channel0", "ttyS0", "/dev/ttyS0",
		"serial0$(id)", "Serial0", "hvc0", "serial\n0",
	};
	char tty[YG_AGENT_TTY_MAX];
	yg_err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(yg_agent_console_tty(good[i].dev, tty, sizeof(tty), &err), 0);
		assert_string_equal(tty, good[i].tty);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (yg_agent_console_tty(bad[i], tty, sizeof(tty), &err) != -EINVAL)
			fail_msg("console device '%s' gave a tty", bad[i]);
	assert_string_equal(err.msg, "cannot tell the guest tty of console device "
			    "'(unprintable or too long)' (set console to serialN or consoleN, "
			    "see yolo-gate.conf(5))");
	assert_int_equal(yg_agent_console_tty("parallel0", tty, sizeof(tty), &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'parallel0'"));
	assert_int_equal(yg_agent_console_tty("serial12", tty, 11, &err), -ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validate_good),
		cmocka_unit_test(test_validate_hostile),
		cmocka_unit_test(test_get_int),
		cmocka_unit_test(test_get_bool_has),
		cmocka_unit_test(test_get_string),
		cmocka_unit_test(test_huge_input),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_b64_vectors),
		cmocka_unit_test(test_b64_roundtrip_binary),
		cmocka_unit_test(test_b64_hostile),
		cmocka_unit_test(test_console_tty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
