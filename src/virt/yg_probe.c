/* yg_probe.c: boot an image once and look at it, see yg_probe.h.
 *
 * The guest's answers come through virDomainQemuAgentCommand here (not
 * yg_agent.c, whose commands need a yg_box, i.e. a snapshot): every reply is
 * bounded (PROBE_REPLY_MAX), must be one JSON object, and only the members
 * read below are used. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "yg_agent.h"
#include "yg_base64.h"
#include "yg_box.h"
#include "yg_clock.h"
#include "yg_json.h"
#include "yg_probe.h"
#include "yg_time.h"
#include "yg_volume.h"
#include "yg_xml.h"

#define PROBE_REPLY_MAX (64u * 1024)	/* one agent reply */
#define PROBE_OUT_MAX (16u * 1024)	/* the script's output, decoded */
#define PROBE_EXEC_MS 30000ul		/* the script (slow under TCG) */
#define PROBE_CMD_S 10			/* one agent command */
#define PROBE_XML_MAX (8u * 1024)

struct yg_probe {
	virDomainPtr dom;
	char name[64];
	char serial_log[160];
};

/* The script run once in the guest: what has /dev/ttyS0 as its stdin
 * ("tty PID UID COMM"), the key directory ("dir PERMS UID GID" or "dir
 * none"), the longest mount that holds it ("fs TYPE MOUNTPOINT"), and the
 * names of those uids ("user UID NAME"). Plain POSIX sh and two ls (each
 * process start is slow under TCG): a busybox guest runs it too. $1 is
 * the key directory. */
static const char probe_script[] =
	"d=$1; want=' '\n"
	"fds=$(ls -l /proc/[0-9]*/fd/0 2>/dev/null)\n"
	"while IFS= read -r l; do\n"
	"  case $l in *' -> /dev/ttyS0') ;; *) continue ;; esac\n"
	"  p=${l%/fd/0 -> *}; p=${p##* }\n"
	"  [ -r \"$p/status\" ] || continue\n"
	"  u=; while read -r k a b; do [ \"$k\" = Uid: ] && u=$a && break; done < \"$p/status\"\n"
	"  read -r c < \"$p/comm\" || c=?\n"
	"  echo \"tty ${p#/proc/} $u $c\"; want=\"$want$u \"\n"
	"done <<EOF\n"
	"$fds\n"
	"EOF\n"
	"if [ -L \"$d\" ]; then echo 'dir link 0 0'\n"
	"elif [ -e \"$d\" ]; then set -- $(ls -ldn \"$d\"); echo \"dir $1 $3 $4\"; want=\"$want$3 \"\n"
	"else echo 'dir none'; fi\n"
	"best=; bt=\n"
	"while read -r dev m t rest; do\n"
	"  case $m in /) ;; *) case $d/ in \"$m\"/*) ;; *) continue ;; esac ;; esac\n"
	"  [ \"${#m}\" -ge \"${#best}\" ] && best=$m && bt=$t\n"
	"done < /proc/mounts\n"
	"echo \"fs $bt $best\"\n"
	"while IFS=: read -r n x u rest; do\n"
	"  case $want in *\" $u \"*) echo \"user $u $n\" ;; esac\n"
	"done < /etc/passwd\n";

/* One command, its reply checked: bounded, one JSON object, no error. */
static int probe_cmd(yg_probe *p, const char *json, char **reply, yg_err *err)
{
	char desc[160];
	size_t len;
	char *r;

	*reply = NULL;
	r = virDomainQemuAgentCommand(p->dom, json, PROBE_CMD_S, 0);
	if (!r)
		return yg_box_virt_err(err, "guest agent of %s", p->name);
	len = strlen(r);
	if (len > PROBE_REPLY_MAX || yg_json_validate(r, len) < 0 || r[0] != '{') {
		free(r);
		return yg_err_set(err, -EPROTO, "guest agent of %s sent a malformed or "
				  "too long reply (more than %u bytes)", p->name,
				  PROBE_REPLY_MAX);
	}
	if (yg_json_has(r, "error")) {
		if (yg_json_get_string(r, "error.desc", desc, sizeof(desc), NULL) < 0)
			snprintf(desc, sizeof(desc), "unknown error");
		free(r);
		yg_err_set(err, -EIO, "guest agent of %s failed: %s", p->name, desc);
		yg_box_err_clean(err);
		return -EIO;
	}
	*reply = r;
	return 0;
}

