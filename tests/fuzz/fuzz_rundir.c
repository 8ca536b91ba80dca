/* SPDX-License-Identifier: MIT */
/* fuzz_rundir.c: the run_dir record parsers (yg_rundir) on arbitrary bytes,
 * as a hostile process could leave them in run_dir. Parsing is canonical: a
 * record that parses formats back to exactly the same bytes; every refusal
 * says why; an end message never keeps a control character. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "yg_rundir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct yg_rundir_session s;
	struct yg_rundir_lock l;
	char out[YG_RUNDIR_SESSION_MAX + 1], msg[64];
	yg_err err;
	int n;

	err.msg[0] = '\0';
	if (yg_rundir_lock_parse(buf, size, &l, &err) == 0) {
		n = yg_rundir_lock_format(&l, out, sizeof(out));
		if (n < 0 || (size_t)n != size || memcmp(out, buf, size) != 0)
			abort();
	} else if (!err.msg[0]) {
		abort();
	}
	err.msg[0] = '\0';
	if (yg_rundir_session_parse(buf, size, &s, &err) == 0) {
		n = yg_rundir_session_format(&s, out, sizeof(out));
		if (n < 0 || (size_t)n != size || memcmp(out, buf, size) != 0)
			abort();
	} else if (!err.msg[0]) {
		abort();
	}
	err.msg[0] = '\0';
	if (yg_rundir_end_parse(buf, size, msg, sizeof(msg), &err) == 0) {
		for (const char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
	} else if (!err.msg[0] || msg[0]) {
		abort();
	}
	return 0;
}
