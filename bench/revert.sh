#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/revert.sh: where the time of a libvirt revert of a live box goes
# (docs/REVERT.md). Root; the box must exist, be active (running or paused)
# and have the snapshot (with memory) to revert to.
#
#   bench/revert.sh [-n N] [-m paused|running] [-d SECS] [-c] [-k DIR] BOX [SNAPSHOT]
#
#   -n N        reverts of each kind (default 8)
#   -m MODE     paused: virsh snapshot-revert --paused, what the broker does
#               (yg_box_revert: VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED); running:
#               plain virsh snapshot-revert (default paused)
#   -d SECS     the box runs this long before each revert (default 3; with
#               less, back-to-back reverts on the 2-core test VM got bimodal,
#               see docs/REVERT.md)
#   -c          cold: drop the box's disk image (where the internal snapshot's
#               memory state lives) from the page cache before each logged
#               revert (dd iflag=nocache on that one file)
#   -k DIR      keep the debug log and the raw samples in DIR
#   SNAPSHOT    default clean-state
#
# Each round does two reverts of the running box with `virsh snapshot-revert`:
# one plain (libvirtd logging as found) and one with libvirtd debug logging of
# the qemu driver turned on at run time through virt-admin (a few categories
# only, not the QMP traffic: the CPU check alone is ~400 QMP commands). The
# log lines of the worker thread that ran virDomainRevertToSnapshot are cut
# into phases at these markers (libvirt 9.0 qemu_process.c debug messages):
#
#   api_to_stop     job start -> qemuProcessStop "Shutting down"
#   stop_close      -> virProcessKillPainfullyDelay (monitor/agent closed)
#   stop_kill_wait  SIGTERM -> the old QEMU pid is gone (libvirt polls every
#                   200 ms; a zombie counts as alive until its parent reaps it)
#   stop_cleanup    -> qemuProcessStart (labels restored, cgroups removed)
#   start_prepare   -> "running with pid" (checks, command line, fork)
#   start_setup     -> "Handshake complete" (namespace, cgroups, DAC labels)
#   qemu_loadvm     -> "setting up hotpluggable cpus": QEMU's own start-up and
#                   its -loadvm (QEMU answers qmp_capabilities only after
#                   loadvm), then libvirt's monitor set-up and agent connect
#   vcpu_info       -> "Verifying and updating provided guest CPU"
#   cpu_check       -> "Detecting IOThread PIDs" (qom-list + one qom-get per
#                   CPU property of the x86 vCPU)
#   finish          -> qemuProcessStartCPUs (running) or job end (paused):
#                   tuning, set-action, refresh, status written
#   resume          -> job end (running only: "cont")
#   api             the whole job in libvirtd
#   virsh_extra     virsh wall time minus api (client start, connect, lookup)
#
# A sampler (bash loop on /proc/PID/stat, no forks) also records when the old
# QEMU became a zombie (qemu_exit: SIGTERM -> state Z) and how long the zombie
# waited to be reaped (zombie_wait); REVERT_SAMPLER=0 turns it off.
# Printed: p50 ms of each phase, the logged and the plain virsh wall times
# (virsh_logged, virsh_plain: the two kinds of revert, same box, same run),
# cached_pct (share of the disk image in the page cache before the logged
# revert, from fincore); last line "revert: key=p50 ...".
# The log filters and outputs are put back as found on exit.
set -euo pipefail

N=8 MODE=paused DIRTY=3 KEEP='' COLD=0
while getopts n:m:d:ck: o; do
	case $o in
	n) N=$OPTARG ;;
	m) MODE=$OPTARG ;;
	d) DIRTY=$OPTARG ;;
	c) COLD=1 ;;
	k) KEEP=$OPTARG ;;
	*) echo "usage: $0 [-n N] [-m paused|running] [-d SECS] [-c] [-k DIR] BOX [SNAPSHOT]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-n N] [-m paused|running] [-d SECS] [-c] [-k DIR] BOX [SNAPSHOT]" >&2; exit 2; }
BOX=$1 SNAP=${2:-clean-state}
case $MODE in paused) RFLAGS=(--paused) ;; running) RFLAGS=() ;; *) echo "$0: -m paused|running" >&2; exit 2 ;; esac
: "${REVERT_URI:=qemu:///system}"
[ "$(id -u)" = 0 ] || { echo "$0: needs root (virt-admin, /proc of QEMU)" >&2; exit 1; }
for t in virsh virt-admin; do command -v $t >/dev/null || { echo "$0: $t not found" >&2; exit 1; }; done

