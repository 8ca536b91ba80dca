#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks the generated systemd units, tmpfiles.d and sysusers.d files offline:
#  - `systemd-analyze verify` on the units (any message fails the test), with
#    the binaries they run replaced by stubs so the check needs no install;
#  - `systemd-sysusers --root` creates the service user, in the libvirt group,
#    in a scratch root; `systemd-tmpfiles --root` then creates the runtime
#    directories there with the right owners and modes (owners: root only).
# Skips (77) without systemd's tools, fails instead when CI=true.
set -eu
srcdir=${top_srcdir:-.}
builddir=${top_builddir:-.}
me=verify-units

skip() {
	if [ "${CI:-}" = true ]; then
		echo "$me: FAIL: $1, and CI=true forbids skipping" >&2
		exit 1
	fi
	echo "$me: SKIP: $1" >&2
	exit 77
}
fail() { echo "$me: FAIL: $*" >&2; exit 1; }

for t in systemd-analyze systemd-sysusers systemd-tmpfiles; do
	command -v "$t" >/dev/null 2>&1 ||
		skip "$t not found (apt-get install systemd)"
done

units="yolo-gated.service yolo-gated.socket yolo-gate-sweep.service yolo-boxd.service"
gen=$(cd "$builddir/packaging" && pwd)
for u in $units; do
	[ -f "$gen/systemd/$u" ] || fail "$gen/systemd/$u missing: run make first"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/yg-units.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/units" "$tmp/bin" "$tmp/root"

# Stub every program an Exec line runs, then point the units at the stubs.
for u in $units; do
	sed -n 's/^Exec[A-Za-z]*=[-@+!:]*\([^ ]*\).*/\1/p' "$gen/systemd/$u"
done | sort -u > "$tmp/programs"
[ -s "$tmp/programs" ] || fail "no Exec lines found in the units"
exprs=
while read -r prog; do
	name=${prog##*/}
	printf '#!/bin/sh\nexit 0\n' > "$tmp/bin/$name"
	chmod 755 "$tmp/bin/$name"
	exprs="$exprs -e s|=$prog\\b|=$tmp/bin/$name|"
done < "$tmp/programs"
for u in $units; do
	# shellcheck disable=SC2086
	sed $exprs "$gen/systemd/$u" > "$tmp/units/$u"
done

(cd "$tmp/units" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no $units) \
	> "$tmp/verify.out" 2>&1 || true
if [ -s "$tmp/verify.out" ]; then
	cat "$tmp/verify.out" >&2
	fail "systemd-analyze verify reported the problems above"
fi
echo "$me: systemd-analyze verify: $units: clean"

# The hardening must stay: these lines are part of the security model.
for want in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
	PrivateTmp=yes RestrictAddressFamilies=AF_UNIX CapabilityBoundingSet= \
	LockPersonality=yes MemoryDenyWriteExecute=yes RestrictNamespaces=yes \
	SystemCallArchitectures=native Type=notify SupplementaryGroups=libvirt; do
	grep -qx "$want" "$tmp/units/yolo-gated.service" ||
		fail "yolo-gated.service lost '$want' (see STYLE.md, systemd units)"
done
grep -q '^ReadWritePaths=.*/yolo-gate$' "$tmp/units/yolo-gated.service" ||
	fail "yolo-gated.service: ReadWritePaths must name the runtime directory"
if grep -q '^PrivateUsers=' "$tmp/units/yolo-gated.service"; then
	fail "yolo-gated.service: PrivateUsers= breaks SO_PEERCRED uids"
fi

# sysusers: the service user exists in a scratch root and is in libvirt.
user=$(sed -n 's/^u \([^ ]*\) .*/\1/p' "$gen/sysusers.d/yolo-gate.conf")
[ -n "$user" ] || fail "no 'u' line in sysusers.d/yolo-gate.conf"
mkdir -p "$tmp/root/etc"
systemd-sysusers --root="$tmp/root" "$gen/sysusers.d/yolo-gate.conf" \
	> "$tmp/sysusers.out" 2>&1 || { cat "$tmp/sysusers.out" >&2; fail "systemd-sysusers failed"; }
grep -q "^$user:" "$tmp/root/etc/passwd" || fail "sysusers did not create $user"
grep -q "^libvirt:.*[:,]$user\(,\|$\)" "$tmp/root/etc/group" ||
	fail "sysusers did not put $user in group libvirt"
shell=$(grep "^$user:" "$tmp/root/etc/passwd" | cut -d: -f7)
case $shell in
*/nologin|*/false) ;;
*) fail "$user has a login shell ($shell)";;
esac
grep -q "^yolo-users:" "$tmp/root/etc/group" ||
	fail "sysusers did not create the group yolo-users (the sshd snippet's Match Group)"
echo "$me: systemd-sysusers: $user created, member of libvirt, shell $shell; group yolo-users"

# tmpfiles: syntax always; creation with owners and modes needs root (chown).
if [ "$(id -u)" != 0 ]; then
	echo "$me: not root: tmpfiles creation (owners, modes) not checked" >&2
	exit 0
fi
systemd-tmpfiles --root="$tmp/root" --create "$gen/tmpfiles.d/yolo-gate.conf" \
	> "$tmp/tmpfiles.out" 2>&1 || { cat "$tmp/tmpfiles.out" >&2; fail "systemd-tmpfiles failed"; }
check_dir() {
	path=$(sed -n "s|^d \\([^ ]*$1\\) .*|\\1|p" "$gen/tmpfiles.d/yolo-gate.conf" | head -n 1)
	[ -n "$path" ] || fail "no tmpfiles line for $1"
	# systemd-tmpfiles rewrites the legacy /var/run/ to /run/.
	case $path in /var/run/*) path=/run/${path#/var/run/};; esac
	[ -d "$tmp/root$path" ] || fail "tmpfiles did not create $path"
	uid=$(grep "^$user:" "$tmp/root/etc/passwd" | cut -d: -f3)
	got=$(stat -c '%a %u' "$tmp/root$path")
	[ "$got" = "$2 $uid" ] || fail "$path is '$got' (mode uid), want '$2 $uid' ($user)"
	echo "$me: systemd-tmpfiles: $path mode $2 owner $user"
}
check_dir /yolo-gate 755
check_dir /yolo-gate/boxes 700
check_dir /yolo-gate/sessions 700
check_dir /log/yolo-gate 750
check_dir /log/yolo-gate/sessions 700
