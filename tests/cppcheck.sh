#!/bin/sh
# SPDX-License-Identifier: MIT
# Static analysis: cppcheck over every C file of the project; any finding fails.
# varFuncNullUB is suppressed: yg_log() is a sentinel-terminated variadic
# function (checked by __attribute__((sentinel))), and NULL is ((void *)0) on
# the glibc targets we build for.
set -eu
src=${top_srcdir:-.}
if ! command -v cppcheck >/dev/null 2>&1; then
	echo "cppcheck not installed (apt-get install cppcheck)"
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
cd "$src"
cppcheck --quiet --error-exitcode=1 --std=c11 --inline-suppr \
	--enable=warning,portability,performance \
	--suppress=missingIncludeSystem --suppress=varFuncNullUB \
	-D__linux__ -D__x86_64__ -DSYSCONFDIR='"/etc"' -DRUNSTATEDIR='"/run"' \
	-DLOCALSTATEDIR='"/var"' -DPKGDATADIR='"/usr/share/yolo-gate"' \
	-I src/core -I src/virt -I policy -I pam \
	--template='{file}:{line}: {severity}: {id}: {message}' \
	src policy pam tests/unit tests/fuzz tests/integration
echo "cppcheck: clean"
