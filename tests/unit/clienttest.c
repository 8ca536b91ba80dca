/* SPDX-License-Identifier: MIT */
/* clienttest: yg_client (src/core/yg_client.c) against a scripted fake broker
 * on a unix socket in a temp dir: HELLO both ways (good, version mismatch,
 * ERROR instead of HELLO, hang-up, silence, garbage), the bounded connect
 * (no socket, refused, a full backlog that stays full or drains), PROGRESS
 * before the answer, and each typed call with what it put on the wire. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "yg_client.h"
#include "yg_time.h"

/* ---- the fake broker: one connection, one script ---- */

enum fake_hello { H_OK, H_VERSION, H_ERROR, H_CLOSE, H_SILENT, H_REFUSE };
enum fake_end { E_CLOSE, E_SILENT };

typedef struct fake {
	char dir[32], path[64];
	int lfd, filler;
	pthread_t thread;
	bool running;
	int backlog;
	int accept_delay_ms;	/* before the first accept */
	bool no_accept;
	enum fake_hello hello;
	yg_msg hello_error;	/* H_ERROR */
	yg_msg replies[6];	/* after the request */
	int nreplies;
	bool garbage;		/* a frame of length 0 instead of the replies */
	enum fake_end end;
	/* seen, valid after fake_stop */
	yg_msg got_hello, got_req;
} fake;

static void fake_serve(fake *f, int fd)
{
	yg_msg m = { .type = YG_MSG_HELLO };
	yg_frame_in *in = malloc(sizeof(*in));
	int i;

	if (!in)
		return;
	yg_frame_in_init(in);
	if (f->hello == H_REFUSE) {	/* the parent over a cap: ERROR, close, no read */
		(void)!yg_msg_send(fd, &f->hello_error, 5000);
		goto out;
	}
	if (yg_msg_recv(fd, in, &f->got_hello, 5000) < 0)
		goto out;
	switch (f->hello) {
	case H_OK:
	case H_VERSION:
		m.u.hello.version = f->hello == H_OK ? YG_PROTO_VERSION : YG_PROTO_VERSION + 1;
		strcpy(m.u.hello.peer, "fakebroker");
		(void)!yg_msg_send(fd, &m, 5000);
		break;
	case H_ERROR:
		(void)!yg_msg_send(fd, &f->hello_error, 5000);
		goto out;
	case H_CLOSE:
	case H_REFUSE:
		goto out;
	case H_SILENT:
		while (yg_msg_recv(fd, in, &m, 10000) == 0)
			;
		goto out;
	}
	if (f->hello != H_OK || yg_msg_recv(fd, in, &f->got_req, 5000) < 0)
		goto out;
	if (f->garbage) {
		static const uint8_t zero[5] = { 0, 0, 0, 0, YG_MSG_DATA };

		(void)!write(fd, zero, sizeof(zero));
	}
	for (i = 0; i < f->nreplies && !f->garbage; i++)
		(void)!yg_msg_send(fd, &f->replies[i], 5000);
	if (f->end == E_SILENT)	/* until the client gives up */
		while (yg_msg_recv(fd, in, &m, 10000) == 0)
			;
out:
	free(in);
}

static void *fake_main(void *arg)
{
	fake *f = arg;
	int fd;

	if (f->accept_delay_ms)
		yg_sleep_ms((unsigned long)f->accept_delay_ms);
	if (f->filler >= 0) {	/* drain the connection that filled the backlog */
		fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			close(fd);
	}
	fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return NULL;
	fake_serve(f, fd);
	close(fd);
	return NULL;
}

