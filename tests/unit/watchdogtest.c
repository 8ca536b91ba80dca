/* SPDX-License-Identifier: MIT */
/* watchdogtest: yg_watchdog ends a process whose call outlived its bound,
 * spares one that disarmed in time, and turns yg_watchdog_final (from a
 * signal handler) into a deadline that no disarm lifts. Each case runs in a
 * forked child: the watchdog ends the whole process. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "yg_time.h"
#include "yg_watchdog.h"

static int hook_w = -1;

/* Writes "C what secs" or "F secs" to the pipe the parent reads. */
static void hook(enum yg_watchdog_why why, const char *what, unsigned secs, void *opaque)
{
	char line[300];
	int n;

	n = snprintf(line, sizeof(line), "%s %s %u%s", why == YG_WATCHDOG_CALL ? "C" : "F",
		     what[0] ? what : "-", secs, opaque == &hook_w ? "" : " (bad opaque)");
	(void)!write(hook_w, line, (size_t)n);
}

static void on_term(int sig)
{
	(void)sig;
	yg_watchdog_final();
}

struct run {
	int status;		/* waitpid's */
	long ms;		/* fork to exit */
	char said[300];		/* what the hook wrote, "" = nothing */
};

/* Fork, run fn in the child (its return value is the exit status), wait. */
static void run_child(int (*fn)(void), struct run *r)
{
	uint64_t t0 = yg_now_ms();
	int p[2];
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		hook_w = p[1];
		_exit(fn());
	}
	close(p[1]);
	n = read(p[0], r->said, sizeof(r->said) - 1);
	r->said[n > 0 ? n : 0] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &r->status, 0), pid);
	r->ms = (long)(yg_now_ms() - t0);
}

static int child_stuck(void)
{
	if (yg_watchdog_start(60000, hook, &hook_w, NULL) < 0)
		return 3;
	yg_watchdog_arm(300, "connecting to %s", "nowhere");
	sleep(10);		/* a call that never returns */
	return 0;
}

static void test_call_bound(void **state)
{
	struct run r;

	(void)state;
	run_child(child_stuck, &r);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_string_equal(r.said, "C connecting to nowhere 1");
	assert_true(r.ms >= 300);
	assert_true(r.ms < 3000);
}

/* Calls in time, a later arm that is earlier than the thread's target,
 * and no hook when nothing outlives its bound. */
static int child_in_time(void)
{
	if (yg_watchdog_start(60000, hook, &hook_w, NULL) < 0)
		return 3;
	for (int i = 0; i < 3; i++) {
		yg_watchdog_arm(400, "call %d", i);
		yg_sleep_ms(150);
		yg_watchdog_disarm();
	}
	yg_watchdog_arm(5000, "long");
	yg_watchdog_disarm();
	yg_watchdog_arm(100, "short");	/* earlier than the thread's 5 s target */
	yg_sleep_ms(2000);
	return 0;
}

static void test_disarm_and_earlier(void **state)
{
	struct run r;

	(void)state;
	run_child(child_in_time, &r);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_string_equal(r.said, "C short 1");
	assert_true(r.ms >= 550);	/* 3 x 150 ms + 100 ms */
	assert_true(r.ms < 1800);	/* the short bound, not the sleep */
}

static int child_disarmed(void)
{
	if (yg_watchdog_start(60000, hook, &hook_w, NULL) < 0)
		return 3;
	yg_watchdog_arm(200, "quick");
	yg_watchdog_disarm();
	yg_sleep_ms(500);
	return 7;
}

static void test_disarmed_lives(void **state)
{
	struct run r;

	(void)state;
	run_child(child_disarmed, &r);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 7);
	assert_string_equal(r.said, "");
}

/* SIGTERM -> yg_watchdog_final: 300 ms later the process ends, although
 * calls are armed and disarmed meanwhile; a second final changes nothing. */
static int child_final(void)
{
	struct sigaction sa = { .sa_handler = on_term };

	if (yg_watchdog_start(300, hook, &hook_w, NULL) < 0)
		return 3;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	raise(SIGTERM);
	for (int i = 0; i < 40; i++) {
		yg_watchdog_arm(10000, "call %d", i);
		yg_sleep_ms(50);
		yg_watchdog_disarm();
		if (i == 3)
			raise(SIGTERM);
	}
	return 0;
}

static void test_final(void **state)
{
	struct run r;

	(void)state;
	run_child(child_final, &r);
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 1);
	assert_string_equal(r.said, "F - 1");
	assert_true(r.ms >= 300);
	assert_true(r.ms < 1500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_call_bound),
		cmocka_unit_test(test_disarm_and_earlier),
		cmocka_unit_test(test_disarmed_lives),
		cmocka_unit_test(test_final),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
