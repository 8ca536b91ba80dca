/* SPDX-License-Identifier: MIT */
/* policyhosttest: unit tests of the libvirt hosts of the policy engine
 * (issue #17): [host:NAME] sections, the reserved host "local", the host
 * key at [defaults], [group:], [user:] and [box:] scope, and every load
 * error they can cause, asserted word for word.  Each test writes a fresh
 * config dir with safe modes under /tmp. */
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

#include "yg_policy.h"

struct conf {
	char *dir;
};

static void xwrite(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);
}

/* A config dir with gate.conf (unless NULL) and policy.d/lab.conf (unless
 * NULL) and, when given, policy.d/zz.conf. */
static char *mkconf(const char *gate, const char *lab, const char *zz)
{
	char *t = strdup("/tmp/ygpolicyhost.XXXXXX"), *p;

	assert_non_null(t);
	assert_non_null(mkdtemp(t));
	assert_int_equal(chmod(t, 0755), 0);
	assert_true(asprintf(&p, "%s/policy.d", t) > 0);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(chmod(p, 0755), 0);
	free(p);
	if (gate) {
		assert_true(asprintf(&p, "%s/gate.conf", t) > 0);
		xwrite(p, gate);
		free(p);
	}
	if (lab) {
		assert_true(asprintf(&p, "%s/policy.d/lab.conf", t) > 0);
		xwrite(p, lab);
		free(p);
	}
	if (zz) {
		assert_true(asprintf(&p, "%s/policy.d/zz.conf", t) > 0);
		xwrite(p, zz);
		free(p);
	}
	return t;
}

