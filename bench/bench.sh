#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/bench.sh: yolo-gate logins against the seed's virsh workflow (issue #6).
# Run as root through `make bench` (BENCH_QUICK=1 for a ~1 min smoke run).
#
# A login is done when a command typed in the guest has echoed its output
# back: bench/ptydrive runs the client on a pty, waits for its "connected"
# line, types `echo Y$((6*7))Z` (again every BENCH_RETYPE_MS while no Y42Z
# came back: input or output lost before the console really works) and
# stops the clock at Y42Z. Methods, on the same boxes in the same run:
#   warm   yolo-shell, box paused from its snapshot (what logout leaves),
#          its console held since that logout (console_hold), 1.2 s later
#   warm_fresh  the same, the console opened by the login (after the floors)
#   ssh    the same through the e2e sshd (ssh -tt, yolo-shell login shell)
#   cold   yolo-shell, box dirty (running): the broker reverts first
#   seed   virsh snapshot-revert BOX clean-state && virsh console --force BOX,
#          dirty box (--force: the broker may hold the console, console_hold)
#   floor  virsh resume BOX && virsh console --force BOX, box paused from its
#          snapshot
#   pfloor the physical floor (bench/floor): resume, console open, the console
#          woken through yolo-boxd (HELLO + WAKE answered), the echo; box paused
#          from its snapshot. pfloor_nowake: the same without the wake, so that
#          QEMU's once-a-second pty poll after a fresh start shows;
#          pfloor_preopen: the console opened 1.2 s before the clock starts
#          (the poll has seen it), resume + echo timed
# Logout as the user sees it: ptydrive's end_after_send, the escape (^]) sent
# to the client's exit (logout.CAT).
# Results: docs/BENCHMARKS.md (quick: $top_builddir/bench/BENCHMARKS-quick.md),
# raw samples in $BENCH_KEEP when set; last line "bench: key=value ...".
set -euo pipefail
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/e2e/lib-e2e.sh"
. "$top_srcdir/bench/lib-bench.sh"
. "$top_srcdir/bench/report.sh"

if [ "$QUICK" = 1 ]; then
	N_WARM=2 N_FLOOR=2 N_SSH=1 N_COLD=1 N_MEMW=0 N_MEMC=0 CONC="1" ROUNDS=1
	MEM_LEVELS="" SINK_BYTES=100000 N_ECHO=10
	: "${BENCH_OUT:=$top_builddir/bench/BENCHMARKS-quick.md}"
else
	N_WARM=8 N_FLOOR=5 N_SSH=3 N_COLD=4 N_MEMW=3 N_MEMC=2 CONC="1 4 8" ROUNDS=2
	MEM_LEVELS="200 800 1600" SINK_BYTES=1000000 N_ECHO=30
	: "${BENCH_OUT:=$top_srcdir/docs/BENCHMARKS.md}"
fi
NUSERS=1
for n in $CONC; do [ "$n" -le "$NUSERS" ] || NUSERS=$n; done
bench_log() { printf 'bench: %s\n' "$*" >&2; }
bench_begin bench bench
bench_login_setup bench bench
keep_results() {
	[ -z "${BENCH_KEEP:-}" ] || { mkdir -p "$BENCH_KEEP" && cp -r "$RES"/. "$E2E_DIR/gated.log" "$BENCH_KEEP"/ 2>/dev/null; }
}
yg_on_cleanup keep_results

# ---- users, broker, sshd (as tests/e2e/login.sh does)
e2e_broker_user ygbench-svc
svc=$E2E_SVC
gated_opts=("${E2E_GATED_OPTS[@]}")
e2e_conf "$svc" "service_user = ${E2E_SYSUSERS[0]}"
conf=$E2E_CONF
sock=$E2E_SOCK
USERS=()
for ((i = 1; i <= NUSERS; i++)); do USERS+=("ygbn$i"); done
[ -z "$MEM_LEVELS" ] || USERS+=(ygbm)
e2e_policy 10-bench.conf yg-bench- "${USERS[@]}"
for u in "${USERS[@]}"; do
	e2e_user "$u" "$E2E_SHELL"
	e2e_key "$u" "$svc" "BENCH_API_KEY=sk-bench-$u"
done
GLOG=$E2E_DIR/gated.log
e2e_gated "$conf" "$sock" "${gated_opts[@]}"
e2e_sshd "SetEnv YOLO_GATE_SOCKET=$sock"

box_of() { echo "yg-bench-$1"; }

# ---- 1. one 256 MiB box: warm, floor, pfloor, ssh, cold, seed
u1=ygbn1
b1=$(box_of $u1)
yg_box_create "$b1" 256 >&2
IDLE_RSS=$(awk '/^VmRSS/ { print $2 }' "/proc/$E2E_GATED_PID/status")
IDLE_PSS=$(awk '/^Pss:/ { print $2 }' "/proc/$E2E_GATED_PID/smaps_rollup")
IDLE_ANON=$(awk '/^RssAnon/ { print $2 }' "/proc/$E2E_GATED_PID/status")
bench_log "broker idle: VmRSS ${IDLE_RSS} kB, Pss ${IDLE_PSS} kB"
# One untimed login first: page cache, libvirt's first QEMU of this box.
login warmup shell "$u1" >/dev/null || yg_fail "the first login failed" "$b1"
settle "$b1"

