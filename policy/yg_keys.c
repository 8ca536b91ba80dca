/* SPDX-License-Identifier: MIT */
/* yg_keys.c: the table of policy keys, their defaults and their checks. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "yg_policy_int.h"

enum { T_URI, T_SOCKET, T_PATH, T_LEVEL, T_POSIX, T_BOOL, T_NAME, T_ESCAPE,
       T_REVERT, T_CONCURRENT, T_DUR, T_DUR_POS, T_LIST, T_PATH_OPT, T_SIZE,
       T_IDLE, T_VCPUS, T_MEMORY, T_COUNT, T_NETWORK, T_OWNER, T_HOST_URI,
       T_CAPACITY };

#define G YG_SCOPE_GATE
#define U YG_SCOPE_USER
#define B YG_SCOPE_BOX
#define H YG_SCOPE_HOST
const struct yg_keydef yg_keys[YG_NKEYS] = {
	[YG_K_URI] = { "uri", G | H, T_URI, false, "qemu:///system" },
	[YG_K_SOCKET] = { "socket", G, T_SOCKET, false,
			  RUNSTATEDIR "/yolo-gate/gated.sock" },
	[YG_K_RUN_DIR] = { "run_dir", G, T_PATH, false,
			   RUNSTATEDIR "/yolo-gate" },
	[YG_K_LOG_LEVEL] = { "log_level", G, T_LEVEL, false, "info" },
	[YG_K_SERVICE_USER] = { "service_user", G, T_POSIX, false,
				YG_DEFAULT_SERVICE_USER },
	[YG_K_AUDIT_LOG] = { "audit_log", G, T_PATH_OPT, false, "" },
	[YG_K_RECORD_DIR] = { "record_dir", G, T_PATH, false,
			      LOCALSTATEDIR "/log/yolo-gate/sessions" },
	[YG_K_RECORD_MAX_SIZE] = { "record_max_size", G, T_SIZE, false,
				   "10M" },
	[YG_K_MAX_CLIENTS] = { "max_clients", G, T_COUNT, false, "256" },
	[YG_K_MAX_CLIENTS_PER_USER] = { "max_clients_per_user", G, T_COUNT,
					false, "32" },
	[YG_K_ENABLED] = { "enabled", U | H, T_BOOL, false, "yes" },
	[YG_K_DOMAIN] = { "domain", U, T_NAME, true, "yolo-%u" },
	[YG_K_SNAPSHOT] = { "snapshot", U, T_NAME, true, "clean-state" },
	[YG_K_KEYS] = { "keys", U, T_PATH, true, NULL },
	[YG_K_INJECT_PATH] = { "inject_path", U, T_PATH, true,
			       "/run/yolo/keys.env" },
	[YG_K_INJECT_OWNER] = { "inject_owner", U, T_OWNER, true, "root" },
	[YG_K_CONSOLE] = { "console", U, T_NAME, true, "serial0" },
	[YG_K_ESCAPE] = { "escape", U, T_ESCAPE, false, "^]" },
	[YG_K_REVERT] = { "revert", U, T_REVERT, false, "logout" },
	[YG_K_WARM] = { "warm", U, T_BOOL, false, "yes" },
	[YG_K_AGENT_TIMEOUT] = { "agent_timeout", U, T_DUR_POS, false, "30s" },
	[YG_K_IDLE_TIMEOUT] = { "idle_timeout", U, T_DUR, false, "0" },
	[YG_K_MAX_SESSION] = { "max_session", U, T_DUR, false, "0" },
	[YG_K_CONCURRENT] = { "concurrent", U, T_CONCURRENT, false,
			      "refuse" },
	[YG_K_IDLE] = { "idle", U, T_IDLE, false, "input" },
	[YG_K_IDLE_WARNING] = { "idle_warning", U, T_DUR, false, "1m" },
	[YG_K_RECORD] = { "record", U, T_BOOL, false, "no" },
	[YG_K_REMOTE] = { "remote", U, T_BOOL, false, "yes" },
	[YG_K_LINGER] = { "linger", U, T_DUR, false, "0" },
	[YG_K_CONSOLE_HOLD] = { "console_hold", U, T_DUR, false, "10m" },
	[YG_K_VCPUS] = { "vcpus", U, T_VCPUS, false, "1" },
	[YG_K_MEMORY] = { "memory", U | H, T_MEMORY, false, "512M" },
	[YG_K_CPU_QUOTA] = { "cpu_quota", U, T_COUNT, false, "0" },
	[YG_K_DISK_SIZE] = { "disk_size", U, T_SIZE, false, "8G" },
	[YG_K_DISK_IOPS] = { "disk_iops", U, T_COUNT, false, "0" },
	[YG_K_DISK_BPS] = { "disk_bps", U, T_SIZE, false, "0" },
	[YG_K_NETWORK] = { "network", U, T_NETWORK, true, "none" },
	[YG_K_HOST] = { "host", U | B, T_NAME, false, "local" },
	[YG_K_USERS] = { "users", B, T_LIST, false, "" },
	[YG_K_GROUPS] = { "groups", B, T_LIST, false, "" },
	[YG_K_ATTACH] = { "attach", B, T_BOOL, false, "no" },
	[YG_K_IMAGES] = { "images", H, T_PATH, false,
			  YG_POLICY_DEFAULT_IMAGES },
	[YG_K_CAPACITY] = { "capacity", H, T_CAPACITY, false, "0" },
};
#undef G
#undef U
#undef B
#undef H

/* In [host:NAME], keys shared with other scopes mean something of their
 * own: the type and default there (the others keep the table's). */