static void fake_start(fake *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, f->backlog), 0);
	if (f->backlog == 0) {	/* one pending connection fills a backlog of 0 */
		f->filler = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(f->filler, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	if (!f->no_accept) {
		assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
		f->running = true;
	}
}

/* Wait for the fake to finish its connection (the client closed first). */
static void fake_stop(fake *f)
{
	if (f->running) {
		shutdown(f->lfd, SHUT_RDWR);	/* an accept that never came */
		pthread_join(f->thread, NULL);
		f->running = false;
	}
}

static int setup(void **state)
{
	fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/ygclient.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/gated.sock", f->dir);
	f->lfd = f->filler = -1;
	f->backlog = 8;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fake *f = *state;

	fake_stop(f);
	if (f->lfd >= 0)
		close(f->lfd);
	if (f->filler >= 0)
		close(f->filler);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ---- */

typedef struct progress_log {
	char text[4][64];
	int n;
} progress_log;

static void on_progress(void *ctx, const char *text)
{
	progress_log *p = ctx;

	if (p->n < 4)
		snprintf(p->text[p->n++], sizeof(p->text[0]), "%s", text);
}

static yg_client_cfg cfg_of(const fake *f)
{
	return (yg_client_cfg){ .socket = f->path, .name = "clienttest", .timeout_ms = 5000,
				.idle_ms = -1 };
}

#define assert_in(hay, needle) do { \
	if (!strstr((hay), (needle))) \
		fail_msg("'%s' not found in: %s", (needle), (hay)); \
} while (0)

static yg_msg msg_progress(const char *text)
{
	yg_msg m = { .type = YG_MSG_PROGRESS };

	snprintf(m.u.progress.text, sizeof(m.u.progress.text), "%s", text);
	return m;
}

static yg_msg msg_error(uint32_t code, const char *text)
{
	yg_msg m = { .type = YG_MSG_ERROR };

	m.u.error.code = code;
	snprintf(m.u.error.text, sizeof(m.u.error.text), "%s", text);
	return m;
}

static yg_msg msg_exit(uint32_t status, const char *reason)
{
	yg_msg m = { .type = YG_MSG_EXIT };

	m.u.exit.status = status;
	snprintf(m.u.exit.reason, sizeof(m.u.exit.reason), "%s", reason);
	return m;
}

/* ---- HELLO ---- */

static void test_hello_ok(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client c;
	yg_err err;

	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	assert_true(c.reached);
	assert_true(c.fd >= 0);
	assert_non_null(c.in);
	assert_string_equal(c.broker, "fakebroker");
	yg_client_close(&c);
	yg_client_close(&c);	/* twice is fine */
	assert_int_equal(c.fd, -1);
	fake_stop(f);
	assert_int_equal(f->got_hello.type, YG_MSG_HELLO);
	assert_int_equal(f->got_hello.u.hello.version, YG_PROTO_VERSION);
	assert_string_equal(f->got_hello.u.hello.peer, "clienttest " PACKAGE_VERSION);
}

static void test_hello_version(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client c;
	yg_err err;
	char want[160];

	f->hello = H_VERSION;
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), -EPROTONOSUPPORT);
	assert_false(yg_client_unreachable(err.code));
	snprintf(want, sizeof(want), "the gate service speaks protocol %u, this clienttest "
		 "speaks %u; ask your administrator to install matching versions",
		 YG_PROTO_VERSION + 1, YG_PROTO_VERSION);
	assert_string_equal(err.msg, want);
	yg_client_close(&c);
}

static void test_hello_error(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client c;
	yg_err err;

	f->hello = H_ERROR;
	f->hello_error = msg_error(YG_ERR_VERSION, "protocol version 1 is not spoken here");
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), -EREMOTEIO);
	assert_int_equal(c.refusal.code, YG_ERR_VERSION);
	assert_string_equal(c.refusal.text, "protocol version 1 is not spoken here");
	assert_string_equal(err.msg, "protocol version 1 is not spoken here");
	assert_false(yg_client_unreachable(-EREMOTEIO));
	yg_client_close(&c);
	fake_stop(f);
	close(f->lfd);
	unlink(f->path);

	/* an ERROR without text still gets a sentence */
	f->hello_error = msg_error(YG_ERR_INTERNAL, "");
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), -EREMOTEIO);
	assert_int_equal(c.refusal.code, YG_ERR_INTERNAL);
	assert_string_equal(c.refusal.text, "");
	assert_in(err.msg, "refused (error 10) without saying why; ask your administrator");
	yg_client_close(&c);
}

/* The broker's parent refuses a connection over its share with an ERROR and
 * closes without reading: whether the HELLO went out before the close or
 * failed with EPIPE after it, the client reports the ERROR, never a broken
 * pipe. Many rounds, so that both orders happen. */
