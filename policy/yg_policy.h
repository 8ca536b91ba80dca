/* SPDX-License-Identifier: MIT */
/* yg_policy.h: the yolo-gate policy engine (libygpolicy.la).
 *
 * Loads <confdir>/gate.conf, then <confdir>/policy.d/NAME.conf in lexical
 * order, checks ownership/modes (StrictModes-like), parses every line and
 * reports EVERY problem as a yg_diag ("file:line: message").  The loaded
 * policy then answers: what are the daemon-wide settings ([gate]), what is
 * the effective policy of user U (defaults < group < user, with the origin
 * of each value), may U enter box D ([box:D] users=/groups=), and which
 * libvirt host a box lives on ([host:NAME] sections, the host key).
 *
 * All functions return 0 or a negative errno.  The engine never resolves
 * names through NSS except in yg_policy_user_lookup(), so it is testable
 * (and fuzzable) without a passwd database.
 */
#ifndef YG_POLICY_H
#define YG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "yg_log.h"
#include "yg_err.h"

/* ---- diagnostics --------------------------------------------------- */

typedef struct yg_diag {
	char *file;     /* path of the file, or NULL when not about a file */
	unsigned line;  /* 1-based; 0 = about the whole file */
	char *msg;      /* one sentence: what is wrong, what would be valid */
} yg_diag;

typedef struct yg_diags {
	yg_diag *v;
	size_t n, cap;
} yg_diags;

/* Append one diagnostic (file may be NULL, line may be 0).  Returns 0 or
 * -ENOMEM. */
