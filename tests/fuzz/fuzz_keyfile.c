/* SPDX-License-Identifier: MIT */
/* fuzz_keyfile.c: the key file parser on arbitrary bytes (an admin's typo or
 * a hostile file). A parse that succeeds must yield valid names only. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "yg_keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	yg_keyfile kf;
	yg_err err;

	memset(&kf, 0, sizeof(kf));
	if (yg_keyfile_parse("fuzz.env", (const char *)data, size, &kf, &err) == 0) {
		for (size_t i = 0; i < kf.nnames; i++) {
			const char *n = kf.names[i];

			if (!n[0] || strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789") != strlen(n))
				abort();
			if (n[0] >= '0' && n[0] <= '9')
				abort();
		}
		if (kf.len > 0 && memchr(kf.buf, '\0', kf.len))
			abort();
	} else if (err.msg[0] == '\0') {
		abort();	/* every refusal says why */
	}
	yg_keyfile_clear(&kf);
	return 0;
}