static const struct {
	int key, type;
	const char *def;
} host_keys[] = {
	{ YG_K_URI, T_HOST_URI, NULL },     /* required */
	{ YG_K_MEMORY, T_SIZE, "0" },       /* a cap; 0 = none */
	{ YG_K_ENABLED, T_BOOL, "yes" },
};

static const char *const levels[] = { "error", "warning", "info", "debug",
				      NULL };
static const char *const bools[] = { "no", "yes", NULL };
static const char *const reverts[] = { "logout", "login", NULL };
static const char *const concs[] = { "refuse", "takeover", "attach",
				     NULL };
static const char *const idles[] = { "input", "output", NULL };

#define YG_MEMORY_MIN (64ULL << 20)
#define YG_VCPUS_MAX 64
#define YG_CAPACITY_MAX 100000

int yg_key_find(const char *name)
{
	for (int k = 0; k < YG_NKEYS; k++)
		if (!strcmp(yg_keys[k].name, name))
			return k;
	return -1;
}

const char *yg_key_suggest(const char *name, unsigned scope)
{
	const char *best = NULL;
	unsigned bestd = 3;

	for (int k = 0; k < YG_NKEYS; k++) {
		unsigned d;

		if (!(yg_keys[k].scope & scope))
			continue;
		d = yg_edit_distance(name, yg_keys[k].name);
		if (d < bestd) {
			bestd = d;
			best = yg_keys[k].name;
		}
	}
	return best;
}

static int pick(const char *const *choices, const char *v,
		unsigned long long *num,
		char *why, size_t whylen)
{
	size_t off = 0;

	for (unsigned i = 0; choices[i]; i++)
		if (!strcmp(v, choices[i])) {
			*num = i;
			return 0;
		}
	off = (size_t)snprintf(why, whylen, "'%s' is not valid: use ", v);
	for (unsigned i = 0; choices[i] && off < whylen; i++)
		off += (size_t)snprintf(why + off, whylen - off, "%s%s",
					i ? " or " : "", choices[i]);
	return -EINVAL;
}

struct list_ck {
	char *why;
	size_t whylen;
	int bad;
};

static int list_check_one(void *ctx, const char *name)
{
	struct list_ck *c = ctx;

	if (yg_valid_posix_name(name) || c->bad++)
		return 0;
	snprintf(c->why, c->whylen, "'%s' is not a valid user or group "
		 "name: use %s", name, yg_posix_name_rule);
	return 0;
}

static bool has_space_or_ctl(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v <= ' ' || *v == 0x7f)
			return true;
	return false;
}

/* A user of the guest: a name or a uid, then optionally ':' and a group
 * name or gid (inject_owner). The guest resolves names, so only their form
 * is checked here. */
static bool owner_part(const char *s, size_t n)
{
	char buf[64];

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (strspn(buf, "0123456789") == n)
		return n <= 10 && strtoull(buf, NULL, 10) < 4294967295ULL;
	return yg_valid_posix_name(buf);
}

static int check_owner(const char *v, char *why, size_t whylen)
{
	const char *colon = strchr(v, ':');
	size_t u = colon ? (size_t)(colon - v) : strlen(v);

	if (owner_part(v, u) && (!colon || owner_part(colon + 1, strlen(colon + 1))))
		return 0;
	snprintf(why, whylen, "'%s' is not valid: use a user of the guest, "
		 "as a name (%s) or a uid, optionally followed by ':' and a "
		 "group name or gid (agent, 1000, agent:agent)", v,
		 yg_posix_name_rule);
	return -EINVAL;
}

