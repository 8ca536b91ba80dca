#!/bin/bash
# SPDX-License-Identifier: MIT
# broker.sh (attack suite): one box, one broker (as a service user, privileges
# dropped), hostile clients. Items of issue #7 covered here:
#   14 the broker's CapEff, CapPrm and CapBnd are 0
#    4 frames of length 0, 1, max, max+1, 2^32-1, unknown and out-of-phase
#      types: that connection closes, the next client is served
#    3 non-root PREPARE / RELEASE / ACCOUNT and another user's box: denied, logged
#    5 planted symlink / FIFO / hard link at the lock, the key file, run_dir
#    1 yolo-shell's hostile environment never reaches the broker log raw
#    2 thousands of clients closing at every protocol step, and logins closed
#      mid-way: the broker lives, keeps no fd, no child; the box ends clean
#   10 50 simultaneous logins of one user: one session, 49 refusals; kill -9
#      of the lock holder frees the box
#   11 guest escape sequences reach the client as is, never the log raw
#   13 canaries of session 1 are gone in session 2; the key is in no host file
#    6 kill -9 of the client during relay and during the revert
#    7 kill -9 of the box's QEMU mid-session: the user is told
# With a sanitizer build of the broker, every child's LeakSanitizer report
# lands in the broker log, which must have none.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_init_guest
YA_NAME=broker
. "$top_srcdir/tests/attack/lib-attack.sh"
yg_box_create "$box"
ya_start_broker
out=$YG_TMP/out
if grep -q -- '--enable-sanitizers' "$top_builddir/config.log" 2>/dev/null; then
	yg_log "note: sanitizer build: leaks and memory errors of every child are checked"
fi

# 14. No capability in the running broker (when it dropped from root).
if [ "$svc" != root ]; then
	for c in CapEff CapPrm CapBnd CapAmb; do
		grep -q "^$c:[[:space:]]*0*\$" "/proc/$gated_pid/status" ||
			yg_fail "the broker kept capabilities: $(grep Cap "/proc/$gated_pid/status")"
	done
	grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$gated_pid/status" ||
		yg_fail "the broker did not set no_new_privs"
else
	yg_log "note: no libvirt group, the broker runs as root (--stay-root): capabilities not checked"
fi

# 4. Bad frames: the connection closes (after an ERROR at most) within 10 s.
t0=$(yg_now_ms)
for spec in "0 1" "1 1" "65536 1" "65537 1" "4294967295 1" "2 99" \
	    "--hello 0 1" "--hello 1 2" "--hello 65536 5" "--hello 65537 5" \
	    "--hello 4294967295 5" "--hello 1 0" "--hello 1 99" "--hello 1 255" \
	    "--hello 1 4" "--hello 1 10" "--hello 6 1" "--hello 1 7" "1 2" "1 5"; do
	# shellcheck disable=SC2086
	as_user "$ac" frame "$sock" $spec > "$out" 2>&1 ||
		yg_fail "frame $spec: the broker did not close the connection: $(cat "$out")"
	grep -q '^CLOSED' "$out" || yg_fail "frame $spec: no close: $(cat "$out")"
	if grep -q '^READY\|^SESSION\|^POLICY' "$out"; then
		yg_fail "frame $spec was served: $(cat "$out")"
	fi
done
yg_timing bad_frames_20 "$(yg_since "$t0")"
"$client" "$sock" account "$user" > "$out" || true
grep -q '^POLICY 1 1' "$out" || yg_fail "the broker did not serve a client after bad frames: $(cat "$out")"
kill -0 "$gated_pid" || yg_fail "the broker died of bad frames"
wait_log 20 'event=protocol_error' 10 ||
	yg_fail "the bad frames were not logged as protocol errors: $(grep -c protocol_error "$glog")"

# 3. A non-root client may not PREPARE, RELEASE, ACCOUNT, nor enter another's box.
for req in "prepare $user" "release 0123456789abcdef" "account $user"; do
	# shellcheck disable=SC2086
	as_user2 "$client" "$sock" $req > "$out" || true
	grep -q '^ERROR 5 only root may send' "$out" ||
		yg_fail "a non-root $req was not denied: $(cat "$out")"
	t=${req%% *}
	grep -q "event=denied uid=$(id -u "$user2") type=${t^^}" "$glog" ||
		yg_fail "a non-root $req was not logged as denied"
