/* SPDX-License-Identifier: MIT */
/* boxd.h: yolo-boxd, the guest end of the box channel (yg_chan.h).
 *
 * One process, one poll loop (boxd.c): the port to the host, the pipes or
 * pty of every command (boxd_exec.c), key files, the clock and console
 * wakes (boxd_keys.c). Every byte from the host is bounded: frames by the
 * reader (yg_frame_in), streams by YG_CHAN_STREAMS_MAX, what the host may
 * send on a stream by its credit window, what boxd queues for the host by
 * the output queue's size (a command's output is read only while the
 * stream has credit and the queue has room).
 */
#ifndef BOXD_H
#define BOXD_H

#include <stdbool.h>
#include <stddef.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "yg_chan.h"
#include "yg_proto.h"

#define BOXD_NAME        "yolo-boxd"
#define BOXD_PEER        "yolo-boxd " PACKAGE_VERSION
#define BOXD_OUTQ_CAP    (512u * 1024u)	/* frames queued for the host */
#define BOXD_CTL_ROOM    4096u		/* free queue space to handle one host frame */
#define BOXD_DATA_ROOM   (YG_CHAN_DATA_HDR + YG_CHAN_DATA_MAX + BOXD_CTL_ROOM)
#define BOXD_KILL_MS     2000u		/* SIGHUP, then SIGKILL this much later */
#define BOXD_GRAVES      256u		/* forgotten commands awaiting SIGKILL */
#define BOXD_PATH        "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"

/* One command (an open stream). Slot free when id == 0. */
struct boxd_stream {
	uint32_t id;
	pid_t pid;		/* process (and process group) id */
	bool reaped;
	int status;		/* wait status once reaped */
	bool pty;
	int in_fd;		/* stdin pipe or pty master; -1 when closed */
	int out_fd[2];		/* stdout, stderr (pty: [0] is the master) */
	bool in_eof;		/* the host closed stdin */
	uint8_t *inbuf;		/* stdin not yet written: ring of YG_CHAN_WINDOW */
	size_t in_head, in_len;
	yg_chan_credit in_cr;	/* host -> guest stdin */
	yg_chan_credit out_cr;	/* guest -> host stdout + stderr */
};

struct boxd_grave {
	pid_t pid;
	uint64_t deadline;	/* SIGKILL to the process group then */
};

enum boxd_link { LINK_IDLE, LINK_LIVE, LINK_DRAIN };
enum boxd_port_kind { PORT_VIRTIO, PORT_STREAM, PORT_LISTEN };

struct boxd {
	/* options */
	const char *port_path;
	const char *user;	/* default user of EXEC */
	bool verbose;
	/* the host */
	enum boxd_port_kind kind;
	int listen_fd;		/* PORT_LISTEN: the listening socket */
	int port;		/* the connection; -1 when none */
	enum boxd_link link;
	bool hello;		/* the host said HELLO on this connection */
	yg_frame_in *in;	/* locked: KEYS content passes through it */
	yg_chan_msg *msg;	/* the decoded frame (large) */
	uint8_t *outq;
	size_t out_off, out_len, out_frame_left;
	/* commands */
	struct boxd_stream streams[YG_CHAN_STREAMS_MAX];
	unsigned nstreams;
	struct boxd_grave graves[BOXD_GRAVES];
	unsigned ngraves;
	int sig_pipe[2];	/* SIGCHLD self-pipe */
};

/* boxd.c */
extern bool boxd_use_syslog;
extern volatile sig_atomic_t boxd_stop_signal;
int boxd_run(struct boxd *b);
void boxd_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define boxd_debug(b, ...) do { if ((b)->verbose) boxd_log(7, __VA_ARGS__); } while (0)
size_t boxd_outq_room(const struct boxd *b);
/* Queue one message for the host. -ENOBUFS: no room (a bug: callers check
 * the room first); -EINVAL: it did not encode. */
int boxd_send(struct boxd *b, const yg_chan_msg *m);
int boxd_send_failed(struct boxd *b, uint32_t stream, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int boxd_send_ok(struct boxd *b, uint32_t stream);
/* Where the next DATA frame goes: YG_CHAN_DATA_HDR + YG_CHAN_DATA_MAX bytes. */
uint8_t *boxd_outq_tail(struct boxd *b, size_t need);
void boxd_outq_commit(struct boxd *b, size_t len);

/* boxd_exec.c: returns 0, or -EPROTO for a protocol error of the host,
 * with boxd_proto_why saying which (boxd_proto sets it) */
extern const char *boxd_proto_why;
int boxd_proto(const char *why);
int boxd_exec(struct boxd *b, const yg_chan_msg *m);
int boxd_stream_msg(struct boxd *b, const yg_chan_msg *m);
struct boxd_stream *boxd_stream_find(struct boxd *b, uint32_t id);
/* SIGHUP every command, forget them (SIGKILL BOXD_KILL_MS later). */
void boxd_streams_reset(struct boxd *b);
/* poll set: fds of every stream, and the work after poll */
size_t boxd_streams_pollfds(struct boxd *b, struct pollfd *p, size_t cap);
void boxd_streams_io(struct boxd *b, const struct pollfd *p, size_t n);
void boxd_reap(struct boxd *b);
/* ms until the next grave's deadline, -1 for none */
int boxd_graves_timeout(const struct boxd *b);

/* boxd_keys.c */
int boxd_keys_init(void);
int boxd_keys(struct boxd *b, const yg_chan_msg *m);
int boxd_wipe(struct boxd *b, const yg_chan_msg *m);
int boxd_clock(struct boxd *b, const yg_chan_msg *m);
/* WAKE: write "\r\n" to a console tty (the path rule is boxd_keys.c's);
 * CONSIZE: only set its window size. */
int boxd_wake(struct boxd *b, const yg_chan_msg *m);
void boxd_keys_forget(void);
/* The NAME=value lines of the last key file, NULL-terminated. */
const char *const *boxd_keys_env(void);

void boxd_bzero(void *p, size_t n);

#endif
