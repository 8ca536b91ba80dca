/* SPDX-License-Identifier: MIT */
/* yolo-gatectl check: can a gated user get past the box through sshd?
 *
 * `ssh -N -D` / `-L` / `-R` open no session, so yolo-shell never runs to
 * stop them: only sshd's own rules do, and sshd cannot match on a login
 * shell. The shipped snippet closes forwarding for `Match Group yolo-users`,
 * so every gated user must be in that group. For each gated user (every user
 * the policy gives a box, and every user whose login shell is yolo-shell)
 * this warns when they are not, and, where `sshd -T -C` can run (root, sshd
 * installed), when sshd's effective configuration for them would allow
 * forwarding or give them a shell other than yolo-shell. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"

#define SSHD_OUT_MAX (256 * 1024)	/* sshd -T prints about 5K */
/* The probe's client: sshd -T needs one; Match Address/Host blocks for other
 * addresses are not covered (documented). */
#define SSHD_PROBE_ADDR "192.0.2.1"

struct ssh_ctx {
	const char *sshd_config;	/* NULL = sshd's default */
	gid_t gid;			/* of YG_CTL_SSH_GROUP */
	bool have_group;
	bool group_warned;		/* its absence, once */
	bool sshd_failed;		/* sshd -T could not run: noted once */
	int warnings;
	struct yg_ctl_names seen;
};

static bool is_yolo_shell(const char *path)
{
	const char *b = path ? strrchr(path, '/') : NULL;

	return b && !strcmp(b + 1, "yolo-shell");
}

static bool in_group(const struct passwd *pw, gid_t gid)
{
	gid_t small[64], *g = small;
	int n = 64;
	bool found = false;

	if (getgrouplist(pw->pw_name, pw->pw_gid, g, &n) < 0) {
		g = calloc((size_t)n, sizeof(*g));
		if (!g || getgrouplist(pw->pw_name, pw->pw_gid, g, &n) < 0)
			n = 0;
	}
	for (int i = 0; i < n && !found; i++)
		found = g[i] == gid;
	if (g != small)
		free(g);
	return found;
}

/* Run sshd -T for user; its output (stdout and stderr, NUL-terminated,
 * malloc'd) in *out.  0 when sshd exited 0, 1 when it failed (*out says
 * why), -errno when it could not run. */
static int sshd_dump(const struct ssh_ctx *c, const char *user, char **out)
{
	char spec[YG_NAME_MAX + 80];
	const char *argv[8];
	char *buf;
	size_t n = 0;
	ssize_t r;
	int p[2], st, a = 0;
	pid_t pid;

	*out = NULL;
	if (access(YG_CTL_SSHD, X_OK) < 0)
		return -errno;
	snprintf(spec, sizeof(spec), "user=%s,host=%s,addr=%s", user, SSHD_PROBE_ADDR,
		 SSHD_PROBE_ADDR);
	argv[a++] = YG_CTL_SSHD;
	argv[a++] = "-T";
	if (c->sshd_config) {
		argv[a++] = "-f";
		argv[a++] = c->sshd_config;
	}
	argv[a++] = "-C";
	argv[a++] = spec;
	argv[a] = NULL;
	buf = malloc(SSHD_OUT_MAX + 1);
	if (!buf)
		return -ENOMEM;
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(buf);
		return -errno;
	}
	pid = fork();
	if (pid == 0) {
		static char path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
		char *const envp[] = { path, NULL };
		int nul = open("/dev/null", O_RDONLY);

		if (nul < 0 || dup2(nul, 0) < 0 || dup2(p[1], 1) < 0 || dup2(p[1], 2) < 0)
			_exit(127);
		execve(YG_CTL_SSHD, (char *const *)argv, envp);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		free(buf);
		return -errno;
	}
	while ((r = read(p[0], buf + n, SSHD_OUT_MAX - n)) > 0 ||
	       (r < 0 && errno == EINTR))
		n += r > 0 ? (size_t)r : 0;
	close(p[0]);
	buf[n] = '\0';
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*out = buf;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* The value of keyword key in sshd -T output ("" when absent), into val. */
static void sshd_value(const char *dump, const char *key, char *val, size_t len)
{
	size_t kl = strlen(key);

	val[0] = '\0';
	for (const char *l = dump; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, key, kl) || l[kl] != ' ')
			continue;
		l += kl + 1;
		snprintf(val, len, "%.*s", (int)strcspn(l, "\n"), l);
		return;
	}
}

static size_t appendf(char *buf, size_t o, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static size_t appendf(char *buf, size_t o, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o + 1 >= len)
		return o;
	va_start(ap, fmt);
	n = vsnprintf(buf + o, len - o, fmt, ap);
	va_end(ap);
	return n < 0 ? o : o + (size_t)n >= len ? len - 1 : o + (size_t)n;
}

