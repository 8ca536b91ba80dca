/* SPDX-License-Identifier: MIT */
/* boxdrig.h: the host side of the box channel for tests: a real yolo-boxd
 * on a socket (--fd), driven with the codec (boxdrig.c). */
#ifndef BOXDRIG_H
#define BOXDRIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "yg_chan.h"
#include "yg_proto.h"

#define TIMEOUT_MS 10000

struct boxd_host {
	int fd;			/* the host's end */
	pid_t pid;		/* yolo-boxd */
	char sock[108];		/* listening mode: the socket's path */
	yg_frame_in in;
	yg_chan_msg m;
	yg_chan_msg out;
};
extern struct boxd_host H;
extern uint8_t outbuf[8u << 20];	/* stdout of run_simple, NUL-terminated */

/* One command from EXEC to EXITED (or FAILED). */
struct run {
	uint8_t flags;
	const char *cmd;
	const uint8_t *in;
	size_t in_len;
	bool eof;		/* send EOF after in */
	bool slow;		/* grant credit only once boxd used all of it */
	int signo;		/* send this SIGNAL after STARTED */
	uint32_t resize;	/* rows << 16 | cols: RESIZE, then in, once stdout has hold_until */
	const char *hold_until;
	uint8_t *out;
	size_t out_cap, out_len;
	char err[8192];
	size_t err_len;
	pid_t pid;
	int how, value;		/* EXITED; how = -1: FAILED */
	uint32_t code;
	char text[YG_TEXT_MAX + 1];
	bool eof_seen[3];
	unsigned stalls;	/* slow: times boxd stopped at exactly its credit */
};

const char *boxd_bin(void);
const char *me(void);			/* the current user's name */
void boxd_start(bool listening);	/* listening: a unix socket, see host_connect */
void host_connect(void);
void boxd_stop(void);
void send_raw(const void *p, size_t len);
void host_send(const yg_chan_msg *m);
int host_recv(yg_chan_msg *m, int timeout_ms);	/* 0, -ETIMEDOUT, -ECONNRESET */
void host_hello(void);
void exec_send(uint32_t stream, uint8_t flags, const char *cmd);	/* /bin/sh -c cmd */
void send_small(uint8_t type, uint32_t stream, uint32_t v);
void send_data(uint32_t stream, const void *p, size_t len);
void run_cmd(uint32_t stream, struct run *r);
void run_simple(uint32_t stream, const char *cmd, struct run *r);
bool gone_within(pid_t pid, unsigned ms);
pid_t start_one(uint32_t stream, const char *cmd);	/* STARTED's pid */
int setup(void **state);		/* boxd on a socketpair, HELLO done */
int teardown(void **state);

#endif
