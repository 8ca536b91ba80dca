#!/bin/bash
# SPDX-License-Identifier: MIT
# libvirtd.sh (attack suite, issue #7 item 8): libvirtd restarted mid-session
# and mid-revert. The session must end with a message to the user within a
# bound (or go on), the broker must live, and the next login must start from
# a clean box and end clean.
# libvirtd is shared by every test of the machine: this script restarts it
# twice, each time holding the lock yg_start_libvirt takes, and waits until
# `virsh version` answers again.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_init_guest
YA_NAME=lvd
. "$top_srcdir/tests/attack/lib-attack.sh"
yg_box_create "$box"
ya_start_broker
out=$YG_TMP/out
: "${YA_END_MAX:=30}"

# next_login WHAT: a login works, the guest shows no mark of before, the box ends clean
next_login() {
	as_user timeout 120 "$client" "$sock" open \
		send "[ -e /tmp/$mark ] && echo FO\"\"UND; echo n\"\"ext\r" expect next eof \
		> "$out" 2> "$YG_TMP/console" || yg_fail "$1: the next login failed: $(cat "$out")" "$box"
	! grep -q FOUND "$YG_TMP/console" || yg_fail "$1: the next login saw the last session's file"
	wait_idle 60 || yg_fail "$1: the next login did not end"
	yg_expect_clean "$box"
}
# ended CPID WHAT: the client ends within YA_END_MAX s with EXIT or ERROR
ended() {
	local i
	for ((i = 0; i < YA_END_MAX * 10; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		kill "$1"
		yg_fail "$2: the client was still connected $YA_END_MAX s after libvirtd came back: $(cat "$out")"
	fi
	wait "$1" || true
	grep -q '^EXIT\|^ERROR' "$out" || yg_fail "$2: the user got no message: $(cat "$out")"
	yg_log "$2: the user got: $(grep '^EXIT\|^ERROR' "$out")"
}

# 1. Mid-session.
mark=m$$-$RANDOM
as_user "$client" "$sock" open send "echo 1 > /tmp/$mark; echo r\"\"dy\r" expect rdy wait \
	> "$out" 2>/dev/null &
cpid=$!
wait_out "$out" '^EXPECT-OK rdy' 120 || yg_fail "the login before the restart failed: $(cat "$out")"
t0=$(yg_now_ms)
ya_restart_libvirtd
yg_timing libvirtd_down_mid_session "$ya_down_s"
ended "$cpid" "mid-session"
yg_timing mid_session_restart_to_end "$(yg_since "$t0")"
wait_idle 60 || yg_fail "mid-session: the session child did not end"
grep 'event=session_end' "$glog" | tail -n 1 | grep -q . ||
	yg_fail "mid-session: no session_end in the broker log"
yg_log "mid-session: $(grep 'event=session_end' "$glog" | tail -n 1)"
kill -0 "$gated_pid" || yg_fail "the broker died when libvirtd restarted"
next_login "mid-session"

# 2. Mid-revert: the client ends the session, libvirtd goes down during the
#    revert that follows.
as_user "$client" "$sock" open send "echo 1 > /tmp/$mark; echo r\"\"dy\r" expect rdy exit \
	> "$out" 2>/dev/null &
cpid=$!
wait_out "$out" '^EXPECT-OK rdy' 120 || yg_fail "the login before the revert failed: $(cat "$out")"
n=$(grep -c 'event=session_end' "$glog" || true)
# the wipe of the keys takes ~0.2 s, the revert ~2 s
sleep 0.6
t0=$(yg_now_ms)
ya_restart_libvirtd
yg_timing libvirtd_down_mid_revert "$ya_down_s"
ended "$cpid" "mid-revert"
wait_log $((n + 1)) 'event=session_end' 60 || yg_fail "mid-revert: the session did not end"
wait_idle 60 || yg_fail "mid-revert: the session child did not end"
yg_log "mid-revert: $(grep 'event=reverted\|event=revert_failed' "$glog" | tail -n 1)"
next_login "mid-revert"
ya_log_clean
kill -0 "$gated_pid" || yg_fail "the broker died"
yg_log "PASS"
