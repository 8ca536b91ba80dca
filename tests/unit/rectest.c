/* SPDX-License-Identifier: MIT */
/* rectest.c: session recordings of yolo-gated (audit.c), without libvirt:
 * more output than record_max_size keeps the start of the session, a marker
 * that counts the dropped bytes and the end, in one .cast file of at most
 * record_max_size bytes; what is kept is exactly the console's bytes. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "session.h"

#define MARK "\r\n[yolo-gate: "
#define MARK_END " bytes not recorded]\r\n"
#define AUDIT_TEST_LINE 65536

static char dir[64];

struct rig {
	struct yg_gd_gate gate;
	struct yg_gd_sess s;
	struct yg_gd_rec *rec;
	unsigned char *in;	/* everything written */
	size_t nin, cap;
};

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/yg-rec.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void rig_open(struct rig *g, const char *user, unsigned long long max)
{
	yg_err err;

	memset(g, 0, sizeof(*g));
	g->s.gate = &g->gate;
	snprintf(g->gate.record_dir, sizeof(g->gate.record_dir), "%s/rec", dir);
	g->gate.record_max_size = max;
	snprintf(g->s.u.user, sizeof(g->s.u.user), "%s", user);
	snprintf(g->s.id, sizeof(g->s.id), "0123456789abcdef");
	g->s.rows = 40;
	g->s.cols = 120;
	assert_int_equal(yg_gd_rec_open(&g->s, &g->rec, &err), 0);
}

static void rig_write(struct rig *g, const void *buf, size_t len)
{
	if (g->nin + len > g->cap) {
		g->cap = 2 * (g->nin + len);
		g->in = realloc(g->in, g->cap);
		assert_non_null(g->in);
	}
	memcpy(g->in + g->nin, buf, len);
	g->nin += len;
	yg_gd_rec_output(g->rec, buf, len);
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decode the JSON string at *p (after its opening quote) into out; the
 * escapes yg_json_escape writes for the bytes these tests send. */
static size_t unjson(const char **p, unsigned char *out)
{
	const char *s = *p;
	size_t n = 0;

	while (*s && *s != '"') {
		if (*s != '\\') {
			out[n++] = (unsigned char)*s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'r': out[n++] = '\r'; s++; break;
		case 'n': out[n++] = '\n'; s++; break;
		case 't': out[n++] = '\t'; s++; break;
		case 'b': out[n++] = '\b'; s++; break;
		case 'f': out[n++] = '\f'; s++; break;
		case 'u': {
			int v = 0;

			for (int i = 1; i <= 4; i++) {
				assert_true(hexval(s[i]) >= 0);
				v = v * 16 + hexval(s[i]);
			}
			assert_true(v < 0x80);
			out[n++] = (unsigned char)v;
			s += 5;
			break;
		}
		default: out[n++] = (unsigned char)*s++; break;
		}
	}
	assert_int_equal(*s, '"');
	*p = s + 1;
	return n;
}

/* The one file of the user's directory: NAME.cast, nothing else left. */
static char *the_cast(const char *user, struct stat *st)
{
	char path[256], *name = NULL;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/rec/%s", dir, user);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (name)
			fail_msg("more than one file in %s: %s and %s", path, name, de->d_name);
		name = strdup(de->d_name);
	}
	closedir(d);
	assert_non_null(name);
	assert_true(strlen(name) > 5 && !strcmp(name + strlen(name) - 5, ".cast"));
	snprintf(path, sizeof(path), "%s/rec/%s/%s", dir, user, name);
	free(name);
	assert_int_equal(stat(path, st), 0);
	assert_int_equal(st->st_mode & 0777, 0600);
	return strdup(path);
}

/* Close the recording and check its file against what was written: a
 * valid header, event times that never go back, and the events' bytes are
 * the input with only the marked runs missing, starting with the first
 * byte written (and ending with the last one when tail_kept).  Returns how
 * many markers. */
