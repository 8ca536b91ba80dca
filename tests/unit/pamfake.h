/* SPDX-License-Identifier: MIT */
/* pamfake.h: a scripted stand-in for yolo-gated, for the PAM module's tests.
 *
 * It listens on a unix socket in a thread; each accepted connection gets the
 * next step of the script: answer HELLO, read one request (recorded), then
 * send the step's reply, stay silent until the client hangs up, or hang up.
 */
#ifndef YG_PAMFAKE_H
#define YG_PAMFAKE_H

#include <pthread.h>

#include "yg_proto.h"

#define YG_FAKE_MAX_STEPS 8

enum yg_fake_action { YG_FAKE_REPLY, YG_FAKE_SILENT, YG_FAKE_HANGUP };

typedef struct yg_fake_step {
	enum yg_fake_action action;
	yg_msg reply;
} yg_fake_step;

typedef struct yg_fake {
	char path[108];
	int lfd;
	pthread_t thread;
	pthread_mutex_t lock;
	yg_fake_step steps[YG_FAKE_MAX_STEPS];
	int nsteps;
	int nconn;				/* connections accepted */
	yg_msg req[YG_FAKE_MAX_STEPS];		/* request seen on each */
} yg_fake;

/* Listen on path (removed first) and start serving. Returns 0 or -errno. */
int yg_fake_start(yg_fake *f, const char *path);
/* Stop the thread, close and unlink the socket. */
void yg_fake_stop(yg_fake *f);
/* Replace the script and forget recorded requests. */
void yg_fake_script(yg_fake *f, const yg_fake_step *steps, int n);
/* Connections served so far; req (if not NULL) gets a copy of request i. */
int yg_fake_seen(yg_fake *f, int i, yg_msg *req);

/* Reply builders. */
yg_fake_step yg_fake_policy(int gated, int enabled, const char *text);
yg_fake_step yg_fake_error(uint32_t code, const char *text);
yg_fake_step yg_fake_session(const char *id);
yg_fake_step yg_fake_exit(uint32_t status, const char *reason);

#endif
