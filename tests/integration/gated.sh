#!/bin/bash
# SPDX-License-Identifier: MIT
# gated.sh: yolo-gated against a real box (libvirtd + QEMU TCG + the test guest).
#
# A temp user gets the box; the broker drops to a temp service user (in the
# libvirt group) and listens on a temp socket;
# tests/integration/gatedclient drives it: HELLO + OPEN -> READY, console
# relay both ways, key injection, EOF -> the box is reverted and PAUSED from
# its snapshot; non-root PREPARE denied; protocol errors close only their own
# connection; a second login is refused (BUSY); PREPARE + attach + RELEASE.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_require_root
gated=$top_builddir/src/gated/yolo-gated
client=$top_builddir/tests/integration/gatedclient
yg_require_built "$gated" "$client"
yg_init
yg_start_libvirt
yg_guest_build

user=ygg$$
box=yg-it-gated-$$
yg_tmp_user "$user"
# The broker runs as a temporary service user in the libvirt group, as in
# production (privilege drop included); without that group, --stay-root.
yg_service_user ygs$$
svc=$YG_SVC
yg_box_create "$box"

conf=$YG_TMP/conf
yg_gate_conf "$conf" "socket = $YG_TMP/unused.sock" "run_dir = $YG_TMP/run" \
	"service_user = $svc"
mkdir -p "$conf/keys.d"
secret=secret-$RANDOM$RANDOM$RANDOM
cat > "$conf/policy.d/10-test.conf" <<EOF
[user:$user]
domain = $box
snapshot = clean-state
keys = $conf/keys.d/%u.env
agent_timeout = 60s
EOF
printf 'YG_TEST_KEY=%s\n' "$secret" > "$conf/keys.d/$user.env"
chmod 0644 "$conf/policy.d/10-test.conf"
chmod 0600 "$conf/keys.d/$user.env"
chown "$svc" "$conf/keys.d/$user.env"
chmod 0755 "$YG_TMP" "$conf" "$conf/policy.d"

# 0. A policy with errors: every error is printed, exit 1, no socket.
mkdir -p "$YG_TMP/bad/policy.d"
printf '[user:%s]\nbogus_key = 1\nrevert = sometimes\n' "$user" > "$YG_TMP/bad/policy.d/10-bad.conf"
chmod 0755 "$YG_TMP/bad" "$YG_TMP/bad/policy.d"
chmod 0644 "$YG_TMP/bad/policy.d/10-bad.conf"
rc_bad=0
"$gated" --config "$YG_TMP/bad" --socket "$YG_TMP/bad.sock" --log-stderr --stay-root \
	2> "$YG_TMP/bad.err" || rc_bad=$?
[ "$rc_bad" = 1 ] || yg_fail "a bad policy should make yolo-gated exit 1, not $rc_bad"
[ "$(grep -c '10-bad.conf:[23]:' "$YG_TMP/bad.err")" = 2 ] ||
	yg_fail "yolo-gated did not print both policy errors: $(cat "$YG_TMP/bad.err")"
[ ! -e "$YG_TMP/bad.sock" ] || yg_fail "yolo-gated bound its socket despite a bad policy"

sock=$YG_TMP/gated.sock
# fd 7 open in the starting shell: the broker must not keep it
exec 7> "$YG_TMP/inherited"
yg_gated_start "$conf" "$sock" "$YG_TMP/gated.log" --debug
exec 7>&-
gated_pid=$YG_GATED_PID
for f in /proc/"$gated_pid"/fd/*; do
	[ "$(readlink "$f")" != "$YG_TMP/inherited" ] ||
		yg_fail "yolo-gated kept fd ${f##*/}, inherited from the shell that started it"
done
[ "$(stat -c %a "$sock")" = 666 ] || yg_fail "$sock should be mode 0666"
if [ "$svc" != root ]; then
	[ "$(ps -o uid= -p "$gated_pid" | tr -d ' ')" = "$(id -u "$svc")" ] ||
		yg_fail "yolo-gated did not switch to the service user $svc"
	grep -q '^CapEff:[[:space:]]*0*$' "/proc/$gated_pid/status" ||
		yg_fail "yolo-gated kept capabilities: $(grep Cap "/proc/$gated_pid/status")"
fi

as_user() { setpriv --reuid="$user" --regid=nogroup --clear-groups "$@"; }
out=$YG_TMP/out

