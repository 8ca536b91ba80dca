/* SPDX-License-Identifier: MIT */
/* handoff.c: one box, one owner.
 *
 * The child that holds a box's lock listens on run_dir/boxes/<domain>.sock
 * (0600, the broker's user). A later child that finds the box locked does not
 * touch the box: it connects there and passes its client's fd, the client's
 * uid and the decoded request with SCM_RIGHTS, then exits without waiting. The owner checks
 * that the sender runs as the broker's user (SO_PEERCRED) and decides.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "gated.h"
#include "yg_rundir.h"

static int rdv_path(const char *run_dir, const char *domain, struct sockaddr_un *sa,
		    yg_err *err)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	return yg_rundir_sock_path(sa->sun_path, sizeof(sa->sun_path), run_dir, domain, err);
}

int yg_gd_rdv_listen(const char *run_dir, const char *domain, char *path, size_t pathlen,
		     yg_err *err)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, r;

	r = rdv_path(run_dir, domain, &sa, err);
	if (r < 0)
		return r;
	/* a stale socket from a dead owner: we hold the lock, so it is ours */
	if (lstat(sa.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return yg_err_set(err, -errno, "cannot create a socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(sa.sun_path, 0600) < 0 || listen(fd, 4) < 0) {
		r = -errno;
		close(fd);
		return yg_err_set(err, r, "cannot listen on %s: %s; check that %s/boxes is "
				  "owned by the broker's user", sa.sun_path, strerror(-r), run_dir);
	}
	snprintf(path, pathlen, "%s", sa.sun_path);
	return fd;
}

int yg_gd_rdv_accept(int lfd, int *fd, struct yg_gd_handoff *h)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct iovec iov = { .iov_base = h, .iov_len = sizeof(*h) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct cmsghdr *c;
	struct pollfd pfd;
	ssize_t n;
	int cfd, r = -EPROTO;

	*fd = -1;
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return -errno;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    cred.uid != geteuid()) {
		r = -EPERM;
		goto out;
	}
	pfd = (struct pollfd){ .fd = cfd, .events = POLLIN };
	if (poll(&pfd, 1, 2000) <= 0) {
		r = -ETIMEDOUT;
		goto out;
	}
	n = recvmsg(cfd, &mh, MSG_CMSG_CLOEXEC);
	if (n <= 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		goto out;
	/* a RUN's handoff is 33 KB: the socket may hand it out in parts */
	while (n < (ssize_t)sizeof(*h)) {
		ssize_t k;

		if (poll(&pfd, 1, 2000) <= 0)
			break;
		k = recv(cfd, (char *)h + n, sizeof(*h) - (size_t)n, 0);
		if (k <= 0)
			break;
		n += k;
	}
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	}
	if (*fd < 0)
		goto out;
	if (n != (ssize_t)sizeof(*h)) {
		close(*fd);
		*fd = -1;
		goto out;
	}
	/* strings must be terminated whatever the sender did */
	h->box[sizeof(h->box) - 1] = '\0';
	h->session[sizeof(h->session) - 1] = '\0';
	h->term[sizeof(h->term) - 1] = '\0';
	h->from[sizeof(h->from) - 1] = '\0';
	h->user[sizeof(h->user) - 1] = '\0';
	h->run.term[sizeof(h->run.term) - 1] = '\0';
	h->run.subsystem[sizeof(h->run.subsystem) - 1] = '\0';
	h->run.command[sizeof(h->run.command) - 1] = '\0';
	if (h->type != YG_MSG_OPEN && h->type != YG_MSG_PREPARE && h->type != YG_MSG_RELEASE &&
	    h->type != YG_MSG_RUN) {
		close(*fd);
		*fd = -1;
		goto out;
	}
	r = 0;
out:
	close(cfd);
	return r;
}

int yg_gd_rdv_send(const char *run_dir, const char *domain, int fd,
		   const struct yg_gd_handoff *h, int wait_ms)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct sockaddr_un sa;
	struct iovec iov = { .iov_base = (void *)h, .iov_len = sizeof(*h) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *c;
	int s, r, waited = 0;

	r = rdv_path(run_dir, domain, &sa, NULL);
	if (r < 0)
		return r;
	for (;;) {
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0)
			return -errno;
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		r = -errno;
		close(s);
		if (waited >= wait_ms)
			return r;
		usleep(50 * 1000);
		waited += 50;
	}
	memset(&cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&mh);
	if (!c) {
		close(s);
		return -EINVAL;
	}
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	/* Once sent, the fd is in flight: the owner accepts it when its loop
	 * comes round (it may be busy reverting), or it is closed with the
	 * socket if the owner dies, and the client sees EOF. */
	r = sendmsg(s, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(*h) ? 0 : -EIO;
	close(s);
	return r;
}