static int check_cast(struct rig *g, const char *user, unsigned long long max,
		      bool tail_kept)
{
	unsigned char *data = malloc(AUDIT_TEST_LINE), *ev;
	size_t pos = 0, nev, markers = 0;
	double t, last = 0;
	struct stat st;
	char *path, *line = malloc(AUDIT_TEST_LINE);
	FILE *f;
	int lineno = 0;
	bool last_marker = false;

	yg_gd_rec_close(g->rec);
	g->rec = NULL;
	assert_non_null(data);
	assert_non_null(line);
	path = the_cast(user, &st);
	if (max)
		assert_true((unsigned long long)st.st_size <= max);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, AUDIT_TEST_LINE, f));
	assert_non_null(strstr(line, "{\"version\":2,\"width\":120,\"height\":40,"));
	while (fgets(line, AUDIT_TEST_LINE, f)) {
		const char *p = line;

		lineno++;
		assert_int_equal(sscanf(line, "[%lf, \"o\", \"", &t), 1);
		assert_true(t >= last);
		last = t;
		p = strstr(line, "\"o\", \"");
		assert_non_null(p);
		p += 6;
		nev = unjson(&p, data);
		assert_string_equal(p, "]\n");
		ev = data;
		if (nev > strlen(MARK) && !memcmp(ev, MARK, strlen(MARK))) {
			char *end;
			unsigned long long n = strtoull((char *)ev + strlen(MARK), &end, 10);

			assert_true(n > 0);
			assert_memory_equal(end, MARK_END, strlen(MARK_END));
			assert_int_equal((size_t)(end - (char *)ev) + strlen(MARK_END), nev);
			if (lineno == 1)
				fail_msg("%s lost the start of the session: it begins with a marker",
					 path);
			pos += n;
			markers++;
			last_marker = true;
			continue;
		}
		last_marker = false;
		assert_true(pos + nev <= g->nin);
		if (memcmp(g->in + pos, ev, nev))
			fail_msg("event %d of %s is not the console's bytes at offset %zu", lineno,
				 path, pos);
		pos += nev;
	}
	assert_true(lineno > 0);
	assert_int_equal(pos, g->nin);	/* recorded + not recorded = all */
	if (tail_kept && last_marker)
		fail_msg("%s lost the end of the session", path);
	fclose(f);
	free(path);
	free(line);
	free(data);
	free(g->in);
	return (int)markers;
}

static void filler(struct rig *g, size_t total, size_t each)
{
	char buf[4096];

	assert_true(each < sizeof(buf));
	for (size_t i = 0; g->nin < total; i++) {
		int n = snprintf(buf, sizeof(buf), "line %06zu ", i);

		while ((size_t)n < each - 2)
			buf[n++] = (char)('a' + i % 26);
		buf[n++] = '\r';
		buf[n++] = '\n';
		rig_write(g, buf, (size_t)n);
	}
}

static const char login[] = "Debian GNU/Linux 12 box ttyS0\r\nalice@box:~$ sudo -l\r\n";

static void test_over_cap_keeps_start(void **state)
{
	const unsigned long long max = 64 << 10;
	struct rig g;
	struct stat st;
	char *path;

	rig_open(&g, "alice", max);
	rig_write(&g, login, strlen(login));
	filler(&g, 1 << 20, 500);
	rig_write(&g, "LAST-OUTPUT\r\n", 13);
	assert_int_equal(check_cast(&g, "alice", max, true), 1);
	path = the_cast("alice", &st);
	/* the cap is used, not wasted: head and tail are both there */
	assert_true((unsigned long long)st.st_size > max / 2);
	free(path);
}

/* Control bytes take six bytes each in the file: the cap still holds. */
static void test_over_cap_binary(void **state)
{
	const unsigned long long max = 100 << 10;
	unsigned char buf[3000];
	struct rig g;

	memset(buf, 1, sizeof(buf));
	rig_open(&g, "bob", max);
	rig_write(&g, login, strlen(login));
	for (int i = 0; i < 200; i++)
		rig_write(&g, buf, sizeof(buf));
	rig_write(&g, "LAST-OUTPUT\r\n", 13);
	assert_int_equal(check_cast(&g, "bob", max, true), 1);
}

static void test_under_cap(void **state)
{
	struct rig g;

	rig_open(&g, "carol", 1 << 20);
	rig_write(&g, login, strlen(login));
	filler(&g, 200 << 10, 300);
	assert_int_equal(check_cast(&g, "carol", 1 << 20, true), 0);
}

static void test_no_cap(void **state)
{
	struct rig g;

	rig_open(&g, "dave", 0);
	filler(&g, 3 << 20, 1000);
	assert_int_equal(check_cast(&g, "dave", 0, true), 0);
}

/* Below one event per tail segment: the start is kept, the rest counted. */
static void test_tiny_cap(void **state)
{
	struct rig g;

	rig_open(&g, "erin", 4096);
	rig_write(&g, login, strlen(login));
	filler(&g, 64 << 10, 1000);
	assert_int_equal(check_cast(&g, "erin", 4096, false), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_over_cap_keeps_start),
		cmocka_unit_test(test_over_cap_binary),
		cmocka_unit_test(test_under_cap),
		cmocka_unit_test(test_no_cap),
		cmocka_unit_test(test_tiny_cap),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
