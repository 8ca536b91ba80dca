#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the yolo-gate .deb from a source tree (default: this checkout) with
# dpkg-buildpackage -us -uc -b, in a temporary copy of the tree (the tree
# itself is never configured or modified), and leaves the .deb files in
# OUTDIR. As root, installs the packaging tools when they are missing.
#
#   packaging/build-deb.sh OUTDIR [SRCDIR]
#
# Environment: DEB_BUILD_OPTIONS (e.g. nocheck to skip the unit tier, or
# parallel=N), KEEP=1 keeps the temporary copy for inspection.
set -eu
me=build-deb
die() { echo "$me: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: $0 OUTDIR [SRCDIR]"
mkdir -p "$1"
out=$(cd "$1" && pwd)
src=$(cd "${2:-$(dirname "$0")/..}" && pwd)
[ -f "$src/configure.ac" ] && [ -d "$src/packaging/debian" ] ||
	die "$src is not a yolo-gate source tree (no configure.ac or packaging/debian)"

tools="debhelper dh-autoreconf fakeroot"
missing=
for p in $tools; do
	dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	[ "$(id -u)" = 0 ] ||
		die "missing packaging tools:$missing; install them as root (apt-get install$missing)"
	echo "$me: installing$missing" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

# The package version must be the tree's version (AC_INIT in configure.ac).
upstream=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$src/configure.ac")
debver=$(sed -n '1s/^[^ ]* (\([^)-]*\).*/\1/p' "$src/packaging/debian/changelog")
[ "$upstream" = "$debver" ] ||
	die "configure.ac says version '$upstream' but packaging/debian/changelog says '$debver'; add a changelog entry for $upstream"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/yg-deb.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$tmp"' EXIT
tree="$tmp/yolo-gate-$upstream"
mkdir "$tree"
# Sources only: no VCS data, no autotools cache, no in-tree build products.
(cd "$src" && tar -cf - --exclude=.git --exclude=autom4te.cache \
	--exclude=./build --exclude=./debian --exclude='*.o' --exclude='*.lo' \
	--exclude=.libs --exclude=.deps --exclude=config.status --exclude=config.log .) |
	(cd "$tree" && tar -xf -)
cp -R "$src/packaging/debian" "$tree/debian"
chmod 755 "$tree/debian/rules"

echo "$me: building yolo-gate $upstream in $tree" >&2
(cd "$tree" && dpkg-buildpackage -us -uc -b) > "$tmp/build.log" 2>&1 || {
	tail -n 60 "$tmp/build.log" >&2
	die "dpkg-buildpackage failed (full log above; KEEP=1 keeps $tmp)"
}
n=0
for deb in "$tmp"/*.deb; do
	[ -e "$deb" ] || continue
	cp "$deb" "$out/"
	echo "$out/${deb##*/}"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || die "dpkg-buildpackage produced no .deb (log: KEEP=1 keeps $tmp/build.log)"
