/* SPDX-License-Identifier: MIT */
/* shelltest: yolo-shell's pure helpers (escape scan, TERM scrub, session id
 * validation, sanitising broker text), and its relay (yg_shell_relay.c) run
 * between a fake terminal (pipes) and a fake broker (a socketpair served by a
 * thread): the escape byte anywhere in a read ends the session with EXIT
 * "escape", the bytes before it are sent, the bytes after it are not. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>

#include "yg_proto.h"
#include "yg_shell.h"
#include "yg_shell_text.h"
#include "yg_text.h"

static void test_escape_anywhere(void **state)
{
	const uint8_t buf[] = "ls -l\x1d" "exit";
	size_t i;

	assert_int_equal(yg_shell_escape_find(buf, sizeof(buf) - 1, 0x1d), 5);
	/* first byte, last byte, absent */
	assert_int_equal(yg_shell_escape_find((const uint8_t *)"\x1d", 1, 0x1d), 0);
	assert_int_equal(yg_shell_escape_find((const uint8_t *)"ab\x1d", 3, 0x1d), 2);
	assert_int_equal(yg_shell_escape_find((const uint8_t *)"abc", 3, 0x1d), -1);
	/* every position of a long read, not only the first byte */
	for (i = 0; i < 4096; i += 97) {
		uint8_t big[4096];

		memset(big, 'x', sizeof(big));
		big[i] = 0x1d;
		assert_int_equal(yg_shell_escape_find(big, sizeof(big), 0x1d), (ssize_t)i);
		/* the first of two wins */
		if (i + 1 < sizeof(big)) {
			big[sizeof(big) - 1] = 0x1d;
			assert_int_equal(yg_shell_escape_find(big, sizeof(big), 0x1d), (ssize_t)i);
		}
	}
	/* len bounds the scan */
	assert_int_equal(yg_shell_escape_find(buf, 5, 0x1d), -1);
	(void)state;
}

static void test_escape_none(void **state)
{
	const uint8_t buf[] = { 0x00, 0x1d, 0xff, 0x7f };

	assert_int_equal(yg_shell_escape_find(buf, sizeof(buf), YG_ESCAPE_NONE), -1);
	assert_int_equal(yg_shell_escape_find(buf, sizeof(buf), 0x100), -1);
	assert_int_equal(yg_shell_escape_find(buf, 0, 0x1d), -1);
	assert_int_equal(yg_shell_escape_find(NULL, 4, 0x1d), -1);
	/* NUL and 0xff are real escape bytes when asked for */
	assert_int_equal(yg_shell_escape_find(buf, sizeof(buf), 0x00), 0);
	assert_int_equal(yg_shell_escape_find(buf, sizeof(buf), 0xff), 2);
	(void)state;
}

static void test_escape_name(void **state)
{
	char s[8];

	yg_shell_escape_name(0x1d, s, sizeof(s));
	assert_string_equal(s, "^]");
	yg_shell_escape_name(0x01, s, sizeof(s));
	assert_string_equal(s, "^A");
	yg_shell_escape_name('~', s, sizeof(s));
	assert_string_equal(s, "~");
	yg_shell_escape_name(0x7f, s, sizeof(s));
	assert_string_equal(s, "^?");
	yg_shell_escape_name(0xe9, s, sizeof(s));
	assert_string_equal(s, "\\xe9");
	yg_shell_escape_name(YG_ESCAPE_NONE, s, sizeof(s));
	assert_string_equal(s, "none");
	(void)state;
}

static void test_term_scrub(void **state)
{
	char longest[YG_SHELL_TERM_MAX + 2];

	assert_string_equal(yg_shell_term_scrub("xterm-256color"), "xterm-256color");
	assert_string_equal(yg_shell_term_scrub("screen.xterm+x_1"), "screen.xterm+x_1");
	assert_string_equal(yg_shell_term_scrub(NULL), "vt100");
	assert_string_equal(yg_shell_term_scrub(""), "vt100");
	assert_string_equal(yg_shell_term_scrub("xterm;rm -rf /"), "vt100");
	assert_string_equal(yg_shell_term_scrub("../../etc/x"), "vt100");
	assert_string_equal(yg_shell_term_scrub("x\033]0;t\a"), "vt100");
	assert_string_equal(yg_shell_term_scrub("x\n"), "vt100");
	assert_string_equal(yg_shell_term_scrub("caf\xc3\xa9"), "vt100");

	memset(longest, 'a', YG_SHELL_TERM_MAX);
	longest[YG_SHELL_TERM_MAX] = '\0';
	assert_ptr_equal(yg_shell_term_scrub(longest), longest);
	longest[YG_SHELL_TERM_MAX] = 'a';
	longest[YG_SHELL_TERM_MAX + 1] = '\0';
	assert_string_equal(yg_shell_term_scrub(longest), "vt100");
	(void)state;
}

