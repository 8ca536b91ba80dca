/* ctl_lock.c: the broker's box locks, seen from the admin side.
 *
 * The broker's session child holds flock(LOCK_EX) on
 * run_dir/boxes/<domain>.lock for the whole session and writes
 * "EPOCH SESSION PID\n" into it (src/gated/lifecycle.c).  yolo-gatectl
 * takes the same lock around its own reverts, so an admin revert never
 * races a login, and writes "EPOCH yolo-gatectl PID MS\n" where MS is how
 * long its revert took (status shows it as the last revert time).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

static int lock_path(char *buf, size_t len, const char *run_dir,
		     const char *domain, yg_err *err)
{
	int n = snprintf(buf, len, "%s/boxes/%s.lock", run_dir, domain);

	if (n < 0 || (size_t)n >= len)
		return yg_err_set(err, -ENAMETOOLONG, "the lock path of box "
				  "%s under %s is too long; use a shorter "
				  "[gate] run_dir", domain, run_dir);
	return 0;
}

static void read_record(int fd, struct yg_ctl_holder *h)
{
	char rec[128];
	ssize_t n = pread(fd, rec, sizeof(rec) - 1, 0);
	long ms = -1;
	int k;

	rec[n > 0 ? n : 0] = '\0';
	k = sscanf(rec, "%lld %39s %d %ld", &h->since, h->session, &h->pid,
		   &ms);
	h->known = k >= 3;
	h->last_revert_ms = k == 4 && ms >= 0 ? ms : -1;
	if (!h->known) {
		h->since = 0;
		h->session[0] = '\0';
		h->pid = 0;
	}
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

/* An empty holder record and the path of DOMAIN's lock. */
static int holder_begin(struct yg_ctl_holder *h, char *path, size_t size,
			const char *run_dir, const char *domain, yg_err *err)
{
	memset(h, 0, sizeof(*h));
	h->last_revert_ms = -1;
	return lock_path(path, size, run_dir, domain, err);
}

int yg_ctl_lock_probe(const char *run_dir, const char *domain,
		      struct yg_ctl_holder *h, yg_err *err)
{
	char path[PATH_MAX];
	int fd, rc;

	rc = holder_begin(h, path, sizeof(path), run_dir, domain, err);
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
	}
	close(fd);
	return rc;
}

static void write_record(int fd, long ms)
{
	char rec[96];
	int n;

	if (ms >= 0)
		n = snprintf(rec, sizeof(rec), "%lld yolo-gatectl %d %ld\n",
			     (long long)time(NULL), (int)getpid(), ms);
	else
		n = snprintf(rec, sizeof(rec), "%lld yolo-gatectl %d\n",
			     (long long)time(NULL), (int)getpid());
	/* best effort: the record is only information for status */
	if (ftruncate(fd, 0) == 0 && pwrite(fd, rec, (size_t)n, 0) == n)
		return;
}

int yg_ctl_lock_take(const char *run_dir, const char *domain,
		     const yg_policy *pol, struct yg_ctl_holder *h,
		     yg_err *err)
{
	char path[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	uid_t uid;
	gid_t gid;
	int fd, rc;

	rc = holder_begin(h, path, sizeof(path), run_dir, domain, err);
	if (rc < 0)
		return rc;
	fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		snprintf(dir, sizeof(dir), "%s/boxes", run_dir);
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
	if (rc == 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
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
		snprintf(buf, len, "another process");
		return;
	}
	t = (time_t)h->since;
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, len, "session %s (pid %d) since %s", h->session, h->pid,
		 when);
}
