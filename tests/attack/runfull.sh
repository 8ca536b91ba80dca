#!/bin/bash
# SPDX-License-Identifier: MIT
# runfull.sh (attack suite, issue #7 item 12): the broker's run_dir on a full
# file system. run_dir is a 64 KiB tmpfs; once the broker runs, it is filled
# (dd until ENOSPC). A login must then fail with a clear ERROR naming run_dir
# and the lack of space, logged, without touching the box; once space is
# freed, the next login works and the box ends clean.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_init_guest
YA_NAME=runfull
. "$top_srcdir/tests/attack/lib-attack.sh"
runfs=$YG_TMP/runfs
mkdir -p "$runfs"
mount -t tmpfs -o size=64k,mode=0755 yg-runfull "$runfs" ||
	yg_fail "cannot mount a 64 KiB tmpfs on $runfs; this test needs mount(8) as root"
# runs before ya_cleanup stops the broker: lazy, so open fds do not block it
yg_on_cleanup 'umount -l "$runfs" 2>/dev/null || true'
run_dir=$runfs/run
ya_write_policy
yg_box_create "$box"
ya_start_broker
out=$YG_TMP/out

login_ok() {	# WHAT
	as_user timeout 120 "$client" "$sock" open send 'echo o""k\r' expect ok eof \
		> "$out" 2>/dev/null || yg_fail "$1: the login failed: $(cat "$out")" "$box"
	wait_idle 60 || yg_fail "$1: the session did not end"
	yg_expect_clean "$box"
}
login_ok "before filling run_dir"

# Fill the file system (tmpfs has no blocks reserved for root).
dd if=/dev/zero of="$runfs/fill" bs=1k 2>/dev/null || true
avail=$(df --output=avail "$runfs" | tail -n 1 | tr -d ' ')
[ "$avail" = 0 ] || yg_fail "$runfs still has $avail kB free after dd"
t0=$(yg_now_ms)
rc=0
as_user timeout 120 "$client" "$sock" open send 'echo o""k\r' expect ok eof \
	> "$out" 2>/dev/null || rc=$?
yg_timing login_run_dir_full "$(yg_since "$t0")"
yg_log "run_dir full: the user got: $(grep '^ERROR\|^EXIT' "$out" || cat "$out")"
[ "$rc" != 0 ] || yg_fail "a login with run_dir full succeeded: the session would have no lock record or session file"
grep -q "^ERROR [0-9]* .*$run_dir.*No space left on device" "$out" ||
	yg_fail "the login with run_dir full did not fail with an ERROR naming run_dir and the lack of space: $(cat "$out")"
grep -q 'event=lock_failed.*No\\x20space\\x20left' "$glog" ||
	yg_fail "the broker log has no lock_failed line saying run_dir is full"
wait_idle 60 || yg_fail "the refused login did not end"
yg_expect_clean "$box"
grep -q '^PROGRESS' "$out" && yg_fail "the refused login got as far as touching the box: $(cat "$out")"
[ -z "$(ls -A "$run_dir/sessions")" ] || yg_fail "session files left: $(ls "$run_dir/sessions")"
kill -0 "$gated_pid" || yg_fail "the broker died of a full run_dir"

# Space again: the next login works.
rm -f "$runfs/fill"
login_ok "after freeing run_dir"
ya_log_clean
kill -0 "$gated_pid" || yg_fail "the broker died"
yg_log "PASS"
