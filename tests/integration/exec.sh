#!/bin/bash
# SPDX-License-Identifier: MIT
# exec.sh: remote commands through the broker and the box's yolo-boxd, the
# way sshd starts them (`yolo-shell -c CMD` as the user), on a real tiny
# guest: stdout, stderr and the exit status apart; stdin byte-exact; the
# shell's 127; four commands at once in one session; a command joins the
# session a command keeps open with linger, and without linger the next
# command finds a reverted box; remote = no; the audit trail.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

shell=$top_builddir/src/shell/yolo-shell
yg_require_built "$shell"
yg_box_broker exec
audit=$YG_TMP/audit.log
yg_gate_conf "$conf" "run_dir = $run" "service_user = $YG_SVC" "audit_log = $audit" \
	"record_dir = $YG_TMP/rec"
mkdir -m 0700 "$YG_TMP/rec"
chown "$YG_SVC" "$YG_TMP/rec"
touch "$audit"; chmod 0600 "$audit"
chown "$YG_SVC" "$audit" 2>/dev/null || true
yg_user_policy "linger = 0"
mkdir -p "$conf/keys.d"
printf 'YG_TEST_KEY=sk-exec-%s\n' "$$" > "$conf/keys.d/$user.env"
chown "$YG_SVC" "$conf/keys.d/$user.env"
chmod 0600 "$conf/keys.d/$user.env"
yg_gated_start "$conf" "$sock" "$log"

# as_user CMD: `yolo-shell -c CMD` as $user, stdin from ours
as_user() {
	setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups \
		env -i PATH=/usr/bin:/bin YOLO_GATE_SOCKET="$sock" "$shell" -c "$1"
}

out=$YG_TMP/out
err=$YG_TMP/err

# 1. stdout, stderr, status
rc=0
t0=$(yg_now_ms)
as_user 'echo out; echo err >&2; exit 3' </dev/null >"$out" 2>"$err" || rc=$?
yg_timing exec_cold "$(yg_since "$t0")"
[ "$rc" = 3 ] || yg_fail "exit 3 in the box gave status $rc (stderr: $(cat "$err"))" "$box"
[ "$(cat "$out")" = out ] || yg_fail "stdout was '$(cat "$out")', not 'out'" "$box"
grep -qx err "$err" || yg_fail "stderr lacks 'err': $(cat "$err")" "$box"
grep -q . <(grep -v '^err$' "$err") && yg_fail "stderr has more than the command's: $(cat "$err")" "$box"
yg_log "ok: stdout, stderr and status 3 apart"
yg_wait_clean() {
	local i
	for ((i = 0; i < ${2:-30} * 10; i++)); do
		[ "$(yg_domstate "$1")" = "paused (from snapshot)" ] && return 0
		sleep 0.1
	done
	return 1
}
yg_wait_clean "$box" 30 || yg_fail "the box is not clean 30 s after its only command" "$box"

# 2. stdin, binary, 4 MiB both ways
head -c 4194304 /dev/urandom > "$YG_TMP/blob"
printf 'a\0b\377' >> "$YG_TMP/blob"
chmod 0644 "$YG_TMP/blob"
as_user 'cat' < "$YG_TMP/blob" > "$out" 2>"$err" || yg_fail "cat of 4 MiB failed: $(cat "$err")" "$box"
cmp -s "$YG_TMP/blob" "$out" ||
	yg_fail "4 MiB through 'cat' in the box came back different ($(stat -c %s "$out") bytes)" "$box"
yg_log "ok: 4 MiB of binary stdin came back byte-exact"

# 2b. the session's keys are in the command's environment
[ "$(as_user 'echo "k=$YG_TEST_KEY"' </dev/null)" = "k=sk-exec-$$" ] ||
	yg_fail "the key YG_TEST_KEY is not in the remote command's environment" "$box"
yg_log "ok: the session's keys are in the command's environment"

# 3. command not found
rc=0
as_user 'no-such-command-yg' </dev/null >"$out" 2>"$err" || rc=$?
[ "$rc" = 127 ] || yg_fail "a missing command gave status $rc, not 127" "$box"
grep -q 'not found' "$err" || yg_fail "a missing command's stderr lacks 'not found': $(cat "$err")" "$box"
yg_log "ok: command not found is 127 with the shell's message"

# 4. without linger the next command finds a reverted box
as_user 'echo x > /tmp/yg-mark' </dev/null || yg_fail "writing a file in the box failed" "$box"
rc=0
as_user 'cat /tmp/yg-mark' </dev/null >"$out" 2>/dev/null || rc=$?
[ "$rc" != 0 ] || yg_fail "with linger = 0 a file of the previous command survived" "$box"
yg_log "ok: linger = 0: each command has a fresh box"

