#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/e2e/deb.sh: the Debian package, installed for real. Builds the .deb
# with packaging/build-deb.sh, installs it with apt-get, checks files, modes,
# the service user, the units, `yolo-gatectl check`, `yolo-shell -c`, the
# man pages, runs the login and PAM end-to-end tests against the installed
# binaries, then purges it and checks what purge removes.
# Root only: skips (77) otherwise, fails instead when CI=true.
set -eu
me=deb.sh
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
pkg=yolo-gate
user=yolo-gate
installed_by_us=0
tmp=

say() { echo "$me: $*"; }
skip() {
	if [ "${CI:-}" = true ]; then
		echo "$me: FAIL: $1, and CI=true forbids skipping" >&2
		exit 1
	fi
	echo "$me: SKIP: $1" >&2
	exit 77
}
fail() { echo "$me: FAIL: $*" >&2; exit 1; }
prior=
cleanup() {
	if [ "$installed_by_us" = 1 ]; then
		apt-get purge -y -q "$pkg" >/dev/null 2>&1 || true
	fi
	[ -z "$prior" ] || restore_prior
	[ -z "$tmp" ] || rm -rf "$tmp"
}

# A yolo-gate installed before this test (the README's demo, an admin's
# install) is saved first, as a .deb (dpkg-repack) and a copy of
# /etc/yolo-gate (policy, keys), and put back at the end, whatever the test's
# outcome: the test needs a fresh install and a purge, the machine keeps its own.
save_prior() {
	command -v dpkg-repack >/dev/null 2>&1 ||
		fail "$pkg is installed here and dpkg-repack is needed to put it back afterwards (apt-get install dpkg-repack)"
	mkdir "$tmp/prior"
	(cd "$tmp/prior" && dpkg-repack "$pkg") > "$tmp/repack.log" 2>&1 ||
		{ cat "$tmp/repack.log" >&2; fail "dpkg-repack $pkg failed: cannot save the installed package"; }
	tar -C / -cpf "$tmp/prior/etc.tar" etc/yolo-gate ||
		fail "cannot save /etc/yolo-gate of the installed package"
	prior=$(ls "$tmp/prior/${pkg}_"*.deb)
	say "saved the installed ${prior##*/} and /etc/yolo-gate; they are put back at the end"
}
restore_prior() {
	local_deb=$prior
	prior=
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall "$local_deb" \
		> "$tmp/restore.log" 2>&1 ||
		{ cat "$tmp/restore.log" >&2; echo "$me: FAIL: could not reinstall the saved $local_deb" >&2; return 1; }
	tar -C / -xpf "$tmp/prior/etc.tar" ||
		{ echo "$me: FAIL: could not restore /etc/yolo-gate from $tmp/prior/etc.tar" >&2; return 1; }
	say "put back the saved ${local_deb##*/} and /etc/yolo-gate"
}

[ "$(id -u)" = 0 ] || skip "installs a package system-wide; run as root"
command -v dpkg-buildpackage >/dev/null 2>&1 || skip "dpkg-buildpackage not found (apt-get install dpkg-dev)"
trap cleanup EXIT
tmp=$(mktemp -d "${TMPDIR:-/tmp}/yg-deb-test.XXXXXX")
if dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
	save_prior
fi

# ---- build -------------------------------------------------------------
start=$(date +%s)
DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" \
	sh "$srcdir/packaging/build-deb.sh" "$tmp/out" "$srcdir" > "$tmp/debs" ||
	fail "packaging/build-deb.sh failed"
deb=$(grep "/${pkg}_[^/]*\.deb\$" "$tmp/debs" | head -n 1)
[ -n "$deb" ] || fail "no ${pkg}_*.deb among: $(cat "$tmp/debs")"
say "built ${deb##*/} in $(( $(date +%s) - start )) s"

# ---- install -----------------------------------------------------------
installed_by_us=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb" > "$tmp/install.log" 2>&1 || {
	cat "$tmp/install.log" >&2
	fail "apt-get install $deb failed"
}
say "installed"
dpkg -L "$pkg" > "$tmp/files"

# ---- files and modes ---------------------------------------------------
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
# path mode owner
while read -r path mode owner; do
	[ -e "$path" ] || fail "$path is not installed"
	grep -qx "$path" "$tmp/files" || fail "$path exists but is not in the package"
	got=$(stat -c '%a %U' "$path")
	[ "$got" = "$mode $owner" ] || fail "$path is '$got', want '$mode $owner'"
done <<LIST
/usr/sbin/yolo-gated 755 root
/usr/lib/$multiarch/yolo-gate/yolo-gated-session.so 644 root
/usr/sbin/yolo-gatectl 755 root
/usr/bin/yolo-shell 755 root
/lib/$multiarch/security/pam_yolo_gate.so 644 root
/lib/systemd/system/yolo-gated.service 644 root
/lib/systemd/system/yolo-gated.socket 644 root
/lib/systemd/system/yolo-gate-sweep.service 644 root
/usr/lib/tmpfiles.d/yolo-gate.conf 644 root
/usr/lib/sysusers.d/yolo-gate.conf 644 root
/usr/share/doc/yolo-gate/examples/yolo-gate.conf 644 root
LIST
say "binaries, PAM module, units, tmpfiles, sysusers, examples: present, modes right"
if grep -q '\.la$' "$tmp/files"; then fail "libtool .la files are packaged"; fi
# No setuid or setgid file, anywhere in the package: privilege is the broker's.
while read -r f; do
	[ -f "$f" ] || continue
	if [ -n "$(find "$f" -perm /6000)" ]; then fail "$f is setuid or setgid"; fi
