/* SPDX-License-Identifier: MIT */
/* fuzz_chan.c: the box channel decoder on bytes as a hostile guest (or a
 * confused host) would send them, through the frame reader both protocols
 * share. A frame that decodes must encode again to the very same bytes (the
 * encoding is canonical), and a DATA must be one the credit accounting can
 * take or refuse without harm. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "yg_chan.h"
#include "fuzz_frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_frame(uint8_t type, const uint8_t *payload, size_t len, void *ctx)
{
	static yg_frame_out out;
	static yg_chan_msg m;
	yg_chan_credit *credit = ctx;

	if (yg_chan_decode(type, payload, len, &m) != 0)
		return;
	if (yg_chan_encode_frame(&m, &out) != 0)
		abort();
	if (out.len != 5 + len || out.buf[4] != type || memcmp(out.buf + 5, payload, len) != 0)
		abort();
	if (type == YG_CHAN_MSG_DATA && !yg_chan_credit_take(credit, m.u.data.len))
		(void)yg_chan_credit_passed(credit, YG_CHAN_WINDOW);
	if (type == YG_CHAN_MSG_WINDOW)
		(void)yg_chan_credit_give(credit, m.u.window.bytes);
	if (yg_chan_credit_room(credit) > YG_CHAN_WINDOW)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	yg_chan_credit credit;

	yg_chan_credit_init(&credit);
	fuzz_frames(data, size, 251, one_frame, &credit);
	return 0;
}
