/* SPDX-License-Identifier: MIT */
/* cleanup.c: the box of a session child that ended without its logout
 * (SIGKILL, the OOM killer, a crash), in a process the parent forks for it.
 *
 * The parent never calls libvirt. When it reaps a child whose session record
 * is still in run_dir, it removes the record and forks a cleanup child for
 * the record's box (yg_gd_cleanup_main), which
 *   1. takes the box lock, without waiting: a login that got the box first
 *      owns it, finds it not clean and reverts it itself. Held, the lock
 *      makes a new login wait (it retries for YG_GD_HANDOFF_WAIT_MS); the
 *      lock record names the dead session and the cleanup's pid;
 *   2. forks a worker, before any libvirt call, that does what the dead
 *      child's logout would have done: when the box runs and its agent
 *      answers within YG_GD_CLEANUP_AGENT_MS, the keys are wiped; then, as
 *      the policy says, revert = logout reverts (left paused; warm = no: shut
 *      off) and revert = login pauses; a revert that fails pauses
 *      (lifecycle.c's logout steps, yg_gd_box_down);
 *   3. waits for the worker's result at most YG_GD_CLEANUP_MS. A worker over
 *      its bound is killed, and so is one whose box is still running after
 *      it: the box is then destroyed. Whatever hangs (the agent, QEMU, a
 *      pause waiting on QEMU's monitor), virDomainDestroy kills QEMU first
 *      (the stuck call ends with it) and frees the guest memory the keys
 *      are in; the next login reverts the shut-off box. Another pause would
 *      wait behind the stuck call.
 * The outcome is one audit event, event=cleanup. If even libvirt hangs, an
 * alarm ends the cleanup child after YG_GD_CLEANUP_MS +
 * YG_GD_CLEANUP_DESTROY_MS, releasing the lock: the next login reverts.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "yg_agent.h"
#include "yg_file.h"
#include "yg_log.h"
#include "yg_rundir.h"
#include "yg_watchdog.h"
#include "session.h"

enum outcome { OUT_FAILED, OUT_REVERTED, OUT_PAUSED, OUT_STOPPED, OUT_CLEAN, OUT_DESTROYED };

static const char *const outcome_names[] = {
	[OUT_FAILED] = "failed", [OUT_REVERTED] = "reverted", [OUT_PAUSED] = "paused",
	[OUT_STOPPED] = "stopped", [OUT_CLEAN] = "clean", [OUT_DESTROYED] = "destroyed",
};

/* The worker's result: one write(2) on a pipe, smaller than PIPE_BUF. */
struct result {
	int outcome;
	char wipe[16];		/* done, failed, no_agent, not_running (and
				 * unknown: the worker did not report) */
	char error[YG_ERR_MSG_MAX];
};

struct cleanup {
	const struct yg_gd_gate *gate;
	struct yg_gd_user u;	/* the dead session's user; domain: its box */
	char session[YG_SESSION_ID_LEN + 1];
	char box[YG_RUNDIR_NAME_MAX + 1], user[YG_RUNDIR_NAME_MAX + 1];
	char host[YG_RUNDIR_NAME_MAX + 1], key[YG_RUNDIR_KEY_MAX];	/* the box's */
	char pid[16], sig[16], code[16];	/* the dead child and how it ended */
	uint64_t t0;
};

static void report(const struct cleanup *c, const char *outcome, const char *wipe,
		   const char *error)
{
	char ms[24];

	snprintf(ms, sizeof(ms), "%llu", (unsigned long long)(yg_now_ms() - c->t0));
	yg_gd_audit(error ? YG_LOG_ERROR : YG_LOG_WARNING, "cleanup", "session", c->session,
		    "user", c->user, "box", c->box, "host", c->host, "pid", c->pid,
		    "signal", c->sig[0] ? c->sig : NULL, "status", c->code[0] ? c->code : NULL,
		    "outcome", outcome, "wipe", wipe, "ms", ms, "error", error, NULL);
}

/* The box lock, not waited for: 0 with *fd, -EWOULDBLOCK (another owner),
 * or another -errno with err. */
static int lock(const struct cleanup *c, int *fd, yg_err *err)
{
	struct yg_rundir_lock l = { .since = (long long)time(NULL), .pid = (int)getpid(),
				    .revert_ms = -1 };
	char dir[PATH_MAX], name[YG_RUNDIR_KEY_MAX + 8], sock[PATH_MAX];
	int dfd, r;

	r = yg_rundir_boxes_dir(dir, sizeof(dir), c->gate->run_dir, err);
	if (r == 0)
		r = yg_rundir_lock_name(name, sizeof(name), c->key, err);
	if (r < 0)
		return r;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return yg_err_set(err, -errno, "cannot open %s: %s", dir, strerror(errno));
	*fd = yg_lockfile_open(dfd, name, err);
	close(dfd);
	if (*fd < 0)
		return *fd;
	if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		close(*fd);
		return r == -EWOULDBLOCK ? r : yg_err_set(err, r, "cannot lock %s: %s", name,
							  strerror(-r));
	}
	snprintf(l.holder, sizeof(l.holder), "%s", c->session);
	(void)!yg_rundir_lock_write(*fd, &l);	/* information for status */
	/* the dead owner's rendezvous socket: nobody listens there */
	if (yg_rundir_sock_path(sock, sizeof(sock), c->gate->run_dir, c->key, NULL) == 0)
		unlink(sock);
	return 0;
}

