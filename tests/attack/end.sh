#!/bin/bash
# SPDX-License-Identifier: MIT
# end.sh: `yolo-gatectl end` and the broker's records of dead children.
#  - a stale session record that names the broker's parent process: `end`
#    refuses it (the lock is not held by that session) and the broker lives;
#    a stray SIGUSR1 to the parent does not end it either;
#  - a session child killed with SIGKILL: the parent removes its session
#    record, so nothing lists it or signals its pid again.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_box_broker yge
yg_user_policy
yg_gated_start "$conf" "$sock" "$log"
as_user() { setpriv --reuid="$user" --regid=nogroup --clear-groups "$@"; }

# 1. A stale record naming the broker's parent.
sid=0123456789abcdef
printf 'yg-session 1\nbox=%s\nuser=%s\nuid=%s\nfrom=-\npid=%s\nstarted=%s\nlast_active=0\nidle_end=0\nmax_end=0\nrecord=-\n' \
	"$box" "$user" "$(id -u "$user")" "$YG_GATED_PID" "$(date +%s)" > "$run/sessions/$sid"
chown "$YG_SVC" "$run/sessions/$sid"
rc=0
"$ctl" end --config "$conf" "$sid" > "$YG_TMP/end.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || yg_fail "end of a stale record should fail with 1, not $rc: $(cat "$YG_TMP/end.out")"
grep -q "no session $sid is running" "$YG_TMP/end.out" ||
	yg_fail "end did not say the session is not running: $(cat "$YG_TMP/end.out")"
kill -0 "$YG_GATED_PID" 2>/dev/null || yg_fail "yolo-gatectl end killed the broker's parent"
"$ctl" sessions --config "$conf" 2>&1 | grep -q "^$sid" &&
	yg_fail "sessions lists the stale record as a live session"
kill -USR1 "$YG_GATED_PID"
sleep 0.5
kill -0 "$YG_GATED_PID" 2>/dev/null || yg_fail "a stray SIGUSR1 ended the broker's parent"
rm -f "$run/sessions/$sid"

# 2. A session child killed with SIGKILL: its record goes with it.
as_user "$client" "$sock" open send 'echo u""p-ok\r' expect 'up-ok' pause 120 eof \
	> "$YG_TMP/out" 2>&1 &
cpid=$!
for ((i = 0; i < 600; i++)); do
	grep -q 'event=session_ready' "$log" && break
	sleep 0.1
done
grep -q 'event=session_ready' "$log" || yg_fail "no session_ready: $(cat "$log")"
live=$(sed -n 's/.*event=session_ready session=\([0-9a-f]*\) .*/\1/p' "$log" | tail -n 1)
[ -f "$run/sessions/$live" ] || yg_fail "no session record for $live"
child=$(sed -n 's/^pid=//p' "$run/sessions/$live")
"$ctl" sessions --config "$conf" | grep -q "^$live" || yg_fail "sessions does not list $live"
kill -9 "$child"
for ((i = 0; i < 50; i++)); do
	[ -e "$run/sessions/$live" ] || break
	sleep 0.1
done
[ ! -e "$run/sessions/$live" ] || yg_fail "the record of the killed child $child is still there"
grep -q "event=stale_session_removed session=$live" "$log" || yg_fail "no stale_session_removed: $(cat "$log")"
# the client itself (setpriv's child, not $cpid's), still in its pause
pkill -KILL -u "$user" 2>/dev/null || true
kill "$cpid" 2>/dev/null || true
wait "$cpid" 2>/dev/null || true
kill -0 "$YG_GATED_PID" 2>/dev/null || yg_fail "the broker died"
echo "end.sh: ok: end refuses a stale record naming the parent, SIGUSR1 spares it, a killed child's record is removed"
