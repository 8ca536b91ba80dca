/* SPDX-License-Identifier: MIT */
/* attackclient: hostile clients and a fake broker for the attack suite
 * (the scripts in tests/attack/). Exit 0 when the attacked side behaved, 1 when not,
 * 2 on a usage error, 4 when the broker could not be reached.
 *
 *   attackclient frame SOCK [--hello] LEN TYPE
 *       (HELLO first with --hello) a header announcing LEN bytes, TYPE, then
 *       up to 70000 bytes of payload; the broker must close the connection
 *       (an ERROR first is fine) within 10 s. Prints "ERROR code text" and
 *       "CLOSED" lines.
 *   attackclient churn SOCK N
 *       N connections, each closed at a different protocol step (connect,
 *       partial header, partial frame, HELLO unread, after HELLO, half an
 *       OPEN). Exit 1 when a connect fails (the broker died).
 *   attackclient openclose SOCK MS
 *       HELLO + OPEN, read what comes for MS milliseconds, close (no EXIT).
 *   attackclient execnull PATH
 *       execve PATH with argc = 0 (argv = { NULL }).
 *   attackclient fakebroker SOCK
 *       listen on SOCK, serve one client for 10 s: answer HELLO, print the
 *       client's HELLO peer and OPEN fields ("PEER ...", "TERM ...",
 *       "SESSION ..."), hex-dump every received byte to stderr, send ERROR.
 * The normal connect + HELLO goes through yg_client; every hostile byte is
 * written by hand.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "yg_client.h"
#include "yg_proto.h"

#define PAYLOAD_CAP 70000u

static yg_frame_in in;

static int sock_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		fprintf(stderr, "attackclient: socket path %s is too long\n", path);
		exit(2);
	}
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sock_addr(path, &sa);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int connect_or_die(const char *path)
{
	int fd = try_connect(path);

	if (fd < 0) {
		fprintf(stderr, "attackclient: cannot connect to %s: %s\n", path,
			strerror(errno));
		exit(4);
	}
	return fd;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;	/* the broker may close first: that is the point */
		p += n;
		len -= (size_t)n;
	}
}

/* The normal way in: connect + HELLO with yg_client, then the socket is
 * made blocking for the raw writes that follow. Exit 4 when the broker
 * cannot be reached; -1 when it did not greet. */
static int connect_hello(const char *path, yg_client *c)
{
	const yg_client_cfg cfg = { .socket = path, .name = "attackclient", .timeout_ms = -1,
				    .idle_ms = 10000 };
	yg_err err;
	int fl;

	if (yg_client_connect(c, &cfg, &err) < 0) {
		fprintf(stderr, "attackclient: %s\n", err.msg);
		if (!c->reached)
			exit(4);
		return -1;
	}
	fl = fcntl(c->fd, F_GETFL);
	if (fl < 0 || fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -1;
	return c->fd;
}

static void send_hello(int fd)
{
	yg_msg m = { .type = YG_MSG_HELLO };

	m.u.hello.version = YG_PROTO_VERSION;
	snprintf(m.u.hello.peer, sizeof(m.u.hello.peer), "attackclient");
	(void)!yg_msg_send(fd, &m, 5000);
}

static int read_hello(int fd)
{
	yg_msg m;

	return yg_msg_recv(fd, &in, &m, 10000) == 0 && m.type == YG_MSG_HELLO ? 0 : -1;
}

/* Until EOF (0) or timeout (-1); prints every decodable answer. */
static int drain(int fd, yg_frame_in *rd, int timeout_ms)
{
	yg_msg m;
	int r;

	for (;;) {
		r = yg_msg_recv(fd, rd, &m, timeout_ms);
		if (r == -ETIMEDOUT)
			return -1;
		if (r < 0) {
			printf("CLOSED %s\n", r == -EPROTO ? "bad-frame" : strerror(-r));
			return 0;
		}
		if (m.type == YG_MSG_ERROR)
			printf("ERROR %u %s\n", m.u.error.code, m.u.error.text);
		else
			printf("%s\n", yg_msg_type_name(m.type));
	}
}

static int do_frame(const char *path, int argc, char **argv)
{
	static uint8_t buf[5 + PAYLOAD_CAP];
	bool hello = argc > 0 && !strcmp(argv[0], "--hello");
	yg_frame_in *rd = &in;
	unsigned long len;
	yg_client c;
	size_t pay;
	int fd, rc;

	if (hello) {
		argc--;
		argv++;
	}
	if (argc != 2)
		return 2;
	len = strtoul(argv[0], NULL, 0);
	if (hello) {
		fd = connect_hello(path, &c);
		if (fd < 0) {
			printf("NO-HELLO\n");
			yg_client_close(&c);
			return 1;
		}
		rd = c.in;
	} else {
		fd = connect_or_die(path);
	}
	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	buf[4] = (uint8_t)strtoul(argv[1], NULL, 0);
	pay = len > 1 ? len - 1 : 0;
	if (pay > PAYLOAD_CAP)
		pay = PAYLOAD_CAP;
	memset(buf + 5, 'A', pay);
	write_all(fd, buf, len == 0 ? 4 + 1 : 5 + pay);
	rc = 0;
	if (drain(fd, rd, 10000) < 0) {
		printf("STILL-OPEN after 10 s\n");
		rc = 1;
	}
	if (hello)
		yg_client_close(&c);	/* its reader too: leak-checked builds */
	else
		close(fd);
	return rc;
}

static int do_churn(const char *path, long n)
{
	static const uint8_t partial_hdr[2] = { 0, 0 };
	static const uint8_t partial_frame[15] = { 0, 0, 0, 100, YG_MSG_HELLO, 0, 0, 0, 1 };
	yg_frame_out o;
	yg_msg open = { .type = YG_MSG_OPEN };
	long i;
	int fd;

	snprintf(open.u.open.term, sizeof(open.u.open.term), "vt100");
	if (yg_msg_encode(&open, &o) < 0)
		return 2;
	for (i = 0; i < n; i++) {
		fd = try_connect(path);
		if (fd < 0) {
			printf("CONNECT-FAILED at %ld: %s\n", i, strerror(errno));
			return 1;
		}
		switch (i % 6) {
		case 0: break;
		case 1: write_all(fd, partial_hdr, sizeof(partial_hdr)); break;
		case 2: write_all(fd, partial_frame, sizeof(partial_frame)); break;
		case 3: send_hello(fd); break;
		case 4: send_hello(fd); (void)read_hello(fd); break;
		default:
			send_hello(fd);
			(void)read_hello(fd);
			write_all(fd, o.buf, o.len / 2);
			break;
		}
		yg_frame_in_init(&in);
		close(fd);
	}
	printf("CHURN-DONE %ld\n", n);
	return 0;
}

static int do_openclose(const char *path, long ms)
{
	yg_msg m = { .type = YG_MSG_OPEN };
	yg_client c;
	int fd = connect_hello(path, &c);

	if (fd < 0) {
		yg_client_close(&c);
		return 1;
	}
	snprintf(m.u.open.term, sizeof(m.u.open.term), "vt100");
	m.u.open.mode = YG_OPEN_PLAIN;
	(void)!yg_msg_send(fd, &m, 5000);	/* then close without EXIT: not a normal OPEN */
	if (ms > 0)
		(void)drain(fd, c.in, (int)ms);
	yg_client_close(&c);
	return 0;
}

static void hexdump(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(stderr, "%02x", p[i]);
	fputc('\n', stderr);
}

/* One frame from fd; dumps its raw bytes. */
static int fake_recv(int fd, yg_msg *m)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	const uint8_t *payload;
	size_t len;
	uint8_t type;
	int r;

	for (;;) {
		r = yg_frame_next(&in, &type, &payload, &len);
		if (r < 0)
			return r;
		if (r == 1) {
			hexdump(payload - 5, len + 5);
			return yg_msg_decode(type, payload, len, m);
		}
		if (poll(&p, 1, 10000) <= 0)
			return -ETIMEDOUT;
		r = (int)yg_frame_in_fill(&in, fd);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0 && r != -EAGAIN)
			return r;
	}
}

