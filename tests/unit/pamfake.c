/* SPDX-License-Identifier: MIT */
/* pamfake.c: see pamfake.h */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pamfake.h"

static void yg_fake_serve(yg_fake *f, int fd)
{
	yg_msg m, hello = { .type = YG_MSG_HELLO };
	yg_fake_step step = { .action = YG_FAKE_HANGUP };
	yg_frame_in in;
	int i;

	pthread_mutex_lock(&f->lock);
	i = f->nconn++;
	if (i < f->nsteps)
		step = f->steps[i];
	pthread_mutex_unlock(&f->lock);

	yg_frame_in_init(&in);
	if (yg_msg_recv(fd, &in, &m, 5000) < 0 || m.type != YG_MSG_HELLO)
		return;
	hello.u.hello.version = YG_PROTO_VERSION;
	strcpy(hello.u.hello.peer, "pamfake");
	if (yg_msg_send(fd, &hello, 5000) < 0 || yg_msg_recv(fd, &in, &m, 5000) < 0)
		return;
	if (i < YG_FAKE_MAX_STEPS) {
		pthread_mutex_lock(&f->lock);
		f->req[i] = m;
		pthread_mutex_unlock(&f->lock);
	}
	switch (step.action) {
	case YG_FAKE_REPLY:
		(void)!yg_msg_send(fd, &step.reply, 5000);
		break;
	case YG_FAKE_SILENT:
		/* until the client gives up (or 10 s pass) */
		while (yg_msg_recv(fd, &in, &m, 10000) == 0)
			;
		break;
	case YG_FAKE_HANGUP:
		break;
	}
}

static void *yg_fake_main(void *arg)
{
	yg_fake *f = arg;
	int fd;

	for (;;) {
		fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL;	/* shut down by yg_fake_stop */
		}
		yg_fake_serve(f, fd);
		close(fd);
	}
}

int yg_fake_start(yg_fake *f, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	memset(f, 0, sizeof(*f));
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(f->path, sizeof(f->path), "%s", path);
	strcpy(sa.sun_path, path);
	unlink(path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0)
		return -errno;
	if (bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(f->lfd, 8) < 0) {
		r = -errno;
		close(f->lfd);
		return r;
	}
	pthread_mutex_init(&f->lock, NULL);
	r = pthread_create(&f->thread, NULL, yg_fake_main, f);
	if (r) {
		close(f->lfd);
		return -r;
	}
	return 0;
}

void yg_fake_stop(yg_fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->lfd);
	unlink(f->path);
	pthread_mutex_destroy(&f->lock);
}

void yg_fake_script(yg_fake *f, const yg_fake_step *steps, int n)
{
	pthread_mutex_lock(&f->lock);
	memcpy(f->steps, steps, sizeof(*steps) * (size_t)n);
	f->nsteps = n;
	f->nconn = 0;
	memset(f->req, 0, sizeof(f->req));
	pthread_mutex_unlock(&f->lock);
}

int yg_fake_seen(yg_fake *f, int i, yg_msg *req)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = f->nconn;
	if (req && i >= 0 && i < YG_FAKE_MAX_STEPS)
		*req = f->req[i];
	pthread_mutex_unlock(&f->lock);
	return n;
}

yg_fake_step yg_fake_policy(int gated, int enabled, const char *text)
{
	yg_fake_step s = { .action = YG_FAKE_REPLY, .reply.type = YG_MSG_POLICY };

	s.reply.u.policy.gated = (uint8_t)gated;
	s.reply.u.policy.enabled = (uint8_t)enabled;
	snprintf(s.reply.u.policy.text, sizeof(s.reply.u.policy.text), "%s", text);
	return s;
}

yg_fake_step yg_fake_error(uint32_t code, const char *text)
{
	yg_fake_step s = { .action = YG_FAKE_REPLY, .reply.type = YG_MSG_ERROR };

	s.reply.u.error.code = code;
	snprintf(s.reply.u.error.text, sizeof(s.reply.u.error.text), "%s", text);
	return s;
}

yg_fake_step yg_fake_session(const char *id)
{
	yg_fake_step s = { .action = YG_FAKE_REPLY, .reply.type = YG_MSG_SESSION };

	snprintf(s.reply.u.session.session, sizeof(s.reply.u.session.session), "%s", id);
	return s;
}

yg_fake_step yg_fake_exit(uint32_t status, const char *reason)
{
	yg_fake_step s = { .action = YG_FAKE_REPLY, .reply.type = YG_MSG_EXIT };

	s.reply.u.exit.status = status;
	snprintf(s.reply.u.exit.reason, sizeof(s.reply.u.exit.reason), "%s", reason);
	return s;
}
