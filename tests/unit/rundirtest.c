/* SPDX-License-Identifier: MIT */
/* rundirtest.c: yg_rundir, the broker's run_dir paths and records. Golden
 * records in tests/data/rundir/: *.good parse and format back byte for byte;
 * *.bad are refused with the code and the words the table below names (a
 * record of another version says so). Then the files: atomic replace, no
 * symlinks, no FIFOs, bounded reads, the end request's trust rule. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "yg_rundir.h"

static char tmpdir[] = "/tmp/yg-rundirtest-XXXXXX";

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

/* The bytes of tests/data/rundir/name (malloc'd, NUL-terminated). */
static char *load(const char *name, size_t *len)
{
	char path[1024];
	const char *top = getenv("top_srcdir");
	char *buf = malloc(8192);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/tests/data/rundir/%s", top ? top : ".", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("cannot open %s (run from the build dir or set top_srcdir)", path);
	assert_non_null(buf);
	n = read(fd, buf, 8191);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static const char *tmp_path(const char *name)
{
	static char p[600];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

static void put(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* ---- golden records ---- */

static void test_lock_good(void **state)
{
	struct yg_rundir_lock l;
	char out[YG_RUNDIR_LOCK_MAX];
	size_t len;
	char *buf = load("lock-session.good", &len);
	yg_err err;

	assert_int_equal(yg_rundir_lock_parse(buf, len, &l, &err), 0);
	assert_int_equal(l.version, 1);
	assert_int_equal(l.since, 1700000000LL);
	assert_string_equal(l.holder, "0123456789abcdef");
	assert_int_equal(l.pid, 4242);
	assert_int_equal(l.revert_ms, -1);
	assert_int_equal(yg_rundir_lock_format(&l, out, sizeof(out)), (int)len);
	assert_memory_equal(out, buf, len);
	free(buf);

	buf = load("lock-admin.good", &len);
	assert_int_equal(yg_rundir_lock_parse(buf, len, &l, &err), 0);
	assert_string_equal(l.holder, YG_RUNDIR_ADMIN);
	assert_int_equal(l.pid, 77);
	assert_int_equal(l.revert_ms, 5321);
	assert_int_equal(yg_rundir_lock_format(&l, out, sizeof(out)), (int)len);
	assert_memory_equal(out, buf, len);
	free(buf);
}

static void test_session_good(void **state)
{
	static const char *const names[] = { "session-v2.good", "session-nolimits.good" };
	struct yg_rundir_session s;
	char out[YG_RUNDIR_SESSION_MAX];
	size_t len;
	yg_err err;
	char *buf = load("session.good", &len);

	assert_int_equal(yg_rundir_session_parse(buf, len, &s, &err), 0);
	assert_int_equal(s.version, 1);
	assert_string_equal(s.box, "yolo-alice");
	assert_string_equal(s.user, "alice");
	assert_int_equal(s.uid, 1001);
	assert_string_equal(s.from, "192.0.2.7");
	assert_int_equal(s.pid, 4242);
	assert_int_equal(s.started, 1700000000LL);
	assert_int_equal(s.last_active, 1700000100LL);
	assert_int_equal(s.idle_end, 1700001900LL);
	assert_int_equal(s.max_end, 1700028800LL);
	assert_string_equal(s.record, "20231114-221320-0123456789abcdef.cast");
	assert_string_equal(s.host, "local");	/* version 1: before hosts */
	/* written back as version 2, with its host */
	assert_true(yg_rundir_session_format(&s, out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "yg-session 2\nbox=yolo-alice\n"));
	assert_non_null(strstr(out, "record=20231114-221320-0123456789abcdef.cast\nhost=local\n"));
	free(buf);
	buf = load("session-v2.good", &len);
	assert_int_equal(yg_rundir_session_parse(buf, len, &s, &err), 0);
	assert_int_equal(s.version, 2);
	assert_string_equal(s.box, "yolo-alice");
	assert_string_equal(s.host, "hv2");
	free(buf);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		buf = load(names[i], &len);
		assert_int_equal(yg_rundir_session_parse(buf, len, &s, &err), 0);
		assert_int_equal(yg_rundir_session_format(&s, out, sizeof(out)), (int)len);
		assert_memory_equal(out, buf, len);
		free(buf);
	}
}

static void test_end_good(void **state)
{
	static const struct { const char *file, *msg; } cases[] = {
		{ "end.good", "maintenance at noon" },
		{ "end-empty.good", "" },
		{ "end-ctrl.good", "line one line two [31m end" },	/* no control byte left */
	};
	char msg[YG_TEXT_MAX];
	size_t len;
	yg_err err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *buf = load(cases[i].file, &len);

		assert_int_equal(yg_rundir_end_parse(buf, len, msg, sizeof(msg), &err), 0);
		assert_string_equal(msg, cases[i].msg);
		/* cut to the buffer */
		assert_int_equal(yg_rundir_end_parse(buf, len, msg, 5, &err), 0);
		assert_true(strlen(msg) <= 4);
		free(buf);
	}
}

enum kind { LOCK, SESSION, END };

static const struct bad {
	const char *file;
	enum kind kind;
	int code;
	const char *words;	/* in err.msg */
} bad[] = {
	{ "lock-version2.bad", LOCK, -EPROTO, "of version 2, and this yolo-gate reads version 1" },
	{ "lock-legacy.bad", LOCK, -EINVAL, "does not start with \"yg-lock 1\"" },
	{ "lock-empty.bad", LOCK, -ENODATA, "empty" },
	{ "lock-missing.bad", LOCK, -EINVAL, "3 fields after its version instead of 4" },
	{ "lock-extra.bad", LOCK, -EINVAL, "more than 4 fields" },
	{ "lock-holder.bad", LOCK, -EINVAL, "holder field" },
	{ "lock-holder-upper.bad", LOCK, -EINVAL, "holder field" },
	{ "lock-pid0.bad", LOCK, -EINVAL, "pid field" },
	{ "lock-pidneg.bad", LOCK, -EINVAL, "pid field" },
	{ "lock-pidbig.bad", LOCK, -EINVAL, "pid field" },
	{ "lock-zero.bad", LOCK, -EINVAL, "since field" },
	{ "lock-overflow.bad", LOCK, -EINVAL, "since field" },
	{ "lock-ms.bad", LOCK, -EINVAL, "revert_ms field" },
	{ "lock-nonl.bad", LOCK, -EINVAL, "one line ending with a newline" },
	{ "lock-twolines.bad", LOCK, -EINVAL, "one line ending with a newline" },
	{ "lock-space.bad", LOCK, -EINVAL, "fields" },
	{ "lock-nul.bad", LOCK, -EINVAL, "NUL" },
	{ "lock-long.bad", LOCK, -EFBIG, "longer than 128 bytes" },
	{ "lock-garbage.bad", LOCK, -EINVAL, "lock record does not start with" },
	{ "lock-noversion.bad", LOCK, -EINVAL, "version of the lock record is not a number" },
	{ "session-version3.bad", SESSION, -EPROTO, "of version 3, and this yolo-gate reads versions 1 to 2" },
	{ "session-v2-nohost.bad", SESSION, -EINVAL, "ends before line 12 (host=)" },
	{ "session-v2-athost.bad", SESSION, -EINVAL, "line 12 of the session record: host= is not" },
	{ "session-legacy.bad", SESSION, -EINVAL, "does not start with \"yg-session 2\"" },
	{ "session-empty.bad", SESSION, -ENODATA, "empty" },
	{ "session-missing.bad", SESSION, -EINVAL, "ends before line 11 (record=)" },
	{ "session-order.bad", SESSION, -EINVAL, "line 3 of the session record is not user=" },
	{ "session-unknown.bad", SESSION, -EINVAL, "more than 11 lines" },
	{ "session-dup.bad", SESSION, -EINVAL, "line 7 of the session record is not started=" },
	{ "session-longbox.bad", SESSION, -EINVAL, "line 2 of the session record: box= is not" },
	{ "session-longrecord.bad", SESSION, -EINVAL, "line 11 of the session record: record=" },
	{ "session-slash.bad", SESSION, -EINVAL, "box= is not a plain file name" },
	{ "session-dotdot.bad", SESSION, -EINVAL, "box= is not a plain file name" },
	{ "session-nul.bad", SESSION, -EINVAL, "NUL" },
	{ "session-ctrl.bad", SESSION, -EINVAL, "line 5 of the session record: from=" },
	{ "session-crlf.bad", SESSION, -EINVAL, "session record is malformed after its version" },
	{ "session-novalue.bad", SESSION, -EINVAL, "line 3 of the session record: user=" },
	{ "session-negative.bad", SESSION, -EINVAL, "started= is not a time in seconds" },
	{ "session-uid.bad", SESSION, -EINVAL, "uid= is not a user id" },
	{ "session-pid0.bad", SESSION, -EINVAL, "pid= is not a process id" },
	{ "session-spaces.bad", SESSION, -EINVAL, "pid= is not a process id" },
	{ "session-nonl.bad", SESSION, -EINVAL, "line 11 of the session record does not end" },
	{ "session-huge.bad", SESSION, -EFBIG, "longer than 1024 bytes" },
	{ "session-garbage.bad", SESSION, -EINVAL, "session record does not start with" },
	{ "end-version2.bad", END, -EPROTO, "end request is of version 2" },
	{ "end-legacy.bad", END, -EINVAL, "does not start with \"yg-end 1\"" },
	{ "end-empty.bad", END, -ENODATA, "empty" },
};

static void test_bad(void **state)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct yg_rundir_session s;
		struct yg_rundir_lock l;
		char msg[64] = "x";
		yg_err err = { 0 };
		size_t len;
		char *buf = load(bad[i].file, &len);
		int r;

		if (bad[i].kind == LOCK)
			r = yg_rundir_lock_parse(buf, len, &l, &err);
		else if (bad[i].kind == SESSION)
			r = yg_rundir_session_parse(buf, len, &s, &err);
		else
			r = yg_rundir_end_parse(buf, len, msg, sizeof(msg), &err);
		if (r != bad[i].code || !strstr(err.msg, bad[i].words))
			fail_msg("%s: got %d \"%s\", want %d with \"%s\"", bad[i].file, r, err.msg,
				 bad[i].code, bad[i].words);
		assert_int_equal(err.code, r);
		if (bad[i].kind == END)
			assert_string_equal(msg, "");
		free(buf);
	}
}

