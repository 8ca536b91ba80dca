#!/bin/bash
# SPDX-License-Identifier: MIT
# session.sh: issue #8 against a real box: idle warning then end, idle =
# output keeps a printing session alive, max_session, yolo-gatectl sessions
# --json and end --message, the JSON audit log, a .cast recording.  One box,
# one broker (as a temporary service user); time limits in seconds.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_require_root
gated=$top_builddir/src/gated/yolo-gated
client=$top_builddir/tests/integration/gatedclient
ctl=$top_builddir/src/ctl/yolo-gatectl
yg_require_built "$gated" "$client" "$ctl"
command -v jq >/dev/null || yg_fail "jq is missing; install it (apt-get install jq)"
yg_init
yg_start_libvirt
yg_guest_build

user=ygss$$
box=yg-it-sess-$$
gated_pid=
yg_tmp_user "$user"
yg_service_user ygss$$s
svc=$YG_SVC
yg_box_create "$box"

conf=$YG_TMP/conf
yg_gate_conf "$conf" "socket = $YG_TMP/unused.sock" "run_dir = $YG_TMP/run" \
	"service_user = $svc" "audit_log = $YG_TMP/audit/audit.jsonl" \
	"record_dir = $YG_TMP/rec" "record_max_size = 1M"
mkdir -p "$conf/keys.d" "$YG_TMP/audit" "$YG_TMP/rec"
chown "$svc" "$YG_TMP/audit" "$YG_TMP/rec"
printf 'YG_TEST_KEY=k%s\nYG_OTHER=v\n' "$RANDOM" > "$conf/keys.d/$user.env"
chmod 0600 "$conf/keys.d/$user.env"
chown "$svc" "$conf/keys.d/$user.env"
chmod 0755 "$YG_TMP" "$conf" "$conf/policy.d"

# policy EXTRA-LINES...: the user's section plus the given lines, reloaded.
reloads=0
policy() {
	{
		printf '[user:%s]\ndomain = %s\nkeys = %s/keys.d/%%u.env\nagent_timeout = 60s\n' \
			"$user" "$box" "$conf"
		printf '%s\n' "$@"
	} > "$conf/policy.d/10-test.conf"
	chmod 0644 "$conf/policy.d/10-test.conf"
	[ -n "$gated_pid" ] || return 0
	reloads=$((reloads + 1))
	kill -HUP "$gated_pid"
	for ((i = 0; i < 50; i++)); do
		[ "$(grep -c 'event=reloaded' "$YG_TMP/gated.log")" -ge "$reloads" ] && return 0
		sleep 0.1
	done
	yg_fail "yolo-gated did not reload its policy: $(tail -n 5 "$YG_TMP/gated.log")"
}
policy 'idle_timeout = 6' 'idle_warning = 3'

sock=$YG_TMP/gated.sock
yg_gated_start "$conf" "$sock" "$YG_TMP/gated.log"
gated_pid=$YG_GATED_PID
as_user() { setpriv --reuid="$user" --regid=nogroup --clear-groups "$@"; }
out=$YG_TMP/out
con=$YG_TMP/console

# 1. idle_timeout 6 s, idle_warning 3 s: a warning on the console, then the end.
t0=$(yg_now_ms)
as_user "$client" "$sock" open wait > "$out" 2> "$con" || true
yg_timing idle_session "$(yg_since "$t0")"
grep -q '^EXIT 1 idle timeout' "$out" || yg_fail "idle_timeout did not end the session: $(cat "$out")"
grep -q '\[yolo-gate\] idle: this session ends in [0-9]* s' "$con" ||
	yg_fail "no idle warning on the console: $(tr -c '[:print:]\n' . < "$con" | tail -n 5)"
yg_expect_clean "$box"

# 2. idle = output: a guest that keeps printing keeps its session (8 s of
#    output, idle_timeout 4 s); the same with idle = input ends it.
policy 'idle_timeout = 4' 'idle_warning = 0' 'idle = output'
as_user "$client" "$sock" open \
	send 'for i in 1 2 3 4 5 6 7 8; do echo tick-$i; sleep 1; done; echo ticks-""done\r' \
	expect 'ticks-done' eof > "$out" 2> "$con" || true
