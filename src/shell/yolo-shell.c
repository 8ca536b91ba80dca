/* SPDX-License-Identifier: MIT */
/* yolo-shell: the login shell of a gated user. It asks the broker
 * (yolo-gated) for the user's box and relays the terminal to the box's
 * console. Unprivileged by design: it refuses to run setuid/setgid or with
 * any capability, passes nothing from the environment but TERM (scrubbed),
 * the PAM session id (validated) and the box name YOLO_BOX (validated), and
 * executes nothing: a remote command (-c) goes to the broker, which runs it
 * in the box. See yolo-shell(1). */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "yg_caps.h"
#include "yg_client.h"
#include "yg_err.h"
#include "yg_proto.h"
#include "yg_shell.h"
#include "yg_shell_text.h"
#include "yg_rundir.h"

#define YG_SHELL_WAIT_MS (300 * 1000)	/* longest silence before READY */

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

/* sshd runs "SHELL -c CMD" for a remote command, scp and sftp; with a
 * ForceCommand of yolo-shell for a user whose login shell is also
 * yolo-shell, CMD is ourselves and the user's command (if any) is in
 * SSH_ORIGINAL_COMMAND. */
static bool command_is_self(const char *cmd)
{
	const char *base = strrchr(cmd, '/');

	base = base ? base + 1 : cmd;
	return strcmp(base, "yolo-shell") == 0;
}

static void usage(FILE *f)
{
	fputs("usage: yolo-shell [--box NAME]\n"
	      "       yolo-shell -c COMMAND\n"
	      "yolo-shell is a login shell: it connects you to your YOLO box, or to box\n"
	      "NAME (also: the environment variable YOLO_BOX) when the policy lets you\n"
	      "in; with -c (sshd's remote commands, scp, sftp, rsync) it runs COMMAND\n"
	      "there. See yolo-shell(1).\n", f);
}

/* The box asked for: --box NAME, else $YOLO_BOX, else "" (the default one). */
static const char *box_arg;
/* A remote command (sshd's -c CMD, or ForceCommand's SSH_ORIGINAL_COMMAND):
 * NULL for a login. An sftp-server command line is the sftp subsystem. */
static const char *run_cmd;

static bool is_sftp(const char *cmd)
{
	size_t n = strcspn(cmd, " \t");
	const char *base = cmd;

	for (size_t i = 0; i < n; i++)
		if (cmd[i] == '/')
			base = cmd + i + 1;
	n -= (size_t)(base - cmd);
	return (n == 11 && strncmp(base, "sftp-server", 11) == 0) ||
	       (n == 13 && strncmp(base, "internal-sftp", 13) == 0);
}

static void set_box(const char *name, const char *from)
{
	if (!yg_shell_box_valid(name)) {
		yg_shell_say("%s is not a box name (1 to 64 of A-Z a-z 0-9 _ . + -)", from);
		exit(2);
	}
	box_arg = name;
}

static void parse_args(int argc, char **argv)
{
	const char *orig = getenv("SSH_ORIGINAL_COMMAND");
	const char *env = getenv("YOLO_BOX");

	if (argc >= 2 && strcmp(argv[1], "-c") == 0) {
		if (argc != 3 || !argv[2][0]) {
			yg_shell_say("-c takes one command (as sshd passes it)");
			exit(2);
		}
		if (!command_is_self(argv[2]))
			run_cmd = argv[2];
		else if (orig && *orig)	/* ForceCommand yolo-shell, and a command */
			run_cmd = orig;
		goto env;
	}
	if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("yolo-shell %s (protocol %u)\n", PACKAGE_VERSION, YG_PROTO_VERSION);
		exit(0);
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		exit(0);
	}
	if (argc == 3 && (strcmp(argv[1], "--box") == 0 || strcmp(argv[1], "-b") == 0)) {
		set_box(argv[2], "the --box argument");
		env = NULL;
	} else if (argc > 1) {
		yg_shell_say("unknown argument '%s': yolo-shell takes only --box NAME "
			     "(see yolo-shell(1))", argv[1]);
		exit(2);
	}
	if (orig && *orig)	/* ForceCommand, and the user asked for a command */
		run_cmd = orig;
env:
	if (env && *env)
		set_box(env, "YOLO_BOX");
}

static void say_progress(void *ctx, const char *text)
{
	(void)ctx;
	if (!run_cmd)	/* a remote command's output stays its own (scp, rsync) */
		yg_shell_say("%s", text);
}

/* Connect and HELLO; on any failure say why and exit 1. */
static void connect_broker(yg_client *c)
{
	const char *path = getenv("YOLO_GATE_SOCKET");
	const yg_client_cfg cfg = {
		.socket = path,
		.name = "yolo-shell",
		.timeout_ms = -1,
		.idle_ms = YG_SHELL_WAIT_MS,
		.progress = say_progress,
	};
	yg_err err;

	if (yg_client_connect(c, &cfg, &err) == 0)
		return;
	if (err.code == -ENAMETOOLONG)	/* the path came from the environment */
		yg_shell_say("the gate socket path %.80s... is too long; unset YOLO_GATE_SOCKET "
			     "or ask your administrator", path);
	else
		yg_shell_say("%s", err.msg);
	exit(1);
}

/* OPEN -> READY. Returns -1 at READY, else the exit status of the shell. */
static int open_box(yg_client *c, bool tty, yg_client_ready *ready)
{
	const char *session = getenv("YOLO_GATE_SESSION");
	yg_client_open_req req = {
		.tty = tty,
		.term = yg_shell_term_scrub(getenv("TERM")),
		.session = yg_session_id_valid(session) ? session : "",
		.box = box_arg,
	};
	struct winsize ws;
	yg_err err;
	int r;

	if (tty && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
		req.rows = ws.ws_row;
		req.cols = ws.ws_col;
	}
	if (run_cmd)
		r = yg_client_run(c, &req, is_sftp(run_cmd) ? "sftp" : "",
				  is_sftp(run_cmd) ? "" : run_cmd, ready, &err);
	else
		r = yg_client_open(c, &req, ready, &err);
	if (r == 0)
		return -1;
	if (r == -ECONNABORTED) {	/* the broker ended it: its status is ours */
		if (c->ended.reason[0])
			yg_shell_say("%s", c->ended.reason);
		return c->ended.status <= 255 ? (int)c->ended.status : 1;
	}
	yg_shell_say("%s", err.msg);
	return 1;
}

int main(int argc, char **argv)
{
	yg_client_ready ready;
	yg_client c;
	char esc[8];
	bool tty;
	int e;

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

	connect_broker(&c);
	e = open_box(&c, tty, &ready);
	if (e >= 0)
		return e;

	if (run_cmd) {
		if (tty && (e = yg_shell_tty_raw()) < 0) {
			yg_shell_say("cannot put the terminal in raw mode (%s); try again",
				     strerror(-e));
			return 1;
		}
		return yg_shell_exec_relay(c.fd, c.in, tty);
	}
	yg_shell_escape_name(ready.escape, esc, sizeof(esc));
	if (ready.escape <= 0xff)
		yg_shell_say("connected to %s (escape character is %s)", ready.box, esc);
	else
		yg_shell_say("connected to %s", ready.box);
	if ((e = yg_shell_tty_raw()) < 0) {
		yg_shell_say("cannot put the terminal in raw mode (%s); try again",
			     strerror(-e));
		return 1;
	}
	return yg_shell_relay(c.fd, c.in, STDIN_FILENO, STDOUT_FILENO, ready.escape, tty);
}