vsh() { virsh -q -c "$REVERT_URI" "$@"; }
vsh snapshot-info "$BOX" "$SNAP" >/dev/null ||
	{ echo "$0: $BOX has no snapshot $SNAP" >&2; exit 1; }

# The first disk: internal snapshots keep the memory state in it.
DISK=$(vsh domblklist "$BOX" --details | awk '$2 == "disk" { print $4; exit }')
# cached_pct: how much of the image was in the page cache just before.
cached_pct() {
	command -v fincore >/dev/null && [ -n "$DISK" ] || return 0
	fincore -nb -o RES,SIZE "$DISK" 2>/dev/null | awk '$2 > 0 { printf "cached_pct=%d ", 100 * $1 / $2 }'
}

TMPD=$(mktemp -d "${TMPDIR:-/tmp}/yg-revert.XXXXXX")
LOG=$TMPD/libvirtd-debug.log
# virt-admin prints " Logging filters: F" / " Logging outputs: O".
orig_filters=$(virt-admin daemon-log-filters | sed -n 's/^ *Logging filters: *//p')
orig_outputs=$(virt-admin daemon-log-outputs | sed -n 's/^ *Logging outputs: *//p')
# First match wins; QMP traffic (qemu_monitor*) stays at warnings.
FILTERS="3:qemu.qemu_monitor 1:qemu 1:util.process 1:util.threadjob 1:security 1:cgroup"
restore_logging() {
	virt-admin daemon-log-filters --filters "$orig_filters" >/dev/null 2>&1 ||
		echo "$0: WARNING: could not restore log filters to '$orig_filters'" >&2
	virt-admin daemon-log-outputs --outputs "$orig_outputs" >/dev/null 2>&1 ||
		echo "$0: WARNING: could not restore log outputs to '$orig_outputs'" >&2
}
cleanup() {
	local rc=$?
	[ -z "${SAMPLER:-}" ] || kill "$SAMPLER" 2>/dev/null || true
	restore_logging
	if [ -n "$KEEP" ]; then mkdir -p "$KEEP" && cp -r "$TMPD"/. "$KEEP"/; fi
	rm -rf "$TMPD"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
virt-admin daemon-log-outputs --outputs "${orig_outputs:+$orig_outputs }1:file:$LOG" >/dev/null

now_ms() { local t=$EPOCHREALTIME; echo $(( ${t%.*} * 1000 + 10#${t#*.} / 1000 )); }

# The box runs (dirty) before each revert.
make_dirty() {
	local st
	st=$(vsh domstate "$BOX")
	case $st in
	paused) vsh resume "$BOX" >/dev/null ;;
	running) ;;
	*) echo "$0: $BOX is '$st', not running or paused" >&2; exit 1 ;;
	esac
	sleep "$DIRTY"
}

# sampler PID OUT: "Z <ms of day UTC>" when PID turns zombie, "gone <ms>".
sampler() {
	local pid=$1 out=$2 line st z='' t nap
	exec {nap}<> <(:)	# read -t on it: a 2 ms sleep without a fork
	while :; do
		if ! { read -r line < "/proc/$pid/stat"; } 2>/dev/null; then
			t=$EPOCHREALTIME
			echo "gone $(( (${t%.*} * 1000 + 10#${t#*.} / 1000) % 86400000 ))" >> "$out"
			return 0
		fi
		st=${line##*) }
		st=${st%% *}
		if [ "$st" = Z ] && [ -z "$z" ]; then
			t=$EPOCHREALTIME
			z=1
			echo "Z $(( (${t%.*} * 1000 + 10#${t#*.} / 1000) % 86400000 ))" >> "$out"
		fi
		read -r -t 0.002 -u "$nap" 2>/dev/null || true
	done
}

# phases LOGCHUNK SAMPLES: one line "key=ms ..." for one logged revert.
phases() {
	awk -v samples="$2" '
	function ms(ts,  a) { split(ts, a, /[:.+]/); return ((a[1] * 60 + a[2]) * 60 + a[3]) * 1000 + a[4] }
	function mark(k) { if (!(k in T)) T[k] = t }
	!tid && /is now running job remoteDispatchDomainRevertToSnapshot/ { tid = $3; A = ms($2); T["A"] = A; next }
	!tid { next }
	$3 != tid { next }
	{ t = ms($2); if (t < A) t += 86400000 }
	afterC && !("D" in T) { T["D"] = t }
	/qemuProcessStop:.*Shutting down/ { mark("B") }
	/virProcessKillPainfullyDelay:/ { mark("C"); afterC = 1; next }
	/qemuProcessStart:/ { mark("E") }
	/qemuProcessLaunch:.*running with pid=/ { mark("G") }
	/Handshake complete, child running/ { mark("H") }
	/setting up hotpluggable cpus/ { mark("I") }
	/Verifying and updating provided guest CPU/ { mark("J") }
	/Detecting IOThread PIDs/ { mark("K") }
	/qemuProcessStartCPUs:/ { mark("R") }
	/finished job remoteDispatchDomainRevertToSnapshot/ { mark("Z"); exit }
	END {
		while ((getline l < samples) > 0) { split(l, f, " "); S[f[1]] = f[2] + 0; if (S[f[1]] < A) S[f[1]] += 86400000 }
		n = split("A B C D E G H I J K", k, " ")
		split("api_to_stop stop_close stop_kill_wait stop_cleanup start_prepare start_setup qemu_loadvm vcpu_info cpu_check", name, " ")
		for (i = 1; i < n; i++)
			if ((k[i] in T) && (k[i + 1] in T)) printf "%s=%d ", name[i], T[k[i + 1]] - T[k[i]]
		if ("R" in T) { printf "finish=%d resume=%d ", T["R"] - T["K"], T["Z"] - T["R"] }
		else if ("Z" in T) printf "finish=%d ", T["Z"] - T["K"]
		if ("Z" in T) printf "api=%d ", T["Z"] - T["A"]
		if (("C" in T) && ("Z" in S)) printf "qemu_exit=%d ", S["Z"] - T["C"]
		if (("Z" in S) && ("gone" in S)) printf "zombie_wait=%d ", S["gone"] - S["Z"]
		printf "\n"
	}' "$1"
}

# p50 (nearest rank), min and max of the numbers on stdin
stats() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)], v[1], v[NR]; else print "- - -" }'; }

