/* SPDX-License-Identifier: MIT */
/* main.c: yolo-gated's parent process.
 *
 * As root: load the policy, create run_dir (0755) and run_dir/boxes and
 * run_dir/sessions (0700) for the service user, bind the socket (0666: the
 * peer's uid from SO_PEERCRED is the access check), drop to the service user.
 * Then accept, fork one child per connection, reap children, reload the
 * policy on SIGHUP. The parent never talks to libvirt (libvirt and fork do
 * not mix) and does not even map it: every child loads the session module
 * (module.h) after the fork and talks to libvirt with its own connection.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "yg_caps.h"
#include "yg_nodump.h"
#include "yg_file.h"
#include "yg_log.h"
#include "yg_rundir.h"
#include "gated.h"
#include "module.h"

static int sig_pipe[2] = { -1, -1 };
static char module_path[PATH_MAX] = YG_GD_MODULE_DIR "/" YG_GD_MODULE_NAME;
static int module_fd = -1;	/* the module as it was at start-up */

/* Open the session module at start-up, before the privileges go: a missing
 * or unsafe module is an error now, not at the first login; and every
 * child loads this file (through /proc/self/fd), not whatever an upgrade
 * puts at the path later, which the running parent may not match. */
static int open_module(yg_err *err)
{
	struct stat st;

	module_fd = open(module_path, O_RDONLY | O_CLOEXEC);
	if (module_fd < 0)
		return yg_err_set(err, -errno, "cannot open the session module %s: %s; "
				  "reinstall yolo-gate (a build tree's is "
				  "src/gated/.libs/%s, in YG_GATED_MODULE)", module_path,
				  strerror(errno), YG_GD_MODULE_NAME);
	if (fstat(module_fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022))
		return yg_err_set(err, -EPERM, "the session module %s is not a regular "
				  "file owned by root (or by the user starting yolo-gated) and "
				  "writable by no one else; fix its owner and mode (chown root: "
				  "%s; chmod go-w %s)", module_path, module_path, module_path);
	return 0;
}

/* In a child: load the session module and call its entry fn with e; never
 * returns. A module that cannot be loaded, or is from another build, is
 * logged and told to the client of e->fd (when there is one). */
static void __attribute__((noreturn)) enter_module(const char *fn, struct yg_gd_entry *e)
{
	const char *build, *why = "its entry returned";
	char fdpath[64];
	yg_gd_entry_fn entry;
	void *h, *sym;

	yg_log_get(&e->log_ident, &e->log_target, &e->log_level);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", module_fd);
	h = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL);
	close(module_fd);
	if (!h) {
		why = dlerror();
	} else if (!(build = dlsym(h, "yg_gd_module_build")) ||
		   strcmp(build, YG_GD_MODULE_BUILD) != 0) {
		why = "it is from another build of yolo-gate";
	} else if (!(sym = dlsym(h, fn))) {
		why = dlerror();
	} else {
		memcpy(&entry, &sym, sizeof(entry));	/* POSIX: a function's address */
		entry(e);	/* does not return */
	}
	yg_log(YG_LOG_ERROR, "event", "module_failed", "module", module_path, "entry", fn,
	       "error", why, NULL);
	if (e->fd >= 0)
		yg_gd_send_error(e->fd, YG_ERR_INTERNAL, "the gate cannot load %s (%s); "
				 "reinstall yolo-gate and restart yolo-gated", module_path, why);
	_exit(1);
}

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	(void)!write(sig_pipe[1], &c, 1);
	errno = saved;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: yolo-gated [options]\n"
		"  --config DIR     configuration directory (default %s/yolo-gate)\n"
		"  --socket PATH    listen on PATH instead of [gate] socket\n"
		"  --foreground     run in the foreground (the default; for systemd)\n"
		"  --log-stderr     log to stderr instead of syslog\n"
		"  --debug          log debug events too\n"
		"  --stay-root      FOR TESTS ONLY: do not drop root privileges\n"
		"  --version        print the version and exit\n"
		"  --help           print this help and exit\n"
		"the session module (libvirt's half, loaded per connection): %s\n"
		"  (environment YG_GATED_MODULE=PATH: a build tree's)\n", SYSCONFDIR,
		module_path);
}

