/* SPDX-License-Identifier: MIT */
/* yg_volume.c: box disks through libvirt's storage API, see yg_volume.h */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "yg_box.h"
#include "yg_volume.h"
#include "yg_xml.h"

#define POOL_NAME_MAX 200
#define REFRESH_TRIES 5		/* a pool refuses while a volume is built */

struct yg_pool {
	virStoragePoolPtr pool;
	char *name;
};

/* dir without repeated and trailing slashes, as libvirt keeps it. */
static int clean_dir(const char *dir, char *buf, size_t len, yg_err *err)
{
	size_t n = 0;

	if (dir[0] != '/')
		return yg_err_set(err, -EINVAL, "the image directory %s is not "
				  "an absolute path; give an absolute one", dir);
	for (const char *s = dir; *s; s++) {
		if (*s == '/' && n && buf[n - 1] == '/')
			continue;
		if (n + 1 >= len)
			return yg_err_set(err, -ENAMETOOLONG, "the image "
					  "directory %s is too long", dir);
		buf[n++] = *s;
	}
	if (n > 1 && buf[n - 1] == '/')
		n--;
	buf[n] = '\0';
	return 0;
}

int yg_pool_name_for(const char *dir, char *buf, size_t len)
{
	static const char keep[] = "abcdefghijklmnopqrstuvwxyz"
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	char clean[PATH_MAX];
	size_t n = strlen("yolo-gate");
	int rc = clean_dir(dir, clean, sizeof(clean), NULL);

	if (rc < 0)
		return rc;
	if (len <= n)
		return -ENAMETOOLONG;
	memcpy(buf, "yolo-gate", n);
	for (const char *s = clean; *s && strcmp(s, "/"); s++) {
		if (n + 1 >= len || n + 1 > POOL_NAME_MAX)
			return -ENAMETOOLONG;
		buf[n++] = *s == '/' ? '-' : strchr(keep, *s) ? *s : '_';
	}
	buf[n] = '\0';
	return 0;
}

static int wrap(virStoragePoolPtr p, const char *dir, yg_pool **out,
		yg_err *err)
{
	yg_pool *pool = calloc(1, sizeof(*pool));
	const char *name = virStoragePoolGetName(p);

	if (pool)
		pool->name = strdup(name ? name : "?");
	if (!pool || !pool->name) {
		free(pool);
		virStoragePoolFree(p);
		return yg_err_set(err, -ENOMEM, "out of memory for the storage "
				  "pool of %s", dir);
	}
	pool->pool = p;
	*out = pool;
	return 0;
}

/* Is dir (clean) the target of pool p?  0 yes, -ENOENT no, -errno. */
static int pool_has_dir(virStoragePoolPtr p, const char *dir, yg_err *err)
{
	char want[2 * PATH_MAX + 16], d[2 * PATH_MAX], *xml;
	const char *t;
	int rc;

	xml = virStoragePoolGetXMLDesc(p, 0);
	if (!xml)
		return yg_box_virt_err(err, "cannot read storage pool %s",
				       virStoragePoolGetName(p));
	t = strstr(xml, "<target>");
	rc = yg_xml_escape(d, sizeof(d), dir) == 0 &&
	     snprintf(want, sizeof(want), "<path>%s</path>", d) > 0 &&
	     t && strstr(t, want) ? 0 : -ENOENT;
	free(xml);
	return rc;
}

/* Without virStoragePoolLookupByTargetPath (the test driver, libvirt
 * before 4.1): the active pools one by one. */
static int scan(virConnectPtr conn, const char *dir, virStoragePoolPtr *out,
		yg_err *err)
{
	virStoragePoolPtr *all = NULL;
	int n, rc = -ENOENT;

	n = virConnectListAllStoragePools(conn, &all,
					  VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);
	if (n < 0)
		return yg_box_virt_err(err, "cannot list the storage pools");
	for (int i = 0; i < n; i++) {
		if (rc == -ENOENT && pool_has_dir(all[i], dir, NULL) == 0) {
			*out = all[i];
			rc = 0;
			continue;
		}
		virStoragePoolFree(all[i]);
	}
	free(all);
	return rc;
}

