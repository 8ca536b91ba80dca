#!/bin/sh
# SPDX-License-Identifier: MIT
# socketmode.sh: yolo-gated's socket gets its mode 0666 at bind(2), from the
# umask; no chmod or chown of it by path afterwards (as root, in a directory
# the service user owns, a path can be swapped for a symlink in between).
# Runs as any user (as root with --stay-root); strace shows the syscalls.
set -eu
b=${top_builddir:-.}
gated=$b/src/gated/yolo-gated
export YG_GATED_MODULE=$b/src/gated/.libs/yolo-gated-session.so
skip() {
	echo "socketmode.sh: SKIP: $*" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
}
command -v strace >/dev/null || skip "strace not found (packaging/deps.sh installs it)"
[ -x "$gated" ] || { echo "socketmode.sh: build yolo-gated first"; exit 1; }
tmp=$(mktemp -d /tmp/ygsock.XXXXXX)
chmod 755 "$tmp"
pid= gpid=
cleanup() {
	# the broker itself: strace ends with its tracee
	[ -z "$gpid" ] || kill "$gpid" 2>/dev/null || true
	[ -z "$pid" ] || wait "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
mkdir -m 755 "$tmp/conf"
opts=
if [ "$(id -u)" = 0 ]; then
	user=root opts=--stay-root
else
	user=$(id -un)
fi
printf '[gate]\nrun_dir = %s/run\nsocket = %s/run/gated.sock\nservice_user = %s\n' \
	"$tmp" "$tmp" "$user" > "$tmp/conf/gate.conf"
chmod 644 "$tmp/conf/gate.conf"
sock=$tmp/run/gated.sock
strace -f -qq -o "$tmp/trace" -e trace=chmod,fchmodat,chown,lchown,fchownat \
	"$gated" --config "$tmp/conf" --log-stderr $opts 2> "$tmp/log" &
pid=$!
i=0
until [ -S "$sock" ] && grep -q 'event=started' "$tmp/log"; do
	i=$((i + 1))
	[ "$i" -lt 200 ] || { cat "$tmp/log"; echo "socketmode.sh: FAIL: no socket"; exit 1; }
	sleep 0.05
done
gpid=$(sed -n 's/^yolo-gated\[\([0-9]*\)\]: event=started.*/\1/p' "$tmp/log")
mode=$(stat -c %a "$sock")
[ "$mode" = 666 ] || { echo "socketmode.sh: FAIL: $sock is mode $mode, not 666"; exit 1; }
if grep -F "$sock" "$tmp/trace"; then
	echo "socketmode.sh: FAIL: the broker changed its socket by path (above)"
	exit 1
fi
echo "socketmode.sh: ok: $sock is 0666 from bind, no chmod/chown by path"
