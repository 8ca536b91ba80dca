/* SPDX-License-Identifier: MIT */
/* signals.c: a session child's signals and bounds. SIGPIPE and SIGHUP are
 * ignored (the child never depends on its client); SIGUSR1 is yolo-gatectl
 * end. The first SIGTERM (or SIGINT) sets a flag and makes a pipe readable
 * that the event loop watches: the session ends with its cleanup (wipe the
 * keys, revert or pause), which must finish within YG_GD_STOP_MS; a second
 * one ends the child at once (the handler restores the default action).
 *
 * The watchdog (yg_watchdog.h) ends the child when libvirt does not answer
 * within its bound, or when that cleanup outlasts YG_GD_STOP_MS: first
 * on_bound tells the clients why and removes what names the child (the
 * rendezvous socket, so that no later login is handed to it, and the session
 * file); the kernel then releases the box lock. It never calls libvirt. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "yg_log.h"
#include "yg_watchdog.h"
#include "session.h"

#define YG_GD_STOP_MS 10000u

static volatile sig_atomic_t got_term, got_end;
static int sig_w = -1;

static void on_term(int sig)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int saved = errno;

	(void)sig;
	sigaction(SIGTERM, &dfl, NULL);
	sigaction(SIGINT, &dfl, NULL);
	got_term = 1;
	if (sig_w >= 0)
		(void)!write(sig_w, "t", 1);
	yg_watchdog_final();
	errno = saved;
}

static void on_usr1(int sig)
{
	(void)sig;
	got_end = 1;
}

bool yg_gd_sigterm(void)
{
	return got_term;
}

bool yg_gd_end_requested(void)
{
	if (!got_end)
		return false;
	got_end = 0;
	return true;
}

static void tell(int *fd, const char *text)
{
	if (*fd < 0)
		return;
	yg_gd_send_error(*fd, YG_ERR_BOX, "%s", text);
	close(*fd);
	*fd = -1;
}

/* In the watchdog thread, the main thread stuck (in libvirt, or in a
 * cleanup past its bound); the process ends when this returns. */
static void on_bound(enum yg_watchdog_why why, const char *what, unsigned secs, void *opaque)
{
	struct yg_gd_sess *s = opaque;
	char text[YG_TEXT_MAX], b[16];
	struct yg_gd_handoff h;
	int fd, n;

	snprintf(b, sizeof(b), "%u", secs);
	if (why == YG_WATCHDOG_CALL)
		snprintf(text, sizeof(text), YG_VIRT_UNANSWERED, secs);
	else
		snprintf(text, sizeof(text), "yolo-gated is stopping and the session's cleanup "
			 "did not end within %u s; the next login reverts the box", secs);
	yg_gd_audit(YG_LOG_ERROR, why == YG_WATCHDOG_CALL ? "libvirt_timeout" : "stop_timeout",
		    "session", s->id[0] ? s->id : NULL, "user", s->u.user[0] ? s->u.user : NULL,
		    "box", s->u.domain[0] ? s->u.domain : NULL, "what", what[0] ? what : NULL,
		    "bound_s", b, "error", text, NULL);
	if (s->rdv_fd >= 0)
		unlink(s->rdv_path);
	tell(&s->fd, text);
	tell(&s->next_fd, text);
	tell(&s->release_fd, text);
	for (size_t i = 0; i < s->nrest; i++)
		tell(&s->rest[i], text);
	/* logins already handed to us hear the same */
	for (n = 0; s->rdv_fd >= 0 && n < 64; n++) {
		if (yg_gd_rdv_accept(s->rdv_fd, &fd, &h) == -EAGAIN)
			break;
		tell(&fd, text);
	}
	if (s->sess_path[0])
		unlink(s->sess_path);
}

int yg_gd_child_signals(struct yg_gd_sess *s)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };
	yg_err err;
	int p[2];

	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	if (yg_watchdog_start(YG_GD_STOP_MS, on_bound, s, &err) < 0) {
		yg_log(YG_LOG_ERROR, "event", "internal_error", "error", err.msg, NULL);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	sig_w = p[1];
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_usr1;	/* yolo-gatectl end */
	sigaction(SIGUSR1, &sa, NULL);
	return p[0];
}
