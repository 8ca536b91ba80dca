/* SPDX-License-Identifier: MIT */
/* policytest: unit tests of the policy engine (policy/).
 *
 * Data-driven part: every tests/data/policy/good/<case>/ and bad/<case>/ is
 * a config dir (gate.conf and/or policy.d/).  Git does not keep modes, so
 * each case is first copied into a fresh temp dir with safe modes.  An
 * optional <case>/users file drives the per-user engine:
 *   user NAME UID GROUP...     effective policy (GROUP: primary first)
 *   may NAME DOMAIN            yg_policy_may_enter for a user above
 * The output (diagnostics for bad cases, effective policies for good ones,
 * with the temp dir shown as CONFDIR) must equal <case>/expected;
 * YG_REGEN_GOLDEN=1 rewrites the goldens instead.
 * The rest are plain cmocka tests: value parsers, trust rules (bad modes,
 * symlinks, FIFOs, ownership made in temp dirs), ordering, examples. */
#include "config.h"

#include <dirent.h>
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

#include "yg_policy.h"
#include "yg_policy_int.h"

static const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s && *s ? s : YG_ABS_SRCDIR;
}

static void xwrite(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &n, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

/* Copy a tree with safe modes (dirs 0755, files 0644). */
static void copy_tree(const char *from, const char *to)
{
	DIR *d = opendir(from);
	struct dirent *de;

	assert_non_null(d);
	assert_true(mkdir(to, 0755) == 0 || errno == EEXIST);
	assert_int_equal(chmod(to, 0755), 0);
	while ((de = readdir(d))) {
		char *a, *b;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		assert_true(asprintf(&a, "%s/%s", from, de->d_name) > 0);
		assert_true(asprintf(&b, "%s/%s", to, de->d_name) > 0);
		assert_int_equal(stat(a, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			copy_tree(a, b);
		} else {
			char *text = slurp(a);

			assert_non_null(text);
			xwrite(b, text, 0644);
			free(text);
		}
		free(a);
		free(b);
	}
	closedir(d);
}

static char *mktmp(void)
{
	char *t = strdup("/tmp/ygpolicytest.XXXXXX");

	assert_non_null(mkdtemp(t));
	assert_int_equal(chmod(t, 0755), 0);
	return t;
}

static void rm_tree(const char *path)
{
	char *cmd;

	assert_true(asprintf(&cmd, "rm -rf '%s'", path) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* Replace every occurrence of dir in s by CONFDIR. */
static char *scrub(const char *s, const char *dir)
{
	size_t dl = strlen(dir);
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	assert_non_null(f);
	while (*s) {
		if (!strncmp(s, dir, dl)) {
			fputs("CONFDIR", f);
			s += dl;
		} else {
			fputc(*s++, f);
		}
	}
	fclose(f);
	return out;
}

static void golden(const char *casedir, const char *got)
{
	char *path, *want;

	assert_true(asprintf(&path, "%s/expected", casedir) > 0);
	if (getenv("YG_REGEN_GOLDEN") && *getenv("YG_REGEN_GOLDEN") == '1') {
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fputs(got, f);
		fclose(f);
		free(path);
		return;
	}
	want = slurp(path);
	if (!want)
		fail_msg("%s is missing (run with YG_REGEN_GOLDEN=1)", path);
	if (strcmp(want, got))
		fprintf(stderr, "--- %s\n%s--- got\n%s", path, want, got);
	assert_string_equal(want, got);
	free(want);
	free(path);
}

#define MAXU 8
#define MAXG 8

struct tuser {
	char name[64];
	unsigned uid;
	char *groups[MAXG];
	size_t ng;
};

static void dump_user(FILE *out, const yg_policy *pol, struct tuser *u,
		      yg_diags *diags)
{
	yg_user_policy up;
	int rc = yg_policy_for_user(pol, u->name, u->uid,
				    (const char *const *)u->groups, u->ng,
				    &up, diags);

	fprintf(out, "user %s rc=%d gated=%s enabled=%s\n", u->name, rc,
		up.gated ? "yes" : "no", up.enabled ? "yes" : "no");
	for (size_t i = 0; rc == 0 && up.gated && i < up.nsettings; i++)
		fprintf(out, "  %s %s  # %s\n", up.settings[i].key,
			up.settings[i].value, up.settings[i].origin);
	yg_user_policy_clear(&up);
}

static void may(FILE *out, const yg_policy *pol, struct tuser *u,
		const char *domain)
{
	yg_user_policy up;
	bool ok = false;

	if (yg_policy_for_user(pol, u->name, u->uid,
			       (const char *const *)u->groups, u->ng, &up,
			       NULL) == 0)
		ok = yg_policy_may_enter(pol, &up, domain,
					 (const char *const *)u->groups,
					 u->ng);
	fprintf(out, "may %s enter %s: %s\n", u->name, domain,
		ok ? "yes" : "no");
	yg_user_policy_clear(&up);
}

/* Run the users file of a case against pol. */
static void run_users(FILE *out, const yg_policy *pol, const char *casedir,
		      yg_diags *diags)
{
	struct tuser users[MAXU];
	size_t nu = 0;
	char *path, *text, *save = NULL;

	assert_true(asprintf(&path, "%s/users", casedir) > 0);
	text = slurp(path);
	free(path);
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *w[2 + MAXG], *s2 = NULL;
		size_t nw = 0;

		for (char *t = strtok_r(l, " ", &s2); t && nw < 2 + MAXG;
		     t = strtok_r(NULL, " ", &s2))
			w[nw++] = t;
		if (nw >= 3 && !strcmp(w[0], "user") && nu < MAXU) {
			struct tuser *u = &users[nu++];

			snprintf(u->name, sizeof(u->name), "%s", w[1]);
			u->uid = (unsigned)strtoul(w[2], NULL, 10);
			u->ng = 0;
			for (size_t i = 3; i < nw; i++)
				u->groups[u->ng++] = w[i];
			dump_user(out, pol, u, diags);
		} else if (nw == 3 && !strcmp(w[0], "may")) {
			for (size_t i = 0; i < nu; i++)
				if (!strcmp(users[i].name, w[1]))
					may(out, pol, &users[i], w[2]);
		} else {
			fail_msg("bad line in users file of %s", casedir);
		}
	}
	free(text);
}

static void run_case(void **state)
{
	const char *casedir = *state;
	bool bad = strstr(casedir, "/bad/") != NULL;
	char *tmp = mktmp(), *conf, *got, *raw = NULL;
	size_t rawn = 0;
	FILE *out = open_memstream(&raw, &rawn);
	yg_diags diags = { 0 };
	yg_policy *pol = NULL;
	int rc;

	assert_true(asprintf(&conf, "%s/c", tmp) > 0);
	copy_tree(casedir, conf);
	rc = yg_policy_load(conf, &pol, &diags);
	if (pol) {
		fprintf(out, "files:\n");
		for (size_t i = 0; i < yg_policy_nfiles(pol); i++)
			fprintf(out, "  %s\n", yg_policy_file(pol, i));
		run_users(out, pol, casedir, &diags);
	}
	yg_diags_print(&diags, out);
	fclose(out);
	got = scrub(raw, conf);
	if (bad) {
		assert_true(diags.n > 0);
	} else {
		assert_int_equal(rc, 0);
		assert_int_equal(diags.n, 0);
	}
	golden(casedir, got);
	free(got);
	free(raw);
	yg_diags_free(&diags);
	yg_policy_free(pol);
	rm_tree(tmp);
	free(conf);
	free(tmp);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect <data>/<kind>/<case> directories, sorted. */
static size_t list_cases(const char *kind, char ***out)
{
	char *dir, **v = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	if (asprintf(&dir, "%s/tests/data/policy/%s", srcdir(), kind) < 0)
		abort();
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "policytest: cannot open %s\n", dir);
		exit(1);
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char **nv = realloc(v, (n + 1) * sizeof(*v));

		if (!nv)
			abort();
		v = nv;
		if (asprintf(&v[n++], "%s/%s", dir, de->d_name) < 0)
			abort();
	}
	closedir(d);
	free(dir);
	qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return n;
}

/* ---- fixed tests ---------------------------------------------------- */

static void test_duration(void **state)
{
	static const struct { const char *in; int rc; unsigned long ms; } v[] = {
		{ "0", 0, 0 }, { "90", 0, 90000 }, { "30s", 0, 30000 },
		{ "15m", 0, 900000 }, { "8h", 0, 28800000 },
		{ "", -EINVAL, 0 }, { "s", -EINVAL, 0 }, { "1.5m", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 }, { "+1", -EINVAL, 0 }, { " 1", -EINVAL, 0 },
		{ "1 s", -EINVAL, 0 }, { "1ms", -EINVAL, 0 }, { "1d", -EINVAL, 0 },
		{ "1sm", -EINVAL, 0 },
		{ "99999999999999999999999", -ERANGE, 0 },
		{ "18446744073709551h", -ERANGE, 0 },
		{ "18446744073709552", -ERANGE, 0 },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unsigned long ms = 12345;
		int rc = yg_parse_duration(v[i].in, &ms);

		if (rc != v[i].rc)
			fail_msg("'%s': rc %d, want %d", v[i].in, rc, v[i].rc);
		if (rc == 0)
			assert_int_equal(ms, v[i].ms);
		else
			assert_int_equal(ms, 12345);
	}
}

static void test_size(void **state)
{
	static const struct {
		const char *in;
		int rc;
		unsigned long long b;
	} v[] = {
		{ "0", 0, 0 }, { "4096", 0, 4096 }, { "64K", 0, 65536 },
		{ "512M", 0, 512ULL << 20 }, { "8G", 0, 8ULL << 30 },
		{ "2T", 0, 2ULL << 40 },
		{ "", -EINVAL, 0 }, { "M", -EINVAL, 0 }, { "8g", -EINVAL, 0 },
		{ "1.5G", -EINVAL, 0 }, { "-1", -EINVAL, 0 },
		{ "10MB", -EINVAL, 0 }, { "1P", -EINVAL, 0 },
		{ " 1K", -EINVAL, 0 },
		{ "16777216T", -ERANGE, 0 },
		{ "18446744073709551616", -ERANGE, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unsigned long long b = 12345;
		int rc = yg_parse_size(v[i].in, &b);

		if (rc != v[i].rc)
			fail_msg("'%s': rc %d, want %d", v[i].in, rc, v[i].rc);
		if (rc == 0)
			assert_true(b == v[i].b);
		else
			assert_true(b == 12345);
	}
	assert_int_equal(yg_parse_size(NULL, NULL), -EINVAL);
}

static void test_escape_and_names(void **state)
{
	int b = 0;

	assert_int_equal(yg_parse_escape("^]", &b), 0);
	assert_int_equal(b, 0x1d);
	assert_int_equal(yg_parse_escape("^a", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(yg_parse_escape("^?", &b), 0);
	assert_int_equal(b, 0x7f);
	assert_int_equal(yg_parse_escape("none", &b), 0);
	assert_int_equal(b, -1);
	assert_int_equal(yg_parse_escape("x", &b), -EINVAL);
	assert_int_equal(yg_parse_escape("^", &b), -EINVAL);
	assert_int_equal(yg_parse_escape("^]]", &b), -EINVAL);
	assert_int_equal(yg_parse_escape("^1", &b), -EINVAL);

	assert_true(yg_valid_posix_name("alice"));
	assert_true(yg_valid_posix_name("Alice"));
	assert_true(yg_valid_posix_name("_svc-1$"));
	assert_false(yg_valid_posix_name("9lives"));
	assert_false(yg_valid_posix_name("-x"));
	assert_false(yg_valid_posix_name("a$b"));
	assert_false(yg_valid_posix_name("a b"));
	assert_false(yg_valid_posix_name(""));
	assert_true(yg_valid_posix_name("abcdefghijklmnopqrstuvwxyz012345"));
	assert_false(yg_valid_posix_name("abcdefghijklmnopqrstuvwxyz0123456"));

	assert_true(yg_valid_domain_name("yolo-alice"));
	assert_true(yg_valid_domain_name("a.b+c_d-1"));
	assert_false(yg_valid_domain_name(".hidden"));
	assert_false(yg_valid_domain_name("-x"));
	assert_false(yg_valid_domain_name("a/b"));
	assert_false(yg_valid_domain_name("bob$"));
	assert_false(yg_valid_domain_name(""));
}

/* Load dir and expect failure with a diag containing each needle. */
static void expect_refusal(const char *dir, const char *needle1,
			   const char *needle2)
{
	yg_diags d = { 0 };
	yg_policy *pol = NULL;
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);

	assert_int_equal(yg_policy_load(dir, &pol, &d), -EINVAL);
	assert_null(pol);
	yg_diags_print(&d, f);
	fclose(f);
	if (!strstr(text, needle1) || (needle2 && !strstr(text, needle2)))
		fail_msg("want '%s' and '%s' in:\n%s", needle1,
			 needle2 ? needle2 : "", text);
	free(text);
	yg_diags_free(&d);
}

static void expect_ok(const char *dir, size_t nfiles)
{
	yg_diags d = { 0 };
	yg_policy *pol = NULL;

	assert_int_equal(yg_policy_load(dir, &pol, &d), 0);
	if (d.n)
		yg_diags_print(&d, stderr);
	assert_int_equal(d.n, 0);
	assert_int_equal(yg_policy_nfiles(pol), nfiles);
	yg_policy_free(pol);
}

static char *path2(const char *a, const char *b)
{
	char *p;

	assert_true(asprintf(&p, "%s/%s", a, b) > 0);
	return p;
}

static void test_trust(void **state)
{
	char *t = mktmp(), *gate = path2(t, "gate.conf");
	char *pd = path2(t, "policy.d"), *f = path2(pd, "10-a.conf");
	char *link = path2(pd, "20-link.conf"), *fifo = path2(pd, "30-f.conf");
	char *want;

	xwrite(gate, "[gate]\n", 0644);
	assert_int_equal(mkdir(pd, 0755), 0);
	xwrite(f, "[user:alice]\n", 0644);
	expect_ok(t, 2);

	assert_int_equal(chmod(gate, 0664), 0);
	assert_true(asprintf(&want, "chmod go-w %s", gate) > 0);
	expect_refusal(t, "group-writable", want);
	free(want);
	assert_int_equal(chmod(gate, 0646), 0);
	expect_refusal(t, "world-writable", "chmod go-w");
	assert_int_equal(chmod(gate, 0644), 0);

	assert_int_equal(chmod(pd, 0775), 0);
	assert_true(asprintf(&want, "chmod go-w %s", pd) > 0);
	expect_refusal(t, want, NULL);
	free(want);
	assert_int_equal(chmod(pd, 0755), 0);

	assert_int_equal(symlink(f, link), 0);
	expect_refusal(t, "20-link.conf: is a symlink", NULL);
	assert_int_equal(unlink(link), 0);

	assert_int_equal(mkfifo(fifo, 0644), 0); /* must not hang */
	expect_refusal(t, "30-f.conf: not a regular file", NULL);
	assert_int_equal(unlink(fifo), 0);

	assert_int_equal(unlink(gate), 0); /* gate.conf a symlink */
	assert_int_equal(symlink(f, gate), 0);
	expect_refusal(t, "gate.conf: is a symlink", NULL);
	assert_int_equal(unlink(gate), 0);
	expect_ok(t, 1); /* missing gate.conf: defaults */

	if (geteuid() == 0) {
		assert_int_equal(chown(f, 65534, 65534), 0);
		assert_true(asprintf(&want, "chown root:root %s", f) > 0);
		expect_refusal(t, "owned by uid 65534", want);
		free(want);
	} else {
		fprintf(stderr, "policytest: not root, ownership refusal "
			"not tested (chown needs root)\n");
	}
	rm_tree(t);
	free(gate);
	free(pd);
	free(f);
	free(link);
	free(fifo);
	free(t);
}

static void test_missing(void **state)
{
	char *t = mktmp(), *nope = path2(t, "nope");
	yg_diags d = { 0 };
	yg_policy *pol = NULL;
	const struct yg_gate_conf *g;

	expect_ok(t, 0); /* no gate.conf, no policy.d */
	assert_int_equal(yg_policy_load(t, &pol, &d), 0);
	g = yg_policy_gate(pol);
	assert_string_equal(g->uri, "qemu:///system");
	assert_string_equal(g->socket, RUNSTATEDIR "/yolo-gate/gated.sock");
	assert_string_equal(g->run_dir, RUNSTATEDIR "/yolo-gate");
	assert_string_equal(g->service_user, YG_DEFAULT_SERVICE_USER);
	assert_int_equal(g->log_level, YG_LOG_INFO);
	assert_string_equal(yg_policy_confdir(pol), t);
	yg_policy_free(pol);
	expect_refusal(nope, "does not exist", NULL);
	rm_tree(t);
	free(nope);
	free(t);
}

static void test_long_line(void **state)
{
	char *t = mktmp(), *gate = path2(t, "gate.conf");
	char *text = malloc(5000);

	assert_non_null(text);
	memcpy(text, "[gate]\nuri = ", 13);
	memset(text + 13, 'x', 4200);
	strcpy(text + 4213, "\n");
	xwrite(gate, text, 0644);
	expect_refusal(t, "gate.conf:2: line is longer than 4096", NULL);
	/* 4000 bytes is fine (and iniparser, capped at 1024, is skipped) */
	strcpy(text + 13 + 3980, "\n");
	xwrite(gate, text, 0644);
	expect_ok(t, 1);
	rm_tree(t);
	free(text);
	free(gate);
	free(t);
}

/* The example files shipped for admins load cleanly. */
static void test_examples(void **state)
{
	char *t = mktmp(), *ex, *conf = path2(t, "c");

	assert_true(asprintf(&ex, "%s/policy/examples", srcdir()) > 0);
	copy_tree(ex, conf);
	expect_ok(conf, 2);
	rm_tree(t);
	free(conf);
	free(ex);
	free(t);
}

/* The iniparser cross-check runs on the opened fd and catches a scanner
 * that reads a value differently (simulated by a different buffer). */
static void test_crosscheck(void **state)
{
	static const char file[] = "[gate]\nuri = 'x;y' # c\nlog_level=info\n";
	static const char other[] = "[gate]\nuri = x\nlog_level=info\n";
	char *t = mktmp(), *gate = path2(t, "gate.conf");
	yg_diags d = { 0 };
	int fd;

	xwrite(gate, file, 0644);
	fd = open(gate, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(yg_scan_crosscheck(gate, fd, file, strlen(file), &d),
			 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(yg_scan_crosscheck(gate, fd, other, strlen(other),
					    &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "internal error: iniparser reads "
			       "'gate:uri' as 'x;y', the line scanner as 'x'"));
	yg_diags_free(&d);
	close(fd);
	rm_tree(t);
	free(gate);
	free(t);
}

static const struct CMUnitTest fixed_tests[] = {
	cmocka_unit_test(test_crosscheck),
	cmocka_unit_test(test_duration),
	cmocka_unit_test(test_size),
	cmocka_unit_test(test_escape_and_names),
	cmocka_unit_test(test_trust),
	cmocka_unit_test(test_missing),
	cmocka_unit_test(test_long_line),
	cmocka_unit_test(test_examples),
};

int main(void)
{
	char **good, **bad;
	size_t ng = list_cases("good", &good), nb = list_cases("bad", &bad);
	size_t nfixed = sizeof(fixed_tests) / sizeof(fixed_tests[0]);
	struct CMUnitTest *t = calloc(ng + nb + nfixed, sizeof(*t));
	size_t n = 0;
	int rc;

	if (!t)
		return 1;
	for (size_t i = 0; i < nfixed; i++)
		t[n++] = fixed_tests[i];
	for (size_t i = 0; i < ng + nb; i++) {
		char *c = i < ng ? good[i] : bad[i - ng];

		t[n].name = strstr(c, "tests/data/policy/");
		t[n].test_func = run_case;
		t[n].initial_state = c;
		n++;
	}
	rc = _cmocka_run_group_tests("policy", t, n, NULL, NULL);
	for (size_t i = 0; i < ng; i++)
		free(good[i]);
	for (size_t i = 0; i < nb; i++)
		free(bad[i]);
	free(good);
	free(bad);
	free(t);
	return rc;
}
