/* SPDX-License-Identifier: MIT */
/* fuzz_proto.c: the protocol frame reader and message decoder, on bytes as a
 * hostile client (or broker) would send them. Every frame decoded is encoded
 * again and must decode to the same message. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "yg_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static yg_frame_in in;
	static yg_frame_out out;
	uint8_t type;
	const uint8_t *payload;
	size_t len;
	yg_msg m, again;

	yg_frame_in_init(&in);
	while (size > 0) {
		/* Feed in uneven slices to exercise partial frames. */
		size_t chunk = size < 7 ? size : (size_t)(data[0] % 97) + 1;
		int r;

		if (chunk > size)
			chunk = size;
		if (yg_frame_in_feed(&in, data, chunk) != 0)
			return 0;
		data += chunk;
		size -= chunk;
		while ((r = yg_frame_next(&in, &type, &payload, &len)) == 1) {
			if (yg_msg_decode(type, payload, len, &m) != 0)
				continue;
			if (yg_msg_encode(&m, &out) != 0)
				abort();
			if (yg_msg_decode(out.buf[4], out.buf + 5, out.len - 5, &again) != 0)
				abort();
			if (again.type != m.type)
				abort();
		}
		if (r < 0)
			return 0;
	}
	return 0;
}
