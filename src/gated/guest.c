/* SPDX-License-Identifier: MIT */
/* guest.c: what a login puts into the box and takes out again: the keys,
 * the guest clock, the console's wake and window size. By yolo-boxd over
 * its channel (boxd.c) when it answers: HELLO, KEYS and CLOCK in one write,
 * one guest round trip; WAKE with the window size once the console is open,
 * CONSIZE for a resize later; WIPE at the logout. Otherwise, and for what
 * yolo-boxd refuses to be asked twice, by qemu-guest-agent (yg_agent: a
 * guest-exec and file calls).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "yg_agent.h"
#include "yg_chan.h"
#include "yg_clock.h"
#include "yg_console.h"
#include "yg_keyfile.h"
#include "yg_log.h"
#include "yg_nodump.h"
#include "yg_text.h"
#include "session.h"

/* The client's TERM as the key file's last line, so that the box's shell
 * takes it with the keys (the console's getty set vt100 or vt220). */
static void add_term(struct yg_gd_sess *s, yg_keyfile *kf)
{
	int n;

	s->term_in[0] = '\0';
	if (!yg_text_term_ok(s->term) || yg_keyfile_value(kf, "TERM", &(size_t){ 0 }))
		return;
	/* YG_KEYFILE_SPARE bytes are free behind the lines: enough for it */
	n = snprintf(kf->buf + kf->len, kf->cap - kf->len, "TERM=%s\n", s->term);
	if (n > 0 && (size_t)n < kf->cap - kf->len) {
		kf->len += (size_t)n;
		snprintf(s->term_in, sizeof(s->term_in), "%s", s->term);
	}
}

/* The key file's bytes (and TERM) into kf: 1; 0 when the user has none
 * (logged); -errno with code and err. */
static int load_keys(struct yg_gd_sess *s, yg_keyfile *kf, uint32_t *code, yg_err *err)
{
	int r;

	/* inherited from the parent; again here, as the keys are read next */
	r = yg_nodump(err);
	if (r < 0) {
		*code = YG_ERR_KEYS;
		return yg_err_prefix(err, "refusing to read the keys of %s", s->u.user);
	}
	r = s->u.keys[0] ? yg_keyfile_load(s->u.keys, geteuid(), kf, err) : -ENOENT;
	if (r == -ENOENT) {
		yg_log(YG_LOG_INFO, "event", "keys_missing", "session", s->id, "user", s->u.user,
		       "path", s->u.keys[0] ? s->u.keys : NULL, NULL);
		return 0;
	}
	if (r < 0) {
		*code = YG_ERR_KEYS;
		return r;
	}
	add_term(s, kf);
	return 1;
}

/* path into a channel message's path field (YG_CHAN_PATH_MAX + 1 bytes):
 * false when it is too long. */
static bool chan_path(char *dst, const char *path)
{
	size_t n = strlen(path);

	if (n > YG_CHAN_PATH_MAX)
		return false;
	memcpy(dst, path, n + 1);
	return true;
}

/* yolo-boxd takes WAKE: the console's wake and window size in one request,
 * not waited for (the login's round trip had the keys). */
static bool boxd_wakes(void)
{
	return yg_gd_boxd_up() && (yg_gd_boxd_features() & YG_CHAN_F_WAKE);
}

/* A window size for the console tty to yolo-boxd, when it takes CONSIZE:
 * not waited for (a tty's size takes no answer; a refusal is logged). */
static bool consize_boxd(const char *tty, uint16_t rows, uint16_t cols)
{
	yg_chan_msg m = { .type = YG_CHAN_MSG_CONSIZE };

	if (!yg_gd_boxd_up() || !(yg_gd_boxd_features() & YG_CHAN_F_CONSIZE))
		return false;
	m.u.wake.rows = rows;
	m.u.wake.cols = cols;
	return chan_path(m.u.wake.path, tty) && yg_gd_boxd_request(&m, false) != 0;
}

/* The console tty's window size: by yolo-boxd (CONSIZE), or else through
 * the agent (a guest-exec of stty, which the relay waits for: 0.3 s on a
 * real image under TCG); nothing when the console has that size already:
 * the login's WAKE gave it the OPEN's, and yolo-shell says its size again
 * once connected. */
static void apply_winsize(struct yg_gd_sess *s, uint16_t rows, uint16_t cols)
{
	char tty[YG_AGENT_TTY_MAX];
	yg_err err;

	if (!rows || !cols || !s->box || (rows == s->con_rows && cols == s->con_cols))
		return;
	if (yg_agent_console_tty(s->u.console, tty, sizeof(tty), &err) < 0 ||
	    (!consize_boxd(tty, rows, cols) &&
	     yg_agent_set_winsize(s->box, tty, rows, cols, &err) < 0)) {
		if (!s->winch_warned)
			yg_log(YG_LOG_INFO, "event", "winch_failed", "session", s->id,
			       "box", s->u.domain, "error", err.msg, NULL);
		s->winch_warned = true;
		return;
	}
	s->con_rows = rows;
	s->con_cols = cols;
}