grep -q '^EXPECT-OK ticks-done' "$out" ||
	yg_fail "idle = output: the printing session was ended: $(cat "$out")"
policy 'idle_timeout = 4' 'idle_warning = 0' 'idle = input'
as_user "$client" "$sock" open \
	send 'for i in 1 2 3 4 5 6 7 8; do echo tick-$i; sleep 1; done; echo ticks-""done\r' \
	wait > "$out" 2> "$con" || true
grep -q '^EXIT 1 idle timeout' "$out" ||
	yg_fail "idle = input: output kept the session alive: $(cat "$out")"

# 3. max_session: a busy session still ends on time.
policy 'max_session = 8'
t0=$(yg_now_ms)
as_user "$client" "$sock" open send 'while :; do echo busy; sleep 1; done\r' wait \
	> "$out" 2> "$con" || true
grep -q '^EXIT 1 maximum session time' "$out" || yg_fail "max_session did not end it: $(cat "$out")"
yg_timing max_session_8s "$(yg_since "$t0")"

# 4. sessions --json while a session runs, then end --message; recording on.
policy 'record = yes'
as_user "$client" "$sock" open send 'echo rec-""marker-$((6*7))\r' expect 'rec-marker-42' wait \
	> "$out" 2> "$con" &
cl_pid=$!
sid=
for ((i = 0; i < 600; i++)); do
	sid=$("$ctl" sessions --config "$conf" --json 2>/dev/null |
		jq -r --arg u "$user" '.[] | select(.user == $u) | .id' 2>/dev/null || true)
	[ -n "$sid" ] && grep -q 'EXPECT-OK rec-marker-42' "$out" && break
	sleep 0.1
done
[ -n "$sid" ] || yg_fail "yolo-gatectl sessions --json did not list the session"
"$ctl" sessions --config "$conf" --json | jq -e --arg u "$user" --arg b "$box" \
	'.[0].user == $u and .[0].box == $b and (.[0].started > 0) and (.[0].record | endswith(".cast"))' \
	>/dev/null || yg_fail "sessions --json: $("$ctl" sessions --config "$conf" --json)"
"$ctl" sessions --config "$conf" | grep -q "^$sid $user" || yg_fail "sessions table lacks $sid"
"$ctl" end --config "$conf" --message 'maintenance at noon' "$sid" ||
	yg_fail "yolo-gatectl end failed"
wait "$cl_pid" || true
grep -q '^EXIT 1 session ended by an administrator: maintenance at noon' "$out" ||
	yg_fail "the user did not see the end message: $(cat "$out")"
yg_expect_clean "$box"
rc_end=0
"$ctl" end --config "$conf" "$sid" 2>/dev/null || rc_end=$?
[ "$rc_end" = 1 ] || yg_fail "end of a finished session should fail with 1, not $rc_end"

# 5. The recording replays: asciinema v2 header, then [time, "o", text] lines.
cast=$(ls "$YG_TMP/rec/$user/"*"-$sid.cast")
[ "$(stat -c '%a %U' "$cast")" = "600 $svc" ] || yg_fail "$cast: mode/owner $(stat -c '%a %U' "$cast")"
head -n 1 "$cast" | jq -e '.version == 2 and .width > 0 and .height > 0' >/dev/null ||
	yg_fail "bad .cast header: $(head -n 1 "$cast")"
tail -n +2 "$cast" | jq -e -s 'length > 0 and all(.[]; (.[0] | type) == "number" and .[1] == "o" and (.[2] | type) == "string")' \
	>/dev/null || yg_fail "bad .cast events in $cast"
# -j joins the events: the guest's output may be split anywhere.
tail -n +2 "$cast" | jq -j '.[2]' | grep -q 'rec-marker-42' || yg_fail "the recording lacks the output"

