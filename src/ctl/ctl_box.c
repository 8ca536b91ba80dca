/* SPDX-License-Identifier: MIT */
/* ctl_box.c: yolo-gatectl revert and deprovision, and the box operations
 * that provision and sweep share. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "yg_volume.h"

int yg_ctl_overlay_path(char *buf, size_t len, const char *images_dir,
			const char *domain, yg_err *err)
{
	if (yg_pathf(buf, len, "%s/%s.qcow2", images_dir, domain) < 0)
		return yg_err_set(err, -ENAMETOOLONG, "the image path of box "
				  "%s under %s is too long; use a shorter "
				  "--images directory", domain, images_dir);
	return 0;
}

int yg_ctl_overlay_remove(virConnectPtr conn, const char *images_dir,
			  const char *domain, bool *existed, yg_err *err)
{
	char path[PATH_MAX];
	yg_pool *pool = NULL;
	int rc;

	*existed = false;
	rc = yg_ctl_overlay_path(path, sizeof(path), images_dir, domain, err);
	if (rc == 0)
		rc = yg_pool_open(conn, images_dir, false, &pool, err);
	if (rc == -ENOENT) {	/* no pool: provision never made one there */
		yg_err_clear(err);
		return 0;
	}
	if (rc == 0)
		rc = yg_vol_delete(pool, strrchr(path, '/') + 1, existed,
				   err);
	yg_pool_free(pool);
	return rc;
}

int yg_ctl_revert_box(const char *cmd, const yg_policy *pol,
		      virConnectPtr conn, const yg_user_policy *up,
		      bool only_dirty)
{
	const char *run_dir = yg_policy_gate(pol)->run_dir;
	struct yg_ctl_holder h;
	struct yg_ctl_step step;
	char hint[128], why[128], who[160];
	yg_box *box = NULL;
	bool clean = false;
	yg_err err;
	int fd, rc;

	fd = yg_ctl_lock_take(run_dir, up->host, up->domain, pol, &h, &err);
	if (fd == -EWOULDBLOCK) {
		yg_ctl_holder_text(&h, who, sizeof(who));
		yg_ctl_errf(cmd, "box %s is in use by %s; not reverting it "
			    "under a live session (it is reverted when the "
			    "session ends)", up->domain, who);
		return -EWOULDBLOCK;
	}
	if (fd < -1)
		return yg_ctl_fail(cmd, &err);
	snprintf(hint, sizeof(hint), " (run: yolo-gatectl provision %s)",
		 up->user);
	rc = yg_box_open(conn, up->domain, up->snapshot, hint, &box, &err);
	if (rc == 0 && only_dirty)
		rc = yg_box_check_clean(box, &clean, why, sizeof(why), &err);
	if (rc == 0 && only_dirty && clean) {
		fprintf(stderr, "%s: box %s is clean\n", cmd, up->domain);
	} else if (rc == 0) {
		yg_ctl_step_begin(&step, cmd, "reverting %s to '%s'%s%s%s",
				  up->domain, up->snapshot,
				  only_dirty ? " (" : "",
				  only_dirty ? why : "", only_dirty ? ")" : "");
		rc = yg_box_revert(box, &err);
		yg_ctl_step_end(&step, rc);
		if (rc == 0)
			yg_ctl_lock_note_revert(fd, (long)(yg_now_ms() -
							   step.t0));
	}
	yg_box_free(box);
	if (fd >= 0)
		close(fd);
	return rc < 0 ? yg_ctl_fail(cmd, &err) : YG_CTL_EXIT_OK;
}

/* Parse "CMD [--config DIR] [--images DIR] [--host NAME] USER" (images and
 * host: when the command takes them). */
static int parse_user_cmd(const char *cmd, int argc, char **argv,
			  const char **confdir, const char **images,
			  const char **host, const char **user)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "images", required_argument, NULL, 'i' },
		{ "host", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "c:i:H:h", opts, NULL)) != -1) {
		if (o == 'c')
			*confdir = optarg;
		else if (o == 'i' && images)
			*images = optarg;
		else if (o == 'H' && host)
			*host = optarg;
		else
			return yg_ctl_usage(cmd);
	}
	if (optind != argc - 1)
		return yg_ctl_usage(cmd);
	*user = argv[optind];
	return 0;
}

