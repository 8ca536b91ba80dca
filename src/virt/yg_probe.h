/* SPDX-License-Identifier: MIT */
/* yg_probe.h: boot an image once and look at it (`yolo-gatectl image
 * check`, the guest contract of guest/README.md).
 *
 * The image runs in a transient libvirt domain (gone when it is destroyed
 * or when this process's connection closes: VIR_DOMAIN_START_AUTODESTROY)
 * whose disk is <transient/>: libvirt puts a throw-away overlay next to the
 * image (IMAGE.TRANSIENT-<uuid>, removed at the end), so the image itself
 * is only read. The domain has what yolo-gatectl provision gives a box: a
 * pty serial console (serial0 = ttyS0), the agent channel
 * org.qemu.guest_agent.0, virtio disk vda, no network.
 *
 * What the guest says (yg_probe_guest) is untrusted: the reply and the
 * output of the one shell script run through guest-exec are bounded, and
 * every field is parsed with a width and a character set.
 */
#ifndef YG_PROBE_H
#define YG_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include <libvirt/libvirt.h>

#include "yg_err.h"

typedef struct yg_probe yg_probe;

struct yg_probe_opts {
	const char *image;	/* the disk (qcow2 or raw); only read */
	const char *kernel;	/* direct boot; NULL: boot the disk */
	const char *initrd;	/* with kernel, may be NULL */
	const char *cmdline;	/* with kernel */
	const char *virt_type;	/* "kvm" or "qemu" (TCG) */
	unsigned long memory_mib;
};

#define YG_PROBE_TTY_MAX 8	/* processes on the console reported */
#define YG_PROBE_NAME_MAX 32	/* comm, user and file system names */

/* What runs on ttyS0 and what the key directory is, as the guest said. */
struct yg_probe_guest {
	size_t ntty;
	struct {
		long pid, uid;
		char comm[YG_PROBE_NAME_MAX];
		char user[YG_PROBE_NAME_MAX];	/* "" when not in /etc/passwd */
	} tty[YG_PROBE_TTY_MAX];
	bool dir;			/* the key directory exists */
	unsigned int dir_mode;		/* its permission bits */
	bool dir_is_dir;		/* and is a directory (not a link, ...) */
	long dir_uid, dir_gid;
	char dir_user[YG_PROBE_NAME_MAX];
	char fs_type[YG_PROBE_NAME_MAX];	/* of the mount that holds it */
	char fs_mount[128];
	char agent_version[YG_PROBE_NAME_MAX];	/* guest-info */
};

/* Define and start the transient domain name (the caller picks a unique
 * one). 0 or -errno with err (libvirt's message and what to fix). */
int yg_probe_start(virConnectPtr conn, const char *name, const struct yg_probe_opts *o,
		   yg_probe **out, yg_err *err) YG_MUST_CHECK;

/* Wait for guest-ping (yg_agent_wait_domain): -ETIMEDOUT, or -EIO when
 * the domain stopped (it crashed, powered off or rebooted). */
int yg_probe_wait_agent(yg_probe *p, unsigned long timeout_ms, yg_err *err) YG_MUST_CHECK;

/* Ask the guest (guest-info, one guest-exec of /bin/sh) what runs on
 * /dev/ttyS0 and what key_dir is (mode, owner, the file system it is on). */
int yg_probe_guest(yg_probe *p, const char *key_dir, struct yg_probe_guest *g,
		   yg_err *err) YG_MUST_CHECK;

/* guest-set-time from the RTC (yg_clock.h) on the probe's domain. */
int yg_probe_clock(yg_probe *p, yg_err *err) YG_MUST_CHECK;

/* The serial console log libvirt writes for the domain (for messages). */
const char *yg_probe_serial_log(const yg_probe *p);

/* Destroy the domain (its transient overlay goes with it) and free p.
 * NULL ok. */
void yg_probe_stop(yg_probe *p);

#endif
