#!/bin/sh
# SPDX-License-Identifier: MIT
# Lints every man page in docs/ with mandoc: any warning fails the test.
set -eu
srcdir=${top_srcdir:-.}
command -v mandoc >/dev/null 2>&1 || { echo "mandoc not installed (apt-get install mandoc)"; exit 77; }
n=0
for page in "$srcdir"/docs/*.[1-8]; do
	[ -e "$page" ] || continue
	mandoc -Tlint -W warning "$page"
	n=$((n + 1))
done
echo "linted $n man pages"
[ "$n" -gt 0 ]
