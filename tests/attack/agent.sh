#!/bin/bash
# SPDX-License-Identifier: MIT
# agent.sh (attack suite, issue #7 item 9): a guest agent that never answers.
# A snapshot of the box taken with qemu-ga and yolo-boxd stopped (SIGSTOP:
# their ports stay open, nothing answers). A login against it (agent_timeout = 3s) must fail
# within a bound with ERROR 8 (AGENT) and a sentence naming the box, the box
# must end paused at that snapshot, the session child's peak memory and
# libvirtd's must stay bounded, and the broker must serve the next login.
# An agent answering garbage or a 100 MB line: tests/attack/agentgarbage.sh
# (a fake agent from boot, chosen by yg_agent= on the kernel command line).
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_init_guest
YA_NAME=agent
YA_SNAPSHOT=stopped
YA_AGENT_TIMEOUT=3s
. "$top_srcdir/tests/attack/lib-attack.sh"
yg_box_create "$box"
out=$YG_TMP/out
serial=$YG_IMAGES/$box.serial.log
# bounds: the agent wait (3 s) + resume + the failure's revert, under TCG
: "${YA_AGENT_FAIL_MAX:=20}"
: "${YA_CHILD_HWM_MAX_KB:=65536}"
: "${YA_LIBVIRTD_GROWTH_MAX_KB:=65536}"

# both guest daemons stopped: a login tries yolo-boxd first (HELLO within
# 2 s), then the agent
script_stopped='sleep 1; kill -STOP $(pidof qemu-ga) $(pidof yolo-boxd); echo "YGMARK-$1-ready" > /dev/ttyS0'

# make_snapshot NAME SCRIPT: from clean-state, run SCRIPT (sh -c, in the
# background, $1 = NAME) in the guest, wait for its mark on the serial
# console, snapshot the box as NAME, leave it paused at NAME.
make_snapshot() {
	local name=$1 script=$2 i
	yg_virsh snapshot-revert "$box" clean-state --running ||
		yg_fail "virsh snapshot-revert $box clean-state --running failed" "$box"
	yg_wait_agent "$box" 30 || yg_fail "the agent of $box did not answer after the revert" "$box"
	yg_agent "$box" "$(jq -nc --arg s "($script) </dev/null >/dev/null 2>/dev/ttyS0 &" --arg n "$name" \
		'{execute: "guest-exec", arguments: {path: "/bin/sh", arg: ["-c", $s, "sh", $n]}}')" \
		> /dev/null || yg_fail "guest-exec of the $name set-up failed" "$box"
	for ((i = 0; i < 300; i++)); do
		grep -q "YGMARK-$name-ready" "$serial" 2>/dev/null && break
		sleep 0.1
	done
	grep -q "YGMARK-$name-ready" "$serial" ||
		yg_fail "the $name set-up did not report ready on the serial console within 30 s" "$box"
	yg_virsh snapshot-create-as "$box" "$name" > /dev/null ||
		yg_fail "virsh snapshot-create-as $box $name failed" "$box"
	yg_virsh snapshot-revert "$box" "$name" --paused ||
		yg_fail "virsh snapshot-revert $box $name --paused failed" "$box"
}

t0=$(yg_now_ms)
make_snapshot stopped "$script_stopped"
yg_timing setup_snapshot "$(yg_since "$t0")"
make_snapshot agentonly 'sleep 1; kill -STOP $(pidof qemu-ga); echo "YGMARK-$1-ready" > /dev/ttyS0'
ya_start_broker

# Only qemu-ga stopped: yolo-boxd does the login's keys (no agent call), and
# the logout's wipe; the box ends at its snapshot.
YA_SNAPSHOT=agentonly ya_reload
yg_virsh snapshot-revert "$box" agentonly --paused
as_user timeout 120 "$client" "$sock" open send 'cat /run/yolo/keys.env\r' expect "$secret" eof \
	> "$out" 2>/dev/null || yg_fail "agentonly: the login with qemu-ga stopped failed: $(cat "$out")"
wait_idle 60 || yg_fail "agentonly: the session did not end"
grep 'event=keys_injected' "$glog" | tail -n 1 | grep -q 'by=yolo-boxd' ||
	yg_fail "agentonly: the keys did not go in by yolo-boxd: $(grep keys_injected "$glog" | tail -n 1)"
