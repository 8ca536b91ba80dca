#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/forward.sh: gated users cannot tunnel past the box (issue 13,
# defect 11), behind a real sshd with the shipped snippet
# (packaging/sshd/yolo-gate.conf), and yolo-gatectl check finds those who
# could:
#  - ygfwdin, gated by chsh and in group yolo-users as the admin guide says:
#    sshd refuses a -L forward, ssh -W, a -D (SOCKS) connection and -R; an
#    interactive login still reaches yolo-shell (ForceCommand over a
#    yolo-shell login shell);
#  - ygfwdout, gated by chsh alone: the same -L reaches the target (the
#    hole), and `yolo-gatectl check --sshd-config` warns about ygfwdout with
#    the fix, from the group and from sshd -T, and not about ygfwdin.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib-e2e.sh"

if [ "${YG_E2E_INSTALLED:-}" = 1 ]; then
	ctl=/usr/sbin/yolo-gatectl
else
	ctl=$top_builddir/src/ctl/yolo-gatectl
fi
snippet=$top_srcdir/packaging/sshd/yolo-gate.conf
py=/usr/bin/python3

yg_init
e2e_init
[ -x "$ctl" ] || yg_fail "$ctl is not built; run make first"
[ -x "$py" ] || yg_fail "$py is missing (apt-get install python3)"
e2e_install_shell
if ! getent group yolo-users >/dev/null; then
	groupadd --system yolo-users || yg_fail "groupadd yolo-users failed"
	yg_on_cleanup "groupdel yolo-users"
fi
e2e_user ygfwdin "$E2E_SHELL"
usermod -aG yolo-users ygfwdin
e2e_user ygfwdout "$E2E_SHELL"
# The shipped snippet, with the yolo-shell under test as its ForceCommand.
mapfile -t lines < <(grep -v '^[[:space:]]*#' "$snippet" | grep . |
	sed "s|ForceCommand /usr/bin/yolo-shell|ForceCommand $E2E_SHELL|")
printf '%s\n' "${lines[@]}" | grep -q "ForceCommand $E2E_SHELL" ||
	yg_fail "$snippet has no 'ForceCommand /usr/bin/yolo-shell' line"
e2e_sshd "Match User ygfwdin" "SetEnv YOLO_GATE_SOCKET=$E2E_DIR/no-broker.sock" "${lines[@]}"

# A TCP service on the host that a forward must not reach.
"$py" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"reached-target\n")
    c.close()
' > "$E2E_DIR/target.port" &
target_pid=$!
yg_on_cleanup "kill $target_pid 2>/dev/null"
# (the background shell makes the file when it starts: it may not be there yet;
# python3 itself takes seconds to start on a loaded host)
tport=
for ((i = 0; i < 150; i++)); do
	tport=$(cat "$E2E_DIR/target.port" 2>/dev/null || true)
	[ -n "$tport" ] && break
	sleep 0.1
done
[ -n "$tport" ] || yg_fail "the target service did not start within 15 s"

ssh_opts() {
	echo -F /dev/null -i "$E2E_DIR/keys/$1.key" -p "$E2E_PORT" -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o BatchMode=yes
}

# fwd_local USER -L|-D: start `ssh -N` with a local (or SOCKS) forward to the
# target, connect through it; prints what came back, ssh's stderr in
# $E2E_DIR/USER.fwd.
fwd_local() {
	local user=$1 kind=$2 lport pid i spec
	lport=$(e2e_free_port)
	if [ "$kind" = -L ]; then spec=127.0.0.1:$lport:127.0.0.1:$tport; else spec=127.0.0.1:$lport; fi
	# shellcheck disable=SC2046
	timeout 30 ssh -N $(ssh_opts "$user") "$kind" "$spec" "$user@127.0.0.1" \
		2> "$E2E_DIR/$user.fwd" < /dev/null &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		ss -Htln "sport = :$lport" | grep -q . && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	"$py" - "$lport" "$tport" "$kind" <<'PY' || true
import socket, struct, sys
lport, tport, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
try:
    s = socket.create_connection(("127.0.0.1", lport), timeout=5)
    if kind == "-D":  # SOCKS5, no auth, CONNECT 127.0.0.1:tport
        s.sendall(b"\x05\x01\x00")
        s.recv(2)
        s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", tport))
        s.recv(10)
    sys.stdout.write(s.recv(100).decode(errors="replace"))
except OSError as e:
    sys.stdout.write("connect: %s\n" % e)
PY
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# ---- in group yolo-users: every forward refused ------------------------
t0=$(yg_now_ms)
for kind in -L -D; do
	out=$(fwd_local ygfwdin "$kind")
	! grep -q reached-target <<< "$out" ||
		yg_fail "ssh $kind by ygfwdin (gated, in yolo-users) reached a host service: $(cat "$E2E_DIR/ygfwdin.fwd")"
	grep -q 'administratively prohibited' "$E2E_DIR/ygfwdin.fwd" ||
		yg_fail "sshd did not refuse ygfwdin's $kind channel: $(cat "$E2E_DIR/ygfwdin.fwd"); got: $out"
done
rc=0
# shellcheck disable=SC2046
out=$(timeout 30 ssh $(ssh_opts ygfwdin) -W "127.0.0.1:$tport" ygfwdin@127.0.0.1 2>&1 < /dev/null) || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] && ! grep -q reached-target <<< "$out" ||
	yg_fail "ssh -W by ygfwdin: exit $rc (0 = forwarded, 124 = hung): $out"
