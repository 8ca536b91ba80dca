#!/bin/bash
# SPDX-License-Identifier: MIT
# shell.sh (attack suite, item 1 and the client half of item 14): yolo-shell
# started with argc = 0, with a hostile environment (LD_PRELOAD,
# BASH_FUNC_x%%, a 64 KiB TERM, TERM=../x, escape sequences), and (as root)
# from a setuid copy or a copy with a file capability.
# The hostile environment is sent to tests/attack/attackclient's fake broker,
# which dumps every byte yolo-shell sent: only a scrubbed TERM may arrive.
# No root needed; the setuid/setcap cases run only as root (CI runs as root).
set -euo pipefail
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
shell=$top_builddir/src/shell/yolo-shell
ac=$top_builddir/tests/attack/attackclient
log() { printf '%s\n' "shell.sh: $*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
for p in "$shell" "$ac"; do
	[ -x "$p" ] || { log "ERROR: $p does not exist; build it first (make check)"; exit 99; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/yg-attack-shell.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0
# yolo-shell refuses root: as root, the cases run as nobody.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
run() { "$@"; }
if [ "$(id -u)" = 0 ]; then
	chown nobody "$tmp"
	run() { as_nobody "$@"; }
	# nobody may not be able to reach the build tree (a 0700 package build
	# directory, say): run copies from $tmp, which nobody owns.
	for p in "$shell" "$ac"; do
		if [ -x "$top_builddir/libtool" ]; then
			"$top_builddir/libtool" --quiet --mode=install install -m 0755 "$p" "$tmp/" >/dev/null
		else
			install -m 0755 "$p" "$tmp/"
		fi
	done
	shell=$tmp/yolo-shell ac=$tmp/attackclient
fi

# 1. argc = 0 (argv = { NULL }): refused with a message, nothing else done.
rc=0
YOLO_GATE_SOCKET=$tmp/none.sock run "$ac" execnull "$shell" > "$tmp/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "yolo-shell with argc = 0 exited $rc, not 1: $(cat "$tmp/out")"
grep -q 'started without a program name; refusing' "$tmp/out" ||
	fail "yolo-shell with argc = 0 did not say why it refused: $(cat "$tmp/out")"
grep -q 'cannot connect' "$tmp/out" && fail "yolo-shell with argc = 0 tried the broker"
pass=$((pass + 1))

# 2. Hostile environments: what reaches the broker is a scrubbed TERM only.
big=$(head -c 65536 /dev/zero | tr '\0' x)
esc=$'\e]0;pwned\a\e[31m'
hostile() {	# NAME TERM-VALUE EXPECTED-TERM
	local name=$1 term=$2 want=$3 sock=$tmp/fake.sock rc=0 got
	run "$ac" fakebroker "$sock" > "$tmp/fb.out" 2> "$tmp/fb.hex" &
	local fb=$!
	for ((i = 0; i < 100; i++)); do
		[ -S "$sock" ] && break
		sleep 0.05
	done
	run env -i PATH=/usr/bin:/bin HOME="$tmp" TERM="$term" \
		LD_PRELOAD=/nonexistent/yg-evil.so \
		'BASH_FUNC_x%%=() { echo pwned-func; }' \
		YOLO_GATE_SESSION="../../etc/$esc" \
		EVIL_MARK=evil-mark-7731 \
		YOLO_GATE_SOCKET="$sock" \
		"$shell" < /dev/null > "$tmp/sh.out" 2>&1 || rc=$?
	wait "$fb" || fail "$name: the fake broker saw no proper HELLO + OPEN: $(cat "$tmp/fb.out")"
	[ "$rc" = 1 ] || fail "$name: yolo-shell exited $rc after an ERROR, not 1: $(cat "$tmp/sh.out")"
	got=$(sed -n 's/^TERM //p' "$tmp/fb.out")
	[ "$got" = "$want" ] || fail "$name: the broker got TERM '${got:0:80}', not '$want'"
	grep -q '^SESSION $' "$tmp/fb.out" ||
		fail "$name: a hostile YOLO_GATE_SESSION was sent: $(grep SESSION "$tmp/fb.out")"
	grep -q '^MODE 1$' "$tmp/fb.out" || fail "$name: stdin is no tty, but OPEN asked for a tty"
	# the dump is real: the TERM sent is in it
	hex=$(printf '%s' "$want" | od -An -tx1 | tr -d ' \n')
	grep -q "$hex" "$tmp/fb.hex" || fail "$name: the fake broker's dump lacks the TERM sent"
	# nothing of the environment in any byte sent (hex of the markers)
	for mark in pwned evil-mark yg-evil.so; do
		hex=$(printf '%s' "$mark" | od -An -tx1 | tr -d ' \n')
		if grep -q "$hex" "$tmp/fb.hex"; then
			fail "$name: '$mark' from the environment reached the broker"
		fi
	done
	# the ERROR text is shown, control characters escaped
	grep -q 'fake broker: no box here' "$tmp/sh.out" ||
		fail "$name: the broker's ERROR was not shown: $(cat "$tmp/sh.out")"
	if LC_ALL=C grep -q $'\e' "$tmp/sh.out"; then
		fail "$name: yolo-shell printed a raw escape character"
	fi
	pass=$((pass + 1))
}
hostile "64 KiB TERM" "$big" vt100
hostile "TERM=../x" "../x" vt100
hostile "TERM with escapes" "xterm$esc" vt100
hostile "TERM with a newline" $'xterm\nEVIL=1' vt100
hostile "a plain TERM" "xterm-256color" xterm-256color

# 3. Root only: a setuid copy and a copy with a file capability refuse to run.
if [ "$(id -u)" = 0 ]; then
	chmod 0755 "$tmp"
	install -m 4755 -o root "$shell" "$tmp/yolo-shell-suid"
	rc=0
	YOLO_GATE_SOCKET=$tmp/none.sock as_nobody "$tmp/yolo-shell-suid" < /dev/null \
		> "$tmp/out" 2>&1 || rc=$?
	[ "$rc" = 1 ] || fail "a setuid-root yolo-shell exited $rc, not 1: $(cat "$tmp/out")"
	grep -q 'running setuid/setgid or with file capabilities' "$tmp/out" ||
		fail "a setuid-root yolo-shell did not refuse: $(cat "$tmp/out")"
	pass=$((pass + 1))
	install -m 2755 -g root "$shell" "$tmp/yolo-shell-sgid"
	rc=0
	YOLO_GATE_SOCKET=$tmp/none.sock as_nobody "$tmp/yolo-shell-sgid" < /dev/null \
		> "$tmp/out" 2>&1 || rc=$?
	[ "$rc" = 1 ] && grep -q 'running setuid/setgid' "$tmp/out" ||
		fail "a setgid yolo-shell did not refuse (exit $rc): $(cat "$tmp/out")"
	pass=$((pass + 1))
	if command -v setcap >/dev/null; then
		install -m 0755 "$shell" "$tmp/yolo-shell-cap"
		setcap cap_net_raw+ep "$tmp/yolo-shell-cap" ||
			fail "setcap on $tmp/yolo-shell-cap failed (a filesystem without xattrs?)"
		rc=0
		YOLO_GATE_SOCKET=$tmp/none.sock as_nobody "$tmp/yolo-shell-cap" < /dev/null \
			> "$tmp/out" 2>&1 || rc=$?
		[ "$rc" = 1 ] && grep -q 'with file capabilities\|capabilit' "$tmp/out" ||
			fail "yolo-shell with a file capability did not refuse (exit $rc): $(cat "$tmp/out")"
		pass=$((pass + 1))
	elif [ "${CI:-}" = true ]; then
		fail "setcap (libcap2-bin) is not installed; CI must test file capabilities"
	else
		log "note: setcap (libcap2-bin) is not installed: the file capability case is skipped"
	fi
else
	log "note: not root: the setuid and file capability cases are skipped"
fi
echo "$pass passed, 0 failed"
