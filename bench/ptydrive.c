/* SPDX-License-Identifier: MIT */
/* ptydrive: run a program on a pseudo-terminal and time what it prints.
 *
 *   ptydrive [-t SECS] [-o TRANSCRIPT] STEP... -- PROGRAM [ARG...]
 *
 * The program runs on a fresh pty (forkpty, 24x80); the steps run in order
 * against what it prints, with CLOCK_MONOTONIC. Every timed step prints one
 * "NAME VALUE" line on stdout, milliseconds since the program was started
 * (or, for echo and sink, what the step says). STR arguments take C escapes:
 * \r \n \t \e \\ \xHH.
 *
 *   expect NAME STR           wait for STR; print NAME and the time
 *   probe NAME CMD MARK MS    send CMD, wait for MARK, send CMD again every MS
 *                             ms while MARK has not come (lost input or
 *                             output); print NAME and the time MARK came
 *   send STR                  write STR to the program
 *   sleep MS                  keep reading (and logging) for MS ms
 *   echo NAME N CHAR          N keystrokes, 20 ms apart: send CHAR, wait for
 *                             it to come back; print "NAME MS" for each, with
 *                             microsecond precision
 *   sink NAME CMD MARK        send CMD, count bytes until MARK: print
 *                             NAME_bytes, NAME_ms
 *   wait NAME                 wait for the program to end; print NAME and
 *                             the time, NAME_status, and NAME_after_send:
 *                             ms from the last send step (an escape, EOF) to
 *                             the end (-1 without one)
 *
 * Exit status: 0 when every step passed; 2 when a step timed out (-t, default
 * 60 s per step); 3 when the program ended before a step was done; 1 on
 * usage or system errors. A failure prints what was awaited and the last
 * bytes seen on stderr.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PD_WINDOW 65536		/* unmatched output kept for the next step */

struct pd {
	int fd;			/* pty master */
	pid_t pid;
	FILE *log;
	double t0;		/* ms, monotonic, at spawn */
	double step_ms;		/* per-step timeout */
	double t_sent;		/* ms, monotonic, when the last send step wrote (0: none) */
	char win[PD_WINDOW + 1];
	size_t wlen;		/* unmatched output since the last match */
	uint64_t total;		/* bytes read since the last reset */
	bool eof;
	int status;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode C escapes in place; returns the length. */
static size_t unescape(char *s)
{
	char *o = s, *p = s;

	while (*p) {
		if (*p != '\\' || !p[1]) {
			*o++ = *p++;
			continue;
		}
		p++;
		switch (*p) {
		case 'r': *o++ = '\r'; p++; break;
		case 'n': *o++ = '\n'; p++; break;
		case 't': *o++ = '\t'; p++; break;
		case 'e': *o++ = '\033'; p++; break;
		case 'x':
			if (hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
				*o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
				p += 3;
				break;
			}
			/* fall through */
		default: *o++ = *p++; break;
		}
	}
	*o = '\0';
	return (size_t)(o - s);
}

static void reap(struct pd *d, int flags)
{
	int st;

	if (d->pid > 0 && waitpid(d->pid, &st, flags) == d->pid) {
		d->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		d->pid = 0;
	}
}

/* Read what is there, waiting up to ms; false at the program's end. */
static bool pump(struct pd *d, double ms)
{
	struct pollfd p = { .fd = d->fd, .events = POLLIN };
	char buf[16384];
	ssize_t n;
	int r;

	if (d->eof)
		return false;
	r = poll(&p, 1, ms < 0 ? 0 : (int)(ms + 0.999));
	if (r <= 0)
		return r == 0 || errno == EINTR;
	n = read(d->fd, buf, sizeof(buf));
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return true;
		d->eof = true;	/* EIO: every slave fd is closed */
		reap(d, 0);
		return false;
	}
	if (d->log)
		fwrite(buf, 1, (size_t)n, d->log);
	d->total += (uint64_t)n;
	_Static_assert(sizeof(buf) < PD_WINDOW, "a read must fit in the window");
	if (d->wlen + (size_t)n > PD_WINDOW) {
		size_t drop = d->wlen + (size_t)n - PD_WINDOW;

		memmove(d->win, d->win + drop, d->wlen - drop);
		d->wlen -= drop;
	}
	memcpy(d->win + d->wlen, buf, (size_t)n);
	d->wlen += (size_t)n;
	return true;
}

