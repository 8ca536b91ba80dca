/* SPDX-License-Identifier: MIT */
/* session.h: one session child's state, shared by dispatch.c (requests),
 * concurrent.c (a held box and its other logins) and lifecycle.c (the box:
 * lock, revert, resume, agent, keys, console, end). */
#ifndef YG_GATED_SESSION_H
#define YG_GATED_SESSION_H

#include <stdint.h>
#include <time.h>

#include "gated.h"
#include "yg_box.h"
#include "yg_path.h"
#include "yg_rundir.h"
#include "yg_time.h"
#include "yg_err.h"

struct yg_gd_sess {
	int fd;				/* current client, -1 when none */
	yg_frame_in *in;		/* what was read from fd so far */
	uid_t peer_uid;			/* of fd, from SO_PEERCRED */
	pid_t peer_pid;
	yg_policy *pol;
	const struct yg_gd_gate *gate;
	struct yg_gd_user u;		/* the session's user */
	char key[YG_RUNDIR_KEY_MAX];	/* the box's run_dir key (host.c) */
	bool host_down_logged;		/* host_down audited by this process */
	char id[YG_SESSION_ID_LEN + 1];
	uint16_t rows, cols;		/* from OPEN, applied once the agent is up */
	uint16_t con_rows, con_cols;	/* the console tty's size as last set, 0 = unknown */
	char term[YG_NAME_MAX + 1];	/* the client's TERM (OPEN), "" = none */
	char term_in[YG_NAME_MAX + 1];	/* the TERM the key file in the box carries */
	bool run_mode;			/* remote commands, no console (exec.c) */
	struct yg_gd_run run;		/* the RUN that started the session */
	uint64_t linger_end;		/* run_mode: end once no command runs after this */

	virConnectPtr conn;
	yg_box *box;
	struct yg_ep *st;		/* the console endpoint (yg_console), NULL = closed */
	int held_id;			/* the domain id st was opened on in a hold, 0 = none */
	bool held_lost;			/* ... and that stream failed or ended (hold.c) */
	int dirfd;			/* run_dir/boxes */
	int lockfd;			/* flock held while we own the box */
	int rdv_fd;			/* rendezvous socket, -1 before the lock */
	char rdv_path[PATH_MAX];
	char sess_path[PATH_MAX];	/* run_dir/sessions/<id> */
	bool dirty;			/* resumed since the last revert */
	bool keys_in;			/* keys written to the guest */
	bool keys_boxd;			/* ... by yolo-boxd (KEYS), which holds them */
	bool clock_set;			/* the guest clock was set at the login */
	bool prepared;			/* PREPAREd, no shell attached yet */
	bool winch_warned;
	int sig_fd;			/* readable once SIGTERM came */

	/* the next client, from a handoff (takeover or attach) */
	int next_fd;
	struct yg_gd_handoff next;
	int release_fd;			/* a RELEASE waiting for its EXIT */
	/* concurrent = attach: other clients still attached when the relay
	 * ended; the session's EXIT goes to them too */
	int rest[YG_GD_CLIENTS_MAX];
	size_t nrest;

	/* phase durations (ms) of the current login, -1 = not done */
	long ms_lock, ms_check, ms_revert, ms_resume, ms_agent, ms_inject, ms_console;
	uint64_t t_start;		/* monotonic ms */

	/* session control and audit */
	char from[YG_NAME_MAX + 1];	/* client address (PAM's PREPARE), "" = local */
	struct yg_gd_rec *rec;		/* record = yes, NULL otherwise */
	char end_msg[YG_TEXT_MAX];	/* yolo-gatectl end --message */
	uint64_t info_active;		/* last_active written to the session file */
	uint64_t info_ms;		/* when the session file was last written */
};

struct yg_gd_times;

/* signals.c */
/* Set up the child's signals and the watchdog that bounds libvirt calls
 * and the cleanup after SIGTERM (it tells s's clients when a bound passed);
 * returns the fd that is readable once SIGTERM came, or -1. */
int yg_gd_child_signals(struct yg_gd_sess *s) YG_MUST_CHECK;
bool yg_gd_sigterm(void);
/* yolo-gatectl end sent SIGUSR1 since the last call. */
bool yg_gd_end_requested(void);