# 1. A login: READY, console both ways, the key is in the guest.
t0=$(yg_now_ms)
as_user "$client" "$sock" open --rows 40 --cols 120 \
	send 'echo h""i-$((6*7))\r' expect 'hi-42' \
	send 'cat /run/yolo/keys.env\r' expect "YG_TEST_KEY=$secret" \
	send 'stty size\r' expect '40 120' \
	winch 50 132 send 'sleep 1; stty size\r' expect '50 132' \
	eof > "$out" 2> "$YG_TMP/console" || {
	cat "$out" "$YG_TMP/console" >&2
	yg_fail "the first login did not work" "$box"
}
yg_timing open_to_eof "$(yg_since "$t0")"
grep -q "^READY [0-9a-f]\{16\} $box " "$out" || yg_fail "no READY for $box: $(cat "$out")"
grep -q '^EXPECT-OK hi-42' "$out" || yg_fail "the console did not echo: $(cat "$out")"
grep -q '^EXPECT-OK YG_TEST_KEY=' "$out" || yg_fail "the key is not in the guest: $(cat "$out")"
grep -q '^EXPECT-OK 40 120' "$out" || yg_fail "OPEN's window size did not reach the guest tty"
grep -q '^EXPECT-OK 50 132' "$out" || yg_fail "WINCH did not reach the guest tty"


# 1b. Backpressure: the guest floods the console while the client reads
#     nothing for a while; the session child's memory stays bounded and
#     every byte still arrives in order. The bound is a fresh session
#     process's: the one that held the box's console since the first login
#     (console_hold) is ended first (yolo-gatectl revert does). Under ASan
#     (its shadow memory and quarantine) a fresh child peaks at 73 MiB
#     here: its bound is 96 MiB, 64 MiB otherwise (a child peaks at ~20).
hwm_max=65536
ldd "$top_builddir/src/gated/yolo-gated" 2>/dev/null | grep -q libasan && hwm_max=98304
for ((i = 0; i < 300; i++)); do
	grep -q 'event=console_held' "$YG_TMP/gated.log" && break
	sleep 0.1
done
"$top_builddir/src/ctl/yolo-gatectl" revert --config "$conf" "$user" > "$YG_TMP/revert" 2>&1 ||
	yg_fail "revert before the flood failed: $(cat "$YG_TMP/revert")" "$box"
as_user "$client" "$sock" open \
	send 'head -c 1000000 /dev/zero | tr "\\0" x; echo; echo fl""ood-done\r' \
	pause 8 expect 'flood-done' eof > "$out" 2> "$YG_TMP/console" &
flood_pid=$!
sleep 6
child=$(sed -n 's/^yolo-gated\[\([0-9]*\)\]: event=session_ready.*/\1/p' "$YG_TMP/gated.log" | tail -n 1)
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$child/status" 2>/dev/null || echo 0)
wait "$flood_pid" || yg_fail "the flooded session failed: $(cat "$out")"
yg_timing gated_child_vmhwm_mib "$(awk -v k="${hwm:-0}" 'BEGIN { printf "%.1f", k / 1024 }')"
[ "${hwm:-0}" -lt "$hwm_max" ] ||
	yg_fail "the session child grew to ${hwm} kB (bound $hwm_max) while its client did not read"
grep -q '^EXPECT-OK flood-done' "$out" || yg_fail "the flood did not arrive: $(cat "$out")"
n=$(tr -cd x < "$YG_TMP/console" | wc -c)
[ "$n" -ge 1000000 ] || yg_fail "only $n of 1000000 flooded bytes reached the client"

# 2. EOF -> the session ends, the box is reverted and left PAUSED.
for ((i = 0; i < 600; i++)); do
	[ "$(grep -c 'event=session_end' "$YG_TMP/gated.log")" -ge 2 ] && break
	sleep 0.1
done
[ "$(grep -c 'event=session_end' "$YG_TMP/gated.log")" -ge 2 ] ||
	yg_fail "no session_end within 60 s of EOF"
yg_expect_clean "$box"
# the broker's own phase durations of that login and logout
for k in ms_lock ms_check ms_resume ms_agent ms_inject ms_console ms_exit ms_logout; do
	v=$(grep -m1 -o " $k=[0-9]*" "$YG_TMP/gated.log" | cut -d= -f2)
	[ -z "$v" ] || yg_timing "gated_${k#ms_}" "$(awk -v v="$v" 'BEGIN { printf "%.3f", v / 1000 }')"