static void rmconf(char *t)
{
	char *cmd;

	assert_true(asprintf(&cmd, "rm -rf '%s'", t) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(t);
}

static yg_policy *load_ok(const char *dir)
{
	yg_diags d = { 0 };
	yg_policy *pol = NULL;
	int rc = yg_policy_load(dir, &pol, &d);

	if (rc != 0 || d.n)
		yg_diags_print(&d, stderr);
	assert_int_equal(rc, 0);
	assert_int_equal(d.n, 0);
	assert_non_null(pol);
	yg_diags_free(&d);
	return pol;
}

/* Load dir, expect -EINVAL, return every diag as printed, with dir shown
 * as DIR. */
static char *load_bad(const char *dir)
{
	yg_diags d = { 0 };
	yg_policy *pol = NULL;
	char *text = NULL, *out = NULL;
	size_t n = 0, dl = strlen(dir);
	FILE *f = open_memstream(&text, &n);

	assert_int_equal(yg_policy_load(dir, &pol, &d), -EINVAL);
	assert_null(pol);
	yg_diags_print(&d, f);
	fclose(f);
	f = open_memstream(&out, &n);
	for (const char *s = text; *s;) {
		if (!strncmp(s, dir, dl)) {
			fputs("DIR", f);
			s += dl;
		} else {
			fputc(*s++, f);
		}
	}
	fclose(f);
	free(text);
	yg_diags_free(&d);
	return out;
}

static void expect_bad(const char *gate, const char *lab, const char *want)
{
	char *dir = mkconf(gate, lab, NULL), *got = load_bad(dir);

	assert_string_equal(got, want);
	free(got);
	rmconf(dir);
}

static const struct yg_setting *setting(const yg_user_policy *up,
					const char *key)
{
	for (size_t i = 0; i < up->nsettings; i++)
		if (!strcmp(up->settings[i].key, key))
			return &up->settings[i];
	return NULL;
}

/* The user's host and the origin of its value (DIR for the dir). */
static void expect_host(const yg_policy *pol, const char *dir,
			const char *user, const char *const *groups,
			size_t ngroups, const char *host, const char *origin)
{
	yg_user_policy up;
	yg_diags d = { 0 };
	const struct yg_setting *st;
	char *want;

	assert_int_equal(yg_policy_for_user(pol, user, 1000, groups, ngroups,
					    &up, &d), 0);
	assert_int_equal(d.n, 0);
	assert_true(up.gated);
	assert_non_null(up.host);
	assert_string_equal(up.host, host);
	st = setting(&up, "host");
	if (!st) {
		fail_msg("%s: no host in the settings", user);
		return;
	}
	assert_string_equal(st->value, host);
	if (!strncmp(origin, "DIR", 3))
		assert_true(asprintf(&want, "%s%s", dir, origin + 3) > 0);
	else
		want = strdup(origin);
	assert_string_equal(st->origin, want);
	free(want);
	/* host is the last per-user key: it does not reorder the others */
	assert_ptr_equal(st, &up.settings[up.nsettings - 1]);
	yg_user_policy_clear(&up);
	yg_diags_free(&d);
}

/* ---- the host table ------------------------------------------------- */

static void test_defaults(void **state)
{
	char *dir = mkconf(NULL, "[user:alice]\n", NULL);
	yg_policy *pol = load_ok(dir);
	const struct yg_host_conf *h;

	(void)state;
	assert_int_equal(yg_policy_nhosts(pol), 1);
	h = yg_policy_host_at(pol, 0);
	assert_non_null(h);
	assert_string_equal(h->name, "local");
	assert_string_equal(h->uri, "qemu:///system");
	assert_string_equal(h->images, YG_POLICY_DEFAULT_IMAGES);
	assert_string_equal(h->images, LOCALSTATEDIR "/lib/yolo-gate/boxes");
	assert_int_equal(h->capacity, 0);
	assert_true(h->memory_bytes == 0);
	assert_true(h->enabled);
	assert_string_equal(h->origin, "built-in ([gate] uri)");
	assert_null(yg_policy_host_at(pol, 1));
	assert_ptr_equal(yg_policy_host(pol, "local"), h);
	assert_null(yg_policy_host(pol, "hv2"));
	assert_null(yg_policy_host(pol, "Local"));
	expect_host(pol, dir, "alice", NULL, 0, "local", "built-in default");
	yg_policy_free(pol);
	rmconf(dir);

	/* local follows [gate] uri */
	dir = mkconf("[gate]\nuri = qemu:///session\n", NULL, NULL);
	pol = load_ok(dir);
	assert_int_equal(yg_policy_nhosts(pol), 1);
	assert_string_equal(yg_policy_host_at(pol, 0)->uri, "qemu:///session");
	assert_string_equal(yg_policy_host_at(pol, 0)->origin,
			    "built-in ([gate] uri)");
	yg_policy_free(pol);
	rmconf(dir);
}

static void test_two_hosts(void **state)
{
	static const char lab[] =
		"[host:hv2]\n"
		"uri = qemu+ssh://root@hv2/system\n"
		"images = /srv/boxes\n"
		"capacity = 20\n"
		"memory = 64G\n"
		"\n"
		"[host:hv1]\n"
		"uri = qemu+tls://hv1/system\n"
		"enabled = no\n";
	/* a later file adds to [host:hv1]: its origin stays the first header */
	static const char zz[] = "[host:hv1]\ncapacity = 100000\nmemory = 0\n";
	char *dir = mkconf("[gate]\nuri = qemu:///session\n", lab, zz), *o;
	yg_policy *pol = load_ok(dir);
	const struct yg_host_conf *h;

	(void)state;
	assert_int_equal(yg_policy_nhosts(pol), 3);
	assert_string_equal(yg_policy_host_at(pol, 0)->name, "local");
	assert_string_equal(yg_policy_host_at(pol, 0)->uri, "qemu:///session");

	h = yg_policy_host_at(pol, 1); /* order of appearance, not sorted */
	assert_string_equal(h->name, "hv2");
	assert_string_equal(h->uri, "qemu+ssh://root@hv2/system");
	assert_string_equal(h->images, "/srv/boxes");
	assert_int_equal(h->capacity, 20);
	assert_true(h->memory_bytes == 64ULL << 30);
	assert_true(h->enabled);
	assert_true(asprintf(&o, "%s/policy.d/lab.conf:1", dir) > 0);
	assert_string_equal(h->origin, o);
	free(o);
	assert_ptr_equal(yg_policy_host(pol, "hv2"), h);

	h = yg_policy_host_at(pol, 2);
	assert_string_equal(h->name, "hv1");
	assert_string_equal(h->uri, "qemu+tls://hv1/system");
	assert_string_equal(h->images, YG_POLICY_DEFAULT_IMAGES);
	assert_int_equal(h->capacity, 100000);
	assert_true(h->memory_bytes == 0);
	assert_false(h->enabled);
	assert_true(asprintf(&o, "%s/policy.d/lab.conf:7", dir) > 0);
	assert_string_equal(h->origin, o);
	free(o);
	assert_ptr_equal(yg_policy_host(pol, "hv1"), h);
	assert_null(yg_policy_host_at(pol, 3));

	yg_policy_free(pol);
	rmconf(dir);
}

/* ---- the host key --------------------------------------------------- */

static void test_host_key_scopes(void **state)
{
	static const char lab[] =
		"[host:hv1]\n"                          /* 1 */
		"uri = qemu+ssh://root@hv1/system\n"
		"[host:hv2]\n"
		"uri = qemu+ssh://root@hv2/system\n"
		"[defaults]\n"                          /* 5 */
		"host = hv1\n"
		"[group:lab]\n"
		"host = hv2\n"
		"[user:alice]\n"
		"[user:carol]\n"                        /* 10 */
		"host = local\n"
		"[box:shared]\n"
		"users = dave\n"
		"host = hv2\n"
		"[box:other]\n"                         /* 15 */
		"users = dave\n";
	static const char *const lab_g[] = { "users", "lab" };
	char *dir = mkconf(NULL, lab, NULL);
	yg_policy *pol = load_ok(dir);

	(void)state;
	expect_host(pol, dir, "alice", NULL, 0, "hv1",
		    "DIR/policy.d/lab.conf:6");
	expect_host(pol, dir, "bob", lab_g, 2, "hv2",
		    "DIR/policy.d/lab.conf:8");
	expect_host(pol, dir, "carol", lab_g, 2, "local",
		    "DIR/policy.d/lab.conf:11");
	/* dave is gated by [box:] only: his own host is still [defaults]' */
	expect_host(pol, dir, "dave", NULL, 0, "hv1",
		    "DIR/policy.d/lab.conf:6");
	assert_string_equal(yg_policy_box_host(pol, "shared"), "hv2");
	assert_string_equal(yg_policy_box_host(pol, "other"), "local");
	assert_null(yg_policy_box_host(pol, "nope"));
	assert_null(yg_policy_box_host(pol, NULL));
	yg_policy_free(pol);
	rmconf(dir);
}

static void test_group_conflict(void **state)
{
	static const char lab[] =
		"[host:hv1]\nuri = qemu+ssh://root@hv1/system\n"
		"[host:hv2]\nuri = qemu+ssh://root@hv2/system\n"
		"[group:lab]\nhost = hv1\n"     /* 6 */
		"[group:gpu]\nhost = hv2\n"     /* 8 */
		"[group:ops]\nhost = hv1\n"     /* 10 */
		"[user:frank]\nhost = hv2\n";  /* 12 */
	static const char *const conflict[] = { "erin", "lab", "gpu" };
	static const char *const agree[] = { "erin", "lab", "ops" };
	char *dir = mkconf(NULL, lab, NULL), *want;
	yg_policy *pol = load_ok(dir);
	yg_user_policy up;
	yg_diags d = { 0 };

	(void)state;
	assert_int_equal(yg_policy_for_user(pol, "erin", 1000, conflict, 3,
					    &up, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_true(asprintf(&want, "%s/policy.d/lab.conf", dir) > 0);
	assert_string_equal(d.v[0].file, want);
	free(want);
	assert_int_equal(d.v[0].line, 8);
	assert_true(asprintf(&want, "user erin is in groups 'lab' and 'gpu', "
			     "which set 'host' to different values ('hv1' at "
			     "%s/policy.d/lab.conf:6, 'hv2' here): make them "
			     "agree or set it in [user:erin]", dir) > 0);
	assert_string_equal(d.v[0].msg, want);
	free(want);
	yg_user_policy_clear(&up);
	yg_diags_free(&d);
	/* two groups that agree are fine; [user:] settles a conflict */
	expect_host(pol, dir, "erin", agree, 3, "hv1",
		    "DIR/policy.d/lab.conf:6");
	expect_host(pol, dir, "frank", conflict, 3, "hv2",
		    "DIR/policy.d/lab.conf:12");
	yg_policy_free(pol);
	rmconf(dir);
}

/* ---- load errors ---------------------------------------------------- */

static void test_unknown_host(void **state)
{
	(void)state;
	expect_bad(NULL,
		   "[host:hv2]\n"
		   "uri = qemu+ssh://root@hv2/system\n"
		   "\n"
		   "[defaults]\n"
		   "idle_timeout = 1h\n"
		   "\n"
		   "host = hv3\n"
		   "[user:alice]\n"
		   "host = faraway\n"
		   "[box:shared]\n"
		   "host = locl\n",
		   "DIR/policy.d/lab.conf:7: host \"hv3\" is not defined; "
		   "define [host:hv3] with a uri, or use one of: local, hv2 "
		   "(did you mean 'hv2'?)\n"
		   "DIR/policy.d/lab.conf:9: host \"faraway\" is not defined; "
		   "define [host:faraway] with a uri, or use one of: local, "
		   "hv2\n"
		   "DIR/policy.d/lab.conf:11: host \"locl\" is not defined; "
		   "define [host:locl] with a uri, or use one of: local, hv2 "
		   "(did you mean 'local'?)\n");
	/* no [host:] at all: only local to offer; a bad name is a name error
	 * (found while reading, so before the hosts are checked), once */
	expect_bad(NULL, "[group:lab]\nhost = hv2\n[user:bob]\nhost = a/b\n",
		   "DIR/policy.d/lab.conf:4: host in [user:bob]: 'a/b' is not "
		   "a valid name: use 1-64 characters from [A-Za-z0-9_.+-], "
		   "not starting with '.' or '-'\n"
		   "DIR/policy.d/lab.conf:2: host \"hv2\" is not defined; "
		   "define [host:hv2] with a uri, or use one of: local\n");
	/* host is not expanded: %u is not a host name */
	expect_bad(NULL, "[defaults]\nhost = hv-%u\n",
		   "DIR/policy.d/lab.conf:2: host in [defaults]: 'hv-%u' is "
		   "not a valid name: use 1-64 characters from "
		   "[A-Za-z0-9_.+-], not starting with '.' or '-'\n");
}

static void test_uri(void **state)
{
	(void)state;
	expect_bad(NULL, "[host:hv2]\ncapacity = 3\n\n[host:hv3]\n"
		   "uri = qemu:///system\n",
		   "DIR/policy.d/lab.conf:1: host hv2: uri is missing (fix: "
		   "add a libvirt URI under [host:hv2], such as uri = "
		   "qemu+ssh://root@hv2/system)\n");
	expect_bad(NULL,
		   "[host:hv2]\n"
		   "uri = qemu:/system\n"
		   "[host:hv3]\n"
		   "uri = qemu+ssh://root@hv3 /system\n"
		   "[host:hv4]\n"
		   "uri = \"\"\n"
		   "[host:hv5]\n"
		   "uri = \"qemu+tcp://hv5/\tsystem\"\n",
		   "DIR/policy.d/lab.conf:2: host hv2: uri 'qemu:/system' is "
		   "not a libvirt URI (fix: write one with '://' and without "
		   "spaces or control characters, such as "
		   "qemu+ssh://root@hv2/system or qemu+tls://hv2/system)\n"
		   "DIR/policy.d/lab.conf:4: host hv3: uri "
		   "'qemu+ssh://root@hv3 /system' is not a libvirt URI (fix: "
		   "write one with '://' and without spaces or control "
		   "characters, such as qemu+ssh://root@hv2/system or "
		   "qemu+tls://hv2/system)\n"
		   "DIR/policy.d/lab.conf:6: host hv4: uri '' is not a "
		   "libvirt URI (fix: write one with '://' and without spaces "
		   "or control characters, such as qemu+ssh://root@hv2/system "
		   "or qemu+tls://hv2/system)\n"
		   "DIR/policy.d/lab.conf:8: host hv5: uri "
		   "'qemu+tcp://hv5/\tsystem' is not a libvirt URI (fix: "
		   "write one with '://' and without spaces or control "
		   "characters, such as qemu+ssh://root@hv2/system or "
		   "qemu+tls://hv2/system)\n");
	/* [gate] uri keeps its own, older rule */
	expect_bad("[gate]\nuri = \"\"\n", NULL,
		   "DIR/gate.conf:2: uri in [gate]: '' is not valid: use a "
		   "libvirt URI such as qemu:///system, without spaces\n");
}

static void test_local_and_names(void **state)
{
	(void)state;
	/* the keys under [host:local] are not reported on top */
	expect_bad("[gate]\nuri = qemu:///system\n",
		   "[host:local]\nuri = qemu+ssh://root@hv2/system\nbogus = 1\n",
		   "DIR/policy.d/lab.conf:1: [host:local]: local is the "
		   "gate's own libvirt and always exists: set [gate] uri "
		   "instead (or give this host another name)\n");
	expect_bad(NULL, "[host:-hv]\nuri = qemu+ssh://hv/system\n"
		   "[host:]\n[host:a b]\n[hots:hv2]\n",
		   "DIR/policy.d/lab.conf:1: [host:-hv]: '-hv' is not a valid "
		   "host name: use 1-64 characters from [A-Za-z0-9_.+-], not "
		   "starting with '.' or '-'\n"
		   "DIR/policy.d/lab.conf:3: [host:]: '' is not a valid host "
		   "name: use 1-64 characters from [A-Za-z0-9_.+-], not "
		   "starting with '.' or '-'\n"
		   "DIR/policy.d/lab.conf:4: [host:a b]: 'a b' is not a valid "
		   "host name: use 1-64 characters from [A-Za-z0-9_.+-], not "
		   "starting with '.' or '-'\n"
		   "DIR/policy.d/lab.conf:5: unknown section [hots:hv2]: valid "
		   "sections are [gate], [defaults], [group:NAME], "
		   "[user:NAME], [box:NAME] and [host:NAME] (did you mean "
		   "'[host:hv2]'?)\n");
}

static void test_keys(void **state)
{
	(void)state;
	expect_bad("[gate]\nhost = hv2\n",
		   "[host:hv2]\n"
		   "uri = qemu+ssh://root@hv2/system\n"
		   "capcity = 3\n"
		   "domain = x\n"
		   "uri = qemu+ssh://root@hv9/system\n"
		   "bogus_key_far_away = 1\n"
		   "[defaults]\n"
		   "images = /srv/boxes\n"
		   "[box:b]\n"
		   "capacity = 1\n",
		   "DIR/gate.conf:2: key 'host' is not valid in [gate]: it "
		   "belongs in [defaults], [group:NAME], [user:NAME] or "
		   "[box:NAME]\n"
		   "DIR/policy.d/lab.conf:3: unknown key 'capcity' in "
		   "[host:hv2] (did you mean 'capacity'?)\n"
		   "DIR/policy.d/lab.conf:4: key 'domain' is not valid in "
		   "[host:hv2]: it belongs in [defaults], [group:NAME] or "
		   "[user:NAME]\n"
		   "DIR/policy.d/lab.conf:5: duplicate key 'uri' in [host:hv2] "
		   "(already set at DIR/policy.d/lab.conf:2): keep only one\n"
		   "DIR/policy.d/lab.conf:6: unknown key 'bogus_key_far_away' "
		   "in [host:hv2]\n"
		   "DIR/policy.d/lab.conf:8: key 'images' is not valid in "
		   "[defaults]: it belongs in [host:NAME]\n"
		   "DIR/policy.d/lab.conf:10: key 'capacity' is not valid in "
		   "[box:b]: it belongs in [host:NAME]\n");
}

static void test_values(void **state)
{
	char *dir;
	yg_policy *pol;

	(void)state;
	expect_bad(NULL,
		   "[host:hv2]\n"
		   "uri = qemu+ssh://root@hv2/system\n"
		   "capacity = 100001\n"
		   "memory = 8g\n"
		   "enabled = maybe\n"
		   "images = srv/boxes\n"
		   "[host:hv3]\n"
		   "uri = qemu+ssh://root@hv3/system\n"
		   "capacity = -1\n"
		   "memory = 99999999999T\n",
		   "DIR/policy.d/lab.conf:3: host hv2: capacity '100001' is not "
		   "valid: use a whole number of boxes from 0 (no cap) to "
		   "100000\n"
		   "DIR/policy.d/lab.conf:4: host hv2: memory '8g' is not a "
		   "valid size: use a whole number of bytes, optionally with a "
		   "unit K, M, G or T (powers of 1024: 512M, 8G)\n"
		   "DIR/policy.d/lab.conf:5: host hv2: enabled 'maybe' is not "
		   "valid: use no or yes\n"
		   "DIR/policy.d/lab.conf:6: host hv2: images 'srv/boxes' is "
		   "not valid: use an absolute path without spaces or control "
		   "characters\n"
		   "DIR/policy.d/lab.conf:9: host hv3: capacity '-1' is not "
		   "valid: use a whole number of boxes from 0 (no cap) to "
		   "100000\n"
		   "DIR/policy.d/lab.conf:10: host hv3: memory '99999999999T' "
		   "is not a valid size: use a whole number of bytes, "
		   "optionally with a unit K, M, G or T (powers of 1024: 512M, "
		   "8G), small enough not to overflow\n");
	/* memory of a host is a cap: 0 and sizes under 64M are fine there,
	 * while a box's memory keeps its minimum */
	dir = mkconf(NULL, "[host:hv2]\nuri = qemu+ssh://root@hv2/system\n"
		     "memory = 4096\ncapacity = 0\n", NULL);
	pol = load_ok(dir);
	assert_true(yg_policy_host(pol, "hv2")->memory_bytes == 4096);
	assert_int_equal(yg_policy_host(pol, "hv2")->capacity, 0);
	yg_policy_free(pol);
	rmconf(dir);
	expect_bad(NULL, "[defaults]\nmemory = 4096\n",
		   "DIR/policy.d/lab.conf:2: memory in [defaults]: '4096' is "
		   "not a valid size: use a whole number of bytes, optionally "
		   "with a unit K, M, G or T (powers of 1024: 512M, 8G), at "
		   "least 64M\n");
}

static int count_name(void *ctx, const char *name)
{
	(void)name;
	++*(int *)ctx;
	return 0;
}

static void test_each_name(void **state)
{
	char *dir = mkconf(NULL, "[host:a]\nuri = x://y\n[host:b]\n"
			   "uri = x://z\n[user:u]\n", NULL);
	yg_policy *pol = load_ok(dir);
	int n = 0;

	(void)state;
	assert_int_equal(yg_policy_each_name(pol, "host", count_name, &n), 0);
	assert_int_equal(n, 2); /* local is built in, not a section */
	yg_policy_free(pol);
	rmconf(dir);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_two_hosts),
		cmocka_unit_test(test_host_key_scopes),
		cmocka_unit_test(test_group_conflict),
		cmocka_unit_test(test_unknown_host),
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_local_and_names),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_each_name),
	};

	return cmocka_run_group_tests_name("policyhost", tests, NULL, NULL);
}
