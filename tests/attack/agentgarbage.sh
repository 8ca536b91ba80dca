#!/bin/bash
# SPDX-License-Identifier: MIT
# agentgarbage.sh (attack suite, issue #7 item 9, second half): a guest agent
# that answers garbage (with or without NUL bytes), or one 100 MB line. Each
# variant is its own box booted with yg_agent=garbage / nulgarbage / bigline
# on the kernel command line: the
# guest's init then runs a fake agent on the agent port from boot instead of
# qemu-ga (guest/tiny/init), so libvirt connects to it as to a real one.
# A login against it (agent_timeout = 5s) must fail within a bound with ERROR
# 8 (AGENT) naming the box; the session child's peak memory and libvirtd's
# growth must stay bounded, the box must end paused at clean-state, and the
# broker must serve the next client.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_require_root
yg_init
yg_start_libvirt
yg_guest_build
YA_NAME=garbage
YA_AGENT_TIMEOUT=5s
. "$top_srcdir/tests/attack/lib-attack.sh"
out=$YG_TMP/out
# bounds: the agent wait (5 s) + resume + the failure's revert, under TCG
: "${YA_AGENT_FAIL_MAX:=30}"
: "${YA_CHILD_HWM_MAX_KB:=65536}"
: "${YA_LIBVIRTD_GROWTH_MAX_KB:=307200}"
variants="garbage nulgarbage bigline"

# fake_box VARIANT: define and boot yg-at-VARIANT-$$ with the fake agent
# (not waited for: they all boot at once).
fake_box() {
	yg_box_define "yg-at-$1-$$" 256 "yg_agent=$1"
	yg_virsh start "yg-at-$1-$$" > /dev/null || yg_fail "virsh start yg-at-$1-$$ failed" "yg-at-$1-$$"
}
# fake_box_ready VARIANT: wait for the fake agent's line and the shell prompt
# on the serial console and for libvirt to see the agent port open (not for
# an answer: the agent is fake), then snapshot clean-state (with memory) and
# leave the box paused at it.
fake_box_ready() {
	local b=yg-at-$1-$$ serial i
	serial=$YG_IMAGES/$b.serial.log
	for ((i = 0; i < 600; i++)); do
		grep -q "yg_agent=$1: a fake" "$serial" 2>/dev/null && grep -q 'yolo-box# ' "$serial" &&
			yg_virsh dumpxml "$b" | grep -q "name='org.qemu.guest_agent.0' state='connected'" &&
			break
		sleep 0.1
	done
	[ "$i" -lt 600 ] ||
		yg_fail "$b: no fake agent, shell prompt or connected agent channel within 60 s of boot" "$b"
	yg_virsh snapshot-create-as "$b" clean-state > /dev/null ||
		yg_fail "virsh snapshot-create-as $b clean-state failed" "$b"
	yg_virsh snapshot-revert "$b" clean-state --paused ||
		yg_fail "virsh snapshot-revert $b clean-state --paused failed" "$b"
	yg_expect_clean "$b"
}

t0=$(yg_now_ms)
for v in $variants; do fake_box "$v"; done
for v in $variants; do fake_box_ready "$v"; done
yg_timing setup_boxes "$(yg_since "$t0")"
ya_start_broker

