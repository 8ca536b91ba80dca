#!/bin/sh
# SPDX-License-Identifier: MIT
# spdx.sh: every source, build and man-page file of the tree carries an SPDX
# license identifier in its first lines (the project is MIT, see LICENSE).
set -eu
s=${top_srcdir:-.}
missing=$(find "$s" \( -path "$s/build*" -o -path "$s/.git" -o -path "$s/autom4te.cache" \
		-o -path '*/_build' -o -path '*/_inst' -o -path "$s/tests/data" -o -path "$s/tests/fuzz/corpus" \
		-o -name .libs \) -prune -o \
	-type f \( -name '*.c' -o -name '*.h' -o -name '*.sh' -o -name 'local.mk' -o -name Makefile.am \
		-o -name configure.ac -o -name '*.exp' -o -name '*.[158]' \) -print |
	while read -r f; do
		# (configure's own output, config.h in an in-tree build, is not ours)
		head -n 5 "$f" | grep -q -e 'SPDX-License-Identifier: MIT' -e 'Generated from .* by configure' ||
			echo "$f"
	done)
if [ -n "$missing" ]; then
	echo "spdx: FAIL: no 'SPDX-License-Identifier: MIT' in the first 5 lines of:"
	echo "$missing"
	echo "spdx: add one (a comment in the file's own syntax) to each"
	exit 1
fi
echo "spdx: every source file says MIT"
