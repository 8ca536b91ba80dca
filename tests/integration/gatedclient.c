/* SPDX-License-Identifier: MIT */
/* gatedclient: a tiny scripted client of yolo-gated, for tests/integration/gated.sh.
 *
 *   gatedclient SOCKET open [--box B] [--session S] [--rows R --cols C] STEP...
 *       STEP: send TEXT (C escapes \r \n), expect TEXT (wait for it in the
 *       console output, 60 s), winch R C, exit (send EXIT), eof (close).
 *       Prints "PROGRESS text", "READY session box escape", "ERROR code text",
 *       "EXIT status reason", "EXPECT-OK text" / "EXPECT-FAIL text" lines on
 *       stdout; console bytes go to stderr. Exit 0 when every step passed.
 *   gatedclient SOCKET prepare USER | release ID | account USER
 *   gatedclient SOCKET badversion     HELLO with version 99
 *   gatedclient SOCKET zeroframe      a frame whose length is 0
 *   gatedclient SOCKET raw TYPE       HELLO, then a bare frame of TYPE (out of phase)
 * For every answer it prints one line and exits 0 if the broker answered,
 * 3 when the connection was just closed.
 * The normal paths (open, prepare, release, account) go through yg_client;
 * the bad ones write their frames themselves.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "yg_client.h"
#include "yg_proto.h"
#include "yg_time.h"

static yg_frame_in raw_in;	/* the bad paths' reader */
static yg_frame_in *in = &raw_in;
static char out[1 << 20];	/* console output since the last expect */
static size_t outlen;

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "gatedclient: cannot connect to %s: %s\n", path, strerror(errno));
		exit(4);
	}
	return fd;
}

static void send_or_die(int fd, const yg_msg *m)
{
	if (yg_msg_send(fd, m, 5000) < 0) {
		printf("SEND-FAILED %s\n", yg_msg_type_name(m->type));
		exit(3);
	}
}

static void hello(int fd, uint32_t version)
{
	yg_msg m = { .type = YG_MSG_HELLO };

	m.u.hello.version = version;
	snprintf(m.u.hello.peer, sizeof(m.u.hello.peer), "gatedclient");
	send_or_die(fd, &m);
}

/* Print one answer; returns its type, or 0 when the connection closed. */
static int answer(int fd, int timeout_ms, yg_msg *m)
{
	int r = yg_msg_recv(fd, in, m, timeout_ms);

	if (r < 0) {
		printf("CLOSED %s\n", r == -ETIMEDOUT ? "timeout" : strerror(-r));
		return 0;
	}
	switch (m->type) {
	case YG_MSG_HELLO: printf("HELLO %u %s\n", m->u.hello.version, m->u.hello.peer); break;
	case YG_MSG_PROGRESS: printf("PROGRESS %s\n", m->u.progress.text); break;
	case YG_MSG_READY:
		printf("READY %s %s %u\n", m->u.ready.session, m->u.ready.box, m->u.ready.escape);
		break;
	case YG_MSG_DATA:
		fwrite(m->u.data.bytes, 1, m->u.data.len, stderr);
		if (outlen + m->u.data.len < sizeof(out)) {
			memcpy(out + outlen, m->u.data.bytes, m->u.data.len);
			outlen += m->u.data.len;
		}
		break;
	case YG_MSG_EXIT: printf("EXIT %u %s\n", m->u.exit.status, m->u.exit.reason); break;
	case YG_MSG_ERROR: printf("ERROR %u %s\n", m->u.error.code, m->u.error.text); break;
	case YG_MSG_SESSION: printf("SESSION %s\n", m->u.session.session); break;
	case YG_MSG_POLICY:
		printf("POLICY %u %u %s\n", m->u.policy.gated, m->u.policy.enabled,
		       m->u.policy.text);
		break;
	default: printf("OTHER %s\n", yg_msg_type_name(m->type)); break;
	}
	fflush(stdout);
	return m->type;
}

