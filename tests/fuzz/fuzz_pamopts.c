/* SPDX-License-Identifier: MIT */
/* fuzz_pamopts.c: the PAM module's argument parser (pam.d lines are written
 * by admins, and a typo must give a clear error, never a crash). The input is
 * split on newlines into argv. A parse that succeeds must leave a socket path
 * that is absolute and fits sun_path, and a timeout within its bounds. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pam_options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_unknown(void *ctx, const char *arg)
{
	(void)arg;
	(*(unsigned *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *argv[64];
	char *text = malloc(size + 1);
	yg_pam_opts o;
	yg_err err;
	unsigned unknown = 0;
	int argc = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *p = text, *nl; p && argc < 64; p = nl) {
		nl = strchr(p, '\n');
		if (nl)
			*nl++ = '\0';
		argv[argc++] = p;
	}
	yg_err_clear(&err);
	if (yg_pam_opts_parse(argc, argv, &o, &err, count_unknown, &unknown) == 0) {
		if (o.socket[0] != '/' || strlen(o.socket) > YG_PAM_SOCKET_MAX)
			abort();
		if (o.timeout_ms < 0 || o.timeout_ms > YG_PAM_TIMEOUT_MAX_MS)
			abort();
	} else if (err.msg[0] == '\0') {
		abort();	/* a refusal says which option is wrong */
	}
	free(text);
	return 0;
}
