/* SPDX-License-Identifier: MIT */
/* keyfiletest.c: yg_keyfile parsing (from memory and tests/data/keyfile/)
 * and loading under the file rules. Never may a message echo a value: every
 * secret in the bad inputs contains "supersecret". */
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "yg_file.h"
#include "yg_keyfile.h"

static char tmpdir[] = "/tmp/yg-keyfiletest-XXXXXX";

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *data_path(const char *name)
{
	static char p[1024];
	const char *top = getenv("top_srcdir");

	snprintf(p, sizeof(p), "%s/tests/data/keyfile/%s", top ? top : ".", name);
	return p;
}

/* Copy a data file into tmpdir, mode 0600, owned by us: a loadable key file. */
static const char *install(const char *name, mode_t mode)
{
	static char dst[600];
	char buf[YG_KEYFILE_MAX + 16];
	ssize_t n;
	int in, out;

	in = open(data_path(name), O_RDONLY | O_CLOEXEC);
	if (in < 0)
		fail_msg("cannot open %s (run from the build dir or set top_srcdir)", data_path(name));
	n = read(in, buf, sizeof(buf));
	close(in);
	assert_true(n >= 0);
	snprintf(dst, sizeof(dst), "%s/%s", tmpdir, name);
	unlink(dst);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(out >= 0);
	assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(fchmod(out, mode), 0);
	close(out);
	return dst;
}

static void assert_value(const yg_keyfile *kf, const char *name, const char *want)
{
	size_t len = 0;
	const char *v = yg_keyfile_value(kf, name, &len);

	assert_non_null(v);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(v, want, len);
}

static void test_parse_memory(void **state)
{
	static const char text[] = "A=1\n# comment\n\nB_2=x y=z \nC=\n  \t\n_d=last";
	yg_keyfile kf;
	yg_err err;

	assert_int_equal(yg_keyfile_parse("mem", text, sizeof(text) - 1, &kf, &err), 0);
	assert_int_equal(kf.nnames, 4);
	assert_string_equal(kf.names[0], "A");
	assert_string_equal(kf.names[1], "B_2");
	assert_string_equal(kf.names[2], "C");
	assert_string_equal(kf.names[3], "_d");
	assert_string_equal(kf.buf, "A=1\nB_2=x y=z \nC=\n_d=last\n");
	assert_int_equal(kf.len, strlen(kf.buf));
	assert_value(&kf, "B_2", "x y=z ");
	assert_value(&kf, "C", "");
	assert_value(&kf, "_d", "last");
	assert_null(yg_keyfile_value(&kf, "B", NULL));
	assert_null(yg_keyfile_value(&kf, "missing", NULL));
	yg_keyfile_clear(&kf);
	assert_null(kf.buf);
	assert_int_equal(kf.nnames, 0);
	yg_keyfile_clear(&kf);
	yg_keyfile_clear(NULL);
}

static void expect_parse_error(const char *text, size_t len, const char *want)
{
	yg_keyfile kf;
	yg_err err;

	yg_err_clear(&err);
	assert_int_equal(yg_keyfile_parse("mem.env", text, len, &kf, &err), -EINVAL);
	assert_null(kf.buf);
	assert_null(kf.names);
	if (!strstr(err.msg, want))
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	if (strstr(err.msg, "supersecret"))
		fail_msg("message echoes a value: '%s'", err.msg);
}

