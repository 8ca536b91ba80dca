/* SPDX-License-Identifier: MIT */
/* yg_shell.h: internals shared by the files of yolo-shell (not a library):
 * yg_shell_say.c (messages), yg_shell_tty.c (terminal state) and
 * yg_shell_relay.c (the byte relay), used by yolo-shell.c (main). The
 * relay calls say and tty; nothing calls back into yolo-shell.c. */
#ifndef YG_SHELL_H
#define YG_SHELL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "yg_proto.h"
#include "yg_err.h"

/* Print "yolo-gate: <sanitised text>" on stderr, ending the line with \r\n
 * while the terminal is raw. */
void yg_shell_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Terminal: yg_shell_tty_init saves the state of stdin (when it is a tty)
 * and installs the signal handlers and the atexit hook that put it back;
 * yg_shell_tty_raw switches to raw mode; yg_shell_tty_restore may be called
 * any number of times, from any exit path. */
int yg_shell_tty_init(void) YG_MUST_CHECK;
int yg_shell_tty_raw(void) YG_MUST_CHECK;
void yg_shell_tty_restore(void);
bool yg_shell_tty_is_raw(void);

/* Relay between the user's side (in_fd, out_fd: stdin and stdout) and the
 * broker on sock after READY, until the session ends; in holds the frames
 * already read from sock. tty: in_fd is a terminal (its size goes to the
 * broker as WINCH). Returns the process exit status. */
int yg_shell_relay(int sock, yg_frame_in *in, int in_fd, int out_fd, uint16_t escape,
		   bool tty) YG_MUST_CHECK;

/* The same for a remote command after RUN's READY: stdin, stdout and
 * stderr; returns the command's exit status (or 1 with a message). */
int yg_shell_exec_relay(int sock, yg_frame_in *in, bool tty) YG_MUST_CHECK;

#endif
