/* SPDX-License-Identifier: MIT */
/* gated.h: internals of yolo-gated, the broker.
 *
 * main.c       options, start-up as root, the listening socket, accept +
 *              fork, signals (SIGCHLD reaps, SIGHUP reloads the policy).
 * clients.c    the parent's count of its children per uid and in total.
 * access.c     the only file that includes yg_policy.h: loads the policy and
 *              turns a peer uid or a user name into a yg_gd_user.
 * dispatch.c   one connection in a forked child: HELLO, the request table,
 *              OPEN / PREPARE / RELEASE / ACCOUNT.
 * concurrent.c a child that holds a box: relay, logout, and other logins of
 *              the same box (refuse, takeover, attach, queue).
 * lifecycle.c  one box from lock to final revert: lock, revert, resume,
 *              agent, keys, console, logout.
 * relay.c      the relay between endpoints (console, client sockets) on the
 *              process's event loop (yg_loop).
 * exec.c       remote commands (RUN): the box's exec channel to yolo-boxd,
 *              one stream per command, on the same loop.
 * handoff.c    the per-box rendezvous socket (SCM_RIGHTS) that keeps one
 *              owner per box.
 * audit.c      the audit trail and session recordings.
 * reply.c      ERROR / EXIT / PROGRESS frames to clients.
 * signals.c    a session child's signals.
 * cleanup.c    the box of a child that died without its logout, in a
 *              process the parent forks for it.
 * session.h    the state of one session child, shared by the child's files.
 */
#ifndef YG_GATED_H
#define YG_GATED_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "yg_endpoint.h"
#include "yg_err.h"
#include "yg_path.h"
#include "yg_proto.h"
#include "yg_time.h"

typedef struct yg_policy yg_policy;
struct yg_user_policy;
struct yg_rundir_session;

/* Timeouts (ms). */
#define YG_GD_HELLO_TIMEOUT_MS   30000	/* pre-session phases */
#define YG_GD_PREPARE_WAIT_MS    300000	/* PREPAREd box waiting for its shell */
#define YG_GD_SEND_TIMEOUT_MS    5000	/* one frame to a client */
#define YG_GD_HANDOFF_WAIT_MS    10000	/* box locked but its owner not listening */
#define YG_GD_ENDING_WAIT_MS     120000	/* ... because its session ends (logout revert) */

struct yg_gd_opts {
	const char *confdir;	/* NULL = default */
	const char *socket;	/* NULL = [gate] socket */
	bool stay_root;		/* tests only: no privilege drop */
	bool log_stderr;
	bool debug;
};

/* [gate], copied out of the policy. */
struct yg_gd_gate {
	char uri[PATH_MAX];	/* "" = libvirt default */
	char socket[PATH_MAX];
	char run_dir[PATH_MAX];
	char service_user[64];
	int log_level;		/* enum yg_log_level value */
	char audit_log[PATH_MAX];	/* "" = off */
	char record_dir[PATH_MAX];
	unsigned long long record_max_size;
	unsigned max_clients, max_clients_per_user;	/* 0 = no cap */
};

/* The effective policy of one user, copied out of yg_user_policy. */
struct yg_gd_user {
	bool gated, enabled;
	bool own;			/* domain is the user's own box ([user:]/[group:]) */
	uid_t uid;
	char user[YG_NAME_MAX + 1];
	char domain[YG_NAME_MAX + 1];
	/* The host the box lives on ([host:], "local" = [gate] uri) and its
	 * libvirt URI ("" = libvirt's default) */
	char host[YG_NAME_MAX + 1];
	char uri[PATH_MAX];
	bool host_enabled;		/* the host's enabled = (no: no new logins) */
	char snapshot[256];
	char keys[PATH_MAX];
	char inject_path[PATH_MAX];
	char inject_owner[80];		/* guest user[:group]: at most 32:32 */
	char console[64];
	int escape;			/* -1 = none */
	bool revert_login;		/* revert = login (else logout) */
	bool warm;			/* warm = yes: stay paused after the logout revert */
	bool takeover;			/* concurrent = takeover (else refuse) */
	bool attach;			/* concurrent = attach */
	bool idle_output;		/* idle = output */
	bool record;			/* record = yes */
	bool remote;			/* remote = yes: RUN allowed */
	unsigned long linger_ms;	/* linger: a RUN session's wait after its last command */
	unsigned long console_hold_ms;	/* console_hold: the console held open after a logout */
	unsigned long agent_timeout_ms, idle_timeout_ms, max_session_ms;
	unsigned long idle_warning_ms;
	/* for yg_gd_may_enter */
	struct yg_user_policy *up;
	char **groups;
	size_t ngroups;
};