static int domain_xml(const struct yg_probe_opts *o, const char *name, const char *fmt,
		      const char *log, char *xml, size_t len, yg_err *err)
{
	char img[1024], k[1024], i[1024], c[1024], n[128], l[512], os[4096];
	int w;

	if (yg_xml_escape(img, sizeof(img), o->image) < 0 ||
	    yg_xml_escape(k, sizeof(k), o->kernel ? o->kernel : "") < 0 ||
	    yg_xml_escape(i, sizeof(i), o->initrd ? o->initrd : "") < 0 ||
	    yg_xml_escape(c, sizeof(c), o->cmdline ? o->cmdline : "") < 0 ||
	    yg_xml_escape(n, sizeof(n), name) < 0 || yg_xml_escape(l, sizeof(l), log) < 0)
		return yg_err_set(err, -EINVAL, "a path or the kernel command line is too "
				  "long or holds a control character");
	if (o->kernel)
		snprintf(os, sizeof(os), "<kernel>%s</kernel>%s%s%s<cmdline>%s</cmdline>", k,
			 o->initrd ? "<initrd>" : "", i, o->initrd ? "</initrd>" : "", c);
	else
		snprintf(os, sizeof(os), "<boot dev='hd'/>");
	w = snprintf(xml, len,
		     "<domain type='%s'><name>%s</name>"
		     "<memory unit='MiB'>%lu</memory><vcpu>1</vcpu>"
		     "<os><type arch='x86_64' machine='q35'>hvm</type>%s</os>"
		     "<features><acpi/></features><clock offset='utc'/>"
		     "<on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>"
		     "<on_crash>destroy</on_crash><devices>"
		     "<disk type='file' device='disk'><driver name='qemu' type='%s'/>"
		     "<source file='%s'/><target dev='vda' bus='virtio'/><transient shareBacking='yes'/></disk>"
		     "<controller type='usb' model='none'/>"
		     "<controller type='virtio-serial' index='0'/>"
		     "<serial type='pty'><log file='%s' append='off'/>"
		     "<target type='isa-serial' port='0'/></serial>"
		     "<console type='pty'><target type='serial' port='0'/></console>"
		     "<channel type='unix'><source mode='bind'/>"
		     "<target type='virtio' name='org.qemu.guest_agent.0'/></channel>"
		     "<rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>"
		     "<memballoon model='none'/></devices></domain>",
		     !strcmp(o->virt_type, "kvm") ? "kvm" : "qemu", n, o->memory_mib, os, fmt,
		     img, l);
	if (w < 0 || (size_t)w >= len)
		return yg_err_set(err, -ENAMETOOLONG, "the domain XML for %s is too long", name);
	return 0;
}