/* Is pat in the window? Consumes the window up to and including it. */
static bool match(struct pd *d, const char *pat, size_t plen)
{
	char *hit;

	if (!plen)
		return true;
	hit = memmem(d->win, d->wlen, pat, plen);
	if (!hit) {
		/* keep only what could start a later match */
		if (d->wlen >= plen) {
			size_t keep = plen - 1;

			memmove(d->win, d->win + d->wlen - keep, keep);
			d->wlen = keep;
		}
		return false;
	}
	hit += plen;
	d->wlen -= (size_t)(hit - d->win);
	memmove(d->win, hit, d->wlen);
	return true;
}

static void put(struct pd *d, const char *s, size_t len)
{
	while (len) {
		ssize_t n = write(d->fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "ptydrive: cannot write to the program's pty: %s\n",
				strerror(errno));
			exit(1);
		}
		s += n;
		len -= (size_t)n;
	}
}

static void fail(struct pd *d, const char *what, const char *pat, size_t plen)
{
	size_t tail = d->wlen > 400 ? 400 : d->wlen, i;
	const char *t = d->win + d->wlen - tail;

	fprintf(stderr, "ptydrive: %s while waiting for \"", d->eof ? "the program ended" : what);
	for (i = 0; i < plen; i++)
		fputc(pat[i] >= 32 && pat[i] < 127 ? pat[i] : '.', stderr);
	fprintf(stderr, "\" (%.0f ms after start); last output: \"", now_ms() - d->t0);
	for (i = 0; i < tail; i++)
		fputc(t[i] >= 32 && t[i] < 127 ? t[i] : '.', stderr);
	fputs("\"\n", stderr);
	if (d->pid > 0)
		kill(d->pid, SIGKILL);
	exit(d->eof ? 3 : 2);
}

/* Wait for pat; resend cmd every every_ms while it has not come. */
static double await(struct pd *d, const char *pat, size_t plen, const char *cmd, size_t clen,
		    double every_ms)
{
	double start = now_ms(), next = start + every_ms, t;

	for (;;) {
		if (match(d, pat, plen))
			return now_ms();
		t = now_ms();
		if (t - start > d->step_ms)
			fail(d, "timed out", pat, plen);
		if (cmd && t >= next) {
			put(d, cmd, clen);
			next = t + every_ms;
		}
		if (!pump(d, cmd ? next - t : start + d->step_ms - t))
			fail(d, "the program ended", pat, plen);
	}
}

static void print_ms(const char *name, const char *suffix, double ms)
{
	printf("%s%s %.3f\n", name, suffix, ms);
	fflush(stdout);
}

static int need(int argc, int i, int n, const char *step)
{
	if (i + n >= argc) {
		fprintf(stderr, "ptydrive: step '%s' needs %d arguments\n", step, n);
		exit(1);
	}
	return i + 1;
}