int yg_ctl_revert(int argc, char **argv)
{
	const char *confdir = NULL, *user = NULL;
	yg_user_policy up = { 0 };
	virConnectPtr conn = NULL;
	yg_policy *pol = NULL;
	int rc;

	rc = parse_user_cmd("revert", argc, argv, &confdir, NULL, NULL, &user);
	if (rc)
		return rc;
	rc = yg_ctl_policy_load("revert", confdir, &pol);
	if (rc == 0)
		rc = yg_ctl_user("revert", pol, user, &up);
	if (rc == 0)
		rc = yg_ctl_connect_host("revert", pol, up.host, &conn);
	if (rc == 0) {
		rc = yg_ctl_revert_box("revert", pol, conn, &up, false);
		rc = rc < 0 ? YG_CTL_EXIT_FAIL : rc;
	}
	yg_conn_close(conn);
	yg_user_policy_clear(&up);
	yg_policy_free(pol);
	return rc;
}

/* unlink path if it is there; says what it removed. */
static int remove_file(const char *cmd, const char *what, const char *path)
{
	if (unlink(path) == 0) {
		fprintf(stderr, "%s: removed %s %s\n", cmd, what, path);
		return 0;
	}
	if (errno == ENOENT)
		return 0;
	if (errno == EACCES || errno == EPERM)
		return yg_ctl_errf(cmd, "cannot remove %s %s: %s; %s needs "
				   "root", what, path, strerror(errno), cmd);
	return yg_ctl_errf(cmd, "cannot remove %s %s: %s", what, path,
			   strerror(errno));
}

/* Remove up's box from host (its domain, snapshots and overlay) and, when
 * host is the one the policy puts the box on, the key file too: a box
 * removed from the host it moved away from keeps the user's keys. */
static int deprovision(const yg_policy *pol, const yg_user_policy *up,
		       const char *host, virConnectPtr conn, const char *images)
{
	const char *cmd = "deprovision";
	char path[PATH_MAX], who[160];
	struct yg_ctl_holder h;
	bool existed;
	yg_err err;
	int fd, rc;

	fd = yg_ctl_lock_take(yg_policy_gate(pol)->run_dir, host, up->domain, pol,
			      &h, &err);
	if (fd == -EWOULDBLOCK) {
		yg_ctl_holder_text(&h, who, sizeof(who));
		return yg_ctl_errf(cmd, "box %s is in use by %s; try again "
				   "when the session has ended", up->domain,
				   who);
	}
	if (fd < -1)
		return yg_ctl_fail(cmd, &err);
	rc = yg_dom_remove(conn, up->domain, &existed, &err);
	if (rc < 0) {
		rc = yg_ctl_fail(cmd, &err);
		goto out;
	}
	if (existed)
		fprintf(stderr, "%s: removed domain %s and its snapshots from host %s\n",
			cmd, up->domain, host);
	rc = yg_ctl_overlay_path(path, sizeof(path), images, up->domain,
				 &err);
	if (rc < 0) {
		rc = yg_ctl_fail(cmd, &err);
		goto out;
	}
	rc = yg_ctl_overlay_remove(conn, images, up->domain, &existed, &err);
	if (rc < 0)
		rc = yg_ctl_fail(cmd, &err);
	else if (existed)
		fprintf(stderr, "%s: removed overlay %s\n", cmd, path);
	if (up->keys && strcmp(host, up->host) != 0)
		fprintf(stderr, "%s: kept key file %s: the policy puts %s's box on host %s\n",
			cmd, up->keys, up->user, up->host);
	else if (up->keys && remove_file(cmd, "key file", up->keys))
		rc = YG_CTL_EXIT_FAIL;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int yg_ctl_deprovision(int argc, char **argv)
{
	const char *confdir = NULL, *user = NULL, *images = NULL, *host = NULL;
	yg_user_policy up = { 0 };
	virConnectPtr conn = NULL;
	yg_policy *pol = NULL;
	int rc;

	rc = parse_user_cmd("deprovision", argc, argv, &confdir, &images,
			    &host, &user);
	if (rc)
		return rc;
	rc = yg_ctl_policy_load("deprovision", confdir, &pol);
	if (rc == 0)
		rc = yg_ctl_user("deprovision", pol, user, &up);
	if (rc == 0 && !host)
		host = up.host;
	if (rc == 0)	/* an unknown --host is refused here */
		rc = yg_ctl_connect_host("deprovision", pol, host, &conn);
	if (rc == 0)	/* the overlay directory of that host by default */
		rc = deprovision(pol, &up, host, conn,
				 images ? images : yg_policy_host(pol, host)->images);
	yg_conn_close(conn);
	yg_user_policy_clear(&up);
	yg_policy_free(pol);
	return rc;
}
