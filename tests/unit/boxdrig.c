/* SPDX-License-Identifier: MIT */
/* boxdrig.c: see boxdrig.h. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "boxdrig.h"
#include "yg_time.h"
struct boxd_host H = { .fd = -1 };

const char *boxd_bin(void)
{
	static char path[4096];
	const char *top = getenv("top_builddir");

	if (!top)
		return BOXD_PATH_BIN;
	snprintf(path, sizeof(path), "%s/guest/boxd/yolo-boxd", top);
	return path;
}

const char *me(void)
{
	struct passwd *pw = getpwuid(geteuid());

	assert_non_null(pw);
	return pw->pw_name;
}

/* yolo-boxd on fd 3 of its own: a connected socket, or a listening one */
void boxd_start(bool listening)
{
	int sv[2] = { -1, -1 }, child_fd;
	char user[256];

	signal(SIGPIPE, SIG_IGN);
	snprintf(user, sizeof(user), "%s", me());
	if (listening) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		snprintf(H.sock, sizeof(H.sock), "/tmp/boxdtest.%d.sock", (int)getpid());
		unlink(H.sock);
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", H.sock);
		child_fd = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_true(child_fd >= 0);
		assert_int_equal(bind(child_fd, (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(listen(child_fd, 4), 0);
	} else {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		child_fd = sv[1];
		H.fd = sv[0];
	}
	H.pid = fork();
	assert_true(H.pid >= 0);
	if (H.pid == 0) {
		dup2(child_fd, 3);
		execl(boxd_bin(), "yolo-boxd", "--fd", "3", "--foreground", "--user", user,
		      getenv("BOXD_VERBOSE") ? "-v" : NULL, (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", boxd_bin(), strerror(errno));
		_exit(127);
	}
	close(child_fd);
	yg_frame_in_init(&H.in);
}

void host_connect(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", H.sock);
	H.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(H.fd >= 0);
	assert_int_equal(connect(H.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	yg_frame_in_init(&H.in);
}

void boxd_stop(void)
{
	int st;

	if (H.fd >= 0)
		close(H.fd);
	H.fd = -1;
	if (H.pid > 0) {
		kill(H.pid, SIGTERM);
		waitpid(H.pid, &st, 0);
	}
	H.pid = 0;
	if (H.sock[0])
		unlink(H.sock);
	H.sock[0] = '\0';
}

void send_raw(const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len) {
		ssize_t n = write(H.fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		b += n;
		len -= (size_t)n;
	}
}

void host_send(const yg_chan_msg *m)
{
	static uint8_t buf[4 + YG_FRAME_MAX];
	size_t len;

	assert_int_equal(yg_chan_encode(m, buf, sizeof(buf), &len), 0);
	send_raw(buf, len);
}

/* Next frame from boxd: 0, -ETIMEDOUT or -ECONNRESET (boxd closed). */
int host_recv(yg_chan_msg *m, int timeout_ms)
{
	uint64_t deadline = yg_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		const uint8_t *payload;
		size_t len;
		uint8_t type;
		struct pollfd p = { .fd = H.fd, .events = POLLIN };
		int r = yg_frame_next(&H.in, &type, &payload, &len);
		ssize_t n;

		assert_true(r >= 0);
		if (r == 1) {
			assert_int_equal(yg_chan_decode(type, payload, len, m), 0);
			return 0;
		}
		r = poll(&p, 1, yg_ms_left(deadline));
		if (r == 0)
			return -ETIMEDOUT;
		n = yg_frame_in_fill(&H.in, H.fd);
		if (n == 0 || n == -ECONNRESET)
			return -ECONNRESET;
		assert_true(n > 0 || n == -EAGAIN);
	}
}

void host_hello(void)
{
	yg_chan_msg *m = &H.out;

	memset(m, 0, sizeof(m->u.hello) + offsetof(yg_chan_msg, u));
	m->type = YG_CHAN_MSG_HELLO;
	m->u.hello.version = YG_CHAN_VERSION;
	strcpy(m->u.hello.peer, "boxdtest");
	host_send(m);
	assert_int_equal(host_recv(&H.m, TIMEOUT_MS), 0);
	assert_int_equal(H.m.type, YG_CHAN_MSG_HELLO);
	assert_int_equal(H.m.u.hello.version, YG_CHAN_VERSION);
	assert_true(H.m.u.hello.features & YG_CHAN_F_EXEC);
	assert_true(H.m.u.hello.features & YG_CHAN_F_PTY);
	assert_true(H.m.u.hello.features & YG_CHAN_F_WAKE);
	assert_true(H.m.u.hello.features & YG_CHAN_F_CONSIZE);
	assert_non_null(strstr(H.m.u.hello.peer, "yolo-boxd"));
}

void exec_send(uint32_t stream, uint8_t flags, const char *cmd)
{
	yg_chan_msg *m = &H.out;

	memset(m, 0, offsetof(yg_chan_msg, u) + offsetof(__typeof__(m->u.exec), strings));
	m->type = YG_CHAN_MSG_EXEC;
	m->stream = stream;
	m->u.exec.flags = flags;
	m->u.exec.rows = 24;
	m->u.exec.cols = 80;
	if (flags & YG_CHAN_EXEC_PTY)
		strcpy(m->u.exec.term, "xterm");
	m->u.exec.argc = 3;
	m->u.exec.argv[0] = "/bin/sh";
	m->u.exec.argv[1] = "-c";
	m->u.exec.argv[2] = cmd;
	m->u.exec.envc = 1;
	m->u.exec.envp[0] = "BOXDTEST=1";
	host_send(m);
}

void send_small(uint8_t type, uint32_t stream, uint32_t v)
{
	yg_chan_msg m = { .type = type, .stream = stream };

	switch (type) {
	case YG_CHAN_MSG_WINDOW: m.u.window.bytes = v; break;
	case YG_CHAN_MSG_SIGNAL: m.u.signal.signo = (uint8_t)v; break;
	case YG_CHAN_MSG_EOF: m.u.eof.fd = (uint8_t)v; break;
	case YG_CHAN_MSG_RESIZE: m.u.resize.rows = (uint16_t)(v >> 16); m.u.resize.cols = (uint16_t)v; break;
	default: break;
	}
	host_send(&m);
}

void send_data(uint32_t stream, const void *p, size_t len)
{
	yg_chan_msg m = { .type = YG_CHAN_MSG_DATA, .stream = stream };

	m.u.data.fd = 0;
	m.u.data.bytes = p;
	m.u.data.len = len;
	host_send(&m);
}


void run_cmd(uint32_t stream, struct run *r)
{
	yg_chan_credit tx, rx;
	size_t sent = 0;
	bool eof_sent = false, held = r->hold_until != NULL, held_resize = r->resize != 0;
	size_t unpassed = 0;

	yg_chan_credit_init(&tx);
	yg_chan_credit_init(&rx);
	exec_send(stream, r->flags, r->cmd);
	for (;;) {
		yg_chan_msg *m = &H.m;
		size_t room = yg_chan_credit_room(&tx);

		while (!held && sent < r->in_len && room) {
			size_t k = r->in_len - sent;

			if (k > YG_CHAN_DATA_MAX)
				k = YG_CHAN_DATA_MAX;
			if (k > room)
				k = room;
			assert_true(yg_chan_credit_take(&tx, k));
			send_data(stream, r->in + sent, k);
			sent += k;
			room = yg_chan_credit_room(&tx);
		}
		if (!held && sent == r->in_len && r->eof && !eof_sent) {
			send_small(YG_CHAN_MSG_EOF, stream, 0);
			eof_sent = true;
		}
		if (r->slow && yg_chan_credit_room(&rx) == 0) {
			/* boxd is at its credit: no DATA may come now */
			if (host_recv(m, 50) == -ETIMEDOUT) {
				uint32_t w = yg_chan_credit_passed(&rx, unpassed);

				assert_true(w > 0);
				unpassed = 0;
				r->stalls++;
				send_small(YG_CHAN_MSG_WINDOW, stream, w);
				continue;
			}
			assert_false(m->type == YG_CHAN_MSG_DATA && m->stream == stream);
		} else {
			assert_int_equal(host_recv(m, TIMEOUT_MS), 0);
		}
		if (m->stream != stream)
			continue;
		switch (m->type) {
		case YG_CHAN_MSG_STARTED:
			r->pid = (pid_t)m->u.started.pid;
			if (r->signo)
				send_small(YG_CHAN_MSG_SIGNAL, stream, (uint32_t)r->signo);
			break;
		case YG_CHAN_MSG_DATA:
			/* never more than the credit the host gave */
			assert_true(yg_chan_credit_take(&rx, m->u.data.len));
			assert_true(m->u.data.fd == 1 || m->u.data.fd == 2);
			assert_false(r->eof_seen[m->u.data.fd]);
			if (m->u.data.fd == 1) {
				assert_true(m->u.data.len <= r->out_cap - r->out_len);
				memcpy(r->out + r->out_len, m->u.data.bytes, m->u.data.len);
				r->out_len += m->u.data.len;
			} else {
				assert_true(m->u.data.len < sizeof(r->err) - r->err_len);
				memcpy(r->err + r->err_len, m->u.data.bytes, m->u.data.len);
				r->err_len += m->u.data.len;
			}
			unpassed += m->u.data.len;
			if (!r->slow) {
				uint32_t w = yg_chan_credit_passed(&rx, m->u.data.len);

				if (w)
					send_small(YG_CHAN_MSG_WINDOW, stream, w);
			}
			if (held && r->out_len < r->out_cap) {
				r->out[r->out_len] = 0;
				held = !strstr((char *)r->out, r->hold_until);
			}
			if (held_resize && !held) {
				held_resize = false;
				send_small(YG_CHAN_MSG_RESIZE, stream, r->resize);
			}
			break;
		case YG_CHAN_MSG_WINDOW:
			assert_true(yg_chan_credit_give(&tx, m->u.window.bytes));
			break;
		case YG_CHAN_MSG_EOF:
			assert_true(m->u.eof.fd == 1 || m->u.eof.fd == 2);
			r->eof_seen[m->u.eof.fd] = true;
			break;
		case YG_CHAN_MSG_EXITED:
			assert_true(r->eof_seen[1]);
			assert_true(r->eof_seen[2] || (r->flags & YG_CHAN_EXEC_PTY));
			r->how = m->u.exited.how;
			r->value = m->u.exited.value;
			return;
		case YG_CHAN_MSG_FAILED:
			r->how = -1;
			r->code = m->u.failed.code;
			snprintf(r->text, sizeof(r->text), "%s", m->u.failed.text);
			return;
		default:
			fail_msg("unexpected %s from boxd", yg_chan_type_name(m->type));
		}
	}
}

uint8_t outbuf[8u << 20];

void run_simple(uint32_t stream, const char *cmd, struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->cmd = cmd;
	r->out = outbuf;
	r->out_cap = sizeof(outbuf) - 1;
	r->eof = true;
	run_cmd(stream, r);
	outbuf[r->out_len] = 0;
	r->err[r->err_len] = 0;
}

int setup(void **state)
{
	(void)state;
	boxd_start(false);
	host_hello();
	return 0;
}

int teardown(void **state)
{
	(void)state;
	boxd_stop();
	return 0;
}
/* pid gone (reaped by boxd) within ms */
bool gone_within(pid_t pid, unsigned ms)
{
	uint64_t end = yg_now_ms() + ms;

	do {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		yg_sleep_ms(20);
	} while (yg_now_ms() < end);
	return false;
}

pid_t start_one(uint32_t stream, const char *cmd)
{
	exec_send(stream, 0, cmd);
	for (;;) {
		assert_int_equal(host_recv(&H.m, TIMEOUT_MS), 0);
		if (H.m.stream == stream)
			break;
	}
	if (H.m.type != YG_CHAN_MSG_STARTED)
		fail_msg("stream %u: %s %s", stream, yg_chan_type_name(H.m.type),
			 H.m.type == YG_CHAN_MSG_FAILED ? H.m.u.failed.text : "");
	return (pid_t)H.m.u.started.pid;
}