static void test_box_valid(void **state)
{
	char long_name[80];

	(void)state;
	assert_true(yg_shell_box_valid("yolo-alice"));
	assert_true(yg_shell_box_valid("shared_1.lab+x"));
	assert_false(yg_shell_box_valid(NULL));
	assert_false(yg_shell_box_valid(""));
	assert_false(yg_shell_box_valid("-box"));
	assert_false(yg_shell_box_valid(".box"));
	assert_false(yg_shell_box_valid("../etc"));
	assert_false(yg_shell_box_valid("a b"));
	assert_false(yg_shell_box_valid("box\x1b[2J"));
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	assert_true(yg_shell_box_valid(long_name));
	long_name[64] = 'a';
	long_name[65] = '\0';
	assert_false(yg_shell_box_valid(long_name));
}

static void test_sanitize(void **state)
{
	char out[64];

	assert_int_equal(yg_text_safe("reverting yolo-alice ... 1.8 s", out, sizeof(out)), 30);
	assert_string_equal(out, "reverting yolo-alice ... 1.8 s");
	/* terminal escapes, CR/LF, BEL, DEL */
	yg_text_safe("a\033]0;pwned\a\r\nb\x7f", out, sizeof(out));
	assert_string_equal(out, "a?]0;pwned???b?");
	/* UTF-8 kept, C1 control (U+009B CSI) and malformed bytes not */
	yg_text_safe("wait\xe2\x80\xa6 ok", out, sizeof(out));
	assert_string_equal(out, "wait\xe2\x80\xa6 ok");
	yg_text_safe("x\xc2\x9b" "1m", out, sizeof(out));
	assert_string_equal(out, "x??1m");
	yg_text_safe("\x9b\xff\xc0\xaf", out, sizeof(out));
	assert_string_equal(out, "????");
	yg_text_safe("\xe2\x80", out, sizeof(out));	/* truncated */
	assert_string_equal(out, "??");
	yg_text_safe("\xed\xa0\x80", out, sizeof(out));	/* surrogate */
	assert_string_equal(out, "???");
	yg_text_safe(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	(void)state;
}

static void test_sanitize_bounds(void **state)
{
	char out[5];

	assert_int_equal(yg_text_safe("abcdefgh", out, sizeof(out)), 4);
	assert_string_equal(out, "abcd");
	/* a multi-byte character that does not fit is dropped whole */
	assert_int_equal(yg_text_safe("abc\xe2\x80\xa6", out, sizeof(out)), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(yg_text_safe("abc", out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(yg_text_safe("abc", NULL, 0), 0);
	(void)state;
}


/* ---- the relay ---- */

#define ESC 0x1d

typedef struct fake_broker {
	int fd;			/* the broker's end of the socketpair */
	yg_msg script[4];	/* sent at once, before reading */
	int nscript;
	/* what the client sent */
	uint8_t data[8192];
	size_t ndata;
	int data_frames;
	bool got_exit;
	char exit_reason[YG_TEXT_MAX + 1];
	int frames_after_exit;
} fake_broker;

static void *broker_main(void *arg)
{
	fake_broker *b = arg;
	yg_msg m, bye = { .type = YG_MSG_EXIT };
	yg_frame_in *in = malloc(sizeof(*in));
	int i;

	if (!in)
		return NULL;
	yg_frame_in_init(in);
	for (i = 0; i < b->nscript; i++)
		(void)!yg_msg_send(b->fd, &b->script[i], 5000);
	strcpy(bye.u.exit.reason, "session closed");
	/* until the relay's side is closed, or 3 s of silence (a relay that
	 * missed the escape): then hang up, so that it ends and the test fails */
	while (yg_msg_recv(b->fd, in, &m, 3000) == 0) {
		if (b->got_exit) {
			b->frames_after_exit++;
		} else if (m.type == YG_MSG_DATA) {
			if (b->ndata + m.u.data.len <= sizeof(b->data))
				memcpy(b->data + b->ndata, m.u.data.bytes, m.u.data.len);
			b->ndata += m.u.data.len;
			b->data_frames++;
		} else if (m.type == YG_MSG_EXIT) {
			b->got_exit = true;
			snprintf(b->exit_reason, sizeof(b->exit_reason), "%s", m.u.exit.reason);
			(void)!yg_msg_send(b->fd, &bye, 5000);
		}
	}
	shutdown(b->fd, SHUT_RDWR);
	free(in);
	return NULL;
}

typedef struct relay_run {
	int status;
	char out[4096];		/* what reached the terminal */
	size_t nout;
	char err[1024];		/* what yolo-shell said on stderr */
} relay_run;

static void read_all(int fd, char *buf, size_t size, size_t *n)
{
	ssize_t r;

	*n = 0;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (*n + 1 < size && (r = read(fd, buf + *n, size - 1 - *n)) > 0)
		*n += (size_t)r;
	buf[*n] = '\0';
}

/* Put input in the terminal's pipe (one read takes it whole), run the relay
 * against b, and collect what it printed. */
static void run_relay(const void *input, size_t len, fake_broker *b, relay_run *run)
{
	char errpath[] = "/tmp/ygshelltest.XXXXXX";
	int sv[2], tin[2], tout[2], efd, saved_err;
	yg_frame_in *in = malloc(sizeof(*in));
	pthread_t th;
	size_t n;

	assert_non_null(in);
	yg_frame_in_init(in);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(tin, O_CLOEXEC), 0);
	assert_int_equal(pipe2(tout, O_CLOEXEC), 0);
	assert_true(len <= 4096);	/* one read of the relay */
	if (len)
		assert_int_equal(write(tin[1], input, len), (ssize_t)len);
	b->fd = sv[1];
	assert_int_equal(pthread_create(&th, NULL, broker_main, b), 0);

	efd = mkstemp(errpath);
	assert_true(efd >= 0);
	fflush(stderr);
	saved_err = dup(STDERR_FILENO);
	dup2(efd, STDERR_FILENO);
	run->status = yg_shell_relay(sv[0], in, tin[0], tout[1], ESC, false);
	fflush(stderr);
	dup2(saved_err, STDERR_FILENO);
	close(saved_err);

	close(sv[0]);	/* the broker thread sees EOF */
	pthread_join(th, NULL);
	close(sv[1]);
	read_all(tout[0], run->out, sizeof(run->out), &run->nout);
	lseek(efd, 0, SEEK_SET);
	read_all(efd, run->err, sizeof(run->err), &n);
	close(efd);
	unlink(errpath);
	close(tin[0]);
	close(tin[1]);
	close(tout[0]);
	close(tout[1]);
	free(in);
}

static yg_msg data_msg(const char *text)
{
	yg_msg m = { .type = YG_MSG_DATA };

	m.u.data.bytes = (const uint8_t *)text;
	m.u.data.len = strlen(text);
	return m;
}

/* The escape byte at pos in a read of len bytes. */
static void check_escape_at(size_t len, size_t pos)
{
	fake_broker *b = calloc(1, sizeof(*b));
	relay_run *run = calloc(1, sizeof(*run));
	uint8_t input[4096];
	size_t i;

	assert_non_null(b);
	assert_non_null(run);
	for (i = 0; i < len; i++)
		input[i] = (uint8_t)('a' + i % 26);
	input[pos] = ESC;
	b->script[0] = data_msg("login: ");
	b->nscript = 1;
	run_relay(input, len, b, run);

	assert_int_equal(run->status, 0);
	assert_true(b->got_exit);
	assert_string_equal(b->exit_reason, "escape");
	/* everything before the escape, nothing after it, nothing after EXIT */
	assert_int_equal(b->ndata, pos);
	assert_int_equal(b->data_frames, pos ? 1 : 0);
	if (pos)
		assert_memory_equal(b->data, input, pos);
	assert_int_equal(b->frames_after_exit, 0);
	/* the other way: what the box printed reached the terminal */
	assert_int_equal(run->nout, 7);
	assert_memory_equal(run->out, "login: ", 7);
	assert_string_equal(run->err, "yolo-gate: session closed\n");
	free(b);
	free(run);
}

static void test_relay_escape_first(void **state)
{
	check_escape_at(5, 0);
	check_escape_at(1, 0);
	(void)state;
}

static void test_relay_escape_middle(void **state)
{
	check_escape_at(5, 2);		/* "ab^]de" */
	check_escape_at(4096, 2048);
	(void)state;
}

static void test_relay_escape_last(void **state)
{
	check_escape_at(5, 4);
	check_escape_at(4096, 4095);	/* the last byte of a whole read */
	(void)state;
}

/* No escape: the bytes are sent, and the session ends when the broker says. */
static void test_relay_broker_ends(void **state)
{
	fake_broker *b = calloc(1, sizeof(*b));
	relay_run *run = calloc(1, sizeof(*run));
	yg_msg bye = { .type = YG_MSG_EXIT };

	assert_non_null(b);
	assert_non_null(run);
	bye.u.exit.status = 3;
	strcpy(bye.u.exit.reason, "idle timeout");
	b->script[0] = data_msg("bye\r\n");
	b->script[1] = bye;
	b->nscript = 2;
	run_relay("ls\r", 3, b, run);
	assert_int_equal(run->status, 3);
	assert_false(b->got_exit);	/* the user did not leave: the broker ended it */
	assert_int_equal(run->nout, 5);
	assert_memory_equal(run->out, "bye\r\n", 5);
	assert_string_equal(run->err, "yolo-gate: idle timeout\n");
	free(b);
	free(run);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_anywhere),
		cmocka_unit_test(test_escape_none),
		cmocka_unit_test(test_escape_name),
		cmocka_unit_test(test_term_scrub),
		cmocka_unit_test(test_box_valid),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_sanitize_bounds),
		cmocka_unit_test(test_relay_escape_first),
		cmocka_unit_test(test_relay_escape_middle),
		cmocka_unit_test(test_relay_escape_last),
		cmocka_unit_test(test_relay_broker_ends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
