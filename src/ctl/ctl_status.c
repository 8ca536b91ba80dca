/* SPDX-License-Identifier: MIT */
/* ctl_status.c: yolo-gatectl status [--json]: every box the policy knows,
 * on whichever host it lives, its libvirt state, whether it is provably
 * clean, who holds it; then one summary line per host. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "ctl_sessions.h"
#include "yg_json.h"
#include "yg_box.h"

struct row {
	const yg_user_policy *up;
	const char *state;	/* "running", "not provisioned", ... */
	int clean;		/* 1, 0, -1 unknown */
	char why[128];
	const char *session;	/* "busy", "free", "unknown" */
	struct yg_ctl_holder h;
	bool times;		/* idle_left, max_left come from the session file */
	long long idle_left, max_left;	/* seconds, -1 = no limit */
	char err[YG_ERR_MSG_MAX];
};

struct status_ctx {
	const yg_policy *pol;
	struct yg_ctl_conns conns;
	virConnectPtr conn;	/* the current row's host's */
	bool json;
	size_t n;
	int rc;
};

/* A domain without the policy's snapshot: its state, never clean. */
static bool nosnap_row(struct status_ctx *c, struct row *r)
{
	yg_dom *dom = NULL;

	if (yg_dom_lookup(c->conn, r->up->domain, &dom, NULL) < 0)
		return false;
	r->state = yg_dom_state_text(dom);
	r->clean = 0;
	snprintf(r->why, sizeof(r->why), "no snapshot '%s'", r->up->snapshot);
	yg_dom_free(dom);
	return true;
}

static void box_row(struct status_ctx *c, struct row *r)
{
	yg_box *box = NULL;
	bool clean;
	int st;
	yg_err err;

	if (yg_box_open(c->conn, r->up->domain, r->up->snapshot, NULL, &box,
			&err) < 0) {
		if (err.code != -ENOENT)
			snprintf(r->err, sizeof(r->err), "%s", err.msg);
		else if (!nosnap_row(c, r))
			r->state = "not provisioned";
		return;
	}
	if (yg_box_state(box, &st, NULL, &err) == 0 &&
	    yg_box_check_clean(box, &clean, r->why, sizeof(r->why), &err) == 0) {
		r->state = yg_box_state_name(st);
		r->clean = clean;
	} else {
		snprintf(r->err, sizeof(r->err), "%s", err.msg);
	}
	yg_box_free(box);
}

/* Seconds from now to end (wall s, 0 = no limit), -1 for none. */
static long long secs_left(long long end, long long now)
{
	if (!end)
		return -1;
	return end > now ? end - now : 0;
}

/* Time left of the session holding the box, from run_dir/sessions/<id>
 * (the lock record names the session; an admin's record names none). */
static void session_times(struct status_ctx *c, struct row *r)
{
	struct yg_ctl_session s;
	long long now = (long long)time(NULL);

	if (yg_ctl_session_read(yg_policy_gate(c->pol)->run_dir, r->h.session, &s, NULL) < 0 ||
	    strcmp(s.rec.box, r->up->domain) != 0 || strcmp(s.rec.host, r->up->host) != 0)
		return;
	r->times = true;
	r->idle_left = secs_left(s.rec.idle_end, now);
	r->max_left = secs_left(s.rec.max_end, now);
}

/* "4m05s", "1h02m", "12s", or "none". */
static void fmt_left(char *buf, size_t len, long long s)
{
	if (s < 0)
		snprintf(buf, len, "none");
	else if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s / 60 % 60);
}

static void lock_row(struct status_ctx *c, struct row *r)
{
	yg_err err;

	if (yg_ctl_lock_probe(yg_policy_gate(c->pol)->run_dir, r->up->host, r->up->domain,
			      &r->h, &err) < 0) {
		r->session = "unknown";
		if (!r->err[0])
			snprintf(r->err, sizeof(r->err), "%s", err.msg);
		return;
	}
	r->session = r->h.busy ? "busy" : "free";
	if (r->h.busy && r->h.known)
		session_times(c, r);
}

