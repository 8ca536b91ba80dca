/* SPDX-License-Identifier: MIT */
/* ctl_provision.c: yolo-gatectl provision: build a user's box from policy.
 *
 *   qcow2 overlay on a read-only base, a volume of the libvirt storage pool
 *   of the images directory (the base's format read once by libvirt, then
 *   given explicitly) -> domain from a template -> boot -> guest agent
 *   answers -> internal snapshot with memory -> revert to it, paused: the
 *   box is clean.
 *
 * libvirt only, through libygvirt (no virsh, no qemu-img; yg_volume.h says
 * how the images directory becomes a storage pool).  Idempotent: a clean
 * box with its snapshot is left alone.  A failure after the overlay was
 * created removes what this run made.
 *
 * Limits come from the policy (vcpus, memory, disk_size; the options are
 * overrides), cpu_quota / disk_iops / disk_bps are set through libvirt
 * (yg_limits.h) and the network interface with its filter is added from
 * the policy's `network` (ctl_network.c): a template has no <interface>.
 * --update re-applies the limits to a provisioned box: cputune and iotune
 * on the clean paused state, whose snapshot is then retaken from that very
 * state (the guest never runs); vcpus, memory, disk size or network changes
 * need a new snapshot from boot, which --update --force does.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_network.h"
#include "ctl_template.h"
#include "yg_box.h"
#include "yg_limits.h"
#include "yg_volume.h"

#define CMD "provision"

struct prov {
	const char *confdir, *user, *base, *template, *images;
	const char *host;	/* --host: where to build it ("": the policy's) */
	const char *kernel, *initrd, *virt_type, *disk_arg;
	unsigned long vcpus, memory_mib, boot_timeout_s;
	unsigned long long disk_bytes;
	char disk_size[24];	/* disk_bytes for people: "8G" */
	bool force, update, vcpus_set, memory_set;
	/* filled while working */
	const yg_policy *pol;
	yg_user_policy up;
	virConnectPtr conn;
	yg_pool *pool;		/* of images, once provision makes the overlay */
	char overlay[PATH_MAX], base_real[PATH_MAX], base_fmt[16];
	const char *volume;	/* the overlay's volume name: in overlay */
	char *xml;		/* the rendered template */
};

/* The format of the base image, read once by libvirt and given explicitly
 * to the overlay (never probed at run time). */
static int base_format(struct prov *p, yg_err *err)
{
	int rc = yg_vol_format(p->conn, p->base_real, p->base_fmt,
			       sizeof(p->base_fmt), err);

	if (rc < 0)
		return yg_err_prefix(err, "cannot read the base image %s",
				     p->base_real);
	if (strcmp(p->base_fmt, "qcow2") && strcmp(p->base_fmt, "raw"))
		return yg_err_set(err, -EINVAL, "the base image %s is %s; use "
				  "a qcow2 or raw image (qemu-img convert -O "
				  "qcow2 ...)", p->base_real, p->base_fmt);
	return 0;
}

static int make_overlay(struct prov *p, yg_err *err)
{
	struct yg_ctl_step step;
	int rc;

	yg_ctl_step_begin(&step, CMD, "creating %s (%s over %s %s)",
			  p->overlay, p->disk_size, p->base_fmt, p->base_real);
	rc = yg_vol_create_overlay(p->pool, p->volume, p->disk_bytes,
				   p->base_real, p->base_fmt, err);
	yg_ctl_step_end(&step, rc);
	return rc;
}

/* Is the overlay there (a volume of the images directory's pool)?  1, 0,
 * or -errno with err. */
static int overlay_there(struct prov *p, yg_err *err)
{
	yg_pool *pool = NULL;
	int rc;

	rc = yg_pool_open(p->conn, p->images, false, &pool, err);
	if (rc == -ENOENT) {	/* no pool: provision never made one there */
		yg_err_clear(err);
		return 0;
	}
	if (rc == 0)
		rc = yg_vol_exists(pool, p->volume, err);
	yg_pool_free(pool);
	return rc;
}

static void limits_of(const yg_user_policy *up, struct yg_limits *lim)
{
	lim->cpu_quota = up->cpu_quota;
	lim->disk_iops = up->disk_iops;
	lim->disk_bps = up->disk_bps;
}

/* What the snapshot says about itself. */
static void snapshot_text(const struct prov *p, char *buf, size_t len)
{
	snprintf(buf, len, "yolo-gate clean state of %s", p->up.user);
}