static void unescape(const char *s, char *d, size_t *len)
{
	size_t n = 0;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			d[n++] = *s == 'r' ? '\r' : *s == 'n' ? '\n' : *s;
		} else {
			d[n++] = *s;
		}
	}
	*len = n;
}

static int expect(int fd, const char *text)
{
	uint64_t end = yg_now_ms() + 60000;
	yg_msg m;
	char *hit;

	for (;;) {
		out[outlen] = '\0';
		hit = memmem(out, outlen, text, strlen(text));
		if (hit) {
			size_t used = (size_t)(hit - out) + strlen(text);

			memmove(out, out + used, outlen - used);
			outlen -= used;
			printf("EXPECT-OK %s\n", text);
			return 0;
		}
		if (yg_now_ms() > end || !answer(fd, (int)(end - yg_now_ms()), &m) ||
		    m.type == YG_MSG_EXIT || m.type == YG_MSG_ERROR) {
			printf("EXPECT-FAIL %s\n", text);
			return 1;
		}
	}
}

static void print_progress(void *ctx, const char *text)
{
	(void)ctx;
	printf("PROGRESS %s\n", text);
}

/* One line for a failed yg_client call, as answer() prints them; returns
 * the exit status: 2 the broker answered otherwise, 3 the connection closed,
 * 4 the broker could not be reached. */
static int failed(const yg_client *c, int r, const yg_err *err)
{
	fprintf(stderr, "gatedclient: %s\n", err->msg);
	switch (-r) {
	case EREMOTEIO:
		printf("ERROR %u %s\n", c->refusal.code, c->refusal.text);
		return 2;
	case ECONNABORTED:
		printf("EXIT %u %s\n", c->ended.status, c->ended.reason);
		return 2;
	case EBADMSG:
	case EPROTONOSUPPORT:
		printf("OTHER %s\n", err->msg);
		return 2;
	default:
		if (!c->reached)
			return 4;
		printf("CLOSED %s\n", r == -ETIMEDOUT ? "timeout" : strerror(-r));
		return 3;
	}
}

/* Connect + HELLO through yg_client, waiting idle_ms at most per answer. */
static int connect_client(yg_client *c, const char *path, int idle_ms, yg_err *err)
{
	const yg_client_cfg cfg = { .socket = path, .name = "gatedclient", .timeout_ms = -1,
				    .idle_ms = idle_ms, .progress = print_progress };
	int r = yg_client_connect(c, &cfg, err);

	if (r == 0) {
		printf("HELLO %u %s\n", YG_PROTO_VERSION, c->broker);
		in = c->in;
	}
	return r;
}

static int do_open(const char *path, int argc, char **argv)
{
	yg_client_open_req o = { .tty = true, .term = "vt100", .rows = 24, .cols = 80 };
	yg_client_ready ready;
	yg_client c;
	yg_err err;
	yg_msg m;
	char buf[4096];
	int i = 0, fails = 0, fd, r;

	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--box"))
			o.box = argv[i + 1];
		else if (!strcmp(argv[i], "--session"))
			o.session = argv[i + 1];
		else if (!strcmp(argv[i], "--rows"))
			o.rows = (uint16_t)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--cols"))
			o.cols = (uint16_t)atoi(argv[i + 1]);
	}
	r = connect_client(&c, path, 180000, &err);
	if (r == 0)
		r = yg_client_open(&c, &o, &ready, &err);
	if (r < 0)
		return failed(&c, r, &err);
	printf("READY %s %s %u\n", ready.session, ready.box, ready.escape);
	fd = c.fd;
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "send") && i + 1 < argc) {
			m = (yg_msg){ .type = YG_MSG_DATA };
			unescape(argv[++i], buf, &m.u.data.len);
			m.u.data.bytes = (const uint8_t *)buf;
			send_or_die(fd, &m);
		} else if (!strcmp(argv[i], "expect") && i + 1 < argc) {
			fails += expect(fd, argv[++i]);
		} else if (!strcmp(argv[i], "winch") && i + 2 < argc) {
			m = (yg_msg){ .type = YG_MSG_WINCH };
			m.u.winch.rows = (uint16_t)atoi(argv[++i]);
			m.u.winch.cols = (uint16_t)atoi(argv[++i]);
			send_or_die(fd, &m);
		} else if (!strcmp(argv[i], "exit")) {
			m = (yg_msg){ .type = YG_MSG_EXIT };
			snprintf(m.u.exit.reason, sizeof(m.u.exit.reason), "escape");
			send_or_die(fd, &m);
			while (answer(fd, 120000, &m) && m.type != YG_MSG_EXIT)
				;
		} else if (!strcmp(argv[i], "pause") && i + 1 < argc) {	/* read nothing */
			sleep((unsigned)atoi(argv[++i]));
		} else if (!strcmp(argv[i], "wait")) {	/* until the broker ends it */
			while (answer(fd, 240000, &m) && m.type != YG_MSG_EXIT &&
			       m.type != YG_MSG_ERROR)
				;
		} else if (!strcmp(argv[i], "eof")) {
			close(fd);
			return fails ? 1 : 0;
		} else {
			fprintf(stderr, "gatedclient: bad step '%s'\n", argv[i]);
			return 4;
		}
	}
	return fails ? 1 : 0;
}

