#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/pam.sh: pam_yolo_gate.so in a real sshd's PAM stack.
#
# sshd's service file is bind-mounted over /etc/pam.d inside a private mount
# namespace (this script re-executes itself under unshare -m), so the host's
# PAM configuration is never touched. Scenarios:
#  1. a gated user: the broker prepares the box at session open, before the
#     shell connects (gated.log: `prepared` before `handoff`); the login
#     reaches the guest; after logout PAM sends RELEASE and the box is clean;
#  2. a user with no policy logs in to a normal host shell (PAM_IGNORE);
#  3. with `require` in the account stack, that user is refused.
set -euo pipefail
if [ "$(id -u)" = 0 ] && [ -z "${YG_PAM_E2E_NS:-}" ]; then
	YG_PAM_E2E_NS=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
fi
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib-e2e.sh"

: "${E2E_REVERT_BOUND:=60}"

yg_init
e2e_init
so=$YG_PAM_MODULE
[ -f "$so" ] || yg_fail "$so is not built; run make first"
[ -x "$YG_BIN_GATED" ] || yg_fail "$YG_BIN_GATED is not built; run make first"
yg_start_libvirt
yg_guest_build
e2e_install_shell

# ---- the broker runs as root here (--stay-root): this test is about PAM
e2e_conf root "log_level = debug"
conf=$E2E_CONF
sock=$E2E_SOCK
e2e_policy 10-pam.conf yg-e2e- ygpalice
( umask 077; echo 'OPENAI_API_KEY=sk-test-pam' > "$conf/keys.d/ygpalice.env" )

box=yg-e2e-ygpalice
yg_box_create "$box"
e2e_user ygpalice "$E2E_SHELL"
e2e_user ygpadmin /bin/sh

# ---- sshd's PAM stack, private to this mount namespace
pamd=$E2E_DIR/pam.d
cp -a /etc/pam.d "$pamd"
write_stack() {
	cat > "$pamd/sshd" <<EOS
@include common-auth
account  required pam_unix.so
account  required $so socket=$sock $1
session  required pam_unix.so
session  required $so socket=$sock timeout=120s
@include common-password
EOS
}
write_stack ""
mount --bind "$pamd" /etc/pam.d || yg_fail "cannot bind-mount $pamd over /etc/pam.d"

e2e_gated "$conf" "$sock" --stay-root
e2e_sshd "SetEnv YOLO_GATE_SOCKET=$sock"
root_conns() { grep -c 'event=accept uid=0 ' "$E2E_DIR/gated.log" || true; }

# ---- 1. gated user: prepared before the shell connects, released at logout
log=$E2E_DIR/p1.log
t0=$(yg_now_ms)
e2e_ssh "$log" ygpalice expect 'connected to' send '\r' expect 'yolo-box# ' \
	send 'echo PAM-$((40+2))\r' expect 'PAM-42' \
	send 'grep -c "^TERM=xterm$" /run/yolo/keys.env\r' expect '\r\n1\r\n' send '\x1d' eof ||
	e2e_fail_log "the gated login through PAM failed" "$log" "$box"
yg_timing pam_login_session "$(yg_since "$t0")"
prep=$(grep -n 'event=prepared .*user=ygpalice' "$E2E_DIR/gated.log" | head -1 | cut -d: -f1)
hand=$(grep -n 'event=handoff user=ygpalice' "$E2E_DIR/gated.log" | head -1 | cut -d: -f1)
[ -n "$prep" ] || yg_fail "the broker never logged a PREPARE for ygpalice (is the session line in $pamd/sshd used?)"
[ -n "$hand" ] || yg_fail "the shell did not join the prepared session (no handoff in gated.log)"
[ "$prep" -lt "$hand" ] || yg_fail "the box was prepared (line $prep) after the shell connected (line $hand)"
yg_log "ok: box prepared at session open (gated.log line $prep), shell joined it (line $hand)"
# account + prepare + release: three connections from uid 0
for ((i = 0; i < 100; i++)); do
	[ "$(root_conns)" -ge 3 ] && break
	sleep 0.1
done
[ "$(root_conns)" -ge 3 ] || yg_fail "PAM did not send RELEASE at logout ($(root_conns) root connections, want 3)"
e2e_wait_clean "$box" "$E2E_REVERT_BOUND" ||
	yg_fail "$box is not clean ${E2E_REVERT_BOUND}s after logout" "$box"
yg_log "ok: RELEASE at logout; box clean"

# ---- 1b. a remote command through PAM: it runs in the box PAM prepared
rc=0
n0=$(grep -c 'event=prepared .*user=ygpalice' "$E2E_DIR/gated.log" || true)
out=$(e2e_ssh_cmd ygpalice 'echo "PAMRUN-$((40+2))"; exit 6' 2>/dev/null) || rc=$?
[ "$rc" = 6 ] && [ "$out" = PAMRUN-42 ] ||
	yg_fail "ssh ygpalice CMD through PAM: status $rc, output '$out'"
[ "$(grep -c 'event=prepared .*user=ygpalice' "$E2E_DIR/gated.log")" -gt "$n0" ] ||
	yg_fail "the remote command's box was not PREPAREd by PAM"
e2e_wait_clean "$box" "$E2E_REVERT_BOUND" ||
	yg_fail "$box is not clean ${E2E_REVERT_BOUND}s after the remote command" "$box"
yg_log "ok: ssh CMD through PAM: the prepared box ran it (status 6), then clean"

# ---- 2. no policy: a normal host shell
log=$E2E_DIR/p2.log
e2e_ssh "$log" ygpadmin expect '\$ ' send 'echo HOST-$((6*7)) $YOLO_GATE_SESSION.\r' expect 'HOST-42 \.' \
	send 'exit\r' eof || e2e_fail_log "a user with no policy did not get a host shell" "$log"
grep -q 'event=account user=ygpadmin gated=no' "$E2E_DIR/gated.log" ||
	yg_fail "the broker was not asked about ygpadmin"
yg_log "ok: user without policy: host shell, no YOLO_GATE_SESSION"

# ---- 3. require: the same user is refused
write_stack require
rc=0
out=$(e2e_ssh_cmd ygpadmin true 2>&1) || rc=$?
[ "$rc" = 255 ] || yg_fail "with require, ygpadmin's ssh exited $rc (want 255, refused): $out"
grep -q 'Access denied for user ygpadmin by PAM account configuration' "$E2E_DIR/sshd.log" ||
	yg_fail "sshd.log does not show the PAM account refusal of ygpadmin"
yg_log "ok: require: user without policy refused"
