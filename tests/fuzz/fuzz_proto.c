/* SPDX-License-Identifier: MIT */
/* fuzz_proto.c: the protocol frame reader and message decoder, on bytes as a
 * hostile client (or broker) would send them. Every frame decoded is encoded
 * again and must decode to the same message. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "yg_proto.h"
#include "fuzz_frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_frame(uint8_t type, const uint8_t *payload, size_t len, void *ctx)
{
	static yg_frame_out out;
	static yg_msg m, again;	/* ~33 KB each (RUN's command) */

	(void)ctx;
	if (yg_msg_decode(type, payload, len, &m) != 0)
		return;
	if (yg_msg_encode(&m, &out) != 0)
		abort();
	if (yg_msg_decode(out.buf[4], out.buf + 5, out.len - 5, &again) != 0)
		abort();
	if (again.type != m.type)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_frames(data, size, 97, one_frame, NULL);
	return 0;
}