done
if grep -q "$secret" "$YG_TMP/gated.log"; then
	yg_fail "the key's value appears in the broker log"
fi

# 3. A non-root PREPARE is denied.
as_user "$client" "$sock" prepare root > "$out" || true
grep -q '^ERROR 5 ' "$out" || yg_fail "a non-root PREPARE was not denied: $(cat "$out")"

# 4. A bad HELLO version gets ERROR VERSION, then close.
"$client" "$sock" badversion > "$out" || true
grep -q '^ERROR 2 ' "$out" || yg_fail "a bad HELLO version got no ERROR 2: $(cat "$out")"

# 5. Out of phase (DATA before OPEN) -> ERROR PROTOCOL.
"$client" "$sock" raw 5 > "$out" || true
grep -q '^ERROR 1 ' "$out" || yg_fail "DATA before OPEN was not refused: $(cat "$out")"

# 6. A frame of length 0 closes that connection (after an ERROR PROTOCOL); the broker serves the next.
"$client" "$sock" zeroframe > "$out" || true
grep -q '^CLOSED\|^ERROR 1 ' "$out" || yg_fail "a zero-length frame did not close the connection: $(cat "$out")"
"$client" "$sock" account "$user" > "$out" || true
grep -q '^POLICY 1 1' "$out" || yg_fail "ACCOUNT after a bad client failed: $(cat "$out")"
"$client" "$sock" account root > "$out" || true
grep -q '^POLICY 0 0' "$out" || yg_fail "root should not be gated: $(cat "$out")"

# 7. A user without a box gets ERROR NOPOLICY.
setpriv --reuid=nobody --regid=nogroup --clear-groups "$client" "$sock" open > "$out" || true
grep -q '^ERROR 3 no box is configured for user nobody' "$out" ||
	yg_fail "nobody got no NOPOLICY: $(cat "$out")"

# 8. PREPARE (root), then the user's shell attaches with the session id; a
#    second login meanwhile is refused (concurrent = refuse); RELEASE ends it.
"$client" "$sock" prepare "$user" > "$out" || true
sid=$(sed -n 's/^SESSION //p' "$out")
[ -n "$sid" ] || yg_fail "PREPARE gave no SESSION: $(cat "$out")"
as_user "$client" "$sock" open --session 0000000000000000 > "$out" || true
grep -q '^ERROR 6 box .* is in use since' "$out" || yg_fail "a second login was not refused: $(cat "$out")"
as_user "$client" "$sock" open --session "$sid" send 'echo a""ttached\r' expect attached \
	wait > "$out" 2>/dev/null &
shell_pid=$!
for ((i = 0; i < 600; i++)); do
	grep -q '^EXPECT-OK attached' "$out" && break
	sleep 0.1
done
grep -q "^READY $sid $box" "$out" || yg_fail "the shell did not attach to $sid: $(cat "$out")"
"$client" "$sock" release "$sid" > "$YG_TMP/release" || true
grep -q '^EXIT 0' "$YG_TMP/release" || yg_fail "RELEASE got no EXIT 0: $(cat "$YG_TMP/release")"
wait "$shell_pid" || true
grep -q '^EXIT 0 session released' "$out" || yg_fail "the shell was not told of the release: $(cat "$out")"
yg_expect_clean "$box"

# 9. SIGHUP with a broken policy keeps the old one.
echo 'bogus_key = 1' >> "$conf/policy.d/10-test.conf"
kill -HUP "$gated_pid"
sleep 0.5
grep -q 'event=reload_failed' "$YG_TMP/gated.log" || yg_fail "a bad policy on SIGHUP was not reported"
"$client" "$sock" account "$user" > "$out" || true
grep -q '^POLICY 1 1' "$out" || yg_fail "the old policy was not kept: $(cat "$out")"

# 10. concurrent = takeover: a second login ends the first session (its
#     client is told), the box is reverted, and the new login gets it.
sed -i '/^bogus_key/d' "$conf/policy.d/10-test.conf"
echo 'concurrent = takeover' >> "$conf/policy.d/10-test.conf"
kill -HUP "$gated_pid"
for ((i = 0; i < 50; i++)); do
	grep -q 'event=reloaded' "$YG_TMP/gated.log" && break
	sleep 0.1