void yg_gd_winch(struct yg_gd_sess *s, uint16_t rows, uint16_t cols)
{
	apply_winsize(s, rows, cols);
}

/* KEYS to yolo-boxd (owner a user name: boxd gives the file to that user
 * and its primary group), answered by the next yg_gd_boxd_settle. */
static int keys_to_boxd(struct yg_gd_sess *s, const yg_keyfile *kf, yg_err *err)
{
	yg_chan_msg k = { .type = YG_CHAN_MSG_KEYS };
	const char *o = s->u.inject_owner;

	if (!chan_path(k.u.keys.path, s->u.inject_path))
		return yg_err_set(err, -ENAMETOOLONG, "inject_path %s is longer than the %u "
				  "bytes yolo-boxd takes; shorten it", s->u.inject_path,
				  YG_CHAN_PATH_MAX);
	snprintf(k.u.keys.owner, sizeof(k.u.keys.owner), "%.64s", o);	/* <= 32: by_name */
	k.u.keys.mode = 0600;
	k.u.keys.bytes = (const uint8_t *)kf->buf;
	k.u.keys.len = kf->len;
	if (!yg_gd_boxd_request(&k, true))
		return yg_err_set(err, -EMSGSIZE, "the key file of %s (%zu bytes) does not fit "
				  "into one channel frame; shorten it", s->u.user, kf->len);
	return 0;
}

/* Wait for yolo-boxd's answers to what was queued: up to
 * YG_GD_BOXD_LOGIN_MS for its HELLO, then, when it is only slow, up to the
 * agent timeout. 0, -ENOTCONN (no yolo-boxd here: use the agent), or
 * another -errno with err (a refusal in the key rule's words). */
static int boxd_answers(struct yg_gd_sess *s, yg_err *err)
{
	static const struct { uint32_t chan; int rule; } refusals[] = {
		{ YG_CHAN_E_SYMLINK, YG_KEYS_SYMLINK }, { YG_CHAN_E_NOTTMPFS, YG_KEYS_DISK },
		{ YG_CHAN_E_NOUSER, YG_KEYS_NOUSER },
	};
	char why[YG_TEXT_MAX];
	int r = yg_gd_boxd_settle(YG_GD_BOXD_LOGIN_MS, why, sizeof(why));

	if (r == -ETIMEDOUT)	/* slow, not silent */
		r = yg_gd_boxd_settle(s->u.agent_timeout_ms, why, sizeof(why));
	if (r == 0 || r == -ENOTCONN)
		return r;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		int rule = refusals[i].rule;

		if (r != -(int)(YG_GD_BOXD_FAILED + refusals[i].chan))
			continue;
		/* NOTTMPFS is a non-empty disk directory or a failed mount; the
		 * guest's text only picks which of our sentences is shown */
		if (rule == YG_KEYS_DISK && !strstr(why, "not empty"))
			rule = YG_KEYS_MOUNT;
		return yg_keys_refused(s->u.domain, s->u.inject_path, rule, err);
	}
	return yg_err_set(err, -EIO, "%s", why);
}

/* The keys into the box: by yolo-boxd (boxd: its channel is open; then
 * -ENOTCONN when it does not answer), else by the agent. */
static int inject_keys(struct yg_gd_sess *s, bool boxd, uint32_t *code, yg_err *err)
{
	uint64_t t0 = yg_now_ms();
	yg_keyfile kf = { 0 };
	char count[16], names[512];
	int r;

	r = load_keys(s, &kf, code, err);
	if (r <= 0)
		return r;
	if (boxd) {
		r = keys_to_boxd(s, &kf, err);
		if (r == 0 && !s->clock_set) {
			/* behind the KEYS, in the same write, and not waited for:
			 * the guest's reaction to a clock step (its timers, under
			 * TCG tens of ms) comes after the KEYS answer, not before */
			(void)yg_gd_boxd_clock();
			s->clock_set = true;
		}
		if (r == 0)
			r = boxd_answers(s, err);
	} else {
		r = yg_agent_inject(s->box, s->u.inject_path, s->u.inject_owner, kf.buf, kf.len,
				    err);
	}
	snprintf(count, sizeof(count), "%zu", kf.nnames);
	names[0] = '\0';
	for (size_t i = 0, o = 0; i < kf.nnames && o < sizeof(names) - 1; i++)
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? "," : "",
				      kf.names[i]);
	yg_keyfile_clear(&kf);
	if (r == -ENOTCONN)
		return r;
	if (r < 0) {
		*code = YG_ERR_KEYS;
		return yg_err_prefix(err, "cannot put the keys of %s into box %s", s->u.user,
				     s->u.domain);
	}
	s->keys_in = true;
	s->keys_boxd = boxd;
	s->ms_inject = (long)(yg_now_ms() - t0);
	yg_gd_audit(YG_LOG_INFO, "keys_injected", "session", s->id, "user", s->u.user,
		    "box", s->u.domain, "count", count, "names", names,
		    "by", boxd ? "yolo-boxd" : "agent", NULL);
	return 0;
}