static int do_fakebroker(const char *path)
{
	struct sockaddr_un sa;
	struct pollfd p;
	yg_msg m, r = { .type = YG_MSG_HELLO };
	int lfd, fd;

	sock_addr(path, &sa);
	unlink(path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0) {
		fprintf(stderr, "attackclient: cannot listen on %s: %s\n", path, strerror(errno));
		return 2;
	}
	printf("LISTENING\n");
	p = (struct pollfd){ .fd = lfd, .events = POLLIN };
	if (poll(&p, 1, 10000) <= 0 || (fd = accept(lfd, NULL, NULL)) < 0) {
		printf("NO-CLIENT\n");
		return 1;
	}
	if (fake_recv(fd, &m) < 0 || m.type != YG_MSG_HELLO) {
		printf("BAD-HELLO\n");
		return 1;
	}
	printf("PEER %s\n", m.u.hello.peer);
	r.u.hello.version = YG_PROTO_VERSION;
	snprintf(r.u.hello.peer, sizeof(r.u.hello.peer), "fakebroker");
	(void)!yg_msg_send(fd, &r, 5000);
	if (fake_recv(fd, &m) < 0 || m.type != YG_MSG_OPEN) {
		printf("BAD-OPEN\n");
		return 1;
	}
	printf("TERM %s\nSESSION %s\nBOX %s\nMODE %u\n", m.u.open.term, m.u.open.session,
	       m.u.open.box, m.u.open.mode);
	r = (yg_msg){ .type = YG_MSG_ERROR };
	r.u.error.code = YG_ERR_NOPOLICY;
	snprintf(r.u.error.text, sizeof(r.u.error.text), "fake broker: no box here");
	(void)!yg_msg_send(fd, &r, 5000);
	close(fd);
	close(lfd);
	unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	char *none[] = { NULL };

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	yg_frame_in_init(&in);
	if (argc == 3 && !strcmp(argv[1], "execnull")) {
		execve(argv[2], none, environ);
		fprintf(stderr, "attackclient: cannot execute %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	if (argc >= 4 && !strcmp(argv[1], "frame"))
		return do_frame(argv[2], argc - 3, argv + 3);
	if (argc == 4 && !strcmp(argv[1], "churn"))
		return do_churn(argv[2], strtol(argv[3], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "openclose"))
		return do_openclose(argv[2], strtol(argv[3], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "fakebroker"))
		return do_fakebroker(argv[2]);
	fprintf(stderr, "usage: attackclient frame|churn|openclose|execnull|fakebroker ...\n");
	return 2;
}
