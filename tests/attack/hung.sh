#!/bin/bash
# SPDX-License-Identifier: MIT
# hung.sh (attack suite, issue #13 item 4): a libvirtd that does not answer.
#  1. [gate] uri names a socket that accepts and never answers: a login ends
#     with the clear ERROR within the connect bound (20 s), and so does a
#     login that came meanwhile (handed to the first child); then the lock
#     is free and no child is left.
#  2. SIGTERM to a child stuck in virConnectOpen ends it within the cleanup
#     bound (10 s), the client told; a second SIGTERM ends one at once.
#  3. The real libvirtd stops answering mid-session (SIGSTOP): keepalive
#     (5 s x 3) finds the connection dead within ~20 s; once libvirtd answers
#     again (SIGCONT) the session ends, the box clean.
# libvirtd is shared by the machine's tests: it is stopped for ~20 s, and
# SIGCONT'd at exit whatever happens.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_box_broker ygh
# the test counts the broker's children: no console kept open after a
# logout (console_hold; tests/integration/warm.sh tests it)
yg_user_policy 'console_hold = 0'
as_user() { setpriv --reuid="$user" --regid=nogroup --clear-groups "$@"; }
YG_GATED_LOG_LINES=60
: "${YH_SLACK:=5}"	# seconds a loaded CI host may add to a bound

# ---- a libvirt socket that accepts and never answers ----
fake=$YG_TMP/fake-libvirt.sock
accepts=$YG_TMP/fake.accepts
echo 0 > "$accepts"
/usr/bin/python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666); s.listen(64)
held = []
while True:
    held.append(s.accept()[0])
    with open(sys.argv[2] + ".tmp", "w") as f: f.write("%d\n" % len(held))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
' "$fake" "$accepts" &
fake_pid=$!
stop_fake() { kill "$fake_pid" 2>/dev/null || true; }
yg_on_cleanup stop_fake
for ((i = 0; i < 50; i++)); do [ -S "$fake" ] && break; sleep 0.1; done
[ -S "$fake" ] || yg_fail "the fake libvirt socket did not appear"

fconf=$YG_TMP/fconf
frun=$YG_TMP/frun
YG_URI="qemu+unix:///system?socket=$fake" yg_gate_conf "$fconf" "run_dir = $frun" \
	"service_user = $YG_SVC"
cp "$conf/policy.d/10-test.conf" "$fconf/policy.d/"
fsock=$YG_TMP/fake-gated.sock
flog=$YG_TMP/fake-gated.log
yg_gated_start "$fconf" "$fsock" "$flog" --debug

unanswered='^ERROR 7 libvirt did not answer within 20 s; the box.s host may be overloaded'
# secs START_MS: whole seconds since START_MS
secs() { echo $(( ($(yg_now_ms) - $1) / 1000 )); }
# ended PID SECS: PID is gone within SECS s (0: it was not)
ended() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
children() { pgrep -P "$YG_GATED_PID" || true; }
# lock_free: no process holds the box's flock
lock_free() { flock -n "$frun/boxes/$box.lock" true; }
# stuck_child N: wait until the fake socket had more than N connections;
# echo the newest session child (the one in virConnectOpen)
stuck_child() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(cat "$accepts")" -gt "$1" ] && break
		sleep 0.1
	done
	[ "$(cat "$accepts")" -gt "$1" ] || yg_fail "no new connection to the fake libvirt"
	sed -n 's/.*event=accept .*child=\([0-9]*\).*/\1/p' "$flog" | tail -n 1
}

# 1. Two logins against the silent socket: the clear error, within the bound.
t0=$(yg_now_ms)
as_user timeout 60 "$client" "$fsock" open > "$YG_TMP/out1" 2>/dev/null &
c1=$!
stuck_child 0 > /dev/null
as_user timeout 60 "$client" "$fsock" open > "$YG_TMP/out2" 2>/dev/null &
c2=$!
wait "$c1" || true
t1=$(secs "$t0")
wait "$c2" || true
t2=$(secs "$t0")
yg_timing hung_connect_error "$t1"
grep -q "$unanswered" "$YG_TMP/out1" ||
	yg_fail "a login against a silent libvirt got no clear error after ${t1} s: $(cat "$YG_TMP/out1")"
[ "$t1" -le $((20 + YH_SLACK)) ] || yg_fail "the clear error came after $t1 s, not within 20 s"
grep -q 'event=handoff' "$flog" || yg_fail "the second login was not handed to the first child"
grep -q "$unanswered" "$YG_TMP/out2" ||
	yg_fail "a login handed to the stuck child got no clear error: $(cat "$YG_TMP/out2")"
[ "$t2" -le $((20 + YH_SLACK)) ] || yg_fail "the second login's error came after $t2 s"
grep -q 'event=libvirt_timeout .*what=connecting\\x20to\\x20qemu+unix' "$flog" ||
	yg_fail "no libvirt_timeout event naming the connect: $(grep libvirt "$flog")"
for ((i = 0; i < 30; i++)); do [ -z "$(children)" ] && break; sleep 0.1; done
[ -z "$(children)" ] || yg_fail "a session child is left after the bound: $(children)"
lock_free || yg_fail "the box lock is still held after the bound"
ls "$frun/boxes/$box.sock" 2>/dev/null && yg_fail "the rendezvous socket is left behind"

