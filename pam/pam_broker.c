/* pam_broker.c: see pam_broker.h */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pam_broker.h"
#include "yg_time.h"

#define YG_PAM_PEER "pam_yolo_gate " PACKAGE_VERSION

/* Wait for events on fd until deadline. Returns 0, -ETIMEDOUT or -errno. */
static int yg_pam_wait(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left;
	int r;

	for (;;) {
		left = deadline - (long long)yg_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int yg_pam_connect(const char *path, long long deadline, yg_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t elen = sizeof(int);
	int fd, e = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return yg_err_set(err, -ENAMETOOLONG, "socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return yg_err_set(err, -errno, "cannot create a unix socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	e = errno;
	if (e == EAGAIN || e == EINPROGRESS) {
		/* backlog full: wait for the broker to accept, within the bound */
		e = -yg_pam_wait(fd, POLLOUT, deadline);
		if (!e && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
			e = errno;
		if (!e)
			return fd;
	}
	close(fd);
	return yg_err_set(err, -e, "cannot connect to the broker at %s: %s", path, strerror(e));
}

/* Milliseconds left before deadline, at least 1 so that an expired bound
 * still lets poll() report data that is already there. */
static int yg_pam_left(long long deadline)
{
	long long left = deadline - (long long)yg_now_ms();

	return left < 1 ? 1 : (int)left;
}

static int yg_pam_send(int fd, const yg_msg *m, long long deadline, yg_err *err)
{
	int r = yg_msg_send(fd, m, yg_pam_left(deadline));

	if (r < 0)
		return yg_err_set(err, r, "cannot send %s to the broker: %s",
				  yg_msg_type_name(m->type), strerror(-r));
	return 0;
}

static int yg_pam_recv(int fd, yg_frame_in *in, yg_msg *m, long long deadline, yg_err *err)
{
	int r = yg_msg_recv(fd, in, m, yg_pam_left(deadline));

	switch (r) {
	case 0:
		return 0;
	case -ETIMEDOUT:
		return yg_err_set(err, r, "the broker did not answer in time");
	case -ECONNRESET:
		return yg_err_set(err, r, "the broker closed the connection without answering");
	case -EPROTO:
		return yg_err_set(err, r, "the broker sent a malformed message");
	default:
		return yg_err_set(err, r, "cannot read from the broker: %s", strerror(-r));
	}
}

static int yg_pam_exchange(int fd, yg_frame_in *in, const yg_msg *req, yg_msg *reply,
			   long long deadline, yg_err *err)
{
	yg_msg hello = { .type = YG_MSG_HELLO };
	int r;

	hello.u.hello.version = YG_PROTO_VERSION;
	strcpy(hello.u.hello.peer, YG_PAM_PEER);
	r = yg_pam_send(fd, &hello, deadline, err);
	if (r < 0)
		return r;
	r = yg_pam_recv(fd, in, reply, deadline, err);
	if (r < 0)
		return r;
	if (reply->type == YG_MSG_ERROR)
		return yg_err_set(err, -EPROTO, "the broker refused the connection: %s",
				  reply->u.error.text);
	if (reply->type != YG_MSG_HELLO || reply->u.hello.version != YG_PROTO_VERSION)
		return yg_err_set(err, -EPROTO, "the broker does not speak protocol version %u "
				  "(install matching versions of yolo-gated and pam_yolo_gate.so)",
				  YG_PROTO_VERSION);
	r = yg_pam_send(fd, req, deadline, err);
	if (r < 0)
		return r;
	do {
		r = yg_pam_recv(fd, in, reply, deadline, err);
	} while (r == 0 && reply->type == YG_MSG_PROGRESS);
	return r;
}

int yg_pam_broker_call(const char *socket_path, int timeout_ms, const yg_msg *req,
		       yg_msg *reply, yg_err *err)
{
	long long deadline = (long long)yg_now_ms() + timeout_ms;
	yg_frame_in *in;
	int fd, r;

	in = malloc(sizeof(*in));
	if (!in)
		return yg_err_set(err, -ENOMEM, "out of memory for the broker connection");
	yg_frame_in_init(in);
	fd = yg_pam_connect(socket_path, deadline, err);
	if (fd < 0) {
		free(in);
		return fd;
	}
	r = yg_pam_exchange(fd, in, req, reply, deadline, err);
	close(fd);
	free(in);
	return r;
}

bool yg_pam_broker_down(int r)
{
	switch (-r) {
	case ENOENT:
	case ENOTDIR:
	case EACCES:
	case ECONNREFUSED:
	case ETIMEDOUT:
	case ECONNRESET:
	case EPIPE:
	case EAGAIN:
		return true;
	default:
		return false;
	}
}

bool yg_pam_session_id_valid(const char *id)
{
	size_t n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");

	return n > 0 && n <= YG_SESSION_MAX && id[n] == '\0';
}