static void test_parse_errors(void **state)
{
	static const char nul[] = "A=1\nB=super\0secret\n";
	static const char crlf[] = "A=supersecret\r\n";
	static const char longname[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ=supersecret";

	expect_parse_error(nul, sizeof(nul) - 1, "line 2: contains a NUL byte");
	expect_parse_error(crlf, sizeof(crlf) - 1, "line 1: contains a carriage return");
	expect_parse_error("3X=supersecret", 14, "line 1: invalid key name '3X' "
			   "(names match [A-Za-z_][A-Za-z0-9_]*");
	expect_parse_error("A-B=supersecret", 15, "invalid key name 'A-B'");
	expect_parse_error("A B=supersecret", 15, "invalid key name 'A\\x20B'");
	expect_parse_error("A\x1b[2J=supersecret", 17, "invalid key name 'A\\x1b[2J'");
	expect_parse_error(longname, sizeof(longname) - 1, "...' (names match");
	expect_parse_error("#ok\nsupersecret-alone", 20, "line 2: no '='");
	expect_parse_error("=supersecret", 12, "line 1: empty key name");
	expect_parse_error("A=1\nA=supersecret", 17, "line 2: key A is set twice");
}

static void test_parse_sizes(void **state)
{
	char *big = malloc(YG_KEYFILE_MAX + 1);
	yg_keyfile kf;
	yg_err err;

	assert_non_null(big);
	memset(big, '#', YG_KEYFILE_MAX + 1);
	assert_int_equal(yg_keyfile_parse("big", big, YG_KEYFILE_MAX + 1, &kf, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "is larger than 64 KiB"));
	memcpy(big, "K=", 2);	/* one line: K=###... of exactly the maximum */
	assert_int_equal(yg_keyfile_parse("max", big, YG_KEYFILE_MAX, &kf, &err), 0);
	assert_int_equal(kf.nnames, 1);
	assert_int_equal(kf.len, YG_KEYFILE_MAX + 1);
	yg_keyfile_clear(&kf);
	free(big);
	assert_int_equal(yg_keyfile_parse("empty", "", 0, &kf, &err), 0);
	assert_int_equal(kf.nnames, 0);
	assert_int_equal(kf.len, 0);
	yg_keyfile_clear(&kf);
}

static void test_load_data(void **state)
{
	static const struct { const char *file; int code; const char *want; } cases[] = {
		{ "good.env", 0, NULL },
		{ "comments-only.env", 0, NULL },
		{ "empty.env", 0, NULL },
		{ "bad-crlf.env", -EINVAL, "line 1: contains a carriage return" },
		{ "bad-name.env", -EINVAL, "line 3: invalid key name '3X'" },
		{ "bad-noeq.env", -EINVAL, "line 2: no '='" },
		{ "bad-dup.env", -EINVAL, "line 3: key A is set twice" },
		{ "bad-leading-space.env", -EINVAL, "line 1: invalid key name '\\x20LEADING'" },
		{ "bad-empty-name.env", -EINVAL, "line 1: empty key name" },
	};
	yg_keyfile kf;
	yg_err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = install(cases[i].file, 0600);
		int r;

		yg_err_clear(&err);
		r = yg_keyfile_load(p, geteuid(), &kf, &err);
		if (r != cases[i].code)
			fail_msg("%s: got %d (%s), want %d", cases[i].file, r, err.msg, cases[i].code);
		if (cases[i].want && !strstr(err.msg, cases[i].want))
			fail_msg("%s: message '%s' lacks '%s'", cases[i].file, err.msg, cases[i].want);
		if (strstr(err.msg, "supersecret") || strstr(err.msg, "sk-test"))
			fail_msg("%s: message echoes a value: '%s'", cases[i].file, err.msg);
		if (r == 0 && !strcmp(cases[i].file, "good.env")) {
			assert_int_equal(kf.nnames, 4);
			assert_value(&kf, "ANTHROPIC_API_KEY", "sk-test-not-a-real-key");
			assert_value(&kf, "OPENAI_API_KEY", "value with spaces = and equals");
			assert_value(&kf, "_EMPTY", "");
			assert_value(&kf, "lower_case9", "x");
		}
		yg_keyfile_clear(&kf);
	}
}

static void expect_load_refused(const char *path, uid_t owner, int code, const char *want)
{
	yg_keyfile kf;
	yg_err err;
	int r;

	yg_err_clear(&err);
	r = yg_keyfile_load(path, owner, &kf, &err);
	assert_int_equal(r, code);
	assert_null(kf.buf);
	if (!strstr(err.msg, want))
		fail_msg("message '%s' lacks '%s'", err.msg, want);
}

static void test_load_rules(void **state)
{
	char slink[700], fifo[700], missing[700], hard[700];
	const char *p;

	p = install("good.env", 0644);
	expect_load_refused(p, geteuid(), -EPERM, "is mode 0644 (fix: chmod 600 ");
	expect_load_refused(p, geteuid(), -EPERM, "key file /");
	p = install("good.env", 0600);
	expect_load_refused(p, geteuid() + 1, -EPERM, "is owned by uid ");
	snprintf(slink, sizeof(slink), "%s/link.env", tmpdir);
	assert_int_equal(symlink(p, slink), 0);
	expect_load_refused(slink, geteuid(), -ELOOP,
			    "is a symlink (fix: replace it with a regular file)");
	snprintf(hard, sizeof(hard), "%s/hard.env", tmpdir);
	assert_int_equal(link(p, hard), 0);
	expect_load_refused(p, geteuid(), -EMLINK, "has 2 hard links");
	unlink(hard);
	snprintf(fifo, sizeof(fifo), "%s/fifo.env", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	alarm(30);
	expect_load_refused(fifo, geteuid(), -EINVAL, "is not a regular file");
	alarm(0);
	snprintf(missing, sizeof(missing), "%s/nobody.env", tmpdir);
	expect_load_refused(missing, geteuid(), -ENOENT, "does not exist");
	{
		int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC);
		char chunk[4096];

		assert_true(fd >= 0);
		memset(chunk, '#', sizeof(chunk));
		for (int i = 0; i < 17; i++)
			assert_int_equal(write(fd, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
		close(fd);
		expect_load_refused(p, geteuid(), -EFBIG, "is larger than 64 KiB");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_memory),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_sizes),
		cmocka_unit_test(test_load_data),
		cmocka_unit_test(test_load_rules),
	};

	return cmocka_run_group_tests_name("yg_keyfile", tests, setup, teardown);
}
