#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the yolo-gate RPMs from a `make dist` tarball with rpmbuild, and
# leaves them in OUTDIR. Without TARBALL, configures a temporary build of
# this checkout (out of tree) and runs `make dist` first.
#
#   packaging/build-rpm.sh OUTDIR [TARBALL]
#
# On Debian (the `rpm` package provides rpmbuild), BuildRequires name RPM
# packages that rpm's empty database cannot satisfy: the build uses --nodeps
# there, and the Debian -dev packages (packaging/deps.sh) provide the
# headers. KEEP=1 keeps the temporary directory.
set -eu
me=build-rpm
die() { echo "$me: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: $0 OUTDIR [TARBALL]"
mkdir -p "$1"
out=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v rpmbuild >/dev/null 2>&1; then
	[ "$(id -u)" = 0 ] || die "rpmbuild not found; install it as root (apt-get install rpm)"
	echo "$me: installing rpm" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rpm
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/yg-rpm.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$tmp"' EXIT

if [ $# -ge 2 ]; then
	tarball=$(cd "$(dirname "$2")" && pwd)/${2##*/}
	[ -f "$tarball" ] || die "$2: no such tarball"
else
	[ -x "$src/configure" ] ||
		die "$src/configure missing: run 'autoreconf -fi' in $src first"
	mkdir "$tmp/dist"
	(cd "$tmp/dist" && "$src/configure" && make dist) > "$tmp/dist.log" 2>&1 || {
		tail -n 40 "$tmp/dist.log" >&2
		die "make dist failed (log above)"
	}
	tarball=$(ls "$tmp"/dist/yolo-gate-*.tar.gz)
fi

nodeps=
[ -r /etc/debian_version ] && nodeps=--nodeps
echo "$me: rpmbuild -tb ${tarball##*/} $nodeps" >&2
rpmbuild -tb $nodeps --define "_topdir $tmp/rpmbuild" "$tarball" \
	> "$tmp/rpmbuild.log" 2>&1 || {
	tail -n 60 "$tmp/rpmbuild.log" >&2
	die "rpmbuild failed (log above; KEEP=1 keeps $tmp)"
}
n=0
for rpm in "$tmp"/rpmbuild/RPMS/*/*.rpm; do
	[ -e "$rpm" ] || continue
	cp "$rpm" "$out/"
	echo "$out/${rpm##*/}"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || die "rpmbuild produced no RPM"