/* The box's host's (yg_gd_user_host of the record's host). */
static const char *uri(const struct cleanup *c)
{
	return c->u.uri[0] ? c->u.uri : NULL;
}

/* Wipe the keys when the box runs and its agent answers soon. */
static void wipe(struct yg_gd_sess *s, char *out, size_t len)
{
	yg_err err;
	int st;

	if (yg_box_state(s->box, &st, NULL, &err) < 0 ||
	    strcmp(yg_box_state_name(st), "running") != 0) {
		snprintf(out, len, "not_running");
		return;
	}
	if (yg_agent_wait(s->box, YG_GD_CLEANUP_AGENT_MS, &err) < 0) {
		snprintf(out, len, "no_agent");
		return;
	}
	if (yg_agent_wipe_file(s->box, s->u.inject_path, &err) < 0) {
		yg_log(YG_LOG_WARNING, "event", "keys_wipe_failed", "session", s->id,
		       "box", s->u.domain, "error", err.msg, NULL);
		snprintf(out, len, "failed");
		return;
	}
	snprintf(out, len, "done");
}

/* Where the box stands after the cleanup. */
static int settle(struct yg_gd_sess *s, bool was_clean, yg_err *err)
{
	const char *name;
	bool clean;
	int st;

	if (yg_box_check_clean(s->box, &clean, NULL, 0, err) < 0 ||
	    yg_box_state(s->box, &st, NULL, err) < 0)
		return OUT_FAILED;
	if (clean)
		return was_clean ? OUT_CLEAN : OUT_REVERTED;
	name = yg_box_state_name(st);
	if (!strcmp(name, "shut off"))
		return OUT_STOPPED;
	if (!strcmp(name, "paused"))
		return OUT_PAUSED;
	yg_err_set(err, -EBUSY, "box %s is still %s after its cleanup", s->u.domain, name);
	return OUT_FAILED;
}

static void work(const struct cleanup *c, int wfd) __attribute__((noreturn));
static void work(const struct cleanup *c, int wfd)
{
	static struct yg_gd_sess s;
	struct result res = { .outcome = OUT_FAILED, .wipe = "not_running" };
	bool clean = false;
	yg_err err = { 0 };

	s.fd = s.next_fd = s.release_fd = s.rdv_fd = s.sig_fd = s.dirfd = s.lockfd = -1;
	s.gate = c->gate;
	s.u = c->u;
	snprintf(s.id, sizeof(s.id), "%s", c->session);
	if (yg_conn_open(uri(c), &s.conn, &err) == 0 &&
	    yg_box_open(s.conn, s.u.domain, s.u.snapshot, NULL, &s.box, &err) == 0 &&
	    yg_box_check_clean(s.box, &clean, NULL, 0, &err) == 0) {
		s.dirty = !clean;
		wipe(&s, res.wipe, sizeof(res.wipe));
		yg_gd_box_down(&s, !s.u.revert_login);
		res.outcome = settle(&s, clean, &err);
	}
	if (res.outcome == OUT_FAILED)
		snprintf(res.error, sizeof(res.error), "%s", err.msg);
	(void)!write(wfd, &res, sizeof(res));
	_exit(0);
}

/* The worker's result within the bound: 0, -ETIMEDOUT, or -EPIPE (it died). */
static int await(int rfd, uint64_t deadline, struct result *res)
{
	struct pollfd p = { .fd = rfd, .events = POLLIN };
	uint64_t now;
	ssize_t n;

	while ((now = yg_now_ms()) < deadline) {
		if (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return -errno;
		if (!p.revents)
			continue;
		n = read(rfd, res, sizeof(*res));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(*res))
			return -EPIPE;
		res->wipe[sizeof(res->wipe) - 1] = res->error[sizeof(res->error) - 1] = '\0';
		if (res->outcome < OUT_FAILED || res->outcome > OUT_CLEAN)
			return -EPIPE;
		return 0;
	}
	return -ETIMEDOUT;
}

static int destroy(const struct cleanup *c, yg_err *err)
{
	virConnectPtr conn = NULL;
	yg_box *box = NULL;
	int r;

	r = yg_conn_open(uri(c), &conn, err);
	if (r == 0)
		r = yg_box_open(conn, c->u.domain, c->u.snapshot, NULL, &box, err);
	if (r == 0)
		r = yg_box_destroy(box, err);
	yg_box_free(box);
	yg_conn_close(conn);
	return r;
}

