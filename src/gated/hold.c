/* SPDX-License-Identifier: MIT */
/* hold.c: after a logout, the reverted box's console stays open.
 *
 * QEMU's pty chardev reads what a new reader types only once its reconnect
 * timer has seen that reader, up to 1 s after the open (chardev/char-pty.c:
 * a write from the guest goes out at once, a read waits for the timer).
 * Every login that opens the console afresh pays that: 0-1 s before its
 * first keystroke reaches the shell. So once the logout's revert is done the
 * session process opens the console of the paused, clean box again, keeps
 * the box's lock (record holder "held") and its rendezvous socket, and
 * waits console_hold for the next login; a login that comes takes this
 * process's console, which QEMU has been reading by then.
 *
 * The box holds no keys (wiped, reverted) and runs nothing (paused). A
 * policy reload since this process was forked reaches it through a
 * generation counter the parent shares (yg_gd_policy_refresh): the login it
 * takes is resolved with the policy loaded anew. A hold ends when the broker
 * that forked it has gone (a restart leaves sessions running: the new
 * broker's children run its code). yolo-gatectl, finding the lock held this
 * way, sends SIGTERM and takes the lock (ctl_lock.c).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "yg_console.h"
#include "yg_log.h"
#include "yg_rundir.h"
#include "session.h"

static enum yg_gd_end hold_handoff(void *opaque, int fd, const struct yg_gd_handoff *h)
{
	struct yg_gd_sess *s = opaque;

	if (h->type == YG_MSG_RELEASE || s->next_fd >= 0) {
		yg_gd_send_exit(fd, h->type == YG_MSG_RELEASE ? 0 : 1, h->type == YG_MSG_RELEASE ?
				"the session had already ended" : "box is being handed to "
				"another login; try again");
		close(fd);
		return YG_GD_END_NONE;
	}
	s->next_fd = fd;
	s->next = *h;
	return YG_GD_END_ATTACH;
}

static void hold_queued(void *opaque, int fd, const struct yg_gd_handoff *h)
{
	(void)hold_handoff(opaque, fd, h);
}

static enum yg_gd_end hold_tick(void *opaque, const struct yg_gd_times *t)
{
	struct yg_gd_sess *s = opaque;

	(void)t;
	if (yg_gd_end_requested())
		return YG_GD_END_ADMIN;
	if (yg_conn_alive(s->conn) == 0)
		return YG_GD_END_LIBVIRT;
	if (yg_gd_parent_gone())	/* a new broker: its children, its code */
		return YG_GD_END_SIGNAL;
	return s->held_lost ? YG_GD_END_CONSOLE : YG_GD_END_NONE;
}

static const struct yg_gd_relay_ops hold_ops = {
	.handoff = hold_handoff,
	.queued = hold_queued,
	.tick = hold_tick,
};

/* While held, the console is read: nothing is expected from a paused box,
 * and whatever comes is dropped (a libvirt stream queues without bound).
 * An error or EOF (another console client took it with force, QEMU went
 * away) ends the hold at the next tick: that stream is of no use. */
static void drain_cb(struct yg_ep *ep, int events, void *opaque)
{
	struct yg_gd_sess *s = opaque;
	uint8_t buf[4096];
	ssize_t n = 0;

	for (int i = 0; i < 16 && (n = yg_ep_read(ep, buf, sizeof(buf))) > 0; i++)
		;
	if ((events & (YG_EV_ERROR | YG_EV_HUP)) || (n <= 0 && n != -EAGAIN))
		s->held_lost = true;
}

static void held_record(struct yg_gd_sess *s)
{
	struct yg_rundir_lock l = { .since = (long long)time(NULL), .pid = (int)getpid(),
				    .revert_ms = -1, .holder = YG_RUNDIR_HELD };

	(void)!yg_rundir_lock_write(s->lockfd, &l);	/* information for status */
	if (s->sess_path[0])
		unlink(s->sess_path);	/* no session: yolo-gatectl sessions lists none */
	s->sess_path[0] = '\0';
}

static void release_console(struct yg_gd_sess *s)
{
	yg_ep_close(s->st);
	s->st = NULL;
	s->held_id = 0;
}

bool yg_gd_hold(struct yg_gd_sess *s)
{
	char ms[24];
	enum yg_gd_end e;
	yg_err err;
	int r;

	/* Only a box of the gate's own host: a held connection to another host
	 * would hang on it when it goes away (a blackhole is noticed by the
	 * keepalive after 20 s), where a fresh login's bounded connect tells the
	 * user in 10 (host.c). */
	if (!s->u.console_hold_ms || !s->u.warm || s->dirty || s->keys_in || !s->box ||
	    !yg_gd_host_local(s->u.host) || yg_gd_sigterm() || yg_conn_alive(s->conn) == 0)
		return false;
	/* the console first: no login is handed to a process that cannot hold */
	r = yg_console_open(s->box, s->u.console, &s->st, &err);
	if (r == 0) {
		r = yg_gd_rdv_listen(s->gate->run_dir, yg_gd_key(s), s->rdv_path,
				     sizeof(s->rdv_path), &err);
		if (r < 0)
			release_console(s);
	}
	if (r < 0) {
		yg_log(YG_LOG_WARNING, "event", "hold_failed", "box", s->u.domain,
		       "error", err.msg, NULL);
		return false;
	}
	s->rdv_fd = r;
	s->held_id = yg_box_id(s->box);
	s->held_lost = false;
	yg_ep_bind(s->st, drain_cb, s);
	(void)yg_ep_interest(s->st, YG_EV_READ);
	held_record(s);
	yg_gd_fmt_ms(ms, sizeof(ms), (long)s->u.console_hold_ms);
	yg_log(YG_LOG_INFO, "event", "console_held", "box", s->u.domain, "host", s->u.host,
	       "ms_hold", ms, NULL);
	e = yg_gd_wait_handoff(s->rdv_fd, s->sig_fd, s->u.console_hold_ms, &hold_ops, s);
	if (e == YG_GD_END_ATTACH && s->next.type != YG_MSG_RUN) {
		/* the login's relay reads it from its READY on */
		(void)yg_ep_interest(s->st, 0);
		yg_ep_bind(s->st, NULL, NULL);
		return true;
	}
	if (e == YG_GD_END_ATTACH) {	/* remote commands: no console to read */
		release_console(s);
		return true;
	}
	release_console(s);
	yg_log(YG_LOG_INFO, "event", "console_released", "box", s->u.domain, "reason",
	       e == YG_GD_END_TIMEOUT ? "timeout" : yg_gd_end_name(e), NULL);
	/* A login handed over as the hold ended (in the wait's last turn, or
	 * still in the socket's backlog) is not dropped: served with a console
	 * of its own when the hold ran out or lost its console; told to log in
	 * again when an administrator or a broker restart ended it. */
	if (e == YG_GD_END_TIMEOUT || e == YG_GD_END_CONSOLE)
		return yg_gd_next_queued(s);
	yg_gd_stop_rendezvous(s);
	if (s->next_fd >= 0) {
		yg_gd_send_error(s->next_fd, YG_ERR_BUSY, "box %s is being reverted by an "
				 "administrator, or the gate is restarting; log in again",
				 s->u.domain);
		close(s->next_fd);
		s->next_fd = -1;
	}
	return false;
}

bool yg_gd_held_console_ok(struct yg_gd_sess *s)
{
	if (!s->st)
		return false;
	if (s->held_id && (s->ms_revert >= 0 || yg_box_id(s->box) != s->held_id)) {
		release_console(s);	/* a new QEMU: its console is a new pty */
		return false;
	}
	return true;
}