# warm: the console held since the previous logout (console_hold, the
# default), 1.2 s after it (QEMU's pty reads a new reader's input once its
# once-a-second check has seen it: a login within a second of the logout
# waits for the rest of that second, as warm_fresh does); warm_fresh: after
# the floors, which took the console and reverted the box behind the
# broker's back, so the login opens it anew.
for ((i = 1; i <= N_WARM; i++)); do
	sleep 1.2
	m=$(nlines); login warm shell "$u1" >/dev/null; settle "$b1"; phases warm "$m"
	[ "$i" -le "$N_FLOOR" ] || continue
	login floor floor "$u1" >/dev/null; revert_paused "$b1"
	pfloor pfloor "$b1"; revert_paused "$b1"
	pfloor pfloor_nowake "$b1" -n; revert_paused "$b1"
	pfloor pfloor_preopen "$b1" -p 1200; revert_paused "$b1"
	m=$(nlines); login warm_fresh shell "$u1" >/dev/null; settle "$b1"; phases warm_fresh "$m"
done
bench_log "warm + floors done ($(yg_since "$T_START") s)"
for ((i = 1; i <= N_SSH; i++)); do
	m=$(nlines); login ssh ssh "$u1" >/dev/null; settle "$b1"; phases ssh "$m"
done
for ((i = 1; i <= N_COLD; i++)); do
	dirty "$b1"
	m=$(nlines); login cold shell "$u1" >/dev/null; settle "$b1"; phases cold "$m"
	dirty "$b1"
	login seed seed "$u1" >/dev/null
done
revert_paused "$b1"
bench_log "ssh, cold + seed done ($(yg_since "$T_START") s)"

# ---- 2. console throughput and keystroke echo: yolo-shell vs virsh console
console_run() {
	local method=$1 out tag=$RES/tr/console.$1 cmd=()
	if [ "$method" = shell ]; then
		cmd=(setpriv --reuid="$u1" --regid="$(id -g "$u1")" --clear-groups
		     env -i TERM=vt100 YOLO_GATE_SOCKET="$sock" "$E2E_SHELL")
	else
		cmd=(sh -c "virsh -c '$YG_URI' resume $b1 >/dev/null && exec virsh -c '$YG_URI' console --force $b1")
	fi
	out=$("$PD" -t 120 -o "$tag" expect attach onnected probe ready 'echo Y$((6*7))Z\r' Y42Z 500 \
		sleep 500 \
		send "yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU | head -c $SINK_BYTES > /tmp/big; echo MA\"\"DE\\r" \
		expect made MADE sleep 300 \
		sink sink 'cat /tmp/big; echo E""ND\r' END sleep 300 \
		echo key "$N_ECHO" k send '\x15\r' sleep 200 send '\x1d' wait end \
		-- "${cmd[@]}" 2> "$tag.err") || { cat "$tag.err" >&2; yg_fail "the console run ($method) failed" "$b1"; }
	awk -v m="$method" '$1 == "key" { print "echo_" m, $2 }
		$1 == "sink_bytes" { b = $2 } $1 == "sink_ms" { print "thr_" m, b / $2 }' <<< "$out" >> "$SAMPLES"
}
console_run shell
settle "$b1"
console_run virsh
revert_paused "$b1"
bench_log "console done ($(yg_since "$T_START") s)"

