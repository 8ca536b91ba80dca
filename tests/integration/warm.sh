#!/bin/bash
# SPDX-License-Identifier: MIT
# warm.sh: what a logout leaves behind, by policy.
#  - revert = login: the box is not reverted at logout, but paused: nothing
#    of the session keeps running until the next login reverts it;
#  - warm = no: after the logout revert the box is shut off (its memory is
#    freed); the next login reverts it and works as usual, and
#    yolo-gatectl sweep leaves such a shut-off box alone;
#  - console_hold (default 10m): after the logout revert the session's
#    process keeps the clean box's console open (console_held, lock record
#    "held", status "console held"); the next login takes that console
#    (console=held); a policy reload reaches the login the held process
#    takes (enabled = no refuses it); yolo-gatectl revert ends a hold and
#    reverts; a login handed over as a hold runs out is served (its own
#    console); console_hold = 0 holds nothing.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

command -v jq >/dev/null || yg_fail "this test needs jq (apt-get install jq)"
yg_box_broker ygw
as_user() { setpriv --reuid="$user" --regid=nogroup --clear-groups "$@"; }
ends() { grep -c 'event=session_end' "$log" 2>/dev/null || true; }
ended() { # ended N WHAT: wait (60 s) for more than N session_end events
	for ((i = 0; i < 600; i++)); do
		[ "$(ends)" -gt "$1" ] && return 0
		sleep 0.1
	done
	yg_fail "no session_end within 60 s of EOF ($2)" "$box"
}
login() { # login MARK: one session that writes MARK into the box, then EOF
	local n
	n=$(ends)
	as_user "$client" "$sock" open send "echo $1 > /tmp/mark; echo m\"\"ark-ok\r" \
		expect 'mark-ok' eof > "$YG_TMP/out" 2>&1 ||
		yg_fail "the login ($1) failed: $(cat "$YG_TMP/out")" "$box"
	ended "$n" "$1"
}

# revert = login: paused after the logout, not running; dirty (the next
# login reverts it).
yg_user_policy 'revert = login'
yg_gated_start "$conf" "$sock" "$log"
login one
state=$(yg_domstate "$box")
case $state in
paused*) ;;
*) yg_fail "with revert = login the box should be paused after the logout, not '$state'" "$box" ;;
esac
case $state in
*"from snapshot"*) yg_fail "with revert = login the box should not be reverted at logout" "$box" ;;
esac
grep -q 'event=paused .*why=revert_login' "$log" || yg_fail "no paused event: $(cat "$log")"
login two
grep -q 'event=reverted .*why=paused' "$log" ||
	yg_fail "the second login did not revert the box: $(cat "$log")"
kill "$YG_GATED_PID"; wait "$YG_GATED_PID" 2>/dev/null || true
: > "$log"

# warm = no: shut off after the logout revert; the next login works.
yg_user_policy 'warm = no'
sock=$YG_TMP/gated2.sock	# a new path: the old one may still be there
yg_gated_start "$conf" "$sock" "$log"
login three
state=$(yg_domstate "$box")
case $state in
"shut off"*) ;;
*) yg_fail "with warm = no the box should be shut off after the logout, not '$state'" "$box" ;;
esac
grep -q 'event=reverted .*why=logout' "$log" || yg_fail "no logout revert before the stop: $(cat "$log")"
grep -q 'event=stopped .*why=warm_no' "$log" || yg_fail "no stopped event: $(cat "$log")"
login four
grep -q 'event=reverted .*why=shut' "$log" ||
	yg_fail "the login after a stop did not revert the shut-off box: $(cat "$log")"
kill "$YG_GATED_PID"; wait "$YG_GATED_PID" 2>/dev/null || true
"$ctl" sweep --config "$conf" > "$YG_TMP/sweep" 2>&1 ||
	yg_fail "sweep failed: $(cat "$YG_TMP/sweep")" "$box"
grep -q "box $box is shut off (warm = no)" "$YG_TMP/sweep" ||
	yg_fail "sweep did not leave the shut-off box alone: $(cat "$YG_TMP/sweep")" "$box"
case $(yg_domstate "$box") in
"shut off"*) ;;
*) yg_fail "sweep started the shut-off box: $(yg_domstate "$box")" "$box" ;;
esac
# console_hold (the default): the console stays open after the logout.
: > "$log"
yg_user_policy
sock=$YG_TMP/gated3.sock
yg_gated_start "$conf" "$sock" "$log"
held() { # held N: wait for the Nth console_held event
	for ((i = 0; i < 300; i++)); do
		[ "$(grep -c 'event=console_held' "$log")" -ge "$1" ] && return 0
		sleep 0.1
	done
	yg_fail "no console_held event $1 within 30 s of the logout: $(cat "$log")" "$box"
}
login five
held 1
grep -q "^yg-lock 1 [0-9]* held [0-9]* -" "$run/boxes/$box.lock" ||
	yg_fail "the lock record of a held console is not 'held': $(cat "$run/boxes/$box.lock")"
