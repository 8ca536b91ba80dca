/* SPDX-License-Identifier: MIT */
/* yg_volume.h: box disks through libvirt's storage API.
 *
 * A directory that holds overlays is a libvirt dir storage pool: found by
 * its target path (any pool whose target is the directory will do,
 * whatever its name), or, when there is none, defined persistent under the name
 * yg_pool_name_for() gives (yolo-gate + the path with '/' as '-', e.g.
 * yolo-gate-var-lib-yolo-gate-boxes), built (the directory made when
 * missing), started and marked autostart.  An overlay is a qcow2 volume of
 * that pool whose <backingStore> names the base image and its format, so
 * libvirt writes the backing format into the overlay and nothing ever
 * probes it at run time.  The base image's format comes from libvirt too:
 * from the pool of its directory, refreshed, or from a transient pool
 * started for the look-up and destroyed after it. */
#ifndef YG_VOLUME_H
#define YG_VOLUME_H

#include <stdbool.h>
#include <stddef.h>

#include <libvirt/libvirt.h>

#include "yg_err.h"

typedef struct yg_pool yg_pool;

/* The storage pool of the absolute directory dir.  With create, a missing
 * one is made as described above (an inactive one of that name is built
 * and started; one of that name on another directory is -EEXIST); without,
 * -ENOENT when no active pool has that target. */
int yg_pool_open(virConnectPtr conn, const char *dir, bool create,
		 yg_pool **out, yg_err *err) YG_MUST_CHECK;
void yg_pool_free(yg_pool *pool);		/* NULL ok */
const char *yg_pool_name(const yg_pool *pool);
/* "yolo-gate" + dir with each '/' as '-' and any byte but [A-Za-z0-9._-]
 * as '_' (repeated and trailing slashes dropped).  -EINVAL for a relative
 * dir, -ENAMETOOLONG when it does not fit len or would be longer than 200
 * bytes. */
int yg_pool_name_for(const char *dir, char *buf, size_t len) YG_MUST_CHECK;

/* Does the pool hold a volume called name?  A file libvirt has not seen
 * yet counts: the pool is refreshed before "no".  1, 0 or -errno. */
int yg_vol_exists(yg_pool *pool, const char *name, yg_err *err) YG_MUST_CHECK;
/* Create the qcow2 volume name (qcow2 v3) of capacity bytes over the image
 * backing, whose format is backing_fmt ("qcow2" or "raw"). */
int yg_vol_create_overlay(yg_pool *pool, const char *name,
			  unsigned long long capacity, const char *backing,
			  const char *backing_fmt, yg_err *err) YG_MUST_CHECK;
/* Delete the volume name (its file); none is success with *existed false. */
int yg_vol_delete(yg_pool *pool, const char *name, bool *existed,
		  yg_err *err) YG_MUST_CHECK;

/* The format libvirt's storage backend reads from the header of the image
 * at the absolute path ("qcow2", "raw", ...), into fmt.  The pool is
 * refreshed first: a format libvirt remembers from before the file was
 * replaced could call a raw image (guest-written bytes) qcow2. */
int yg_vol_format(virConnectPtr conn, const char *path, char *fmt,
		  size_t len, yg_err *err) YG_MUST_CHECK;

#endif
