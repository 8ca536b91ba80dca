/* SPDX-License-Identifier: MIT */
/* boxd_spawn.c: start one EXEC: the user, the environment, pipes or a pty,
 * fork and exec. What fails in the child before exec (setsid, the terminal,
 * the user's ids, the directory, exec itself) is reported to the parent
 * through a close-on-exec pipe and answered with FAILED.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "boxd.h"
#include "boxd_spawn.h"

enum stage { ST_SETSID = 1, ST_TTY, ST_DUP, ST_GROUPS, ST_GID, ST_UID, ST_CHDIR, ST_EXEC };

struct report { int stage, err; };

int boxd_user(const char *name, struct boxd_user *u)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(name);
	if (!pw)
		return errno ? -errno : -ENOENT;
	snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	snprintf(u->home, sizeof(u->home), "%s", pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/");
	snprintf(u->shell, sizeof(u->shell), "%s",
		 pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh");
	return 0;
}

/* NAME=value with a name of [A-Za-z_][A-Za-z0-9_]* */
bool boxd_env_ok(const char *e)
{
	const char *p = e;

	if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_'))
		return false;
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_' ||
	       (*p >= '0' && *p <= '9'))
		p++;
	return *p == '=';
}

/* Put e into env (n entries), replacing an entry of the same name. */
static void env_put(const char **env, size_t *n, const char *e)
{
	size_t len = strcspn(e, "=") + 1;

	for (size_t i = 0; i < *n; i++) {
		if (strncmp(env[i], e, len) == 0) {
			env[i] = e;
			return;
		}
	}
	env[(*n)++] = e;
}