static void print_text(const struct row *r, size_t n)
{
	char clean[160], sess[200], ms[24] = "-", idle[24], max[24];

	if (n == 0)
		printf("%-12s %-20s %-10s %-16s %-24s %-10s %s\n", "USER", "DOMAIN",
		       "HOST", "STATE", "CLEAN", "REVERT_MS", "SESSION");
	if (r->clean < 0)
		snprintf(clean, sizeof(clean), "-");
	else
		snprintf(clean, sizeof(clean), "%s%s%s%s",
			 r->clean ? "yes" : "no", r->why[0] ? " (" : "",
			 r->why, r->why[0] ? ")" : "");
	if (r->h.busy && r->times) {
		yg_ctl_holder_text(&r->h, sess, sizeof(sess));
		fmt_left(idle, sizeof(idle), r->idle_left);
		fmt_left(max, sizeof(max), r->max_left);
		snprintf(sess + strlen(sess), sizeof(sess) - strlen(sess),
			 ", left: idle %s, max %s", idle, max);
	} else if (r->h.busy) {
		yg_ctl_holder_text(&r->h, sess, sizeof(sess));
	} else
		snprintf(sess, sizeof(sess), "%s%s", r->session,
			 r->h.held ? " (console held for the next login)" : "");
	if (r->h.last_revert_ms >= 0)
		snprintf(ms, sizeof(ms), "%ld", r->h.last_revert_ms);
	printf("%-12s %-20s %-10s %-16s %-24s %-10s %s%s\n", r->up->user,
	       r->up->domain, r->up->host, r->state, clean, ms, sess,
	       r->up->enabled ? "" : " (user disabled)");
	if (r->err[0])
		fprintf(stderr, "status: %s: %s\n", r->up->user, r->err);
}

static void json_str(const char *key, const char *v, bool comma)
{
	char q[2 * YG_ERR_MSG_MAX];

	if (!v || yg_json_quote(q, sizeof(q), v) < 0)
		snprintf(q, sizeof(q), "null");
	printf("\"%s\":%s%s", key, q, comma ? "," : "");
}

/* A number of seconds, or null when unknown or without a limit. */
static void json_left(const char *key, bool known, long long v, bool comma)
{
	if (known && v >= 0)
		printf("\"%s\":%lld%s", key, v, comma ? "," : "");
	else
		printf("\"%s\":null%s", key, comma ? "," : "");
}

static void print_json(const struct row *r, size_t n)
{
	printf("%s{", n ? ",\n  " : "\n  ");
	json_str("user", r->up->user, true);
	json_str("domain", r->up->domain, true);
	json_str("host", r->up->host, true);
	json_str("snapshot", r->up->snapshot, true);
	printf("\"enabled\":%s,", r->up->enabled ? "true" : "false");
	json_str("state", r->state, true);
	printf("\"clean\":%s,", r->clean < 0 ? "null" :
	       r->clean ? "true" : "false");
	json_str("why", r->why[0] ? r->why : NULL, true);
	json_str("session", r->session, true);
	if (r->h.busy && r->h.known) {
		printf("\"holder\":{");
		json_str("session", r->h.session, true);
		printf("\"pid\":%d,\"since\":%lld,", r->h.pid, r->h.since);
		json_left("idle_left_seconds", r->times, r->idle_left, true);
		json_left("max_left_seconds", r->times, r->max_left, false);
		printf("},");
	} else {
		printf("\"holder\":null,");
	}
	printf("\"console_held\":%s,", r->h.held ? "true" : "false");
	if (r->h.last_revert_ms >= 0)
		printf("\"last_revert_ms\":%ld,", r->h.last_revert_ms);
	else
		printf("\"last_revert_ms\":null,");
	json_str("error", r->err[0] ? r->err : NULL, false);
	printf("}");
}

/* One line (one JSON object) per host: its boxes, how many are in use,
 * whether it answered. A host no box lives on is not connected to. */
