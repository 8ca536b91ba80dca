/* SPDX-License-Identifier: MIT */
/* fuzz_frames.h: the frame reader both wire protocols share, fed as a
 * hostile peer would: data in uneven slices (a slice's size comes from its
 * first byte, mod `slices`), so frames arrive whole, split or several at
 * once. fn gets each whole frame; a bad frame length ends the input, as it
 * ends a connection. */
#ifndef YG_FUZZ_FRAMES_H
#define YG_FUZZ_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "yg_proto.h"

typedef void (*fuzz_frame_fn)(uint8_t type, const uint8_t *payload, size_t len, void *ctx);

static inline void fuzz_frames(const uint8_t *data, size_t size, unsigned slices,
			       fuzz_frame_fn fn, void *ctx)
{
	static yg_frame_in in;
	const uint8_t *payload;
	uint8_t type;
	size_t len;
	int r = 0;

	yg_frame_in_init(&in);
	while (size > 0 && r >= 0) {
		size_t chunk = size < 7 ? size : (size_t)(data[0] % slices) + 1;

		if (chunk > size)
			chunk = size;
		if (yg_frame_in_feed(&in, data, chunk) != 0)
			return;
		data += chunk;
		size -= chunk;
		while ((r = yg_frame_next(&in, &type, &payload, &len)) == 1)
			fn(type, payload, len, ctx);
	}
}

#endif