/* The active pool whose target is dir (clean): 0, -ENOENT, -errno. */
static int by_path(virConnectPtr conn, const char *dir,
		   virStoragePoolPtr *out, yg_err *err)
{
	virErrorPtr e;
	int rc = -ENOENT;

	*out = virStoragePoolLookupByTargetPath(conn, dir);
	if (*out)
		return 0;
	e = virGetLastError();
	if (e && e->code == VIR_ERR_NO_SUPPORT)
		rc = scan(conn, dir, out, err);
	else if (e && e->code != VIR_ERR_NO_STORAGE_POOL)
		return yg_box_virt_err(err, "cannot look up the storage pool "
				       "of %s", dir);
	if (rc == -ENOENT)
		return yg_err_set(err, -ENOENT, "no libvirt storage pool has "
				  "the directory %s", dir);
	return rc;
}

/* Our pool name for dir, when libvirt has a pool of that name: 0 and *out,
 * -ENOENT, -EEXIST when it is some other directory's, -errno. */
static int by_name(virConnectPtr conn, const char *name, const char *dir,
		   virStoragePoolPtr *out, yg_err *err)
{
	virErrorPtr e;
	int rc;

	*out = virStoragePoolLookupByName(conn, name);
	if (!*out) {
		e = virGetLastError();
		if (!e || e->code == VIR_ERR_NO_STORAGE_POOL)
			return -ENOENT;
		return yg_box_virt_err(err, "cannot look up storage pool %s",
				       name);
	}
	rc = pool_has_dir(*out, dir, err);
	if (rc == -ENOENT)
		rc = yg_err_set(err, -EEXIST, "storage pool %s exists but is "
				"not the one of %s; rename or remove it (virsh "
				"pool-undefine %s) or use another directory",
				name, dir, name);
	if (rc < 0) {
		virStoragePoolFree(*out);
		*out = NULL;
	}
	return rc;
}

/* Define, build, start, autostart the pool name for dir; undefined again
 * when a step after the definition fails. */
static int define(virConnectPtr conn, const char *name, const char *dir,
		  virStoragePoolPtr *out, yg_err *err)
{
	char xml[2 * PATH_MAX + 512], d[2 * PATH_MAX];
	virStoragePoolPtr p;
	int rc = 0;

	*out = NULL;
	if (yg_xml_escape(d, sizeof(d), dir) < 0)
		return yg_err_set(err, -EINVAL, "the image directory %s has "
				  "control characters", dir);
	snprintf(xml, sizeof(xml), "<pool type='dir'>\n  <name>%s</name>\n"
		 "  <target>\n    <path>%s</path>\n  </target>\n</pool>\n",
		 name, d);
	p = virStoragePoolDefineXML(conn, xml, 0);
	if (!p)
		return yg_box_virt_err(err, "cannot define storage pool %s for "
				       "%s", name, dir);
	if (virStoragePoolBuild(p, 0) < 0)
		rc = yg_box_virt_err(err, "cannot build storage pool %s (make "
				     "the directory %s)", name, dir);
	else if (virStoragePoolCreate(p, 0) < 0)
		rc = yg_box_virt_err(err, "cannot start storage pool %s", name);
	else if (virStoragePoolSetAutostart(p, 1) < 0)
		rc = yg_box_virt_err(err, "cannot autostart storage pool %s",
				     name);
	if (rc < 0) {
		if (virStoragePoolIsActive(p) == 1)
			virStoragePoolDestroy(p);
		virStoragePoolUndefine(p);
		virStoragePoolFree(p);
		return rc;
	}
	*out = p;
	return 0;
}