"$ctl" status --config "$conf" > "$YG_TMP/status" 2>&1 || true
grep -q "$box .*free (console held for the next login)" "$YG_TMP/status" ||
	yg_fail "status does not show the held console as free: $(cat "$YG_TMP/status")"
"$ctl" status --config "$conf" --json > "$YG_TMP/status.json" 2> /dev/null || true
jq -e --arg b "$box" '.boxes[] | select(.domain == $b) | .session == "free" and .console_held' \
	"$YG_TMP/status.json" > /dev/null ||
	yg_fail "status --json: the held box is not free with console_held: $(cat "$YG_TMP/status.json")"
login six
grep 'event=session_ready' "$log" | tail -n 1 | grep -q 'console=held' ||
	yg_fail "the login after a held console did not take it: $(grep session_ready "$log")"
[ "$(grep 'event=session_ready' "$log" | head -n 1 | grep -c 'console=opened')" = 1 ] ||
	yg_fail "the first login should have opened the console: $(grep session_ready "$log")"
held 2
# a reload reaches the login that the held process takes
yg_user_policy 'enabled = no'
kill -HUP "$YG_GATED_PID"
for ((i = 0; i < 100; i++)); do grep -q 'event=reloaded' "$log" && break; sleep 0.1; done
grep -q 'event=reloaded' "$log" || yg_fail "no reload: $(cat "$log")"
as_user "$client" "$sock" open send 'echo no\r' expect no > "$YG_TMP/out" 2>&1 || true
grep -q '^ERROR .*is disabled' "$YG_TMP/out" ||
	yg_fail "a login taken by a held console after enabled = no and a reload was not refused: $(cat "$YG_TMP/out")" "$box"
yg_user_policy
kill -HUP "$YG_GATED_PID"
for ((i = 0; i < 100; i++)); do [ "$(grep -c 'event=reloaded' "$log")" -ge 2 ] && break; sleep 0.1; done
login seven
held 3
# yolo-gatectl revert ends the hold (SIGTERM) and reverts
"$ctl" revert --config "$conf" "$user" > "$YG_TMP/revert" 2>&1 ||
	yg_fail "revert of a box with a held console failed: $(cat "$YG_TMP/revert")" "$box"
for ((i = 0; i < 100; i++)); do grep -q 'event=console_released .*reason=sigterm' "$log" && break; sleep 0.1; done
grep -q 'event=console_released .*reason=sigterm' "$log" ||
	yg_fail "yolo-gatectl revert did not end the hold: $(cat "$log")" "$box"
yg_expect_clean "$box"
# a login handed over as the hold runs out is served, with a console of its
# own: the held process is stopped before its 3 s are up and continued after
# them, so its wait's last turn sees both the timeout and the login
yg_user_policy 'console_hold = 3s'
kill -HUP "$YG_GATED_PID"
for ((i = 0; i < 100; i++)); do [ "$(grep -c 'event=reloaded' "$log")" -ge 3 ] && break; sleep 0.1; done
login nine
held 4
hpid=$(awk '$4 == "held" { print $5 }' "$run/boxes/$box.lock")
[ -n "$hpid" ] || yg_fail "no held process in the lock record: $(cat "$run/boxes/$box.lock")"
kill -STOP "$hpid"
n=$(ends)
as_user "$client" "$sock" open send 'echo late-$((5*2))\r' expect 'late-10' eof \
	> "$YG_TMP/late" 2>&1 &
late=$!
sleep 3.5
kill -CONT "$hpid"
wait "$late" || yg_fail "a login handed over as the hold ran out failed: $(cat "$YG_TMP/late")" "$box"
grep -q 'event=console_released .*reason=timeout' "$log" ||
	yg_fail "the stopped hold did not run out: $(grep console_ "$log")" "$box"
grep 'event=session_ready' "$log" | tail -n 1 | grep -q 'console=opened' ||
	yg_fail "the login served after the hold ran out did not open its console: $(grep session_ready "$log")"
ended "$n" "the late login"
# console_hold = 0: nothing held
yg_user_policy 'console_hold = 0'
kill -HUP "$YG_GATED_PID"
for ((i = 0; i < 100; i++)); do [ "$(grep -c 'event=reloaded' "$log")" -ge 4 ] && break; sleep 0.1; done
n=$(grep -c 'event=console_held' "$log")
login eight
sleep 1
[ "$(grep -c 'event=console_held' "$log")" = "$n" ] ||
	yg_fail "console_hold = 0 still held the console: $(cat "$log")" "$box"
kill "$YG_GATED_PID"; wait "$YG_GATED_PID" 2>/dev/null || true
echo "warm.sh: ok: revert = login leaves the box paused, warm = no shuts it off (and sweep leaves it so), the next logins work; console_hold keeps the console for the next login (which takes it, under a reloaded policy), status shows it, revert ends it, a login as it runs out is served, 0 holds nothing"
