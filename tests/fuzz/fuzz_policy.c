/* SPDX-License-Identifier: MIT */
/* fuzz_policy.c: the policy loader on arbitrary gate.conf contents, through
 * the same path the broker uses (open, trust checks, scanner, iniparser
 * cross-check, validation). Every refusal must carry at least one message;
 * a loaded policy must answer for a user without crashing. */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "yg_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char path[96];

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/ygfuzzXXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(dir) || chmod(dir, 0755) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/gate.conf", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const groups[] = { "lab", "wheel" };
	yg_policy *pol = NULL;
	yg_diags diags = { 0 };
	yg_user_policy up;
	int fd;

	if (!dir[0])
		setup();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0644);
	if (fd < 0 || fchmod(fd, 0644) != 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);

	if (yg_policy_load(dir, &pol, &diags) == 0) {
		memset(&up, 0, sizeof(up));
		if (yg_policy_for_user(pol, "alice", 1000, groups, 2, &up, &diags) == 0)
			(void)yg_policy_may_enter(pol, &up, "yolo-bob", groups, 2);
		yg_user_policy_clear(&up);
		yg_policy_free(pol);
	} else if (diags.n == 0) {
		abort();	/* a refusal says why */
	}
	yg_diags_free(&diags);
	return 0;
}