int yg_pool_open(virConnectPtr conn, const char *dir, bool create,
		 yg_pool **out, yg_err *err)
{
	char clean[PATH_MAX], name[POOL_NAME_MAX + 1];
	virStoragePoolPtr p = NULL;
	int rc;

	*out = NULL;
	rc = clean_dir(dir, clean, sizeof(clean), err);
	if (rc == 0)
		rc = by_path(conn, clean, &p, err);
	if (rc != -ENOENT || !create)
		return rc < 0 ? rc : wrap(p, clean, out, err);
	yg_err_clear(err);
	if (yg_pool_name_for(clean, name, sizeof(name)) < 0)
		return yg_err_set(err, -ENAMETOOLONG, "the image directory %s "
				  "is too long to name a storage pool after "
				  "it", clean);
	rc = by_name(conn, name, clean, &p, err);
	if (rc == 0 && virStoragePoolIsActive(p) != 1 &&
	    (virStoragePoolBuild(p, 0) < 0 || virStoragePoolCreate(p, 0) < 0))
		rc = yg_box_virt_err(err, "cannot start storage pool %s (on "
				     "%s)", name, clean);
	if (rc == -ENOENT) {
		rc = define(conn, name, clean, &p, err);
		/* another provision made it meanwhile */
		if (rc < 0 && by_path(conn, clean, &p, NULL) == 0) {
			yg_err_clear(err);
			rc = 0;
		}
	}
	if (rc < 0) {
		if (p)
			virStoragePoolFree(p);
		return rc;
	}
	return wrap(p, clean, out, err);
}

void yg_pool_free(yg_pool *pool)
{
	if (!pool)
		return;
	virStoragePoolFree(pool->pool);
	free(pool->name);
	free(pool);
}

const char *yg_pool_name(const yg_pool *pool)
{
	return pool ? pool->name : NULL;
}

/* Rescan the pool's directory; libvirt refuses while a volume of the pool
 * is being built (another provision), so a few tries. */
