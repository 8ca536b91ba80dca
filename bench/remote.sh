#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/remote.sh: remote commands and file transfer (issue 14) against the
# libvirt-native alternatives, measured in the same run on the same box.
# Run as root through `make bench-remote` (BENCH_QUICK=1: a short run).
#
#   exec      `yolo-shell -c true` (the coordinator's path) in a live session
#   agent     virsh qemu-agent-command guest-exec /bin/true, then
#             guest-exec-status polled every 10 ms until it exited
#   ssh_live  `ssh lab true` joining the live session
#   ssh_cold  `ssh lab true` with no live session (box paused, warm)
#   login     a warm interactive login through sshd (ssh -tt, first echo back)
#   scp       scp of BENCH_MIB MiB into the box, against scp to the host's
#             own sshd over loopback (a plain user)
#   out       `head -c N /dev/zero` out of the box through yolo-shell -c,
#             against the console relay (ptydrive sink, as bench.sh)
# Writes the section between the remote markers of docs/BENCHMARKS.md
# (quick: $top_builddir/bench/BENCHMARKS-remote-quick.md).
set -euo pipefail
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/e2e/lib-e2e.sh"
. "$top_srcdir/bench/lib-bench.sh"
. "$top_srcdir/bench/report.sh"

if [ "$QUICK" = 1 ]; then
	N_EXEC=5 N_SSH=2 N_LOGIN=1 MIB=${BENCH_MIB:-8} OUT_MIB=4 SINK_BYTES=100000
	: "${BENCH_OUT:=$top_builddir/bench/BENCHMARKS-remote-quick.md}"
else
	N_EXEC=20 N_SSH=5 N_LOGIN=3 MIB=${BENCH_MIB:-100} OUT_MIB=32 SINK_BYTES=1000000
	: "${BENCH_OUT:=$top_srcdir/docs/BENCHMARKS.md}"
fi
bench_log() { printf 'bench-remote: %s\n' "$*" >&2; }
bench_begin bench-remote bench-remote
S=$YG_TMP/samples
: > "$S"
rec() { printf '%s %s\n' "$1" "$2" >> "$S"; }

e2e_broker_user ygbr-svc
e2e_conf "$E2E_SVC" "service_user = ${E2E_SYSUSERS[0]}"
conf=$E2E_CONF sock=$E2E_SOCK u=ygbr1 plain=ygbrplain box=yg-bench-r-ygbr1
e2e_policy 10-bench.conf yg-bench-r- "$u"
policy() {	# linger = $1 for the user (one key: a second one is an error)
	sed -i '/^linger = /d' "$conf/policy.d/10-bench.conf"
	printf 'linger = %s\n' "$1" >> "$conf/policy.d/10-bench.conf"
}
e2e_user "$u" "$E2E_SHELL"
e2e_user "$plain" /bin/sh
e2e_key "$u" "$E2E_SVC" "BENCH_API_KEY=sk-bench-$u"
GLOG=$E2E_DIR/gated.log
e2e_gated "$conf" "$sock" "${E2E_GATED_OPTS[@]}"
e2e_sshd "SetEnv YOLO_GATE_SOCKET=$sock"
yg_box_create "$box" 256 >&2

ms_of() { local t0=$1; echo $(( $(yg_now_ms) - t0 )); }
as_user() {
	setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups \
		env -i PATH=/usr/bin:/bin YOLO_GATE_SOCKET="$sock" "$E2E_SHELL" -c "$1"
}
ssh_opts=(-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	  -o BatchMode=yes -o LogLevel=ERROR)
settle() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(yg_domstate "$box")" = "paused (from snapshot)" ] && return 0
		sleep 0.1
	done
	yg_fail "$box did not come back paused from its snapshot within 60 s" "$box"
}
reload() { kill -HUP "$E2E_GATED_PID"; sleep 0.5; }

# ---- 1. no live session: ssh lab true, and a warm interactive login
policy 0
reload
as_user true </dev/null || yg_fail "the first remote command failed" "$box"
settle
for ((i = 0; i < N_SSH; i++)); do
	t0=$(yg_now_ms)
	e2e_ssh_cmd "$u" true || yg_fail "ssh $u true failed" "$box"
	rec ssh_cold "$(ms_of "$t0")"
	settle
done
for ((i = 0; i < N_LOGIN; i++)); do
	out=$("$PD" -t 120 expect attach 'connected to' probe done 'echo Y$((6*7))Z\r' Y42Z 200 \
		send '\x1d' wait end -- ssh -tt "${ssh_opts[@]}" -i "$E2E_DIR/keys/$u.key" \
		-p "$E2E_PORT" "$u@127.0.0.1") || yg_fail "the interactive login failed" "$box"
	rec login "$(sed -n 's/^done //p' <<< "$out")"
	settle
done
# the console relay's throughput (as bench.sh measures it)
out=$("$PD" -t 120 expect attach onnected probe ready 'echo Y$((6*7))Z\r' Y42Z 500 sleep 500 \
	send "yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU | head -c $SINK_BYTES > /tmp/big; echo MA\"\"DE\\r" \
	expect made MADE sleep 300 sink sink 'cat /tmp/big; echo E""ND\r' END sleep 300 \
	send '\x1d' wait end -- setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups \
	env -i TERM=vt100 YOLO_GATE_SOCKET="$sock" "$E2E_SHELL") ||
	yg_fail "the console throughput run failed" "$box"
rec console_kbs "$(awk '$1 == "sink_bytes" { b = $2 } $1 == "sink_ms" { printf "%.0f", b / $2 }' <<< "$out")"
settle
bench_log "no live session done ($(yg_since "$T_START") s)"

