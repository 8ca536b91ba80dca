/* SPDX-License-Identifier: MIT */
/* ctl_image_check.c: yolo-gatectl image check IMAGE: boot an admin's image
 * once in a transient domain (yg_probe.h) and say, for each point of the
 * guest contract (guest/README.md), ok or missing and what to fix:
 *
 *   boot            it starts under libvirt with the box's devices
 *   guest agent     qemu-ga answers on org.qemu.guest_agent.0
 *   serial console  a shell (or an autologin into one) on ttyS0
 *   key tmpfs       the key directory (/run/yolo) exists at boot, on a
 *                   tmpfs, owned by root, not writable by others, a
 *                   directory (no symlink)
 *   clock           guest-set-time from the RTC works (yg_clock.h)
 *   yolo-boxd       optional: not checked yet
 *
 * IMAGE is a disk, or a directory made by image build (DIR/NAME.qcow2 with
 * vmlinuz, initrd.img and manifest next to it, used for a direct boot
 * unless --kernel says otherwise). Exit 0 when every point is ok, 1 when
 * one is missing or could not be checked.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_image.h"
#include "yg_probe.h"

#define CMD "image check"
#define PROBE_SHELL_WAIT_MS 30000ul	/* for a shell on ttyS0 after the agent */

struct check {
	const char *confdir, *uri, *key_dir, *kernel_arg, *initrd_arg, *cmdline_arg;
	unsigned long timeout_s;
	struct yg_probe_opts o;
	char image[PATH_MAX], kernel[PATH_MAX], initrd[PATH_MAX], cmdline[512];
	int missing;
};