/* Run the worker under its bound: 0 with *res, or -errno (res->error says). */
static int run_worker(const struct cleanup *c, struct result *res)
{
	int p[2], r;
	pid_t w;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	w = fork();
	if (w == 0) {
		close(p[0]);
		work(c, p[1]);
	}
	r = w < 0 ? -errno : 0;
	close(p[1]);
	if (r == 0) {
		r = await(p[0], c->t0 + YG_GD_CLEANUP_MS, res);
		kill(w, SIGKILL);	/* done, or over its bound */
		(void)waitpid(w, NULL, 0);
	}
	close(p[0]);
	if (r == -ETIMEDOUT)
		snprintf(res->error, sizeof(res->error), "the cleanup did not finish within %d s",
			 YG_GD_CLEANUP_MS / 1000);
	else if (r == -EPIPE)
		snprintf(res->error, sizeof(res->error), "the cleanup worker died");
	else if (r < 0)
		snprintf(res->error, sizeof(res->error), "cannot start the cleanup worker: %s",
			 strerror(-r));
	return r;
}

/* When libvirt does not answer the destroy either, the watchdog ends this
 * process: the audit line is written from its thread first (no libvirt). */
struct destroy_wait {
	const struct cleanup *c;
	const struct result *res;
};

static void destroy_unanswered(enum yg_watchdog_why why, const char *what, unsigned secs,
			       void *opaque)
{
	const struct destroy_wait *w = opaque;
	char error[2 * YG_ERR_MSG_MAX + 64];

	(void)why;
	snprintf(error, sizeof(error), "%s; destroying the box failed too: libvirt did not "
		 "answer within %u s (%s)", w->res->error, secs, what);
	report(w->c, outcome_names[OUT_FAILED], w->res->wipe, error);
}

/* The worker's outcome; a failure or an overrun destroys the box. */
static void supervise(const struct cleanup *c)
{
	struct result res = { .outcome = OUT_FAILED, .wipe = "unknown" };
	char error[2 * YG_ERR_MSG_MAX + 64];
	yg_err err = { 0 };

	if (run_worker(c, &res) < 0)
		res.outcome = OUT_FAILED;
	if (res.outcome != OUT_FAILED) {
		report(c, outcome_names[res.outcome], res.wipe, NULL);
		return;
	}
	{
		static struct destroy_wait w;
		yg_err werr;

		w.c = c;
		w.res = &res;
		if (yg_watchdog_start(YG_GD_CLEANUP_DESTROY_MS, destroy_unanswered, &w, &werr) < 0)
			yg_log(YG_LOG_WARNING, "event", "cleanup_watchdog_failed", "session",
			       c->session, "error", werr.msg, NULL);
	}
	if (destroy(c, &err) == 0) {
		yg_log(YG_LOG_WARNING, "event", "cleanup_failed", "session", c->session,
		       "box", c->box, "error", res.error, "result", "destroying the box", NULL);
		report(c, outcome_names[OUT_DESTROYED], res.wipe, NULL);
		return;
	}
	snprintf(error, sizeof(error), "%s; destroying the box failed too: %s", res.error,
		 err.msg);
	report(c, outcome_names[OUT_FAILED], res.wipe, error);
}

void yg_gd_cleanup_main(const struct yg_rundir_session *rec, const char *session, int status,
			yg_policy *pol, const struct yg_gd_gate *gate)
{
	static struct cleanup c;
	struct sigaction sa = { .sa_handler = SIG_IGN };
	sigset_t none;
	yg_err err = { 0 };
	int fd = -1, r;

	/* bounded by itself: a broker stop (SIGTERM) does not cut it short */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	alarm((YG_GD_CLEANUP_MS + YG_GD_CLEANUP_DESTROY_MS) / 1000);

	yg_gd_audit_setup(gate);
	c.gate = gate;
	c.t0 = yg_now_ms();
	snprintf(c.session, sizeof(c.session), "%s", session);
	snprintf(c.box, sizeof(c.box), "%s", rec->box);
	snprintf(c.host, sizeof(c.host), "%s", rec->host);
	snprintf(c.user, sizeof(c.user), "%s", rec->user);
	snprintf(c.pid, sizeof(c.pid), "%d", rec->pid);
	if (WIFSIGNALED(status))
		snprintf(c.sig, sizeof(c.sig), "%d", WTERMSIG(status));
	else
		snprintf(c.code, sizeof(c.code), "%d", WEXITSTATUS(status));

	r = yg_rundir_box_key(c.key, sizeof(c.key), c.host, c.box, &err);
	if (r == 0)
		r = lock(&c, &fd, &err);
	if (r == -EWOULDBLOCK) {
		/* a new login owns the box: it reverts what it finds */
		report(&c, "owned", "not_running", NULL);
		_exit(0);
	}
	if (r == 0)
		r = yg_gd_user_by_name(pol, c.user, &c.u, &err);
	/* the record's host, as the session had it */
	if (r == 0 && yg_gd_user_host(pol, &c.u, c.host) < 0)
		r = yg_err_set(&err, -ENOENT, "host %s of box %s is no longer in the policy; "
			       "clean the box on that host by hand (virsh snapshot-revert)",
			       c.host, c.box);
	if (r < 0) {
		report(&c, outcome_names[OUT_FAILED], "not_running", err.msg);
		_exit(1);
	}
	/* the record's box, as when the user entered another one ([box:]) */
	snprintf(c.u.domain, sizeof(c.u.domain), "%s", c.box);
	supervise(&c);
	close(fd);
	_exit(0);
}
