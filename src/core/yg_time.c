/* SPDX-License-Identifier: MIT */
/* yg_time.c: see yg_time.h */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "yg_time.h"

uint64_t yg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void yg_sleep_ms(unsigned long ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int yg_ms_left(uint64_t deadline)
{
	uint64_t now = yg_now_ms();

	if (!deadline)
		return -1;
	if (deadline <= now)
		return 1;
	return deadline - now > (uint64_t)INT32_MAX ? INT32_MAX : (int)(deadline - now);
}

long long yg_wall_of(uint64_t mono, uint64_t now)
{
	if (!mono)
		return 0;
	return (long long)time(NULL) + ((long long)mono - (long long)now) / 1000;
}
