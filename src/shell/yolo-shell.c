/* yolo-shell: the login shell of a gated user. It asks the broker
 * (yolo-gated) for the user's box and relays the terminal to the box's
 * console. Unprivileged by design: it refuses to run setuid/setgid or with
 * any capability, passes nothing from the environment but TERM (scrubbed)
 * and the PAM session id, and executes nothing. See yolo-shell(1). */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "yg_caps.h"
#include "yg_err.h"
#include "yg_proto.h"
#include "yg_shell.h"
#include "yg_shell_text.h"

#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif
#define YG_SHELL_DEFAULT_SOCKET RUNSTATEDIR "/yolo-gate/gated.sock"
#define YG_SHELL_WAIT_MS (300 * 1000)	/* longest silence before READY */
#define YG_SHELL_SEND_MS (10 * 1000)

void yg_shell_say(const char *fmt, ...)
{
	char raw[YG_TEXT_MAX + 256], clean[sizeof(raw)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	yg_shell_sanitize(raw, clean, sizeof(clean));
	fprintf(stderr, "yolo-gate: %s%s", clean, yg_shell_tty_is_raw() ? "\r\n" : "\n");
	fflush(stderr);
}

static void refuse_privileged(void)
{
	yg_err err;

	yg_err_clear(&err);
	if (getauxval(AT_SECURE)) {
		yg_shell_say("yolo-shell is running setuid/setgid or with file capabilities; "
			     "it must not be: ask your administrator to reinstall it mode 0755 "
			     "without capabilities");
		exit(1);
	}
	if (yg_caps_refuse_privileged(&err) < 0) {
		yg_shell_say("%s; ask your administrator",
			     err.msg[0] ? err.msg : "yolo-shell holds privileges it must not have");
		exit(1);
	}
}

/* sshd runs "SHELL -c CMD" for a remote command, scp and sftp. The one
 * command we take is ourselves: a ForceCommand of yolo-shell for a user whose
 * login shell is also yolo-shell. */
static bool command_is_self(const char *cmd)
{
	const char *base = strrchr(cmd, '/');

	base = base ? base + 1 : cmd;
	return strcmp(base, "yolo-shell") == 0 && !getenv("SSH_ORIGINAL_COMMAND");
}

static void usage(FILE *f)
{
	fputs("usage: yolo-shell\n"
	      "yolo-shell is a login shell: it takes no arguments and connects you to\n"
	      "your YOLO box. See yolo-shell(1).\n", f);
}

static void parse_args(int argc, char **argv)
{
	const char *orig = getenv("SSH_ORIGINAL_COMMAND");

	if (argc >= 2 && strcmp(argv[1], "-c") == 0) {
		if (argc == 3 && command_is_self(argv[2]))
			return;
		yg_shell_say("remote commands are not enabled for this box");
		exit(1);
	}
	if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("yolo-shell %s (protocol %u)\n", PACKAGE_VERSION, YG_PROTO_VERSION);
		exit(0);
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		exit(0);
	}
	if (argc > 1) {
		yg_shell_say("unknown argument '%s': yolo-shell takes no arguments "
			     "(see yolo-shell(1))", argv[1]);
		exit(2);
	}
	if (orig && *orig) {	/* ForceCommand, and the user asked for a command */
		yg_shell_say("remote commands are not enabled for this box");
		exit(1);
	}
}