/* ---- access.c ---- */

/* Load confdir. On failure every diagnostic is in *diagtext ("file:line: msg"
 * lines, malloc'd, caller frees). */
int yg_gd_policy_load(const char *confdir, yg_policy **out, char **diagtext) YG_MUST_CHECK;
void yg_gd_policy_free(yg_policy *pol);
/* The policy generation (access.c): the parent maps it (NULL on failure)
 * and bumps it after each successful reload; a child records where its
 * policy came from, and yg_gd_policy_refresh loads it anew when the parent
 * has reloaded since, or is gone (1), or leaves it (0); -EINVAL with err
 * when it no longer loads. */
volatile unsigned *yg_gd_policy_gen_map(void);
void yg_gd_policy_origin(const char *confdir, volatile unsigned *gen);
int yg_gd_policy_refresh(yg_policy **pol, yg_err *err) YG_MUST_CHECK;
/* The broker that forked this child has ended (a restart: KillMode=process). */
bool yg_gd_parent_gone(void);
void yg_gd_gate_get(const yg_policy *pol, struct yg_gd_gate *out);
/* Resolve a user (by uid from SO_PEERCRED, or by name for PAM's requests)
 * with all their groups. -ENOENT: no such user; -EINVAL: policy error (err). */
int yg_gd_user_by_uid(const yg_policy *pol, uid_t uid, struct yg_gd_user *u, yg_err *err) YG_MUST_CHECK;
int yg_gd_user_by_name(const yg_policy *pol, const char *name, struct yg_gd_user *u,
		       yg_err *err) YG_MUST_CHECK;
void yg_gd_user_clear(struct yg_gd_user *u);
bool yg_gd_may_enter(const yg_policy *pol, const struct yg_gd_user *u, const char *domain);
/* The box a login of u gets: reqbox when u may enter it, or with reqbox ""
 * the default: u's own box, else the one [box:] entry that lists u. Sets
 * u->domain and returns 0, or a YG_ERR_* code with a sentence in why. */
uint32_t yg_gd_choose_box(const yg_policy *pol, struct yg_gd_user *u, const char *reqbox,
			  char *why, size_t whylen) YG_MUST_CHECK;
/* May u join a running session of another user in domain: a [box:domain]
 * entry lists them with attach = yes. */
bool yg_gd_may_attach(const yg_policy *pol, const struct yg_gd_user *u, const char *domain);
/* Put u's box on host (NULL: "local"): u->host, u->uri, u->host_enabled.
 * -ENOENT when the policy has no such host (any more). */
int yg_gd_user_host(const yg_policy *pol, struct yg_gd_user *u, const char *host);
/* Is host the gate's own libvirt? */
bool yg_gd_host_local(const char *host);

/* ---- clients.c (the parent) ---- */

/* May a connection of uid get a child now? 0, or -EUSERS (that uid has its
 * [gate] max_clients_per_user) / -EAGAIN (max_clients children in all) with
 * a sentence for the client in why. uid 0 is always admitted. */
int yg_gd_clients_admit(const struct yg_gd_gate *g, uid_t uid, char *why, size_t len)
	YG_MUST_CHECK;
/* A child was forked for uid / was reaped. */
int yg_gd_clients_add(pid_t pid, uid_t uid) YG_MUST_CHECK;
void yg_gd_clients_remove(pid_t pid);
size_t yg_gd_clients_count(void);
/* Log a refusal (rate-limited: one line a second, with how many were not). */
void yg_gd_clients_log_refusal(uid_t uid, int why);

/* ---- handoff.c ---- */

/* A remote command (RUN), as the client asked for it. */
struct yg_gd_run {
	uint8_t flags;		/* YG_RUN_PTY */
	char term[YG_NAME_MAX + 1];
	uint16_t rows, cols;
	char subsystem[YG_NAME_MAX + 1];	/* "" or "sftp" */
	char command[YG_CMD_MAX + 1];
};

