/* SPDX-License-Identifier: MIT */
/* yolo-gatectl check: lint the policy like `visudo -c` and list the
 * libvirt hosts; with --user, print the user's effective policy with the
 * origin of every value, like `sshd -T` (the host line also gives that
 * host's uri).  Both then warn about gated users that sshd would let
 * tunnel past the box (ctl_sshd.c); warnings do not change the exit
 * status. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "yg_policy.h"

struct lint_ctx {
	const yg_policy *pol;
	yg_diags *diags;
	int rc;
};

/* Every [user:NAME] that exists on this system is evaluated too, so that
 * group conflicts and values that expand badly for that user show up. */
static int lint_user(void *ctx, const char *name)
{
	struct lint_ctx *c = ctx;
	yg_user_policy up;
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (!pw) {
		printf("note: [user:%s] names no user known on this system\n",
		       name);
		return 0;
	}
	if (yg_policy_user_lookup(c->pol, name, &up, c->diags) < 0)
		c->rc = YG_CTL_EXIT_FAIL;
	yg_user_policy_clear(&up);
	return 0;
}

/* A size as the policy writes it: 0, 512M, 64G (largest exact unit). */
static void fmt_size(unsigned long long b, char *buf, size_t n)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (b && u < 3 && !(b & 1023)) {
		b >>= 10;
		u++;
	}
	if (u < 0)
		snprintf(buf, n, "%llu", b);
	else
		snprintf(buf, n, "%llu%c", b, units[u]);
}

/* One line per host, in the table's order ("local" first). */
static void show_hosts(const yg_policy *pol)
{
	for (size_t i = 0; i < yg_policy_nhosts(pol); i++) {
		const struct yg_host_conf *h = yg_policy_host_at(pol, i);
		char mem[32];

		fmt_size(h->memory_bytes, mem, sizeof(mem));
		printf("host %s uri %s images %s capacity %u memory %s "
		       "enabled %s  # %s\n", h->name, h->uri, h->images,
		       h->capacity, mem, h->enabled ? "yes" : "no", h->origin);
	}
}

static int show_user(const yg_policy *pol, const char *user)
{
	yg_diags diags = { 0 };
	yg_user_policy up;
	int rc = yg_policy_user_lookup(pol, user, &up, &diags);

	if (rc < 0) {
		yg_diags_print(&diags, stderr);
		rc = YG_CTL_EXIT_FAIL;
	} else if (!up.gated) {
		fprintf(stderr, "user %s has no policy: no [user:], [group:] "
			"or [box:] section applies, so the gate leaves them "
			"alone\n", user);
		rc = YG_CTL_EXIT_FAIL;
	} else {
		printf("user %s\nuid %u\ngroup %s  # primary group\n", up.user,
		       (unsigned)up.uid, up.group ? up.group : "-");
		for (size_t i = 0; i < up.nsettings; i++) {
			const struct yg_setting *st = &up.settings[i];
			const struct yg_host_conf *h = NULL;

			if (!strcmp(st->key, "host"))
				h = yg_policy_host(pol, st->value);
			printf("%s %s  # %s%s%s\n", st->key, st->value,
			       st->origin, h ? "; uri " : "", h ? h->uri : "");
		}
		rc = YG_CTL_EXIT_OK;
	}
	yg_user_policy_clear(&up);
	yg_diags_free(&diags);
	return rc;
}

int yg_ctl_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "sshd-config", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *confdir = NULL, *user = NULL, *sshd_config = NULL;
	yg_diags diags = { 0 };
	yg_policy *pol = NULL;
	int o, rc;

	while ((o = getopt_long(argc, argv, "c:u:s:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			confdir = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 's':
			sshd_config = optarg;
			break;
		default:
			return yg_ctl_usage("check");
		}
	}
	if (optind != argc)
		return yg_ctl_usage("check");
	rc = yg_policy_load(confdir, &pol, &diags);
	if (rc < 0) {
		yg_diags_print(&diags, stderr);
		if (rc != -EINVAL)
			fprintf(stderr, "yolo-gatectl: loading the policy "
				"failed: %s\n", strerror(-rc));
		yg_diags_free(&diags);
		return YG_CTL_EXIT_FAIL;
	}
	if (user) {
		rc = show_user(pol, user);
		if (rc == YG_CTL_EXIT_OK && yg_ctl_check_sshd(pol, user, sshd_config) < 0)
			rc = yg_ctl_errf("check", "out of memory checking sshd");
	} else {
		struct lint_ctx c = { pol, &diags, YG_CTL_EXIT_OK };

		rc = yg_policy_each_name(pol, "user", lint_user, &c) < 0 ?
		     YG_CTL_EXIT_FAIL : c.rc;
		yg_diags_print(&diags, stderr);
		if (rc == 0 && yg_ctl_check_sshd(pol, NULL, sshd_config) < 0)
			rc = yg_ctl_errf("check", "out of memory checking sshd");
		for (size_t i = 0; rc == 0 && i < yg_policy_nfiles(pol); i++)
			printf("read %s\n", yg_policy_file(pol, i));
		if (rc == 0) {
			show_hosts(pol);
			printf("OK\n");
		}
	}
	yg_diags_free(&diags);
	yg_policy_free(pol);
	return rc;
}
