#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/sshd.sh: the e2e harness itself, and yolo-shell as a real login
# shell behind a real sshd, without a broker:
#  - a plain /bin/sh user logs in through the pty driver (harness works);
#  - a yolo-shell user with no broker gets one clear sentence and exit 1;
#  - `ssh host CMD`, scp and sftp are refused at once, never hang.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib-e2e.sh"

yg_init
e2e_init
e2e_install_shell
e2e_user ygplain /bin/sh
e2e_user ygnogate "$E2E_SHELL"
e2e_sshd "Match User ygnogate" "SetEnv YOLO_GATE_SOCKET=$E2E_DIR/no-broker.sock"

log=$E2E_DIR/plain.log
e2e_ssh "$log" ygplain expect '\$ ' send 'echo e2e-$((6*7))\r' expect 'e2e-42' \
	send 'exit\r' eof || e2e_fail_log "the plain-shell login through sshd failed" "$log"
grep -q '^exit=0' "$log" || e2e_fail_log "the plain-shell session did not exit 0" "$log"
yg_log "ok: harness: sshd on 127.0.0.1:$E2E_PORT, pubkey login, pty driver"

log=$E2E_DIR/nogate.log
t0=$(yg_now_ms)
e2e_ssh "$log" ygnogate expect 'gate service is not running' eof ||
	e2e_fail_log "yolo-shell without a broker did not say so" "$log"
grep -q "cannot connect to $E2E_DIR/no-broker.sock" "$log" ||
	e2e_fail_log "the message does not name the socket" "$log"
grep -q '^exit=1' "$log" || e2e_fail_log "yolo-shell without a broker did not exit 1" "$log"
yg_timing nobroker_login_to_exit "$(yg_since "$t0")"
yg_log "ok: yolo-shell as login shell without a broker: message, exit 1"

rc=0
out=$(e2e_ssh_cmd ygnogate cat /etc/passwd 2>&1) || rc=$?
[ "$rc" = 1 ] || yg_fail "ssh ygnogate CMD exited $rc, expected 1: $out"
grep -q 'gate service is not running' <<< "$out" ||
	yg_fail "ssh ygnogate CMD without a broker did not say the gate service is down: $out"
! grep -q '^root:' <<< "$out" || yg_fail "ssh ygnogate CMD ran the command on the host: $out"
yg_log "ok: remote command without a broker: refused, not run on the host"

for proto in -O -s; do
	rc=0
	t0=$(yg_now_ms)
	out=$(timeout 30 scp "$proto" -F /dev/null -i "$E2E_DIR/keys/ygnogate.key" -P "$E2E_PORT" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
		-o LogLevel=ERROR "ygnogate@127.0.0.1:/etc/passwd" "$E2E_DIR/copied" 2>&1) || rc=$?
	[ "$rc" != 0 ] && [ "$rc" != 124 ] ||
		yg_fail "scp $proto from a yolo-shell user: exit $rc (0 = copied, 124 = hung): $out"
	[ ! -e "$E2E_DIR/copied" ] || yg_fail "scp $proto copied a file through yolo-shell"
	yg_timing "scp${proto}_refused" "$(yg_since "$t0")"
done
yg_log "ok: scp and sftp refused without hanging"
