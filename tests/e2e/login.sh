#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/login.sh: a login through a real sshd lands in a fresh VM.
#
# Real sshd on 127.0.0.1, real users ygalice/ygbob whose login shell is the
# built yolo-shell, the real broker, a real QEMU box from the test guest, a
# real ssh client driven through a pty. Scenarios:
#  1. login reaches the guest prompt; the user's key is in /run/yolo/keys.env;
#     canaries written to / and /tmp; ^] logs out;
#  2. after logout the box is reverted (paused from snapshot) and the key's
#     bytes are in no disk image, libvirt save/log dir or our logs;
#  3. the next login is clean (canaries gone) and has the key again;
#  4. bob cannot open alice's box (OPEN box=alice's domain: denied);
#  5. kill -9 of the ssh client and of the server-side yolo-shell mid-session:
#     the broker still reverts within a bound; the next login is clean.
# The key is shown upper-cased in the guest (tr a-z A-Z), so its real bytes
# never cross the console and the leak check stays meaningful.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib-e2e.sh"

: "${E2E_REVERT_BOUND:=60}"	# seconds from a killed session to a clean box

yg_init
e2e_init
yg_start_libvirt
yg_guest_build
e2e_install_shell
[ -x "$YG_BIN_GATED" ] || yg_fail "$YG_BIN_GATED is not built; run make first"
client=$top_builddir/tests/integration/gatedclient
[ -x "$client" ] || yg_fail "$client is not built; run make check-e2e (it builds check programs)"

# ---- broker user: a system user in the libvirt group, if libvirt lets it in
e2e_broker_user yolo-gate-test
svc=$E2E_SVC
gated_opts=("${E2E_GATED_OPTS[@]}")

# ---- policy: root-owned, not group/world-writable; keys owned by the broker user
e2e_conf "$svc" "log_level = debug" "service_user = ${E2E_SYSUSERS[0]}"
conf=$E2E_CONF
sock=$E2E_SOCK
e2e_policy 10-e2e.conf yg-e2e- ygalice ygbob
key="sk-test-e2e$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
KEY_SHOWN=$(tr a-z A-Z <<< "$key")
for u in ygalice ygbob; do
	( umask 077; printf 'OPENAI_API_KEY=%s\n' "$([ $u = ygalice ] && echo "$key" || echo sk-test-bob)" \
		> "$conf/keys.d/$u.env" )
	chown "$svc:" "$conf/keys.d/$u.env"
done

box=yg-e2e-ygalice
yg_box_create "$box"
e2e_user ygalice "$E2E_SHELL"
e2e_user ygbob "$E2E_SHELL"
e2e_gated "$conf" "$sock" "${gated_opts[@]}"
e2e_sshd "SetEnv YOLO_GATE_SOCKET=$sock"

# One interactive session of alice: login, prompt, STEPS..., then the caller's end.
alice() {
	local log=$1
	shift
	e2e_ssh "$log" ygalice expect 'connected to' send '\r' expect 'yolo-box# ' "$@"
}
probe_canaries='for f in /canary-root /tmp/canary-tmp; do [ -e $f ] && echo FOUND-$f; done; echo PROBED-$((40+2))\r'
write_canaries='echo canary > /canary-root; echo canary > /tmp/canary-tmp; echo WROTE-$((1+1))\r'
show_key='tr a-z A-Z < /run/yolo/keys.env\r'

# ---- 1. login, key, canaries, escape
log=$E2E_DIR/s1.log
t0=$(yg_now_ms)
alice "$log" send "$show_key" expect "OPENAI_API_KEY=$KEY_SHOWN" \
	send "$write_canaries" expect 'WROTE-2' send '\x1d' eof ||
	e2e_fail_log "scenario 1 (login, key, canaries, ^]) failed" "$log" "$box"
grep -q '^exit=0' "$log" || e2e_fail_log "the session ended by ^] did not exit 0" "$log"
yg_timing e2e_session1 "$(yg_since "$t0")"
t0=$(yg_now_ms)
e2e_wait_clean "$box" "$E2E_REVERT_BOUND" ||
	yg_fail "$box is not paused-from-snapshot ${E2E_REVERT_BOUND}s after logout" "$box"
yg_timing e2e_logout_to_clean "$(yg_since "$t0")"
yg_log "ok: login reached the guest with the key; ^] logged out; box reverted"

# ---- 2. the key's bytes are nowhere on disk
leak_check() {
	local f found=
	f=$YG_IMAGES/$box.qcow2
	[ "$(grep -c -a -F "$key" "$f" || true)" = 0 ] || found="$found $f"
	for f in $(grep -r -l -a -D skip -F "$key" /var/lib/libvirt/qemu /var/log/libvirt \
			"$YG_IMAGES" "$E2E_DIR/gated.log" "$E2E_DIR/sshd.log" 2>/dev/null); do
		found="$found $f"
	done
	[ -z "$found" ] || yg_fail "$1: the key's bytes are in:$found"
}
leak_check "after logout"
yg_log "ok: the key is in no disk image, libvirt save/log dir or log"

# ---- 3. the next login is clean and has the key
log=$E2E_DIR/s3.log
alice "$log" send "$show_key" expect "OPENAI_API_KEY=$KEY_SHOWN" \
	send "$probe_canaries" expect 'PROBED-42' send '\x1d' eof ||
	e2e_fail_log "scenario 3 (second login) failed" "$log" "$box"
! grep -q 'FOUND-/' "$log" || e2e_fail_log "a canary survived the revert" "$log"
e2e_wait_clean "$box" "$E2E_REVERT_BOUND" ||
	yg_fail "$box is not clean ${E2E_REVERT_BOUND}s after the second logout" "$box"
yg_log "ok: second login: canaries gone, key present"

# ---- 4. bob cannot reach alice's box
out=$(runuser -u ygbob -- "$client" "$sock" open --box "$box" 2>&1) || true
grep -q "^ERROR 5 " <<< "$out" ||
	yg_fail "bob's OPEN of $box was not denied (ERROR 5); the broker answered: $out"
[ "$(yg_domstate "$box")" = "paused (from snapshot)" ] ||
	yg_fail "bob's refused OPEN changed the state of $box" "$box"
yg_log "ok: bob's OPEN of alice's box denied"

# ---- 5. kill -9 client and server-side shell mid-session
log=$E2E_DIR/s5.log
alice "$log" send "$write_canaries" expect 'WROTE-2' kill || e2e_fail_log "scenario 5 (session to kill) failed" "$log" "$box"
t0=$(yg_now_ms)
for pid in $(e2e_user_pids ygalice "$E2E_SHELL"); do kill -KILL "$pid" 2>/dev/null || true; done
e2e_wait_clean "$box" "$E2E_REVERT_BOUND" ||
	yg_fail "$box is not clean ${E2E_REVERT_BOUND}s after kill -9 of the client" "$box"
yg_timing e2e_kill_to_clean "$(yg_since "$t0")"
leak_check "after kill -9"
log=$E2E_DIR/s6.log
alice "$log" send "$probe_canaries" expect 'PROBED-42' send "$show_key" \
	expect "OPENAI_API_KEY=$KEY_SHOWN" send '\x1d' eof ||
	e2e_fail_log "the login after kill -9 failed" "$log" "$box"
! grep -q 'FOUND-/' "$log" || e2e_fail_log "a canary survived kill -9 + revert" "$log"
e2e_wait_clean "$box" "$E2E_REVERT_BOUND" || yg_fail "$box not clean after the last logout" "$box"
yg_log "ok: kill -9 mid-session: broker reverted; next login clean"