done
as_user2 "$client" "$sock" open --box "$box" > "$out" || true
grep -q "^ERROR 5 user $user2 may not enter box $box" "$out" ||
	yg_fail "$user2 was not denied $user's box: $(cat "$out")"
grep -q "event=denied .*user=$user2 .*box=yg-none\|event=denied .*$user2.*may not enter" "$glog" ||
	yg_fail "entering another user's box was not logged"
yg_expect_clean "$box"

# 5. Planted symlink, FIFO, hard link at the box lock, at keys.d/<user>.env
#    and in the run_dir: refused with a message, no hang, nothing written
#    outside. (The file helpers' own cases: tests/unit/filetest.c.)
victim=$YG_TMP/victim
printf 'untouched\n' > "$victim"
chown "$svc" "$victim"
chmod 0600 "$victim"
lock=$run_dir/boxes/$box.lock
rm -f "$lock"
plant() {	# KIND PATH
	case $1 in
	symlink) ln -s "$victim" "$2" ;;
	fifo) mkfifo -m 0600 "$2" ;;
	hardlink) ln "$victim" "$2" ;;
	esac
	[ "$svc" = root ] || chown -h "$svc" "$2"
}
for kind in symlink fifo hardlink; do
	plant "$kind" "$lock"
	t0=$(yg_now_ms)
	as_user timeout 30 "$client" "$sock" open > "$out" 2>&1 || true
	grep -q '^ERROR 10 .*lock' "$out" || yg_fail "a $kind at the box lock was not refused: $(cat "$out")"
	yg_timing "planted_lock_$kind" "$(yg_since "$t0")"
	rm -f "$lock"
done
keys=$conf/keys.d/$user.env
mv "$keys" "$keys.real"
for kind in symlink fifo hardlink; do
	if [ "$kind" = symlink ]; then
		ln -s "$keys.real" "$keys"
	elif [ "$kind" = fifo ]; then
		mkfifo -m 0600 "$keys"
	else
		ln "$keys.real" "$keys"
	fi
	chown -h "$svc" "$keys"
	t0=$(yg_now_ms)
	as_user timeout 90 "$client" "$sock" open > "$out" 2>&1 || true
	grep -q '^ERROR 9 ' "$out" || yg_fail "a $kind at the key file was not refused: $(cat "$out")"
	yg_timing "planted_keys_$kind" "$(yg_since "$t0")"
	wait_idle 60 || yg_fail "the login refused for a $kind key file did not end"
	yg_expect_clean "$box"
	rm -f "$keys"
done
mv "$keys.real" "$keys"
[ "$(cat "$victim")" = untouched ] || yg_fail "a planted file made the broker write outside: $(cat "$victim")"
# a run_dir whose boxes/ is a symlink: the broker refuses to start
mkdir -p "$YG_TMP/run2" "$YG_TMP/elsewhere"
ln -s "$YG_TMP/elsewhere" "$YG_TMP/run2/boxes"
[ "$svc" = root ] || chown "$svc:nogroup" "$YG_TMP/run2"
sed "s|^run_dir = .*|run_dir = $YG_TMP/run2|" "$conf/gate.conf" > "$YG_TMP/gate2.conf"
mkdir -p "$YG_TMP/conf2"
cp -r "$conf/policy.d" "$YG_TMP/conf2/"
cp "$YG_TMP/gate2.conf" "$YG_TMP/conf2/gate.conf"
chmod -R go-w "$YG_TMP/conf2"
rc2=0
timeout 20 "$gated" --config "$YG_TMP/conf2" --socket "$YG_TMP/g2.sock" --log-stderr $stay_root \
	2> "$YG_TMP/g2.err" || rc2=$?
[ "$rc2" = 1 ] || yg_fail "a symlinked run_dir/boxes did not stop the broker (exit $rc2): $(cat "$YG_TMP/g2.err")"
grep -q 'symlink' "$YG_TMP/g2.err" || yg_fail "the broker did not say run_dir/boxes is a symlink: $(cat "$YG_TMP/g2.err")"
[ -z "$(ls -A "$YG_TMP/elsewhere")" ] || yg_fail "the broker wrote through a symlinked run_dir/boxes"
ya_log_clean