/* Render the template before anything is created: a bad template or a
 * missing --kernel fails early. */
static int render(struct prov *p, yg_err *err)
{
	char vcpus[16], mem[24], tpath[PATH_MAX];
	const struct yg_ctl_tvar vars[] = {
		{ "NAME", p->up.domain, NULL },
		{ "VCPUS", vcpus, "--vcpus N" },
		{ "MEMORY_MIB", mem, "--memory MIB" },
		{ "DISK", p->overlay, NULL },
		{ "KERNEL", p->kernel, "--kernel FILE" },
		{ "INITRD", p->initrd, "--initrd FILE" },
		{ "VIRT_TYPE", p->virt_type, "--virt-type kvm|qemu" },
		{ NULL, NULL, NULL },
	};
	int rc;

	snprintf(vcpus, sizeof(vcpus), "%lu", p->vcpus);
	snprintf(mem, sizeof(mem), "%lu", p->memory_mib);
	rc = yg_ctl_template_path(p->template, tpath, sizeof(tpath), err);
	if (rc == 0)
		rc = yg_ctl_template_render(tpath, vars, &p->xml, err);
	if (rc == 0 && strstr(p->xml, "<interface"))
		rc = yg_err_set(err, -EINVAL, "template %s has an <interface>; "
				"remove it: the policy's network key gives a "
				"box its interface and filter", tpath);
	return rc;
}

/* Before the snapshot exists there is no yg_box yet: wait on the bare domain. */
static int wait_agent(struct prov *p, yg_dom *dom, yg_err *err)
{
	int rc = yg_dom_wait_agent(dom, p->boot_timeout_s * 1000ul, err);

	if (rc == -ETIMEDOUT)
		yg_err_prefix(err, "box %s did not finish booting (raise --boot-timeout if the "
			      "image is slow)", p->up.domain);
	return rc;
}

/* Define, boot, wait for the agent, snapshot, revert paused. */
/* Revert box to its snapshot, paused (shown as a step with show), and check
 * that it is clean: 0, or an error "not clean after the AFTER (why); FIX". */
static int revert_checked(struct prov *p, yg_box *box, bool show, const char *after,
			  const char *fix, yg_err *err)
{
	struct yg_ctl_step step;
	char why[128];
	bool clean = false;
	int rc;

	if (show)
		yg_ctl_step_begin(&step, CMD, "reverting %s to '%s', paused",
				  p->up.domain, p->up.snapshot);
	rc = yg_box_revert(box, err);
	if (show)
		yg_ctl_step_end(&step, rc);
	if (rc == 0)
		rc = yg_box_check_clean(box, &clean, why, sizeof(why), err);
	if (rc == 0 && !clean)
		rc = yg_err_set(err, -EIO, "box %s is not clean after the %s (%s); %s",
				p->up.domain, after, why, fix);
	return rc;
}

static int build(struct prov *p, yg_err *err)
{
	struct yg_ctl_step step;
	struct yg_limits lim;
	yg_dom *dom = NULL;
	yg_box *box = NULL;
	char desc[256];
	int rc;

	rc = yg_dom_define(p->conn, p->up.domain, p->xml, &dom, err);
	if (rc < 0)
		return yg_err_prefix(err, "template %s", p->template);
	rc = yg_ctl_network_attach(p->conn, dom, p->up.network, err);
	limits_of(&p->up, &lim);
	if (rc == 0)
		rc = yg_limits_apply(dom, p->overlay, &lim, false, err);
	if (rc == 0) {
		yg_ctl_step_begin(&step, CMD, "booting %s", p->up.domain);
		rc = yg_dom_start(dom, err);
		yg_ctl_step_end(&step, rc);
	}
	if (rc == 0) {
		yg_ctl_step_begin(&step, CMD, "waiting for the guest agent of "
				  "%s", p->up.domain);
		rc = wait_agent(p, dom, err);
		yg_ctl_step_end(&step, rc);
	}
	if (rc == 0) {
		yg_ctl_step_begin(&step, CMD, "taking snapshot '%s' of %s",
				  p->up.snapshot, p->up.domain);
		snapshot_text(p, desc, sizeof(desc));
		rc = yg_dom_snapshot_create(dom, p->up.snapshot, desc, err);
		yg_ctl_step_end(&step, rc);
	}
	if (rc == 0)
		rc = yg_box_open(p->conn, p->up.domain, p->up.snapshot, NULL,
				 &box, err);
	if (rc == 0)
		rc = revert_checked(p, box, true, "revert", "check the libvirtd log", err);
	yg_box_free(box);
	yg_dom_free(dom);
	return rc;
}

