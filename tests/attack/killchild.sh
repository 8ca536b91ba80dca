#!/bin/bash
# SPDX-License-Identifier: MIT
# killchild.sh: a session child killed with SIGKILL (as the OOM killer or a
# crash would end it) leaves no box running with the user's processes and
# keys. A session with keys in the guest is started and its child killed:
#  1. revert = logout: within the bound, an audit line event=cleanup, the
#     keys wiped, the box reverted (paused from its snapshot);
#  2. revert = login: the keys wiped, the box paused with the session's
#     files (not reverted);
#  3. revert = login, QEMU stopped (SIGSTOP) before the kill: the agent is
#     silent and the pause hangs on QEMU's monitor; the cleanup is cut at its
#     30 s bound and the box destroyed (shut off).
# Each time: the cleanup held the box lock (its lock record names the dead
# session and its own pid), the run_dir records are gone, run again the box
# has no key file (asked through its agent), and the next login (the next
# case's, then a last one) works and lands clean (the killed session's file
# is gone).
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
policy() { # LINE...: the user's policy, reloaded
	local n
	n=$(count 'event=reloaded')
	yg_user_policy "$keys" "$@"
	kill -HUP "$YG_GATED_PID"
	wait_count 'event=reloaded' $((n + 1)) 10 || yg_fail "the broker did not reload its policy"
}
cpid=''
qemu=''
yg_on_cleanup '[ -z "$cpid" ] || kill "$cpid" 2>/dev/null; [ -z "$qemu" ] || kill -CONT "$qemu" 2>/dev/null'

# A login that lands clean (no /tmp/mark) and has its key, then writes
# /tmp/mark and stays; sets live (its id) and child.
session() {
	local n i
	n=$(count 'event=session_ready')
	as_user "$client" "$sock" open \
		send 'cat /tmp/mark 2>&1 | tr a-z A-Z; echo dirty > /tmp/mark; cat /run/yolo/keys.env\r' \
		expect "YG_TEST_KEY=$secret" wait > "$YG_TMP/out" 2>&1 &
	cpid=$!
	wait_count 'event=session_ready' $((n + 1)) 60 ||
		yg_fail "no session_ready ($what): $(cat "$YG_TMP/out")" "$box"
	for ((i = 0; i < 600; i++)); do
		grep -q 'EXPECT-OK YG_TEST_KEY' "$YG_TMP/out" && break
		sleep 0.1
	done
	grep -q 'EXPECT-OK YG_TEST_KEY' "$YG_TMP/out" ||
		yg_fail "the key is not in the guest ($what): $(cat "$YG_TMP/out")" "$box"
	! grep -q DIRTY "$YG_TMP/out" || yg_fail "the login ($what) found the killed session's file"
	live=$(sed -n 's/.*event=session_ready session=\([0-9a-f]*\) .*/\1/p' "$log" | tail -n 1)
	child=$(sed -n 's/^pid=//p' "$run/sessions/$live")
}

# cleaned OUTCOME WIPE SECS: kill the child; the cleanup ends with OUTCOME
# within SECS, held the lock, and left no records.
cleaned() {
	local t0 i holder pid
	t0=$(yg_now_ms)
	kill -9 "$child"
	for ((i = 0; i < $3 * 10; i++)); do
		grep -q "event=cleanup session=$live" "$log" && break
		sleep 0.1
	done
	grep -q "event=cleanup session=$live" "$log" ||
		yg_fail "no cleanup of the killed child's box within $3 s ($what); the box is '$(yg_domstate "$box")'" "$box"
	yg_timing "cleanup_$1" "$(yg_since "$t0")"
	wait "$cpid" 2>/dev/null || true
	cpid=
	grep "event=cleanup session=$live" "$log" | grep -q "outcome=$1 wipe=$2" ||
		yg_fail "the cleanup ($what) should end with outcome=$1 wipe=$2: $(grep 'event=cleanup' "$log")"
	grep -q "\"event\":\"cleanup\",\"session\":\"$live\".*\"outcome\":\"$1\"" "$audit" ||
		yg_fail "no cleanup line in the audit log: $(cat "$audit")"
	[ ! -e "$run/sessions/$live" ] || yg_fail "the killed child's session record is still there"
	read -r _ _ _ holder pid _ < "$run/boxes/$box.lock"
	if [ "$holder" != "$live" ] || [ "$pid" = "$child" ]; then
		yg_fail "the cleanup did not take the box lock: $(cat "$run/boxes/$box.lock")"
	fi
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	! kill -0 "$pid" 2>/dev/null || yg_fail "the cleanup process $pid is still running"
}