/* prepare USER | release ID | account USER: one typed call, one line. */
static int do_call(const char *path, const char *what, const char *arg)
{
	char sid[YG_SESSION_MAX + 1];
	yg_client_policy pol;
	yg_client_exit ex;
	yg_client c;
	bool greeted;
	yg_err err;
	int r;

	r = connect_client(&c, path, 240000, &err);
	greeted = r == 0;
	if (r == 0 && !strcmp(what, "prepare")) {
		r = yg_client_prepare(&c, arg, "", sid, &err);
		if (r == 0)
			printf("SESSION %s\n", sid);
	} else if (r == 0 && !strcmp(what, "release")) {
		r = yg_client_release(&c, arg, &ex, &err);
		if (r == 0)
			printf("EXIT %u %s\n", ex.status, ex.reason);
	} else if (r == 0) {
		r = yg_client_account(&c, arg, &pol, &err);
		if (r == 0)
			printf("POLICY %u %u %s\n", pol.gated, pol.enabled, pol.text);
	}
	if (r < 0) {
		r = failed(&c, r, &err);
		if (greeted && r == 2)	/* an answer, if not the expected one */
			r = 0;
	}
	yg_client_close(&c);
	return r;
}

int main(int argc, char **argv)
{
	yg_msg m = { 0 };
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: gatedclient SOCKET open|prepare|release|account|"
			"badversion|zeroframe|raw ...\n");
		return 4;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[2], "open"))
		return do_open(argv[1], argc - 3, argv + 3);
	if (argc > 3 && (!strcmp(argv[2], "prepare") || !strcmp(argv[2], "release") ||
			 !strcmp(argv[2], "account")))
		return do_call(argv[1], argv[2], argv[3]);
	yg_frame_in_init(in);
	fd = connect_to(argv[1]);
	if (!strcmp(argv[2], "badversion")) {
		hello(fd, 99);
	} else if (!strcmp(argv[2], "zeroframe")) {
		static const uint8_t zero[5] = { 0, 0, 0, 0, YG_MSG_HELLO };

		if (write(fd, zero, sizeof(zero)) != (ssize_t)sizeof(zero))
			return 3;
	} else if (!strcmp(argv[2], "raw") && argc > 3) {
		static uint8_t frame[5] = { 0, 0, 0, 1, 0 };

		hello(fd, YG_PROTO_VERSION);
		if (answer(fd, 10000, &m) != YG_MSG_HELLO)
			return 2;
		frame[4] = (uint8_t)atoi(argv[3]);
		if (write(fd, frame, sizeof(frame)) != (ssize_t)sizeof(frame))
			return 3;
	} else {
		return 4;
	}
	while (answer(fd, 240000, &m))
		if (m.type != YG_MSG_PROGRESS && m.type != YG_MSG_HELLO)
			return 0;
	return 3;
}