/* An existing box: ALREADY = provisioned and clean, 0 = nothing there or
 * removed (--force), else an exit status (printed). */
#define ALREADY (-1)
static int existing(struct prov *p)
{
	char why[128] = "";
	yg_box *box = NULL;
	bool clean = false, existed;
	yg_err err;
	int rc, st = 0, rs = 0;

	rc = yg_box_open(p->conn, p->up.domain, p->up.snapshot, NULL, &box,
			 &err);
	if (rc == 0)
		rc = yg_box_check_clean(box, &clean, why, sizeof(why), &err);
	if (rc == 0 && !clean)
		rc = yg_box_state(box, &st, &rs, &err);
	if (rc == 0 && !clean && st == VIR_DOMAIN_SHUTOFF && !p->force) {
		/* Provisioned, but shut off: a host restart or a QEMU that
		 * died. Nothing runs in it to lose; the broker would revert it
		 * at the next login, provision does it now (provision holds
		 * the box's lock: no session has it). A running box may be an
		 * admin's at work: that one is refused below. */
		fprintf(stderr, CMD ": box %s is provisioned but shut off\n",
			p->up.domain);
		rc = revert_checked(p, box, true, "revert", "check the libvirtd log", &err);
		yg_box_free(box);
		if (rc < 0)
			return yg_ctl_fail(CMD, &err);
		printf("box %s already provisioned\n", p->up.domain);
		return ALREADY;
	}
	yg_box_free(box);
	if (rc == 0 && clean && !p->force) {
		printf("box %s already provisioned\n", p->up.domain);
		return ALREADY;
	}
	if (p->force) {
		rc = yg_dom_remove(p->conn, p->up.domain, &existed, &err);
		if (rc < 0)
			return yg_ctl_fail(CMD, &err);
		if (existed)
			fprintf(stderr, CMD ": --force: removed the existing "
				"domain %s\n", p->up.domain);
		if (yg_ctl_overlay_remove(p->conn, p->images, p->up.domain,
					  &existed, &err) < 0)
			return yg_ctl_fail(CMD, &err);
		return 0;
	}
	if (rc == 0)
		return yg_ctl_errf(CMD, "box %s exists but is not clean (%s); "
				   "revert it (yolo-gatectl revert %s) or "
				   "rebuild it with --force", p->up.domain,
				   why, p->up.user);
	if (err.code != -ENOENT)
		return yg_ctl_fail(CMD, &err);
	if (yg_dom_defined(p->conn, p->up.domain))	/* no snapshot */
		return yg_ctl_errf(CMD, "%s; rebuild it with --force (this "
				   "replaces the domain)", err.msg);
	rc = overlay_there(p, &err);
	if (rc < 0)
		return yg_ctl_fail(CMD, &err);
	if (rc)
		return yg_ctl_errf(CMD, "%s exists but box %s is not defined; "
				   "remove it or use --force", p->overlay,
				   p->up.domain);
	return 0;
}

/* Delete the snapshot and take it again from the current (paused,
 * just reverted) state: the same clean state, with the live limits in the
 * snapshot's domain definition, which a revert restores. */
static int retake(struct prov *p, yg_dom *dom, yg_err *err)
{
	char desc[256];
	int rc;

	snapshot_text(p, desc, sizeof(desc));
	rc = yg_dom_snapshot_retake(dom, p->up.snapshot, desc, err);
	if (rc < 0)
		yg_err_prefix(err, "box %s may have lost its snapshot; rebuild "
			      "it with provision --force", p->up.domain);
	return rc;
}

/* A step of update that needs the box open: 0 = revert, 1 = limits,
 * 2 = retake, 3 = final revert and check. */
static int update_step(struct prov *p, yg_box *box, yg_dom *dom, int i,
		       yg_err *err)
{
	struct yg_limits lim;
	char why[128];
	bool clean;
	int rc;

	switch (i) {
	case 0:
		rc = yg_box_check_clean(box, &clean, why, sizeof(why), err);
		return rc == 0 && !clean ? yg_box_revert(box, err) : rc;
	case 1:
		limits_of(&p->up, &lim);
		return yg_limits_apply(dom, p->overlay, &lim, true, err);
	case 2:
		return retake(p, dom, err);
	default:
		return revert_checked(p, box, false, "update",
				      "rebuild it with provision --force", err);
	}
}

