#!/bin/bash
# SPDX-License-Identifier: MIT
# killchild.sh: a session child killed with SIGKILL (as the OOM killer or a
# crash would end it) leaves no box running with the user's processes and
# keys. For revert = logout and revert = login, a session with keys in the
# guest is started and its child killed; within the cleanup bound (30 s):
#  - an audit line event=cleanup, the box reverted (revert = logout: paused
#    from its snapshot) or paused with the session's files (revert = login);
#  - the cleanup held the box lock (its lock record names the dead session
#    and its own pid), the run_dir records are gone;
#  - run again, the box has no key file (asked through its agent);
#  - the next login works and lands clean (the killed session's file gone).
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_box_broker ygk
as_user() { setpriv --reuid="$user" --regid=nogroup --clear-groups "$@"; }
audit=$YG_TMP/audit.jsonl
printf 'audit_log = %s\n' "$audit" >> "$conf/gate.conf"
install -m 0600 -o "$YG_SVC" /dev/null "$audit"
mkdir -p "$conf/keys.d"
secret=secret-$RANDOM$RANDOM$RANDOM
printf 'YG_TEST_KEY=%s\n' "$secret" > "$conf/keys.d/$user.env"
chmod 0600 "$conf/keys.d/$user.env"
chown "$YG_SVC" "$conf/keys.d/$user.env"
keys="keys = $conf/keys.d/%u.env"
yg_user_policy "$keys"
yg_gated_start "$conf" "$sock" "$log"
count() { grep -c "$1" "$log" 2>/dev/null || true; }
wait_count() { # PATTERN N SECS: until PATTERN is in the log N times
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(count "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

cpid=
yg_on_cleanup '[ -z "$cpid" ] || kill "$cpid" 2>/dev/null'

# kill_one POLICY OUTCOME: a session, its child killed, the checks above.
kill_one() {
	local policy=$1 n live child t0 state holder pid rc
	n=$(count 'event=session_ready')
	as_user "$client" "$sock" open \
		send 'echo dirty > /tmp/mark; cat /run/yolo/keys.env\r' \
		expect "YG_TEST_KEY=$secret" pause 120 eof > "$YG_TMP/out" 2>&1 &
	cpid=$!
	wait_count 'event=session_ready' $((n + 1)) 60 ||
		yg_fail "no session_ready ($policy): $(cat "$YG_TMP/out")" "$box"
	for ((i = 0; i < 600; i++)); do
		grep -q 'EXPECT-OK YG_TEST_KEY' "$YG_TMP/out" && break
		sleep 0.1
	done
	grep -q 'EXPECT-OK YG_TEST_KEY' "$YG_TMP/out" ||
		yg_fail "the key is not in the guest ($policy): $(cat "$YG_TMP/out")" "$box"
	live=$(sed -n 's/.*event=session_ready session=\([0-9a-f]*\) .*/\1/p' "$log" | tail -n 1)
	child=$(sed -n 's/^pid=//p' "$run/sessions/$live")
	t0=$(yg_now_ms)
	kill -9 "$child"
	for ((i = 0; i < 400; i++)); do
		grep -q "event=cleanup session=$live" "$log" && break
		sleep 0.1
	done
	grep -q "event=cleanup session=$live" "$log" ||
		yg_fail "no cleanup of the killed child's box within 40 s ($policy); the box is '$(yg_domstate "$box")'" "$box"
	yg_timing "cleanup_${policy#revert = }" "$(yg_since "$t0")"
	kill "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	grep "event=cleanup session=$live" "$log" | grep -q "outcome=$2 wipe=done" ||
		yg_fail "the cleanup ($policy) should end with outcome=$2 wipe=done: $(grep 'event=cleanup' "$log")"
	grep -q "\"event\":\"cleanup\",\"session\":\"$live\".*\"outcome\":\"$2\"" "$audit" ||
		yg_fail "no cleanup line in the audit log: $(cat "$audit")"
	state=$(yg_domstate "$box")
	case $policy in
	*logout) yg_expect_clean "$box" ;;
	*) [ "$state" = "paused (user)" ] ||
		yg_fail "with revert = login the killed session's box should be paused, not '$state'" "$box" ;;
	esac
	[ ! -e "$run/sessions/$live" ] || yg_fail "the killed child's session record is still there"
	read -r _ _ _ holder pid _ < "$run/boxes/$box.lock"
	[ "$holder" = "$live" ] && [ "$pid" != "$child" ] ||
		yg_fail "the cleanup did not take the box lock: $(cat "$run/boxes/$box.lock")"
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	! kill -0 "$pid" 2>/dev/null || yg_fail "the cleanup process $pid is still running"

	# Run again: no key file (wiped, or gone with the revert).
	yg_virsh resume "$box" >/dev/null || yg_fail "virsh resume failed" "$box"
	yg_wait_agent "$box" 30 || yg_fail "no agent after the resume" "$box"
	rc=$(yg_guest_exec "$box" /bin/test -e /run/yolo/keys.env) || yg_fail "guest-exec failed" "$box"
	[ "$rc" = 1 ] || yg_fail "the key file is still in the box after the cleanup ($policy)" "$box"
	rc=$(yg_guest_exec "$box" /bin/test -e /tmp/mark) || yg_fail "guest-exec failed" "$box"
	case $policy in
	*logout) [ "$rc" = 1 ] || yg_fail "revert = logout: the cleanup did not revert the box" "$box" ;;
	*) [ "$rc" = 0 ] || yg_fail "revert = login: the cleanup reverted the box instead of pausing it" "$box" ;;
	esac
	yg_virsh suspend "$box" >/dev/null || yg_fail "virsh suspend failed" "$box"

	# The next login works, from a clean box.
	n=$(count 'event=session_end')
	as_user "$client" "$sock" open \
		send 'cat /tmp/mark; cat /run/yolo/keys.env; echo n""ext-ok\r' \
		expect 'next-ok' eof > "$YG_TMP/out" 2> "$YG_TMP/console" ||
		yg_fail "the login after the cleanup failed ($policy): $(cat "$YG_TMP/out")" "$box"
	! grep -q dirty "$YG_TMP/console" || yg_fail "the next login found the killed session's file"
	grep -q "YG_TEST_KEY=$secret" "$YG_TMP/console" || yg_fail "the next login got no keys"
	wait_count 'event=session_end' $((n + 1)) 60 || yg_fail "no session_end after the next login"
}

kill_one 'revert = logout' reverted
yg_user_policy "$keys" 'revert = login'
kill -HUP "$YG_GATED_PID"
wait_count 'event=reloaded' 1 10 || yg_fail "the broker did not reload its policy"
kill_one 'revert = login' paused
kill -0 "$YG_GATED_PID" 2>/dev/null || yg_fail "the broker died"
echo "killchild.sh: ok: a killed session child's box is wiped and reverted (revert = logout) or paused (revert = login) by a cleanup child that holds its lock; the next login lands clean"