static int parse_args(int argc, char **argv, struct yg_gd_opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-stderr", no_argument, NULL, 'e' },
		{ "debug", no_argument, NULL, 'd' },
		{ "stay-root", no_argument, NULL, 'R' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->confdir = optarg; break;
		case 's': o->socket = optarg; break;
		case 'f': break;
		case 'e': o->log_stderr = true; break;
		case 'd': o->debug = true; break;
		case 'R': o->stay_root = true; break;
		case 'V': printf("yolo-gated %s\n", PACKAGE_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "yolo-gated: unexpected argument '%s'; see yolo-gated --help\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* Log every line of a diagnostics text. */
static void log_diags(const char *event, char *text)
{
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		yg_log(YG_LOG_ERROR, "event", event, "error", line, NULL);
}

static int make_dirs(const struct yg_gd_gate *g, uid_t uid, gid_t gid, yg_err *err)
{
	char boxes[PATH_MAX], sessions[PATH_MAX], hosts[PATH_MAX];
	int r;

	r = yg_rundir_boxes_dir(boxes, sizeof(boxes), g->run_dir, err);
	if (r == 0)
		r = yg_rundir_sessions_dir(sessions, sizeof(sessions), g->run_dir, err);
	if (r == 0)
		r = yg_rundir_hosts_dir(hosts, sizeof(hosts), g->run_dir, err);
	if (r == 0)
		r = yg_dir_ensure(g->run_dir, 0755, uid, gid, err);
	if (r == 0)
		r = yg_dir_ensure(boxes, 0700, uid, gid, err);
	if (r == 0)
		r = yg_dir_ensure(sessions, 0700, uid, gid, err);
	if (r == 0)
		r = yg_dir_ensure(hosts, 0700, uid, gid, err);
	return r;
}

static int bind_socket(const char *path, yg_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return yg_err_set(err, -ENAMETOOLONG, "socket path %s is too long; choose a "
				  "shorter [gate] socket", path);
	memcpy(sa.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return yg_err_set(err, -EEXIST, "%s exists and is not a socket; remove "
					  "it or choose another [gate] socket", path);
		unlink(path);	/* stale, from a previous run */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return yg_err_set(err, -errno, "cannot create a socket: %s", strerror(errno));
	/* The mode comes from the umask at bind(2): nothing is changed by path
	 * afterwards (a chmod or chown by path, as root, in a directory the
	 * service user owns would follow whatever that user put there). The
	 * socket stays root's: connecting needs only the 0666 mode, and the
	 * service user removes it at exit through its directory. */
	old = umask(0111);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		return yg_err_set(err, r, "cannot listen on %s: %s; check its directory",
				  path, strerror(-r));
	}
	return fd;
}

/* A broker keeps no descriptor it did not open but the activated socket:
 * one inherited from whoever started it (a lock, a pipe, a terminal's
 * other end) would be held for the broker's whole life, by a process
 * with its privileges. 0-2 stay (it logs to stderr with --log-stderr). */
/* LISTEN_PID names this process: systemd passed it sockets. */
static bool listen_pid_is_us(void)
{
	const char *pid = getenv("LISTEN_PID");
	char *end;

	return pid && strtol(pid, &end, 10) == (long)getpid() && !*end;
}

static void close_inherited(void)
{
	int keep = 3, fd;
	long max;

	if (listen_pid_is_us())
		keep = 4;	/* fd 3: activated_socket() checks it */
	if (close_range((unsigned int)keep, ~0U, 0) == 0)
		return;
	max = sysconf(_SC_OPEN_MAX);
	for (fd = keep; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		close(fd);
}

/* systemd socket activation without libsystemd (sd_listen_fds): when
 * LISTEN_PID is this process, LISTEN_FDS must be 1 and fd 3 is the listening
 * stream socket of yolo-gated.socket. Returns 3, -ENOENT when the broker was
 * not socket-activated (it binds its own socket then), or an error. */
#define YG_GD_LISTEN_FD 3
static int activated_socket(yg_err *err)
{
	const char *fds = getenv("LISTEN_FDS");
	int type = 0, acc = 0, fl;
	socklen_t len = sizeof(type), alen = sizeof(acc);
	struct stat st;

	if (!fds || !listen_pid_is_us())
		return -ENOENT;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (strcmp(fds, "1") != 0)
		return yg_err_set(err, -EINVAL, "socket activation passed %s sockets; "
				  "yolo-gated.socket must have exactly one ListenStream=", fds);
	if (fstat(YG_GD_LISTEN_FD, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(YG_GD_LISTEN_FD, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_STREAM ||
	    getsockopt(YG_GD_LISTEN_FD, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) < 0 || !acc)
		return yg_err_set(err, -EINVAL, "socket activation: fd %d is not a listening "
				  "stream socket; check yolo-gated.socket", YG_GD_LISTEN_FD);
	fl = fcntl(YG_GD_LISTEN_FD, F_GETFL);
	if (fl < 0 || fcntl(YG_GD_LISTEN_FD, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    fcntl(YG_GD_LISTEN_FD, F_SETFD, FD_CLOEXEC) < 0)
		return yg_err_set(err, -errno, "socket activation: cannot set up fd %d: %s",
				  YG_GD_LISTEN_FD, strerror(errno));
	return YG_GD_LISTEN_FD;
}

/* sd_notify("READY=1") without libsystemd. */
static void notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, len);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)!sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
		      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}

/* The reload count the children see (access.c), and the configuration
 * directory they load the policy from again after one. */
static volatile unsigned *policy_gen;
static const char *conf_dir;

static void reload(const char *confdir, yg_policy **pol)
{
	yg_policy *np = NULL;
	char *diag = NULL;

	notify("RELOADING=1");
	if (yg_gd_policy_load(confdir, &np, &diag) < 0) {
		if (diag)
			log_diags("reload_error", diag);
		yg_log(YG_LOG_ERROR, "event", "reload_failed", "result",
		       "keeping the previous policy", NULL);
	} else {
		yg_gd_policy_free(*pol);
		*pol = np;
		if (policy_gen)
			(*policy_gen)++;
		yg_log(YG_LOG_INFO, "event", "reloaded", NULL);
	}
	free(diag);
	notify("READY=1");
}

/* At most this many records of one dead child are handled (it writes one). */
#define YG_GD_DEAD_RECORDS 4

/* A cleanup child for the box of a dead child's record (cleanup.c): the
 * parent itself never calls libvirt. The parent's signal handlers write to
 * its pipe, which the child closes: they go first. */
static void start_cleanup(const struct yg_rundir_session *rec, const char *session, int status,
			  yg_policy *pol, const struct yg_gd_gate *gate, int lfd)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	static const int sigs[] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT };
	pid_t pid = fork();

	if (pid == 0) {
		sigemptyset(&sa.sa_mask);
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			sigaction(sigs[i], &sa, NULL);
		close(lfd);
		close(sig_pipe[0]);
		close(sig_pipe[1]);
		enter_module("yg_gd_module_cleanup",
			     &(struct yg_gd_entry){ .pol = pol, .gate = gate, .fd = -1,
						    .rec = rec, .session = session,
						    .status = status });
	}
	if (pid < 0)
		yg_log(YG_LOG_ERROR, "event", "cleanup_fork_failed", "session", session,
		       "box", rec->box, "error", strerror(errno), NULL);
}

/* A child that ended without its own logout (kill -9, OOM, a crash) leaves
 * its session record behind: yolo-gatectl would list it, `end` would signal
 * whatever process got its pid next, and its box may still run with the
 * user's processes and keys in it. Remove the records that name the dead
 * pid, and start a cleanup child for each one's box. */
static void forget_child(const struct yg_gd_gate *gate, yg_policy *pol, pid_t pid, int status,
			 int lfd)
{
	struct yg_rundir_session rec[YG_GD_DEAD_RECORDS];
	char dir[PATH_MAX], end[PATH_MAX], id[YG_GD_DEAD_RECORDS][YG_SESSION_ID_LEN + 1];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if (yg_rundir_sessions_dir(dir, sizeof(dir), gate->run_dir, NULL) < 0 ||
	    !(d = opendir(dir)))
		return;
	while (n < YG_GD_DEAD_RECORDS && (de = readdir(d))) {
		if (yg_rundir_session_entry(de->d_name) != YG_RUNDIR_SESSION ||
		    yg_rundir_session_read(dirfd(d), de->d_name, &rec[n], NULL) < 0 ||
		    rec[n].pid != (int)pid)
			continue;
		if (yg_rundir_end_path(end, sizeof(end), gate->run_dir, de->d_name, NULL) == 0)
			unlink(end);
		if (unlinkat(dirfd(d), de->d_name, 0) < 0)
			continue;
		yg_log(YG_LOG_INFO, "event", "stale_session_removed", "session",
		       de->d_name, "box", rec[n].box, NULL);
		snprintf(id[n], sizeof(id[n]), "%.*s", YG_SESSION_ID_LEN, de->d_name);
		n++;
	}
	closedir(d);
	for (size_t i = 0; i < n; i++)
		start_cleanup(&rec[i], id[i], status, pol, gate, lfd);
}

/* Every child is checked for records left behind: a killed one leaves
 * them, and so would one that exited past its own cleanup. */
static void reap(const struct yg_gd_gate *gate, yg_policy *pol, int lfd)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		yg_gd_clients_remove(pid);
		if (WIFSIGNALED(status)) {
			char p[16], sig[16];

			snprintf(p, sizeof(p), "%d", (int)pid);
			snprintf(sig, sizeof(sig), "%d", WTERMSIG(status));
			yg_log(YG_LOG_WARNING, "event", "child_killed", "pid", p, "signal", sig,
			       NULL);
		}
		forget_child(gate, pol, pid, status, lfd);
	}
}