# 1 (log half). yolo-shell with a hostile environment, for a user with no box.
esc=$'\e]0;pwned\a\e[31m'
setpriv --reuid=nobody --regid=nogroup --clear-groups env -i PATH=/usr/bin:/bin \
	TERM="$(head -c 65536 /dev/zero | tr '\0' x)$esc" LD_PRELOAD=/nonexistent/yg-evil.so \
	'BASH_FUNC_x%%=() { echo pwned; }' YOLO_GATE_SESSION="$esc" YOLO_GATE_SOCKET="$sock" \
	"$top_builddir/src/shell/yolo-shell" < /dev/null > "$out" 2>&1 || true
grep -q 'no box is configured for user nobody' "$out" ||
	yg_fail "yolo-shell with a hostile environment got no NOPOLICY: $(cat -v "$out")"
! grep -q 'pwned' "$glog" || yg_fail "the hostile environment reached the broker log"
ya_log_clean

# 2. Churn: clients that close at every step; logins closed mid-way.
fd0=$(ls "/proc/$gated_pid/fd" | wc -l)
t0=$(yg_now_ms)
as_user "$ac" churn "$sock" "${YA_CHURN:-3000}" > "$out" 2>&1 ||
	yg_fail "churn: $(cat "$out")"
yg_timing churn_3000 "$(yg_since "$t0")"
for ms in 0 200 1000 2500; do
	as_user "$ac" openclose "$sock" "$ms" > "$out" 2>&1 || yg_fail "openclose $ms: $(cat "$out")"
done
wait_idle 180 || yg_fail "session children are still alive 180 s after the churn: $(pgrep -a -P "$gated_pid")"
kill -0 "$gated_pid" || yg_fail "the broker died during the churn"
fd1=$(ls "/proc/$gated_pid/fd" | wc -l)
[ "$fd1" -le "$fd0" ] || yg_fail "the broker's fds grew from $fd0 to $fd1 during the churn"
[ -z "$(ps -o stat= --ppid "$gated_pid" | grep Z)" ] || yg_fail "zombie session children"
yg_expect_clean "$box"
[ -z "$(ls -A "$run_dir/sessions")" ] || yg_fail "session files left: $(ls "$run_dir/sessions")"
ya_log_clean
"$client" "$sock" account "$user" > "$out" || true
grep -q '^POLICY 1 1' "$out" || yg_fail "the broker did not serve a client after the churn"

# 10. 50 simultaneous logins: one session, 49 refusals, no deadlock.
t0=$(yg_now_ms)
pids=()
for ((i = 0; i < 50; i++)); do
	as_user "$client" "$sock" open wait > "$out.$i" 2>/dev/null &
	pids+=($!)
done
ready=
for ((t = 0; t < 1200; t++)); do
	n_ready=$(cat "$out".* | grep -c '^READY' || true)
	n_busy=$(cat "$out".* | grep -c '^ERROR 6 ' || true)
	[ $((n_ready + n_busy)) -ge 50 ] && break
	sleep 0.1
done
yg_timing logins_50 "$(yg_since "$t0")"
[ "$n_ready" = 1 ] && [ "$n_busy" = 49 ] ||
	yg_fail "50 logins: $n_ready READY and $n_busy BUSY, not 1 and 49: $(cat "$out".* | sort | uniq -c)"
for ((i = 0; i < 50; i++)); do
	grep -q '^READY' "$out.$i" && ready=$i
done
# kill -9 of the lock holder: the box is free again
holder=$(pgrep -P "$gated_pid" | head -n 1)
[ "$(pgrep -P "$gated_pid" | wc -l)" = 1 ] ||
	yg_fail "more than one session child after the refusals: $(pgrep -a -P "$gated_pid")"
kill -9 "$holder"
wait "${pids[@]}" || true
grep -q '^CLOSED' "$out.$ready" || yg_fail "the winner was not disconnected: $(cat "$out.$ready")"
# (the parent's cleanup child reverts the dead holder's box, within 30 s)
wait_idle 40 || yg_fail "the killed holder's box is still held"

# 11 + 13 (session 1) + the box the killed holder left: reverted by the
# cleanup after it, or else at this login.
mark=canary-$$-$RANDOM
t0=$(yg_now_ms)
as_user "$client" "$sock" open \
	send 'printf "E\\033[31mR\\033]0;t\\007D\\033[0m-%s\\n" e""sc\r' expect $'E\e[31mR\e]0;t\aD\e[0m-esc' \
	send "echo 1 > /$mark; echo 1 > /tmp/$mark; echo 1 > /run/yolo/$mark; sync; echo m\"\"arked\r" \
	expect marked eof > "$out" 2> "$YG_TMP/console" ||
	yg_fail "session 1 failed: $(cat "$out")" "$box"