static const char **build_env(const yg_chan_msg *m, const struct boxd_user *u)
{
	static char fixed[6][PATH_MAX + 16];
	static const char *env[6 + 2 * YG_CHAN_ARGS_MAX + 1];
	const char *const *keys = boxd_keys_env();
	const char *term = m->u.exec.term[0] ? m->u.exec.term : "dumb";
	size_t n = 0;

	snprintf(fixed[0], sizeof(fixed[0]), "HOME=%s", u->home);
	snprintf(fixed[1], sizeof(fixed[1]), "USER=%s", u->name);
	snprintf(fixed[2], sizeof(fixed[2]), "LOGNAME=%s", u->name);
	snprintf(fixed[3], sizeof(fixed[3]), "SHELL=%s", u->shell);
	snprintf(fixed[4], sizeof(fixed[4]), "PATH=%s", BOXD_PATH);
	snprintf(fixed[5], sizeof(fixed[5]), "TERM=%s", term);
	for (size_t i = 0; i < 6; i++)
		env[n++] = fixed[i];
	for (size_t i = 0; keys[i] && i < YG_CHAN_ARGS_MAX; i++)
		env_put(env, &n, keys[i]);
	for (size_t i = 0; i < m->u.exec.envc; i++)
		env_put(env, &n, m->u.exec.envp[i]);
	env[n] = NULL;
	return env;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static _Noreturn void child_fail(int rfd, int stage)
{
	struct report r = { stage, errno };

	(void)!write(rfd, &r, sizeof(r));
	_exit(127);
}

static void child_exec(const char *file, char *const argv[], char *const envp[])
{
	char path[PATH_MAX];
	const char *p = BOXD_PATH;
	int err = ENOENT;

	if (strchr(file, '/')) {
		execve(file, argv, envp);
		return;
	}
	while (*p) {
		size_t len = strcspn(p, ":");

		if (snprintf(path, sizeof(path), "%.*s/%s", (int)len, p, file) < (int)sizeof(path)) {
			execve(path, argv, envp);
			if (errno != ENOENT)
				err = errno;
		}
		p += len + (p[len] == ':');
	}
	errno = err;
}

static _Noreturn void child(const yg_chan_msg *m, const struct boxd_user *u, const char **env,
			    int fds[3], int slave, int rfd)
{
	const char *dir = m->u.exec.cwd[0] ? m->u.exec.cwd : u->home;
	sigset_t all;

	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (setsid() < 0)
		child_fail(rfd, ST_SETSID);
	if (slave >= 0) {
		if (ioctl(slave, TIOCSCTTY, 0) < 0)
			child_fail(rfd, ST_TTY);
		fds[0] = fds[1] = fds[2] = slave;
	}
	/* out of 0..2 first, so that no dup2 overwrites a later source (and a
	 * dup2 onto itself would keep FD_CLOEXEC) */
	for (int i = 0; i < 3; i++)
		if (fds[i] < 3 && (fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
			child_fail(rfd, ST_DUP);
	for (int i = 0; i < 3; i++)
		if (dup2(fds[i], i) < 0)
			child_fail(rfd, ST_DUP);
	if (geteuid() == 0) {
		if (initgroups(u->name, u->gid) < 0)
			child_fail(rfd, ST_GROUPS);
		if (setgid(u->gid) < 0)
			child_fail(rfd, ST_GID);
		if (setuid(u->uid) < 0)
			child_fail(rfd, ST_UID);
	}
	if (chdir(dir) < 0 && (m->u.exec.cwd[0] || chdir("/") < 0))
		child_fail(rfd, ST_CHDIR);
	child_exec(m->u.exec.argv[0], (char *const *)m->u.exec.argv, (char *const *)env);
	child_fail(rfd, ST_EXEC);
}

static int open_pty(const yg_chan_msg *m, const struct boxd_user *u, int *master, int *slave,
		    struct boxd_fail *f)
{
	struct winsize ws = { .ws_row = m->u.exec.rows, .ws_col = m->u.exec.cols };
	char name[64];

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || grantpt(*master) < 0 || unlockpt(*master) < 0 ||
	    ptsname_r(*master, name, sizeof(name)) != 0)
		goto fail;
	*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0)
		goto fail;
	if (geteuid() == 0) {
		struct group *tty = getgrnam("tty");

		if (fchown(*slave, u->uid, tty ? tty->gr_gid : u->gid) < 0 ||
		    fchmod(*slave, 0620) < 0)
			goto fail;
	}
	if (ws.ws_row && ws.ws_col)
		(void)ioctl(*master, TIOCSWINSZ, &ws);
	return 0;
fail:
	f->code = YG_CHAN_E_IO;
	snprintf(f->text, sizeof(f->text), "cannot open a pseudo-terminal in the box: %s",
		 strerror(errno));
	close_fd(master);
	close_fd(slave);
	return -EIO;
}

static void explain(const yg_chan_msg *m, const struct boxd_user *u, struct report r,
		    struct boxd_fail *f)
{
	const char *dir = m->u.exec.cwd[0] ? m->u.exec.cwd : u->home;

	f->code = r.err == EACCES || r.err == EPERM ? YG_CHAN_E_PERM : YG_CHAN_E_IO;
	switch (r.stage) {
	case ST_CHDIR:
		if (r.err == ENOENT || r.err == ENOTDIR)
			f->code = YG_CHAN_E_NOENT;
		snprintf(f->text, sizeof(f->text), "cannot change to directory %.900s in the box: %s",
			 dir, strerror(r.err));
		return;
	case ST_EXEC:
		if (r.err == ENOENT)
			f->code = YG_CHAN_E_NOENT;
		snprintf(f->text, sizeof(f->text), "cannot run %.900s in the box: %s",
			 m->u.exec.argv[0], strerror(r.err));
		return;
	case ST_GROUPS: case ST_GID: case ST_UID:
		snprintf(f->text, sizeof(f->text), "cannot become user %s in the box: %s",
			 u->name, strerror(r.err));
		return;
	default:
		f->code = YG_CHAN_E_INTERNAL;
		snprintf(f->text, sizeof(f->text), "cannot set up the command's %s: %s",
			 r.stage == ST_TTY ? "controlling terminal" : "session and fds",
			 strerror(r.err));
	}
}

int boxd_spawn(const yg_chan_msg *m, const struct boxd_user *u, struct boxd_stream *s,
	       struct boxd_fail *f)
{
	/* [0] stdin, [1] stdout, [2] stderr: [i][0] read end, [i][1] write end */
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } }, rp[2] = { -1, -1 };
	int master = -1, slave = -1, cfd[3];
	const char **env = build_env(m, u);
	struct report r;
	ssize_t n;
	pid_t pid;

	if (pipe2(rp, O_CLOEXEC) < 0)
		goto sys;
	if (m->u.exec.flags & YG_CHAN_EXEC_PTY) {
		if (open_pty(m, u, &master, &slave, f) < 0)
			goto out;
	} else {
		for (int i = 0; i < 3; i++)
			if (pipe2(p[i], O_CLOEXEC) < 0)
				goto sys;
	}
	cfd[0] = p[0][0];
	cfd[1] = p[1][1];
	cfd[2] = p[2][1];
	pid = fork();
	if (pid < 0)
		goto sys;
	if (pid == 0)
		child(m, u, env, cfd, slave, rp[1]);
	close_fd(&rp[1]);
	close_fd(&slave);
	close_fd(&p[0][0]);
	close_fd(&p[1][1]);
	close_fd(&p[2][1]);
	do
		n = read(rp[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close_fd(&rp[0]);
	if (n == (ssize_t)sizeof(r)) {
		(void)waitpid(pid, NULL, 0);
		explain(m, u, r, f);
		goto out;
	}
	s->pid = pid;
	s->pty = master >= 0;
	s->in_fd = s->pty ? master : p[0][1];
	s->out_fd[0] = s->pty ? master : p[1][0];
	s->out_fd[1] = s->pty ? -1 : p[2][0];
	for (int i = 0; i < 2; i++)
		if (s->out_fd[i] >= 0)
			(void)fcntl(s->out_fd[i], F_SETFL, O_NONBLOCK);
	(void)fcntl(s->in_fd, F_SETFL, O_NONBLOCK);
	return 0;
sys:
	f->code = YG_CHAN_E_INTERNAL;
	snprintf(f->text, sizeof(f->text), "cannot start the command in the box: %s",
		 strerror(errno));
out:
	close_fd(&rp[0]);
	close_fd(&rp[1]);
	close_fd(&master);
	close_fd(&slave);
	for (int i = 0; i < 3; i++) {
		close_fd(&p[i][0]);
		close_fd(&p[i][1]);
	}
	return -1;
}
