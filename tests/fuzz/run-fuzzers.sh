#!/bin/bash
# SPDX-License-Identifier: MIT
# Runs each libFuzzer target for SECONDS (default 60) on a scratch copy of its
# corpus, in a build configured with CC=clang --enable-fuzzing, JOBS targets
# at a time (default: the number of CPUs). Fails on any crash, leak or
# sanitizer report. Prints the executions of each target.
# usage: run-fuzzers.sh BUILDDIR SRCDIR [SECONDS]
set -eu
bld=$1 src=$2 secs=${3:-60}
jobs=${JOBS:-$(nproc)}

# fuzz_one NAME: one target; its verdict line goes to $bld/tests/fuzz/fuzz_NAME.verdict
fuzz_one() {
	local name=$1 work dict= log execs verdict
	work=$(mktemp -d)
	cp -r "$src/tests/fuzz/corpus/$name/." "$work/"
	[ -f "$src/tests/fuzz/$name.dict" ] && dict="-dict=$src/tests/fuzz/$name.dict"
	log="$bld/tests/fuzz/fuzz_$name.fuzz.log"
	verdict="$bld/tests/fuzz/fuzz_$name.verdict"
	if "$bld/tests/fuzz/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		$dict "$work" >"$log" 2>&1; then
		execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || true)
		[ -n "$execs" ] || execs=$(grep -Eo '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
		echo "fuzz_$name: ok, $execs executions in ${secs}s" > "$verdict"
	else
		echo "fuzz_$name: FAILED (log: $log)" > "$verdict"
	fi
	rm -rf "$work"
}

names=()
for dir in "$src"/tests/fuzz/corpus/*/; do
	names+=("$(basename "$dir")")
done
running=0
for name in "${names[@]}"; do
	rm -f "$bld/tests/fuzz/fuzz_$name.verdict"
	fuzz_one "$name" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait
rc=0
for name in "${names[@]}"; do
	v="$bld/tests/fuzz/fuzz_$name.verdict"
	if [ -f "$v" ] && grep -q ': ok,' "$v"; then
		cat "$v"
	else
		[ -f "$v" ] && cat "$v" || echo "fuzz_$name: no verdict"
		tail -n 60 "$bld/tests/fuzz/fuzz_$name.fuzz.log" 2>/dev/null || true
		rc=1
	fi
done
exit $rc
