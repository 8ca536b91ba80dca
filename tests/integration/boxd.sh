#!/bin/bash
# SPDX-License-Identifier: MIT
# boxd.sh: the tiny guest's yolo-boxd answers on its virtio port
# org.yologate.boxd.0, reached the broker's way (virDomainOpenChannel, by
# tests/integration/chanprobe): HELLO, a command's output and exit status,
# and the round trip of EXEC `true` (p50 of 20, recorded as a timing).
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

probe=$top_builddir/tests/integration/chanprobe
yg_require_built "$probe"
yg_init_guest

name=yg-it-boxd-$$
yg_box_define "$name"
t0=$(yg_now_ms)
yg_virsh start "$name" >/dev/null || yg_fail "virsh start $name failed" "$name"
yg_wait_agent "$name" 60 ||
	yg_fail "the guest agent of $name did not answer within 60 s of boot" "$name"
yg_timing boot_to_agent "$(yg_since "$t0")"

out=$YG_TMP/probe.out
t0=$(yg_now_ms)
"$probe" "$YG_URI" "$name" 'echo hi; uname -r; echo oops >&2; exit 0' 20 > "$out" 2>&1 || {
	cat "$out" >&2
	yg_fail "chanprobe could not run a command through yolo-boxd in $name" "$name"
}
yg_timing probe_total "$(yg_since "$t0")"
cat "$out"
grep -q '^hello: yolo-boxd ' "$out" || yg_fail "no HELLO from yolo-boxd in the probe's output" "$name"
grep -qx 'stdout: hi' "$out" || yg_fail "the output of 'echo hi' is missing" "$name"
grep -Eq '^(stdout: )?[0-9]+\.[0-9]+\.[0-9]+-.*amd64$' "$out" ||
	yg_fail "the output of 'uname -r' (a Debian kernel release) is missing" "$name"
grep -qx 'stderr: oops' "$out" || yg_fail "stderr did not come as stderr" "$name"
grep -qx 'exited: 0 0' "$out" || yg_fail "the command's exit status 0 is missing" "$name"
p50=$(awk '/^rtt_ms:/ { print $3 }' "$out")
[ -n "$p50" ] || yg_fail "no round-trip figure from chanprobe" "$name"
yg_log "EXEC true round trip through yolo-boxd: p50 $p50 ms of 20"
yg_timing boxd_exec_true_p50 "$(awk -v m="$p50" 'BEGIN { printf "%.4f", m / 1000 }')"