/* --update of the existing domain dom: ALREADY when done, 0 to (re)build,
 * else an exit status (printed). */
static int update_dom(struct prov *p, yg_dom *dom)
{
	static const char *const what_step[] = {
		"reverting to the clean state",
		"applying cpu_quota, disk_iops, disk_bps",
		"retaking the snapshot from the same paused state",
		"reverting to the new snapshot, paused",
	};
	struct yg_ctl_step step;
	yg_box *box = NULL;
	char what[256];
	yg_err err;
	int rc, i;

	rc = yg_limits_diff(dom, p->overlay, p->vcpus, p->memory_mib,
			    p->disk_bytes, p->up.network, what, sizeof(what),
			    &err);
	if (rc < 0)
		return yg_ctl_fail(CMD, &err);
	if (what[0] && p->force) {
		fprintf(stderr, CMD ": --update: %s: rebuilding box %s and "
			"its snapshot (--force)\n", what, p->up.domain);
		return 0;
	}
	if (what[0])
		return yg_ctl_errf(CMD, "box %s: %s; these need the snapshot "
				   "to be retaken from boot: run provision "
				   "--update --force (rebuilds the box)",
				   p->up.domain, what);
	rc = yg_box_open(p->conn, p->up.domain, p->up.snapshot, NULL, &box,
			 &err);
	for (i = 0; rc == 0 && i < 4; i++) {
		if (i == 3) {	/* the snapshot object changed: reopen */
			yg_box_free(box);
			box = NULL;
			rc = yg_box_open(p->conn, p->up.domain,
					 p->up.snapshot, NULL, &box, &err);
			if (rc < 0)
				break;
		}
		yg_ctl_step_begin(&step, CMD, "%s: %s", p->up.domain,
				  what_step[i]);
		rc = update_step(p, box, dom, i, &err);
		yg_ctl_step_end(&step, rc);
	}
	yg_box_free(box);
	if (rc < 0)
		return yg_ctl_fail(CMD, &err);
	printf("box %s updated: cpu_quota %u %%, disk_iops %lu, disk_bps "
	       "%llu; clean, paused at snapshot '%s'\n", p->up.domain,
	       p->up.cpu_quota, p->up.disk_iops, p->up.disk_bps,
	       p->up.snapshot);
	return ALREADY;
}

/* --update: nothing defined yet is a plain provision (0). */
static int update(struct prov *p)
{
	yg_dom *dom = NULL;
	int rc;

	if (yg_dom_lookup(p->conn, p->up.domain, &dom, NULL) < 0)
		return 0;
	rc = update_dom(p, dom);
	yg_dom_free(dom);
	return rc;
}

/* What the boxes of the policy already take of p->host: one walk over its
 * users, each box counted once by its domain being defined there (a box
 * that moved counts on each host it is defined on). */
struct room {
	struct prov *p;
	unsigned boxes;
	unsigned long long bytes;
};

static int room_user(void *ctx, const char *user)
{
	struct room *r = ctx;
	yg_user_policy up = { 0 };
	yg_dom *dom = NULL;

	if (strcmp(user, r->p->user) != 0 &&
	    yg_policy_user_lookup(r->p->pol, user, &up, NULL) == 0 && up.gated &&
	    up.own && yg_dom_lookup(r->p->conn, up.domain, &dom, NULL) == 0) {
		r->boxes++;
		r->bytes += yg_dom_max_memory(dom);
		yg_dom_free(dom);
	}
	yg_user_policy_clear(&up);
	return 0;
}

/* A new box on a host with capacity = or memory = in its [host:] section:
 * refused when it would not fit, with what the host holds. */
static int room(struct prov *p)
{
	const struct yg_host_conf *h = yg_policy_host(p->pol, p->host);
	unsigned long long want = (unsigned long long)p->memory_mib << 20;
	struct room r = { .p = p };

	if (!h || (!h->capacity && !h->memory_bytes))
		return 0;
	if (yg_ctl_each_user(p->pol, room_user, &r) < 0)
		return yg_ctl_errf(CMD, "cannot list the users of the policy: out of memory");
	if (h->capacity && r.boxes >= h->capacity)
		return yg_ctl_errf(CMD, "host %s is full: it holds %u box%s, its capacity "
				   "is %u ([host:%s] at %s); raise capacity, or build the box "
				   "on another host (--host NAME, then host = NAME for %s)",
				   h->name, r.boxes, r.boxes == 1 ? "" : "es", h->capacity,
				   h->name, h->origin, p->user);
	if (h->memory_bytes && r.bytes + want > h->memory_bytes)
		return yg_ctl_errf(CMD, "host %s has no room for %lu MiB more: its boxes "
				   "take %llu MiB of its memory = %llu MiB ([host:%s] at %s); "
				   "give the box less (--memory), raise memory, or build it on "
				   "another host (--host NAME)", h->name, p->memory_mib,
				   r.bytes >> 20, h->memory_bytes >> 20, h->name, h->origin);
	return 0;
}