/* Over its share ([gate] max_clients, max_clients_per_user): the client
 * hears why (an ERROR instead of HELLO, bounded in time), the log a line a
 * second at most, and no child is forked. */
static bool refuse(int fd, const struct yg_gd_gate *gate, uid_t uid)
{
	yg_msg m = { .type = YG_MSG_ERROR, .u.error.code = YG_ERR_BUSY };
	int r = yg_gd_clients_admit(gate, uid, m.u.error.text, sizeof(m.u.error.text));

	if (r == 0)
		return false;
	yg_gd_clients_log_refusal(uid, r);
	/* a new socket's buffer takes one small frame at once: never wait */
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == 0)
		(void)!yg_msg_send(fd, &m, 0);
	close(fd);
	return true;
}

static void accept_one(int lfd, yg_policy *pol, const struct yg_gd_gate *gate)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	char uid[16], pid[16];
	pid_t child;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		close(fd);
		return;
	}
	if (refuse(fd, gate, cred.uid))
		return;
	child = fork();
	if (child == 0) {
		close(lfd);
		close(sig_pipe[0]);
		close(sig_pipe[1]);
		enter_module("yg_gd_module_session",
			     &(struct yg_gd_entry){ .pol = pol, .gate = gate, .fd = fd,
						    .uid = cred.uid, .pid = cred.pid,
						    .confdir = conf_dir, .policy_gen = policy_gen });
	}
	snprintf(uid, sizeof(uid), "%u", (unsigned)cred.uid);
	snprintf(pid, sizeof(pid), "%d", (int)child);
	if (child < 0) {
		yg_log(YG_LOG_ERROR, "event", "fork_failed", "uid", uid,
		       "error", strerror(errno), NULL);
		yg_gd_send_error(fd, YG_ERR_INTERNAL, "the gate cannot start a process for "
				 "this connection (%s); try again in a moment", strerror(errno));
	} else {
		if (yg_gd_clients_add(child, cred.uid) < 0)	/* uncounted, not lost */
			yg_log(YG_LOG_ERROR, "event", "clients_table_full", "child", pid, NULL);
		yg_log(YG_LOG_DEBUG, "event", "accept", "uid", uid, "child", pid, NULL);
	}
	close(fd);
}

