/* SPDX-License-Identifier: MIT */
/* yg_caps.c: dropping and refusing privileges, with libcap-ng. See yg_caps.h.
 *
 * As root we switch id by hand rather than with capng_change_id(): we need
 * the user's supplementary groups (libvirt) from NSS, so initgroups(), then
 * setresgid(), clear the bounding set while CAP_SETPCAP is still ours, then
 * setresuid() (the kernel drops effective/permitted caps since KEEPCAPS is
 * off), then clear the inheritable and ambient sets too and verify. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cap-ng.h>

#include "yg_caps.h"

/* True when some capability is in the ambient set. */
static bool ambient_held(void)
{
	for (int cap = 0; cap < 64; cap++) {
		int r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0);

		if (r < 0)
			break;	/* EINVAL past CAP_LAST_CAP (or no ambient support) */
		if (r > 0)
			return true;
	}
	return false;
}

bool yg_caps_none(void)
{
	if (capng_get_caps_process() < 0)
		return false;	/* cannot tell: assume the worst */
	return capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE &&
	       capng_have_permitted_capabilities() == CAPNG_NONE;
}

static const char *self_exe(char *buf, size_t n)
{
	ssize_t r = readlink("/proc/self/exe", buf, n - 1);

	if (r < 0)
		snprintf(buf, n, "%s", program_invocation_name);
	else
		buf[r] = '\0';
	return buf;
}

int yg_caps_refuse_privileged(yg_err *err)
{
	const char *prog = program_invocation_short_name;
	char exe[PATH_MAX];

	if (getauxval(AT_SECURE))
		return yg_err_set(err, -EPERM, "%s must not be setuid, setgid or carry file "
				  "capabilities (fix: chmod u-s,g-s %s; setcap -r %s)",
				  prog, self_exe(exe, sizeof(exe)), exe);
	if (getuid() == 0 || geteuid() == 0)
		return yg_err_set(err, -EPERM, "%s refuses to run as root: it is the login shell "
				  "of gated users, and root has no box (fix: log in as a gated user)",
				  prog);
	if (!yg_caps_none() || ambient_held())
		return yg_err_set(err, -EPERM, "%s must not run with capabilities (fix: setcap -r "
				  "%s, and remove AmbientCapabilities/capsh wrappers that start it)",
				  prog, self_exe(exe, sizeof(exe)));
	return 0;
}

static int set_no_new_privs(yg_err *err)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return yg_err_set(err, -errno, "cannot set no_new_privs: %s", strerror(errno));
	return 0;
}

/* As root: become pw for good. */
static int switch_user(const struct passwd *pw, yg_err *err)
{
	if (initgroups(pw->pw_name, pw->pw_gid) < 0)
		return yg_err_set(err, -errno, "cannot set the groups of %s: %s", pw->pw_name,
				  strerror(errno));
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0)
		return yg_err_set(err, -errno, "cannot change group to %u: %s",
				  (unsigned)pw->pw_gid, strerror(errno));
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
		return yg_err_set(err, -EPERM, "cannot clear the capability bounding set (is "
				  "CAP_SETPCAP missing? run yolo-gated as root or as %s)", pw->pw_name);
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		return yg_err_set(err, -errno, "cannot change user to %s: %s", pw->pw_name,
				  strerror(errno));
	/* the inheritable and ambient sets survive setuid: clear them too */
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(CAPNG_SELECT_CAPS) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return yg_err_set(err, -EPERM, "cannot clear capabilities after changing to %s",
				  pw->pw_name);
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return yg_err_set(err, -EPERM, "could regain root after changing to %s: refusing "
				  "to run", pw->pw_name);
	return 0;
}

int yg_caps_drop_to(const char *user, yg_err *err)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int r;

	if (!user || !*user)
		return yg_err_set(err, -EINVAL, "no service user given (fix: set user = in [gate])");
	r = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
	if (r != 0 || !res)
		return yg_err_set(err, r ? -r : -ENOENT, "service user %s does not exist (fix: "
				  "useradd --system --no-create-home --groups libvirt %s)", user, user);
	if (getuid() == 0 || geteuid() == 0) {
		r = switch_user(&pw, err);
		if (r < 0)
			return r;
		if (capng_get_caps_process() < 0 ||
		    capng_have_capabilities(CAPNG_SELECT_BOUNDS) != CAPNG_NONE)
			return yg_err_set(err, -EPERM, "the capability bounding set is not empty "
					  "after changing to %s", user);
	} else if (geteuid() != pw.pw_uid) {
		return yg_err_set(err, -EPERM, "running as uid %u, but the service user is %s "
				  "(uid %u) (fix: start it as root or as %s)",
				  (unsigned)geteuid(), user, (unsigned)pw.pw_uid, user);
	}
	if (!yg_caps_none() || ambient_held())
		return yg_err_set(err, -EPERM, "running as %s with capabilities, which it does not "
				  "need (fix: remove AmbientCapabilities= from its unit, setcap -r "
				  "its binary)", user);
	return set_no_new_privs(err);
}