static int refresh(virStoragePoolPtr p, const char *name, yg_err *err)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };

	for (int i = 1; virStoragePoolRefresh(p, 0) < 0; i++) {
		if (i == REFRESH_TRIES)
			return yg_box_virt_err(err, "cannot refresh storage "
					       "pool %s", name);
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* The volume name of p; with fresh, refreshed first, else only when libvirt
 * does not know it.  0, -ENOENT, -errno. */
static int find(virStoragePoolPtr p, const char *pname, const char *name,
		bool fresh, virStorageVolPtr *out, yg_err *err)
{
	virErrorPtr e;
	int rc;

	for (int pass = 0; pass < 2; pass++) {
		if (fresh || pass) {
			rc = refresh(p, pname, err);
			if (rc < 0)
				return rc;
		}
		*out = virStorageVolLookupByName(p, name);
		if (*out)
			return 0;
		e = virGetLastError();
		if (e && e->code != VIR_ERR_NO_STORAGE_VOL)
			return yg_box_virt_err(err, "cannot look up volume %s "
					       "in storage pool %s", name,
					       pname);
		if (fresh)
			break;
	}
	return yg_err_set(err, -ENOENT, "storage pool %s has no volume %s",
			  pname, name);
}

int yg_vol_exists(yg_pool *pool, const char *name, yg_err *err)
{
	virStorageVolPtr v;
	int rc = find(pool->pool, pool->name, name, false, &v, err);

	if (rc == -ENOENT) {
		yg_err_clear(err);
		return 0;
	}
	if (rc < 0)
		return rc;
	virStorageVolFree(v);
	return 1;
}

int yg_vol_create_overlay(yg_pool *pool, const char *name,
			  unsigned long long capacity, const char *backing,
			  const char *backing_fmt, yg_err *err)
{
	char xml[2 * PATH_MAX + 1024], n[512], b[2 * PATH_MAX], f[32];
	virStorageVolPtr v;

	if (yg_xml_escape(n, sizeof(n), name) < 0 ||
	    yg_xml_escape(b, sizeof(b), backing) < 0 ||
	    yg_xml_escape(f, sizeof(f), backing_fmt) < 0)
		return yg_err_set(err, -EINVAL, "cannot create volume %s over "
				  "%s: a name is too long or has control "
				  "characters", name, backing);
	snprintf(xml, sizeof(xml), "<volume type='file'>\n"
		 "  <name>%s</name>\n"
		 "  <capacity unit='bytes'>%llu</capacity>\n"
		 "  <allocation unit='bytes'>0</allocation>\n"
		 "  <target>\n    <format type='qcow2'/>\n"
		 "    <compat>1.1</compat>\n  </target>\n"
		 "  <backingStore>\n    <path>%s</path>\n"
		 "    <format type='%s'/>\n  </backingStore>\n"
		 "</volume>\n", n, capacity, b, f);
	v = virStorageVolCreateXML(pool->pool, xml, 0);
	if (!v)
		return yg_box_virt_err(err, "cannot create volume %s in "
				       "storage pool %s over %s", name,
				       pool->name, backing);
	virStorageVolFree(v);
	return 0;
}

int yg_vol_delete(yg_pool *pool, const char *name, bool *existed,
		  yg_err *err)
{
	virStorageVolPtr v;
	int rc;

	*existed = false;
	rc = find(pool->pool, pool->name, name, false, &v, err);
	if (rc == -ENOENT) {
		yg_err_clear(err);
		return 0;
	}
	if (rc < 0)
		return rc;
	*existed = true;
	if (virStorageVolDelete(v, 0) < 0)
		rc = yg_box_virt_err(err, "cannot delete volume %s of storage "
				     "pool %s", name, pool->name);
	virStorageVolFree(v);
	return rc;
}

/* A transient pool on dir for one look-up, destroyed after it. */
static int probe_pool(virConnectPtr conn, const char *dir,
		      virStoragePoolPtr *out, yg_err *err)
{
	char xml[2 * PATH_MAX + 512], d[2 * PATH_MAX];

	if (yg_xml_escape(d, sizeof(d), dir) < 0)
		return yg_err_set(err, -EINVAL, "the directory %s has control "
				  "characters", dir);
	snprintf(xml, sizeof(xml), "<pool type='dir'>\n"
		 "  <name>yolo-gate-probe-%ld</name>\n"
		 "  <target>\n    <path>%s</path>\n  </target>\n</pool>\n",
		 (long)getpid(), d);
	*out = virStoragePoolCreateXML(conn, xml, 0);
	if (*out)
		return 0;
	yg_box_virt_err(err, "cannot start a transient storage pool on %s to "
			"read the image format", dir);
	/* another process made a pool for dir meanwhile: use it */
	if (by_path(conn, dir, out, NULL) < 0)
		return err ? err->code : -EIO;
	yg_err_clear(err);
	return 1;
}

int yg_vol_format(virConnectPtr conn, const char *path, char *fmt,
		  size_t len, yg_err *err)
{
	char dir[PATH_MAX], *slash, *xml = NULL;
	virStoragePoolPtr p = NULL;
	virStorageVolPtr v = NULL;
	bool transient = false;
	const char *pname;
	int rc;

	if (path[0] && path[strlen(path) - 1] == '/')
		return yg_err_set(err, -EINVAL, "%s is not an image file", path);
	rc = clean_dir(path, dir, sizeof(dir), err);
	if (rc < 0)
		return rc;
	slash = strrchr(dir, '/');
	*slash = '\0';
	rc = by_path(conn, dir[0] ? dir : "/", &p, err);
	if (rc == -ENOENT) {
		rc = probe_pool(conn, dir[0] ? dir : "/", &p, err);
		transient = rc == 0;
	}
	if (rc < 0)
		return rc;
	pname = virStoragePoolGetName(p);
	rc = find(p, pname ? pname : "?", slash + 1, !transient, &v, err);
	if (rc == -ENOENT)
		yg_err_set(err, -ENOENT, "libvirt sees no image %s (storage "
			   "pool %s)", path, pname ? pname : "?");
	if (rc == 0 && !(xml = virStorageVolGetXMLDesc(v, 0)))
		rc = yg_box_virt_err(err, "cannot read volume %s", path);
	if (rc == 0 && yg_xml_attr(xml, "target", "format", "type", fmt,
				   len) < 0)
		rc = yg_err_set(err, -EINVAL, "libvirt gives no format for "
				"the image %s", path);
	free(xml);
	if (v)
		virStorageVolFree(v);
	if (transient)
		virStoragePoolDestroy(p);
	virStoragePoolFree(p);
	return rc;
}