static int connect_broker(void)
{
	const char *path = getenv("YOLO_GATE_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (!path || !*path)
		path = YG_SHELL_DEFAULT_SOCKET;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		yg_shell_say("the gate socket path %.80s... is too long; unset YOLO_GATE_SOCKET "
			     "or ask your administrator", path);
		exit(1);
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	e = errno;
	yg_shell_say("the gate service is not running (cannot connect to %s: %s); "
		     "ask your administrator", path, strerror(e));
	exit(1);
}

static void send_or_die(int sock, const yg_msg *m)
{
	int e = yg_msg_send(sock, m, YG_SHELL_SEND_MS);

	if (e < 0) {
		yg_shell_say("cannot talk to the gate service (sending %s: %s); "
			     "ask your administrator", yg_msg_type_name(m->type), strerror(-e));
		exit(1);
	}
}

static void recv_or_die(int sock, yg_frame_in *in, yg_msg *m, const char *waiting_for)
{
	int e = yg_msg_recv(sock, in, m, YG_SHELL_WAIT_MS);

	if (e == -ETIMEDOUT) {
		yg_shell_say("the gate service did not answer for %d s while %s; "
			     "try again later or ask your administrator",
			     YG_SHELL_WAIT_MS / 1000, waiting_for);
		exit(1);
	}
	if (e < 0) {
		yg_shell_say("the gate service closed the connection while %s (%s); "
			     "ask your administrator", waiting_for,
			     e == -EPROTO ? "protocol error" : strerror(-e));
		exit(1);
	}
	if (m->type == YG_MSG_ERROR) {
		yg_shell_say("%s", m->u.error.text);
		exit(1);
	}
}

static void hello(int sock, yg_frame_in *in)
{
	yg_msg m = { .type = YG_MSG_HELLO };

	m.u.hello.version = YG_PROTO_VERSION;
	snprintf(m.u.hello.peer, sizeof(m.u.hello.peer), "yolo-shell %s", PACKAGE_VERSION);
	send_or_die(sock, &m);
	recv_or_die(sock, in, &m, "greeting it");
	if (m.type != YG_MSG_HELLO || m.u.hello.version != YG_PROTO_VERSION) {
		yg_shell_say("the gate service speaks protocol %u, this yolo-shell speaks %u; "
			     "ask your administrator to install matching versions",
			     m.type == YG_MSG_HELLO ? m.u.hello.version : 0, YG_PROTO_VERSION);
		exit(1);
	}
}

static void send_open(int sock, bool tty)
{
	yg_msg m = { .type = YG_MSG_OPEN };
	const char *session = getenv("YOLO_GATE_SESSION");
	struct winsize ws;

	m.u.open.mode = tty ? YG_OPEN_TTY : YG_OPEN_PLAIN;
	snprintf(m.u.open.term, sizeof(m.u.open.term), "%s",
		 yg_shell_term_scrub(getenv("TERM")));
	if (tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
		m.u.open.rows = ws.ws_row;
		m.u.open.cols = ws.ws_col;
	}
	m.u.open.box[0] = '\0';
	if (yg_shell_session_valid(session))
		snprintf(m.u.open.session, sizeof(m.u.open.session), "%s", session);
	send_or_die(sock, &m);
}

int main(int argc, char **argv)
{
	static yg_frame_in in;
	char esc[8];
	yg_msg m;
	bool tty;
	int sock, e;

	/* argc = 0: Linux >= 5.18 turns an empty argv into { "", NULL } */
	if (argc < 1 || !argv || !argv[0] || !argv[0][0]) {
		fputs("yolo-gate: yolo-shell was started without a program name; refusing "
		      "(the program that started it is broken)\n", stderr);
		return 1;
	}
	refuse_privileged();
	parse_args(argc, argv);
	tty = isatty(STDIN_FILENO);
	if ((e = yg_shell_tty_init()) < 0) {
		yg_shell_say("cannot set up signal handling (%s); try again", strerror(-e));
		return 1;
	}

	sock = connect_broker();
	yg_frame_in_init(&in);
	hello(sock, &in);
	send_open(sock, tty);
	for (;;) {
		recv_or_die(sock, &in, &m, "preparing your box");
		if (m.type == YG_MSG_READY)
			break;
		if (m.type == YG_MSG_PROGRESS) {
			yg_shell_say("%s", m.u.progress.text);
		} else if (m.type == YG_MSG_EXIT) {
			if (m.u.exit.reason[0])
				yg_shell_say("%s", m.u.exit.reason);
			return m.u.exit.status <= 255 ? (int)m.u.exit.status : 1;
		} else {
			yg_shell_say("protocol error: the gate service sent %s before READY; "
				     "ask your administrator", yg_msg_type_name(m.type));
			return 1;
		}
	}

	yg_shell_escape_name(m.u.ready.escape, esc, sizeof(esc));
	if (m.u.ready.escape <= 0xff)
		yg_shell_say("connected to %s (escape character is %s)", m.u.ready.box, esc);
	else
		yg_shell_say("connected to %s", m.u.ready.box);
	if ((e = yg_shell_tty_raw()) < 0) {
		yg_shell_say("cannot put the terminal in raw mode (%s); try again",
			     strerror(-e));
		return 1;
	}
	return yg_shell_relay(sock, &in, m.u.ready.escape, tty);
}
