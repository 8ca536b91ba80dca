/* SPDX-License-Identifier: MIT */
/* yg_shell_tty.c: yolo-shell's terminal state. Whatever happens (normal
 * exit, error, SIGTERM/SIGHUP/SIGINT/SIGQUIT), the terminal and the file
 * status flags of stdin/stdout are put back as they were. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "yg_shell.h"

static struct termios saved_tio;
static volatile sig_atomic_t have_tio;	/* saved_tio is valid */
static volatile sig_atomic_t raw_on;	/* stdin is in raw mode now */
static volatile sig_atomic_t saved_fl[2] = { -1, -1 };	/* F_GETFL of fd 0, 1 */

/* Async-signal-safe: tcsetattr and fcntl only. */
void yg_shell_tty_restore(void)
{
	int fd;

	if (raw_on && have_tio) {
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
		raw_on = 0;
	}
	for (fd = 0; fd < 2; fd++)
		if (saved_fl[fd] >= 0)
			fcntl(fd, F_SETFL, (int)saved_fl[fd]);
}

bool yg_shell_tty_is_raw(void)
{
	return raw_on != 0;
}

static void on_fatal_signal(int sig)
{
	static const char msg[] = "\r\nyolo-gate: interrupted by a signal; session ended\r\n";
	ssize_t r;

	yg_shell_tty_restore();
	r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)r;
	_exit(128 + sig);
}

int yg_shell_tty_init(void)
{
	static const int sigs[] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT };
	struct sigaction sa;
	size_t i;

	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0)
		have_tio = 1;
	if (atexit(yg_shell_tty_restore) != 0)
		return -ENOMEM;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -errno;
	/* A closed socket or stdout shows up as EPIPE, not as a signal. */
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	return 0;
}

/* Make fd non-blocking, remembering its flags so restore puts them back. */
static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	if (saved_fl[fd] < 0)
		saved_fl[fd] = fl;
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int yg_shell_tty_raw(void)
{
	struct termios raw;
	int r;

	if ((r = set_nonblock(STDIN_FILENO)) < 0 ||
	    (r = set_nonblock(STDOUT_FILENO)) < 0)
		return r;
	if (!have_tio)
		return 0;
	raw = saved_tio;
	cfmakeraw(&raw);
	raw_on = 1;	/* before the change: a signal in between restores */
	if (tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) < 0) {
		r = -errno;
		raw_on = 0;
		return r;
	}
	return 0;
}
