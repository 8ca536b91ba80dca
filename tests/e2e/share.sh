#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/share.sh: second logins of a box through a real sshd and PAM
# (issue #13, items 6 and 7), and [box:] boxes over ssh. sshd's PAM stack has
# pam_yolo_gate.so (account + session: PREPARE), in a private mount namespace.
#  1. concurrent = attach: alice is in her box; a second login of hers (PAM
#     PREPARE on the busy box) joins it; bob, listed in two [box:] entries
#     (alice's with attach = yes), names her box with YOLO_BOX over ssh and
#     joins too: alice sees what he types; without YOLO_BOX he is told to
#     choose;
#  2. concurrent = takeover: a second ssh login of alice takes the box over,
#     the first one is told;
#  3. a disabled user is told why over ssh (the PAM account message).
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib-e2e.sh"
e2e_private_mounts "$@"

yg_init
e2e_init
[ -f "$YG_PAM_MODULE" ] || yg_fail "$YG_PAM_MODULE is not built; run make first"
[ -x "$YG_BIN_GATED" ] || yg_fail "$YG_BIN_GATED is not built; run make first"
yg_start_libvirt
yg_guest_build
e2e_install_shell

alice=ygsalice bob=ygsbob dave=ygsdave
box=yg-e2e-$alice
e2e_conf root "log_level = debug"
pol=$E2E_CONF/policy.d/10-share.conf
# policy CONCURRENT: alice's box, bob in two [box:] entries, dave disabled.
policy() {
	e2e_policy 10-share.conf yg-e2e- "$alice"
	printf 'concurrent = %s\n\n[user:%s]\nenabled = no\n\n' "$1" "$dave" >> "$pol"
	printf '[box:%s]\nusers = %s\nattach = yes\n\n[box:yg-e2e-ghost]\nusers = %s\n' \
		"$box" "$bob" "$bob" >> "$pol"
}
policy attach
yg_box_create "$box"
e2e_user "$alice" "$E2E_SHELL"
e2e_user "$bob" "$E2E_SHELL"
e2e_user "$dave" "$E2E_SHELL"
e2e_pam_stack
e2e_gated "$E2E_CONF" "$E2E_SOCK" --stay-root
e2e_sshd "SetEnv YOLO_GATE_SOCKET=$E2E_SOCK" "AcceptEnv YOLO_BOX"
glog=$E2E_DIR/gated.log
# wait_for FILE PATTERN: up to 60 s.
wait_for() {
	for ((i = 0; i < 600; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	e2e_fail_log "no '$2' within 60 s" "$1"
}
login() {	# login LOG USER STEP...: up to the guest's prompt, then STEPs
	local log=$1 u=$2
	shift 2
	e2e_ssh "$log" "$u" expect 'connected to' send '\r' expect 'yolo-box# ' "$@"
}

# ---- 1. attach through PREPARE: alice twice, then bob with YOLO_BOX
t0=$(yg_now_ms)
login "$E2E_DIR/a1.log" "$alice" send 'echo A1-$((1+1))\r' expect 'A1-2' \
	expect 'BOB-7' sleep 2 send '\x1d' eof &
a1=$!
wait_for "$E2E_DIR/a1.log" 'A1-2'
login "$E2E_DIR/a2.log" "$alice" send 'echo A2-$((2+2))\r' expect 'A2-4' send '\x1d' eof ||
	e2e_fail_log "alice's second login (PREPARE of her busy box, attach) failed" "$E2E_DIR/a2.log"
grep -q 'detached' "$E2E_DIR/a2.log" || e2e_fail_log "alice's second login did not detach alone" "$E2E_DIR/a2.log"
grep -q "event=prepare_join .*user=$alice box=$box" "$glog" ||
	yg_fail "the broker did not answer alice's PREPARE of her busy box with a join"
e2e_ssh "$E2E_DIR/b0.log" "$bob" expect 'choose one with YOLO_BOX' eof ||
	e2e_fail_log "bob (two [box:] entries, no YOLO_BOX) was not told to choose" "$E2E_DIR/b0.log"
YOLO_BOX=$box login "$E2E_DIR/b1.log" "$bob" send 'echo BOB-$((3+4))\r' expect 'BOB-7' \
	send '\x1d' eof || e2e_fail_log "bob could not join alice's box with YOLO_BOX over ssh" "$E2E_DIR/b1.log"
grep -q "event=attach .*user=$alice box=$box .*joiner=$bob" "$glog" ||
	yg_fail "no attach audit line naming $alice and $bob: $(grep 'event=attach' "$glog")"
wait "$a1" || e2e_fail_log "alice's first session did not see bob's command" "$E2E_DIR/a1.log"
yg_timing e2e_attach_two_joins "$(yg_since "$t0")"
yg_log "ok: attach through sshd: alice's second login and bob (YOLO_BOX) joined her session"

# ---- 2. takeover through PREPARE (a session keeps the policy it started with)
policy takeover
kill -HUP "$E2E_GATED_PID"
wait_for "$glog" 'event=reloaded'
login "$E2E_DIR/a3.log" "$alice" send 'echo A3-$((1+2))\r' expect 'A3-3' \
	expect 'taken over' eof &
a3=$!
wait_for "$E2E_DIR/a3.log" 'A3-3'
t0=$(yg_now_ms)
login "$E2E_DIR/a4.log" "$alice" send 'echo A4-$((2+3))\r' expect 'A4-5' \
	send '\x1d' eof || e2e_fail_log "the taking-over ssh login of alice failed" "$E2E_DIR/a4.log"
wait "$a3" || e2e_fail_log "alice's first session was not told of the takeover" "$E2E_DIR/a3.log"
grep -q 'event=takeover .*via=prepare' "$glog" || yg_fail "no takeover through PREPARE in gated.log"
yg_timing e2e_takeover "$(yg_since "$t0")"
e2e_wait_clean "$box" 60 || yg_fail "$box is not clean after the takeover session" "$box"
yg_log "ok: takeover through sshd: the second login took the box, the first was told"

# ---- 3. a disabled user hears why (sshd sends PAM's account message as a banner)
out=$(timeout 30 ssh -T -F /dev/null -i "$E2E_DIR/keys/$dave.key" -p "$E2E_PORT" \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
	"$dave@127.0.0.1" true 2>&1 < /dev/null) && yg_fail "disabled $dave got in: $out"
grep -q "the box of user $dave is disabled" <<< "$out" ||
	yg_fail "disabled $dave was not told why over ssh: $out"
yg_log "ok: a disabled user is told why over ssh"
