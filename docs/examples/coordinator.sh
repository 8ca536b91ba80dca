#!/bin/bash
# SPDX-License-Identifier: MIT
# coordinator.sh: run several commands in your YOLO box at once and read
# their output as it streams, each line tagged with its worker, then each
# worker's exit status. The seed's coordinator-and-workers pattern: the
# coordinator stays outside the box, the workers (agents) run inside it.
#
#   coordinator.sh 'CMD1' 'CMD2' ...
#
# Each command goes through `yolo-shell -c` (on the gate host, run as the
# user; YOLO_SHELL=PATH for another yolo-shell), or through ssh when RUN is
# set (RUN='ssh lab' from another machine). All of them join one session of
# the box, so they see the same files; with the policy's linger = 0 the box
# is reverted once the last one ends. Exit status 0 when every worker
# exited 0. See yolo-shell(1), "Remote commands and file transfer".
set -u
[ "$#" -gt 0 ] || { echo "usage: coordinator.sh 'CMD' ..." >&2; exit 2; }
run() {
	if [ -n "${RUN:-}" ]; then
		# shellcheck disable=SC2086 # RUN is a command line, e.g. 'ssh lab'
		$RUN "$1"
	else
		"${YOLO_SHELL:-yolo-shell}" -c "$1"
	fi
}
pids=()
n=0
for cmd in "$@"; do
	n=$((n + 1))
	( run "$cmd" < /dev/null 2>&1 | sed -u "s/^/[w$n] /"; exit "${PIPESTATUS[0]}" ) &
	pids+=("$!")
done
rc=0
n=0
for pid in "${pids[@]}"; do
	n=$((n + 1))
	status=0
	wait "$pid" || status=$?
	echo "[w$n] exit $status"
	[ "$status" = 0 ] || rc=1
done
exit "$rc"