/* What a child that found the box locked hands to its owner. */
struct yg_gd_handoff {
	uid_t uid;		/* the client's uid (SO_PEERCRED at accept); for
				 * PREPARE, the uid of the user PAM named */
	uint8_t type;		/* YG_MSG_OPEN, YG_MSG_PREPARE, YG_MSG_RELEASE or YG_MSG_RUN */
	char box[YG_NAME_MAX + 1];
	char from[YG_NAME_MAX + 1];	/* PREPARE: the client's address */
	char user[YG_NAME_MAX + 1];	/* the client's user name */
	bool attach_ok;		/* the sender's policy lets this user join another
				 * user's session here (yg_gd_may_attach) */
	char session[YG_SESSION_MAX + 1];
	uint8_t mode;
	char term[YG_NAME_MAX + 1];
	uint16_t rows, cols;
	struct yg_gd_run run;	/* RUN only */
};

/* Owner side: bind run_dir/boxes/<domain>.sock (0600, stale one removed). */
int yg_gd_rdv_listen(const char *run_dir, const char *domain, char *path, size_t pathlen,
		     yg_err *err) YG_MUST_CHECK;
/* Owner side: accept one handoff; checks the peer's uid == our euid.
 * Returns 0 with *fd (the client) and *h filled, or a negative errno. */
int yg_gd_rdv_accept(int lfd, int *fd, struct yg_gd_handoff *h) YG_MUST_CHECK;
/* Sender side: connect to the owner of domain and pass fd + h. Retries for
 * up to wait_ms while the owner is still starting. */
int yg_gd_rdv_send(const char *run_dir, const char *domain, int fd,
		   const struct yg_gd_handoff *h, int wait_ms) YG_MUST_CHECK;

/* ---- relay.c ---- */

enum yg_gd_end {
	YG_GD_END_NONE = 0,
	YG_GD_END_CLIENT_EOF,	/* client closed or hung up */
	YG_GD_END_CLIENT_EXIT,	/* EXIT from the client (escape) */
	YG_GD_END_CONSOLE,	/* console closed, QEMU died */
	YG_GD_END_PROTOCOL,	/* bad frame from the client */
	YG_GD_END_SIGNAL,	/* SIGTERM */
	YG_GD_END_IDLE,		/* idle timeout */
	YG_GD_END_MAX,		/* max session time */
	YG_GD_END_TAKEOVER,	/* a new login took the box over */
	YG_GD_END_RELEASE,	/* PAM's RELEASE */
	YG_GD_END_ATTACH,	/* the shell attached to a PREPAREd box (wait only) */
	YG_GD_END_TIMEOUT,	/* nobody came for a PREPAREd box (wait only) */
	YG_GD_END_ERROR,	/* libvirt or system error */
	YG_GD_END_ADMIN,	/* yolo-gatectl end */
	YG_GD_END_JOIN,		/* (handoff verdict) add the client to the relay */
	YG_GD_END_SLOW,		/* one of several clients did not keep up */
	YG_GD_END_LIBVIRT,	/* the libvirt connection died (libvirtd restarted) */
	YG_GD_END_BOXD,		/* the box's yolo-boxd broke the exec channel */
	YG_GD_END_DONE,		/* the remote commands ended (and linger passed) */
};
const char *yg_gd_end_name(enum yg_gd_end e);

struct yg_gd_relay;

/* Time limits of one relay (ms; 0 = off). */
struct yg_gd_limits {
	unsigned long idle_ms;		/* idle_timeout */
	unsigned long idle_warn_ms;	/* idle_warning: warn this long before */
	bool idle_output;		/* guest output counts as activity */
	unsigned long max_ms;		/* max_session, from start_ms */
	uint64_t start_ms;		/* monotonic start of the session */
	unsigned long slow_ms;		/* 0 = YG_GD_SLOW_CLIENT_MS (tests: shorter) */
};

/* Where a relay stands, for the tick callback (monotonic ms; 0 = none). */
struct yg_gd_times {
	uint64_t now, last_active, idle_end, max_end;
};

/* Callbacks out of the relay, run from the relay's loop, never from inside
 * an endpoint's event callback (so they may call libvirt). */