# ---- 3. memory used at snapshot time (2 GiB guest)
# guest_sh BOX SCRIPT SECS: run SCRIPT with the guest's sh, wait for it.
guest_sh() {
	local box=$1 reply pid i
	reply=$(yg_agent "$box" "$(jq -nc --arg s "$2" \
		'{execute: "guest-exec", arguments: {path: "/bin/sh", arg: ["-c", $s]}}')") || return 1
	pid=$(jq -r '.return.pid' <<< "$reply")
	for ((i = 0; i < $3 * 5; i++)); do
		reply=$(yg_agent "$box" "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}") || return 1
		if [ "$(jq -r '.return.exited' <<< "$reply")" = true ]; then
			[ "$(jq -r '.return.exitcode' <<< "$reply")" = 0 ]
			return
		fi
		sleep 0.2
	done
	return 1
}
if [ -n "$MEM_LEVELS" ]; then
	bm=$(box_of ygbm)
	yg_box_create "$bm" 2048 >&2
	filled=0
	for level in $MEM_LEVELS; do
		# Random 8 MiB, copied: pages QEMU cannot skip as zero pages.
		dirty "$bm"
		yg_wait_agent "$bm" 30 || yg_fail "no agent in $bm" "$bm"
		guest_sh "$bm" "mount -o remount,size=1900m /tmp && { [ -f /tmp/seed ] || head -c 8388608 /dev/urandom > /tmp/seed; }" 60 ||
			yg_fail "could not prepare the fill in $bm" "$bm"
		while [ "$filled" -lt "$level" ]; do
			guest_sh "$bm" "i=0; while [ \$i -lt 25 ]; do cat /tmp/seed; i=\$((i+1)); done > /tmp/fill.$filled" 120 ||
				yg_fail "could not fill $bm's memory to $level MiB" "$bm"
			filled=$((filled + 200))
		done
		t0=$(yg_now_ms)
		yg_virsh snapshot-delete "$bm" clean-state >/dev/null
		yg_virsh snapshot-create-as "$bm" clean-state >/dev/null
		rec "snap_m$level" "$(( $(yg_now_ms) - t0 ))"
		rec "filled_m$level" "$((filled + 8))"
		revert_paused "$bm"
		for ((i = 1; i <= N_MEMW; i++)); do
			m=$(nlines); login "warm_m$level" shell ygbm >/dev/null; settle "$bm"; phases "warm_m$level" "$m"
			login "floor_m$level" floor ygbm >/dev/null; revert_paused "$bm"
		done
		for ((i = 1; i <= N_MEMC; i++)); do
			dirty "$bm"
			m=$(nlines); login "cold_m$level" shell ygbm >/dev/null; settle "$bm"; phases "cold_m$level" "$m"
			dirty "$bm"
			login "seed_m$level" seed ygbm >/dev/null
		done
		revert_paused "$bm"
		bench_log "memory $level MiB done ($(yg_since "$T_START") s)"
	done
fi

# ---- 4. N users logging in at once
more=()
for ((i = 2; i <= NUSERS; i++)); do more+=("$(box_of "ygbn$i")"); done
if [ ${#more[@]} -gt 0 ]; then
	# boot them side by side; the parent records them for cleanup
	YG_BOXES+=("${more[@]}")
	pids=()
	for b in "${more[@]}"; do
		( YG_BOXES=(); yg_box_create "$b" 256 ) > "$RES/create.$b.log" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || { cat "$RES"/create.*.log >&2; yg_fail "creating the concurrency boxes failed"; }; done
fi
SESS_RSS= SESS_PSS= SESS_USS=
for n in $CONC; do
	for ((r = 1; r <= ROUNDS; r++)); do
		m=$(nlines)
		hold=0
		[ "$n" != "$NUSERS" ] || [ "$r" != 1 ] || hold=4000
		sleep 1.2	# QEMU's pty looks at the held console once a second (warm rows)
		pids=()
		for ((i = 1; i <= n; i++)); do
			login "conc$n" shell "ygbn$i" "$hold" > /dev/null &
			pids+=($!)
		done
		if [ "$hold" != 0 ]; then
			# every client has its prompt: sample the session children
			deadline=$(( $(yg_now_ms) + 30000 ))
			while [ "$(tail -n +"$((m + 1))" "$GLOG" | grep -c 'event=session_ready' || true)" -lt "$n" ] &&
			      [ "$(yg_now_ms)" -lt "$deadline" ]; do sleep 0.1; done
			kids=$(pgrep -P "$E2E_GATED_PID" || true)
			read -r SESS_N SESS_RSS SESS_PSS SESS_USS < <(for k in $kids; do
				awk '/^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { u += $2 } END { print p, u }' "/proc/$k/smaps_rollup"
				awk '/^VmRSS/ { print $2 }' "/proc/$k/status"
			done | paste - - | awk '{ n++; p += $1; u += $2; r += $3 }
				END { if (n) printf "%d %d %d %d\n", n, r / n, p / n, u / n; else print "0 0 0 0" }')
			bench_log "$SESS_N sessions: mean VmRSS $SESS_RSS kB, Pss $SESS_PSS kB, private $SESS_USS kB each"
		fi
		for p in "${pids[@]}"; do wait "$p" || true; done
		for ((i = 1; i <= n; i++)); do settle "$(box_of "ygbn$i")"; done
		phases "conc$n" "$m"
	done
done
# the same number of guests at once with libvirt alone: the floor with the
# console opened ahead on each box (resume + echo), what this host's cores
# give that many guests resuming together; the broker's held consoles end
# (the floor takes them with force), the boxes are reverted behind its back
for n in $CONC; do
	for ((r = 1; r <= ROUNDS; r++)); do
		pids=()
		for ((i = 1; i <= n; i++)); do
			pfloor "pfloor_conc$n" "$(box_of "ygbn$i")" -p 1200 &
			pids+=($!)
		done
		for p in "${pids[@]}"; do wait "$p" || true; done
		for ((i = 1; i <= n; i++)); do revert_paused "$(box_of "ygbn$i")"; done
	done
done
bench_log "concurrency done ($(yg_since "$T_START") s)"
rec total_s "$(yg_since "$T_START")"

bench_report "$SAMPLES" "$BENCH_OUT"
