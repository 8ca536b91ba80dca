/* SPDX-License-Identifier: MIT */
/* yg_rundir_host.c: the box keys (a box of another host than the gate's
 * own) and the host records of run_dir/hosts/, see yg_rundir.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "yg_path.h"
#include "yg_rundir.h"
#include "yg_rundir_int.h"

#define HOST_TAG "yg-host"

static bool host_ok(const char *host)
{
	size_t n = strnlen(host, YG_RUNDIR_NAME_MAX + 1);

	return yg_rd_name_ok(host, n, YG_RUNDIR_NAME_MAX) && !memchr(host, '@', n);
}

int yg_rundir_box_key(char *buf, size_t len, const char *host, const char *domain,
		      yg_err *err)
{
	bool local = !host || !*host || !strcmp(host, YG_RUNDIR_HOST_LOCAL);
	int r = yg_rd_check_name(domain, YG_RUNDIR_NAME_MAX, err);

	if (r == 0 && (strchr(domain, '@') || (!local && !host_ok(host))))
		return yg_err_set(err, -EINVAL, "box %s on host %s cannot name a file in "
				  "run_dir: names are 1 to %u printable characters without "
				  "'/' or '@'", domain, local ? YG_RUNDIR_HOST_LOCAL : host,
				  YG_RUNDIR_NAME_MAX);
	if (r == 0 && (local ? yg_pathf(buf, len, "%s", domain) :
		       yg_pathf(buf, len, "%s@%s", domain, host)) < 0)
		r = yg_err_set(err, -ENAMETOOLONG, "the run_dir name of box %s on host %s is "
			       "too long", domain, host);
	return r;
}

int yg_rundir_box_key_split(const char *key, char *host, size_t hlen, char *domain,
			    size_t dlen)
{
	const char *at = strchr(key, '@');
	size_t dl = at ? (size_t)(at - key) : strlen(key);

	if (dl == 0 || dl >= dlen || (at && (!at[1] || strchr(at + 1, '@') ||
					    strlen(at + 1) >= hlen)))
		return -EINVAL;
	memcpy(domain, key, dl);
	domain[dl] = '\0';
	snprintf(host, hlen, "%s", at ? at + 1 : YG_RUNDIR_HOST_LOCAL);
	return 0;
}


/* ---- run_dir/hosts/HOST: "yg-host 1 SINCE\n" ---- */

int yg_rundir_hosts_dir(char *buf, size_t len, const char *run_dir, yg_err *err)
{
	if (yg_pathf(buf, len, "%s/hosts", run_dir) < 0)
		return yg_err_set(err, -ENAMETOOLONG, "%s/hosts is too long; use a shorter "
				  "[gate] run_dir", run_dir);
	return 0;
}

static int host_path(char *buf, size_t len, const char *run_dir, const char *host,
		     yg_err *err)
{
	if (!host || !host_ok(host) || !strcmp(host, YG_RUNDIR_HOST_LOCAL))
		return yg_err_set(err, -EINVAL, "'%s' is not a host of a host record",
				  host ? host : "");
	if (yg_pathf(buf, len, "%s/hosts/%s", run_dir, host) < 0)
		return yg_err_set(err, -ENAMETOOLONG, "the host record of %s under %s is too "
				  "long; use a shorter [gate] run_dir", host, run_dir);
	return 0;
}

int yg_rundir_host_format(long long since, char *buf, size_t len)
{
	int n;

	if (since <= 0)
		return -EINVAL;
	n = snprintf(buf, len, HOST_TAG " %u %lld\n", YG_RUNDIR_VERSION, since);
	return n < 0 || (size_t)n >= len ? -EOVERFLOW : n;
}

int yg_rundir_host_parse(const char *buf, size_t len, long long *since, yg_err *err)
{
	unsigned long long v;
	unsigned version;
	int off;

	*since = 0;
	off = yg_rd_check_head(buf, len, YG_RUNDIR_HOST_MAX, HOST_TAG, ' ', "host record",
			       YG_RUNDIR_VERSION, &version, err);
	if (off < 0)
		return off;
	if (buf[len - 1] != '\n' || (size_t)off >= len - 1 ||
	    !yg_rd_dec_parse(buf + off, len - 1 - (size_t)off, (unsigned long long)LLONG_MAX,
			     &v) || v == 0)
		return yg_err_set(err, -EINVAL, "the host record is not \"%s %u SINCE\" and a "
				  "newline", HOST_TAG, YG_RUNDIR_VERSION);
	*since = (long long)v;
	return 0;
}

/* The record of path into *since: 0, -ENOENT, or another -errno with err. */
static int host_read(const char *path, long long *since, yg_err *err)
{
	char buf[YG_RUNDIR_HOST_MAX + 1];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), r;
	struct stat st;

	*since = 0;
	if (fd < 0)
		return errno == ENOENT ? -ENOENT :
		       yg_err_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return yg_err_set(err, -EINVAL, "%s is not a regular file", path);
	}
	n = yg_rd_read_some(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return yg_err_set(err, (int)n, "cannot read %s: %s", path, strerror((int)-n));
	r = yg_rundir_host_parse(buf, (size_t)n, since, err);
	if (r < 0)
		yg_err_prefix(err, "%s", path);
	return r;
}

int yg_rundir_host_since(const char *run_dir, const char *host, long long *since,
			 yg_err *err)
{
	char path[PATH_MAX];
	int r = host_path(path, sizeof(path), run_dir, host, err);

	return r < 0 ? r : host_read(path, since, err);
}

int yg_rundir_host_down(const char *run_dir, const char *host, long long now,
			long long *since, yg_err *err)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], buf[YG_RUNDIR_HOST_MAX + 1];
	int r = host_path(path, sizeof(path), run_dir, host, err), fd, n;

	*since = now;
	if (r < 0)
		return r;
	if (host_read(path, since, NULL) == 0)
		return 0;	/* down since then */
	*since = now;
	n = yg_rundir_host_format(now, buf, sizeof(buf));
	if (n < 0 || yg_pathf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) < 0)
		return yg_err_set(err, -EINVAL, "cannot write the host record of %s", host);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return yg_err_set(err, -errno, "cannot write %s: %s", tmp, strerror(errno));
	r = write(fd, buf, (size_t)n) == n ? 0 : -ENOSPC;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	/* link, not rename: the first of several sessions that found the host
	 * down keeps its time */
	if (r == 0 && link(tmp, path) < 0 && errno != EEXIST)
		r = -errno;
	unlink(tmp);
	if (r < 0)
		return yg_err_set(err, r, "cannot write %s: %s", path, strerror(-r));
	if (host_read(path, since, NULL) < 0)
		*since = now;
	return 0;
}

int yg_rundir_host_up(const char *run_dir, const char *host)
{
	char path[PATH_MAX];

	if (host_path(path, sizeof(path), run_dir, host, NULL) < 0)
		return -EINVAL;
	if (unlink(path) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}
