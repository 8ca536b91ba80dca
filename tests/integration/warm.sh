#!/bin/bash
# SPDX-License-Identifier: MIT
# warm.sh: what a logout leaves behind, by policy.
#  - revert = login: the box is not reverted at logout, but paused: nothing
#    of the session keeps running until the next login reverts it;
#  - warm = no: after the logout revert the box is shut off (its memory is
#    freed); the next login reverts it and works as usual, and
#    yolo-gatectl sweep leaves such a shut-off box alone.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_box_broker ygw
as_user() { setpriv --reuid="$user" --regid=nogroup --clear-groups "$@"; }
ends() { grep -c 'event=session_end' "$log" 2>/dev/null || true; }
login() { # login MARK: one session that writes MARK into the box, then EOF
	local n
	n=$(ends)
	as_user "$client" "$sock" open send "echo $1 > /tmp/mark; echo m\"\"ark-ok\r" \
		expect 'mark-ok' eof > "$YG_TMP/out" 2>&1 ||
		yg_fail "the login ($1) failed: $(cat "$YG_TMP/out")" "$box"
	for ((i = 0; i < 600; i++)); do
		[ "$(ends)" -gt "$n" ] && return 0
		sleep 0.1
	done
	yg_fail "no session_end within 60 s of EOF ($1)" "$box"
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
echo "warm.sh: ok: revert = login leaves the box paused, warm = no shuts it off (and sweep leaves it so), the next logins work"
