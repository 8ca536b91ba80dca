/* SPDX-License-Identifier: MIT */
/* ctl_lock.c: the broker's box locks, seen from the admin side.
 *
 * The broker's session child holds flock(LOCK_EX) on
 * run_dir/boxes/<domain>.lock for the whole session and writes its lock
 * record into it (yg_rundir.h: "yg-lock 1 SINCE SESSION PID -").
 * yolo-gatectl takes the same lock around its own reverts, so an admin
 * revert never races a login, and writes "yg-lock 1 SINCE yolo-gatectl PID
 * MS" where MS is how long its revert took ("-" before it is done; status
 * shows it as the last revert time).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

static void read_record(int fd, struct yg_ctl_holder *h)
{
	struct yg_rundir_lock l;
	yg_err err;
	int r = yg_rundir_lock_read(fd, &l, &err);

	h->known = r == 0;
	h->since = h->known ? l.since : 0;
	snprintf(h->session, sizeof(h->session), "%s", h->known ? l.holder : "");
	h->pid = h->known ? l.pid : 0;
	h->last_revert_ms = h->known ? l.revert_ms : -1;
	/* an empty record: a lock file just created, nothing to explain */
	snprintf(h->problem, sizeof(h->problem), "%s", r < 0 && r != -ENODATA ? err.msg : "");
}

static int check_fd(int fd, const char *path, yg_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return yg_err_set(err, -errno, "cannot stat %s: %s", path,
				  strerror(errno));
	if (!S_ISREG(st.st_mode))
		return yg_err_set(err, -EINVAL, "%s is not a regular file; "
				  "remove it (rm %s) and retry", path, path);
	return 0;
}

static int open_err(const char *path, yg_err *err)
{
	int e = errno;

	if (e == EACCES)
		return yg_err_set(err, -e, "cannot open %s: %s; this needs "
				  "root or the broker's service user", path,
				  strerror(e));
	if (e == ELOOP)
		return yg_err_set(err, -e, "%s is a symlink; remove it (rm %s)",
				  path, path);
	return yg_err_set(err, -e, "cannot open %s: %s", path, strerror(e));
}

/* An empty holder record and the path of the lock of domain on host. */
static int holder_begin(struct yg_ctl_holder *h, char *path, size_t size,
			const char *run_dir, const char *host, const char *domain,
			yg_err *err)
{
	char key[YG_RUNDIR_KEY_MAX];
	int rc;

	memset(h, 0, sizeof(*h));
	h->last_revert_ms = -1;
	rc = yg_rundir_box_key(key, sizeof(key), host, domain, err);
	return rc < 0 ? rc : yg_rundir_lock_path(path, size, run_dir, key, err);
}

int yg_ctl_lock_probe(const char *run_dir, const char *host, const char *domain,
		      struct yg_ctl_holder *h, yg_err *err)
{
	char path[PATH_MAX];
	int fd, rc;

	rc = holder_begin(h, path, sizeof(path), run_dir, host, domain, err);
	if (rc < 0)
		return rc;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : open_err(path, err);
	rc = check_fd(fd, path, err);
	if (rc == 0) {
		read_record(fd, h);
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno == EWOULDBLOCK)
				h->busy = true;
			else
				rc = yg_err_set(err, -errno, "cannot probe "
						"the lock %s: %s", path,
						strerror(errno));
		}
		/* a console kept open for the next login: the box is free */
		h->held = h->busy && h->known && !strcmp(h->session, YG_RUNDIR_HELD);
		h->busy = h->busy && !h->held;
	}
	close(fd);
	return rc;
}

static void write_record(int fd, long ms)
{
	struct yg_rundir_lock l = { .since = (long long)time(NULL), .holder = YG_RUNDIR_ADMIN,
				    .pid = (int)getpid(), .revert_ms = ms >= 0 ? ms : -1 };

	/* best effort: the record is only information for status */
	(void)!yg_rundir_lock_write(fd, &l);
}

/* The lock is busy: if its holder only keeps the reverted box's console open
 * (YG_RUNDIR_HELD, console_hold), end it with SIGTERM and take the lock once
 * it has let go (it has nothing to clean up): true when taken. */
#define YG_CTL_HELD_WAIT_MS 5000
static bool let_go(int fd)
{
	struct yg_rundir_lock l;
	yg_err err;

	if (errno != EWOULDBLOCK || yg_rundir_lock_read(fd, &l, &err) < 0 ||
	    strcmp(l.holder, YG_RUNDIR_HELD) != 0 || l.pid <= 1 || kill(l.pid, SIGTERM) < 0) {
		errno = EWOULDBLOCK;
		return false;
	}
	for (int ms = 0; ms < YG_CTL_HELD_WAIT_MS; ms += 20) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return true;
		usleep(20 * 1000);
	}
	errno = EWOULDBLOCK;
	return false;
}

int yg_ctl_lock_take(const char *run_dir, const char *host, const char *domain,
		     const yg_policy *pol, struct yg_ctl_holder *h,
		     yg_err *err)
{
	char path[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	uid_t uid;
	gid_t gid;
	int fd, rc;

	rc = holder_begin(h, path, sizeof(path), run_dir, host, domain, err);
	if (rc < 0)
		return rc;
	fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		rc = yg_rundir_boxes_dir(dir, sizeof(dir), run_dir, err);
		if (rc < 0)
			return rc;
		if (stat(dir, &st) < 0 && errno == ENOENT)
			return -1;	/* no broker ever ran: nobody to race */
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
			  O_NONBLOCK | O_CLOEXEC, 0600);
		/* the broker only trusts lock files of its own user */
		if (fd >= 0 && geteuid() == 0 &&
		    yg_ctl_service_user(pol, &uid, &gid, NULL) == 0 &&
		    fchown(fd, uid, gid) < 0) {
			rc = yg_err_set(err, -errno, "cannot give %s to the "
					"service user: %s", path,
					strerror(errno));
			close(fd);
			return rc;
		}
	}
	if (fd < 0)
		return open_err(path, err);
	rc = check_fd(fd, path, err);
	if (rc == 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && !let_go(fd)) {
		rc = -errno;
		if (rc == -EWOULDBLOCK) {
			read_record(fd, h);
			h->busy = true;
		} else {
			yg_err_set(err, rc, "cannot lock %s: %s", path,
				   strerror(-rc));
		}
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	write_record(fd, -1);
	return fd;
}

/* Record how long the admin revert took, for status. */
void yg_ctl_lock_note_revert(int fd, long ms)
{
	if (fd >= 0)
		write_record(fd, ms);
}

void yg_ctl_holder_text(const struct yg_ctl_holder *h, char *buf, size_t len)
{
	char when[32] = "?";
	struct tm tm;
	time_t t;

	if (!h->known) {
		snprintf(buf, len, "another process%s%s%s", h->problem[0] ? " (" : "",
			 h->problem, h->problem[0] ? ")" : "");
		return;
	}
	t = (time_t)h->since;
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, len, "session %s (pid %d) since %s", h->session, h->pid,
		 when);
}
