/* SPDX-License-Identifier: MIT */
/* yg_policy_int.h: internals shared by the policy engine's files. */
#ifndef YG_POLICY_INT_H
#define YG_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "yg_policy.h"

#define YG_POLICY_MAX_LINE 4096
#define YG_POLICY_MAX_FILE (1024 * 1024)

/* yg_values.c */
/* Expand %u %U %g %% in tmpl.  user/uid/group may be NULL for a syntax-only
 * check (a placeholder is used).  Returns 0, -EINVAL (why filled: unknown
 * %x, trailing %, %g without a primary group) or -ENOMEM. */
int yg_expand(const char *tmpl, const char *user, const char *uid,
	      const char *group, char **out, char *why, size_t whylen);
/* Levenshtein distance, capped: returns > 2 when words are far apart. */
unsigned yg_edit_distance(const char *a, const char *b);
/* Human text for "what a valid POSIX name / domain name looks like". */
extern const char yg_posix_name_rule[];
extern const char yg_domain_name_rule[];

/* yg_scan.c: the line scanner.  Calls back once per section header and per
 * key/value pair, with exact-case text and 1-based line numbers; syntax
 * errors go to diags with the file name. */
struct yg_scan_cb {
	int (*section)(void *ctx, const char *name, unsigned line);
	int (*pair)(void *ctx, const char *key, const char *value,
		    unsigned line);
};
int yg_scan(const char *file, const char *buf, size_t len,
	    const struct yg_scan_cb *cb, void *ctx, yg_diags *diags);
/* Cross-check the values of a file that scanned cleanly against iniparser
 * (loaded through /proc/self/fd/FD: same inode, no second path lookup). */
int yg_scan_crosscheck(const char *file, int fd, const char *buf, size_t len,
		       yg_diags *diags);

/* yg_trust.c: open a config file/dir safely.  Returns an fd (>= 0),
 * -ENOENT when missing (no diag), or another negative errno with a diag
 * that names the file and the exact fix. */
int yg_trust_open_file(int dirfd, const char *name, const char *path,
		       bool is_dir_entry, yg_diags *diags);
int yg_trust_open_dir(int dirfd, const char *name, const char *path,
		      bool follow, yg_diags *diags);
/* Read a whole (already trusted) file; NUL-terminates; caps the size. */
int yg_trust_read(int fd, const char *path, char **buf, size_t *len,
		  yg_diags *diags);

#endif

/* ---- keys (yg_keys.c) ------------------------------------------------ */

enum yg_kind { YG_SEC_GATE, YG_SEC_DEFAULTS, YG_SEC_GROUP, YG_SEC_USER,
	       YG_SEC_BOX, YG_SEC_HOST, YG_NKINDS };

/* Where a key is valid. */
#define YG_SCOPE_GATE 1u
#define YG_SCOPE_USER 2u /* [defaults], [group:], [user:] */
#define YG_SCOPE_BOX  4u
#define YG_SCOPE_HOST 8u /* [host:NAME] */

enum yg_key {
	YG_K_URI, YG_K_SOCKET, YG_K_RUN_DIR, YG_K_LOG_LEVEL,
	YG_K_SERVICE_USER, YG_K_AUDIT_LOG, YG_K_RECORD_DIR,
	YG_K_RECORD_MAX_SIZE, YG_K_MAX_CLIENTS, YG_K_MAX_CLIENTS_PER_USER,
	YG_K_ENABLED, YG_K_DOMAIN, YG_K_SNAPSHOT, YG_K_KEYS,
	YG_K_INJECT_PATH, YG_K_INJECT_OWNER, YG_K_CONSOLE, YG_K_ESCAPE, YG_K_REVERT, YG_K_WARM,
	YG_K_AGENT_TIMEOUT, YG_K_IDLE_TIMEOUT, YG_K_MAX_SESSION,
	YG_K_CONCURRENT, YG_K_IDLE, YG_K_IDLE_WARNING, YG_K_RECORD,
	YG_K_REMOTE, YG_K_LINGER, YG_K_CONSOLE_HOLD,
	YG_K_VCPUS, YG_K_MEMORY, YG_K_CPU_QUOTA, YG_K_DISK_SIZE,
	YG_K_DISK_IOPS, YG_K_DISK_BPS, YG_K_NETWORK, YG_K_HOST,
	YG_K_USERS, YG_K_GROUPS, YG_K_ATTACH,
	YG_K_IMAGES, YG_K_CAPACITY,
	YG_NKEYS
};
#define YG_K_FIRST_USER YG_K_ENABLED
#define YG_K_LAST_GATE YG_K_MAX_CLIENTS_PER_USER
#define YG_K_LAST_USER YG_K_HOST