! grep -q 'event=keys_wipe_failed' "$glog" || yg_fail "agentonly: the keys' wipe failed"
ya_expect_at "$box" agentonly
yg_log "agentonly: keys in and out by yolo-boxd with qemu-ga stopped"

lvd=$(pgrep -x libvirtd | head -n 1)
for snap in stopped; do
	YA_SNAPSHOT=$snap ya_reload
	yg_virsh snapshot-revert "$box" "$snap" --paused
	lvd_rss0=$(ya_kb "$lvd" VmRSS)
	lvd_hwm0=$(ya_kb "$lvd" VmHWM)
	ya_hwm_start "$YG_TMP/hwm"
	t0=$(yg_now_ms)
	rc=0
	as_user timeout 120 "$client" "$sock" open > "$out" 2>/dev/null &
	cpid=$!
	wait "$cpid" || rc=$?
	secs=$(yg_since "$t0")
	wait_idle 60 || yg_fail "$snap: the failed login's session child did not end"
	ya_hwm_stop
	yg_timing "agent_${snap}_to_error" "$secs"
	[ "$rc" != 124 ] || yg_fail "$snap: the login did not end within 120 s: $(cat "$out")"
	grep -q "^ERROR 8 .*guest agent of box $box did not answer within 3 s" "$out" ||
		yg_fail "$snap: the login did not fail with a clear ERROR 8 (AGENT): $(cat "$out")"
	awk -v s="$secs" -v m="$YA_AGENT_FAIL_MAX" 'BEGIN { exit !(s <= m) }' ||
		yg_fail "$snap: the login took $secs s to fail, more than $YA_AGENT_FAIL_MAX s"
	yg_log "$snap: the user got: $(grep '^ERROR' "$out")"
	grep 'event=login_failed' "$glog" | tail -n 1 | grep -qF "guest\x20agent\x20of\x20box\x20$box\x20did\x20not\x20answer" ||
		yg_fail "$snap: the broker log has no line for the failed agent wait"
	ya_expect_at "$box" "$snap"
	grep 'event=session_end' "$glog" | tail -n 1 | grep -q 'result=clean' ||
		yg_fail "$snap: the failed login did not end clean: $(grep session_end "$glog" | tail -n 1)"
	hwm=$(cat "$YG_TMP/hwm")
	kill -0 "$lvd" 2>/dev/null || yg_fail "$snap: libvirtd died"
	lvd_rss1=$(ya_kb "$lvd" VmRSS)
	lvd_hwm1=$(ya_kb "$lvd" VmHWM)
	yg_timing "agent_${snap}_child_hwm_kb" "$hwm"
	yg_timing "agent_${snap}_libvirtd_rss_kb" "$lvd_rss0->$lvd_rss1"
	yg_timing "agent_${snap}_libvirtd_hwm_kb" "$lvd_hwm0->$lvd_hwm1"
	[ "$hwm" -le "$YA_CHILD_HWM_MAX_KB" ] ||
		yg_fail "$snap: the session child's VmHWM reached $hwm kB (bound $YA_CHILD_HWM_MAX_KB)"
	[ $((lvd_hwm1 - lvd_hwm0)) -le "$YA_LIBVIRTD_GROWTH_MAX_KB" ] ||
		yg_fail "$snap: libvirtd's VmHWM grew from $lvd_hwm0 to $lvd_hwm1 kB"
	[ $((lvd_rss1 - lvd_rss0)) -le "$YA_LIBVIRTD_GROWTH_MAX_KB" ] ||
		yg_fail "$snap: libvirtd's VmRSS grew from $lvd_rss0 to $lvd_rss1 kB"
done

# The broker still serves: the same box at clean-state works.
YA_SNAPSHOT=clean-state ya_reload
as_user timeout 120 "$client" "$sock" open send 'echo a""live\r' expect alive eof > "$out" 2>/dev/null ||
	yg_fail "the login at clean-state after the hostile agents failed: $(cat "$out")" "$box"
wait_idle 60 || yg_fail "the last login did not end"
yg_expect_clean "$box"
ya_log_clean
kill -0 "$gated_pid" || yg_fail "the broker died"
yg_log "PASS"