int yg_diags_addf(yg_diags *d, const char *file, unsigned line,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Print each as "file:line: msg\n" ("file: msg" when line is 0, "msg"
 * without a file). */
void yg_diags_print(const yg_diags *d, FILE *f);
/* Free the contents; d itself may be reused (it is left empty). */
void yg_diags_free(yg_diags *d);

/* ---- loading ------------------------------------------------------- */

typedef struct yg_policy yg_policy;

/* Default configuration directory: SYSCONFDIR "/yolo-gate". */
#define YG_POLICY_DEFAULT_CONFDIR SYSCONFDIR "/yolo-gate"

/* Load confdir (NULL = YG_POLICY_DEFAULT_CONFDIR).  On success *out is a
 * new policy and 0 is returned.  If the configuration has any error, every
 * error is appended to diags, *out is NULL and -EINVAL is returned (-ENOMEM
 * on allocation failure).  A missing gate.conf or policy.d is not an error;
 * a missing confdir is an error only when it was given explicitly. */
int yg_policy_load(const char *confdir, yg_policy **out, yg_diags *diags) YG_MUST_CHECK;
void yg_policy_free(yg_policy *pol);

const char *yg_policy_confdir(const yg_policy *pol);
/* Files actually read, in the order they were read. */
size_t yg_policy_nfiles(const yg_policy *pol);
const char *yg_policy_file(const yg_policy *pol, size_t i);

/* Call fn(ctx, name) for every [user:NAME] (kind "user"), [group:NAME]
 * ("group"), [box:NAME] ("box") or [host:NAME] ("host") section, in order
 * of first appearance;
 * stops at, and returns, the first non-zero fn result. */
int yg_policy_each_name(const yg_policy *pol, const char *kind,
			int (*fn)(void *ctx, const char *name), void *ctx) YG_MUST_CHECK;

/* ---- [gate] -------------------------------------------------------- */

/* log levels: enum yg_log_level from src/lib/yg_log.h (one definition for the
 * whole project; lead's edit, keep it). */

struct yg_gate_conf {
	const char *uri;          /* default qemu:///system */
	const char *socket;       /* default RUNSTATEDIR/yolo-gate/gated.sock */
	const char *run_dir;      /* default RUNSTATEDIR/yolo-gate */
	const char *service_user; /* default YG_DEFAULT_SERVICE_USER */
	int log_level;            /* enum yg_log_level, default YG_LOG_INFO */
	const char *audit_log;    /* JSON-lines audit file; "" = off (default) */
	const char *record_dir;   /* default LOCALSTATEDIR/log/yolo-gate/sessions */
	unsigned long long record_max_size; /* bytes per .cast, default 10M */
	unsigned max_clients;     /* connections served at once, 0 = no cap */
	unsigned max_clients_per_user; /* the same per uid (root: no cap) */
};

const struct yg_gate_conf *yg_policy_gate(const yg_policy *pol);

/* ---- hosts (issue #17) --------------------------------------------- */

/* A lab may spread its boxes over several libvirt hosts behind one gate:
 * each [host:NAME] section names one, the host = key puts a user's box or
 * a [box:] box on it.  The host "local" always exists and is the gate's
 * own libvirt ([gate] uri); [host:local] is an error. */

/* Overlay directory of a host without images = (the same directory as
 * yolo-gatectl provision's default --images). */
#define YG_POLICY_DEFAULT_IMAGES LOCALSTATEDIR "/lib/yolo-gate/boxes"

struct yg_host_conf {
	const char *name;      /* "local" or the [host:NAME] name */
	const char *uri;       /* libvirt URI ("local": [gate] uri) */
	const char *images;    /* overlay directory on that host */
	unsigned capacity;     /* boxes, 0 = no cap */
	unsigned long long memory_bytes; /* 0 = no cap */
	bool enabled;          /* enabled = no: the host takes no new logins */
	const char *origin;    /* "file:line" of the header, or
				* "built-in ([gate] uri)" */
};

/* >= 1: "local" is index 0, then the [host:] sections in order of first
 * appearance. */
size_t yg_policy_nhosts(const yg_policy *pol);
/* NULL when i is out of range. */
const struct yg_host_conf *yg_policy_host_at(const yg_policy *pol, size_t i);
/* NULL when no host has that name (exact case). */
const struct yg_host_conf *yg_policy_host(const yg_policy *pol,
					  const char *name);
/* The host of [box:NAME] (its host key, else "local"); NULL when there is
 * no such [box:] section. */
const char *yg_policy_box_host(const yg_policy *pol, const char *box);

/* ---- per-user policy ----------------------------------------------- */

enum yg_revert { YG_REVERT_LOGOUT = 0, YG_REVERT_LOGIN };
enum yg_concurrent { YG_CONCURRENT_REFUSE = 0, YG_CONCURRENT_TAKEOVER,
		     YG_CONCURRENT_ATTACH };

struct yg_setting {
	const char *key;  /* static string, e.g. "domain" */
	char *value;      /* expanded value as it applies to this user */
	char *origin;     /* "file:line" or "built-in default" */
};

typedef struct yg_user_policy {
	bool gated;       /* some [user:]/[group:]/[box:] section applies */
	bool own;         /* a [user:] or [group:] section applies: domain is
			   * the user's own box (else only [box:] boxes) */
	bool enabled;     /* enabled = yes|no (meaningful when gated) */
	char *user;       /* user name, exact case */
	char *group;      /* primary group name (NULL when none given) */
	uid_t uid;
	char *domain, *snapshot, *keys, *inject_path, *console;
	char *inject_owner;             /* guest user[:group] of the key file */
	int escape;       /* byte value, -1 = none */
	enum yg_revert revert;
	bool warm;
	unsigned long agent_timeout_ms, idle_timeout_ms, max_session_ms;
	enum yg_concurrent concurrent;
	bool idle_output;               /* idle = output: guest output counts */
	unsigned long idle_warning_ms;  /* warn this long before idle end */
	bool record;                    /* record = yes: asciinema .cast */
	bool remote;                    /* remote = yes: commands, file transfer */
	unsigned long linger_ms;        /* a remote command's session stays */
	unsigned long console_hold_ms;  /* a reverted box's console stays open */
	/* Resources (issue #9). */
	unsigned vcpus;                 /* 1..64, default 1 */
	unsigned long long memory_bytes; /* default 512M, at least 64M */
	unsigned cpu_quota;             /* % of one CPU, 0 = unlimited,
					 * at most 100 * vcpus */
	unsigned long long disk_size_bytes; /* default 8G */
	unsigned long disk_iops;        /* 0 = unlimited */
	unsigned long long disk_bps;    /* bytes per second, 0 = unlimited */
	char *network;                  /* libvirt network; NULL = none */
	/* Hosts (issue #17): the [host:] the box lives on, never NULL after
	 * yg_policy_for_user succeeded ("local" by default). */
	char *host;
	/* Every per-user key in a fixed order, expanded, with its origin. */
	struct yg_setting *settings;
	size_t nsettings;
} yg_user_policy;

/* Effective policy for user (exact case) with uid and ALL their group
 * names, primary group first (the caller resolves them).  Returns 0 and
 * fills *out (out->gated tells whether any policy applies; when it is
 * false the other fields hold the defaults), or -EINVAL with diags (e.g.
 * two groups of the user set one key to different values, a value that
 * expands to an invalid domain name), or -ENOMEM.  Clear out with
 * yg_user_policy_clear() in every case. */
int yg_policy_for_user(const yg_policy *pol, const char *user, uid_t uid,
		       const char *const *groups, size_t ngroups,
		       yg_user_policy *out, yg_diags *diags) YG_MUST_CHECK;

/* Same, resolving uid and groups through NSS (getpwnam_r, getgrouplist).
 * An unknown user is -ENOENT with a diag. */
int yg_policy_user_lookup(const yg_policy *pol, const char *user,
			  yg_user_policy *out, yg_diags *diags) YG_MUST_CHECK;

void yg_user_policy_clear(yg_user_policy *up);

/* May the user of up (whose groups are given, as for yg_policy_for_user)
 * enter box domain?  True when the user is gated and enabled and domain is
 * their own box, or a [box:DOMAIN] section lists the user or one of their
 * groups.  enabled = no denies everything. */
bool yg_policy_may_enter(const yg_policy *pol, const yg_user_policy *up,
			 const char *domain, const char *const *groups,
			 size_t ngroups);

/* Does a [box:DOMAIN] section list this user (by name or one of groups)?
 * Unlike yg_policy_may_enter, the user's own box does not count. */
bool yg_policy_box_lists(const yg_policy *pol, const yg_user_policy *up,
			 const char *domain, const char *const *groups,
			 size_t ngroups);
/* May this user join a running session of ANOTHER user in box domain
 * (the holder's concurrent = attach)?  Only when a [box:DOMAIN] section
 * lists them and says attach = yes. */
bool yg_policy_may_attach(const yg_policy *pol, const yg_user_policy *up,
			  const char *domain, const char *const *groups,
			  size_t ngroups);

/* ---- value parsers (also used for PAM module options) -------------- */

/* "90", "30s", "15m", "8h" -> milliseconds.  -EINVAL on garbage,
 * -ERANGE on overflow. */
int yg_parse_duration(const char *s, unsigned long *ms) YG_MUST_CHECK;
/* "4096", "64K", "512M", "8G", "1T" (powers of 1024) -> bytes.  -EINVAL
 * on garbage (lower-case units included), -ERANGE on overflow. */
int yg_parse_size(const char *s, unsigned long long *bytes) YG_MUST_CHECK;
/* "^]" style (caret notation) or "none" (-1) -> *byte.  -EINVAL if bad. */
int yg_parse_escape(const char *s, int *byte) YG_MUST_CHECK;
/* libvirt domain name rule: [A-Za-z0-9_.+-]{1,64}, not starting '.'/'-'. */
bool yg_valid_domain_name(const char *s);
/* POSIX-ish user/group name: [a-zA-Z_][a-zA-Z0-9_-]*[$]?, 1..32 chars. */
bool yg_valid_posix_name(const char *s);

#endif
