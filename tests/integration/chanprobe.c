/* SPDX-License-Identifier: MIT */
/* chanprobe.c: a test tool that talks to a box's yolo-boxd the way the
 * broker does, through libvirt's virDomainOpenChannel on the port
 * org.yologate.boxd.0, with a blocking stream and the channel codec.
 *
 *   chanprobe URI DOMAIN COMMAND [N]
 *
 * Sends HELLO, runs COMMAND (/bin/sh -c) and prints "stdout: ...",
 * "stderr: ..." and "exited: HOW VALUE"; then, with N, runs `true` N times
 * and prints "rtt_ms: p50 MS min MS max MS" (EXEC sent to EXITED read).
 * Exit status 0 when it all went through, 1 otherwise; 90 s at most.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "yg_chan.h"
#include "yg_proto.h"

static virStreamPtr st;
static yg_frame_in in;
static yg_chan_msg m;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static ssize_t st_read(void *ctx, void *buf, size_t len)
{
	int n;

	(void)ctx;
	n = virStreamRecv(st, buf, len);
	return n < 0 ? -EIO : n;
}

static int send_msg(const yg_chan_msg *msg)
{
	static uint8_t buf[4 + YG_FRAME_MAX];
	size_t len, off = 0;

	if (yg_chan_encode(msg, buf, sizeof(buf), &len) < 0)
		return -1;
	while (off < len) {
		int n = virStreamSend(st, (const char *)buf + off, len - off);

		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static int recv_msg(void)
{
	for (;;) {
		const uint8_t *payload;
		size_t len;
		uint8_t type;
		int r = yg_frame_next(&in, &type, &payload, &len);
		ssize_t n;

		if (r < 0)
			return -1;
		if (r == 1)
			return yg_chan_decode(type, payload, len, &m) < 0 ? -1 : 0;
		n = yg_frame_in_read(&in, st_read, NULL);
		if (n <= 0) {
			fprintf(stderr, "chanprobe: the channel closed (%zd)\n", n);
			return -1;
		}
	}
}

/* Run cmd on stream id; print its output when verbose. 0, or -1. */
static int run(uint32_t id, const char *cmd, bool verbose, int *how, int *value)
{
	static yg_chan_msg e;

	memset(&e, 0, sizeof(e));
	e.type = YG_CHAN_MSG_EXEC;
	e.stream = id;
	e.u.exec.argc = 3;
	e.u.exec.argv[0] = "/bin/sh";
	e.u.exec.argv[1] = "-c";
	e.u.exec.argv[2] = cmd;
	if (send_msg(&e) < 0)
		return -1;
	for (;;) {
		if (recv_msg() < 0)
			return -1;
		if (m.stream != id)
			continue;
		switch (m.type) {
		case YG_CHAN_MSG_DATA:
			if (verbose)
				printf("%s: %.*s", m.u.data.fd == 1 ? "stdout" : "stderr",
				       (int)m.u.data.len, (const char *)m.u.data.bytes);
			break;
		case YG_CHAN_MSG_EXITED:
			*how = m.u.exited.how;
			*value = m.u.exited.value;
			if (verbose)
				printf("exited: %d %d\n", *how, *value);
			return 0;
		case YG_CHAN_MSG_FAILED:
			fprintf(stderr, "chanprobe: FAILED %u: %s\n", m.u.failed.code, m.u.failed.text);
			return -1;
		default:
			break;
		}
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static double rtt[1000];
	yg_chan_msg hello = { .type = YG_CHAN_MSG_HELLO };
	virConnectPtr conn;
	virDomainPtr dom;
	int how = -1, value = -1, n = argc > 4 ? atoi(argv[4]) : 0;

	if (argc < 4 || n < 0 || n > 1000) {
		fprintf(stderr, "usage: chanprobe URI DOMAIN COMMAND [N<=1000]\n");
		return 2;
	}
	alarm(90);
	conn = virConnectOpen(argv[1]);
	dom = conn ? virDomainLookupByName(conn, argv[2]) : NULL;
	st = conn ? virStreamNew(conn, 0) : NULL;
	if (!dom || !st ||
	    virDomainOpenChannel(dom, YG_CHAN_PORT, st, VIR_DOMAIN_CHANNEL_FORCE) < 0) {
		fprintf(stderr, "chanprobe: cannot open channel %s of %s: %s\n", YG_CHAN_PORT,
			argv[2], virGetLastErrorMessage());
		return 1;
	}
	yg_frame_in_init(&in);
	hello.u.hello.version = YG_CHAN_VERSION;
	strcpy(hello.u.hello.peer, "chanprobe");
	if (send_msg(&hello) < 0 || recv_msg() < 0 || m.type != YG_CHAN_MSG_HELLO) {
		fprintf(stderr, "chanprobe: no HELLO from yolo-boxd\n");
		return 1;
	}
	printf("hello: %s features %#x\n", m.u.hello.peer, m.u.hello.features);
	if (run(1, argv[3], true, &how, &value) < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		double t0 = now_ms();
		int h, v;

		if (run(2 + (uint32_t)i, "true", false, &h, &v) < 0 || h != 0 || v != 0)
			return 1;
		rtt[i] = now_ms() - t0;
	}
	if (n) {
		qsort(rtt, (size_t)n, sizeof(rtt[0]), cmp);
		printf("rtt_ms: p50 %.2f min %.2f max %.2f n %d\n", rtt[n / 2], rtt[0], rtt[n - 1], n);
	}
	virStreamFinish(st);
	virStreamFree(st);
	virDomainFree(dom);
	virConnectClose(conn);
	return how == 0 && value == 0 ? 0 : 1;
}
