/* signals.c: a session child's signals. SIGPIPE and SIGHUP are ignored (the
 * child never depends on its client); SIGTERM/SIGINT set a flag and make a
 * pipe readable that the event loop watches; SIGUSR1 is yolo-gatectl end. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "session.h"

static volatile sig_atomic_t got_term, got_end;
static int sig_w = -1;

static void on_term(int sig)
{
	int saved = errno;

	got_term = 1;
	if (sig_w >= 0)
		(void)!write(sig_w, "t", 1);
	errno = saved;
}

static void on_usr1(int sig)
{
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

int yg_gd_child_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };
	int p[2];

	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
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