# 6. The audit log: JSON lines that match the events above.
audit=$YG_TMP/audit/audit.jsonl
[ "$(stat -c '%a %U' "$audit")" = "600 $svc" ] || yg_fail "$audit: mode/owner $(stat -c '%a %U' "$audit")"
jq -e -s 'length > 0' "$audit" >/dev/null || yg_fail "the audit log does not parse as JSON lines"
ev() { jq -c -s --arg u "$user" "[.[] | select(.user == \$u) | $1] | length" "$audit"; }
[ "$(ev 'select(.event == "session_ready")')" -ge 5 ] || yg_fail "audit: too few session_ready"
[ "$(ev 'select(.event == "session_end" and .reason == "idle_timeout")')" -ge 2 ] || yg_fail "audit: no idle end"
[ "$(ev 'select(.event == "session_end" and .reason == "max_session")')" -ge 1 ] || yg_fail "audit: no max end"
[ "$(ev 'select(.event == "session_end" and .reason == "ended_by_admin" and .message == "maintenance at noon")')" = 1 ] ||
	yg_fail "audit: no admin end with its message"
[ "$(ev 'select(.event == "keys_injected" and .names == "YG_TEST_KEY,YG_OTHER")')" -ge 5 ] ||
	yg_fail "audit: keys_injected without the key names"
[ "$(ev 'select(.event == "reverted" and (.ms | tonumber) > 0)')" -ge 5 ] || yg_fail "audit: reverts without duration"
! grep -q "$(sed -n 's/^YG_TEST_KEY=//p' "$conf/keys.d/$user.env")" "$audit" || yg_fail "a key value is in the audit log"
grep -q 'event=session_end' "$YG_TMP/gated.log" || yg_fail "no session_end in the broker's log"

# 7. concurrent = attach: a second login joins the running console read-write;
#    both see what either types; one leaves, the other keeps working; the
#    box is reverted only when the last one leaves.
policy 'concurrent = attach'
outa=$YG_TMP/out-a outb=$YG_TMP/out-b
t0=$(yg_now_ms)
as_user "$client" "$sock" open send 'echo a-""one-$((1+1))\r' expect 'a-one-2' \
	expect 'b-two-3' send 'echo a-""after-$((2+5))\r' expect 'a-after-7' \
	expect '(1 still attached)' send 'echo c-""three-$((1+3))\r' expect 'c-three-4' exit \
	> "$outa" 2> "$YG_TMP/con-a" &
a_pid=$!
for ((i = 0; i < 600; i++)); do
	grep -q 'EXPECT-OK a-one-2' "$outa" && break
	sleep 0.1
done
grep -q 'EXPECT-OK a-one-2' "$outa" || yg_fail "attach: the first client did not start: $(cat "$outa")"
as_user "$client" "$sock" open send 'echo b-""two-$((1+2))\r' expect 'b-two-3' expect 'a-after-7' exit \
	> "$outb" 2> "$YG_TMP/con-b" || yg_fail "attach: the second client failed: $(cat "$outb")"
grep -q '^EXIT 0 detached' "$outb" || yg_fail "attach: the second client was not detached alone: $(cat "$outb")"
wait "$a_pid" || yg_fail "attach: the first client failed: $(cat "$outa")"
yg_timing attach_two_clients "$(yg_since "$t0")"
sid_a=$(sed -n 's/^READY \([0-9a-f]*\) .*/\1/p' "$outa")
[ -n "$sid_a" ] && [ "$sid_a" = "$(sed -n 's/^READY \([0-9a-f]*\) .*/\1/p' "$outb")" ] ||
	yg_fail "attach: READY with different session ids: $(grep READY "$outa" "$outb")"
grep -q '^EXIT 0 session closed' "$outa" || yg_fail "attach: the last client's end: $(cat "$outa")"
yg_expect_clean "$box"
[ "$(ev "select(.event == \"attach\" and .session == \"$sid_a\")")" = 1 ] || yg_fail "audit: no attach event"
[ "$(ev "select(.event == \"detach\" and .session == \"$sid_a\" and .reason == \"client_exit\")")" = 1 ] ||
	yg_fail "audit: no detach event"
[ "$(ev "select(.event == \"session_end\" and .session == \"$sid_a\")")" = 1 ] ||
	yg_fail "audit: the attached session did not end once"
