/* SPDX-License-Identifier: MIT */
/* settime: yg_box_set_time (src/virt/yg_clock.c) on a real box, for
 * tests/integration/image.sh until the broker calls it after resume.
 *
 *   settime URI DOMAIN SNAPSHOT   prints "set_time_ms N"; exit 0, or 1 with
 *                                 the error on stderr */
#include "config.h"

#include <stdio.h>

#include "yg_box.h"
#include "yg_clock.h"
#include "yg_time.h"

int main(int argc, char **argv)
{
	virConnectPtr conn = NULL;
	yg_box *box = NULL;
	uint64_t t0;
	yg_err err;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: settime URI DOMAIN SNAPSHOT\n");
		return 2;
	}
	rc = yg_conn_open(argv[1], &conn, &err);
	if (rc == 0)
		rc = yg_box_open(conn, argv[2], argv[3], NULL, &box, &err);
	t0 = yg_now_ms();
	if (rc == 0)
		rc = yg_box_set_time(box, &err);
	if (rc == 0)
		printf("set_time_ms %llu\n", (unsigned long long)(yg_now_ms() - t0));
	else
		fprintf(stderr, "settime: %s\n", err.msg);
	yg_box_free(box);
	yg_conn_close(conn);
	return rc == 0 ? 0 : 1;
}