# rerun MARK: run the box again: no key file; /tmp/mark is there when MARK is 0.
rerun() {
	local rc
	yg_virsh resume "$box" >/dev/null || yg_fail "virsh resume failed" "$box"
	yg_wait_agent "$box" 30 || yg_fail "no agent after the resume" "$box"
	rc=$(yg_guest_exec "$box" /bin/test -e /run/yolo/keys.env) || yg_fail "guest-exec failed" "$box"
	[ "$rc" = 1 ] || yg_fail "the key file is still in the box after the cleanup ($what)" "$box"
	rc=$(yg_guest_exec "$box" /bin/test -e /tmp/mark) || yg_fail "guest-exec failed" "$box"
	[ "$rc" = "$1" ] || yg_fail "the cleanup ($what) left /tmp/mark with test -e = $rc, not $1" "$box"
	yg_virsh suspend "$box" >/dev/null || yg_fail "virsh suspend failed" "$box"
}

# The last login works, from a clean box.
next_login() {
	local n
	n=$(count 'event=session_end')
	as_user "$client" "$sock" open \
		send 'cat /tmp/mark; cat /run/yolo/keys.env; echo n""ext-ok\r' \
		expect 'next-ok' eof > "$YG_TMP/out" 2> "$YG_TMP/console" ||
		yg_fail "the login after the cleanup failed ($what): $(cat "$YG_TMP/out")" "$box"
	! grep -q dirty "$YG_TMP/console" || yg_fail "the next login found the killed session's file"
	grep -q "YG_TEST_KEY=$secret" "$YG_TMP/console" || yg_fail "the next login got no keys"
	wait_count 'event=session_end' $((n + 1)) 60 || yg_fail "no session_end after the next login"
}

what='revert = logout'
session
cleaned reverted 'done' 40
yg_expect_clean "$box"
rerun 1

what='revert = login'
policy 'revert = login'
session
cleaned paused 'done' 40
state=$(yg_domstate "$box")
[ "$state" = "paused (user)" ] ||
	yg_fail "with revert = login the killed session's box should be paused, not '$state'" "$box"
rerun 0

# QEMU stopped: the agent is silent and the pause (revert = login) hangs
# on QEMU's monitor.
what='QEMU stopped'
session
qemu=$(cat "/run/libvirt/qemu/$box.pid")
kill -STOP "$qemu"
cleaned destroyed unknown 60
state=$(yg_domstate "$box")
case $state in
"shut off"*) ;;
*) yg_fail "a cleanup over its bound should leave the box shut off, not '$state'" "$box" ;;
esac
if kill -0 "$qemu" 2>/dev/null; then
	yg_fail "the stopped QEMU $qemu still runs"
fi
qemu=''
grep "event=cleanup_failed session=$live " "$log" | grep -qF 'within\x2030\x20s' ||
	yg_fail "no cleanup_failed line for the overrun: $(grep 'event=cleanup' "$log")"
next_login

kill -0 "$YG_GATED_PID" 2>/dev/null || yg_fail "the broker died"
echo "killchild.sh: ok: a killed session child's box is wiped and reverted (revert = logout) or paused (revert = login) by a cleanup child that holds its lock, and destroyed when the cleanup overruns its bound; the next login lands clean"
