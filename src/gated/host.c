/* SPDX-License-Identifier: MIT */
/* host.c: the host a session's box lives on (issue 17).
 *
 * A box lives on the gate's own libvirt (the host "local", [gate] uri) or
 * on a [host:NAME] of the policy, reached through libvirt's remote driver
 * (qemu+ssh://, qemu+tls://, ...). Here:
 *   - the box key: the name of the box's lock and rendezvous socket in
 *     run_dir/boxes (yg_rundir_box_key: DOMAIN, or DOMAIN@HOST), so that two
 *     hosts may each have a box of one name;
 *   - the connection: to a remote host it is bounded by YG_GD_HOST_CONNECT_MS
 *     without ending the session child (a blackholed host does not answer a
 *     TCP connect for two minutes), and a host that does not answer is
 *     recorded as down in run_dir/hosts/NAME from its first failure; the
 *     first session that reaches it again removes the record;
 *   - what a user hears then: "box host NAME is unreachable (since ...)".
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "yg_log.h"
#include "yg_rundir.h"
#include "session.h"

const char *yg_gd_key(struct yg_gd_sess *s)
{
	if (yg_rundir_box_key(s->key, sizeof(s->key), s->u.host, s->u.domain, NULL) < 0)
		s->key[0] = '\0';	/* every run_dir path refuses it */
	return s->key;
}

/* "HH:MM:SS" of an epoch time, local time. */
static void fmt_hms(long long t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) || !strftime(out, len, "%H:%M:%S", &tm))
		snprintf(out, len, "?");
}

void yg_gd_host_down_text(struct yg_gd_sess *s, char *out, size_t len)
{
	long long since = (long long)time(NULL);
	char hms[16], d[16];
	yg_err err;

	if (yg_rundir_host_down(s->gate->run_dir, s->u.host, since, &since, &err) < 0)
		yg_log(YG_LOG_WARNING, "event", "host_record_failed", "host", s->u.host,
		       "error", err.msg, NULL);
	else if (!s->host_down_logged) {	/* once per outage and process */
		snprintf(d, sizeof(d), "%lld", since);
		yg_gd_audit(YG_LOG_WARNING, "host_down", "host", s->u.host, "uri", s->u.uri,
			    "since", d, "session", s->id[0] ? s->id : NULL, NULL);
	}
	s->host_down_logged = true;
	fmt_hms(since, hms, sizeof(hms));
	snprintf(out, len, "box host %s is unreachable (since %s)", s->u.host, hms);
}

static void host_up(struct yg_gd_sess *s)
{
	if (yg_rundir_host_up(s->gate->run_dir, s->u.host) == 1)
		yg_gd_audit(YG_LOG_INFO, "host_back", "host", s->u.host, "uri", s->u.uri,
			    "session", s->id[0] ? s->id : NULL, NULL);
	s->host_down_logged = false;
}

int yg_gd_conn_open(struct yg_gd_sess *s, yg_err *err)
{
	char text[160];
	int r;

	if (yg_gd_host_local(s->u.host))
		return yg_conn_open(s->u.uri[0] ? s->u.uri : NULL, &s->conn, err);
	r = yg_conn_open_bounded(s->u.uri, YG_GD_HOST_CONNECT_MS, &s->conn, err);
	if (r == 0) {
		host_up(s);
		return 0;
	}
	/* refused, reset, no route, no answer: the host is away; a refusal of
	 * the credentials (-EACCES) is the admin's to fix, not an outage */
	if (r == -EACCES)
		return yg_err_prefix(err, "box host %s", s->u.host);
	yg_gd_host_down_text(s, text, sizeof(text));
	return yg_err_prefix(err, "%s; ask your administrator. Detail", text);
}