/* host.c */
/* How long a connect to a remote host may take before its users hear that
 * it is unreachable (a reachable libvirtd answers in milliseconds; over
 * ssh, the handshake takes a few hundred). */
#define YG_GD_HOST_CONNECT_MS 10000u
/* The box's run_dir key (lock, rendezvous socket): "" when its names
 * cannot name a file (every run_dir path refuses that). */
const char *yg_gd_key(struct yg_gd_sess *s);
/* Open s->conn to the box's host (s->u.uri). A remote host that does not
 * answer within YG_GD_HOST_CONNECT_MS, or refuses, is recorded as down and
 * the error says "box host NAME is unreachable (since HH:MM:SS)"; one that
 * answers again is recorded as up. */
int yg_gd_conn_open(struct yg_gd_sess *s, yg_err *err) YG_MUST_CHECK;
/* The box's (remote) host was lost: record it as down and say so into out:
 * "box host NAME is unreachable (since HH:MM:SS)". */
void yg_gd_host_down_text(struct yg_gd_sess *s, char *out, size_t len);

/* lifecycle.c */
/* A new session id (and start time); on failure ERROR and exit. */
void yg_gd_new_id(struct yg_gd_sess *s);
/* Resolve uid (the peer's, or a handed-off client's) into the session's user
 * and check it may have box reqbox ("" = its own); on refusal ERROR, exit. */
void yg_gd_resolve_user(struct yg_gd_sess *s, uid_t uid, const char *reqbox);
/* yg_gd_login, or ERROR and exit. */
void yg_gd_login_or_fail(struct yg_gd_sess *s);
/* Take the box lock. 0: we own it; -EWOULDBLOCK: another child does (the
 * holder's description is in busy, e.g. "since 12:03:55 (session 4f2a...)"). */
int yg_gd_lock(struct yg_gd_sess *s, char *busy, size_t busylen, yg_err *err) YG_MUST_CHECK;
/* Everything from the lock to "agent up, keys in" (no console). */
int yg_gd_login(struct yg_gd_sess *s, uint32_t *code, yg_err *err) YG_MUST_CHECK;
/* Open the console, READY, relay until the end (ops: the session's
 * callbacks, which the caller owns). */
enum yg_gd_end yg_gd_attach(struct yg_gd_sess *s, const struct yg_gd_relay_ops *ops);
/* Rewrite the holder record and session file after a new session id. */
void yg_gd_reclaim(struct yg_gd_sess *s);
/* "since 12:03:55 (session 4f2a...)" for this box's current session. */
void yg_gd_describe(struct yg_gd_sess *s, char *out, size_t outlen);
/* Apply a window size to the guest's serial tty (best effort, logged once). */
void yg_gd_winch(struct yg_gd_sess *s, uint16_t rows, uint16_t cols);
/* A logout's steps on the box alone (console, recording, keys, revert when
 * revert and dirty, then pause or stop: see park), for cleanup.c. */
void yg_gd_box_down(struct yg_gd_sess *s, bool revert);
/* Close the console, wipe keys, revert (logout), EXIT to the client. */
void yg_gd_logout(struct yg_gd_sess *s, enum yg_gd_end why, const char *text);
/* Release everything, log, exit. */
void yg_gd_exit(struct yg_gd_sess *s, int status) __attribute__((noreturn));
/* Send ERROR to the client, clean up the box if we touched it, exit. */
void yg_gd_fail(struct yg_gd_sess *s, uint32_t code, const char *event, const char *text)
	__attribute__((noreturn));

/* boxd.c: the session's channel to the box's yolo-boxd */
struct yg_chan_msg;
/* What the channel's user (exec.c: yg_gd_exec_hooks) is told. */
struct yg_gd_boxd_hooks {
	/* a guest message on a stream that is no request; false: not taken */
	bool (*stream_msg)(const struct yg_chan_msg *m);
	void (*dead)(const char *line);	/* the channel died (line: for users) */
	void (*pump)(void);		/* after channel I/O, and each tick */
	bool (*busy)(void);		/* commands run: silence gets a PING */
};
void yg_gd_boxd_hooks(const struct yg_gd_boxd_hooks *h);
/* Open the channel and queue HELLO (no wait): 0, or -1 with why. */
int yg_gd_boxd_start(struct yg_gd_sess *s, char *why, size_t len);
/* Queue request m (KEYS, WIPE, CLOCK, WAKE; its stream is set): its id, or 0
 * when the queue is full. wait: yg_gd_boxd_settle waits for its answer. */