grep -q '^PROGRESS reverting' "$out" || grep -qE 'event=cleanup .*outcome=(reverted|clean)' "$glog" ||
	yg_fail "the box of the killed holder was reverted neither by the cleanup after it nor at the next login: $(cat "$out")"
yg_timing login_after_kill9 "$(yg_since "$t0")"
wait_idle 60 || yg_fail "session 1 did not end"
yg_expect_clean "$box"
ya_log_clean

# 13 (session 2) + 6: kill -9 of the client during relay.
setpriv --reuid="$user" --regid=nogroup --clear-groups "$client" "$sock" open \
	send "for f in /$mark /tmp/$mark /run/yolo/$mark; do [ -e \$f ] && echo FO\"\"UND\$f; done; echo c\"\"hecked\r" \
	expect checked wait > "$out" 2> "$YG_TMP/console" &
cpid=$!
wait_out "$out" '^EXPECT-OK checked' 120 || yg_fail "session 2 failed: $(cat "$out")" "$box"
! grep -q FOUND "$YG_TMP/console" || yg_fail "session 2 found marks of session 1: $(grep FOUND "$YG_TMP/console")"
kill -9 "$cpid"
wait "$cpid" 2>/dev/null || true
wait_idle 60 || yg_fail "the session of a killed client did not end"
yg_expect_clean "$box"
# the key is in no host file after logout
hits=$(grep -rlaF -- "$secret" "$YG_IMAGES/$box.qcow2" "$YG_IMAGES/$box.serial.log" \
	/var/lib/libvirt/qemu /var/log/libvirt /var/cache/libvirt "$run_dir" "$glog" \
	2>/dev/null || true)
[ -z "$hits" ] || yg_fail "the key's value is in host files after logout: $hits"

# 6. The logout's EXIT comes before the revert: the client has its status
# back while the box is still being reverted (a revert takes seconds), and
# a kill -9 of it then changes nothing.
setpriv --reuid="$user" --regid=nogroup --clear-groups \
	"$client" "$sock" open send 'echo r""dy\r' expect rdy exit > "$out" 2>/dev/null &
cpid=$!
wait_out "$out" '^EXPECT-OK rdy' 120 || yg_fail "the login before the logout failed: $(cat "$out")"
wait "$cpid" || yg_fail "the client of a logout exited with $?: $(cat "$out")"
state=$(yg_domstate "$box")
[ "$state" != "paused (from snapshot)" ] ||
	yg_fail "the client of a logout got its EXIT only after the revert"
kill -9 "$cpid" 2>/dev/null || true
wait_idle 60 || yg_fail "the revert after a logout did not finish"
yg_expect_clean "$box"
grep 'event=session_end' "$glog" | tail -n 1 | grep -q 'result=clean' ||
	yg_fail "the last session did not end clean: $(grep session_end "$glog" | tail -n 1)"

# 7. kill -9 of the box's QEMU mid-session: the user is told, next login clean.
as_user "$client" "$sock" open send 'echo q""emu\r' expect qemu wait > "$out" 2>/dev/null &
cpid=$!
wait_out "$out" '^EXPECT-OK qemu' 120 || yg_fail "the login before killing QEMU failed: $(cat "$out")"
qpid=$(pgrep -f -- "-name guest=$box," | head -n 1)
[ -n "$qpid" ] || yg_fail "no QEMU process for $box"
t0=$(yg_now_ms)
kill -9 "$qpid"
wait "$cpid" || true
yg_timing qemu_kill_to_exit "$(yg_since "$t0")"
grep -q '^EXIT [1-9]\|^ERROR ' "$out" || yg_fail "the user was not told QEMU died: $(cat "$out")"
yg_log "QEMU killed: the client got: $(grep '^EXIT\|^ERROR' "$out")"
wait_idle 60 || yg_fail "the session did not end after QEMU died"
as_user "$client" "$sock" open send 'echo a""gain\r' expect again eof > "$out" 2>/dev/null ||
	yg_fail "the login after QEMU was killed failed: $(cat "$out")" "$box"
wait_idle 60 || yg_fail "the login after QEMU was killed did not end"
yg_expect_clean "$box"

ya_log_clean
kill -0 "$gated_pid" || yg_fail "the broker died"
yg_log "PASS"
