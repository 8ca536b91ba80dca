#!/bin/sh
# Runs each libFuzzer target for SECONDS (default 60) on a scratch copy of its
# corpus, in a build configured with CC=clang --enable-fuzzing. Fails on any
# crash, leak or sanitizer report. Prints executions per target.
# usage: run-fuzzers.sh BUILDDIR SRCDIR [SECONDS]
set -eu
bld=$1 src=$2 secs=${3:-60}
rc=0
for dir in "$src"/tests/fuzz/corpus/*/; do
	name=$(basename "$dir")
	work=$(mktemp -d)
	cp -r "$dir". "$work/"
	dict=""
	[ -f "$src/tests/fuzz/$name.dict" ] && dict="-dict=$src/tests/fuzz/$name.dict"
	log="$bld/tests/fuzz/fuzz_$name.fuzz.log"
	if "$bld/tests/fuzz/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		$dict "$work" >"$log" 2>&1; then
		execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || true)
		[ -n "$execs" ] || execs=$(grep -Eo '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
		echo "fuzz_$name: ok, $execs executions in ${secs}s"
	else
		echo "fuzz_$name: FAILED"; tail -n 60 "$log"; rc=1
	fi
	rm -rf "$work"
done
exit $rc