done < "$tmp/files"
say "no setuid/setgid file"

for page in yolo-gated yolo-gatectl yolo-shell yolo-gate.conf pam_yolo_gate; do
	grep -q "/usr/share/man/man[1-8]/$page\.[1-8]\.gz\$" "$tmp/files" ||
		fail "man page for $page is not in the package"
done
say "man pages present"

# ---- service user and configuration directories ------------------------
getent passwd "$user" > "$tmp/pw" || fail "service user $user was not created"
case $(cut -d: -f7 "$tmp/pw") in
*/nologin|*/false) ;;
*) fail "$user has a login shell: $(cut -d: -f7 "$tmp/pw")";;
esac
[ "$(cut -d: -f3 "$tmp/pw")" -lt 1000 ] || fail "$user is not a system user (uid >= 1000)"
id -nG "$user" | tr ' ' '\n' | grep -qx libvirt || fail "$user is not in group libvirt"
getent group yolo-users >/dev/null || fail "the group yolo-users (the sshd snippet's Match Group) was not created"
say "service user $user: system, no login shell, in libvirt; group yolo-users"
while read -r path mode owner; do
	got=$(stat -c '%a %U:%G' "$path" 2>/dev/null) || fail "$path was not created"
	[ "$got" = "$mode $owner" ] || fail "$path is '$got', want '$mode $owner'"
done <<LIST
/etc/yolo-gate 755 root:root
/etc/yolo-gate/policy.d 755 root:root
/etc/yolo-gate/keys.d 700 $user:$user
/run/yolo-gate 755 $user:$user
/run/yolo-gate/boxes 700 $user:$user
/run/yolo-gate/sessions 700 $user:$user
/var/log/yolo-gate 750 $user:$user
/var/log/yolo-gate/sessions 700 $user:$user
LIST
say "/etc/yolo-gate and /run/yolo-gate: owners and modes right"

# ---- the installed programs work -----------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
	(cd /lib/systemd/system && systemd-analyze verify --man=no \
		yolo-gated.service yolo-gated.socket yolo-gate-sweep.service) > "$tmp/verify" 2>&1 || true
	[ ! -s "$tmp/verify" ] || { cat "$tmp/verify" >&2; fail "installed units do not verify"; }
	say "installed units verify"
fi
yolo-gatectl check --config /etc/yolo-gate > "$tmp/check" 2>&1 ||
	{ cat "$tmp/check" >&2; fail "yolo-gatectl check --config /etc/yolo-gate failed on the fresh install"; }
say "yolo-gatectl check: OK"
# As an ordinary user: yolo-shell refuses to run as root.
rc=0
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/yolo-shell -c 'echo RAN' 2>&1) || rc=$?
[ "$rc" = 1 ] && echo "$out" | grep -q '^yolo-gate: ' && ! echo "$out" | grep -q RAN ||
	fail "yolo-shell -c as nobody (no box) (rc $rc) did not refuse the remote command: '$out'"
say "yolo-shell -c as a user without a box: refused ('$out', rc $rc)"

# ---- the end-to-end suite against the installed binaries ----------------
# The same scenarios as the build-tree run, with the package's yolo-gated,
# yolo-shell and pam_yolo_gate.so (lib-e2e.sh: YG_E2E_INSTALLED=1).
for t in login pam; do
	if YG_E2E_INSTALLED=1 bash "$srcdir/tests/e2e/$t.sh" > "$tmp/e2e-$t.log" 2>&1 &&
		grep -q "under test: /usr/sbin/yolo-gated /usr/bin/yolo-shell /lib/" "$tmp/e2e-$t.log"; then
		say "e2e $t.sh against the installed package: ok"
	else
		tail -n 40 "$tmp/e2e-$t.log" >&2
		fail "e2e $t.sh against the installed package failed"
	fi
done

# ---- purge -------------------------------------------------------------
install -m 0600 -o "$user" -g "$user" /dev/null /etc/yolo-gate/keys.d/alice.env
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "$pkg" > "$tmp/purge.log" 2>&1 || {
	cat "$tmp/purge.log" >&2
	fail "apt-get purge $pkg failed"
}
installed_by_us=0
if dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q installed; then
	fail "$pkg is still installed after purge"
fi
for path in /usr/sbin/yolo-gated /usr/bin/yolo-shell /lib/systemd/system/yolo-gated.service \
	/etc/yolo-gate/keys.d; do
	[ ! -e "$path" ] || fail "$path is still there after purge"
done
say "purged: binaries, units and the users' keys are gone"
if [ -n "$prior" ]; then
	restore_prior || exit 1
	dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
		fail "the saved $pkg is not installed again"
fi
