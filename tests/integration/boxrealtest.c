/* SPDX-License-Identifier: MIT */
/* boxrealtest: the box layer and guest agent against a real libvirtd + QEMU
 * box, made by tests/integration/box.sh and left PAUSED from its snapshot.
 *
 * Environment: YG_TEST_URI, YG_TEST_DOMAIN, YG_TEST_SNAPSHOT. Without them it
 * skips (77), or fails when CI=true. Prints timings in ms. Leaves the box
 * reverted (clean) on every exit path it controls. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "yg_agent.h"
#include "yg_box.h"
#include "yg_time.h"

#define KEYS_PATH "/run/yolo/keys.env"
#define NEWDIR "/run/yg-boxrealtest/sub"
#define CANARY "/tmp/canary"

static yg_box *box;
static yg_err err;
static int failures;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "boxrealtest:%d: FAIL: ", __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, " [%s]\n", err.msg);			\
		failures++;						\
		goto out;						\
	}								\
} while (0)

static void *event_loop(void *arg)
{
	(void)arg;
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			usleep(10000);
	return NULL;
}

/* exit code of: /bin/sh -c script yg arg (or -1 when exec failed) */
static int guest_sh(const char *script, const char *arg)
{
	const char *argv[] = { "/bin/sh", "-c", script, "yg", arg, NULL };
	int code = -1;

	if (yg_agent_exec(box, argv, 10000, &code, &err) < 0)
		return -1;
	return code;
}

/* 0 when clean; logs why not when want_clean */
static int check_clean(bool want_clean)
{
	char why[128];
	bool clean = false;

	if (yg_box_check_clean(box, &clean, why, sizeof(why), &err) < 0)
		return -1;
	if (!clean && want_clean)
		fprintf(stderr, "boxrealtest: box is not clean: %s\n", why);
	return clean ? 0 : -1;
}

static long long timed_resume_wait(const char *label)
{
	long long t0 = (long long)yg_now_ms(), t1;

	if (yg_box_resume(box, &err) < 0)
		return -1;
	t1 = (long long)yg_now_ms();
	if (yg_agent_wait(box, 10000, &err) < 0)
		return -1;
	printf("timing: %s resume_ms=%lld agent_wait_ms=%lld\n", label, t1 - t0, (long long)yg_now_ms() - t1);
	return 0;
}

/* Write the whole buffer to a non-blocking stream, bounded. */
static int stream_send_all(virStreamPtr st, const char *buf, size_t len, long long deadline)
{
	size_t off = 0;
	int n;

	while (off < len) {
		n = virStreamSend(st, buf + off, len - off);
		if (n == -2) {
			if ((long long)yg_now_ms() > deadline)
				return -ETIMEDOUT;
			usleep(5000);
			continue;
		}
		if (n < 0)
			return -EIO;
		off += (size_t)n;
	}
	return 0;
}

/* Type a command on the console and read until want appears (10 s). */
static int console_roundtrip(virStreamPtr st)
{
	char cmd[96], want[48], seen[8192];
	long long deadline = (long long)yg_now_ms() + 10000, resend = (long long)yg_now_ms() + 3000;
	size_t used = 0;
	unsigned int r;
	int n;

	srand((unsigned int)time(NULL) ^ (unsigned int)getpid());
	r = (unsigned int)rand() % 100000;
	/* the echoed command line shows "$((r+1))", only the output "hi-<r+1>" */
	snprintf(cmd, sizeof(cmd), "echo hi-$((%u+1))\r", r);
	snprintf(want, sizeof(want), "hi-%u", r + 1);
	if (stream_send_all(st, cmd, strlen(cmd), deadline) < 0)
		return -EIO;
	while ((long long)yg_now_ms() < deadline) {
		if (used >= sizeof(seen) - 1) {	/* keep the tail: want may straddle */
			memmove(seen, seen + used - 64, 64);
			used = 64;
		}
		n = virStreamRecv(st, seen + used, sizeof(seen) - 1 - used);
		if (n == -2) {
			if ((long long)yg_now_ms() > resend) {	/* shell may not have been ready */
				stream_send_all(st, cmd, strlen(cmd), deadline);
				resend = deadline;
			}
			usleep(10000);
			continue;
		}
		if (n <= 0)
			return -EIO;
		used += (size_t)n;
		seen[used] = '\0';
		if (memmem(seen, used, want, strlen(want)))
			return 0;
	}
	seen[used] = '\0';
	fprintf(stderr, "boxrealtest: console output so far: %s\n", seen);
	return -ETIMEDOUT;
}