struct yg_gd_relay_ops {
	void (*winch)(void *opaque, uint16_t rows, uint16_t cols);
	/* A handoff arrived on the rendezvous socket; return an end reason to
	 * stop relaying (the relay then returns), or YG_GD_END_NONE. */
	enum yg_gd_end (*handoff)(void *opaque, int fd, const struct yg_gd_handoff *h);
	/* A handoff that arrived as the session was ending: the caller serves
	 * it after the logout (the box is still locked by us). */
	void (*queued)(void *opaque, int fd, const struct yg_gd_handoff *h);
	/* About every YG_GD_TICK_MS: return an end reason to stop, or
	 * YG_GD_END_NONE (may be NULL). */
	enum yg_gd_end (*tick)(void *opaque, const struct yg_gd_times *t);
	/* Console output, as it goes to the client (may be NULL). */
	void (*output)(void *opaque, const uint8_t *buf, size_t len);
	/* One of several clients left (why: CLIENT_EOF, CLIENT_EXIT, PROTOCOL,
	 * SLOW) while left others stay attached: the callee closes fd. */
	void (*detach)(void *opaque, int fd, enum yg_gd_end why, size_t left);
};

/* concurrent = attach: clients of one session, and how long one of several
 * may fail to take console output before it is dropped. */
#define YG_GD_CLIENTS_MAX 8
#define YG_GD_SLOW_CLIENT_MS 10000

/* The clients of a relay. In: fd (made non-blocking) and in (what was
 * already read from it). Out: fd is the client the session's EXIT goes to
 * (the first still attached, or the last to leave), rest the others still
 * attached. */
struct yg_gd_clients {
	int fd;
	yg_frame_in *in;
	int rest[YG_GD_CLIENTS_MAX];
	size_t nrest;
};

#define YG_GD_TICK_MS 250

/* The relay's bounded buffers: per client, DATA frames of console output
 * (its backlog: box output beyond it is dropped for that client, see
 * relay.c); to the console, DATA payloads from the clients. */
#define YG_GD_TOCLI_SIZE (2048u * 1024)
#define YG_GD_TOCON_SIZE (2 * YG_DATA_MAX)
/* After the end, output already read goes on to the clients this long. */
#define YG_GD_FLUSH_MS 1000

/* Relay between the clients (cl) and the console endpoint con until the
 * session ends; a handoff whose verdict is YG_GD_END_JOIN adds a client (its
 * READY already sent); one that leaves while others stay goes to
 * ops->detach, the last one ends the relay. rdv_fd (-1 = none) is watched
 * for handoffs, sig_fd (-1 = none) is readable when SIGTERM came. Runs on
 * the process's event loop (yg_loop). Returns why it ended. Closes no fd of
 * cl, nor con (left with no interest and no callback). */
enum yg_gd_end yg_gd_relay_run(struct yg_gd_clients *cl, struct yg_ep *con, int rdv_fd,
			       int sig_fd, const struct yg_gd_limits *lim,
			       const struct yg_gd_relay_ops *ops, void *opaque);

/* Wait (event loop) without a client: for a handoff on rdv_fd, SIGTERM on
 * sig_fd, or timeout_ms. Same handoff callback as the relay. */
enum yg_gd_end yg_gd_wait_handoff(int rdv_fd, int sig_fd, unsigned long timeout_ms,
				  const struct yg_gd_relay_ops *ops, void *opaque);

/* ---- dispatch.c ---- */

/* Serve one accepted connection in a forked child; never returns. */
void yg_gd_session_main(int fd, uid_t peer_uid, pid_t peer_pid, yg_policy *pol,
			const struct yg_gd_gate *gate) __attribute__((noreturn));

/* ---- cleanup.c ---- */

/* Bounds of the cleanup of a dead child's box (ms). */
#define YG_GD_CLEANUP_MS         30000	/* wipe + revert, or the box is destroyed */
#define YG_GD_CLEANUP_AGENT_MS   3000	/* the agent must answer within this to wipe */
#define YG_GD_CLEANUP_DESTROY_MS 30000	/* the destroy after an overrun: libvirt
					 * gives a QEMU that ignores SIGTERM 10 s */

/* In a process forked by the parent for a child that ended (wait status
 * status) leaving its session record rec (file name session, already
 * removed): take the box lock, wipe the keys, revert or pause the box as
 * its policy says, all within YG_GD_CLEANUP_MS, or destroy it; log
 * event=cleanup. The caller has closed the parent's descriptors and
 * dropped its signal handlers. Never returns. */
void yg_gd_cleanup_main(const struct yg_rundir_session *rec, const char *session, int status,
			yg_policy *pol, const struct yg_gd_gate *gate) __attribute__((noreturn));

/* ---- reply.c ---- */

/* A frame to a client, best effort, bounded in time. */
int yg_gd_send_error(int fd, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int yg_gd_send_exit(int fd, uint32_t status, const char *reason);

#endif