static void test_refused_before_hello(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client c;
	yg_err err;

	f->hello = H_REFUSE;
	f->hello_error = msg_error(YG_ERR_BUSY, "you already have 32 connections to the gate");
	for (int i = 0; i < 1000; i++) {
		fake_start(f);
		assert_int_equal(yg_client_connect(&c, &cfg, &err), -EREMOTEIO);
		assert_int_equal(c.refusal.code, YG_ERR_BUSY);
		assert_string_equal(err.msg, "you already have 32 connections to the gate");
		yg_client_close(&c);
		fake_stop(f);
		close(f->lfd);
		unlink(f->path);
	}
}

static void test_hello_closed(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client c;
	yg_err err;

	f->hello = H_CLOSE;
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), -ECONNRESET);
	assert_true(c.reached);
	assert_int_equal(c.fd, -1);
	assert_true(yg_client_unreachable(err.code));
	assert_in(err.msg, "the gate service closed the connection while greeting it (");
	assert_in(err.msg, "); ask your administrator");
	yg_client_close(&c);
}

static void test_hello_idle_timeout(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client c;
	yg_err err;
	uint64_t t0;

	f->hello = H_SILENT;
	cfg.timeout_ms = -1;
	cfg.idle_ms = 250;
	fake_start(f);
	t0 = yg_now_ms();
	assert_int_equal(yg_client_connect(&c, &cfg, &err), -ETIMEDOUT);
	assert_true(yg_now_ms() - t0 >= 240);
	assert_true(yg_now_ms() - t0 < 2000);
	assert_true(yg_client_unreachable(err.code));
	assert_string_equal(err.msg, "the gate service did not answer for 250 ms while greeting "
			    "it; try again later or ask your administrator");
	yg_client_close(&c);
}

/* ---- connect ---- */

static void test_connect_errors(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char want[256], longpath[200];
	yg_client c;
	yg_err err;
	int fd;

	/* no socket */
	assert_int_equal(yg_client_connect(&c, &cfg, &err), -ENOENT);
	assert_false(c.reached);
	assert_true(yg_client_unreachable(err.code));
	snprintf(want, sizeof(want), "the gate service is not running (cannot connect to %s: "
		 "%s); ask your administrator", f->path, strerror(ENOENT));
	assert_string_equal(err.msg, want);
	yg_client_close(&c);

	/* a socket nobody listens on */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), -ECONNREFUSED);
	assert_true(yg_client_unreachable(err.code));
	yg_client_close(&c);
	unlink(f->path);

	/* a path sun_path cannot hold */
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	cfg.socket = longpath;
	assert_int_equal(yg_client_connect(&c, &cfg, &err), -ENAMETOOLONG);
	assert_false(yg_client_unreachable(err.code));
	assert_in(err.msg, "is too long; ask your administrator");
	yg_client_close(&c);
}

static void test_connect_backlog_full(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client c;
	yg_err err;
	uint64_t t0, dt;

	f->backlog = 0;
	f->no_accept = true;
	cfg.timeout_ms = 300;
	fake_start(f);
	t0 = yg_now_ms();
	assert_int_equal(yg_client_connect(&c, &cfg, &err), -ETIMEDOUT);
	dt = yg_now_ms() - t0;
	assert_true(dt >= 290);
	assert_true(dt < 2000);
	assert_true(yg_client_unreachable(err.code));
	assert_in(err.msg, "did not accept the connection within 300 ms; try again later");
	yg_client_close(&c);
}

static void test_connect_backlog_drains(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client_policy pol;
	yg_client c;
	yg_err err;

	/* the backlog is full for 200 ms, then the broker accepts: connect retries */
	f->backlog = 0;
	f->accept_delay_ms = 200;
	f->replies[0] = (yg_msg){ .type = YG_MSG_POLICY };
	f->nreplies = 1;
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	assert_int_equal(yg_client_account(&c, "alice", &pol, &err), 0);
	yg_client_close(&c);
	fake_stop(f);
	assert_int_equal(f->got_req.type, YG_MSG_ACCOUNT);
}

/* ---- the typed calls ---- */

