#!/bin/bash
# SPDX-License-Identifier: MIT
# share.sh: issue #13 items 6 and 7 against a real box, without sshd: who may
# join whose session, PREPARE (PAM's request) on a busy box, a login while the
# logout revert runs, and a user whom only a [box:] entry lets in.
#  1. bob, listed only in [box:BOX], opens with no box named: he gets BOX;
#     carol, listed in two [box:] entries, is told to choose (YOLO_BOX), and
#     her PREPARE prepares nothing (a session id, no box);
#  2. alice (concurrent = attach) PREPAREs her box: bob's OPEN is refused
#     (no attach = yes), while prepared and once her shell runs;
#  3. with attach = yes in [box:BOX], bob's PREPARE is answered and his
#     OPEN joins her session; the audit line names both users;
#  4. alice logs out; a PREPARE during the logout revert waits with a
#     PROGRESS line and gets the box;
#  5. concurrent = takeover: PREPARE of the busy box takes it over (the
#     running client is told);
#  6. an OPEN of another box with the PREPAREd session's id gives that
#     session back at once.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_require_root
yg_init
yg_box_broker ygsh
bob=ygshb$$
carol=ygshc$$
ghost=yg-ghost-$$	# listed in [box:] entries, never defined
yg_tmp_user "$bob"
yg_tmp_user "$carol"

