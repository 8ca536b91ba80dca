/* SPDX-License-Identifier: MIT */
/* ctl_sweep.c: yolo-gatectl sweep, for boot time (before yolo-gated
 * starts): revert every box that is not provably clean, then remove the
 * stale runtime files under run_dir/boxes and run_dir/sessions.  A file a
 * live process still holds (a flocked lock, a listening rendezvous socket,
 * the session record of a locked box) is left alone, and nothing is
 * removed while the broker's socket answers. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "yg_client.h"
#include "yg_path.h"

#define CMD "sweep"

struct sweep_ctx {
	const yg_policy *pol;
	struct yg_ctl_conns conns;	/* one per host, on demand */
	int rc;
};

/* A box of a user with warm = no is shut off after each logout: nothing runs
 * in it, so sweep does not start it just to revert it. */
static bool shut_off(virConnectPtr conn, const char *domain)
{
	yg_dom *dom = NULL;
	bool off;

	if (yg_dom_lookup(conn, domain, &dom, NULL) < 0)
		return false;
	off = !strcmp(yg_dom_state_text(dom), "shut off");
	yg_dom_free(dom);
	return off;
}

/* A box on an unreachable host is left to its next login (or to the next
 * sweep): the others are swept. */
static void sweep_one(struct sweep_ctx *c, const yg_user_policy *up)
{
	const char *why;
	virConnectPtr conn = yg_ctl_conns_get(&c->conns, up->host, &why);
	int rc;

	if (!conn) {
		fprintf(stderr, CMD ": box %s on host %s left: %s\n", up->domain, up->host, why);
		c->rc = YG_CTL_EXIT_FAIL;
	} else if (!up->warm && shut_off(conn, up->domain)) {
		fprintf(stderr, CMD ": box %s is shut off (warm = no): its next "
			"login reverts it\n", up->domain);
	} else if (yg_dom_defined(conn, up->domain)) {
		rc = yg_ctl_revert_box(CMD, c->pol, conn, up, true);
		if (rc == YG_CTL_EXIT_FAIL)
			c->rc = rc;	/* busy (-EWOULDBLOCK) is not a failure */
	}
}

static int sweep_user(void *ctx, const char *user)
{
	struct sweep_ctx *c = ctx;
	yg_user_policy up = { 0 };
	yg_diags diags = { 0 };
	int rc;

	rc = yg_policy_user_lookup(c->pol, user, &up, &diags);
	yg_diags_print(&diags, stderr);
	if (rc < 0)
		c->rc = YG_CTL_EXIT_FAIL;
	else if (up.gated)
		sweep_one(c, &up);
	yg_diags_free(&diags);
	yg_user_policy_clear(&up);
	return 0;
}


/* Is a broker there? Anything that accepts the connection counts (one that
 * then fails HELLO is alive too: sweep must not pull its files away). */
static bool broker_answers(const char *path)
{
	yg_client_cfg cfg = { .socket = path, .name = "yolo-gatectl",
			      .timeout_ms = 5000, .idle_ms = 5000 };
	yg_client c;
	yg_err err;
	int r = yg_client_connect(&c, &cfg, &err);
	bool alive = r == 0 || c.reached || (r != -ECONNREFUSED && r != -ENOENT);

	yg_client_close(&c);
	return alive;
}

/* Does something listen on the unix socket path (a rendezvous socket)? */
static bool listening(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true;	/* cannot tell: assume alive */
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc == 0 || (errno != ECONNREFUSED && errno != ENOENT);
}

/* Remove dir/name when no process holds it: a lock file we can flock
 * (removed while we hold the lock), a socket nobody listens on. */
static void remove_stale(int dfd, const char *dir, const char *name)
{
	enum yg_rundir_entry kind = yg_rundir_box_entry(name);
	char path[PATH_MAX];
	bool stale = false;
	int fd = -1;

	if (kind == YG_RUNDIR_OTHER || yg_pathf(path, sizeof(path), "%s/%s", dir, name) < 0)
		return;		/* not ours */
	if (kind == YG_RUNDIR_LOCK) {
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
			    O_CLOEXEC);
		stale = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
	} else {
		stale = !listening(path);
	}
	if (stale && unlinkat(dfd, name, 0) == 0)
		fprintf(stderr, CMD ": removed stale %s\n", path);
	else if (!stale)
		fprintf(stderr, CMD ": left %s: a live process holds it\n",
			path);
	if (fd >= 0)
		close(fd);
}

/* A session record names its box; it is stale unless that box is locked.
 * Anything else there (a record being replaced, an end request, a record
 * that does not parse) is stale. */
static void remove_session(int dfd, const char *dir, const char *name,
			   const char *run_dir)
{
	struct yg_rundir_session rec;
	struct yg_ctl_holder h;

	if (yg_rundir_session_entry(name) == YG_RUNDIR_SESSION &&
	    yg_rundir_session_read(dfd, name, &rec, NULL) == 0 &&
	    yg_ctl_lock_probe(run_dir, rec.host, rec.box, &h, NULL) == 0 && h.busy) {
		fprintf(stderr, CMD ": left %s/%s: box %s is in use\n", dir,
			name, rec.box);
		return;
	}
	if (unlinkat(dfd, name, 0) == 0)
		fprintf(stderr, CMD ": removed stale %s/%s\n", dir, name);
}

static int sweep_dir(const char *run_dir, const char *sub)
{
	bool boxes = !strcmp(sub, "boxes");
	char dir[PATH_MAX];
	struct dirent *de;
	yg_err err;
	DIR *d;
	int rc;

	if (boxes)
		rc = yg_rundir_boxes_dir(dir, sizeof(dir), run_dir, &err);
	else
		rc = yg_rundir_sessions_dir(dir, sizeof(dir), run_dir, &err);
	if (rc < 0)
		return yg_ctl_fail(CMD, &err);
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return yg_ctl_errf(CMD, "cannot read %s: %s%s", dir,
				   strerror(errno), errno == EACCES ?
				   "; sweep needs root" : "");
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (boxes)
			remove_stale(dirfd(d), dir, de->d_name);
		else
			remove_session(dirfd(d), dir, de->d_name, run_dir);
	}
	closedir(d);
	return 0;
}

int yg_ctl_sweep(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sweep_ctx c = { 0 };
	const struct yg_gate_conf *gate;
	const char *confdir = NULL;
	yg_policy *pol = NULL;
	int o, rc;

	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (o != 'c')
			return yg_ctl_usage(CMD);
		confdir = optarg;
	}
	if (optind != argc)
		return yg_ctl_usage(CMD);
	rc = yg_ctl_policy_load(CMD, confdir, &pol);
	if (rc == 0)
		rc = yg_ctl_conns_init(&c.conns, CMD, pol);
	if (rc) {
		yg_policy_free(pol);
		return rc;
	}
	c.pol = pol;
	if (yg_ctl_each_user(pol, sweep_user, &c) < 0)
		c.rc = yg_ctl_errf(CMD, "cannot list the users of the policy: out of memory");
	gate = yg_policy_gate(pol);
	if (broker_answers(gate->socket)) {
		fprintf(stderr, CMD ": yolo-gated answers on %s; its runtime "
			"files are left to it\n", gate->socket);
	} else {
		if (sweep_dir(gate->run_dir, "boxes"))
			c.rc = YG_CTL_EXIT_FAIL;
		if (sweep_dir(gate->run_dir, "sessions"))
			c.rc = YG_CTL_EXIT_FAIL;
	}
	yg_ctl_conns_close(&c.conns);
	yg_policy_free(pol);
	return c.rc;
}
