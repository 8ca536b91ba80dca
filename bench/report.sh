# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# bench/report.sh: statistics and docs/BENCHMARKS.md from bench.sh's samples.
# Sourced by bench/bench.sh; bench_report SAMPLES OUT writes OUT and prints
# the machine-readable line last. Samples are "KEY VALUE" lines.

# bstat SAMPLES KEY p50|p95|n|mean|max: nearest-rank percentiles; "-" if none.
bstat() {
	awk -v k="$2" -v w="$3" '$1 == k { v[++n] = $2 }
	END {
		if (!n) { print "-"; exit }
		for (i = 2; i <= n; i++) { x = v[i]; for (j = i - 1; j > 0 && v[j] > x; j--) v[j + 1] = v[j]; v[j + 1] = x }
		if (w == "n") { print n; exit }
		if (w == "max") { printf "%.0f\n", v[n]; exit }
		if (w == "mean") { for (i = 1; i <= n; i++) s += v[i]; printf "%.1f\n", s / n; exit }
		q = w == "p95" ? 0.95 : 0.5
		r = int(q * n + 0.999999); if (r < 1) r = 1
		printf "%.0f\n", v[r]
	}' "$1"
}

# ratio A B [DIGITS]: A / B, "-" when either is missing or B is 0.
ratio() {
	awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN {
		if (a == "-" || b == "-" || a == "" || b == "" || b + 0 == 0) print "-"
		else printf "%.*f\n", d, a / b }'
}

# row CAT LABEL: "| LABEL | n | p50 | p95 |" for the login samples of CAT.
row() {
	printf '| %s | %s | %s | %s |\n' "$2" "$(bstat "$S" "$1" n)" "$(bstat "$S" "$1" p50)" \
		"$(bstat "$S" "$1" p95)"
}

# attach_row CAT LABEL: when the client said it was connected (p50/p95).
attach_row() {
	[ "$(bstat "$S" "attach.$1" n)" = "-" ] ||
		printf '| %s | %s | %s |\n' "$2" "$(bstat "$S" "attach.$1" p50)" "$(bstat "$S" "attach.$1" p95)"
}

# phase_row CAT: the broker's median phase durations for CAT's sessions.
phase_row() {
	local k out="| $1 |"
	for k in lock check revert resume agent inject console logout; do
		out="$out $(bstat "$S" "phase.$1.ms_$k" p50) |"
	done
	printf '%s\n' "$out"
}

# verdict VALUE OP TARGET: met / MISSED
verdict() {
	awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
		if (v == "-" || v == "") { print "not measured"; exit }
		ok = op == "<=" ? v + 0 <= t + 0 : v + 0 >= t + 0
		print ok ? "met" : "MISSED" }'
}

bench_machine() {
	printf -- '- CPU: %s, %s cores; RAM %s GiB; kernel %s\n' \
		"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" "$(nproc)" \
		"$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" "$(uname -r)"
	printf -- '- %s; %s; guests under TCG (no usable KVM)\n' \
		"$(virsh -c "$YG_URI" version 2>/dev/null | sed -n 's/^Using library: //p' | head -n 1)" \
		"$(qemu-system-x86_64 --version | head -n 1)"
	printf -- '- load average at the end: %s (other jobs may share the machine)\n' \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
}

