/* SPDX-License-Identifier: MIT */
/* yg_time.h: the project's one clock. Durations and deadlines use the
 * monotonic clock in milliseconds; wall-clock seconds appear only in records
 * a human or another process reads (run_dir records, audit lines). */
#ifndef YG_TIME_H
#define YG_TIME_H

#include <stdint.h>

/* CLOCK_MONOTONIC in ms. */
uint64_t yg_now_ms(void);

/* Sleep ms milliseconds (restarted on EINTR). */
void yg_sleep_ms(unsigned long ms);

/* Milliseconds from now until deadline (a yg_now_ms value), at least 1 so
 * that a poll with an expired bound still reports data already there, at
 * most INT32_MAX; -1 for deadline 0 (no bound). */
int yg_ms_left(uint64_t deadline);

/* Wall-clock seconds of a monotonic time mono (ms), given now = yg_now_ms();
 * 0 stays 0 ("none"). */
long long yg_wall_of(uint64_t mono, uint64_t now);

#endif