uint32_t yg_gd_boxd_request(struct yg_chan_msg *m, bool wait);
uint32_t yg_gd_boxd_clock(void);	/* CLOCK with the host's time, not waited for */
/* Wait up to ms for HELLO and every waited request: 0, or with why:
 * -ENOTCONN (no HELLO), -EPIPE (dead), -ETIMEDOUT (HELLO came, an answer
 * did not), or -(YG_GD_BOXD_FAILED + code) for a FAILED (why: its text,
 * code: YG_CHAN_E_*). */
#define YG_GD_BOXD_FAILED 0x10000
int yg_gd_boxd_settle(unsigned long ms, char *why, size_t len);
bool yg_gd_boxd_up(void);		/* open, HELLO answered, not dead */
bool yg_gd_boxd_dead(void);
uint32_t yg_gd_boxd_features(void);	/* the guest's HELLO features */
/* Queue a frame (false: no room, or dead); room for n bytes and control. */
bool yg_gd_boxd_send(const struct yg_chan_msg *m);
bool yg_gd_boxd_room(size_t n);
void yg_gd_boxd_ctl(uint8_t type, uint32_t stream, uint32_t num);	/* WINDOW, SIGNAL, EOF */
uint32_t yg_gd_boxd_stream(void);	/* a new stream id */
void yg_gd_boxd_kill(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void yg_gd_boxd_update(void);		/* the channel's poll interest */
void yg_gd_boxd_close(void);

/* hold.c */
/* After a logout with nothing queued: keep the clean, paused box's console
 * open (the lock held, record holder "held") for console_hold, waiting for
 * a login (true: it is s->next, the rendezvous socket listens) or not
 * (false: timeout, SIGTERM, libvirt gone; the console is closed). A login
 * handed over as the hold ran out is s->next too, its console not held. */
bool yg_gd_hold(struct yg_gd_sess *s);
/* After the login's revert check: may the console held across the pause
 * be used? false (and closed) when none is held or QEMU changed since. */
bool yg_gd_held_console_ok(struct yg_gd_sess *s);

/* guest.c: keys, clock, console wake and window size into the box */
/* Has the box the channel to yolo-boxd? */
bool yg_gd_guest_boxd(struct yg_gd_sess *s);
/* After the resume: keys, clock (boxd: tried first when boxd) and window
 * size; 0 or -errno with code and err. */
int yg_gd_guest_login(struct yg_gd_sess *s, bool boxd, uint32_t *code, yg_err *err) YG_MUST_CHECK;
/* The key file again (TERM changed), the way the login put it (by
 * yolo-boxd only when the login's keys went that way). */
int yg_gd_guest_keys(struct yg_gd_sess *s, uint32_t *code, yg_err *err) YG_MUST_CHECK;
void yg_gd_guest_wake(struct yg_gd_sess *s);	/* the console is open: wake it */
void yg_gd_guest_clock(struct yg_gd_sess *s);	/* after READY, unless set at login */
void yg_gd_guest_wipe(struct yg_gd_sess *s);	/* the keys out, the channel closed */

/* exec.c: remote commands over the box's exec channel (yolo-boxd) */
extern const struct yg_gd_boxd_hooks yg_gd_exec_hooks;
#define YG_GD_EXEC_MAX        16	/* commands at once in one session */
#define YG_GD_BOXD_HELLO_MS   10000	/* the channel's HELLO answer */
#define YG_GD_BOXD_PING_MS    10000	/* silence before a PING, while commands run */
#define YG_GD_BOXD_PONG_MS    10000	/* PING unanswered this long: yolo-boxd is dead */
#define YG_GD_BOXD_WIPE_MS    5000	/* WIPE's answer at logout, then the agent wipes */
#define YG_GD_BOXD_LOGIN_MS   2000	/* HELLO at a login, then the agent does the keys */
#define YG_GD_BOXD_TICK_MS    1000u	/* the channel's tick: PING check, exec.c's reaping */
extern unsigned long yg_gd_boxd_ping_ms, yg_gd_boxd_pong_ms;
/* Run run for user on the box (the channel opened on first use, HELLO and
 * CLOCK): READY to fd, then the command's streams on the event loop. fd is
 * the stream's from now on (also on failure: ERROR sent, closed); in: what
 * was already read from it (copied), NULL for nothing. 0 or -1. */
int yg_gd_exec_add(struct yg_gd_sess *s, int fd, const yg_frame_in *in,
		   const struct yg_gd_run *run, const char *user);
size_t yg_gd_exec_count(void);
/* The channel broke (garbage, overrun, silence): the session must end. */
bool yg_gd_exec_dead(void);
/* End every command (EXIT 255 why to its client, flushed for a moment) and
 * close the channel: before the box goes down. */
void yg_gd_exec_close(const char *why);

/* audit.c */
void yg_gd_audit_setup(const struct yg_gd_gate *gate);
/* Log event (level: enum yg_log_level) with key/value pairs (NULL-terminated,
 * a NULL value is left out of the JSON) to syslog and to [gate] audit_log. */
void yg_gd_audit(int level, const char *event, ...) __attribute__((sentinel));
struct yg_gd_rec;
int yg_gd_rec_open(struct yg_gd_sess *s, struct yg_gd_rec **out, yg_err *err) YG_MUST_CHECK;
void yg_gd_rec_output(struct yg_gd_rec *r, const uint8_t *buf, size_t len);
const char *yg_gd_rec_name(const struct yg_gd_rec *r);
void yg_gd_rec_close(struct yg_gd_rec *r);

/* lifecycle.c: ms as a log value, "-" for a negative one (not measured) */
void yg_gd_fmt_ms(char *buf, size_t len, long ms);

/* lifecycle.c: replace run_dir/sessions/<id>, the session record that
 * yolo-gatectl sessions, status and end read (format: yg_rundir.h). */
void yg_gd_sessinfo(struct yg_gd_sess *s, const struct yg_gd_times *t);

/* reply.c (and yg_gd_send_error, yg_gd_send_exit in gated.h) */
/* READY (session id, box, escape) to a client of this session. */
int yg_gd_send_ready(struct yg_gd_sess *s, int fd) YG_MUST_CHECK;
void yg_gd_progress(struct yg_gd_sess *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int yg_gd_send_fmt(int fd, uint8_t type, uint32_t num, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* concurrent.c: the box is ours (locked, logged in) */
/* Relay, log out, and serve the next client while one was handed over or is
 * queued; exits. */
void yg_gd_serve(struct yg_gd_sess *s) __attribute__((noreturn));
/* Stop taking handoffs: unlink the rendezvous socket, drain those in flight
 * into s->next_fd (the first login; the others are told the box is busy). */
void yg_gd_stop_rendezvous(struct yg_gd_sess *s);
/* After a logout, with the lock still held: is a login queued for this box
 * (drained as above)? Then listen again for the next session. */
bool yg_gd_next_queued(struct yg_gd_sess *s);
/* The box is ours, logged in for the RUN in s->run from s->fd: run it, and
 * the commands and logins that join, until the last ends; exits. */
void yg_gd_serve_run(struct yg_gd_sess *s) __attribute__((noreturn));
/* After PREPARE answered: wait for the shell to attach (or a takeover, or
 * nobody), then serve; exits. */
void yg_gd_serve_prepared(struct yg_gd_sess *s) __attribute__((noreturn));
/* PREPARE with the box locked by us: log in (no PROGRESS), SESSION to PAM
 * (s->fd), then yg_gd_serve_prepared; exits. */
void yg_gd_serve_prepare(struct yg_gd_sess *s) __attribute__((noreturn));
/* SESSION id to PAM on fd, then close fd (best effort). */
void yg_gd_send_session(int fd, const char *id);

#endif
