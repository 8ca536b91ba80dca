/* SPDX-License-Identifier: MIT */
/* boxd_main.c: yolo-boxd's options, signals, and the port: the virtio port
 * named org.yologate.boxd.0 (its udev link, else found by name in
 * /sys/class/virtio-ports), or --port PATH, or --fd N for tests.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "boxd.h"
#include "boxd_spawn.h"
#include "yg_time.h"

static int sig_wfd = -1;

static void on_signal(int sig)
{
	int saved = errno;

	if (sig != SIGCHLD)
		boxd_stop_signal = sig;
	if (sig_wfd >= 0)
		(void)!write(sig_wfd, "", 1);
	errno = saved;
}

/* ---- finding and opening the port ---- */

static int find_port(char *path, size_t cap)
{
	static const char sys[] = "/sys/class/virtio-ports";
	struct dirent *e;
	DIR *d;
	int found = -ENOENT;

	if (access("/dev/virtio-ports/" YG_CHAN_PORT, F_OK) == 0) {
		snprintf(path, cap, "/dev/virtio-ports/%s", YG_CHAN_PORT);
		return 0;
	}
	d = opendir(sys);
	if (!d)
		return -ENOENT;
	while (found < 0 && (e = readdir(d))) {
		char f[PATH_MAX], name[128] = "";
		FILE *fp;

		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s/name", sys, e->d_name);
		fp = fopen(f, "re");
		if (!fp)
			continue;
		if (fgets(name, sizeof(name), fp))
			name[strcspn(name, "\n")] = '\0';
		fclose(fp);
		if (strcmp(name, YG_CHAN_PORT) == 0) {
			snprintf(path, cap, "/dev/%s", e->d_name);
			found = 0;
		}
	}
	closedir(d);
	return found;
}

static int open_port(struct boxd *b)
{
	char path[PATH_MAX];
	bool told = false;
	int fd;

	for (;;) {
		if (b->port_path)
			snprintf(path, sizeof(path), "%s", b->port_path);
		if (b->port_path || find_port(path, sizeof(path)) == 0) {
			fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
			if (fd >= 0)
				break;
			if (b->port_path || errno != ENOENT) {
				boxd_log(LOG_ERR, "cannot open the port %s: %s", path, strerror(errno));
				return -errno;
			}
		}
		if (!told)
			boxd_log(LOG_WARNING, "no virtio port named %s yet; waiting for it "
				 "(the domain needs <channel type='unix'><target type='virtio' "
				 "name='%s'/></channel>)", YG_CHAN_PORT, YG_CHAN_PORT);
		told = true;
		yg_sleep_ms(1000);
	}
	boxd_log(LOG_INFO, "serving the host on %s", path);
	b->kind = PORT_VIRTIO;
	b->port = fd;
	b->link = LINK_IDLE;
	return 0;
}

static int use_fd(struct boxd *b, int fd)
{
	struct stat st;
	int listening = 0;
	socklen_t sl = sizeof(listening);

	if (fstat(fd, &st) < 0) {
		boxd_log(LOG_ERR, "--fd %d is not open: %s", fd, strerror(errno));
		return -EBADF;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (S_ISSOCK(st.st_mode) && getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &sl) == 0 &&
	    listening) {
		b->kind = PORT_LISTEN;
		b->listen_fd = fd;
		b->link = LINK_IDLE;
	} else {
		b->kind = S_ISCHR(st.st_mode) ? PORT_VIRTIO : PORT_STREAM;
		b->port = fd;
		b->link = b->kind == PORT_VIRTIO ? LINK_IDLE : LINK_LIVE;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: " BOXD_NAME " [--port PATH | --fd N] [--user NAME] [--foreground] [-v]\n"
		"The guest daemon of yolo-gate's box channel (see yolo-boxd(8)).\n");
}

static int setup(struct boxd *b)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART | SA_NOCLDSTOP };

	b->in = mmap(NULL, sizeof(*b->in), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b->msg = malloc(sizeof(*b->msg));
	b->outq = malloc(BOXD_OUTQ_CAP);
	if (b->in == MAP_FAILED || !b->msg || !b->outq) {
		boxd_log(LOG_ERR, "out of memory");
		return -ENOMEM;
	}
	/* key files pass through the frame reader: keep it out of swap */
	if (mlock(b->in, sizeof(*b->in)) < 0)
		boxd_log(LOG_WARNING, "cannot lock the frame buffer in memory: %s", strerror(errno));
	(void)madvise(b->in, sizeof(*b->in), MADV_DONTDUMP);
	if (boxd_keys_init() < 0)
		return -ENOMEM;
	(void)prctl(PR_SET_DUMPABLE, 0);
	if (pipe2(b->sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		boxd_log(LOG_ERR, "pipe2 failed: %s", strerror(errno));
		return -errno;
	}
	sig_wfd = b->sig_pipe[1];
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "fd", required_argument, NULL, 'f' },
		{ "user", required_argument, NULL, 'u' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct boxd box = { .port = -1, .listen_fd = -1 };
	struct boxd *b = &box;
	bool foreground = false;
	long fd = -1;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case 'p': b->port_path = optarg; break;
		case 'u': b->user = optarg; break;
		case 'F': foreground = true; break;
		case 'v': b->verbose = true; break;
		case 'f':
			errno = 0;
			fd = strtol(optarg, &end, 10);
			if (errno || *end || fd < 0 || fd > INT_MAX) {
				fprintf(stderr, BOXD_NAME ": --fd %s is not a file descriptor number\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		case 'V': puts(BOXD_PEER); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (fd >= 0 && b->port_path)) {
		usage(stderr);
		return 2;
	}
	if (strlen(b->user ? b->user : "") > YG_NAME_MAX) {
		fprintf(stderr, BOXD_NAME ": --user: a name of at most %u bytes\n", YG_NAME_MAX);
		return 2;
	}
	if (!b->user)
		b->user = getpwnam("agent") ? "agent" : "root";
	/* a systemd service (Type=simple) is in the foreground already */
	if (getenv("INVOCATION_ID"))
		foreground = true;
	if (!foreground) {
		if (daemon(0, 0) < 0) {
			fprintf(stderr, BOXD_NAME ": cannot become a daemon: %s\n", strerror(errno));
			return 1;
		}
		openlog(BOXD_NAME, LOG_PID, LOG_DAEMON);
		boxd_use_syslog = true;
	}
	if (setup(b) < 0)
		return 1;
	/* Look the default user up once now: the NSS modules and the passwd
	 * file are then in memory when the box's snapshot is taken, and the
	 * KEYS of every login after a revert does not load them again (tens of
	 * ms under TCG). */
	{
		struct boxd_user u;

		(void)boxd_user(b->user, &u);
	}
	if ((fd >= 0 ? use_fd(b, (int)fd) : open_port(b)) < 0)
		return 1;
	boxd_log(LOG_INFO, "%s ready; commands run as '%s' unless the host names a user",
		 BOXD_PEER, b->user);
	return boxd_run(b);
}