static int login_agent(struct yg_gd_sess *s, uint32_t *code, yg_err *err);

/* After the resume, with yolo-boxd: HELLO, KEYS and CLOCK in one write, all
 * answered in one guest round trip (READY waits for HELLO and KEYS). No
 * HELLO within YG_GD_BOXD_LOGIN_MS (an image without yolo-gate-guest): the
 * channel is closed, 0, and the agent
 * does the keys (a KEYS yolo-boxd would take later writes the same file the
 * agent writes, and the logout wipes it). */
static int login_boxd(struct yg_gd_sess *s, uint32_t *code, yg_err *err)
{
	const char *o = s->u.inject_owner;
	/* yolo-boxd takes an owner by name (the file gets its primary group);
	 * user:group and numeric ids go on through the agent */
	bool by_name = !*o || (strlen(o) <= 32 && !strchr(o, ':') && o[strspn(o, "0123456789")]);
	uint64_t t0 = yg_now_ms();
	char why[YG_TEXT_MAX];
	int r;

	yg_gd_boxd_hooks(&yg_gd_exec_hooks);
	r = yg_gd_boxd_start(s, why, sizeof(why));
	if (r == 0) {
		r = by_name ? inject_keys(s, true, code, err) : 0;	/* KEYS, CLOCK */
		if (!s->clock_set)	/* no key file, or the agent's keys */
			(void)yg_gd_boxd_clock();
		if (r == 0 && !s->keys_in)	/* no key file: HELLO alone */
			r = boxd_answers(s, err);
		if (r == -ENOTCONN)
			snprintf(why, sizeof(why), "%s", "no HELLO within 2 s");
	}
	if (r < 0 && r != -ENOTCONN) {
		*code = YG_ERR_KEYS;
		return r;
	}
	if (r < 0 || !yg_gd_boxd_up()) {
		yg_log(YG_LOG_INFO, "event", "boxd_silent", "session", s->id, "box", s->u.domain,
		       "error", why, NULL);
		yg_gd_boxd_close();
		s->clock_set = false;	/* the agent sets it after READY */
		return 0;
	}
	s->clock_set = true;
	s->ms_inject = (long)(yg_now_ms() - t0);
	return by_name ? 0 : login_agent(s, code, err);
}

/* After the resume, without yolo-boxd: wait for the agent, then the keys. */
static int login_agent(struct yg_gd_sess *s, uint32_t *code, yg_err *err)
{
	uint64_t t0 = yg_now_ms();
	int r;

	r = yg_agent_wait(s->box, s->u.agent_timeout_ms, err);
	if (r < 0) {
		char why[sizeof(err->msg)];

		/* err->msg already names the box and the bound; a copy, since
		 * yg_err_set must not read the buffer it writes */
		*code = YG_ERR_AGENT;
		snprintf(why, sizeof(why), "%s", err->msg);
		return yg_err_set(err, r, "%s; the box is reverted; try again, or ask your "
				  "administrator to check the guest", why);
	}
	s->ms_agent = (long)(yg_now_ms() - t0);
	return inject_keys(s, false, code, err);
}

static void wake_boxd(struct yg_gd_sess *s, const char *tty)
{
	yg_chan_msg w = { .type = YG_CHAN_MSG_WAKE };

	w.u.wake.rows = s->rows;
	w.u.wake.cols = s->cols;
	if (!chan_path(w.u.wake.path, tty) || !yg_gd_boxd_request(&w, false)) {
		yg_log(YG_LOG_DEBUG, "event", "console_wake_failed", "session", s->id,
		       "box", s->u.domain, "error", "the channel's queue is full", NULL);
		return;
	}
	s->con_rows = s->rows;	/* as good as done: the size of a tty takes no answer */
	s->con_cols = s->cols;
}

/* QEMU's pty chardev notices a new reader (us, just attached) at once only
 * when the guest writes to the serial port; otherwise up to a second later.
 * So make the guest write a line break to the policy console's tty (WAKE to
 * yolo-boxd, which also sets the window size, or an agent guest-exec; neither
 * is waited for), then ask the guest's shell for a fresh prompt with a CR.
 * Best effort; the console works without it. (This QEMU still reads typed
 * input only after its next poll: docs/BENCHMARKS.md, section 1.) */