/* ---- formatting refuses what it could not read back ---- */

static void good_session(struct yg_rundir_session *s)
{
	memset(s, 0, sizeof(*s));
	s->version = YG_RUNDIR_SESSION_VERSION;
	snprintf(s->box, sizeof(s->box), "yolo-a");
	snprintf(s->host, sizeof(s->host), "local");
	snprintf(s->user, sizeof(s->user), "a");
	snprintf(s->from, sizeof(s->from), "-");
	snprintf(s->record, sizeof(s->record), "-");
	s->uid = 1000;
	s->pid = 99;
	s->started = 1;
}

static void test_format_refuses(void **state)
{
	struct yg_rundir_session s;
	struct yg_rundir_lock l = { .since = 1, .holder = "0123456789abcdef", .pid = 2,
				    .revert_ms = -1 };
	char buf[YG_RUNDIR_SESSION_MAX];

	good_session(&s);
	assert_true(yg_rundir_session_format(&s, buf, sizeof(buf)) > 0);
	assert_int_equal(yg_rundir_session_format(&s, buf, 40), -EOVERFLOW);
	snprintf(s.box, sizeof(s.box), "a/b");
	assert_int_equal(yg_rundir_session_format(&s, buf, sizeof(buf)), -EINVAL);
	good_session(&s);
	snprintf(s.user, sizeof(s.user), "a\nuid=0");	/* a line injected */
	assert_int_equal(yg_rundir_session_format(&s, buf, sizeof(buf)), -EINVAL);
	good_session(&s);
	s.user[0] = '\0';
	assert_int_equal(yg_rundir_session_format(&s, buf, sizeof(buf)), -EINVAL);
	good_session(&s);
	s.uid = (uid_t)-1;
	assert_int_equal(yg_rundir_session_format(&s, buf, sizeof(buf)), -EINVAL);
	good_session(&s);
	s.pid = 0;
	assert_int_equal(yg_rundir_session_format(&s, buf, sizeof(buf)), -EINVAL);
	good_session(&s);
	s.host[0] = '\0';	/* every record names its host */
	assert_int_equal(yg_rundir_session_format(&s, buf, sizeof(buf)), -EINVAL);
	good_session(&s);
	s.max_end = -5;
	assert_int_equal(yg_rundir_session_format(&s, buf, sizeof(buf)), -EINVAL);

	assert_true(yg_rundir_lock_format(&l, buf, sizeof(buf)) > 0);
	assert_int_equal(yg_rundir_lock_format(&l, buf, 10), -EOVERFLOW);
	snprintf(l.holder, sizeof(l.holder), "someone");
	assert_int_equal(yg_rundir_lock_format(&l, buf, sizeof(buf)), -EINVAL);
	snprintf(l.holder, sizeof(l.holder), YG_RUNDIR_ADMIN);
	l.pid = -1;
	assert_int_equal(yg_rundir_lock_format(&l, buf, sizeof(buf)), -EINVAL);
	l.pid = 1;
	l.revert_ms = -2;
	assert_int_equal(yg_rundir_lock_format(&l, buf, sizeof(buf)), -EINVAL);
}

