#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/hosts.sh: a warm login to a box on a remote hypervisor host against
# one on the gate's own host (issue 17), in the same run, interleaved.
# Run as root through `make bench-hosts` (BENCH_QUICK=1: a short run).
#
# The remote host is tests/integration/lib-host2.sh's stand-in: a second
# libvirtd in its own mount and network namespace, reached over qemu+tcp on a
# veth (no TLS: the round trips, not the cipher, are what grows). Two users,
# two boxes of the same 256 MiB tiny guest, one per host:
#   warm_local / warm_remote    yolo-shell login, box paused from its
#                               snapshot, until a typed echo came back (as
#                               bench.sh's "warm"); the broker's phases of
#                               each (ms_resume, ms_inject, ...)
#   pfloor_local / _remote      bench/floor on each host (resume, console
#                               open, wake, echo through libvirt's API)
#   rt_local / rt_remote        one libvirt round trip on a connection that
#                               is open (bench/floor -R: virDomainGetState)
#   rpc_calls / rpc_stream      what a remote warm login asks of host2's
#                               libvirtd between the client's start and its
#                               echo: the calls (each one a round trip the
#                               session waits for) and the stream messages
#                               (console and box channel data, not waited
#                               for one by one), counted in host2's libvirtd
#                               debug log (virt-admin, rpc.netserverclient)
# Writes the section between the hosts markers of docs/BENCHMARKS.md
# (quick: $top_builddir/bench/BENCHMARKS-hosts-quick.md).
set -euo pipefail
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/e2e/lib-e2e.sh"
. "$top_srcdir/tests/integration/lib-host2.sh"
. "$top_srcdir/bench/lib-bench.sh"
. "$top_srcdir/bench/report.sh"

if [ "$QUICK" = 1 ]; then
	N=2
	: "${BENCH_OUT:=$top_builddir/bench/BENCHMARKS-hosts-quick.md}"
else
	N=20
	: "${BENCH_OUT:=$top_srcdir/docs/BENCHMARKS.md}"
fi
bench_log() { printf 'bench-hosts: %s\n' "$*" >&2; }
bench_begin bench-hosts bench-hosts
bench_login_setup bench-hosts bench-hosts
S=$SAMPLES

yg_host2_start >&2
yg_host2_guest
BOX=yg-bench-h-$$
box_of() { echo "$BOX"; }
ul=ygbhl ur=ygbhr

e2e_broker_user ygbh-svc
e2e_conf "$E2E_SVC" "service_user = ${E2E_SYSUSERS[0]}"
conf=$E2E_CONF sock=$E2E_SOCK
{
	printf '[defaults]\nsnapshot = clean-state\nagent_timeout = 60s\n'
	printf 'keys = %s/keys.d/%%u.env\n\n' "$conf"
	printf '[host:hv2]\nuri = %s\nimages = %s\n\n' "$YG_HOST2_URI" "$YG_HOST2_IMAGES"
	printf '[user:%s]\ndomain = %s\n\n' "$ul" "$BOX"
	printf '[user:%s]\ndomain = %s\nhost = hv2\n' "$ur" "$BOX"
} > "$conf/policy.d/10-bench.conf"
chmod 0644 "$conf/policy.d/10-bench.conf"
for u in "$ul" "$ur"; do
	e2e_user "$u" "$E2E_SHELL"
	e2e_key "$u" "$E2E_SVC" "BENCH_API_KEY=sk-bench-$u"
done
GLOG=$E2E_DIR/gated.log
e2e_gated "$conf" "$sock" "${E2E_GATED_OPTS[@]}"
yg_box_create "$BOX" 256 >&2
yg_host2_box_create "$BOX" 256 >&2
R=$YG_HOST2_URI

# One untimed login on each first (page cache, each host's first QEMU).
login warmup shell "$ul" >/dev/null || yg_fail "the first local login failed" "$BOX"
settle "$BOX"
YG_URI=$R login warmup shell "$ur" >/dev/null || yg_host2_fail "the first remote login failed" "$BOX"
YG_URI=$R settle "$BOX"
for ((i = 1; i <= N; i++)); do
	m=$(nlines); login warm_local shell "$ul" >/dev/null; settle "$BOX"; phases warm_local "$m"
	m=$(nlines); YG_URI=$R login warm_remote shell "$ur" >/dev/null
	YG_URI=$R settle "$BOX"; phases warm_remote "$m"
	pfloor pfloor_local "$BOX"; revert_paused "$BOX"
	YG_URI=$R pfloor pfloor_remote "$BOX"; YG_URI=$R revert_paused "$BOX"
	"$FL" -c "$YG_URI" -R 20 "$BOX" | awk '$1 == "rt" { print "rt_local", $2 }' >> "$S"
	"$FL" -c "$R" -R 20 "$BOX" | awk '$1 == "rt" { print "rt_remote", $2 }' >> "$S"
done
bench_log "logins done ($(yg_since "$T_START") s)"

