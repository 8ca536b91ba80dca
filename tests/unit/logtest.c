/* SPDX-License-Identifier: MIT */
/* logtest.c: yg_log escaping and the stderr target. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "yg_log.h"

static const char *esc(const char *s)
{
	static char buf[256];

	return yg_log_escape(s, buf, sizeof(buf));
}

static void test_escape_plain(void **state)
{
	assert_string_equal(esc("alice"), "alice");
	assert_string_equal(esc("yolo-alice_1.2:/x"), "yolo-alice_1.2:/x");
	assert_string_equal(esc(""), "\"\"");
	assert_string_equal(esc(NULL), "-");
}

static void test_escape_specials(void **state)
{
	assert_string_equal(esc("a b"), "a\\x20b");
	assert_string_equal(esc("k=v"), "k\\x3dv");
	assert_string_equal(esc("say \"hi\""), "say\\x20\\x22hi\\x22");
	assert_string_equal(esc("back\\slash"), "back\\x5cslash");
	assert_string_equal(esc("line1\nevent=forged"), "line1\\x0aevent\\x3dforged");
	assert_string_equal(esc("\r\t\x1b[2J"), "\\x0d\\x09\\x1b[2J");
	assert_string_equal(esc("\x7f"), "\\x7f");
	assert_string_equal(esc("caf\xc3\xa9"), "caf\\xc3\\xa9");
	assert_string_equal(esc("\xff"), "\\xff");
}

static void test_escape_truncation(void **state)
{
	char small[10], tiny[3], big[YG_LOG_VALUE_MAX];
	char *longv = malloc(100000);

	assert_string_equal(yg_log_escape("abcdefghi", small, sizeof(small)), "abcdefghi");
	assert_string_equal(yg_log_escape("abcdefghij", small, sizeof(small)), "abcdef...");
	/* an escape is never cut in half */
	assert_string_equal(yg_log_escape("abcd\nefghij", small, sizeof(small)), "abcd...");
	assert_string_equal(yg_log_escape("\n\n\n", small, sizeof(small)), "\\x0a...");
	assert_string_equal(yg_log_escape("abc", tiny, sizeof(tiny)), "");
	assert_string_equal(yg_log_escape("ab", tiny, sizeof(tiny)), "ab");

	assert_non_null(longv);
	memset(longv, '\n', 99999);
	longv[99999] = '\0';
	yg_log_escape(longv, big, sizeof(big));
	assert_true(strlen(big) < sizeof(big));
	assert_null(strchr(big, '\n'));
	assert_string_equal(big + strlen(big) - 3, "...");
	free(longv);
}

static void test_level_parse(void **state)
{
	enum yg_log_level l = YG_LOG_ERROR;

	assert_int_equal(yg_log_level_parse("debug", &l), 0);
	assert_int_equal(l, YG_LOG_DEBUG);
	assert_int_equal(yg_log_level_parse("WARNING", &l), 0);
	assert_int_equal(l, YG_LOG_WARNING);
	assert_int_equal(yg_log_level_parse("error", &l), 0);
	assert_int_equal(l, YG_LOG_ERROR);
	assert_int_equal(yg_log_level_parse("info", &l), 0);
	assert_int_equal(l, YG_LOG_INFO);
	assert_int_equal(yg_log_level_parse("loud", &l), -EINVAL);
	assert_int_equal(yg_log_level_parse("", &l), -EINVAL);
	assert_int_equal(yg_log_level_parse(NULL, &l), -EINVAL);
}

/* Run one yg_log call with stderr redirected into a pipe; return what came out. */
static char captured[16384];

static const char *capture_begin(int *saved, int *rd)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	*saved = dup(STDERR_FILENO);
	assert_true(*saved >= 0);
	assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	close(p[1]);
	*rd = p[0];
	return captured;
}

static const char *capture_end(int saved, int rd)
{
	ssize_t n, off = 0;

	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	while ((n = read(rd, captured + off, sizeof(captured) - 1 - (size_t)off)) > 0)
		off += n;
	close(rd);
	captured[off] = '\0';
	return captured;
}

static void test_stderr_target(void **state)
{
	char want[512];
	int saved, rd;
	const char *out;

	yg_log_open("yg-test", YG_LOG_STDERR, YG_LOG_INFO);
	capture_begin(&saved, &rd);
	yg_log(YG_LOG_INFO, "event", "login_ready", "user", "al ice\nevent=evil",
	       "ms", "1834", "empty", "", "none", NULL, NULL);
	yg_log(YG_LOG_DEBUG, "event", "too_verbose", NULL);
	yg_log(YG_LOG_ERROR, "event", "second", NULL);
	out = capture_end(saved, rd);
	snprintf(want, sizeof(want),
		 "yg-test[%ld]: event=login_ready user=al\\x20ice\\x0aevent\\x3devil ms=1834 empty=\"\" none=-\n"
		 "yg-test[%ld]: event=second\n", (long)getpid(), (long)getpid());
	assert_string_equal(out, want);

	yg_log_set_level(YG_LOG_DEBUG);
	capture_begin(&saved, &rd);
	yg_log(YG_LOG_DEBUG, "event", "now_visible", NULL);
	out = capture_end(saved, rd);
	assert_non_null(strstr(out, "event=now_visible\n"));
	yg_log_set_level(YG_LOG_INFO);
}

static void test_long_line(void **state)
{
	char *v = malloc(5000);
	const char *out;
	int saved, rd;

	assert_non_null(v);
	memset(v, 'v', 4999);
	v[4999] = '\0';
	capture_begin(&saved, &rd);
	yg_log(YG_LOG_INFO, "event", "big", "a", v, "b", v, "c", v, "d", v, "e", v, NULL);
	out = capture_end(saved, rd);
	free(v);
	/* one line, bounded, ends with the truncation mark */
	assert_int_equal(strchr(out, '\n') - out, (ptrdiff_t)strlen(out) - 1);
	assert_true(strlen(out) < YG_LOG_LINE_MAX + 64);
	assert_non_null(strstr(out, "... ...\n"));
}

static void test_syslog_target(void **state)
{
	/* nothing to read back without a syslog daemon; it must not crash or
	 * write to stderr */
	const char *out;
	int saved, rd;

	capture_begin(&saved, &rd);
	yg_log_open("yg-test", YG_LOG_SYSLOG, YG_LOG_DEBUG);
	yg_log(YG_LOG_DEBUG, "event", "logtest_syslog", NULL);
	out = capture_end(saved, rd);
	assert_string_equal(out, "");
	yg_log_open("yg-test", YG_LOG_STDERR, YG_LOG_INFO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_plain),
		cmocka_unit_test(test_escape_specials),
		cmocka_unit_test(test_escape_truncation),
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test(test_stderr_target),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_syslog_target),
	};

	return cmocka_run_group_tests_name("yg_log", tests, NULL, NULL);
}