# 5. four at once, in one session (linger keeps it between the commands)
yg_wait_clean "$box" 30 || yg_fail "the box is not clean 30 s after its command" "$box"
yg_user_policy "linger = 10s"
kill -HUP "$YG_GATED_PID"
sleep 0.5
as_user 'echo warm' </dev/null >/dev/null || yg_fail "the first command with linger failed" "$box"
# through the documented coordinator example (docs/examples/coordinator.sh)
t0=$(yg_now_ms)
setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups \
	env -i PATH=/usr/bin:/bin YOLO_GATE_SOCKET="$sock" YOLO_SHELL="$shell" \
	bash "$top_srcdir/docs/examples/coordinator.sh" 'sleep 2; echo n1' 'sleep 2; echo n2' \
	'sleep 2; echo n3' 'sleep 2; echo n4; exit 4' > "$out" 2>&1 && rc=0 || rc=$?
secs=$(yg_since "$t0")
[ "$rc" = 1 ] || yg_fail "the coordinator exited $rc, not 1 (worker 4 exits 4): $(cat "$out")" "$box"
for n in 1 2 3 4; do
	grep -qx "\[w$n\] n$n" "$out" || yg_fail "worker $n's output is missing: $(cat "$out")" "$box"
done
grep -qx '\[w3\] exit 0' "$out" && grep -qx '\[w4\] exit 4' "$out" ||
	yg_fail "the workers' exit statuses are wrong: $(cat "$out")" "$box"
yg_timing exec_4_concurrent "$secs"
awk -v s="$secs" 'BEGIN { exit !(s < 6) }' ||
	yg_fail "four 'sleep 2' commands took $secs s: they did not run at once" "$box"
yg_log "ok: the coordinator example ran four 'sleep 2' workers at once in $secs s, with their output and statuses"

# 6. linger: a file of one command is there for the next
as_user 'echo kept > /tmp/yg-mark' </dev/null || yg_fail "writing a file in the box failed" "$box"
[ "$(as_user 'cat /tmp/yg-mark' </dev/null)" = kept ] ||
	yg_fail "with linger = 10s the next command did not see the file" "$box"
t0=$(yg_now_ms)
as_user 'true' </dev/null
yg_timing exec_warm_true "$(yg_since "$t0")"
yg_wait_clean "$box" 40 || yg_fail "the box is not clean 40 s after the last command (linger 10s)" "$box"
yg_log "ok: linger keeps the session for the next command, then the box is reverted"

# 7. remote = no
yg_user_policy "remote = no"
kill -HUP "$YG_GATED_PID"
sleep 0.5
rc=0
as_user 'true' </dev/null 2>"$err" || rc=$?
[ "$rc" = 1 ] && grep -q 'remote = no' "$err" ||
	yg_fail "remote = no: status $rc, stderr: $(cat "$err")" "$box"
yg_log "ok: remote = no refuses with the key's name"

# 8. a yolo-boxd that stops answering: the command ends (255, a message)
# within the PING bound, and the box is reverted
yg_user_policy "linger = 0"
kill -HUP "$YG_GATED_PID"
sleep 0.5
yg_wait_clean "$box" 30 || yg_fail "the box is not clean before the stopped-boxd case" "$box"
rc=0
t0=$(yg_now_ms)
timeout 60 setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups \
	env -i PATH=/usr/bin:/bin YOLO_GATE_SOCKET="$sock" "$shell" -c \
	'kill -STOP $(pidof yolo-boxd); sleep 120' </dev/null >"$out" 2>"$err" || rc=$?
secs=$(yg_since "$t0")
[ "$rc" = 255 ] && grep -q 'yolo-boxd did not answer' "$err" ||
	yg_fail "a stopped yolo-boxd: status $rc after $secs s, stderr: $(cat "$err")" "$box"
yg_wait_clean "$box" 30 || yg_fail "the box is not clean 30 s after its yolo-boxd stopped" "$box"
yg_timing exec_boxd_stopped "$secs"
yg_log "ok: a stopped yolo-boxd ends the command after $secs s (255, said why), box reverted"

# 9. record = yes: the command line, its output and its status in the recording
yg_user_policy "linger = 0" "record = yes"
kill -HUP "$YG_GATED_PID"
sleep 0.5
yg_wait_clean "$box" 30 || yg_fail "the box is not clean before the recording case" "$box"
as_user 'echo "rec-$((6*7))"; exit 2' </dev/null >/dev/null 2>&1 || true
cast=$(grep -rl 'rec-42' "$YG_TMP/rec" 2>/dev/null | head -n 1)
[ -n "$cast" ] || yg_fail "record = yes: no recording under $YG_TMP/rec has the command's output"
grep -q 'command [0-9]*: echo' "$cast" && grep -q 'status 2' "$cast" ||
	yg_fail "the recording lacks the command line or its status: $(head -c 1500 "$cast")"
yg_log "ok: record = yes: command, output and status in $(basename "$cast")"

# 10. the audit trail
grep -q '"event":"exec_start".*"command":"echo out; echo err >&2; exit 3"' "$audit" ||
	yg_fail "no exec_start for the first command in the audit log: $(head -c 2000 "$audit")"
grep -q '"event":"exec_end".*"status":"3"' "$audit" ||
	yg_fail "no exec_end with status 3 in the audit log"
grep -q '"event":"exec_end".*"bytes_in":"4194308"' "$audit" ||
	yg_fail "no exec_end counting the 4 MiB of stdin in the audit log"
echo "exec.sh: ok"