SAMPLER=
RES=$TMPD/samples
: > "$RES"
echo "revert: $BOX -> $SNAP ($DISK), mode $MODE, cold $COLD, $N rounds, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((i = 1; i <= N; i++)); do
	# plain virsh, logging as found
	make_dirty
	t0=$(now_ms)
	vsh snapshot-revert "$BOX" "$SNAP" "${RFLAGS[@]}"
	plain=$(( $(now_ms) - t0 ))

	# the same under debug logging, with the sampler on the old QEMU
	make_dirty
	pid=$(cat "/run/libvirt/qemu/$BOX.pid")
	: > "$TMPD/s.$i"
	if [ "${REVERT_SAMPLER:-1}" = 1 ]; then
		sampler "$pid" "$TMPD/s.$i" &
		SAMPLER=$!
	fi
	[ "$COLD" = 0 ] || [ -z "$DISK" ] || dd if="$DISK" iflag=nocache count=0 status=none
	cached=$(cached_pct)
	virt-admin daemon-log-filters --filters "$FILTERS" >/dev/null
	off=$(stat -c %s "$LOG" 2>/dev/null || echo 0)
	t0=$(now_ms)
	vsh snapshot-revert "$BOX" "$SNAP" "${RFLAGS[@]}"
	logged=$(( $(now_ms) - t0 ))
	virt-admin daemon-log-filters --filters "$orig_filters" >/dev/null
	[ -z "$SAMPLER" ] || wait "$SAMPLER" 2>/dev/null || true
	SAMPLER=
	tail -c +$((off + 1)) "$LOG" > "$TMPD/chunk.$i"
	line="$(phases "$TMPD/chunk.$i" "$TMPD/s.$i")${cached}virsh_logged=$logged virsh_plain=$plain"
	api=$(sed -n 's/.*\bapi=\([0-9]*\).*/\1/p' <<< "$line")
	[ -z "$api" ] || line="$line virsh_extra=$((logged - api))"
	echo "$line" >> "$RES"
	echo "revert: round $i: $line" >&2
done

KEYS="cached_pct api_to_stop stop_close stop_kill_wait stop_cleanup start_prepare start_setup qemu_loadvm vcpu_info cpu_check finish resume api virsh_extra qemu_exit zombie_wait virsh_logged virsh_plain"
printf '\n| phase | p50 ms | min | max | n |\n|---|---|---|---|---|\n'
summary=
for k in $KEYS; do
	vals=$(grep -o "\b$k=[0-9-]*" "$RES" | cut -d= -f2 || true)
	[ -n "$vals" ] || continue
	n=$(wc -l <<< "$vals")
	read -r m lo hi <<< "$(stats <<< "$vals")"
	printf '| %s | %s | %s | %s | %s |\n' "$k" "$m" "$lo" "$hi" "$n"
	summary="$summary $k=$m"
done
echo
echo "revert: mode=$MODE n=$N$summary"