struct yg_keydef {
	const char *name;
	unsigned scope;
	int type;              /* private to yg_keys.c */
	bool expand;           /* %u %U %g %% apply */
	const char *def;       /* built-in default (NULL: computed) */
};
extern const struct yg_keydef yg_keys[YG_NKEYS];

/* A checked value: str is the expanded text (owned), num the parsed
 * number (bool, enum index, escape byte, milliseconds, count or bytes). */
struct yg_val {
	char *str;
	unsigned long long num;
};

/* Look a key up by exact name; -1 if unknown. */
int yg_key_find(const char *name);
/* Closest key name valid in scope within edit distance 2, or NULL. */
const char *yg_key_suggest(const char *name, unsigned scope);
/* Expand (per-user keys; user NULL = syntax check with placeholders) and
 * validate raw for key k.  -EINVAL with why filled, or -ENOMEM. */
int yg_key_check(int k, const char *raw, const char *user, const char *uid,
		 const char *group, struct yg_val *out, char *why,
		 size_t whylen);
/* The same for key k of a [host:NAME] section, where some keys of other
 * scopes have a meaning of their own (uri must be remote-capable, memory
 * is a cap that may be 0).  No expansion. */
int yg_key_check_host(int k, const char *raw, struct yg_val *out, char *why,
		      size_t whylen);
/* Built-in default of key k in [host:NAME] (NULL: required). */
const char *yg_key_host_default(int k);
/* Do two values of k agree only when their text does (names, paths),
 * rather than their parsed number (durations, sizes, choices)? */
bool yg_key_textual(int k);
/* Call fn for each name in a users=/groups= list ("a, b c"). */
int yg_list_each(const char *list, int (*fn)(void *ctx, const char *name),
		 void *ctx);
bool yg_list_has(const char *list, const char *name);

/* ---- the loaded policy (yg_policy.c) --------------------------------- */

struct yg_entry {
	unsigned file;   /* index in files */
	unsigned line;
	char *value;     /* raw (unexpanded) value */
};

struct yg_section {
	int kind;        /* enum yg_kind */
	char *name;      /* exact case; NULL for gate/defaults */
	unsigned file, line; /* first header */
	int ent[YG_NKEYS];   /* index in ents, -1 = unset */
};

/* One entry of the host table: the public view, and what it owns. */
struct yg_host {
	struct yg_host_conf conf;
	char *origin;    /* conf.origin when allocated, else NULL */
};

struct yg_policy {
	char *confdir;
	char **files;
	size_t nfiles;
	struct yg_entry *ents;
	size_t nents, capents;
	struct yg_section *secs;
	size_t nsecs, capsecs;
	size_t *htab;    /* open addressing: index+1 in secs, 0 = empty */
	size_t hcap;
	char *def_keys;  /* <confdir>/keys.d/%u.env */
	struct yg_gate_conf gate;
	struct yg_host *hosts; /* [0] is "local", then [host:] in order */
	size_t nhosts;
};

const struct yg_section *yg_policy_section(const yg_policy *pol, int kind,
					   const char *name);

/* ---- hosts (yg_hosts.c) ---------------------------------------------- */

/* The reserved host: the gate's own libvirt ([gate] uri). */
#define YG_HOST_LOCAL "local"
/* After every file is read: each [host:] has a uri, each host = names a
 * defined host.  Appends diags; returns 0 or -ENOMEM. */
int yg_hosts_check(const yg_policy *pol, yg_diags *diags);
/* Fill pol->hosts from a policy that loaded cleanly (after [gate]).
 * Returns 0 or -ENOMEM. */
int yg_hosts_build(yg_policy *pol);
void yg_hosts_free(yg_policy *pol);