# 2a. SIGTERM to a child stuck in virConnectOpen: it ends within the cleanup
#     bound (10 s, before the 20 s connect bound) and tells its client.
n=$(cat "$accepts")
as_user timeout 60 "$client" "$fsock" open > "$YG_TMP/out3" 2>/dev/null &
c3=$!
child=$(stuck_child "$n")
[ -n "$child" ] || yg_fail "no session child for the third login"
t0=$(yg_now_ms)
kill -TERM "$child"
ended "$child" $((10 + YH_SLACK)) || yg_fail "SIGTERM: the stuck child $child lived $((10 + YH_SLACK)) s"
yg_timing hung_sigterm_end "$(yg_since "$t0")"
[ "$(secs "$t0")" -ge 9 ] || yg_fail "SIGTERM ended the stuck child after $(yg_since "$t0") s, before its 10 s cleanup bound"
wait "$c3" || true
grep -q '^ERROR 7 yolo-gated is stopping' "$YG_TMP/out3" ||
	yg_fail "SIGTERM: the client was not told: $(cat "$YG_TMP/out3")"
grep -q 'event=stop_timeout' "$flog" || yg_fail "no stop_timeout event"
lock_free || yg_fail "the box lock is still held after the SIGTERM bound"

# 2b. A second SIGTERM ends it at once.
n_clean=$(grep -c 'event=cleanup' "$flog" || true)
n=$(cat "$accepts")
as_user timeout 60 "$client" "$fsock" open > "$YG_TMP/out4" 2>/dev/null &
c4=$!
child=$(stuck_child "$n")
kill -TERM "$child"
sleep 0.3
t0=$(yg_now_ms)
kill -TERM "$child"
ended "$child" 1 || yg_fail "a second SIGTERM did not end the child at once"
yg_timing hung_second_sigterm_end "$(yg_since "$t0")"
wait "$c4" || true
# Killed by the signal, it left its session record: the parent's cleanup
# child takes the box lock to wipe and revert, and against a libvirt that
# never answers its worker gives up within its connect bound (20 s, at most
# its own 30 s), then the destroy it tries instead within another 20 s; its
# audit line comes last, then it lets the lock go.
cleanups() { grep -c 'event=cleanup' "$flog" || true; }
for ((i = 0; i < 600; i++)); do [ "$(cleanups)" -gt "$n_clean" ] && break; sleep 0.1; done
[ "$(cleanups)" -gt "$n_clean" ] || yg_fail "no cleanup within 60 s after the child killed by the second SIGTERM"
for ((i = 0; i < 50; i++)); do lock_free && break; sleep 0.1; done
lock_free || yg_fail "the box lock is still held after the cleanup of the child killed by the second SIGTERM"
kill "$YG_GATED_PID"
wait "$YG_GATED_PID" 2>/dev/null || true
stop_fake

# 3. The real libvirtd stops answering mid-session.
lvd=$(pgrep -x libvirtd | head -n 1)
[ -n "$lvd" ] || yg_fail "no libvirtd to stop"
resume_libvirtd() { kill -CONT "$lvd" 2>/dev/null || true; }
yg_on_cleanup resume_libvirtd
yg_gated_start "$conf" "$sock" "$log" --debug
as_user "$client" "$sock" open send 'echo r""dy\r' expect rdy wait > "$YG_TMP/out5" 2>/dev/null &
c5=$!
for ((i = 0; i < 600; i++)); do
	grep -q '^EXPECT-OK rdy' "$YG_TMP/out5" && break
	sleep 0.1
done
grep -q '^EXPECT-OK rdy' "$YG_TMP/out5" || yg_fail "the login before SIGSTOP failed: $(cat "$YG_TMP/out5")"
t0=$(yg_now_ms)
kill -STOP "$lvd"
for ((i = 0; i < (20 + YH_SLACK) * 10; i++)); do
	grep -q 'event=libvirt_lost' "$log" && break
	sleep 0.1
done
lost=$(yg_since "$t0")
resume_libvirtd
grep -q 'event=libvirt_lost' "$log" ||
	yg_fail "the session did not notice within $((20 + YH_SLACK)) s that libvirtd stopped answering"
yg_timing hung_keepalive_lost "$lost"
ended "$c5" 30 || yg_fail "the client was still connected 30 s after libvirtd answered again"
wait "$c5" || true
grep -q '^EXIT 1\|^ERROR' "$YG_TMP/out5" || yg_fail "the user got no message: $(cat "$YG_TMP/out5")"
yg_log "mid-session: the user got: $(grep '^EXIT\|^ERROR' "$YG_TMP/out5")"
for ((i = 0; i < 300; i++)); do [ -z "$(children)" ] && break; sleep 0.1; done
[ -z "$(children)" ] || yg_fail "the session child did not end"
grep -q 'event=reverted .*why=logout' "$log" || yg_fail "the box was not reverted after libvirtd came back"
yg_expect_clean "$box"
kill -0 "$YG_GATED_PID" || yg_fail "the broker died"
echo "hung.sh: ok: a silent libvirt ends logins with a clear error in 20 s, SIGTERM ends a stuck child in 10 s (twice: at once), keepalive finds a stopped libvirtd in ${lost} s"