void yg_gd_guest_wake(struct yg_gd_sess *s)
{
	char tty[YG_AGENT_TTY_MAX];
	yg_err err;

	if (yg_agent_console_tty(s->u.console, tty, sizeof(tty), &err) < 0)
		yg_log(YG_LOG_DEBUG, "event", "console_wake_failed", "session", s->id,
		       "box", s->u.domain, "error", err.msg, NULL);
	else if (boxd_wakes())
		wake_boxd(s, tty);
	else if (yg_agent_console_wake(s->box, tty, &err) < 0)
		yg_log(YG_LOG_DEBUG, "event", "console_wake_failed", "session", s->id,
		       "box", s->u.domain, "error", err.msg, NULL);
	if (yg_ep_write(s->st, "\r", 1) < 0)
		yg_log(YG_LOG_DEBUG, "event", "console_wake_failed", "session", s->id,
		       "box", s->u.domain, "error", "cannot write to the console", NULL);
}

/* The guest clock from the host (a revert left the snapshot's time), after
 * READY so that it is not on the login's path; logged with its duration. */
static void set_clock(struct yg_gd_sess *s)
{
	uint64_t t0 = yg_now_ms();
	char ms[24];
	yg_err err;
	int r;

	r = yg_box_set_time(s->box, &err);
	yg_gd_fmt_ms(ms, sizeof(ms), (long)(yg_now_ms() - t0));
	if (r < 0)
		yg_log(r == -ENOTSUP ? YG_LOG_DEBUG : YG_LOG_INFO, "event", "clock_failed",
		       "session", s->id, "box", s->u.domain, "ms_clock", ms, "error", err.msg, NULL);
	else
		yg_log(YG_LOG_INFO, "event", "clock_set", "session", s->id, "box", s->u.domain,
		       "ms_clock", ms, NULL);
}

/* WIPE by yolo-boxd (zeroes and removes the key file, forgets the lines it
 * kept): true when it answered OK; otherwise the agent wipes. */
static bool wipe_boxd(struct yg_gd_sess *s)
{
	yg_chan_msg w = { .type = YG_CHAN_MSG_WIPE };
	char why[YG_TEXT_MAX];

	if (!s->keys_boxd || !yg_gd_boxd_up())
		return false;
	if (chan_path(w.u.wipe.path, s->u.inject_path) && yg_gd_boxd_request(&w, true) &&
	    yg_gd_boxd_settle(YG_GD_BOXD_WIPE_MS, why, sizeof(why)) == 0)
		return true;
	yg_log(YG_LOG_INFO, "event", "boxd_wipe_failed", "session", s->id, "box", s->u.domain,
	       "error", yg_gd_boxd_up() ? why : "the channel is down", NULL);
	return false;
}

/* ---- what lifecycle.c calls ---- */

/* Has the box the channel to yolo-boxd (every box yolo-gatectl provisions
 * has)? Then the login talks to yolo-boxd, and to the agent only when no
 * yolo-boxd answers. */
bool yg_gd_guest_boxd(struct yg_gd_sess *s)
{
	yg_err err;

	return yg_box_has_channel(s->box, YG_CHAN_PORT, &err) == 1;
}

int yg_gd_guest_login(struct yg_gd_sess *s, bool boxd, uint32_t *code, yg_err *err)
{
	int r = boxd ? login_boxd(s, code, err) : 0;

	if (r == 0 && !yg_gd_boxd_up())
		r = login_agent(s, code, err);
	if (r == 0 && !boxd_wakes())	/* else the console's WAKE sets it */
		apply_winsize(s, s->rows, s->cols);
	return r;
}

int yg_gd_guest_keys(struct yg_gd_sess *s, uint32_t *code, yg_err *err)
{
	int r = inject_keys(s, s->keys_boxd && yg_gd_boxd_up(), code, err);

	return r == -ENOTCONN ? yg_err_set(err, r, "the box's yolo-boxd went silent") : r;
}

void yg_gd_guest_clock(struct yg_gd_sess *s)
{
	if (!s->clock_set)	/* yolo-boxd's CLOCK set it at the login */
		set_clock(s);
}

void yg_gd_guest_wipe(struct yg_gd_sess *s)
{
	yg_err err;

	if (s->keys_in && s->box && !wipe_boxd(s) &&
	    yg_agent_wipe_file(s->box, s->u.inject_path, &err) < 0)
		yg_log(YG_LOG_WARNING, "event", "keys_wipe_failed", "session", s->id,
		       "box", s->u.domain, "error", err.msg, NULL);
	s->keys_in = s->keys_boxd = false;
	yg_gd_boxd_close();
}
