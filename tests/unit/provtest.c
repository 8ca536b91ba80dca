/* SPDX-License-Identifier: MIT */
/* provtest: libygvirt's provisioning layer (yg_domain, yg_volume, yg_net,
 * yg_limits, yg_xml) against libvirt's test driver.
 *
 * Each test opens its own connection to test:///<abs>/tests/data/prov/node.xml:
 * a private driver with no domain and one pool on /yg-prov/base that holds a
 * qcow2 and a raw base image.  The test driver touches no files, so paths
 * need not exist. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "yg_box.h"
#include "yg_domain.h"
#include "yg_limits.h"
#include "yg_net.h"
#include "yg_volume.h"
#include "yg_xml.h"

#define DOM "ygp"
#define IMAGES "/yg-prov/img"
#define POOL "yolo-gate-yg-prov-img"
#define OVERLAY IMAGES "/" DOM ".qcow2"

static const char dom_xml[] =
	"<domain type='test'><name>" DOM "</name>"
	"<memory>65536</memory><currentMemory>65536</currentMemory>"
	"<vcpu>1</vcpu><os><type arch='i686'>hvm</type></os>"
	"<devices><disk type='file' device='disk'>"
	"<source file='" OVERLAY "'/><target dev='vda' bus='virtio'/>"
	"</disk></devices></domain>";

static char uri[4096];

typedef struct fx {
	virConnectPtr conn;
	yg_err err;
} fx;

static int setup(void **state)
{
	static fx f;

	memset(&f, 0, sizeof(f));
	if (yg_conn_open(uri, &f.conn, &f.err) < 0) {
		fprintf(stderr, "%s\n", f.err.msg);
		return -1;
	}
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	yg_conn_close(f->conn);
	return 0;
}

#define assert_ok(call, f) \
	do { if ((call) < 0) fail_msg("%s: %s", #call, (f)->err.msg); } while (0)
#define assert_msg(f, text) \
	do { if (!strstr((f)->err.msg, (text))) \
		fail_msg("message '%s' lacks '%s'", (f)->err.msg, (text)); } while (0)

/* ---- yg_xml ---------------------------------------------------------- */

static void test_xml(void **state)
{
	const char *vol = "<volume type='file'>\n  <name>x</name>\n"
		"  <target>\n    <path>/a</path>\n    <format type='qcow2'/>\n"
		"  </target>\n  <backingStore>\n    <path>/b</path>\n"
		"    <format type='raw'/>\n  </backingStore>\n</volume>\n";
	char buf[32];

	(void)state;
	assert_int_equal(yg_xml_escape(buf, sizeof(buf), "a<'&\">"), 0);
	assert_string_equal(buf, "a&lt;&apos;&amp;&quot;&gt;");
	assert_int_equal(yg_xml_escape(buf, 16, "a<'&\">"), -ENAMETOOLONG);
	assert_int_equal(yg_xml_escape(buf, 16, "abcdefghijklmno"), 0);
	assert_int_equal(yg_xml_escape(buf, 16, "abcdefghijklmnop"),
			 -ENAMETOOLONG);
	assert_int_equal(yg_xml_escape(buf, sizeof(buf), "a\nb"), -EINVAL);
	assert_int_equal(yg_xml_attr(vol, "target", "format", "type", buf,
				     sizeof(buf)), 0);
	assert_string_equal(buf, "qcow2");
	assert_int_equal(yg_xml_attr(vol, "backingStore", "format", "type",
				     buf, sizeof(buf)), 0);
	assert_string_equal(buf, "raw");
	assert_int_equal(yg_xml_attr(vol, NULL, "volume", "type", buf,
				     sizeof(buf)), 0);
	assert_string_equal(buf, "file");
	/* <formats> is not <format>; an element without the attribute */
	assert_int_equal(yg_xml_attr("<t><formats type='x'/></t>", "t",
				     "format", "type", buf, sizeof(buf)),
			 -ENOENT);
	assert_int_equal(yg_xml_attr(vol, "target", "path", "type", buf,
				     sizeof(buf)), -ENOENT);
	assert_int_equal(yg_xml_attr(vol, "nope", "format", "type", buf,
				     sizeof(buf)), -ENOENT);
	assert_int_equal(yg_xml_attr(vol, "target", "format", "type", buf, 3),
			 -ENAMETOOLONG);
}

/* ---- yg_volume: pools ------------------------------------------------ */

