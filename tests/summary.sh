#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Prints one closing line for the tests the automake harness ran in BUILDDIR...:
#   tests: N passed, N failed, N skipped
# and fails when CI=true and any test was skipped, failed or errored.
set -euo pipefail
[ $# -gt 0 ] || set -- .
pass=0 fail=0 skip=0
while IFS= read -r line; do
	case "$line" in
	":test-result: PASS"*|":test-result: XFAIL"*) pass=$((pass + 1)) ;;
	":test-result: SKIP"*) skip=$((skip + 1)) ;;
	":test-result: "*) fail=$((fail + 1)) ;;
	esac
done < <(find "$@" -name '*.trs' -not -path '*/_build/*' -exec cat {} +)
# The slowest tests (a log's birth to its last write), to keep CI in budget.
find "$@" -name '*.trs' -not -path '*/_build/*' | sed 's/\.trs$/.log/' |
	while read -r log; do
		[ -f "$log" ] && stat -c '%Y %W %n' "$log"
	done | awk '$2 > 0 { printf "%6d s  %s\n", $1 - $2, $3 }' | sort -rn | head -n 15 |
	sed '1i slowest tests:' || true
echo "tests: $pass passed, $fail failed, $skip skipped"
if [ "$fail" -ne 0 ]; then
	find "$@" -name '*.trs' -exec grep -l -E ':test-result: (FAIL|ERROR|XPASS)' {} + |
		sed 's/\.trs$/.log/' | while read -r log; do
			echo "--- $log"
			# the failure's own words first: the tail may be a dump
			grep -m 5 -E '(^|: )FAIL: ' "$log" || true
			echo "--- tail"
			tail -n 40 "$log"
		done
	exit 1
fi
if [ "${CI:-}" = true ] && [ "$skip" -ne 0 ]; then
	echo "CI=true: a skipped test counts as a failure" >&2
	exit 1
fi
[ "$pass" -gt 0 ]