rport=$(e2e_free_port)
rc=0
# shellcheck disable=SC2046
out=$(timeout 30 ssh -N $(ssh_opts ygfwdin) -o ExitOnForwardFailure=yes \
	-R "127.0.0.1:$rport:127.0.0.1:$tport" ygfwdin@127.0.0.1 2>&1 < /dev/null) || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] ||
	yg_fail "ssh -R by ygfwdin: exit $rc (124: sshd accepted the remote forward): $out"
! ss -Htln "sport = :$rport" | grep -q . || yg_fail "sshd listens on $rport for ygfwdin's -R"
yg_timing gated_forwards_refused "$(yg_since "$t0")"
yg_log "ok: a gated user in yolo-users: -L, -D, -W and -R refused by sshd"

log=$E2E_DIR/in.log
e2e_ssh "$log" ygfwdin expect 'gate service is not running' eof ||
	e2e_fail_log "ygfwdin's login (ForceCommand yolo-shell, login shell yolo-shell) did not reach yolo-shell" "$log"
grep -q "cannot connect to $E2E_DIR/no-broker.sock" "$log" ||
	e2e_fail_log "ygfwdin's login did not reach yolo-shell with its environment" "$log"
yg_log "ok: ForceCommand yolo-shell over a yolo-shell login shell still logs in"

# ---- gated by chsh alone: the hole, and check finds it ------------------
out=$(fwd_local ygfwdout -L)
grep -q reached-target <<< "$out" ||
	yg_fail "ssh -L by ygfwdout (outside yolo-users) did not reach the target, so this test cannot see a forward: $out $(cat "$E2E_DIR/ygfwdout.fwd")"
yg_log "ok: control: a chsh-only user outside yolo-users can forward (what check must report)"

e2e_conf root
e2e_policy 10-users.conf yg-fwd- ygfwdin ygfwdout
rc=0
"$ctl" check --config "$E2E_CONF" --sshd-config "$E2E_DIR/sshd_config" \
	> "$E2E_DIR/check.out" 2> "$E2E_DIR/check.err" || rc=$?
[ "$rc" = 0 ] || yg_fail "check exited $rc: $(cat "$E2E_DIR/check.out" "$E2E_DIR/check.err")"
w=$(grep '^warning: gated user ygfwdout ' "$E2E_DIR/check.err") ||
	yg_fail "check did not warn about ygfwdout: $(cat "$E2E_DIR/check.err")"
for want in 'not in group yolo-users' 'sshd -T: allowtcpforwarding yes' \
	'fix: usermod -aG yolo-users ygfwdout'; do
	grep -qF "$want" <<< "$w" || yg_fail "check's warning about ygfwdout lacks '$want': $w"
done
! grep -q 'ygfwdin' "$E2E_DIR/check.err" ||
	yg_fail "check warned about ygfwdin, who is set up as documented: $(cat "$E2E_DIR/check.err")"
grep -q '^OK$' "$E2E_DIR/check.out" || yg_fail "check did not say OK: $(cat "$E2E_DIR/check.out")"
rc=0
"$ctl" check --config "$E2E_CONF" --sshd-config "$E2E_DIR/sshd_config" --user ygfwdout \
	> /dev/null 2> "$E2E_DIR/check.err" || rc=$?
[ "$rc" = 0 ] && grep -q '^warning: gated user ygfwdout .*usermod -aG yolo-users ygfwdout' \
	"$E2E_DIR/check.err" ||
	yg_fail "check --user ygfwdout: exit $rc, no warning: $(cat "$E2E_DIR/check.err")"
yg_log "ok: yolo-gatectl check warns about the gated user outside yolo-users, with the fix"