static void test_account(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client_policy pol;
	yg_client c;
	yg_err err;

	f->replies[0] = (yg_msg){ .type = YG_MSG_POLICY };
	f->replies[0].u.policy.gated = 1;
	strcpy(f->replies[0].u.policy.text, "your box is disabled until Monday");
	f->nreplies = 1;
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	assert_int_equal(yg_client_account(&c, "alice", &pol, &err), 0);
	assert_true(pol.gated);
	assert_false(pol.enabled);
	assert_string_equal(pol.text, "your box is disabled until Monday");
	yg_client_close(&c);
	fake_stop(f);
	assert_int_equal(f->got_req.type, YG_MSG_ACCOUNT);
	assert_string_equal(f->got_req.u.account.user, "alice");
}

static void test_prepare(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	progress_log pl = { .n = 0 };
	char sid[YG_SESSION_MAX + 1];
	yg_client c;
	yg_err err;

	cfg.progress = on_progress;
	cfg.progress_ctx = &pl;
	f->replies[0] = msg_progress("reverting yolo-alice to clean-state ... 1.8 s");
	f->replies[1] = (yg_msg){ .type = YG_MSG_SESSION };
	strcpy(f->replies[1].u.session.session, "s-4f2a");
	f->nreplies = 2;
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	assert_int_equal(yg_client_prepare(&c, "alice", "192.0.2.7", sid, &err), 0);
	assert_string_equal(sid, "s-4f2a");
	assert_int_equal(pl.n, 1);
	assert_string_equal(pl.text[0], "reverting yolo-alice to clean-state ... 1.8 s");
	yg_client_close(&c);
	fake_stop(f);
	assert_int_equal(f->got_req.type, YG_MSG_PREPARE);
	assert_string_equal(f->got_req.u.prepare.user, "alice");
	assert_string_equal(f->got_req.u.prepare.from, "192.0.2.7");
}

static void test_prepare_no_from(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	char sid[YG_SESSION_MAX + 1];
	yg_client c;
	yg_err err;

	f->replies[0] = (yg_msg){ .type = YG_MSG_SESSION };
	strcpy(f->replies[0].u.session.session, "s-1");
	f->nreplies = 1;
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	assert_int_equal(yg_client_prepare(&c, "bob", NULL, sid, &err), 0);
	yg_client_close(&c);
	fake_stop(f);
	assert_string_equal(f->got_req.u.prepare.user, "bob");
	assert_string_equal(f->got_req.u.prepare.from, "");
}

static void test_release(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client_exit ex;
	yg_client c;
	yg_err err;

	f->replies[0] = msg_exit(0, "session released");
	f->nreplies = 1;
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	assert_int_equal(yg_client_release(&c, "s-4f2a", &ex, &err), 0);
	assert_int_equal(ex.status, 0);
	assert_string_equal(ex.reason, "session released");
	yg_client_close(&c);
	fake_stop(f);
	assert_int_equal(f->got_req.type, YG_MSG_RELEASE);
	assert_string_equal(f->got_req.u.release.session, "s-4f2a");
}

static void test_open_progress_ready(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client_open_req req = { .tty = true, .term = "xterm-256color", .rows = 40,
				   .cols = 120, .session = "s-9" };
	progress_log pl = { .n = 0 };
	yg_client_ready ready;
	yg_client c;
	yg_err err;
	yg_msg m;

	cfg.progress = on_progress;
	cfg.progress_ctx = &pl;
	f->replies[0] = msg_progress("waiting for the lock");
	f->replies[1] = msg_progress("reverting ... 0.4 s");
	f->replies[2] = (yg_msg){ .type = YG_MSG_READY };
	strcpy(f->replies[2].u.ready.session, "0123456789abcdef");
	strcpy(f->replies[2].u.ready.box, "yolo-alice");
	f->replies[2].u.ready.escape = 0x1d;
	f->replies[3] = (yg_msg){ .type = YG_MSG_DATA,
				  .u.data = { (const uint8_t *)"login: ", 7 } };
	f->nreplies = 4;
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	assert_int_equal(yg_client_open(&c, &req, &ready, &err), 0);
	assert_int_equal(pl.n, 2);
	assert_string_equal(pl.text[0], "waiting for the lock");
	assert_string_equal(pl.text[1], "reverting ... 0.4 s");
	assert_string_equal(ready.session, "0123456789abcdef");
	assert_string_equal(ready.box, "yolo-alice");
	assert_int_equal(ready.escape, 0x1d);
	/* the connection stays open for the relay: the DATA after READY is there */
	assert_int_equal(yg_msg_recv(c.fd, c.in, &m, 5000), 0);
	assert_int_equal(m.type, YG_MSG_DATA);
	assert_int_equal(m.u.data.len, 7);
	assert_memory_equal(m.u.data.bytes, "login: ", 7);
	yg_client_close(&c);
	fake_stop(f);
	assert_int_equal(f->got_req.type, YG_MSG_OPEN);
	assert_int_equal(f->got_req.u.open.mode, YG_OPEN_TTY);
	assert_string_equal(f->got_req.u.open.term, "xterm-256color");
	assert_int_equal(f->got_req.u.open.rows, 40);
	assert_int_equal(f->got_req.u.open.cols, 120);
	assert_string_equal(f->got_req.u.open.box, "");
	assert_string_equal(f->got_req.u.open.session, "s-9");
}