int yg_probe_start(virConnectPtr conn, const char *name, const struct yg_probe_opts *o,
		   yg_probe **out, yg_err *err)
{
	char fmt[16], *xml = NULL;
	yg_probe *p;
	int rc;

	*out = NULL;
	if (!o->image || !o->virt_type || (o->initrd && !o->kernel))
		return yg_err_set(err, -EINVAL, "image check needs an image (and a kernel "
				  "with an initrd)");
	rc = yg_vol_format(conn, o->image, fmt, sizeof(fmt), err);
	if (rc < 0)
		return yg_err_prefix(err, "cannot read the image %s", o->image);
	if (strcmp(fmt, "qcow2") && strcmp(fmt, "raw"))
		return yg_err_set(err, -EINVAL, "the image %s is %s; use qcow2 or raw "
				  "(qemu-img convert -O qcow2 ...)", o->image, fmt);
	p = calloc(1, sizeof(*p));
	xml = malloc(PROBE_XML_MAX);
	if (!p || !xml) {
		free(p);
		free(xml);
		return yg_err_set(err, -ENOMEM, "out of memory");
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->serial_log, sizeof(p->serial_log), "/var/log/libvirt/qemu/%s.serial.log",
		 p->name);
	rc = domain_xml(o, p->name, fmt, p->serial_log, xml, PROBE_XML_MAX, err);
	if (rc == 0) {
		p->dom = virDomainCreateXML(conn, xml, VIR_DOMAIN_START_AUTODESTROY);
		if (!p->dom)
			rc = yg_box_virt_err(err, "cannot boot %s in a transient domain (is its "
					     "directory writable for libvirt's overlay?)",
					     o->image);
	}
	free(xml);
	if (rc < 0) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int yg_probe_wait_agent(yg_probe *p, unsigned long timeout_ms, yg_err *err)
{
	return yg_agent_wait_domain(p->dom, p->name, timeout_ms, err);
}

/* guest-exec of /bin/sh -c probe_script key_dir with its output; *out
 * (NUL-terminated, at most PROBE_OUT_MAX bytes) malloc'd. */
static int probe_exec(yg_probe *p, const char *key_dir, char **out, yg_err *err)
{
	static const size_t qsmax = sizeof(probe_script) * 6 + 3;
	static const size_t cmdmax = sizeof(probe_script) * 6 + 2048;
	unsigned long long deadline = yg_now_ms() + PROBE_EXEC_MS;
	char *cmd = malloc(cmdmax), *qs = malloc(qsmax), *reply = NULL, *b64 = NULL, *o = NULL;
	char qd[1024];
	size_t b64max = yg_b64_enc_len(PROBE_OUT_MAX) + 1, blen, olen = 0;
	long long pid = 0, code = -1;
	bool exited = false;
	int rc;

	*out = NULL;
	b64 = malloc(b64max);
	o = malloc(PROBE_OUT_MAX + 1);
	if (!cmd || !qs || !b64 || !o) {
		rc = yg_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (yg_json_quote(qs, qsmax, probe_script) < 0 ||
	    yg_json_quote(qd, sizeof(qd), key_dir) < 0 ||
	    (size_t)snprintf(cmd, cmdmax, "{\"execute\":\"guest-exec\",\"arguments\":"
			     "{\"path\":\"/bin/sh\",\"arg\":[\"-c\",%s,\"yg-probe\",%s],"
			     "\"capture-output\":true}}", qs, qd) >= cmdmax) {
		rc = yg_err_set(err, -ENAMETOOLONG, "the key directory %s is too long", key_dir);
		goto out;
	}
	rc = probe_cmd(p, cmd, &reply, err);
	if (rc == 0 && yg_json_get_int(reply, "return.pid", &pid) < 0)
		rc = yg_err_set(err, -EPROTO, "guest agent of %s sent no pid for guest-exec",
				p->name);
	while (rc == 0) {
		free(reply);
		reply = NULL;
		snprintf(cmd, cmdmax, "{\"execute\":\"guest-exec-status\",\"arguments\":"
			 "{\"pid\":%lld}}", pid);
		rc = probe_cmd(p, cmd, &reply, err);
		if (rc == 0 && yg_json_get_bool(reply, "return.exited", &exited) < 0)
			rc = yg_err_set(err, -EPROTO, "guest agent of %s sent a malformed "
					"guest-exec-status", p->name);
		if (rc < 0 || exited)
			break;
		if (yg_now_ms() >= deadline) {
			rc = yg_err_set(err, -ETIMEDOUT, "/bin/sh did not finish within %lu s "
					"in %s", PROBE_EXEC_MS / 1000, p->name);
			break;
		}
		yg_sleep_ms(100);
	}
	if (rc == 0 && (yg_json_get_int(reply, "return.exitcode", &code) < 0 || code != 0))
		rc = yg_err_set(err, -EIO, "/bin/sh -c SCRIPT failed in %s (exit %lld); "
				"the guest needs a POSIX sh and ls", p->name, code);
	if (rc == 0) {
		if (yg_json_get_string(reply, "return.out-data", b64, b64max, &blen) < 0)
			blen = 0;	/* no output: nothing on the console etc. */
		if (blen && (yg_b64_decode(b64, blen, o, &olen) < 0 || olen > PROBE_OUT_MAX))
			rc = yg_err_set(err, -EPROTO, "guest agent of %s sent malformed or too "
					"much output (over %u bytes)", p->name, PROBE_OUT_MAX);
	}
	if (rc == 0) {
		o[olen] = '\0';
		*out = o;
		o = NULL;
	}
out:
	free(cmd);
	free(qs);
	free(reply);
	free(b64);
	free(o);
	return rc;
}

/* Copy a word of the guest's output: printable, no '/' or space. */
static void copy_word(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < len; i++)
		dst[i] = (src[i] > 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static unsigned int perm_bits(const char *s)
{
	unsigned int m = 0;

	if (strlen(s) < 10)
		return 07777;
	for (int i = 0; i < 9; i++)
		if (s[1 + i] != '-')
			m |= 1u << (8 - i);
	return m;
}

static void parse_line(struct yg_probe_guest *g, const char *line)
{
	char a[64] = "", b[160] = "", c[64] = "";
	long x = -1, y = -1;

	if (sscanf(line, "tty %ld %ld %63s", &x, &y, a) == 3 && g->ntty < YG_PROBE_TTY_MAX) {
		g->tty[g->ntty].pid = x;
		g->tty[g->ntty].uid = y;
		copy_word(g->tty[g->ntty].comm, YG_PROBE_NAME_MAX, a);
		g->ntty++;
	} else if (sscanf(line, "dir %63s %ld %ld", a, &x, &y) == 3 && strcmp(a, "link")) {
		g->dir = true;
		g->dir_is_dir = a[0] == 'd';
		g->dir_mode = perm_bits(a);
		g->dir_uid = x;
		g->dir_gid = y;
	} else if (sscanf(line, "dir %63s", a) == 1 && !strcmp(a, "link")) {
		g->dir = true;	/* a symlink: never written through */
		g->dir_is_dir = false;
		g->dir_mode = 0777;
	} else if (sscanf(line, "fs %63s %159s", a, b) == 2) {
		copy_word(g->fs_type, sizeof(g->fs_type), a);
		copy_word(g->fs_mount, sizeof(g->fs_mount), b);
	} else if (sscanf(line, "user %ld %63s", &x, c) == 2) {
		for (size_t i = 0; i < g->ntty; i++)
			if (g->tty[i].uid == x)
				copy_word(g->tty[i].user, YG_PROBE_NAME_MAX, c);
		if (g->dir && g->dir_uid == x)
			copy_word(g->dir_user, sizeof(g->dir_user), c);
	}
}

int yg_probe_guest(yg_probe *p, const char *key_dir, struct yg_probe_guest *g, yg_err *err)
{
	char *reply = NULL, *out = NULL, *line, *save = NULL;
	int rc;

	memset(g, 0, sizeof(*g));
	rc = probe_cmd(p, "{\"execute\":\"guest-info\"}", &reply, err);
	if (rc < 0)
		return rc;
	if (yg_json_get_string(reply, "return.version", g->agent_version,
			       sizeof(g->agent_version), NULL) < 0)
		snprintf(g->agent_version, sizeof(g->agent_version), "?");
	copy_word(g->agent_version, sizeof(g->agent_version), g->agent_version);
	free(reply);
	rc = probe_exec(p, key_dir, &out, err);
	if (rc < 0)
		return rc;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		parse_line(g, line);
	free(out);
	return 0;
}

int yg_probe_clock(yg_probe *p, yg_err *err)
{
	return yg_clock_sync_domain(p->dom, p->name, err);
}

const char *yg_probe_serial_log(const yg_probe *p)
{
	return p->serial_log;
}

void yg_probe_stop(yg_probe *p)
{
	if (!p)
		return;
	if (p->dom) {
		(void)virDomainDestroy(p->dom);
		virDomainFree(p->dom);
	}
	free(p);
}