static void test_text_set(void **state)
{
	char b[8];

	yg_rundir_text_set(b, sizeof(b), "a\nb\x1b" "c");
	assert_string_equal(b, "a?b?c");
	yg_rundir_text_set(b, sizeof(b), "");
	assert_string_equal(b, "-");
	yg_rundir_text_set(b, sizeof(b), NULL);
	assert_string_equal(b, "-");
	yg_rundir_text_set(b, sizeof(b), "0123456789");
	assert_string_equal(b, "0123456");
}

/* ---- session ids, paths, names ---- */

static void test_session_id(void **state)
{
	char a[YG_SESSION_ID_LEN + 1], b[YG_SESSION_ID_LEN + 1];

	assert_int_equal(yg_session_id_new(a), 0);
	assert_int_equal(yg_session_id_new(b), 0);
	assert_int_equal(strlen(a), YG_SESSION_ID_LEN);
	assert_true(yg_session_id_valid(a));
	assert_string_not_equal(a, b);
	assert_true(yg_session_id_valid("0123456789abcdef"));
	assert_false(yg_session_id_valid("0123456789ABCDEF"));
	assert_false(yg_session_id_valid("0123456789abcde"));
	assert_false(yg_session_id_valid("0123456789abcdef0"));
	assert_false(yg_session_id_valid("../../etc/passwd"));
	assert_false(yg_session_id_valid(""));
	assert_false(yg_session_id_valid(NULL));
}

