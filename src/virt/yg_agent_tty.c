/* SPDX-License-Identifier: MIT */
/* yg_agent_tty.c: the guest side of the console, see yg_agent.h: which
 * guest tty a policy's console device is, its window size, and the wake
 * that makes QEMU notice a new console reader.
 *
 * A tty path reaches a guest shell only as a positional parameter ("$1") of
 * a constant script, and only after it matched /dev/ttySN or /dev/hvcN. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yg_agent.h"

#define YG_AGENT_WINSIZE_TIMEOUT_MS 3000ul	/* stty */
#define YG_AGENT_WAKE_TIMEOUT_S 2		/* console wake */

/* s is exactly 0 or [1-9][0-9]{0,2}; *n its value. */
static bool yg_tty_index(const char *s, unsigned *n)
{
	size_t len = strspn(s, "0123456789");

	if (len < 1 || len > 3 || s[len] || (s[0] == '0' && len > 1))
		return false;
	*n = (unsigned)strtoul(s, NULL, 10);
	return true;
}

/* s itself when it is short and of plain characters, else a placeholder:
 * a refused name is not echoed raw. */
static const char *yg_tty_shown(const char *s)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789/_.+-";
	size_t len;

	if (!s)
		return "(null)";
	len = strlen(s);
	return len <= 64 && strspn(s, plain) == len ? s : "(unprintable or too long)";
}

/* /dev/ttySN or /dev/hvcN, nothing else. */
static int yg_tty_check(const char *tty, yg_err *err)
{
	unsigned n;

	if (tty && ((!strncmp(tty, "/dev/ttyS", 9) && yg_tty_index(tty + 9, &n)) ||
		    (!strncmp(tty, "/dev/hvc", 8) && yg_tty_index(tty + 8, &n))))
		return 0;
	return yg_err_set(err, -EINVAL, "refusing guest tty '%s': only /dev/ttySN and "
			  "/dev/hvcN are console ttys", yg_tty_shown(tty));
}

int yg_agent_console_tty(const char *dev, char *tty, size_t len, yg_err *err)
{
	unsigned n = 0;
	int w;

	if (!dev || !dev[0] || (!strncmp(dev, "serial", 6) && yg_tty_index(dev + 6, &n)))
		w = snprintf(tty, len, "/dev/ttyS%u", n);
	else if (!strncmp(dev, "console", 7) && yg_tty_index(dev + 7, &n))
		w = snprintf(tty, len, "/dev/hvc%u", n ? n - 1 : 0);
	else
		return yg_err_set(err, -EINVAL, "cannot tell the guest tty of console device '%s' "
				  "(set console to serialN or consoleN, see yolo-gate.conf(5))",
				  yg_tty_shown(dev));
	if (w < 0 || (size_t)w >= len)
		return yg_err_set(err, -ERANGE, "no room for the guest tty of console device %s",
				  dev);
	return yg_tty_check(tty, err);
}

int yg_agent_set_winsize(yg_box *box, const char *tty, uint16_t rows, uint16_t cols,
			 yg_err *err)
{
	static const char script[] = "stty -F \"$1\" rows \"$2\" cols \"$3\"";
	char r[8], c[8];
	const char *argv[] = { "/bin/sh", "-c", script, "yg", tty, r, c, NULL };
	int code = -1, rc;

	rc = yg_tty_check(tty, err);
	if (rc < 0)
		return rc;
	if (!rows || !cols)
		return yg_err_set(err, -EINVAL, "refusing a window size of %u rows and %u "
				  "columns for box %s", (unsigned)rows, (unsigned)cols,
				  yg_box_name(box));
	snprintf(r, sizeof(r), "%u", (unsigned)rows);
	snprintf(c, sizeof(c), "%u", (unsigned)cols);
	rc = yg_agent_exec(box, argv, YG_AGENT_WINSIZE_TIMEOUT_MS, &code, err);
	if (rc == 0 && code != 0)
		rc = yg_err_set(err, -EIO, "stty -F %s exited with %d in box %s", tty, code,
				yg_box_name(box));
	if (rc < 0)
		yg_err_prefix(err, "cannot set the window size of %s", tty);
	return rc;
}

int yg_agent_console_wake(yg_box *box, const char *tty, yg_err *err)
{
	static const char script[] = "printf '\\r\\n' > \"$1\"";
	const char *argv[] = { "/bin/sh", "-c", script, "yg", tty, NULL };
	long long pid;
	int rc;

	rc = yg_tty_check(tty, err);
	if (rc < 0)
		return rc;
	rc = yg_agent_spawn(box, argv, YG_AGENT_WAKE_TIMEOUT_S, &pid, err);
	if (rc < 0)
		yg_err_prefix(err, "cannot wake console %s", tty);
	return rc;
}