/* RUN: a command with a pty, then the subsystem; a command over
 * YG_CMD_MAX is refused before anything is sent. */
static void test_run(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client_open_req req = { .tty = true, .term = "xterm", .rows = 30, .cols = 100 };
	static char big[YG_CMD_MAX + 2];
	yg_client_ready ready;
	yg_client c;
	yg_err err;

	f->replies[0] = (yg_msg){ .type = YG_MSG_READY };
	strcpy(f->replies[0].u.ready.session, "00112233445566ff");
	strcpy(f->replies[0].u.ready.box, "yolo-alice");
	f->nreplies = 1;
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	memset(big, 'x', sizeof(big) - 1);
	assert_int_equal(yg_client_run(&c, &req, "", big, &ready, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "command"));
	assert_int_equal(yg_client_run(&c, &req, "", "cd work && make test", &ready, &err), 0);
	assert_string_equal(ready.box, "yolo-alice");
	yg_client_close(&c);
	fake_stop(f);
	assert_int_equal(f->got_req.type, YG_MSG_RUN);
	assert_int_equal(f->got_req.u.run.flags, YG_RUN_PTY);
	assert_string_equal(f->got_req.u.run.term, "xterm");
	assert_int_equal(f->got_req.u.run.rows, 30);
	assert_int_equal(f->got_req.u.run.cols, 100);
	assert_string_equal(f->got_req.u.run.subsystem, "");
	assert_string_equal(f->got_req.u.run.command, "cd work && make test");
}

static void test_open_refused(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client_open_req req = { .term = "vt100", .box = "yolo-bob" };
	yg_client_ready ready;
	yg_client c;
	yg_err err;

	f->replies[0] = msg_progress("checking");
	f->replies[1] = msg_error(YG_ERR_DENIED, "box yolo-bob is not yours");
	f->nreplies = 2;
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	assert_int_equal(yg_client_open(&c, &req, &ready, &err), -EREMOTEIO);
	assert_int_equal(c.refusal.code, YG_ERR_DENIED);
	assert_string_equal(c.refusal.text, "box yolo-bob is not yours");
	assert_string_equal(err.msg, "box yolo-bob is not yours");
	yg_client_close(&c);
	fake_stop(f);
	assert_int_equal(f->got_req.u.open.mode, YG_OPEN_PLAIN);
	assert_string_equal(f->got_req.u.open.box, "yolo-bob");
}

static void test_open_exit_before_ready(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client_open_req req = { .term = "vt100" };
	yg_client_ready ready;
	yg_client c;
	yg_err err;

	f->replies[0] = msg_exit(3, "session released");
	f->nreplies = 1;
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	assert_int_equal(yg_client_open(&c, &req, &ready, &err), -ECONNABORTED);
	assert_int_equal(c.ended.status, 3);
	assert_string_equal(c.ended.reason, "session released");
	assert_string_equal(err.msg, "session released");
	yg_client_close(&c);
}