bench_report() {
	S=$1
	local out=$2 warm_p50 warm_p95 floor_p50 seed_p50 cold_p50 m_lo m_hi thr_s thr_v
	local e_s e_v echo_extra speedup floor_ratio flat relay cold_ratio c8 k lv mem out_row
	warm_p50=$(bstat "$S" warm p50) warm_p95=$(bstat "$S" warm p95)
	floor_p50=$(bstat "$S" floor p50) seed_p50=$(bstat "$S" seed p50)
	cold_p50=$(bstat "$S" cold p50)
	m_lo=$(bstat "$S" warm_m200 p95) m_hi=$(bstat "$S" warm_m1600 p95)
	[ "$m_hi" != "-" ] || m_hi=$(bstat "$S" warm_m1640 p95)
	thr_s=$(bstat "$S" thr_shell p50) thr_v=$(bstat "$S" thr_virsh p50)
	e_s=$(awk '$1 == "echo_shell" { print $2 }' "$S" | sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", v[int((NR + 1) / 2)]; else print "-" }')
	e_v=$(awk '$1 == "echo_virsh" { print $2 }' "$S" | sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", v[int((NR + 1) / 2)]; else print "-" }')
	echo_extra=$(awk -v a="$e_s" -v b="$e_v" 'BEGIN { if (a == "-" || b == "-") print "-"; else printf "%.2f", a - b }')
	speedup=$(ratio "$seed_p50" "$warm_p95" 1)
	floor_ratio=$(ratio "$warm_p50" "$floor_p50")
	flat=$(ratio "$m_hi" "$m_lo")
	relay=$(ratio "$thr_s" "$thr_v")
	cold_ratio=$(ratio "$cold_p50" "$seed_p50")
	c8=$(bstat "$S" conc8 p95)
	{
		echo "# Benchmarks: yolo-gate logins against the seed's virsh workflow"
		echo
		echo "Written by \`make bench\` (bench/bench.sh) on $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "in $(bstat "$S" total_s max) s$([ "$QUICK" = 1 ] && echo ' (BENCH_QUICK=1 smoke run)'). Reproduce, as root, from a configured build tree:"
		echo
		echo '    make bench                 # full run, rewrites docs/BENCHMARKS.md'
		echo '    BENCH_QUICK=1 make bench   # ~1 min smoke run, writes bench/BENCHMARKS-quick.md'
		echo
		echo "Machine:"
		echo
		bench_machine
		echo
		echo "A login is done when a command typed in the guest (\`echo Y\$((6*7))Z\`) has echoed"
		echo "its output (Y42Z) back to the client's pty; the clock starts when the client"
		echo "process is spawned. The command is typed once the client says it is connected and"
		echo "typed again every ${BENCH_RETYPE_MS} ms while nothing came back. Times in ms,"
		echo "p50/p95 nearest-rank. Test guest: busybox initramfs + Debian cloud kernel."
		echo
		echo "## 1. Logins, 256 MiB guest"
		echo
		echo "| method | n | p50 ms | p95 ms |"
		echo "|---|---|---|---|"
		row warm "warm login: yolo-shell, box paused from its snapshot"
		row ssh "warm login through sshd (ssh -tt, yolo-shell login shell)"
		row cold "cold login: yolo-shell, dirty box (broker reverts)"
		row seed "seed: virsh snapshot-revert + virsh console (dirty box)"
		row floor "floor: virsh resume + virsh console (box paused from snapshot)"
		echo
		echo "When the client printed its \"connected\" line (READY; virsh: the console stream"
		echo "is open), ms after spawn; the rest of the login is the guest's console answering:"
		echo
		echo "| method | connected p50 ms | p95 ms |"
		echo "|---|---|---|"
		attach_row warm warm
		attach_row ssh ssh
		attach_row cold cold
		attach_row seed seed
		attach_row floor floor
		echo
		echo "## 2. Memory used at snapshot time (2048 MiB guest)"
		echo
		echo "| used MiB | warm p50/p95 | floor p50/p95 | cold p50/p95 | seed p50/p95 | seed connected (revert + console open) p50 | snapshot-create ms |"
		echo "|---|---|---|---|---|---|---|"
		for lv in 200 800 816 1600 1640; do
			[ "$(bstat "$S" "warm_m$lv" n)" != "-" ] || continue
			mem=$(bstat "$S" "filled_m$lv" max)
			out_row="| $mem |"
			for k in warm floor cold seed; do
				out_row="$out_row $(bstat "$S" "${k}_m$lv" p50)/$(bstat "$S" "${k}_m$lv" p95) |"
			done
			echo "$out_row $(bstat "$S" "attach.seed_m$lv" p50) | $(bstat "$S" "snap_m$lv" max) |"
		done
		echo
		echo "## 3. Users logging in at once (warm, 256 MiB boxes, one box each)"
		echo
		echo "| users | logins | failed | p50 ms | p95 ms |"
		echo "|---|---|---|---|---|"
		for k in 1 4 8; do
			[ "$(bstat "$S" "conc$k" n)" != "-" ] || [ "$(bstat "$S" "fail.conc$k" n)" != "-" ] || continue
			echo "| $k | $(bstat "$S" "conc$k" n) | $(bstat "$S" "fail.conc$k" n | sed "s/^-$/0/") | $(bstat "$S" "conc$k" p50) | $(bstat "$S" "conc$k" p95) |"
		done
		echo
		echo "## 4. Console: throughput and keystroke echo"
		echo
		echo "| client | guest \`cat\` to client, KB/s | echo p50 ms | echo p95 ms |"
		echo "|---|---|---|---|"
		for k in shell virsh; do
			echo "| $([ $k = shell ] && echo yolo-shell || echo 'virsh console') | $(bstat "$S" "thr_$k" max) | $(awk -v k="echo_$k" '$1 == k { print $2 }' "$S" | sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.2f | %.2f", v[int((NR + 1) / 2)], v[int(NR * 0.95 + 0.999)]; else print "- | -" }') |"
		done
		echo
		echo "## 5. Broker memory"
		echo
		echo "| what | KiB |"
		echo "|---|---|"
		echo "| yolo-gated idle, VmRSS | ${IDLE_RSS:--} |"
		echo "| yolo-gated idle, Pss | ${IDLE_PSS:--} |"
		echo "| yolo-gated idle, RssAnon (its own heap and stacks) | ${IDLE_ANON:--} |"
		echo "| per session child (${SESS_N:-0} live sessions), mean VmRSS | ${SESS_RSS:--} |"
		echo "| per session child, mean Pss | ${SESS_PSS:--} |"
		echo "| per session child, mean private (Private_Clean + Private_Dirty) | ${SESS_USS:--} |"
		echo
		echo "## 6. The broker's own phase durations (median ms, from its session_ready/session_end log lines)"
		echo
		echo "| sessions | lock | check | revert | resume | agent | inject | console | logout |"
		echo "|---|---|---|---|---|---|---|---|---|"
		for k in warm ssh cold warm_m200 warm_m1600 warm_m1640 cold_m200 cold_m1600 cold_m1640 conc4 conc8; do
			[ "$(bstat "$S" "phase.$k.ms_lock" n)" = "-" ] || phase_row "$k"
		done
		echo
		echo "## 7. Targets"
		echo
		echo "| target | measured | |"
		echo "|---|---|---|"
		echo "| warm_speedup = seed p50 / warm p95 >= 20 | $speedup | $(verdict "$speedup" '>=' 20) |"
		echo "| floor_ratio = warm p50 / floor p50 <= 1.1 | $floor_ratio | $(verdict "$floor_ratio" '<=' 1.1) |"
		echo "| ram_flatness = warm p95 at 1.6 GiB / at 0.2 GiB <= 1.2 | $flat | $(verdict "$flat" '<=' 1.2) |"
		echo "| cold login p50 / seed p50 <= 1.1 | $cold_ratio | $(verdict "$cold_ratio" '<=' 1.1) |"
		echo "| relay_ratio = yolo-shell / virsh console throughput >= 0.9 | $relay | $(verdict "$relay" '>=' 0.9) |"
		echo "| echo_extra_ms = yolo-shell echo p50 - virsh echo p50 <= 1 | $echo_extra | $(verdict "$echo_extra" '<=' 1) |"
		echo "| 8 concurrent logins: warm p95 <= 1000 ms, none failed | $c8 ms, $(bstat "$S" fail.conc8 n | sed "s/^-$/0/") failed | $(verdict "$c8" '<=' 1000) |"
		echo "| broker idle VmRSS <= 4096 KiB | ${IDLE_RSS:--} | $(verdict "${IDLE_RSS:--}" '<=' 4096) |"
		echo "| per session <= 2048 KiB more (private) | ${SESS_USS:--} | $(verdict "${SESS_USS:--}" '<=' 2048) |"
		echo
		[ ! -f "$top_srcdir/bench/analysis.md" ] || cat "$top_srcdir/bench/analysis.md"
	} > "$out.tmp"
	mv -f "$out.tmp" "$out"
	bench_log "wrote $out"
	printf 'bench: warm_p95_ms=%s floor_p50_ms=%s seed_p50_ms=%s warm_speedup=%s floor_ratio=%s ram_flatness=%s relay_ratio=%s echo_extra_ms=%s broker_rss_kib=%s\n' \
		"$warm_p95" "$floor_p50" "$seed_p50" "$speedup" "$floor_ratio" "$flat" "$relay" \
		"$echo_extra" "${IDLE_RSS:--}"
}