static void print_hosts(struct status_ctx *c)
{
	if (c->json)
		printf("\"hosts\":[");
	for (size_t i = 0; i < c->conns.n; i++) {
		const struct yg_host_conf *hc = yg_policy_host_at(c->pol, i);
		const struct yg_ctl_host *h = &c->conns.h[i];
		const char *reach = !h->tried ? "not asked" : h->conn ? "reachable" :
				    "UNREACHABLE";

		if (c->json) {
			printf("%s{", i ? ",\n  " : "\n  ");
			json_str("name", hc->name, true);
			json_str("uri", hc->uri, true);
			printf("\"boxes\":%u,\"busy\":%u,\"enabled\":%s,", h->boxes, h->busy,
			       hc->enabled ? "true" : "false");
			printf("\"reachable\":%s,", !h->tried ? "null" : h->conn ? "true" : "false");
			json_str("error", h->error[0] ? h->error : NULL, false);
			printf("}");
		} else {
			printf("%shost %s (%s): %u box%s, %u in use, %s%s\n", i ? "" : "\n",
			       hc->name, hc->uri, h->boxes, h->boxes == 1 ? "" : "es", h->busy,
			       reach, hc->enabled ? "" : ", disabled (enabled = no)");
		}
	}
	if (c->json)
		printf("\n]}\n");
}

static int status_user(void *ctx, const char *user)
{
	struct status_ctx *c = ctx;
	yg_user_policy up = { 0 };
	yg_diags diags = { 0 };
	struct row r = { .up = &up, .state = "unknown", .clean = -1,
			 .session = "unknown" };
	int rc;

	rc = yg_policy_user_lookup(c->pol, user, &up, &diags);
	if (rc == -ENOENT) {	/* as check: a note, not an error */
		fprintf(stderr, "status: note: [user:%s] names no user known "
			"on this system\n", user);
		goto out;
	}
	if (rc < 0 || !up.gated) {
		yg_diags_print(&diags, stderr);
		c->rc = diags.n ? YG_CTL_EXIT_FAIL : c->rc;
		goto out;
	}
	{
		struct yg_ctl_host *h = yg_ctl_conns_host(&c->conns, up.host);
		const char *why;

		c->conn = yg_ctl_conns_get(&c->conns, up.host, &why);
		if (c->conn) {
			box_row(c, &r);
		} else {
			r.state = "host unreachable";
			snprintf(r.err, sizeof(r.err), "%s", why);
			c->rc = YG_CTL_EXIT_FAIL;
		}
		lock_row(c, &r);
		if (h) {
			h->boxes++;
			h->busy += r.h.busy;
		}
	}
	if (c->json)
		print_json(&r, c->n);
	else
		print_text(&r, c->n);
	c->n++;
out:
	yg_diags_free(&diags);
	yg_user_policy_clear(&up);
	return 0;
}

int yg_ctl_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct status_ctx c = { 0 };
	const char *confdir = NULL;
	yg_policy *pol = NULL;
	int o, rc;

	while ((o = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		if (o == 'c')
			confdir = optarg;
		else if (o == 'j')
			c.json = true;
		else
			return yg_ctl_usage("status");
	}
	if (optind != argc)
		return yg_ctl_usage("status");
	rc = yg_ctl_policy_load("status", confdir, &pol);
	if (rc)
		return rc;
	c.pol = pol;
	/* without libvirt (or a host), still list the boxes and their locks */
	if (yg_ctl_conns_init(&c.conns, "status", pol) != 0) {
		yg_policy_free(pol);
		return YG_CTL_EXIT_FAIL;
	}
	if (c.json)
		printf("{\"boxes\":[");
	if (yg_ctl_each_user(pol, status_user, &c) < 0)
		c.rc = yg_ctl_errf("status", "cannot list the users of the policy: out of memory");
	if (c.json)
		printf("%s],\n", c.n ? "\n" : "");
	else if (c.n == 0)
		fprintf(stderr, "status: the policy gives no existing user a "
			"box\n");
	print_hosts(&c);
	yg_ctl_conns_close(&c.conns);
	yg_policy_free(pol);
	return c.rc;
}
