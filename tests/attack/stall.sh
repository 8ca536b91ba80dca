#!/bin/bash
# SPDX-License-Identifier: MIT
# stall.sh: issue 13, defect 2: a client that stops reading while the guest
# writes at full speed to its console. libvirt queues every stream packet
# that reaches the session child while its event loop runs, read or not, so
# the child must keep reading the console and drop what the stalled client
# cannot take (docs/yolo-gated.8, "Output to a client that does not read").
#  - the client reads nothing for 60 s while `yes` runs on the guest console:
#    the session child's VmHWM stays under its VmHWM at READY + 6 MiB (it
#    keeps a 2 MiB backlog for the client; without the bound it grew by the
#    guest's output, +11 to +12.7 MiB in that minute on TCG);
#  - when the client reads again it gets what was kept (about 2 MiB of
#    output: the serial console's 16-byte reads are not kept as 16-byte
#    frames), then one line "[yolo-gate] N bytes of box output dropped while
#    your terminal was not reading", then the box's output again; the broker
#    logs event=output_dropped bytes=N.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

bound_kb=$((6 * 1024))
stall_s=60
# An ASan build keeps up to 256 MB of freed memory in quarantine (libvirt's
# freed stream packets would count as growth): 1 MB here; its allocator's
# caches still add some (+5.9 MB measured), so its bound is 12 MiB.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1
if grep -qa __asan_init "$top_builddir/src/gated/yolo-gated"; then
	bound_kb=$((12 * 1024))
fi
yg_box_broker stall
yg_user_policy
yg_gated_start "$conf" "$sock" "$log"

# wait_for FILE PATTERN SECS (grep -a: the console bytes are binary-ish)
wait_for() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -aq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# kb PID FIELD: a field of /proc/PID/status in kB
kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

out=$YG_TMP/out
con=$YG_TMP/con
line=stall-0123456789abcdefghijklmnopqrstuvwxyz-0123456789abcdefghijklmnopqrstuvwxyz
# the client: a prompt, 4 s for the baseline, then `yes` and no reading
setpriv --reuid="$user" --regid=nogroup --clear-groups "$client" "$sock" open send 'echo u""p-ok\r' expect 'up-ok' pause 4 \
	send "yes $line\\r" pause "$stall_s" wait > "$out" 2> "$con" &
cpid=$!
yg_on_cleanup "kill $cpid 2>/dev/null"
wait_for "$out" '^EXPECT-OK up-ok' 120 || yg_fail "the session did not start: $(cat "$out")"
sid=$(sed -n 's/.*event=session_ready session=\([0-9a-f]*\) .*/\1/p' "$log" | tail -n 1)
child=$(sed -n 's/^pid=//p' "$run/sessions/$sid")
base=$(kb "$child" VmHWM)
t0=$(yg_now_ms)
yg_log "session $sid, child $child: VmHWM at READY $base kB"

# the stall (the client reads nothing from 4 s on); VmHWM is the child's
# peak, read at the stall's end
sleep 3
for ((i = 10; i <= stall_s; i += 10)); do
	sleep 10
	yg_log "after $i s: VmRSS $(kb "$child" VmRSS) kB"
done
stalled=$(kb "$child" VmHWM)
yg_log "VmHWM after ${stall_s} s of a client that reads nothing: $stalled kB (+$((stalled - base)) kB)"
[ "$stalled" -le $((base + bound_kb)) ] ||
	yg_fail "the session child grew from $base kB to $stalled kB VmHWM while its client read nothing (bound: +$bound_kb kB)"

# the client reads again: the notice, then output again
wait_for "$con" 'bytes of box output dropped while your terminal was not reading' 30 ||
	yg_fail "no notice of dropped output once the client read again"
n=$(grep -aom 1 '\[yolo-gate\] [0-9]* bytes of box output dropped' "$con" | awk '{ print $2; exit }')
[ "${n:-0}" -gt 0 ] || yg_fail "the notice does not say how many bytes were dropped"
grep -aq "event=output_dropped bytes=$n\$" "$log" || yg_fail "no event=output_dropped bytes=$n in the log"
after=$(grep -abom 1 'your terminal was not reading' "$con" | cut -d: -f1)
[ "$after" -ge 2000000 ] || yg_fail "only $after bytes of output came before the notice (the backlog is 2 MiB)"
for ((i = 0; i < 100; i++)); do
	grep -aq "$line" <(tail -c +"$((after + 1))" "$con") && break
	sleep 0.1
done
grep -aq "$line" <(tail -c +"$((after + 1))" "$con") || yg_fail "no box output after the notice"
final=$(kb "$child" VmHWM)
"$ctl" end --config "$conf" "$sid" || yg_fail "yolo-gatectl end failed"
wait "$cpid" || true
grep -q '^EXIT ' "$out" || yg_fail "the client got no EXIT: $(tail -n 3 "$out")"
[ "$final" -le $((base + bound_kb)) ] || yg_fail "VmHWM $final kB after the drain (base $base kB)"
yg_timing stall "$(yg_since "$t0")"
echo "stall.sh: ok: VmHWM $base kB at READY, $stalled kB after a ${stall_s} s stall, $final kB after the drain; $n bytes dropped with a notice"