static void test_keys(void)
{
	static const char secret[] = "YG_TEST_KEY=sk-boxrealtest-0123456789\nOTHER=x\n";
	char *back = NULL;
	size_t len = 0;
	long long t0;

	t0 = (long long)yg_now_ms();
	CHECK(yg_agent_write_file(box, KEYS_PATH, secret, sizeof(secret) - 1, &err) == 0,
	      "write " KEYS_PATH);
	printf("timing: write_file_ms=%lld\n", (long long)yg_now_ms() - t0);
	CHECK(yg_agent_read_file(box, KEYS_PATH, 4096, &back, &len, &err) == 0, "read back");
	CHECK(len == sizeof(secret) - 1 && memcmp(back, secret, len) == 0,
	      "read back %zu bytes, not the %zu written", len, sizeof(secret) - 1);
	CHECK(guest_sh("[ \"$(stat -c %a \"$1\")\" = 600 ]", KEYS_PATH) == 0,
	      KEYS_PATH " is not mode 0600");
	/* overwrite with shorter data: no stale tail */
	CHECK(yg_agent_write_file(box, KEYS_PATH, "A=1\n", 4, &err) == 0, "rewrite");
	free(back);
	back = NULL;
	CHECK(yg_agent_read_file(box, KEYS_PATH, 4096, &back, &len, &err) == 0 &&
	      len == 4 && memcmp(back, "A=1\n", 4) == 0, "rewrite read back");
	t0 = (long long)yg_now_ms();
	CHECK(yg_agent_wipe_file(box, KEYS_PATH, &err) == 0, "wipe " KEYS_PATH);
	printf("timing: wipe_file_ms=%lld\n", (long long)yg_now_ms() - t0);
	CHECK(guest_sh("[ ! -e \"$1\" ]", KEYS_PATH) == 0, KEYS_PATH " still exists after wipe");
	CHECK(yg_agent_wipe_file(box, KEYS_PATH, &err) == 0, "wipe of a missing file is success");
	/* missing parents are created 0700 */
	CHECK(yg_agent_write_file(box, NEWDIR "/k", "x", 1, &err) == 0, "write into a new dir");
	CHECK(guest_sh("[ \"$(stat -c %a \"$1\")\" = 700 ]", NEWDIR) == 0, NEWDIR " is not 0700");
	CHECK(guest_sh("[ \"$(stat -c %a \"$1\")\" = 700 ]", "/run/yg-boxrealtest") == 0,
	      "/run/yg-boxrealtest is not 0700");
	/* a 200 KiB file crosses several 48 KiB chunks */
	{
		size_t big = 200 * 1024, i;
		char *data = malloc(big);

		CHECK(data, "malloc");
		free(back);
		back = NULL;
		for (i = 0; i < big; i++)
			data[i] = (char)(i * 7 + 3);
		if (yg_agent_write_file(box, NEWDIR "/big", data, big, &err) < 0 ||
		    yg_agent_read_file(box, NEWDIR "/big", big + 10, &back, &len, &err) < 0 ||
		    len != big || memcmp(back, data, big) != 0) {
			free(data);
			CHECK(0, "200 KiB round trip");
		}
		free(data);
	}
	/* exec reports exit codes */
	CHECK(guest_sh("exit 7", "") == 7, "exit code 7 not reported");
	/* relative paths are refused */
	CHECK(yg_agent_write_file(box, "run/x", "x", 1, &err) == -EINVAL, "relative path accepted");
out:
	free(back);
}

int main(void)
{
	const char *uri = getenv("YG_TEST_URI"), *dom = getenv("YG_TEST_DOMAIN");
	const char *snap = getenv("YG_TEST_SNAPSHOT"), *ci = getenv("CI");
	virConnectPtr conn = NULL;
	virStreamPtr st = NULL;
	pthread_t th;
	long long t0;

	if (!uri || !dom || !snap) {
		fprintf(stderr, "boxrealtest: %s: YG_TEST_URI, YG_TEST_DOMAIN and YG_TEST_SNAPSHOT "
			"must name a real box (run it through tests/integration/box.sh)\n",
			ci && !strcmp(ci, "true") ? "FAIL" : "SKIP");
		return ci && !strcmp(ci, "true") ? 1 : 77;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (virEventRegisterDefaultImpl() < 0 ||
	    pthread_create(&th, NULL, event_loop, NULL) != 0) {
		fprintf(stderr, "boxrealtest: cannot start the libvirt event loop\n");
		return 1;
	}
	if (yg_conn_open(uri, &conn, &err) < 0 ||
	    yg_box_open(conn, dom, snap, "run: tests/integration/box.sh", &box, &err) < 0) {
		fprintf(stderr, "boxrealtest: FAIL: %s\n", err.msg);
		return 1;
	}
	CHECK(check_clean(true) == 0, "box is not clean at start");
	CHECK(timed_resume_wait("first") == 0, "resume + agent");
	CHECK(check_clean(false) < 0, "a running box claims to be clean");

	test_keys();
	if (failures)
		goto out;

	CHECK(yg_agent_write_file(box, CANARY, "dirty", 5, &err) == 0, "write " CANARY);
	t0 = (long long)yg_now_ms();
	CHECK(yg_box_revert(box, &err) == 0, "revert");
	printf("timing: revert_ms=%lld\n", (long long)yg_now_ms() - t0);
	CHECK(check_clean(true) == 0, "not clean after revert");
	CHECK(timed_resume_wait("after-revert") == 0, "resume + agent after revert");
	CHECK(guest_sh("[ ! -e \"$1\" ]", CANARY) == 0, CANARY " survived the revert");

	t0 = (long long)yg_now_ms();
	CHECK(yg_box_open_console(box, NULL, &st, &err) == 0, "open console");
	CHECK(console_roundtrip(st) == 0, "console round trip");
	printf("timing: console_roundtrip_ms=%lld\n", (long long)yg_now_ms() - t0);
out:
	if (st) {
		virStreamAbort(st);
		virStreamFree(st);
	}
	t0 = (long long)yg_now_ms();
	if (yg_box_revert(box, &err) < 0 || check_clean(true) < 0) {
		fprintf(stderr, "boxrealtest: FAIL: final revert: %s\n", err.msg);
		failures++;
	} else {
		printf("timing: final revert_ms=%lld\n", (long long)yg_now_ms() - t0);
	}
	yg_box_free(box);
	virConnectClose(conn);
	if (failures)
		return 1;
	printf("boxrealtest: PASS\n");
	return 0;
}