static int provision(struct prov *p)
{
	bool existed;
	yg_err err;
	int rc;

	rc = yg_ctl_overlay_path(p->overlay, sizeof(p->overlay), p->images,
				 p->up.domain, &err);
	if (rc < 0)
		return yg_ctl_fail(CMD, &err);
	p->volume = strrchr(p->overlay, '/') + 1;
	rc = p->update ? update(p) : 0;
	if (rc == 0)
		rc = existing(p);
	if (rc)
		return rc == ALREADY ? YG_CTL_EXIT_OK : rc;
	rc = room(p);
	if (rc)
		return rc;
	if (strcmp(p->host, "local") != 0) {
		/* a path on that host: libvirt resolves it there (base_format) */
		if (p->base[0] != '/' || strlen(p->base) >= sizeof(p->base_real))
			return yg_ctl_errf(CMD, "--base %s: on host %s the base image is "
					   "named by its absolute path on that host", p->base,
					   p->host);
		snprintf(p->base_real, sizeof(p->base_real), "%s", p->base);
	} else if (!realpath(p->base, p->base_real)) {
		return yg_ctl_errf(CMD, "base image %s: %s", p->base,
				   strerror(errno));
	}
	rc = render(p, &err);
	if (rc == 0)	/* first: the base may live in the images directory */
		rc = yg_pool_open(p->conn, p->images, true, &p->pool, &err);
	if (rc == 0)
		rc = base_format(p, &err);
	if (rc == 0)
		rc = make_overlay(p, &err);
	if (rc < 0)
		return yg_ctl_fail(CMD, &err);
	rc = build(p, &err);
	if (rc < 0) {
		yg_ctl_fail(CMD, &err);
		/* best effort: what is left is named by the next run */
		(void)!yg_dom_remove(p->conn, p->up.domain, &existed, NULL);
		(void)!yg_vol_delete(p->pool, p->volume, &existed, NULL);
		fprintf(stderr, CMD ": removed the half-made box %s; fix the "
			"cause and run provision again\n", p->up.domain);
		return YG_CTL_EXIT_FAIL;
	}
	printf("box %s provisioned: clean, paused at snapshot '%s'\n",
	       p->up.domain, p->up.snapshot);
	return YG_CTL_EXIT_OK;
}

static int parse_num(const char *opt, const char *s, unsigned long lo,
		     unsigned long hi, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *out < lo || *out > hi)
		return yg_ctl_errf(CMD, "%s '%s' is not valid: use a whole "
				   "number from %lu to %lu", opt, s, lo, hi);
	return 0;
}

static int parse(struct prov *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "base", required_argument, NULL, 'b' },
		{ "template", required_argument, NULL, 't' },
		{ "force", no_argument, NULL, 'f' },
		{ "update", no_argument, NULL, 'u' },
		{ "vcpus", required_argument, NULL, 'v' },
		{ "memory", required_argument, NULL, 'm' },
		{ "disk-size", required_argument, NULL, 'd' },
		{ "virt-type", required_argument, NULL, 'V' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'r' },
		{ "images", required_argument, NULL, 'i' },
		{ "host", required_argument, NULL, 'H' },
		{ "boot-timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o, rc = 0;

	while (rc == 0 && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c': p->confdir = optarg; break;
		case 'b': p->base = optarg; break;
		case 't': p->template = optarg; break;
		case 'f': p->force = true; break;
		case 'u': p->update = true; break;
		case 'k': p->kernel = optarg; break;
		case 'r': p->initrd = optarg; break;
		case 'i': p->images = optarg; break;
		case 'H': p->host = optarg; break;
		case 'd': p->disk_arg = optarg; break;
		case 'V': p->virt_type = optarg; break;
		case 'v':
			rc = parse_num("--vcpus", optarg, 1, 64, &p->vcpus);
			p->vcpus_set = true;
			break;
		case 'm':
			rc = parse_num("--memory", optarg, 64, 1u << 22,
				       &p->memory_mib);
			p->memory_set = true;
			break;
		case 'T':
			rc = parse_num("--boot-timeout", optarg, 1, 86400,
				       &p->boot_timeout_s);
			break;
		default:
			return yg_ctl_usage(CMD);
		}
	}
	if (rc)
		return YG_CTL_EXIT_USAGE;
	if (optind != argc - 1 || !p->base)
		return yg_ctl_usage(CMD);
	p->user = argv[optind];
	if (strcmp(p->virt_type, "kvm") && strcmp(p->virt_type, "qemu")) {
		yg_ctl_errf(CMD, "--virt-type '%s' is not valid: use kvm, or "
			    "qemu (TCG, no KVM)", p->virt_type);
		return YG_CTL_EXIT_USAGE;
	}
	if (p->disk_arg && (yg_parse_size(p->disk_arg, &p->disk_bytes) < 0 ||
			    p->disk_bytes < (1u << 20))) {
		yg_ctl_errf(CMD, "--disk-size '%s' is not valid: use a number "
			    "with an optional unit K, M, G or T (8G), at least "
			    "1M", p->disk_arg);
		return YG_CTL_EXIT_USAGE;
	}
	return 0;
}