static void test_wrong_answer(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client_policy pol;
	yg_client c;
	yg_err err;

	f->replies[0] = (yg_msg){ .type = YG_MSG_SESSION };
	strcpy(f->replies[0].u.session.session, "abc");
	f->nreplies = 1;
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	assert_int_equal(yg_client_account(&c, "alice", &pol, &err), -EBADMSG);
	assert_false(yg_client_unreachable(err.code));
	assert_string_equal(err.msg, "protocol error: the gate service sent SESSION before "
			    "POLICY; ask your administrator");
	yg_client_close(&c);
}

static void test_malformed(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client_exit ex;
	yg_client c;
	yg_err err;

	f->garbage = true;
	f->end = E_SILENT;
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	assert_int_equal(yg_client_release(&c, "s-1", &ex, &err), -EPROTO);
	assert_false(yg_client_unreachable(err.code));
	assert_string_equal(err.msg, "the gate service closed the connection while releasing "
			    "the session (protocol error); ask your administrator");
	yg_client_close(&c);
}

static void test_closed_before_answer(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	char sid[YG_SESSION_MAX + 1];
	yg_client c;
	yg_err err;

	f->nreplies = 0;	/* read the request, hang up */
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	assert_int_equal(yg_client_prepare(&c, "alice", "", sid, &err), -ECONNRESET);
	assert_true(yg_client_unreachable(err.code));
	assert_in(err.msg, "closed the connection while preparing the box");
	yg_client_close(&c);
	fake_stop(f);
	assert_int_equal(f->got_req.type, YG_MSG_PREPARE);
}

static void test_call_timeout(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client_policy pol;
	yg_client c;
	yg_err err;
	uint64_t t0, dt;

	/* the bound is on the whole connection, PROGRESS or not */
	cfg.timeout_ms = 300;
	f->replies[0] = msg_progress("thinking");
	f->nreplies = 1;
	f->end = E_SILENT;
	fake_start(f);
	t0 = yg_now_ms();
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	assert_int_equal(yg_client_account(&c, "alice", &pol, &err), -ETIMEDOUT);
	dt = yg_now_ms() - t0;
	assert_true(dt >= 290);
	assert_true(dt < 2000);
	assert_true(yg_client_unreachable(err.code));
	assert_string_equal(err.msg, "the gate service did not answer in time (within 300 ms) "
			    "while checking the account; try again later or ask your "
			    "administrator");
	yg_client_close(&c);
}

static void test_field_too_long(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	char user[YG_NAME_MAX + 2], sid[YG_SESSION_MAX + 1];
	yg_client_policy pol;
	yg_client c;
	yg_err err;

	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	fake_start(f);
	assert_int_equal(yg_client_connect(&c, &cfg, &err), 0);
	assert_int_equal(yg_client_account(&c, user, &pol, &err), -EINVAL);
	assert_in(err.msg, "the user name 'uuu");
	assert_in(err.msg, "is longer than the 64 bytes the gate protocol allows");
	assert_int_equal(yg_client_prepare(&c, "alice", user, sid, &err), -EINVAL);
	assert_in(err.msg, "remote host name");
	yg_client_close(&c);
	fake_stop(f);
	assert_int_equal(f->got_req.type, 0);	/* nothing was sent */
}

static void test_not_connected(void **state)
{
	fake *f = *state;
	yg_client_cfg cfg = cfg_of(f);
	yg_client_exit ex;
	yg_client c;
	yg_err err;

	assert_int_equal(yg_client_connect(&c, &cfg, &err), -ENOENT);
	assert_int_equal(yg_client_release(&c, "s-1", &ex, &err), -ENOTCONN);
	assert_in(err.msg, "not connected to the gate service");
	yg_client_close(&c);
	yg_client_close(NULL);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_hello_ok),
		T(test_hello_version),
		T(test_hello_error),
		T(test_refused_before_hello),
		T(test_hello_closed),
		T(test_hello_idle_timeout),
		T(test_connect_errors),
		T(test_connect_backlog_full),
		T(test_connect_backlog_drains),
		T(test_account),
		T(test_prepare),
		T(test_prepare_no_from),
		T(test_release),
		T(test_open_progress_ready),
		T(test_run),
		T(test_open_refused),
		T(test_open_exit_before_ready),
		T(test_wrong_answer),
		T(test_malformed),
		T(test_closed_before_answer),
		T(test_call_timeout),
		T(test_field_too_long),
		T(test_not_connected),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