static int run_step(struct pd *d, int argc, char **argv, int i)
{
	const char *step = argv[i];
	size_t len, clen;
	double t, end;

	if (!strcmp(step, "expect")) {
		i = need(argc, i, 2, step);
		len = unescape(argv[i + 1]);
		print_ms(argv[i], "", await(d, argv[i + 1], len, NULL, 0, 0) - d->t0);
		return i + 2;
	}
	if (!strcmp(step, "probe")) {
		i = need(argc, i, 4, step);
		clen = unescape(argv[i + 1]);
		len = unescape(argv[i + 2]);
		put(d, argv[i + 1], clen);
		t = await(d, argv[i + 2], len, argv[i + 1], clen, atof(argv[i + 3]));
		print_ms(argv[i], "", t - d->t0);
		return i + 4;
	}
	if (!strcmp(step, "send")) {
		i = need(argc, i, 1, step);
		len = unescape(argv[i]);
		put(d, argv[i], len);
		d->t_sent = now_ms();
		return i + 1;
	}
	if (!strcmp(step, "sleep")) {
		i = need(argc, i, 1, step);
		end = now_ms() + atof(argv[i]);
		while ((t = now_ms()) < end && pump(d, end - t))
			;
		return i + 1;
	}
	if (!strcmp(step, "echo")) {
		int k, n;
		char c;

		i = need(argc, i, 3, step);
		n = atoi(argv[i + 1]);
		unescape(argv[i + 2]);
		c = argv[i + 2][0];
		for (k = 0; k < n; k++) {
			end = now_ms() + 20;
			while ((t = now_ms()) < end && pump(d, end - t))
				;
			d->wlen = 0;
			t = now_ms();
			put(d, &c, 1);
			print_ms(argv[i], "", await(d, &c, 1, NULL, 0, 0) - t);
		}
		return i + 3;
	}
	if (!strcmp(step, "sink")) {
		i = need(argc, i, 3, step);
		clen = unescape(argv[i + 1]);
		len = unescape(argv[i + 2]);
		d->wlen = 0;
		d->total = 0;
		t = now_ms();
		put(d, argv[i + 1], clen);
		end = await(d, argv[i + 2], len, NULL, 0, 0);
		printf("%s_bytes %llu\n", argv[i], (unsigned long long)d->total);
		print_ms(argv[i], "_ms", end - t);
		return i + 3;
	}
	if (!strcmp(step, "wait")) {
		i = need(argc, i, 1, step);
		end = now_ms() + d->step_ms;
		while (!d->eof && now_ms() < end)
			pump(d, end - now_ms());
		if (!d->eof)
			fail(d, "timed out", "(end of the program)", 20);
		reap(d, 0);
		t = now_ms();
		print_ms(argv[i], "", t - d->t0);
		printf("%s_status %d\n", argv[i], d->status);
		print_ms(argv[i], "_after_send", d->t_sent > 0 ? t - d->t_sent : -1);
		return i + 1;
	}
	fprintf(stderr, "ptydrive: unknown step '%s'\n", step);
	exit(1);
}

int main(int argc, char **argv)
{
	static struct pd d;
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	int i, first = 1, prog;

	d.step_ms = 60000;
	while (first < argc && argv[first][0] == '-' && strcmp(argv[first], "--")) {
		if (!strcmp(argv[first], "-t") && first + 1 < argc) {
			d.step_ms = atof(argv[first + 1]) * 1000;
		} else if (!strcmp(argv[first], "-o") && first + 1 < argc) {
			d.log = fopen(argv[first + 1], "we");
			if (!d.log) {
				fprintf(stderr, "ptydrive: cannot write %s: %s\n", argv[first + 1],
					strerror(errno));
				return 1;
			}
		} else {
			break;
		}
		first += 2;
	}
	for (prog = first; prog < argc && strcmp(argv[prog], "--"); prog++)
		;
	if (prog + 1 >= argc) {
		fputs("usage: ptydrive [-t SECS] [-o TRANSCRIPT] STEP... -- PROGRAM [ARG...]\n"
		      "steps: expect NAME STR | probe NAME CMD MARK MS | send STR | sleep MS |\n"
		      "       echo NAME N CHAR | sink NAME CMD MARK | wait NAME\n", stderr);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	d.t0 = now_ms();
	d.pid = forkpty(&d.fd, NULL, NULL, &ws);
	if (d.pid < 0) {
		fprintf(stderr, "ptydrive: forkpty failed: %s\n", strerror(errno));
		return 1;
	}
	if (d.pid == 0) {
		execvp(argv[prog + 1], argv + prog + 1);
		fprintf(stderr, "ptydrive: cannot run %s: %s\n", argv[prog + 1], strerror(errno));
		_exit(127);
	}
	for (i = first; i < prog;)
		i = run_step(&d, prog, argv, i);
	if (d.pid > 0) {
		/* the program outlived the steps: give it a moment, then end it */
		double end = now_ms() + 2000;

		while (!d.eof && now_ms() < end)
			pump(&d, end - now_ms());
		if (d.pid > 0 && !d.eof)
			kill(d.pid, SIGHUP);
		reap(&d, 0);
	}
	if (d.log)
		fclose(d.log);
	return 0;
}