lvd=$(pgrep -x libvirtd | head -n 1)
for v in $variants; do
	box=yg-at-$v-$$
	ya_reload
	lvd_rss0=$(ya_kb "$lvd" VmRSS)
	lvd_hwm0=$(ya_kb "$lvd" VmHWM)
	ya_hwm_start "$YG_TMP/hwm"
	t0=$(yg_now_ms)
	rc=0
	as_user timeout 120 "$client" "$sock" open > "$out" 2>/dev/null || rc=$?
	secs=$(yg_since "$t0")
	wait_idle 60 || yg_fail "$v: the failed login's session child did not end"
	ya_hwm_stop
	yg_timing "agent_${v}_to_error" "$secs"
	[ "$rc" != 124 ] || yg_fail "$v: the login did not end within 120 s: $(cat "$out")"
	grep -q "^ERROR 8 .*guest agent of box $box did not answer within 5 s" "$out" ||
		yg_fail "$v: the login did not fail with a clear ERROR 8 (AGENT): $(cat -v "$out")"
	awk -v s="$secs" -v m="$YA_AGENT_FAIL_MAX" 'BEGIN { exit !(s <= m) }' ||
		yg_fail "$v: the login took $secs s to fail, more than $YA_AGENT_FAIL_MAX s"
	yg_log "$v: the user got: $(grep '^ERROR' "$out" | cat -v)"
	# libvirt's message can quote the reply: only printable ASCII may pass
	! LC_ALL=C grep '^ERROR' "$out" | LC_ALL=C grep -q '[^[:print:]]' ||
		yg_fail "$v: the ERROR holds raw bytes from the guest: $(grep '^ERROR' "$out" | cat -v)"
	# libvirt's last error tells that it read the replies: it marks the
	# agent broken on a reply it cannot parse and after 10 MB without a
	# newline; a NUL ends its search for the end of the line, so garbage with
	# NULs looks like silence (the sync times out)
	want='QEMU guest agent is not available due to an error'
	[ "$v" != nulgarbage ] || want="($want|Guest agent not available for now)"
	grep '^ERROR' "$out" | grep -Eq "last error: Guest agent is not responding: $want\)" ||
		yg_fail "$v: libvirt's last error is not the expected '$want': the fake agent may not have been reached" "$box"
	grep 'event=login_failed' "$glog" | tail -n 1 | grep -qF "guest\x20agent\x20of\x20box\x20$box\x20did\x20not\x20answer" ||
		yg_fail "$v: the broker log has no line for the failed agent wait"
	yg_expect_clean "$box"
	grep 'event=session_end' "$glog" | tail -n 1 | grep -q 'result=clean' ||
		yg_fail "$v: the failed login did not end clean: $(grep session_end "$glog" | tail -n 1)"
	hwm=$(cat "$YG_TMP/hwm")
	kill -0 "$lvd" 2>/dev/null || yg_fail "$v: libvirtd died"
	lvd_rss1=$(ya_kb "$lvd" VmRSS)
	lvd_hwm1=$(ya_kb "$lvd" VmHWM)
	yg_timing "agent_${v}_child_hwm_kb" "$hwm"
	yg_timing "agent_${v}_libvirtd_rss_kb" "$lvd_rss0->$lvd_rss1"
	yg_timing "agent_${v}_libvirtd_hwm_kb" "$lvd_hwm0->$lvd_hwm1"
	[ "$hwm" -gt 0 ] || yg_fail "$v: no session child was sampled (VmHWM 0)"
	[ "$hwm" -le "$YA_CHILD_HWM_MAX_KB" ] ||
		yg_fail "$v: the session child's VmHWM reached $hwm kB (bound $YA_CHILD_HWM_MAX_KB)"
	[ $((lvd_hwm1 - lvd_hwm0)) -le "$YA_LIBVIRTD_GROWTH_MAX_KB" ] ||
		yg_fail "$v: libvirtd's VmHWM grew from $lvd_hwm0 to $lvd_hwm1 kB"
	[ $((lvd_rss1 - lvd_rss0)) -le "$YA_LIBVIRTD_GROWTH_MAX_KB" ] ||
		yg_fail "$v: libvirtd's VmRSS grew from $lvd_rss0 to $lvd_rss1 kB"

	# The broker still serves the next client.
	"$client" "$sock" account "$user" > "$out" || true
	grep -q '^POLICY 1 1' "$out" || yg_fail "$v: the broker did not serve ACCOUNT afterwards: $(cat "$out")"
	"$client" "$sock" badversion > "$out" || true
	grep -q '^ERROR 2 ' "$out" || yg_fail "$v: a bad HELLO version afterwards got no ERROR 2: $(cat "$out")"
done

ya_log_clean
kill -0 "$gated_pid" || yg_fail "the broker died"
yg_log "PASS"