/* Whole numbers and sizes: T_SIZE, T_MEMORY, T_VCPUS, T_COUNT,
 * T_CAPACITY. */
static int check_number(int type, const char *v, unsigned long long *num,
			char *why, size_t whylen)
{
	char *end = NULL;
	int rc;

	if (type == T_SIZE || type == T_MEMORY) {
		rc = yg_parse_size(v, num);
		if (rc == 0 && (type == T_SIZE || *num >= YG_MEMORY_MIN))
			return 0;
		snprintf(why, whylen, "'%s' is not a valid size: use a whole "
			 "number of bytes, optionally with a unit K, M, G or T "
			 "(powers of 1024: 512M, 8G)%s%s", v,
			 type == T_MEMORY ? ", at least 64M" : "",
			 rc == -ERANGE ? ", small enough not to overflow" : "");
		return -EINVAL;
	}
	errno = 0;
	if (*v >= '0' && *v <= '9')
		*num = strtoull(v, &end, 10);
	if (end && !*end && errno == 0 &&
	    (type != T_VCPUS || (*num >= 1 && *num <= YG_VCPUS_MAX)) &&
	    (type != T_CAPACITY || *num <= YG_CAPACITY_MAX) &&
	    *num <= UINT_MAX)
		return 0;
	if (type == T_VCPUS)
		snprintf(why, whylen, "'%s' is not valid: use a whole number "
			 "of virtual CPUs from 1 to %d", v, YG_VCPUS_MAX);
	else if (type == T_CAPACITY)
		snprintf(why, whylen, "'%s' is not valid: use a whole number "
			 "of boxes from 0 (no cap) to %d", v, YG_CAPACITY_MAX);
	else
		snprintf(why, whylen, "'%s' is not valid: use a whole number "
			 "from 0 (unlimited) to %u", v, UINT_MAX);
	return -EINVAL;
}

static int check_typed(int type, const char *v, unsigned long long *num,
		       char *why, size_t whylen)
{
	unsigned long ms;
	int rc, b;

	switch (type) {
	case T_URI:
		if (!*v || has_space_or_ctl(v))
			goto bad_uri;
		return 0;
	case T_HOST_URI:
		if (*v && !has_space_or_ctl(v) && strstr(v, "://"))
			return 0;
		snprintf(why, whylen, "'%s' is not a libvirt URI (fix: write "
			 "one with '://' and without spaces or control "
			 "characters, such as qemu+ssh://root@hv2/system or "
			 "qemu+tls://hv2/system)", v);
		return -EINVAL;
	case T_SOCKET:
		if (v[0] == '/' && strlen(v) < sizeof(((struct sockaddr_un *)
							 0)->sun_path) &&
		    !has_space_or_ctl(v))
			return 0;
		snprintf(why, whylen, "'%s' is not valid: use an absolute "
			 "path shorter than %zu characters", v,
			 sizeof(((struct sockaddr_un *)0)->sun_path));
		return -EINVAL;
	case T_PATH:
	case T_PATH_OPT:
		if ((v[0] == '/' || (type == T_PATH_OPT && !v[0])) &&
		    !has_space_or_ctl(v))
			return 0;
		snprintf(why, whylen, "'%s' is not valid: use an absolute "
			 "path without spaces or control characters%s", v,
			 type == T_PATH_OPT ? ", or nothing (off)" : "");
		return -EINVAL;
	case T_LEVEL:
		return pick(levels, v, num, why, whylen);
	case T_POSIX:
		if (yg_valid_posix_name(v))
			return 0;
		snprintf(why, whylen, "'%s' is not a valid user name: use %s",
			 v, yg_posix_name_rule);
		return -EINVAL;
	case T_BOOL:
		return pick(bools, v, num, why, whylen);
	case T_NAME:
	case T_NETWORK:
		if (yg_valid_domain_name(v))
			return 0;
		snprintf(why, whylen, "'%s' is not a valid name: use %s%s", v,
			 yg_domain_name_rule,
			 type == T_NETWORK ? " (a libvirt network), or none" :
			 "");
		return -EINVAL;
	case T_ESCAPE:
		if (yg_parse_escape(v, &b) == 0) {
			*num = (unsigned long long)(long long)b;
			return 0;
		}
		snprintf(why, whylen, "'%s' is not valid: use caret notation "
			 "for a control character (^] ^A..^Z ^@ ^[ ^\\ ^^ ^_ "
			 "^?) or none", v);
		return -EINVAL;
	case T_REVERT:
		return pick(reverts, v, num, why, whylen);
	case T_CONCURRENT:
		return pick(concs, v, num, why, whylen);
	case T_IDLE:
		return pick(idles, v, num, why, whylen);
	case T_SIZE:
	case T_MEMORY:
	case T_VCPUS:
	case T_COUNT:
	case T_CAPACITY:
		return check_number(type, v, num, why, whylen);
	case T_DUR:
	case T_DUR_POS:
		rc = yg_parse_duration(v, &ms);
		*num = ms;
		if (rc == 0 && (type == T_DUR || ms > 0))
			return 0;
		snprintf(why, whylen, "'%s' is not a valid duration: use a "
			 "%swhole number of seconds, optionally with a unit "
			 "s, m or h (30s, 15m, 8h)%s", v,
			 type == T_DUR_POS ? "positive " : "",
			 rc == -ERANGE ? ", small enough not to overflow" : "");
		return -EINVAL;
	case T_OWNER:
		return check_owner(v, why, whylen);
	case T_LIST: {
		struct list_ck c = { why, whylen, 0 };

		yg_list_each(v, list_check_one, &c);
		return c.bad ? -EINVAL : 0;
	}
	}
	return -EINVAL;
bad_uri:
	snprintf(why, whylen, "'%s' is not valid: use a libvirt URI such as "
		 "qemu:///system, without spaces", v);
	return -EINVAL;
}

