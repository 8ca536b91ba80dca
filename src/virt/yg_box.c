/* SPDX-License-Identifier: MIT */
/* yg_box.c: the libvirt box layer, see yg_box.h */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvirt/virterror.h>

#include "yg_box.h"
#include "yg_watchdog.h"

#define YG_DEFAULT_URI "qemu:///system"

/* Set when libvirt closed a connection because its daemon stopped answering
 * keepalives; cleared by the next yg_conn_open. The errors that follow say
 * so (one connection per process: a session child, yolo-gatectl). */
static volatile int keepalive_dead;

struct yg_box {
	virConnectPtr conn;		/* borrowed */
	virDomainPtr dom;
	char *name;
	char *snapshot;
	char *hint;			/* "" when none */
};

static void yg_virt_silent(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

/* libvirt error code -> negative errno */
static int yg_virt_errno(const virError *e)
{
	if (!e)
		return -EIO;
	switch (e->code) {
	case VIR_ERR_NO_DOMAIN:
	case VIR_ERR_NO_DOMAIN_SNAPSHOT:
		return -ENOENT;
	case VIR_ERR_AUTH_FAILED:
	case VIR_ERR_AUTH_CANCELLED:
	case VIR_ERR_ACCESS_DENIED:
	case VIR_ERR_OPERATION_DENIED:
		return -EACCES;
	case VIR_ERR_OPERATION_TIMEOUT:
	case VIR_ERR_AGENT_UNRESPONSIVE:
		return -ETIMEDOUT;
	case VIR_ERR_NO_SUPPORT:
	case VIR_ERR_ARGUMENT_UNSUPPORTED:
		return -EOPNOTSUPP;
	case VIR_ERR_OPERATION_INVALID:
		return -EINVAL;
	case VIR_ERR_NO_CONNECT:
		return -ECONNREFUSED;
	case VIR_ERR_NO_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static const char *yg_virt_msg(const virError *e)
{
	if (e && e->message && e->message[0])
		return e->message;
	return "unknown libvirt error";
}

void yg_box_err_clean(yg_err *err)
{
	char *p;

	if (!err)
		return;
	for (p = err->msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

/* The connection died of the keepalive: libvirt did not answer in time. */
static bool yg_virt_unanswered(const virError *e)
{
	return keepalive_dead || (e && e->message && strstr(e->message, "keepalive"));
}

int yg_box_virt_err(yg_err *err, const char *what_fmt, ...)
{
	virErrorPtr e = virGetLastError();
	char what[YG_ERR_MSG_MAX];
	va_list ap;
	int rc;

	va_start(ap, what_fmt);
	vsnprintf(what, sizeof(what), what_fmt, ap);
	va_end(ap);
	if (yg_virt_unanswered(e))
		rc = yg_err_set(err, -ETIMEDOUT, "%s: " YG_VIRT_UNANSWERED, what, YG_VIRT_DEAD_S);
	else
		rc = yg_err_set(err, yg_virt_errno(e), "%s: %s", what, yg_virt_msg(e));
	yg_box_err_clean(err);
	return rc;
}

/* " (hint)" or "" */
static void yg_hint_suffix(const char *hint, char *buf, size_t len)
{
	if (hint && hint[0])
		snprintf(buf, len, " (%s)", hint);
	else if (len)
		buf[0] = '\0';
}

static void yg_conn_closed(virConnectPtr conn, int reason, void *opaque)
{
	(void)conn;
	(void)opaque;
	if (reason == VIR_CONNECT_CLOSE_REASON_KEEPALIVE)
		keepalive_dead = 1;
}

/* After virConnectOpen: keepalive (one round trip, bounded by the watchdog)
 * and the close callback. Keepalive needs an event loop
 * (yg_virtloop_register); without one (yolo-gatectl) the calls of yg_box.c
 * are still bounded by the watchdog. */
static void yg_conn_setup(virConnectPtr conn, const char *u)
{
	yg_watchdog_arm(YG_VIRT_CONNECT_MS, "setting up the connection to %s", u);
	/* -1 without an event loop, or from a driver without keepalive
	 * (test:///): nothing to bound there */
	if (virConnectSetKeepAlive(conn, YG_VIRT_KEEPALIVE_S, YG_VIRT_KEEPALIVE_COUNT) < 0)
		virResetLastError();
	if (virConnectRegisterCloseCallback(conn, yg_conn_closed, NULL, NULL) < 0)
		virResetLastError();
	yg_watchdog_disarm();
	virConnSetErrorFunc(conn, NULL, yg_virt_silent);
	keepalive_dead = 0;
}

/* The error of a failed virConnectOpen (e: a copy of it, or NULL). */
static int yg_conn_failed(const char *u, const virError *e, yg_err *err)
{
	const char *msg = yg_virt_msg(e), *fix;
	int rc = yg_virt_errno(e);

	if (strstr(msg, "ermission denied") || rc == -EACCES) {
		rc = -EACCES;
		fix = "the broker user must be in group libvirt, or the URI's socket must be readable by it";
	} else if (strstr(msg, "No such file") || strstr(msg, "onnection refused")) {
		rc = -ECONNREFUSED;
		fix = "start libvirtd: systemctl start libvirtd";
	} else {
		fix = "check the libvirt URI and that its daemon is running";
	}
	return yg_err_set(err, rc, "cannot connect to libvirt at %s: %s (%s)", u, msg, fix);
}

static int yg_conn_init(void)
{
	virSetErrorFunc(NULL, yg_virt_silent);
	return virInitialize();
}

/* virConnectOpen has no timeout of its own: the watchdog bounds it (and
 * ends the process past the bound). */
int yg_conn_open(const char *uri, virConnectPtr *out, yg_err *err)
{
	const char *u = (uri && uri[0]) ? uri : YG_DEFAULT_URI;
	virConnectPtr conn;
	int rc;

	*out = NULL;
	if (yg_conn_init() < 0)
		return yg_err_set(err, -EIO, "cannot initialise libvirt");
	yg_watchdog_arm(YG_VIRT_CONNECT_MS, "connecting to %s", u);
	conn = virConnectOpen(u);
	yg_watchdog_disarm();
	if (!conn) {
		rc = yg_conn_failed(u, virGetLastError(), err);
		virResetLastError();
		return rc;
	}
	yg_conn_setup(conn, u);
	*out = conn;
	return 0;
}

/* One virConnectOpen in a thread of its own, which the caller may stop
 * waiting for: the thread then closes what it gets and frees the try. */
struct conn_try {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done, abandoned;
	virConnectPtr conn;
	virError e;		/* the thread's last error (libvirt's are per thread) */
	bool has_e;
	char uri[];
};

static void conn_try_free(struct conn_try *t)
{
	if (t->has_e)
		virResetError(&t->e);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static void *conn_try_main(void *p)
{
	struct conn_try *t = p;
	virConnectPtr conn = virConnectOpen(t->uri);
	bool abandoned;

	if (!conn)
		t->has_e = virCopyLastError(&t->e) > 0;
	pthread_mutex_lock(&t->mu);
	abandoned = t->abandoned;
	t->conn = conn;
	t->done = true;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	if (abandoned) {
		if (conn)
			virConnectClose(conn);
		conn_try_free(t);
	}
	return NULL;
}

int yg_conn_open_bounded(const char *uri, unsigned ms, virConnectPtr *out, yg_err *err)
{
	const char *u = (uri && uri[0]) ? uri : YG_DEFAULT_URI;
	struct conn_try *t;
	pthread_condattr_t ca;
	struct timespec dl;
	pthread_t th;
	int rc = 0;

	*out = NULL;
	if (yg_conn_init() < 0)
		return yg_err_set(err, -EIO, "cannot initialise libvirt");
	t = calloc(1, sizeof(*t) + strlen(u) + 1);
	if (!t)
		return yg_err_set(err, -ENOMEM, "out of memory connecting to %s", u);
	strcpy(t->uri, u);
	pthread_mutex_init(&t->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&th, NULL, conn_try_main, t) != 0) {
		conn_try_free(t);
		return yg_err_set(err, -EAGAIN, "cannot start a thread to connect to %s", u);
	}
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->mu);
	while (!t->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&t->cv, &t->mu, &dl);
	if (!t->done) {
		t->abandoned = true;	/* the thread frees t */
		pthread_mutex_unlock(&t->mu);
		pthread_detach(th);
		return yg_err_set(err, -ETIMEDOUT, "cannot connect to libvirt at %s: no answer "
				  "within %.1f s (the host is down or unreachable, or a "
				  "firewall drops the connection)", u, ms / 1000.0);
	}
	pthread_mutex_unlock(&t->mu);
	pthread_join(th, NULL);
	*out = t->conn;
	rc = t->conn ? 0 : yg_conn_failed(u, t->has_e ? &t->e : NULL, err);
	conn_try_free(t);
	if (*out)
		yg_conn_setup(*out, u);
	return rc;
}

void yg_conn_close(virConnectPtr conn)
{
	if (!conn)
		return;
	(void)virConnectUnregisterCloseCallback(conn, yg_conn_closed);
	yg_watchdog_arm(YG_VIRT_CONNECT_MS, "closing the connection to libvirt");
	virConnectClose(conn);
	yg_watchdog_disarm();
}

int yg_conn_alive(virConnectPtr conn)
{
	return conn ? virConnectIsAlive(conn) : -1;
}

void yg_box_free(yg_box *box)
{
	if (!box)
		return;
	if (box->dom)
		virDomainFree(box->dom);
	free(box->name);
	free(box->snapshot);
	free(box->hint);
	free(box);
}

static int yg_box_lookup_snapshot(yg_box *box, virDomainSnapshotPtr *out,
				  yg_err *err)
{
	char suffix[YG_ERR_MSG_MAX];
	virErrorPtr e;

	*out = YG_BOUND(virDomainSnapshotLookupByName(box->dom, box->snapshot, 0),
			"looking up snapshot '%s' of box %s", box->snapshot, box->name);
	if (*out)
		return 0;
	e = virGetLastError();
	if (e && e->code == VIR_ERR_NO_DOMAIN_SNAPSHOT) {
		yg_hint_suffix(box->hint, suffix, sizeof(suffix));
		return yg_err_set(err, -ENOENT, "box %s has no snapshot '%s'%s",
				  box->name, box->snapshot, suffix);
	}
	return yg_box_virt_err(err, "cannot look up snapshot '%s' of box %s",
			       box->snapshot, box->name);
}

int yg_box_open(virConnectPtr conn, const char *domain, const char *snapshot,
		const char *hint, yg_box **out, yg_err *err)
{
	virDomainSnapshotPtr snap = NULL;
	char suffix[YG_ERR_MSG_MAX];
	yg_box *box;
	virErrorPtr e;
	char *uri;
	int rc;

	*out = NULL;
	if (!conn || !domain || !domain[0] || !snapshot || !snapshot[0])
		return yg_err_set(err, -EINVAL,
				  "cannot open a box without a connection, a domain and a snapshot name");
	box = calloc(1, sizeof(*box));
	if (!box)
		return yg_err_set(err, -ENOMEM, "out of memory opening box %s", domain);
	box->conn = conn;
	box->name = strdup(domain);
	box->snapshot = strdup(snapshot);
	box->hint = strdup(hint ? hint : "");
	if (!box->name || !box->snapshot || !box->hint) {
		rc = yg_err_set(err, -ENOMEM, "out of memory opening box %s", domain);
		goto fail;
	}
	box->dom = YG_BOUND(virDomainLookupByName(conn, domain), "looking up box %s", domain);
	if (!box->dom) {
		e = virGetLastError();
		if (e && e->code == VIR_ERR_NO_DOMAIN) {
			uri = virConnectGetURI(conn);
			yg_hint_suffix(hint, suffix, sizeof(suffix));
			rc = yg_err_set(err, -ENOENT, "box %s is not defined in %s%s",
					domain, uri ? uri : "libvirt", suffix);
			free(uri);
		} else {
			rc = yg_box_virt_err(err, "cannot look up box %s", domain);
		}
		goto fail;
	}
	rc = yg_box_lookup_snapshot(box, &snap, err);
	if (rc < 0)
		goto fail;
	virDomainSnapshotFree(snap);
	*out = box;
	return 0;
fail:
	yg_box_free(box);
	return rc;
}

const char *yg_box_name(const yg_box *box)
{
	return box ? box->name : NULL;
}

const char *yg_box_snapshot_name(const yg_box *box)
{
	return box ? box->snapshot : NULL;
}

virDomainPtr yg_box_domain(const yg_box *box)
{
	return box ? box->dom : NULL;
}

int yg_box_id(const yg_box *box)
{
	/* a virDomainPtr keeps the id it was looked up with: look it up again */
	virDomainPtr d = box ? virDomainLookupByName(virDomainGetConnect(box->dom), box->name) : NULL;
	unsigned id = d ? virDomainGetID(d) : (unsigned)-1;

	if (d)
		virDomainFree(d);
	return id == (unsigned)-1 || id > INT_MAX ? 0 : (int)id;
}

int yg_box_state(yg_box *box, int *state, int *reason, yg_err *err)
{
	int st = 0, rs = 0;

	if (YG_BOUND(virDomainGetState(box->dom, &st, &rs, 0), "reading the state of box %s",
		     box->name) < 0)
		return yg_box_virt_err(err, "cannot read the state of box %s", box->name);
	if (state)
		*state = st;
	if (reason)
		*reason = rs;
	return 0;
}

const char *yg_box_state_name(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING: return "running";
	case VIR_DOMAIN_BLOCKED: return "blocked";
	case VIR_DOMAIN_PAUSED: return "paused";
	case VIR_DOMAIN_SHUTDOWN: return "shutting down";
	case VIR_DOMAIN_SHUTOFF: return "shut off";
	case VIR_DOMAIN_CRASHED: return "crashed";
	case VIR_DOMAIN_PMSUSPENDED: return "suspended";
	default: return "unknown";
	}
}

static const char *yg_paused_reason(int reason)
{
	switch (reason) {
	case VIR_DOMAIN_PAUSED_USER: return "user";
	case VIR_DOMAIN_PAUSED_MIGRATION: return "migration";
	case VIR_DOMAIN_PAUSED_SAVE: return "save";
	case VIR_DOMAIN_PAUSED_DUMP: return "dump";
	case VIR_DOMAIN_PAUSED_IOERROR: return "I/O error";
	case VIR_DOMAIN_PAUSED_WATCHDOG: return "watchdog";
	case VIR_DOMAIN_PAUSED_FROM_SNAPSHOT: return "from snapshot";
	case VIR_DOMAIN_PAUSED_SHUTTING_DOWN: return "shutting down";
	case VIR_DOMAIN_PAUSED_SNAPSHOT: return "snapshot in progress";
	case VIR_DOMAIN_PAUSED_CRASHED: return "crashed";
	case VIR_DOMAIN_PAUSED_STARTING_UP: return "starting up";
	case VIR_DOMAIN_PAUSED_POSTCOPY: return "post-copy migration";
	case VIR_DOMAIN_PAUSED_POSTCOPY_FAILED: return "failed post-copy migration";
	default: return "unknown reason";
	}
}

static void yg_why(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void yg_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

int yg_box_check_clean(yg_box *box, bool *clean, char *why, size_t whylen,
		       yg_err *err)
{
	virDomainSnapshotPtr cur;
	const char *curname;
	virErrorPtr e;
	int st, rs, rc, same;

	*clean = false;
	yg_why(why, whylen, "%s", "");
	rc = yg_box_state(box, &st, &rs, err);
	if (rc < 0)
		return rc;
	if (st != VIR_DOMAIN_PAUSED) {
		yg_why(why, whylen, "%s", yg_box_state_name(st));
		return 0;
	}
	if (rs != VIR_DOMAIN_PAUSED_FROM_SNAPSHOT) {
		yg_why(why, whylen, "paused (%s)", yg_paused_reason(rs));
		return 0;
	}
	cur = YG_BOUND(virDomainSnapshotCurrent(box->dom, 0), "reading the current snapshot of box %s",
		       box->name);
	if (!cur) {
		e = virGetLastError();
		if (e && e->code == VIR_ERR_NO_DOMAIN_SNAPSHOT) {
			yg_why(why, whylen, "%s", "no current snapshot");
			return 0;
		}
		return yg_box_virt_err(err, "cannot read the current snapshot of box %s",
				       box->name);
	}
	curname = virDomainSnapshotGetName(cur);
	same = curname && strcmp(curname, box->snapshot) == 0;
	if (!same)
		yg_why(why, whylen, "current snapshot is '%s'", curname ? curname : "?");
	virDomainSnapshotFree(cur);
	*clean = same;
	return 0;
}

int yg_box_revert(yg_box *box, yg_err *err)
{
	unsigned int flags = VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED;
	virDomainSnapshotPtr snap;
	virErrorPtr e;
	int rc;

	rc = yg_box_lookup_snapshot(box, &snap, err);
	if (rc < 0)
		return rc;
	rc = YG_BOUND(virDomainRevertToSnapshot(snap, flags), "reverting box %s", box->name);
	if (rc < 0) {
		/* The policy names this snapshot as the clean state: a revert
		 * libvirt calls risky (e.g. config changed since) is still the
		 * one wanted. */
		e = virGetLastError();
		if (e && e->code == VIR_ERR_SNAPSHOT_REVERT_RISKY)
			rc = YG_BOUND(virDomainRevertToSnapshot(snap,
					flags | VIR_DOMAIN_SNAPSHOT_REVERT_FORCE),
				      "reverting box %s", box->name);
	}
	if (rc < 0)
		rc = yg_box_virt_err(err,
				     "cannot revert box %s to snapshot '%s' (check the libvirtd log; "
				     "re-provision the box if the snapshot is broken)",
				     box->name, box->snapshot);
	virDomainSnapshotFree(snap);
	return rc < 0 ? rc : 0;
}

int yg_box_resume(yg_box *box, yg_err *err)
{
	if (YG_BOUND(virDomainResume(box->dom), "resuming box %s", box->name) < 0)
		return yg_box_virt_err(err, "cannot resume box %s", box->name);
	return 0;
}

int yg_box_suspend(yg_box *box, yg_err *err)
{
	int st, rc;

	rc = yg_box_state(box, &st, NULL, err);
	if (rc < 0)
		return rc;
	if (st == VIR_DOMAIN_PAUSED || st == VIR_DOMAIN_SHUTOFF)
		return 0;
	if (YG_BOUND(virDomainSuspend(box->dom), "pausing box %s", box->name) < 0)
		return yg_box_virt_err(err, "cannot pause box %s", box->name);
	return 0;
}

int yg_box_destroy(yg_box *box, yg_err *err)
{
	int st, rc;

	rc = yg_box_state(box, &st, NULL, err);
	if (rc < 0)
		return rc;
	if (st == VIR_DOMAIN_SHUTOFF)
		return 0;
	if (YG_BOUND(virDomainDestroy(box->dom), "stopping box %s", box->name) < 0)
		return yg_box_virt_err(err, "cannot destroy box %s", box->name);
	return 0;
}

/* A non-blocking stream to the console dev or, with channel, to the
 * virtio-serial port named dev. */
static int open_stream(yg_box *box, const char *dev, bool channel, virStreamPtr *out,
		       yg_err *err)
{
	const char *what = channel ? "channel" : "console";
	virStreamPtr st;
	int r;

	*out = NULL;
	st = virStreamNew(box->conn, VIR_STREAM_NONBLOCK);
	if (!st)
		return yg_box_virt_err(err, "cannot create a %s stream for box %s", what,
				       box->name);
	if (channel)
		r = YG_BOUND(virDomainOpenChannel(box->dom, dev, st, VIR_DOMAIN_CHANNEL_FORCE),
			     "opening the channel of box %s", box->name);
	else
		r = YG_BOUND(virDomainOpenConsole(box->dom, (dev && dev[0]) ? dev : NULL, st,
						  VIR_DOMAIN_CONSOLE_FORCE),
			     "opening the console of box %s", box->name);
	if (r < 0) {
		int rc = yg_box_virt_err(err, "cannot open the %s %s of box %s (%s)", what,
					 (dev && dev[0]) ? dev : "(first)", box->name,
					 channel ? "the domain needs the channel device that "
					 "yolo-gatectl provision adds: provision it again" :
					 "the domain needs a <console> or <serial> device");
		virStreamFree(st);
		return rc;
	}
	*out = st;
	return 0;
}

int yg_box_open_console(yg_box *box, const char *dev, virStreamPtr *out,
			yg_err *err)
{
	return open_stream(box, dev, false, out, err);
}

int yg_box_open_channel(yg_box *box, const char *port, virStreamPtr *out, yg_err *err)
{
	return open_stream(box, port, true, out, err);
}

int yg_box_has_channel(yg_box *box, const char *port, yg_err *err)
{
	char want[160];
	char *xml;
	int r;

	if (snprintf(want, sizeof(want), "<target type='virtio' name='%s'", port) >=
	    (int)sizeof(want))
		return yg_err_set(err, -ENAMETOOLONG, "channel name %s is too long", port);
	xml = YG_BOUND(virDomainGetXMLDesc(box->dom, 0), "reading the definition of box %s",
		       box->name);
	if (!xml)
		return yg_box_virt_err(err, "cannot read the definition of box %s", box->name);
	r = strstr(xml, want) != NULL;
	free(xml);
	return r;
}