done
grep -q 'event=reloaded' "$YG_TMP/gated.log" || yg_fail "a good policy on SIGHUP was not loaded"
as_user "$client" "$sock" open send 'echo f""irst\r' expect first wait > "$out.1" 2>/dev/null &
first_pid=$!
for ((i = 0; i < 600; i++)); do
	grep -q '^EXPECT-OK first' "$out.1" && break
	sleep 0.1
done
grep -q '^EXPECT-OK first' "$out.1" || yg_fail "the first login did not start: $(cat "$out.1")"
t0=$(yg_now_ms)
as_user "$client" "$sock" open send 'echo t""ook\r' expect took exit > "$out.2" 2>/dev/null ||
	yg_fail "the takeover login failed: $(cat "$out.2")"
yg_timing takeover_to_prompt "$(yg_since "$t0")"
wait "$first_pid" || true
grep -q '^EXIT 1 session taken over by a new login' "$out.1" ||
	yg_fail "the first client was not told of the takeover: $(cat "$out.1")"
grep -q '^EXPECT-OK took' "$out.2" || yg_fail "the new login got no console: $(cat "$out.2")"
grep -q '^EXIT 0 session closed' "$out.2" || yg_fail "EXIT (escape) got no EXIT 0: $(cat "$out.2")"
for ((i = 0; i < 600; i++)); do
	[ "$(grep -c 'event=session_end' "$YG_TMP/gated.log")" -ge 5 ] && break
	sleep 0.1
done
yg_expect_clean "$box"

# 11. SIGTERM to a session child: the client is told, the box is reverted.
as_user "$client" "$sock" open send 'echo t""erm\r' expect term wait > "$out.3" 2>/dev/null &
term_pid=$!
for ((i = 0; i < 600; i++)); do
	grep -q '^EXPECT-OK term' "$out.3" && break
	sleep 0.1
done
grep -q '^EXPECT-OK term' "$out.3" || yg_fail "the login before SIGTERM failed: $(cat "$out.3")"
# the session's process: the one that logged its READY (a login handed to a
# process that held the console since the last logout is not the last accept)
child=$(grep 'event=session_ready' "$YG_TMP/gated.log" | tail -n 1 | sed -n 's/^yolo-gated\[\([0-9]*\)\].*/\1/p')
kill -TERM "$child"
wait "$term_pid" || true
grep -q '^EXIT 1 yolo-gated is stopping' "$out.3" || yg_fail "SIGTERM: the client was not told: $(cat "$out.3")"
for ((i = 0; i < 600; i++)); do
	grep -q 'reason=sigterm' "$YG_TMP/gated.log" && break
	sleep 0.1
done
yg_expect_clean "$box"

# 12. A key file with a wrong mode: ERROR KEYS with the fix, box reverted.
chmod 0644 "$conf/keys.d/$user.env"
as_user "$client" "$sock" open > "$out" || true
grep -q '^ERROR 9 .*chmod' "$out" || yg_fail "a 0644 key file was not refused with its fix: $(cat "$out")"
for ((i = 0; i < 600; i++)); do
	grep -q 'reason=error' "$YG_TMP/gated.log" && break
	sleep 0.1
done
grep -q 'reason=error' "$YG_TMP/gated.log" || yg_fail "no session_end after the refused key file"
yg_expect_clean "$box"
chmod 0600 "$conf/keys.d/$user.env"

# 13. idle_timeout: a silent client is logged out.
echo 'idle_timeout = 2' >> "$conf/policy.d/10-test.conf"
kill -HUP "$gated_pid"
for ((i = 0; i < 50; i++)); do
	[ "$(grep -c 'event=reloaded' "$YG_TMP/gated.log")" -ge 2 ] && break
	sleep 0.1
done
as_user "$client" "$sock" open wait > "$out" 2>/dev/null || true
grep -q '^EXIT 1 idle timeout' "$out" || yg_fail "idle_timeout did not end the session: $(cat "$out")"

# 14. SIGTERM stops the parent cleanly (status 0, socket removed if it can);
#     no sanitizer report anywhere in the broker's output.
kill -TERM "$gated_pid"
rc_term=0
wait "$gated_pid" || rc_term=$?
YG_GATED_PID=
[ "$rc_term" = 0 ] || yg_fail "yolo-gated exited with status $rc_term on SIGTERM"
grep -q 'event=stopped' "$YG_TMP/gated.log" || yg_fail "yolo-gated did not log its stop"
if grep -q 'Sanitizer\|runtime error:' "$YG_TMP/gated.log"; then
	yg_fail "the broker's log has a sanitizer report"
fi

yg_log "PASS"