static void test_paths(void **state)
{
	char buf[PATH_MAX], longdir[200];
	yg_err err;

	assert_int_equal(yg_rundir_boxes_dir(buf, sizeof(buf), "/run/yg", &err), 0);
	assert_string_equal(buf, "/run/yg/boxes");
	assert_int_equal(yg_rundir_sessions_dir(buf, sizeof(buf), "/run/yg", &err), 0);
	assert_string_equal(buf, "/run/yg/sessions");
	assert_int_equal(yg_rundir_lock_name(buf, sizeof(buf), "yolo-a", &err), 0);
	assert_string_equal(buf, "yolo-a.lock");
	assert_int_equal(yg_rundir_lock_path(buf, sizeof(buf), "/run/yg", "yolo-a", &err), 0);
	assert_string_equal(buf, "/run/yg/boxes/yolo-a.lock");
	assert_int_equal(yg_rundir_sock_path(buf, sizeof(buf), "/run/yg", "yolo-a", &err), 0);
	assert_string_equal(buf, "/run/yg/boxes/yolo-a.sock");
	assert_int_equal(yg_rundir_session_path(buf, sizeof(buf), "/run/yg", "0123456789abcdef",
						&err), 0);
	assert_string_equal(buf, "/run/yg/sessions/0123456789abcdef");
	assert_int_equal(yg_rundir_end_path(buf, sizeof(buf), "/run/yg", "0123456789abcdef",
					    &err), 0);
	assert_string_equal(buf, "/run/yg/sessions/0123456789abcdef.end");

	/* too long: an error that says what to do, never a cut path */
	memset(longdir, 'x', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	assert_int_equal(yg_rundir_sock_path(buf, 108, longdir, "yolo-a", &err), -ENAMETOOLONG);
	assert_non_null(strstr(err.msg, "rendezvous socket path of box yolo-a"));
	assert_non_null(strstr(err.msg, "too long; use a shorter [gate] run_dir"));
	assert_int_equal(yg_rundir_lock_path(buf, 64, longdir, "yolo-a", &err), -ENAMETOOLONG);
	assert_non_null(strstr(err.msg, "the lock path of box yolo-a under /xxx"));
	assert_int_equal(yg_rundir_boxes_dir(buf, 32, longdir, &err), -ENAMETOOLONG);
	assert_int_equal(yg_rundir_session_path(buf, 32, longdir, "0123456789abcdef", &err),
			 -ENAMETOOLONG);
	assert_int_equal(yg_rundir_end_path(buf, 32, longdir, "0123456789abcdef", NULL),
			 -ENAMETOOLONG);

	/* names that are not plain file names */
	assert_int_equal(yg_rundir_lock_path(buf, sizeof(buf), "/r", "a/b", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "box name 'a/b'"));
	assert_int_equal(yg_rundir_lock_path(buf, sizeof(buf), "/r", "..", &err), -EINVAL);
	assert_int_equal(yg_rundir_sock_path(buf, sizeof(buf), "/r", "", &err), -EINVAL);
	assert_int_equal(yg_rundir_lock_name(buf, sizeof(buf), "a\nb", &err), -EINVAL);
	assert_int_equal(yg_rundir_session_path(buf, sizeof(buf), "/r", "../x", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a session id"));
	assert_int_equal(yg_rundir_end_path(buf, sizeof(buf), "/r", "0123", NULL), -EINVAL);
}

static void test_box_key(void **state)
{
	char key[YG_RUNDIR_KEY_MAX], host[YG_RUNDIR_NAME_MAX + 1], dom[YG_RUNDIR_NAME_MAX + 1];
	char longname[YG_RUNDIR_NAME_MAX + 1];
	yg_err err;

	/* a box of the gate's own libvirt keeps its name: run_dirs of older brokers */
	assert_int_equal(yg_rundir_box_key(key, sizeof(key), NULL, "yolo-a", &err), 0);
	assert_string_equal(key, "yolo-a");
	assert_int_equal(yg_rundir_box_key(key, sizeof(key), "local", "yolo-a", &err), 0);
	assert_string_equal(key, "yolo-a");
	assert_int_equal(yg_rundir_box_key(key, sizeof(key), "", "yolo-a", &err), 0);
	assert_string_equal(key, "yolo-a");
	/* two hosts, one domain name: two locks */
	assert_int_equal(yg_rundir_box_key(key, sizeof(key), "hv2", "yolo-a", &err), 0);
	assert_string_equal(key, "yolo-a@hv2");
	assert_int_equal(yg_rundir_lock_name(host, sizeof(host), key, &err), 0);
	assert_string_equal(host, "yolo-a@hv2.lock");
	/* the longest of both still names a file */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(yg_rundir_box_key(key, sizeof(key), longname, longname, &err), 0);
	assert_int_equal(strlen(key), 2 * YG_RUNDIR_NAME_MAX + 1);
	assert_int_equal(yg_rundir_lock_name(dom, 0, key, &err), -ENAMETOOLONG);
	/* no '@' or '/' in either part; no empty domain */
	assert_int_equal(yg_rundir_box_key(key, sizeof(key), "hv2", "a@b", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "without '/' or '@'"));
	assert_int_equal(yg_rundir_box_key(key, sizeof(key), "h@v", "a", &err), -EINVAL);
	assert_int_equal(yg_rundir_box_key(key, sizeof(key), "h/v", "a", &err), -EINVAL);
	assert_int_equal(yg_rundir_box_key(key, sizeof(key), "hv2", "", &err), -EINVAL);
	assert_int_equal(yg_rundir_box_key(key, 5, "hv2", "yolo-a", &err), -ENAMETOOLONG);

	assert_int_equal(yg_rundir_box_key_split("yolo-a@hv2", host, sizeof(host), dom,
						 sizeof(dom)), 0);
	assert_string_equal(host, "hv2");
	assert_string_equal(dom, "yolo-a");
	assert_int_equal(yg_rundir_box_key_split("yolo-a", host, sizeof(host), dom,
						 sizeof(dom)), 0);
	assert_string_equal(host, "local");
	assert_string_equal(dom, "yolo-a");
	assert_int_equal(yg_rundir_box_key_split("@hv2", host, sizeof(host), dom, sizeof(dom)),
			 -EINVAL);
	assert_int_equal(yg_rundir_box_key_split("a@", host, sizeof(host), dom, sizeof(dom)),
			 -EINVAL);
	assert_int_equal(yg_rundir_box_key_split("a@b@c", host, sizeof(host), dom, sizeof(dom)),
			 -EINVAL);
	assert_int_equal(yg_rundir_box_key_split("abcdef", host, sizeof(host), dom, 3), -EINVAL);
}

static void test_host_record(void **state)
{
	static const char *const bad_rec[] = {
		"", "yg-host 1 \n", "yg-host 1 0\n", "yg-host 1 012\n", "yg-host 1 12",
		"yg-host 1 12 \n", "yg-host 2 12\n", "yg-host 1 -5\n", "yg-host 1 1\n2\n",
		"yg-host 1 99999999999999999999\n",
	};
	char run[600], dir[700], buf[YG_RUNDIR_HOST_MAX + 1], garbled[720];
	long long since = 0;
	yg_err err;

	/* the record itself, canonical */
	assert_int_equal(yg_rundir_host_format(1700000000, buf, sizeof(buf)), 21);
	assert_string_equal(buf, "yg-host 1 1700000000\n");
	assert_int_equal(yg_rundir_host_parse(buf, strlen(buf), &since, &err), 0);
	assert_int_equal(since, 1700000000LL);
	assert_int_equal(yg_rundir_host_format(0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(yg_rundir_host_format(5, buf, 4), -EOVERFLOW);
	for (size_t i = 0; i < sizeof(bad_rec) / sizeof(bad_rec[0]); i++) {
		err.msg[0] = '\0';
		assert_true(yg_rundir_host_parse(bad_rec[i], strlen(bad_rec[i]), &since, &err) < 0);
		assert_true(err.msg[0] != '\0');
		assert_int_equal(since, 0);
	}

	/* down, down again (the first time stays), up, up again */
	snprintf(run, sizeof(run), "%s/hostrun", tmpdir);
	assert_int_equal(mkdir(run, 0700), 0);
	assert_int_equal(yg_rundir_hosts_dir(dir, sizeof(dir), run, &err), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(yg_rundir_host_since(run, "hv2", &since, &err), -ENOENT);
	assert_int_equal(yg_rundir_host_down(run, "hv2", 1000, &since, &err), 0);
	assert_int_equal(since, 1000);
	assert_int_equal(yg_rundir_host_down(run, "hv2", 2000, &since, &err), 0);
	assert_int_equal(since, 1000);
	assert_int_equal(yg_rundir_host_since(run, "hv2", &since, &err), 0);
	assert_int_equal(since, 1000);
	assert_int_equal(yg_rundir_host_up(run, "hv2"), 1);
	assert_int_equal(yg_rundir_host_up(run, "hv2"), 0);
	assert_int_equal(yg_rundir_host_since(run, "hv2", &since, &err), -ENOENT);
	/* a garbled record is replaced by the next failure */
	snprintf(garbled, sizeof(garbled), "%s/hv3", dir);
	{
		FILE *f = fopen(garbled, "w");

		assert_non_null(f);
		fputs("garbage", f);
		fclose(f);
	}
	assert_true(yg_rundir_host_since(run, "hv3", &since, &err) < 0);
	assert_non_null(strstr(err.msg, "hosts/hv3"));
	assert_int_equal(yg_rundir_host_down(run, "hv3", 3000, &since, &err), 0);
	assert_int_equal(since, 3000);
	/* never the gate's own host, never a name that is not one */
	assert_int_equal(yg_rundir_host_down(run, "local", 1, &since, &err), -EINVAL);
	assert_int_equal(yg_rundir_host_down(run, "../x", 1, &since, &err), -EINVAL);
	assert_int_equal(yg_rundir_host_down(run, "a@b", 1, &since, &err), -EINVAL);
	assert_int_equal(yg_rundir_host_up(run, ".."), -EINVAL);
}

static void test_entries(void **state)
{
	assert_int_equal(yg_rundir_box_entry("yolo-a.lock"), YG_RUNDIR_LOCK);
	assert_int_equal(yg_rundir_box_entry("yolo-a.sock"), YG_RUNDIR_SOCK);
	assert_int_equal(yg_rundir_box_entry(".lock"), YG_RUNDIR_OTHER);
	assert_int_equal(yg_rundir_box_entry("notes.txt"), YG_RUNDIR_OTHER);
	assert_int_equal(yg_rundir_session_entry("0123456789abcdef"), YG_RUNDIR_SESSION);
	assert_int_equal(yg_rundir_session_entry("0123456789abcdef.tmp"),
			 YG_RUNDIR_SESSION_TMP);
	assert_int_equal(yg_rundir_session_entry("0123456789abcdef.end"), YG_RUNDIR_END);
	assert_int_equal(yg_rundir_session_entry("0123456789abcdef.old"), YG_RUNDIR_OTHER);
	assert_int_equal(yg_rundir_session_entry("0123456789abcdef0"), YG_RUNDIR_OTHER);
	assert_int_equal(yg_rundir_session_entry("deadbeef"), YG_RUNDIR_OTHER);
	assert_int_equal(yg_rundir_session_entry(""), YG_RUNDIR_OTHER);
}

/* ---- files ---- */

static void test_lock_file(void **state)
{
	struct yg_rundir_lock l = { .since = 1700000000, .holder = YG_RUNDIR_ADMIN,
				    .pid = 12, .revert_ms = 123456789 }, got;
	char buf[128], big[YG_RUNDIR_LOCK_MAX + 1];
	yg_err err;
	int fd = open(tmp_path("box.lock"), O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(yg_rundir_lock_read(fd, &got, &err), -ENODATA);
	assert_int_equal(yg_rundir_lock_write(fd, &l), 0);
	snprintf(l.holder, sizeof(l.holder), "0123456789abcdef");
	l.revert_ms = -1;
	assert_int_equal(yg_rundir_lock_write(fd, &l), 0);	/* shorter: truncated */
	assert_int_equal(yg_rundir_lock_read(fd, &got, &err), 0);
	assert_string_equal(got.holder, "0123456789abcdef");
	assert_int_equal(got.revert_ms, -1);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), 43);
	assert_memory_equal(buf, "yg-lock 1 1700000000 0123456789abcdef 12 -\n", 43);
	/* a longer file than any record is refused, not cut */
	memset(big, 'x', sizeof(big));
	assert_int_equal(pwrite(fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	assert_int_equal(yg_rundir_lock_read(fd, &got, &err), -EFBIG);
	close(fd);
}

static void test_session_file(void **state)
{
	struct yg_rundir_session s, got;
	struct stat st;
	char big[YG_RUNDIR_SESSION_MAX + 100], target[600];
	yg_err err;
	int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(dfd >= 0);
	good_session(&s);
	s.idle_end = 1700000500;
	assert_int_equal(yg_rundir_session_write(dfd, "0123456789abcdef", &s, &err), 0);
	assert_int_equal(fstatat(dfd, "0123456789abcdef", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(fstatat(dfd, "0123456789abcdef.tmp", &st, 0), -1);	/* renamed */
	assert_int_equal(yg_rundir_session_read(dfd, "0123456789abcdef", &got, &err), 0);
	assert_memory_equal(&got, &s, sizeof(s));
	/* and by path */
	assert_int_equal(yg_rundir_session_read(AT_FDCWD, tmp_path("0123456789abcdef"), &got,
						&err), 0);
	assert_int_equal(got.idle_end, 1700000500LL);

	/* a field that would break the record is not written */
	snprintf(s.from, sizeof(s.from), "x\ny");
	assert_int_equal(yg_rundir_session_write(dfd, "0123456789abcdef", &s, &err), -EINVAL);
	assert_int_equal(yg_rundir_session_read(dfd, "0123456789abcdef", &got, &err), 0);

	/* never through a symlink, in either direction */
	assert_int_equal(symlink("/etc/passwd", tmp_path("1111111111111111.tmp")), 0);
	good_session(&s);
	assert_int_equal(yg_rundir_session_write(dfd, "1111111111111111", &s, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "cannot write 1111111111111111"));
	snprintf(target, sizeof(target), "%s", tmp_path("0123456789abcdef"));
	assert_int_equal(symlink(target, tmp_path("2222222222222222")), 0);
	assert_int_equal(yg_rundir_session_read(dfd, "2222222222222222", &got, &err), -ELOOP);

	/* a FIFO is not opened for a blocking read, a directory not read */
	assert_int_equal(mkfifo(tmp_path("3333333333333333"), 0600), 0);
	assert_int_equal(yg_rundir_session_read(dfd, "3333333333333333", &got, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_int_equal(mkdir(tmp_path("4444444444444444"), 0700), 0);
	assert_int_equal(yg_rundir_session_read(dfd, "4444444444444444", &got, &err), -EINVAL);

	/* bounded: a huge file is refused without reading it all */
	memset(big, 'x', sizeof(big));
	put(tmp_path("5555555555555555"), big, sizeof(big));
	assert_int_equal(yg_rundir_session_read(dfd, "5555555555555555", &got, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "5555555555555555: the session record is longer"));
	assert_string_equal(got.box, "");	/* nothing half-parsed */
	assert_int_equal(yg_rundir_session_read(dfd, "6666666666666666", &got, &err), -ENOENT);
	close(dfd);
}

static void test_end_file(void **state)
{
	char path[600], msg[YG_TEXT_MAX], longmsg[YG_RUNDIR_END_MAX + 2];
	struct stat st;
	yg_err err;

	snprintf(path, sizeof(path), "%s", tmp_path("0123456789abcdef.end"));
	assert_int_equal(yg_rundir_end_write(path, "back at\nnoon", &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(yg_rundir_end_write(path, "maintenance", &err), 0);	/* replaced */
	assert_int_equal(yg_rundir_end_take(path, geteuid(), msg, sizeof(msg), &err), 0);
	assert_string_equal(msg, "maintenance");
	assert_int_equal(stat(path, &st), -1);	/* taken: removed */
	assert_int_equal(yg_rundir_end_take(path, geteuid(), msg, sizeof(msg), &err), -ENOENT);
	assert_string_equal(msg, "");

	assert_int_equal(yg_rundir_end_write(path, "back at\nnoon", &err), 0);
	assert_int_equal(yg_rundir_end_take(path, geteuid(), msg, sizeof(msg), &err), 0);
	assert_string_equal(msg, "back at noon");

	/* only root's or the trusted uid's file counts (and it is removed) */
	if (geteuid() != 0) {
		assert_int_equal(yg_rundir_end_write(path, "not yours", &err), 0);
		assert_int_equal(yg_rundir_end_take(path, geteuid() + 1, msg, sizeof(msg), &err),
				 -EPERM);
		assert_string_equal(msg, "");
		assert_int_equal(stat(path, &st), -1);
	}
	/* a symlink is neither followed for reading nor written through */
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(yg_rundir_end_take(path, geteuid(), msg, sizeof(msg), &err), -ELOOP);
	assert_string_equal(msg, "");
	assert_int_equal(lstat(path, &st), -1);
	/* another version: refused, and says so */
	put(path, "yg-end 7\nhello", 14);
	assert_int_equal(yg_rundir_end_take(path, geteuid(), msg, sizeof(msg), &err), -EPROTO);
	assert_non_null(strstr(err.msg, "0123456789abcdef.end: the end request is of version 7"));
	/* bounded */
	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	assert_int_equal(yg_rundir_end_write(path, longmsg, &err), -EMSGSIZE);
	assert_non_null(strstr(err.msg, "use at most 900"));
	longmsg[YG_RUNDIR_END_MAX] = '\0';
	assert_int_equal(yg_rundir_end_write(path, longmsg, &err), 0);
	assert_int_equal(yg_rundir_end_take(path, geteuid(), msg, sizeof(msg), &err), 0);
	assert_int_equal(strlen(msg), YG_RUNDIR_END_MAX);
	/* a directory that cannot be written: the message names the file */
	assert_int_equal(yg_rundir_end_write("/nonexistent-dir/x.end", "m", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cannot write /nonexistent-dir/x.end"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_good),
		cmocka_unit_test(test_session_good),
		cmocka_unit_test(test_end_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_format_refuses),
		cmocka_unit_test(test_text_set),
		cmocka_unit_test(test_session_id),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_box_key),
		cmocka_unit_test(test_host_record),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_lock_file),
		cmocka_unit_test(test_session_file),
		cmocka_unit_test(test_end_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
