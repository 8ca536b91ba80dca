/* SPDX-License-Identifier: MIT */
/* clocktest: yg_box_set_time (src/virt/yg_clock.c) against libvirt's test
 * driver: virDomainSetTime with VIR_DOMAIN_TIME_SYNC on a running box
 * works; on a box that is not running it fails with a sentence that names
 * the box and libvirt's reason. The guest side (guest-set-time reading the
 * RTC) is tests/integration/image.sh. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "yg_box.h"
#include "yg_clock.h"

#define DOM "yolo-test"
#define SNAP "clean-state"

static char uri[4096];

static yg_box *open_box(virConnectPtr *conn)
{
	virDomainSnapshotPtr s;
	virDomainPtr dom;
	yg_box *box = NULL;
	yg_err err;

	assert_int_equal(yg_conn_open(uri, conn, &err), 0);
	dom = virDomainLookupByName(*conn, DOM);
	assert_non_null(dom);
	s = virDomainSnapshotCreateXML(dom, "<domainsnapshot><name>" SNAP
				       "</name></domainsnapshot>", 0);
	assert_non_null(s);
	virDomainSnapshotFree(s);
	virDomainFree(dom);
	assert_int_equal(yg_box_open(*conn, DOM, SNAP, NULL, &box, &err), 0);
	return box;
}

static void test_running(void **state)
{
	virConnectPtr conn = NULL;
	yg_box *box = open_box(&conn);
	yg_err err = { 0 };

	(void)state;
	assert_int_equal(yg_box_set_time(box, &err), 0);
	yg_box_free(box);
	yg_conn_close(conn);
}

static void test_not_running(void **state)
{
	virConnectPtr conn = NULL;
	yg_box *box = open_box(&conn);
	yg_err err = { 0 };

	(void)state;
	assert_int_equal(yg_box_destroy(box, &err), 0);
	assert_true(yg_box_set_time(box, &err) < 0);
	assert_non_null(strstr(err.msg, "cannot set the clock of box " DOM));
	assert_non_null(strstr(err.msg, "guest-set-time"));
	yg_box_free(box);
	yg_conn_close(conn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_running),
		cmocka_unit_test(test_not_running),
	};

	snprintf(uri, sizeof(uri), "test://%s/node.xml", YG_BOX_TESTDATA);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