int yg_key_check(int k, const char *raw, const char *user, const char *uid,
		 const char *group, struct yg_val *out, char *why,
		 size_t whylen)
{
	char *s = NULL;
	int rc;

	out->str = NULL;
	out->num = 0;
	if (yg_keys[k].expand) {
		rc = yg_expand(raw, user, uid, group, &s, why, whylen);
		if (rc < 0)
			return rc;
	} else if (!(s = strdup(raw))) {
		return -ENOMEM;
	}
	rc = check_typed(yg_keys[k].type, s, &out->num, why, whylen);
	if (rc < 0 && yg_keys[k].expand && strcmp(s, raw)) {
		size_t n = strlen(why);

		snprintf(why + n, whylen - n, " ('%s' expands to it%s%s)",
			 raw, user ? " for " : "", user ? user : "");
	}
	if (rc < 0) {
		free(s);
		return rc;
	}
	out->str = s;
	return 0;
}

static int host_type(int k)
{
	for (size_t i = 0; i < sizeof(host_keys) / sizeof(host_keys[0]); i++)
		if (host_keys[i].key == k)
			return host_keys[i].type;
	return yg_keys[k].type;
}

const char *yg_key_host_default(int k)
{
	for (size_t i = 0; i < sizeof(host_keys) / sizeof(host_keys[0]); i++)
		if (host_keys[i].key == k)
			return host_keys[i].def;
	return yg_keys[k].def;
}

int yg_key_check_host(int k, const char *raw, struct yg_val *out, char *why,
		      size_t whylen)
{
	int rc;

	out->num = 0;
	if (!(out->str = strdup(raw)))
		return -ENOMEM;
	rc = check_typed(host_type(k), out->str, &out->num, why, whylen);
	if (rc < 0) {
		free(out->str);
		out->str = NULL;
	}
	return rc;
}

bool yg_key_textual(int k)
{
	switch (yg_keys[k].type) {
	case T_URI: case T_SOCKET: case T_PATH: case T_PATH_OPT:
	case T_POSIX: case T_NAME: case T_NETWORK: case T_OWNER:
	case T_LIST: case T_HOST_URI:
		return true;
	}
	return false;
}

int yg_list_each(const char *list, int (*fn)(void *ctx, const char *name),
		 void *ctx)
{
	const char *p = list;

	while (*p) {
		size_t n;
		char buf[64];
		int rc;

		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (!n)
			break;
		if (n >= sizeof(buf))
			n = sizeof(buf) - 1; /* longer than any valid name */
		memcpy(buf, p, n);
		buf[n] = '\0';
		rc = fn(ctx, buf);
		if (rc)
			return rc;
		p += strcspn(p, ", \t");
	}
	return 0;
}

struct has_ctx {
	const char *name;
};

static int has_one(void *ctx, const char *name)
{
	return !strcmp(((struct has_ctx *)ctx)->name, name);
}

bool yg_list_has(const char *list, const char *name)
{
	struct has_ctx c = { name };

	return yg_list_each(list, has_one, &c) == 1;
}
