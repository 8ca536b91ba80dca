#!/bin/bash
# SPDX-License-Identifier: MIT
# box.sh: run the box layer's real-libvirt test (boxrealtest) against a fresh
# test box left PAUSED from its clean-state snapshot.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_require_root
prog=$top_builddir/tests/integration/boxrealtest
if [ ! -x "$prog" ]; then
	yg_log "ERROR: $prog does not exist; build it first (make check-integration builds check_PROGRAMS)"
	exit 99
fi
yg_init
yg_start_libvirt
yg_guest_build

name=yg-it-box-$$
yg_box_create "$name"

rc=0
YG_TEST_URI=$YG_URI YG_TEST_DOMAIN=$name YG_TEST_SNAPSHOT=clean-state "$prog" || rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
	yg_log "boxrealtest failed with status $rc on $name"
	yg_box_dump "$name"
fi
exit "$rc"