/* The host to build on: --host, else the policy's (the user's host =);
 * the images directory: --images, else that host's images =. Building on
 * another host than the policy's is how a box moves (yolo-gate.conf(5)):
 * said, not refused. */
static int pick_host(struct prov *p)
{
	const struct yg_host_conf *h;

	if (!p->host)
		p->host = p->up.host;
	h = yg_policy_host(p->pol, p->host);
	if (!h)
		return yg_ctl_errf(CMD, "--host %s is not a host of the policy; define "
				   "[host:%s] with a uri (yolo-gate.conf(5))", p->host, p->host);
	if (!p->images)
		p->images = h->images;
	if (strcmp(p->host, p->up.host))
		fprintf(stderr, CMD ": note: building %s's box on host %s, but the policy puts "
			"it on %s: set host = %s for %s once it is built\n", p->user, p->host,
			p->up.host, p->host, p->user);
	return 0;
}

/* 8589934592 -> "8G" (qemu-img's units are powers of 1024 too). */
static void size_text(unsigned long long b, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && b && !(b & 1023)) {
		b >>= 10;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", b);
	else
		snprintf(buf, len, "%llu%c", b, units[u]);
}

int yg_ctl_provision(int argc, char **argv)
{
	struct prov p = {
		.template = "cloud", .virt_type = "kvm", .boot_timeout_s = 300,
	};
	const char *run_dir;
	struct yg_ctl_holder h;
	yg_policy *pol = NULL;
	char who[160];
	yg_err err;
	int rc, fd = -1;

	rc = parse(&p, argc, argv);
	if (rc)
		return rc;
	rc = yg_ctl_policy_load(CMD, p.confdir, &pol);
	p.pol = pol;
	if (rc == 0)
		rc = yg_ctl_user(CMD, pol, p.user, &p.up);
	if (rc == 0) {
		/* the policy's limits; the options override them */
		if (!p.vcpus_set)
			p.vcpus = p.up.vcpus;
		if (!p.memory_set)
			p.memory_mib = (unsigned long)(p.up.memory_bytes >> 20);
		if (!p.disk_arg)
			p.disk_bytes = p.up.disk_size_bytes;
		size_text(p.disk_bytes, p.disk_size, sizeof(p.disk_size));
		rc = pick_host(&p);
	}
	if (rc == 0)
		rc = yg_ctl_connect_host(CMD, pol, p.host, &p.conn);
	if (rc == 0) {
		/* no session may start on a box being built */
		run_dir = yg_policy_gate(pol)->run_dir;
		fd = yg_ctl_lock_take(run_dir, p.host, p.up.domain, pol, &h, &err);
		if (fd == -EWOULDBLOCK) {
			yg_ctl_holder_text(&h, who, sizeof(who));
			rc = yg_ctl_errf(CMD, "box %s is in use by %s; try "
					 "again when the session has ended",
					 p.up.domain, who);
		} else if (fd < -1) {
			rc = yg_ctl_fail(CMD, &err);
		}
	}
	if (rc == 0)
		rc = provision(&p);
	if (fd >= 0)
		close(fd);
	yg_pool_free(p.pool);
	yg_conn_close(p.conn);
	free(p.xml);
	yg_user_policy_clear(&p.up);
	yg_policy_free(pol);
	return rc;
}