# policy CONCURRENT ATTACH: alice's section, [box:BOX] for bob and carol.
reloads=0
policy() {
	yg_user_policy "concurrent = $1"
	printf '\n[box:%s]\nusers = %s %s\nattach = %s\n\n[box:%s]\nusers = %s %s\n' \
		"$box" "$bob" "$carol" "$2" "$ghost" "$carol" "$user" \
		>> "$conf/policy.d/10-test.conf"
	[ -n "${YG_GATED_PID:-}" ] || return 0
	reloads=$((reloads + 1))
	kill -HUP "$YG_GATED_PID"
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -c 'event=reloaded' "$log")" -ge "$reloads" ] && return 0
		sleep 0.1
	done
	yg_fail "yolo-gated did not reload its policy: $(tail -n 5 "$log")"
}
a_pid=
yg_on_cleanup '[ -z "$a_pid" ] || kill "$a_pid" 2>/dev/null'	# a client left waiting
policy attach no
yg_gated_start "$conf" "$sock" "$log"
as() { local u=$1; shift; setpriv --reuid="$u" --regid=nogroup --clear-groups "$client" "$sock" "$@"; }
out=$YG_TMP/out
# until FILE PATTERN: wait up to 60 s for PATTERN in FILE.
until_in() {
	for ((i = 0; i < 600; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	yg_fail "no '$2' in $1 within 60 s: $(cat "$1")"
}

# ---- 1. [box:]-only users
t0=$(yg_now_ms)
as "$bob" open send 'echo b""ob-in\r' expect bob-in exit > "$out" 2>/dev/null ||
	yg_fail "bob (only in [box:$box]) could not open it: $(cat "$out")"
grep -q "^READY [0-9a-f]* $box " "$out" || yg_fail "bob did not get box $box: $(cat "$out")"
yg_timing boxonly_login "$(yg_since "$t0")"
as "$carol" open > "$out" 2>/dev/null || true
grep -q "^ERROR 5 user $carol may enter 2 boxes ($box, $ghost).*YOLO_BOX=NAME" "$out" ||
	yg_fail "carol (two [box:] entries) was not told to choose: $(cat "$out")"
"$client" "$sock" prepare "$carol" > "$out" || true
grep -q '^SESSION [0-9a-f]\{16\}$' "$out" || yg_fail "carol's PREPARE got no SESSION: $(cat "$out")"
grep -q "event=prepare_skipped .*user=$carol" "$log" || yg_fail "carol's PREPARE prepared something"
yg_expect_clean "$box"
yg_log "ok: a [box:]-only user gets that box; with two, the broker says how to choose"

# ---- 2. alice PREPAREs; bob may enter the box but not join her session
"$client" "$sock" prepare "$user" > "$out" || true
sid=$(sed -n 's/^SESSION //p' "$out")
[ -n "$sid" ] || yg_fail "alice's PREPARE gave no SESSION: $(cat "$out")"
as "$bob" open > "$out" 2>/dev/null || true
grep -q "^ERROR 6 box $box is in use .*only its user may attach" "$out" ||
	yg_fail "bob got into alice's PREPAREd session without attach = yes: $(cat "$out")"
as "$user" open --session "$sid" send 'echo a""lice-in\r' expect alice-in wait \
	> "$out.a" 2>/dev/null &
a_pid=$!
until_in "$out.a" '^EXPECT-OK alice-in'
grep -q "^READY $sid $box" "$out.a" || yg_fail "alice's shell did not get $sid: $(cat "$out.a")"
as "$bob" open > "$out" 2>/dev/null || true
grep -q "^ERROR 6 box $box is in use .*only its user may attach" "$out" ||
	yg_fail "bob joined alice's running session without attach = yes: $(cat "$out")"
yg_log "ok: without attach = yes another user cannot join (prepared or running)"

# ---- 3. attach = yes: bob's PREPARE is answered, his OPEN joins; audited
policy attach yes
"$client" "$sock" prepare "$bob" > "$out" || true
bsid=$(sed -n 's/^SESSION //p' "$out")
[ -n "$bsid" ] || yg_fail "bob's PREPARE of a session he may join got no SESSION: $(cat "$out")"
as "$bob" open --session "$bsid" send 'echo b""ob-joined\r' expect bob-joined exit \
	> "$out" 2>/dev/null || yg_fail "bob could not join with attach = yes: $(cat "$out")"
grep -q "^READY $sid $box" "$out" || yg_fail "bob did not join session $sid: $(cat "$out")"
grep -q '^EXIT 0 detached' "$out" || yg_fail "bob's escape did not detach him alone: $(cat "$out")"
grep -q "event=attach session=$sid user=$user .*joiner=$bob" "$log" ||
	yg_fail "no attach audit line naming $user and $bob: $(grep 'event=attach' "$log")"
kill -0 "$a_pid" 2>/dev/null || yg_fail "alice's session ended when bob left: $(cat "$out.a")"
yg_log "ok: attach = yes: bob joined alice's session; audit names both"

# ---- 4. alice logs out; a PREPARE during the revert waits for it (the
#      policy of the next session: concurrent = takeover, for 5)
policy takeover no
t0=$(yg_now_ms)
"$client" "$sock" release "$sid" > "$out" &
r_pid=$!
for ((i = 0; i < 50; i++)); do	# the owner stops taking handoffs as the logout starts
	[ -S "$run/boxes/$box.sock" ] || break
	sleep 0.02
done
"$client" "$sock" prepare "$user" > "$out.p" || true
wait "$r_pid" || true
wait "$a_pid" || true
sid=$(sed -n 's/^SESSION //p' "$out.p")
[ -n "$sid" ] || yg_fail "a PREPARE during the logout revert was refused: $(cat "$out.p")"
grep -q '^PROGRESS box .* waiting for its previous session to end' "$out.p" ||
	yg_fail "the PREPARE during the revert got no PROGRESS line: $(cat "$out.p")"
yg_timing logout_to_prepared "$(yg_since "$t0")"
yg_log "ok: PREPARE during the logout revert waited (PROGRESS) and got the box"

# ---- 5. takeover through PREPARE
as "$user" open --session "$sid" send 'echo f""irst\r' expect first wait > "$out.a" 2>/dev/null &
a_pid=$!
until_in "$out.a" '^EXPECT-OK first'
t0=$(yg_now_ms)
"$client" "$sock" prepare "$user" > "$out.p" || true
sid2=$(sed -n 's/^SESSION //p' "$out.p")
[ -n "$sid2" ] && [ "$sid2" != "$sid" ] ||
	yg_fail "PREPARE of a busy box with concurrent = takeover: $(cat "$out.p")"
wait "$a_pid" || true
grep -q '^EXIT 1 session taken over by a new login' "$out.a" ||
	yg_fail "the running client was not told of the takeover: $(cat "$out.a")"
yg_timing prepare_takeover "$(yg_since "$t0")"
yg_log "ok: PREPARE of a busy box took it over (concurrent = takeover)"

# ---- 6. OPEN of another box gives the PREPAREd one back at once
as "$user" open --box "$ghost" --session "$sid2" > "$out" 2>/dev/null || true
grep -q '^ERROR ' "$out" || yg_fail "OPEN of the undefined $ghost did not fail: $(cat "$out")"
until_in "$log" "event=session_end session=$sid2 .*reason=release"
grep -q "event=release_prepared session=$sid2 " "$log" || yg_fail "no release_prepared for $sid2"
yg_expect_clean "$box"
yg_log "ok: a shell asking for another box released the PREPAREd one"