static void test_pool_name(void **state)
{
	char buf[256], longdir[400];

	(void)state;
	assert_int_equal(yg_pool_name_for("/var/lib/yolo-gate/boxes", buf,
					  sizeof(buf)), 0);
	assert_string_equal(buf, "yolo-gate-var-lib-yolo-gate-boxes");
	assert_int_equal(yg_pool_name_for("//srv//my images/", buf,
					  sizeof(buf)), 0);
	assert_string_equal(buf, "yolo-gate-srv-my_images");
	assert_int_equal(yg_pool_name_for("/", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "yolo-gate");
	assert_int_equal(yg_pool_name_for("relative/dir", buf, sizeof(buf)),
			 -EINVAL);
	memset(longdir, 'a', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	assert_int_equal(yg_pool_name_for(longdir, buf, sizeof(buf)),
			 -ENAMETOOLONG);
	assert_int_equal(yg_pool_name_for("/a/b", buf, 8), -ENAMETOOLONG);
}

static void test_pool_create(void **state)
{
	fx *f = *state;
	yg_pool *pool = NULL, *again = NULL;
	virStoragePoolPtr p;
	int autostart = 0;

	assert_int_equal(yg_pool_open(f->conn, IMAGES, false, &pool, &f->err),
			 -ENOENT);
	assert_null(pool);
	assert_msg(f, "no libvirt storage pool has the directory " IMAGES);
	assert_ok(yg_pool_open(f->conn, IMAGES "//", true, &pool, &f->err), f);
	assert_string_equal(yg_pool_name(pool), POOL);
	/* persistent, active, autostarted, on the directory */
	p = virStoragePoolLookupByName(f->conn, POOL);
	assert_non_null(p);
	assert_int_equal(virStoragePoolIsActive(p), 1);
	assert_int_equal(virStoragePoolIsPersistent(p), 1);
	assert_int_equal(virStoragePoolGetAutostart(p, &autostart), 0);
	assert_int_equal(autostart, 1);
	virStoragePoolFree(p);
	/* found again, now without create */
	assert_ok(yg_pool_open(f->conn, IMAGES, false, &again, &f->err), f);
	assert_string_equal(yg_pool_name(again), POOL);
	yg_pool_free(again);
	yg_pool_free(pool);
	/* an existing pool of another name on the base directory is used */
	assert_ok(yg_pool_open(f->conn, "/yg-prov/base", true, &pool, &f->err),
		  f);
	assert_string_equal(yg_pool_name(pool), "base");
	yg_pool_free(pool);
	assert_int_equal(yg_pool_open(f->conn, "rel/dir", true, &pool,
				      &f->err), -EINVAL);
	assert_msg(f, "rel/dir is not an absolute path");
}

/* Our name taken by an inactive pool: on the directory it is started, on
 * another directory it is refused. */
static void test_pool_inactive_and_clash(void **state)
{
	fx *f = *state;
#define POOL_XML(dir) "<pool type='dir'><name>" POOL "</name><target>" \
			  "<path>" dir "</path></target></pool>"
	virStoragePoolPtr p;
	yg_pool *pool = NULL;

	p = virStoragePoolDefineXML(f->conn, POOL_XML(IMAGES), 0);
	assert_non_null(p);
	assert_int_equal(virStoragePoolIsActive(p), 0);
	assert_ok(yg_pool_open(f->conn, IMAGES, true, &pool, &f->err), f);
	assert_int_equal(virStoragePoolIsActive(p), 1);
	yg_pool_free(pool);
	assert_int_equal(virStoragePoolDestroy(p), 0);
	assert_int_equal(virStoragePoolUndefine(p), 0);
	virStoragePoolFree(p);

	p = virStoragePoolDefineXML(f->conn, POOL_XML("/elsewhere"), 0);
	assert_non_null(p);
	assert_int_equal(yg_pool_open(f->conn, IMAGES, true, &pool, &f->err),
			 -EEXIST);
	assert_msg(f, "storage pool " POOL " exists but is not the one of "
		   IMAGES);
	virStoragePoolUndefine(p);
	virStoragePoolFree(p);
#undef POOL_XML
}

/* ---- yg_volume: the overlay and the base's format -------------------- */

static void test_overlay(void **state)
{
	fx *f = *state;
	yg_pool *pool = NULL;
	virStorageVolPtr v;
	bool existed = true;
	char *xml, fmt[16];

	assert_ok(yg_pool_open(f->conn, IMAGES, true, &pool, &f->err), f);
	assert_int_equal(yg_vol_exists(pool, DOM ".qcow2", &f->err), 0);
	assert_ok(yg_vol_create_overlay(pool, DOM ".qcow2", 64ull << 20,
					"/yg-prov/base/base.raw", "raw",
					&f->err), f);
	assert_int_equal(yg_vol_exists(pool, DOM ".qcow2", &f->err), 1);
	/* a second one of that name is refused by libvirt */
	assert_true(yg_vol_create_overlay(pool, DOM ".qcow2", 64ull << 20,
					  "/yg-prov/base/base.raw", "raw",
					  &f->err) < 0);
	assert_msg(f, "cannot create volume " DOM ".qcow2 in storage pool "
		   POOL);
	/* what libvirt holds: qcow2 at the overlay path over the raw base */
	v = virStorageVolLookupByPath(f->conn, OVERLAY);
	assert_non_null(v);
	xml = virStorageVolGetXMLDesc(v, 0);
	assert_non_null(xml);
	assert_int_equal(yg_xml_attr(xml, "target", "format", "type", fmt,
				     sizeof(fmt)), 0);
	assert_string_equal(fmt, "qcow2");
	assert_int_equal(yg_xml_attr(xml, "backingStore", "format", "type",
				     fmt, sizeof(fmt)), 0);
	assert_string_equal(fmt, "raw");
	assert_non_null(strstr(xml, "<path>/yg-prov/base/base.raw</path>"));
	assert_non_null(strstr(xml, "<capacity unit='bytes'>67108864<"));
	free(xml);
	virStorageVolFree(v);
	/* the base's format, through the pool of its directory */
	assert_ok(yg_vol_format(f->conn, "/yg-prov/base/base.qcow2", fmt,
				sizeof(fmt), &f->err), f);
	assert_string_equal(fmt, "qcow2");
	assert_ok(yg_vol_format(f->conn, "/yg-prov/base//base.raw", fmt,
				sizeof(fmt), &f->err), f);
	assert_string_equal(fmt, "raw");
	assert_ok(yg_vol_format(f->conn, OVERLAY, fmt, sizeof(fmt), &f->err),
		  f);
	assert_string_equal(fmt, "qcow2");
	/* delete, then nothing to delete */
	assert_ok(yg_vol_delete(pool, DOM ".qcow2", &existed, &f->err), f);
	assert_true(existed);
	assert_int_equal(yg_vol_exists(pool, DOM ".qcow2", &f->err), 0);
	assert_ok(yg_vol_delete(pool, DOM ".qcow2", &existed, &f->err), f);
	assert_false(existed);
	yg_pool_free(pool);
}

static void test_format_unknown(void **state)
{
	fx *f = *state;
	virStoragePoolPtr *all = NULL;
	char fmt[16];
	int n;

	assert_int_equal(yg_vol_format(f->conn, "/yg-prov/base/nope.img", fmt,
				       sizeof(fmt), &f->err), -ENOENT);
	assert_msg(f, "libvirt sees no image /yg-prov/base/nope.img (storage "
		   "pool base)");
	/* no pool on the directory: a transient one, gone afterwards */
	assert_int_equal(yg_vol_format(f->conn, "/yg-prov/other/x.img", fmt,
				       sizeof(fmt), &f->err), -ENOENT);
	assert_msg(f, "libvirt sees no image /yg-prov/other/x.img");
	n = virConnectListAllStoragePools(f->conn, &all, 0);
	assert_int_equal(n, 1);	/* only "base" */
	assert_string_equal(virStoragePoolGetName(all[0]), "base");
	virStoragePoolFree(all[0]);
	free(all);
	assert_int_equal(yg_vol_format(f->conn, "rel.img", fmt, sizeof(fmt),
				       &f->err), -EINVAL);
	assert_int_equal(yg_vol_format(f->conn, "/yg-prov/base/", fmt,
				       sizeof(fmt), &f->err), -EINVAL);
}

/* ---- yg_domain ------------------------------------------------------- */

static void test_domain(void **state)
{
	fx *f = *state;
	virDomainSnapshotPtr s;
	yg_dom *dom = NULL, *d2 = NULL;
	bool existed = false;

	assert_false(yg_dom_defined(f->conn, DOM));
	assert_int_equal(yg_dom_lookup(f->conn, DOM, &dom, &f->err), -ENOENT);
	assert_msg(f, "box " DOM " is not defined");
	assert_true(yg_dom_define(f->conn, DOM, "<domain>", &dom, &f->err) < 0);
	assert_msg(f, "cannot define box " DOM ": ");
	assert_null(dom);
	assert_ok(yg_dom_define(f->conn, DOM, dom_xml, &dom, &f->err), f);
	assert_string_equal(yg_dom_name(dom), DOM);
	assert_true(yg_dom_defined(f->conn, DOM));
	assert_string_equal(yg_dom_state_text(dom), "shut off");
	assert_ok(yg_dom_start(dom, &f->err), f);
	assert_string_equal(yg_dom_state_text(dom), "running");
	assert_true(yg_dom_start(dom, &f->err) < 0);	/* already running */
	assert_msg(f, "cannot start box " DOM);

	/* the snapshot: taken, retaken, deleted */
	assert_ok(yg_dom_snapshot_create(dom, "clean-state", "of <alice> & co",
					 &f->err), f);
	s = virDomainSnapshotLookupByName(yg_dom_ptr(dom), "clean-state", 0);
	assert_non_null(s);
	virDomainSnapshotFree(s);
	assert_ok(yg_dom_snapshot_retake(dom, "clean-state", NULL, &f->err), f);
	s = virDomainSnapshotLookupByName(yg_dom_ptr(dom), "clean-state", 0);
	assert_non_null(s);
	virDomainSnapshotFree(s);
	assert_ok(yg_dom_snapshot_delete(dom, "clean-state", &f->err), f);
	assert_int_equal(yg_dom_snapshot_delete(dom, "clean-state", &f->err),
			 -ENOENT);
	assert_msg(f, "box " DOM " has no snapshot 'clean-state'");
	assert_int_equal(yg_dom_snapshot_retake(dom, "clean-state", NULL,
						&f->err), -ENOENT);
	assert_int_equal(yg_dom_snapshot_create(dom, "bad\nname", NULL,
						&f->err), -EINVAL);

	/* a second handle, then remove: destroyed and undefined */
	assert_ok(yg_dom_lookup(f->conn, DOM, &d2, &f->err), f);
	assert_ok(yg_dom_snapshot_create(d2, "s1", NULL, &f->err), f);
	yg_dom_free(d2);
	assert_ok(yg_dom_remove(f->conn, DOM, &existed, &f->err), f);
	assert_true(existed);
	assert_false(yg_dom_defined(f->conn, DOM));
	assert_ok(yg_dom_remove(f->conn, DOM, &existed, &f->err), f);
	assert_false(existed);
	yg_dom_free(dom);
	yg_dom_free(NULL);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(yg_box_state_name(VIR_DOMAIN_RUNNING), "running");
	assert_string_equal(yg_box_state_name(VIR_DOMAIN_PAUSED), "paused");
	assert_string_equal(yg_box_state_name(VIR_DOMAIN_SHUTOFF), "shut off");
	assert_string_equal(yg_box_state_name(VIR_DOMAIN_PMSUSPENDED),
			    "suspended");
	assert_string_equal(yg_box_state_name(-1), "unknown");
}

/* ---- yg_net ---------------------------------------------------------- */

static void test_network(void **state)
{
	fx *f = *state;
	const char *xml = "<network><name>ygnet</name><forward mode='nat'/>"
			  "<bridge name='ygbr0' stp='off'/>"
			  "<ip address='192.168.213.1' netmask='255.255.255.0'>"
			  "</ip></network>";
	virNetworkPtr n;
	yg_dom *dom = NULL;
	char *got = NULL, *dxml;
	bool existed = false;
	int autostart = 0;

	assert_false(yg_net_defined(f->conn, "ygnet"));
	assert_int_equal(yg_net_get_xml(f->conn, "ygnet", &got, &f->err),
			 -ENOENT);
	assert_null(got);
	assert_int_equal(yg_net_start(f->conn, "ygnet", &f->err), -ENOENT);
	assert_ok(yg_net_define(f->conn, "ygnet", xml, &f->err), f);
	assert_true(yg_net_defined(f->conn, "ygnet"));
	assert_ok(yg_net_start(f->conn, "ygnet", &f->err), f);
	assert_ok(yg_net_start(f->conn, "ygnet", &f->err), f); /* active: ok */
	n = virNetworkLookupByName(f->conn, "ygnet");
	assert_non_null(n);
	assert_int_equal(virNetworkIsActive(n), 1);
	assert_int_equal(virNetworkGetAutostart(n, &autostart), 0);
	assert_int_equal(autostart, 1);
	virNetworkFree(n);
	assert_ok(yg_net_get_xml(f->conn, "ygnet", &got, &f->err), f);
	assert_non_null(strstr(got, "<ip address='192.168.213.1'"));
	free(got);

	/* a box's interface on it: the test driver cannot attach devices (the
	 * real attach is tests/integration/net.sh); the error names both */
	assert_ok(yg_dom_define(f->conn, DOM, dom_xml, &dom, &f->err), f);
	assert_true(yg_net_attach(dom, "ygnet", "yolo-gate-ygnet", &f->err) < 0);
	assert_msg(f, "cannot give box " DOM " an interface on network ygnet");
	dxml = virDomainGetXMLDesc(yg_dom_ptr(dom), VIR_DOMAIN_XML_INACTIVE);
	assert_non_null(dxml);
	assert_null(strstr(dxml, "<interface"));
	free(dxml);
	assert_int_equal(yg_net_attach(dom, "yg\001net", "f", &f->err), -EINVAL);
	yg_dom_free(dom);

	assert_ok(yg_net_remove(f->conn, "ygnet", &existed, &f->err), f);
	assert_true(existed);
	assert_false(yg_net_defined(f->conn, "ygnet"));
	assert_ok(yg_net_remove(f->conn, "ygnet", &existed, &f->err), f);
	assert_false(existed);
}

/* The test driver has no nwfilter driver: each call says what failed. */
static void test_nwfilter_unsupported(void **state)
{
	fx *f = *state;
	bool existed = true;

	assert_false(yg_nwfilter_defined(f->conn, "yolo-gate-x"));
	assert_true(yg_nwfilter_define(f->conn, "yolo-gate-x",
				       "<filter name='yolo-gate-x' "
				       "chain='root'/>", &f->err) < 0);
	assert_msg(f, "cannot define network filter yolo-gate-x");
	assert_true(yg_nwfilter_remove(f->conn, "yolo-gate-x", &existed,
				       &f->err) < 0);
	assert_false(existed);
	assert_msg(f, "cannot look up network filter yolo-gate-x");
}

/* ---- yg_limits ------------------------------------------------------- */

static void test_limits_diff(void **state)
{
	fx *f = *state;
	yg_dom *dom = NULL;
	char what[256];
	unsigned long long cap;

	assert_ok(yg_dom_define(f->conn, DOM, dom_xml, &dom, &f->err), f);
	assert_int_equal(yg_limits_diff(dom, "/no/such/disk", 1, 64, 0, NULL,
					what, sizeof(what), &f->err), -EIO);
	assert_msg(f, "cannot read the size of box " DOM);
	/* the test driver's disks have a fixed capacity: learn it */
	assert_ok(yg_limits_diff(dom, OVERLAY, 1, 64, 0, NULL, what,
				 sizeof(what), &f->err), f);
	assert_int_equal(sscanf(what, "disk_size %llu bytes -> 0 bytes", &cap),
			 1);
	assert_ok(yg_limits_diff(dom, OVERLAY, 1, 64, cap, "none", what,
				 sizeof(what), &f->err), f);
	assert_string_equal(what, "");
	assert_ok(yg_limits_diff(dom, OVERLAY, 2, 128, cap, "ygnet", what,
				 sizeof(what), &f->err), f);
	assert_string_equal(what, "vcpus 1 -> 2, memory 64 MiB -> 128 MiB, "
			    "network -> ygnet");
	yg_dom_free(dom);
}

static void test_limits_apply(void **state)
{
	fx *f = *state;
	struct yg_limits none = { 0 }, cpu = { .cpu_quota = 50 };
	yg_dom *dom = NULL;

	assert_ok(yg_dom_define(f->conn, DOM, dom_xml, &dom, &f->err), f);
	/* a new definition without limits needs no call at all */
	assert_ok(yg_limits_apply(dom, OVERLAY, &none, false, &f->err), f);
	/* the test driver has no global_period: the error names the quota */
	assert_true(yg_limits_apply(dom, OVERLAY, &cpu, false, &f->err) < 0);
	assert_msg(f, "cannot set the CPU quota (50 %) of box " DOM);
	yg_dom_free(dom);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml),
		cmocka_unit_test(test_pool_name),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test_setup_teardown(test_pool_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_inactive_and_clash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_network, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nwfilter_unsupported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_diff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_apply, setup, teardown),
	};

	snprintf(uri, sizeof(uri), "test://%s/node.xml", YG_PROV_TESTDATA);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