# ---- what a remote login asks of host2's libvirtd (its RPC debug log)
H2ROOT=${YG_HOST2_IMAGES%/images}
ADM="libvirtd:///system?socket=$H2ROOT/sock/libvirt-admin-sock"
h2adm() { virt-admin -q -c "$ADM" "$@" >/dev/null || yg_fail "virt-admin $* on host2 failed"; }
stamp() { date -u -d "@$(( $1 / 1000 )).$(printf '%03d' $(( $1 % 1000 )))" '+%Y-%m-%d %H:%M:%S.%3N'; }
# host2's own outputs (lib-host2.sh's libvirtd.conf) are put back afterwards
H2OUT=$(virt-admin -q -c "$ADM" daemon-log-outputs | sed -n 's/^ *Logging outputs: *//p')
h2adm daemon-log-filters "1:rpc.netserverclient"
h2adm daemon-log-outputs "1:file:/var/log/libvirt/rpc.log $H2OUT"
for ((i = 1; i <= (QUICK ? 1 : 3); i++)); do
	t0=$(yg_now_ms)
	ms=$(YG_URI=$R login rpc shell "$ur")
	from=$(stamp "$t0") to=$(stamp $(( t0 + ${ms%.*} )))
	YG_URI=$R settle "$BOX"
	# the remote program's messages (0x20008086; not keepalive's or admin's)
	awk -v a="$from" -v b="$to" '/RPC_SERVER_CLIENT_MSG_RX:/ && / prog=536903814 / {
		t = $1 " " substr($2, 1, 12); if (t < a || t > b) next
		if (/ type=0 /) c++; else if (/ type=3 /) s++ }
		END { print "rpc_calls", c + 0; print "rpc_stream", s + 0 }' "$H2ROOT/log/rpc.log" >> "$S"
done
h2adm daemon-log-filters ""
h2adm daemon-log-outputs "$H2OUT"

# ---- report
p() { bstat "$S" "$1" p50; }
d() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else print a - b }'; }
wl=$(p warm_local) wr=$(p warm_remote) fl=$(p pfloor_local) fr=$(p pfloor_remote)
section=$YG_TMP/section
{
	echo '<!-- hosts:begin (bench/hosts.sh) -->'
	echo '## A box on another hypervisor host (issue 17)'
	echo
	echo "Written by \`make bench-hosts\` (bench/hosts.sh) on $(date -u '+%Y-%m-%d %H:%M UTC') in"
	echo "$(yg_since "$T_START") s$([ "$QUICK" = 1 ] && echo ' (BENCH_QUICK=1)'); tiny guest, TCG, 256 MiB, one box per host, logins"
	echo "interleaved. The remote host is tests/integration/lib-host2.sh's second libvirtd (own mount"
	echo "and network namespace, qemu+tcp over a veth: libvirt's remote protocol without TLS)."
	echo
	echo '| what | n | local p50 | remote p50 | remote / local | remote - local |'
	echo '|---|---|---|---|---|---|'
	echo "| warm login (yolo-shell, typed echo back) | $(bstat "$S" warm_remote n) | $wl ms | $wr ms | $(ratio "$wr" "$wl") | $(d "$wr" "$wl") ms |"
	echo "| physical floor (bench/floor: resume, console, wake, echo) | $(bstat "$S" pfloor_remote n) | $fl ms | $fr ms | $(ratio "$fr" "$fl") | $(d "$fr" "$fl") ms |"
	echo "| warm login / physical floor of its host | | $(ratio "$wl" "$fl") | $(ratio "$wr" "$fr") | | |"
	echo "| one libvirt call on an open connection (virDomainGetState) | $(bstat "$S" rt_remote n) | $(bstat "$S" rt_local p50 2) ms | $(bstat "$S" rt_remote p50 2) ms | | |"
	echo "| a remote warm login's calls to host2's libvirtd, client start to echo (each a round trip) | $(bstat "$S" rpc_calls n) | | $(bstat "$S" rpc_calls p50) calls | | |"
	echo "| the same login's stream messages to host2 (console, box channel) | $(bstat "$S" rpc_stream n) | | $(bstat "$S" rpc_stream p50) messages | | |"
	for k in lock check resume agent inject console ready; do
		a=$(bstat "$S" "phase.warm_local.ms_$k" p50) b=$(bstat "$S" "phase.warm_remote.ms_$k" p50)
		[ "$a$b" != "--" ] || continue
		echo "| broker phase ms_$k | | $a ms | $b ms | $(ratio "$b" "$a") | $(d "$b" "$a") ms |"
	done
	echo
	echo 'bench/floor by phase (p50 ms; typed: how often the echo was typed, max):'
	echo
	echo '| floor | resume | open | wake | hello | echo | total | typed |'
	echo '|---|---|---|---|---|---|---|---|'
	floor_row pfloor_local 'local host'
	floor_row pfloor_remote 'remote host (qemu+tcp)'
	echo
	echo 'Reproduce as root from a configured build tree: `make bench-hosts` (`BENCH_QUICK=1` for a short run).'
	echo '<!-- hosts:end -->'
} > "$section"
bench_splice hosts "$section" "$BENCH_OUT"
cat "$section"
echo "bench-hosts: warm_local_p50=$wl warm_remote_p50=$wr ratio=$(ratio "$wr" "$wl") pfloor_local_p50=$fl pfloor_remote_p50=$fr rpc_calls_p50=$(bstat "$S" rpc_calls p50)"
