#!/bin/sh
# SPDX-License-Identifier: MIT
# Replays every committed fuzz corpus through its target (stub main build):
# the corpora are regression tests in every build.
set -eu
src=${top_srcdir:-.}/tests/fuzz
bld=${top_builddir:-.}/tests/fuzz
rc=0
for dir in "$src"/corpus/*/; do
	name=$(basename "$dir")
	bin="$bld/fuzz_$name"
	if [ ! -x "$bin" ]; then
		echo "no fuzz target for corpus $name ($bin)"; rc=1; continue
	fi
	"$bin" "$dir" || rc=1
done
exit $rc