static int serve(int lfd, const char *confdir, yg_policy **pol, const struct yg_gd_gate *gate)
{
	struct pollfd pfd[2] = {
		{ .fd = lfd, .events = POLLIN },
		{ .fd = sig_pipe[0], .events = POLLIN },
	};
	unsigned char c;

	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			return -errno;
		while (read(sig_pipe[0], &c, 1) == 1) {
			if (c == SIGCHLD)
				reap(gate, *pol, lfd);
			else if (c == SIGHUP)
				reload(confdir, pol);
			else
				return 0;	/* SIGTERM, SIGINT */
		}
		if (pfd[0].revents & POLLIN)
			accept_one(lfd, *pol, gate);
	}
}

static int setup_signals(void)
{
	static const int sigs[] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT };
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	size_t i;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* SIGUSR1 is for session children (yolo-gatectl end); a stray one must
	 * not end the parent. Children set their own handler. */
	sigaction(SIGUSR1, &sa, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	struct yg_gd_opts o = { 0 };
	static struct yg_gd_gate gate;
	yg_policy *pol = NULL;
	char *diag = NULL;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	yg_err err = { 0 };
	bool activated;
	int lfd;

	close_inherited();
	if (getenv("YG_GATED_MODULE"))	/* a build tree's (tests) */
		snprintf(module_path, sizeof(module_path), "%s", getenv("YG_GATED_MODULE"));
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	yg_log_open("yolo-gated", o.log_stderr ? YG_LOG_STDERR : YG_LOG_SYSLOG,
		    o.debug ? YG_LOG_DEBUG : YG_LOG_INFO);
	if (yg_gd_policy_load(o.confdir, &pol, &diag) < 0) {
		fprintf(stderr, "%syolo-gated: the policy has errors (listed above); fix them "
			"and check with: yolo-gatectl check\n", diag ? diag : "");
		free(diag);
		return 1;
	}
	conf_dir = o.confdir;
	policy_gen = yg_gd_policy_gen_map();	/* NULL: children keep their policy */
	yg_gd_gate_get(pol, &gate);
	if (!o.debug)
		yg_log_set_level((enum yg_log_level)gate.log_level);
	if (o.socket)
		snprintf(gate.socket, sizeof(gate.socket), "%s", o.socket);
	if (geteuid() == 0 && !o.stay_root) {
		struct passwd *pw = getpwnam(gate.service_user);

		if (!pw) {
			fprintf(stderr, "yolo-gated: service user %s does not exist; create it "
				"(useradd --system %s) or set [gate] service_user\n",
				gate.service_user, gate.service_user);
			yg_gd_policy_free(pol);
			return 1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	lfd = activated_socket(&err);
	activated = lfd >= 0;
	if (lfd == -ENOENT)
		lfd = 0;	/* not socket-activated: bind below */
	if (lfd < 0 || open_module(&err) < 0 || setup_signals() < 0 ||
	    make_dirs(&gate, uid, gid, &err) < 0 ||
	    (!activated && (lfd = bind_socket(gate.socket, &err)) < 0) ||
	    (!o.stay_root && yg_caps_drop_to(gate.service_user, &err) < 0) ||
	    yg_nodump(&err) < 0) {
		fprintf(stderr, "yolo-gated: %s\n", err.msg[0] ? err.msg : strerror(errno));
		yg_gd_policy_free(pol);
		return 1;
	}
	yg_log(YG_LOG_INFO, "event", "started", "socket", gate.socket, "run_dir", gate.run_dir,
	       "user", o.stay_root ? "root (--stay-root)" : gate.service_user,
	       "activated", activated ? "yes" : "no", NULL);
	notify("READY=1");
	if (serve(lfd, o.confdir, &pol, &gate) < 0)
		yg_log(YG_LOG_ERROR, "event", "poll_failed", "error", strerror(errno), NULL);
	notify("STOPPING=1");
	if (!activated)		/* systemd owns an activated socket */
		unlink(gate.socket);
	close(lfd);
	yg_log(YG_LOG_INFO, "event", "stopped", NULL);
	yg_gd_policy_free(pol);
	return 0;
}
