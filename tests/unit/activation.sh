#!/bin/sh
# SPDX-License-Identifier: MIT
# yolo-gated under systemd socket activation (LISTEN_FDS), without systemd as
# PID 1: systemd-socket-activate binds the socket and passes it as fd 3, as
# yolo-gated.socket does. The broker must serve on that socket, not bind its
# own, log activated=yes, and leave the socket file alone when it stops.
# No libvirt needed: a HELLO with a wrong version is answered before any box.
set -eu
b=${top_builddir:-.}
gated=$b/src/gated/yolo-gated
export YG_GATED_MODULE=$b/src/gated/.libs/yolo-gated-session.so
client=$b/tests/integration/gatedclient
skip() {
	echo "activation.sh: SKIP: $*" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
}
command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not found (package systemd)"
[ -x "$gated" ] && [ -x "$client" ] || { echo "activation.sh: build yolo-gated and gatedclient first"; exit 1; }

tmp=$(mktemp -d /tmp/ygact.XXXXXX)
chmod 755 "$tmp"
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
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
cat > "$tmp/conf/gate.conf" <<CONF
[gate]
run_dir = $tmp/run
socket = $tmp/run/bound-by-yolo-gated.sock
service_user = $user
CONF
chmod 644 "$tmp/conf/gate.conf"
sock=$tmp/activated.sock

systemd-socket-activate -l "$sock" -E YG_GATED_MODULE "$gated" --config "$tmp/conf" --log-stderr $opts \
	2> "$tmp/log" &
pid=$!
i=0
until [ -S "$sock" ]; do
	i=$((i + 1)); [ "$i" -lt 100 ] || { cat "$tmp/log"; echo "activation.sh: no socket"; exit 1; }
	sleep 0.05
done
# systemd-socket-activate starts the broker at the first connection.
out=$(timeout 20 "$client" "$sock" badversion 2>&1) || true
echo "$out" | grep -q '^ERROR 2 ' || { cat "$tmp/log"; echo "activation.sh: no ERROR for a bad version: $out"; exit 1; }
i=0
until grep -q 'event=started' "$tmp/log"; do
	i=$((i + 1)); [ "$i" -lt 100 ] || break
	sleep 0.05
done
grep -q 'event=started.*activated=yes' "$tmp/log" ||
	{ cat "$tmp/log"; echo "activation.sh: the broker did not say it was socket-activated"; exit 1; }
[ ! -e "$tmp/run/bound-by-yolo-gated.sock" ] ||
	{ echo "activation.sh: the broker bound its own socket too"; exit 1; }
# A second client on the same activated socket: the broker is still there.
out=$(timeout 20 "$client" "$sock" badversion 2>&1) || true
echo "$out" | grep -q '^ERROR 2 ' || { cat "$tmp/log"; echo "activation.sh: second client not served: $out"; exit 1; }
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
echo "activation.sh: ok: served on the activated socket ($(grep -c 'event=protocol\|version' "$tmp/log") log lines about the bad clients)"