# ---- 2. a live session (linger keeps it): exec, agent, ssh, scp, out
policy 10m
reload
as_user true </dev/null || yg_fail "the first command of the live session failed" "$box"
for ((i = 0; i < N_EXEC; i++)); do
	t0=$(yg_now_ms)
	as_user true </dev/null || yg_fail "yolo-shell -c true failed" "$box"
	rec exec "$(ms_of "$t0")"
	t0=$(yg_now_ms)
	pid=$(virsh -q -c "$YG_URI" qemu-agent-command "$box" \
		'{"execute":"guest-exec","arguments":{"path":"/bin/true","capture-output":true}}' |
		jq -r .return.pid)
	[[ $pid =~ ^[0-9]+$ ]] || yg_fail "guest-exec gave no pid (is the box running?)" "$box"
	for ((k = 0; k < 1000; k++)); do
		virsh -q -c "$YG_URI" qemu-agent-command "$box" \
			"{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}" |
			jq -e .return.exited >/dev/null && break
		sleep 0.01
	done
	[ "$k" -lt 1000 ] || yg_fail "guest-exec-status never said exited" "$box"
	rec agent "$(ms_of "$t0")"
done
for ((i = 0; i < N_SSH; i++)); do
	t0=$(yg_now_ms)
	e2e_ssh_cmd "$u" true || yg_fail "ssh $u true (live) failed" "$box"
	rec ssh_live "$(ms_of "$t0")"
done
head -c $((MIB << 20)) /dev/urandom > "$YG_TMP/blob"
chmod 0644 "$YG_TMP/blob"
for who in "$plain" "$u"; do
	t0=$(yg_now_ms)
	scp "${ssh_opts[@]}" -i "$E2E_DIR/keys/$who.key" -P "$E2E_PORT" "$YG_TMP/blob" \
		"$who@127.0.0.1:/tmp/yg-bench-blob" || yg_fail "scp as $who failed" "$box"
	rec "scp_$who" "$(ms_of "$t0")"
done
rm -f /tmp/yg-bench-blob
sum=$(as_user 'sha256sum /tmp/yg-bench-blob' </dev/null | cut -d' ' -f1)
[ "$sum" = "$(sha256sum < "$YG_TMP/blob" | cut -d' ' -f1)" ] ||
	yg_fail "the file copied into the box differs" "$box"
t0=$(yg_now_ms)
n=$(as_user "head -c $((OUT_MIB << 20)) /dev/zero" </dev/null | wc -c)
rec out_ms "$(ms_of "$t0")"
[ "$n" = $((OUT_MIB << 20)) ] || yg_fail "cat out of the box gave $n bytes" "$box"
bench_log "live session done ($(yg_since "$T_START") s)"

# ---- report
mbs() { awk -v mib="$1" -v ms="$2" 'BEGIN { if (ms == "-" || ms == 0) print "-"; else printf "%.2f", mib * 1.048576 / (ms / 1000) }'; }
e50=$(bstat "$S" exec p50) a50=$(bstat "$S" agent p50)
sc50=$(bstat "$S" ssh_cold p50) sl50=$(bstat "$S" ssh_live p50) l50=$(bstat "$S" login p50)
scp_box=$(mbs "$MIB" "$(bstat "$S" "scp_$u" p50)") scp_host=$(mbs "$MIB" "$(bstat "$S" "scp_$plain" p50)")
out_mbs=$(mbs "$OUT_MIB" "$(bstat "$S" out_ms p50)")
con_mbs=$(awk -v k="$(bstat "$S" console_kbs p50)" 'BEGIN { printf "%.3f", k / 1000 }')
section=$YG_TMP/section
{
	echo '<!-- remote:begin (bench/remote.sh) -->'
	echo '## Remote commands and file transfer (issue 14)'
	echo
	echo "Written by \`make bench-remote\` (bench/remote.sh) on $(date -u '+%Y-%m-%d %H:%M UTC') in"
	echo "$(yg_since "$T_START") s$([ "$QUICK" = 1 ] && echo ' (BENCH_QUICK=1)'); tiny guest, TCG, 256 MiB, same box and run for every row."
	echo
	echo '| what | n | p50 | against | ratio | target |'
	echo '|---|---|---|---|---|---|'
	echo "| \`yolo-shell -c true\`, live session | $(bstat "$S" exec n) | $e50 ms | virsh guest-exec + guest-exec-status: $a50 ms | $(ratio "$e50" "$a50") | <= 0.5 |"
	echo "| \`ssh lab true\`, live session | $(bstat "$S" ssh_live n) | $sl50 ms | | | |"
	echo "| \`ssh lab true\`, no live session (box paused) | $(bstat "$S" ssh_cold n) | $sc50 ms | warm interactive ssh login: $l50 ms | $(ratio "$sc50" "$l50") | |"
	echo "| scp ${MIB} MiB into the box | 1 | $scp_box MB/s | scp to the host's sshd (loopback): $scp_host MB/s | $(ratio "$scp_box" "$scp_host" 3) | >= 0.5 |"
	echo "| ${OUT_MIB} MiB out of the box (\`yolo-shell -c 'head -c ...'\`) | 1 | $out_mbs MB/s | console relay (\`cat\` of ${SINK_BYTES} B): $con_mbs MB/s | $(ratio "$out_mbs" "$con_mbs" 1) | |"
	echo
	echo 'Reproduce as root from a configured build tree: `make bench-remote` (`BENCH_QUICK=1` for a short run).'
	echo '<!-- remote:end -->'
} > "$section"
bench_splice remote "$section" "$BENCH_OUT"
cat "$section"
echo "bench-remote: exec_p50=$e50 agent_p50=$a50 ssh_cold_p50=$sc50 login_p50=$l50 scp_box_mbs=$scp_box scp_host_mbs=$scp_host out_mbs=$out_mbs console_mbs=$con_mbs"