static void warn(struct ssh_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void warn(struct ssh_ctx *c, const char *fmt, ...)
{
	va_list ap;

	fputs("warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	c->warnings++;
}

/* What sshd -T says for user, into why (at o, each item after "; "): the
 * forwarding it allows, and the command it runs when that is not
 * yolo-shell.  Returns the new offset. */
static size_t check_sshd(struct ssh_ctx *c, const char *user, const char *shell,
			 char *why, size_t o, size_t len)
{
	static const char *const fwd[] = { "allowtcpforwarding", "allowstreamlocalforwarding",
					   "x11forwarding", "allowagentforwarding", "permittunnel" };
	char v[PATH_MAX], po[64], pl[64], dis[16];
	char *dump = NULL;
	bool any = false;
	int rc = sshd_dump(c, user, &dump);

	if (rc != 0) {
		if (!c->sshd_failed)
			printf("note: sshd -T%s%s could not run (%s): only group membership "
			       "and login shells were checked; run check as root on the ssh "
			       "host for sshd's own answer\n",
			       c->sshd_config ? " -f " : "", c->sshd_config ? c->sshd_config : "",
			       rc < 0 ? strerror(-rc) : dump && dump[0] ? strtok(dump, "\n") :
			       "it failed without a message");
		c->sshd_failed = true;
		free(dump);
		return o;
	}
	sshd_value(dump, "disableforwarding", dis, sizeof(dis));
	sshd_value(dump, "permitopen", po, sizeof(po));
	sshd_value(dump, "permitlisten", pl, sizeof(pl));
	for (size_t i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++) {
		sshd_value(dump, fwd[i], v, sizeof(v));
		/* DisableForwarding covers all but tun devices */
		if (!v[0] || !strcmp(v, "no") || (strcmp(fwd[i], "permittunnel") &&
						   !strcmp(dis, "yes")) ||
		    (i == 0 && !strcmp(po, "none") && !strcmp(pl, "none")))
			continue;
		o = appendf(why, o, len, "%s%s %.40s", any ? ", " : "; sshd -T: ",
				   fwd[i], v);
		any = true;
	}
	sshd_value(dump, "forcecommand", v, sizeof(v));
	if ((!v[0] || !strcmp(v, "none")) && !is_yolo_shell(shell))
		o = appendf(why, o, len, "; sshd runs the login shell %s, not "
				   "yolo-shell (an ssh login gets the host)", shell);
	else if (v[0] && strcmp(v, "none") && !is_yolo_shell(v))
		o = appendf(why, o, len, "; sshd forces the command '%.200s', not "
				   "yolo-shell", v);
	free(dump);
	return o;
}

static int check_user(void *ctx, const char *user)
{
	struct ssh_ctx *c = ctx;
	char shell[PATH_MAX], why[1024] = "";
	struct passwd *pw;
	bool member;
	size_t o = 0;
	int r = yg_ctl_names_add(&c->seen, user);

	if (r <= 0)
		return r;
	pw = getpwnam(user);
	if (!pw)
		return 0;	/* lint_user notes it */
	snprintf(shell, sizeof(shell), "%s", pw->pw_shell ? pw->pw_shell : "");
	if (!c->have_group && !c->group_warned)
		warn(c, "the group %s does not exist, so the sshd snippet (Match Group %s) "
		     "applies to nobody; fix: groupadd --system %s, then add every gated "
		     "user to it", YG_CTL_SSH_GROUP, YG_CTL_SSH_GROUP, YG_CTL_SSH_GROUP);
	c->group_warned = true;
	member = c->have_group && in_group(pw, c->gid);
	if (!member)
		o = appendf(why, o, sizeof(why), "; not in group %s, so the sshd "
				   "snippet's rules do not apply", YG_CTL_SSH_GROUP);
	o = check_sshd(c, user, shell, why, o, sizeof(why));
	if (!o)
		return 0;
	if (member)
		warn(c, "gated user %s could get past the box through sshd (`ssh -N -D`, "
		     "`-L`): %s; fix: install the yolo-gate sshd snippet, and see that no "
		     "earlier sshd_config line sets these (the first value wins)", user,
		     why + 2);
	else
		warn(c, "gated user %s could get past the box through sshd (`ssh -N -D`, "
		     "`-L`): %s; fix: usermod -aG %s %s (with the yolo-gate sshd snippet "
		     "installed)", user, why + 2, YG_CTL_SSH_GROUP, user);
	return 0;
}

int yg_ctl_check_sshd(const yg_policy *pol, const char *user, const char *sshd_config)
{
	struct ssh_ctx c = { .sshd_config = sshd_config };
	struct group *gr = getgrnam(YG_CTL_SSH_GROUP);
	char **shelled = NULL;
	size_t ns = 0, cap = 0;
	struct passwd *pw;
	int rc = 0;

	if (gr) {
		c.gid = gr->gr_gid;
		c.have_group = true;
	}
	if (user) {
		rc = check_user(&c, user);
	} else {
		rc = yg_ctl_each_user(pol, check_user, &c);
		/* gated by chsh alone: names first, NSS is not re-entrant */
		setpwent();
		while (rc == 0 && (pw = getpwent())) {
			char **t;

			if (!is_yolo_shell(pw->pw_shell))
				continue;
			if (ns == cap) {
				cap = cap ? 2 * cap : 16;
				t = realloc(shelled, cap * sizeof(*t));
				if (!t) {
					rc = -ENOMEM;
					break;
				}
				shelled = t;
			}
			if (!(shelled[ns] = strdup(pw->pw_name)))
				rc = -ENOMEM;
			else
				ns++;
		}
		endpwent();
		for (size_t i = 0; i < ns; i++) {
			if (rc == 0)
				rc = check_user(&c, shelled[i]);
			free(shelled[i]);
		}
		free(shelled);
	}
	yg_ctl_names_free(&c.seen);
	return rc < 0 ? rc : c.warnings;
}