static void report(struct check *c, const char *status, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void report(struct check *c, const char *status, const char *what, const char *fmt, ...)
{
	va_list ap;

	if (strcmp(status, "ok") && strcmp(status, "skip"))
		c->missing++;
	printf("%-8s %-15s ", status, what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The manifest's cmdline= line, if there is one. */
static void manifest_cmdline(const char *dir, char *buf, size_t len)
{
	char path[PATH_MAX], line[512];
	FILE *f;

	if (yg_pathf(path, sizeof(path), "%s/manifest", dir) < 0 || !(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "cmdline=", 8)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "%.500s", line + 8);
			break;
		}
	fclose(f);
}

/* IMAGE (a disk or an image build directory), the kernel, initrd and
 * command line: options first, then what lies next to the disk. */
static int resolve(struct check *c, const char *arg)
{
	char dir[PATH_MAX], tmp[PATH_MAX], disk[PATH_MAX];
	struct stat st;

	if (stat(arg, &st) < 0)
		return yg_ctl_errf(CMD, "image %s: %s", arg, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (!realpath(arg, dir) ||
		    yg_pathf(disk, sizeof(disk), "%s/%s.qcow2", dir, basename(dir)) < 0 ||
		    !is_file(disk))
			return yg_ctl_errf(CMD, "%s is a directory without NAME.qcow2 (an image "
					   "build directory); give the disk itself", arg);
	} else {
		snprintf(disk, sizeof(disk), "%s", arg);
	}
	if (!realpath(disk, c->image))
		return yg_ctl_errf(CMD, "image %s: %s", disk, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s", c->image);
	snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	snprintf(c->cmdline, sizeof(c->cmdline), "%s", YG_CTL_IMAGE_CMDLINE);
	manifest_cmdline(dir, c->cmdline, sizeof(c->cmdline));
	if (c->kernel_arg) {
		if (!realpath(c->kernel_arg, c->kernel))
			return yg_ctl_errf(CMD, "--kernel %s: %s", c->kernel_arg, strerror(errno));
		if (c->initrd_arg && !realpath(c->initrd_arg, c->initrd))
			return yg_ctl_errf(CMD, "--initrd %s: %s", c->initrd_arg, strerror(errno));
	} else if (c->initrd_arg) {
		return yg_ctl_errf(CMD, "--initrd needs --kernel");
	} else if (yg_pathf(c->kernel, sizeof(c->kernel), "%s/vmlinuz", dir) == 0 &&
		   is_file(c->kernel) &&
		   yg_pathf(c->initrd, sizeof(c->initrd), "%s/initrd.img", dir) == 0 &&
		   is_file(c->initrd)) {
		/* an image build directory: boot it as provision's cloud template does */
	} else {
		c->kernel[0] = c->initrd[0] = '\0';
	}
	if (c->cmdline_arg)
		snprintf(c->cmdline, sizeof(c->cmdline), "%s", c->cmdline_arg);
	c->o.image = c->image;
	c->o.kernel = c->kernel[0] ? c->kernel : NULL;
	c->o.initrd = c->initrd[0] ? c->initrd : NULL;
	c->o.cmdline = c->cmdline;
	return 0;
}

static bool one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static const char *const shells[] = { "bash", "sh", "dash", "ash", "zsh", "ksh",
				      "mksh", "fish", "busybox", "tcsh", "csh", NULL };

/* The index of the first shell on ttyS0, or -1. */
static int console_shell(const struct yg_probe_guest *g)
{
	for (size_t i = 0; i < g->ntty; i++)
		if (one_of(g->tty[i].comm, shells))
			return (int)i;
	return -1;
}

static void check_console(struct check *c, const struct yg_probe_guest *g)
{
	static const char *const gettys[] = { "agetty", "getty", "login", "mingetty", NULL };
	const char *getty = NULL;

	for (size_t i = 0; i < g->ntty; i++) {
		if ((int)i == console_shell(g)) {
			report(c, "ok", "serial console", "%s as %s (uid %ld) on ttyS0%s",
			       g->tty[i].comm, g->tty[i].user[0] ? g->tty[i].user : "?",
			       g->tty[i].uid, g->tty[i].uid == 0 ? " (root: an agent CLI may "
			       "refuse to run as root; prefer an unprivileged user)" : "");
			return;
		}
		if (one_of(g->tty[i].comm, gettys))
			getty = g->tty[i].comm;
	}
	if (getty)
		report(c, "missing", "serial console", "ttyS0 shows a login prompt (%s), not a "
		       "shell: make the getty log a user in (agetty --autologin USER, "
		       "guest/README.md)", getty);
	else
		report(c, "missing", "serial console", "nothing runs on ttyS0: boot with "
		       "console=ttyS0 and start a getty with autologin there "
		       "(serial-getty@ttyS0.service)");
}

static void check_keys(struct check *c, const struct yg_probe_guest *g)
{
	const char *d = c->key_dir;

	if (!g->dir)
		report(c, "missing", "key tmpfs", "%s does not exist at boot: mount a tmpfs "
		       "there (fstab: tmpfs %s tmpfs mode=0711,uid=0,gid=0 0 0) or "
		       "create it on /run (tmpfiles.d: d %s 0711 root root -), and give the "
		       "key file to the agent user with inject_owner", d, d, d);
	else if (!g->dir_is_dir)
		report(c, "missing", "key tmpfs", "%s is not a directory (a symlink?); keys are "
		       "never written through one: make it a directory", d);
	else if (strcmp(g->fs_type, "tmpfs") && strcmp(g->fs_type, "ramfs"))
		report(c, "missing", "key tmpfs", "%s is on %s (%s): keys would reach a disk; "
		       "mount a tmpfs on it", d, g->fs_type[0] ? g->fs_type : "?",
		       g->fs_mount[0] ? g->fs_mount : "?");
	else if (g->dir_uid != 0 || (g->dir_mode & 022))
		report(c, "missing", "key tmpfs", "%s is owned by uid %ld, mode %04o: the broker "
		       "writes keys only into a directory owned by root that no one else can "
		       "write (they could swap the key file): chown root and chmod 0711 it, "
		       "and set inject_owner to the agent user", d, g->dir_uid, g->dir_mode);
	else
		report(c, "ok", "key tmpfs", "%s: %s (mounted on %s), mode %04o, owner %s "
		       "(uid %ld)", d, g->fs_type, g->fs_mount, g->dir_mode,
		       g->dir_user[0] ? g->dir_user : "?", g->dir_uid);
}

static int run(struct check *c, virConnectPtr conn)
{
	struct yg_ctl_step step;
	struct yg_probe_guest g;
	yg_probe *p = NULL;
	char name[64];
	uint64_t t0, deadline;
	double agent_s;
	yg_err err;
	int rc;

	snprintf(name, sizeof(name), "yg-check-%ld", (long)getpid());
	yg_ctl_step_begin(&step, CMD, "booting %s (transient domain %s, %s, %s)", c->image,
			  name, c->o.virt_type, c->o.kernel ? "direct kernel boot" : "disk boot");
	rc = yg_probe_start(conn, name, &c->o, &p, &err);
	yg_ctl_step_end(&step, rc);
	if (rc < 0) {
		report(c, "missing", "boot", "%s", err.msg);
		return YG_CTL_EXIT_FAIL;
	}
	report(c, "ok", "boot", "started with a virtio disk, serial0 and the agent channel");
	yg_ctl_step_begin(&step, CMD, "waiting for the guest agent (at most %lu s)", c->timeout_s);
	t0 = yg_now_ms();
	rc = yg_probe_wait_agent(p, c->timeout_s * 1000ul, &err);
	agent_s = (double)(yg_now_ms() - t0) / 1000.0;
	yg_ctl_step_end(&step, rc);
	if (rc < 0) {
		report(c, "missing", "guest agent", "%s; install qemu-guest-agent and start it on "
		       "the virtio port org.qemu.guest_agent.0 (serial log: %s)", err.msg,
		       yg_probe_serial_log(p));
		report(c, "unknown", "serial console", "not checked: needs the guest agent");
		report(c, "unknown", "key tmpfs", "not checked: needs the guest agent");
		report(c, "unknown", "clock", "not checked: needs the guest agent");
		goto out;
	}
	/* The agent may answer before the autologin's shell has started: ask
	 * again for a while (PROBE_SHELL_WAIT_MS) while no shell is there. */
	yg_ctl_step_begin(&step, CMD, "asking the guest what runs on ttyS0 and what %s is",
			  c->key_dir);
	deadline = yg_now_ms() + PROBE_SHELL_WAIT_MS;
	while ((rc = yg_probe_guest(p, c->key_dir, &g, &err)) == 0 && console_shell(&g) < 0 &&
	       yg_now_ms() < deadline)
		yg_sleep_ms(1000);
	yg_ctl_step_end(&step, rc);
	if (rc < 0) {
		report(c, "missing", "guest agent", "it answers, but guest-exec failed: %s "
		       "(yolo-gate needs guest-exec and guest-file-*)", err.msg);
		report(c, "unknown", "serial console", "not checked: needs guest-exec");
		report(c, "unknown", "key tmpfs", "not checked: needs guest-exec");
	} else {
		report(c, "ok", "guest agent", "qemu-ga %s answers on org.qemu.guest_agent.0, "
		       "%.1f s after the start", g.agent_version, agent_s);
		check_console(c, &g);
		check_keys(c, &g);
	}
	yg_ctl_step_begin(&step, CMD, "setting the guest clock from the host");
	t0 = yg_now_ms();
	rc = yg_probe_clock(p, &err);
	yg_ctl_step_end(&step, rc);
	if (rc < 0)
		report(c, "missing", "clock", "%s", err.msg);
	else
		report(c, "ok", "clock", "guest-set-time from the RTC works (%.1f s)",
		       (double)(yg_now_ms() - t0) / 1000.0);
out:
	report(c, "skip", "yolo-boxd", "optional; not checked here: provision a box and run `ssh HOST true` (remote commands need it)");
	yg_probe_stop(p);
	if (c->missing) {
		printf("%s: %d point(s) of the guest contract missing or unchecked "
		       "(guest/README.md); fix them and check again\n", c->image, c->missing);
		return YG_CTL_EXIT_FAIL;
	}
	printf("%s: meets the guest contract (guest/README.md)\n", c->image);
	return YG_CTL_EXIT_OK;
}

static int parse_ul(const char *opt, const char *s, unsigned long lo, unsigned long hi,
		    unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || *out < lo || *out > hi) {
		yg_ctl_errf(CMD, "%s '%s' is not valid: use a whole number from %lu to %lu",
			    opt, s, lo, hi);
		return -EINVAL;
	}
	return 0;
}

int yg_ctl_image_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "uri", required_argument, NULL, 'U' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'r' },
		{ "cmdline", required_argument, NULL, 'C' },
		{ "virt-type", required_argument, NULL, 'V' },
		{ "memory", required_argument, NULL, 'm' },
		{ "boot-timeout", required_argument, NULL, 'T' },
		{ "key-dir", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct check c = {
		.key_dir = "/run/yolo", .timeout_s = 300,
		.o = { .virt_type = "kvm", .memory_mib = 512 },
	};
	virConnectPtr conn = NULL;
	yg_policy *pol = NULL;
	yg_err err;
	int o, rc = 0;

	while (rc == 0 && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c': c.confdir = optarg; break;
		case 'U': c.uri = optarg; break;
		case 'k': c.kernel_arg = optarg; break;
		case 'r': c.initrd_arg = optarg; break;
		case 'C': c.cmdline_arg = optarg; break;
		case 'V': c.o.virt_type = optarg; break;
		case 'K': c.key_dir = optarg; break;
		case 'm': rc = parse_ul("--memory", optarg, 128, 1ul << 20, &c.o.memory_mib); break;
		case 'T': rc = parse_ul("--boot-timeout", optarg, 1, 86400, &c.timeout_s); break;
		default: return yg_ctl_usage("image");
		}
	}
	if (rc)
		return YG_CTL_EXIT_USAGE;
	if (optind != argc - 1)
		return yg_ctl_usage("image");
	if (strcmp(c.o.virt_type, "kvm") && strcmp(c.o.virt_type, "qemu")) {
		yg_ctl_errf(CMD, "--virt-type '%s' is not valid: use kvm, or qemu (TCG, no KVM)",
			    c.o.virt_type);
		return YG_CTL_EXIT_USAGE;
	}
	if (c.key_dir[0] != '/' || strlen(c.key_dir) > 200 || strstr(c.key_dir, "/../")) {
		yg_ctl_errf(CMD, "--key-dir '%s' is not an absolute path", c.key_dir);
		return YG_CTL_EXIT_USAGE;
	}
	rc = resolve(&c, argv[optind]);
	if (rc)
		return rc;
	if (c.uri) {
		if (yg_conn_open(c.uri, &conn, &err) < 0)
			return yg_ctl_fail(CMD, &err);
	} else {
		rc = yg_ctl_policy_load(CMD, c.confdir, &pol);
		if (rc == 0)
			rc = yg_ctl_connect(CMD, pol, &conn);
		if (rc) {
			yg_policy_free(pol);
			return rc;
		}
	}
	rc = run(&c, conn);
	yg_conn_close(conn);
	yg_policy_free(pol);
	return rc;
}
