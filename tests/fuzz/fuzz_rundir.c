/* SPDX-License-Identifier: MIT */
/* fuzz_rundir.c: the run_dir record parsers (yg_rundir) on arbitrary bytes,
 * as a hostile process could leave them in run_dir. Parsing is canonical: a
 * record that parses formats back to exactly the same bytes (a version 1
 * session record: to the same as version 2, with host=local); every refusal
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
	char out[YG_RUNDIR_SESSION_MAX + 64], msg[64];
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
		static const char v1[] = "yg-session 1\n", v2[] = "yg-session 2\n",
				  host[] = "host=local\n";
		size_t hl = sizeof(v1) - 1, tl = sizeof(host) - 1;

		n = yg_rundir_session_format(&s, out, sizeof(out));
		if (n < 0)
			abort();
		if (s.version == 1) {	/* the same fields, header 2, then host=local */
			if (size < hl || memcmp(buf, v1, hl) != 0 || (size_t)n != size + tl ||
			    memcmp(out, v2, hl) != 0 || memcmp(out + hl, buf + hl, size - hl) != 0 ||
			    memcmp(out + size, host, tl) != 0)
				abort();
		} else if ((size_t)n != size || memcmp(out, buf, size) != 0) {
			abort();
		}
	} else if (!err.msg[0]) {
		abort();
	}
	err.msg[0] = '\0';
	{
		long long since;

		if (yg_rundir_host_parse(buf, size, &since, &err) == 0) {
			n = yg_rundir_host_format(since, out, sizeof(out));
			if (n < 0 || (size_t)n != size || memcmp(out, buf, size) != 0)
				abort();
		} else if (!err.msg[0] || since != 0) {
			abort();
		}
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
