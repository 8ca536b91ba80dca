#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/hosts.sh: one gate, two hypervisor hosts (issue 17), through a
# real sshd. alice's box is on this host's libvirt (the host "local"), bob's
# on host2 (tests/integration/lib-host2.sh: a second libvirtd in its own
# namespaces, qemu+tcp over a veth), and both boxes have the same domain
# name: the broker keys its locks and records by host and domain.
#  0. bob's box is built on host2 by yolo-gatectl provision --host hv2,
#     through libvirt's remote API only (pool, overlay volume, domain,
#     snapshot on host2; nothing of it on this host);
#  1. alice and bob log in through sshd at once; each lands in their own box
#     (bob's QEMU runs in host2's netns), the session records name the host;
#  2. host2's libvirtd is killed mid-session: bob is told "box host hv2 is
#     unreachable (since ...)", alice types on and nothing reaches her;
#     yolo-gatectl status lists both, hv2 as UNREACHABLE (exit 1);
#  3. host2 comes back: bob's box is reverted without anyone logging in (the
#     session child waited for its host), the down record is gone, the audit
#     has host_down and host_back; bob logs in again;
#  4. host2 blackholed (no answer at all): bob is told within a bound
#     (YG_GD_HOST_CONNECT_MS + slack) and alice logs in as usual meanwhile;
#  5. bob's box moved off host2 (the policy now puts him on local):
#     deprovision --host hv2 removes the domain and overlay from host2 and
#     keeps his key file.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib-e2e.sh"
. "$(dirname "$0")/../integration/lib-host2.sh"

yg_init
e2e_init
yg_start_libvirt
yg_guest_build
e2e_install_shell
[ -x "$YG_BIN_GATED" ] || yg_fail "$YG_BIN_GATED is not built; run make first"
ctl=$top_builddir/src/ctl/yolo-gatectl
[ -x "$ctl" ] || yg_fail "$ctl is not built; run make first"

yg_host2_start
alice=yghalice bob=yghbob
box=yg-e2e-hsame-$$

e2e_broker_user yolo-gate-test
svc=$E2E_SVC
e2e_conf "$svc" "log_level = debug" "service_user = ${E2E_SYSUSERS[0]}"
conf=$E2E_CONF
sock=$E2E_SOCK
pol=$conf/policy.d/10-hosts.conf
{
	printf '[defaults]\nsnapshot = clean-state\nagent_timeout = 60s\n'
	printf 'keys = %s/keys.d/%%u.env\n\n' "$conf"
	printf '[host:hv2]\nuri = %s\nimages = %s\n\n' "$YG_HOST2_URI" "$YG_HOST2_IMAGES"
	printf '[user:%s]\ndomain = %s\n\n' "$alice" "$box"
	printf '[user:%s]\ndomain = %s\nhost = hv2\n' "$bob" "$box"
} > "$pol"
chmod 0644 "$pol"
for u in "$alice" "$bob"; do
	e2e_key "$u" "$svc" "OPENAI_API_KEY=sk-test-$u"
done

h2state() { YG_URI=$YG_HOST2_URI yg_domstate "$box"; }
e2e_user "$alice" "$E2E_SHELL"
e2e_user "$bob" "$E2E_SHELL"

# ---- 0. bob's box built on host2 through the remote API
yg_host2_guest
qemu-img create -q -f qcow2 "$YG_HOST2_IMAGES/base.qcow2" 64M
chmod 644 "$YG_HOST2_IMAGES/base.qcow2"
t0=$(yg_now_ms)
"$ctl" provision --config "$conf" --host hv2 --base "$YG_HOST2_IMAGES/base.qcow2" \
	--template "$top_srcdir/src/ctl/templates/tiny.xml" --virt-type qemu \
	--kernel "$YG_HOST2_GUEST_KERNEL" --initrd "$YG_HOST2_GUEST_INITRD" --memory 256 \
	--disk-size 64M --boot-timeout 120 "$bob" > "$E2E_DIR/prov.log" 2>&1 ||
	e2e_fail_log "yolo-gatectl provision --host hv2 $bob failed" "$E2E_DIR/prov.log"
yg_timing remote_provision "$(yg_since "$t0")"
YG_HOST2_BOXES+=("$box")
YG_URI=$YG_HOST2_URI yg_wait_clean "$box" 10 ||
	yg_host2_fail "the provisioned box on host2 is not paused from clean-state: $(h2state)" "$box"
yg_host2_virsh vol-list --pool "$(yg_pool_name "$YG_HOST2_IMAGES")" | grep -q "$box.qcow2" ||
	yg_fail "the overlay of $box is not a volume of host2's pool"
virsh -q -c qemu:///system dominfo "$box" >/dev/null 2>&1 &&
	yg_fail "provision --host hv2 defined $box on this host too"
yg_box_create "$box"
"$ctl" check --config "$conf" --user "$bob" > "$E2E_DIR/check.txt" 2>&1 ||
	e2e_fail_log "yolo-gatectl check --user $bob failed" "$E2E_DIR/check.txt"
grep -q "^host hv2 .*10-hosts.conf:.*uri $YG_HOST2_URI" "$E2E_DIR/check.txt" ||
	e2e_fail_log "check --user $bob does not show host hv2 with its origin and uri" "$E2E_DIR/check.txt"
e2e_gated "$conf" "$sock" "${E2E_GATED_OPTS[@]}"
e2e_sshd "SetEnv YOLO_GATE_SOCKET=$sock"
glog=$E2E_DIR/gated.log
run=$(sed -n 's/^run_dir = //p' "$conf/gate.conf")
[ -n "$run" ] || yg_fail "no run_dir in $conf/gate.conf"

login() {	# login LOG USER STEP...: up to the guest's prompt, then STEPs
	local log=$1 u=$2
	shift 2
	e2e_ssh "$log" "$u" expect 'connected to' send '\r' expect 'yolo-box# ' "$@"
}
wait_for() {	# wait_for FILE PATTERN [SECS]
	local i
	for ((i = 0; i < ${3:-60} * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	e2e_fail_log "no '$2' in $1 within ${3:-60} s" "$1"
}

# ---- 1. both at once, same domain name, two hosts
# alice types a line, waits (host2 dies meanwhile), types another.
login "$E2E_DIR/a1.log" "$alice" send 'echo A1-$((1+1))\r' expect 'A1-2' \
	send 'sleep 30; echo ALIVE-$((6*7))\r' expect 'ALIVE-42' send '\x1d' eof &
a1=$!
login "$E2E_DIR/b1.log" "$bob" send 'echo B1-$((2+3))\r' expect 'B1-5' \
	expect 'box host hv2 is unreachable \(since [0-9:]+\)' eof &
b1=$!
wait_for "$E2E_DIR/a1.log" 'A1-2'
wait_for "$E2E_DIR/b1.log" 'B1-5'
case $(h2state) in running*) ;; *) yg_fail "bob's box on host2 is not running during his session: $(h2state)" ;; esac
case $(yg_domstate "$box") in running*) ;; *) yg_fail "alice's box (local) is not running: $(yg_domstate "$box")" ;; esac
qemu=$(yg_host2_qemu_pid "$box") || yg_host2_fail "no QEMU of $box on host2" "$box"
[ "$(readlink "/proc/$qemu/ns/net")" = "$YG_HOST2_NETNS_ID" ] ||
	yg_fail "bob's QEMU ($qemu) is not in host2's netns"
[ -e "$run/boxes/$box.lock" ] && [ -e "$run/boxes/$box@hv2.lock" ] ||
	yg_fail "run_dir/boxes does not hold one lock per host: $(ls "$run/boxes")"
grep -lx "host=hv2" "$run"/sessions/* 2>/dev/null | xargs -r grep -qx "user=$bob" ||
	yg_fail "no session record of $bob with host=hv2: $(head -n 20 "$run"/sessions/* 2>&1)"
grep -lx "host=local" "$run"/sessions/* 2>/dev/null | xargs -r grep -qx "user=$alice" ||
	yg_fail "no session record of $alice with host=local"
"$ctl" status --config "$conf" > "$E2E_DIR/st1.txt" 2>&1 ||
	e2e_fail_log "yolo-gatectl status failed with both hosts up" "$E2E_DIR/st1.txt"
grep -Eq "^$bob +$box +hv2 +running .*session " "$E2E_DIR/st1.txt" &&
	grep -Eq "^$alice +$box +local +running .*session " "$E2E_DIR/st1.txt" &&
	grep -Eq "^host hv2 \(.*\): 1 box, 1 in use, reachable\$" "$E2E_DIR/st1.txt" ||
	e2e_fail_log "status does not show both boxes in use, each with its host" "$E2E_DIR/st1.txt"
"$ctl" sessions --config "$conf" > "$E2E_DIR/se1.txt" 2>&1 || true
grep -Eq " $bob +$box +hv2 " "$E2E_DIR/se1.txt" ||
	e2e_fail_log "yolo-gatectl sessions does not show bob's session on hv2" "$E2E_DIR/se1.txt"
yg_log "ok: alice (local) and bob (hv2) are in their boxes of one name at once"

# ---- 2. host2's libvirtd dies: bob is told, alice is not touched
t0=$(yg_now_ms)
yg_host2_kill
wait "$b1" || e2e_fail_log "bob was not told that his box's host is unreachable" "$E2E_DIR/b1.log"
yg_timing host_lost_told "$(yg_since "$t0")"
yg_log "bob was told: $(grep -ao 'box host hv2 is unreachable.*' "$E2E_DIR/b1.log" | tr -d '\r' | head -n 1)"
wait "$a1" || e2e_fail_log "alice's session (local host) did not go on while host2 was down" "$E2E_DIR/a1.log"
grep -q 'unreachable\|went away' "$E2E_DIR/a1.log" &&
	e2e_fail_log "alice heard about host2" "$E2E_DIR/a1.log"
[ -f "$run/hosts/hv2" ] || yg_fail "no down record run_dir/hosts/hv2 while host2 is away"
"$ctl" status --config "$conf" > "$E2E_DIR/st2.txt" 2>&1 &&
	e2e_fail_log "status exited 0 with host hv2 down" "$E2E_DIR/st2.txt"
grep -Eq "^host hv2 \(.*\): 1 box, 1 in use, UNREACHABLE\$" "$E2E_DIR/st2.txt" &&
	grep -Eq "^$alice +$box +local +" "$E2E_DIR/st2.txt" ||
	e2e_fail_log "status with hv2 down: hv2 not UNREACHABLE, or alice's box not shown" "$E2E_DIR/st2.txt"
grep -q "event=host_down .*host=hv2" "$glog" || yg_fail "no host_down audit event for hv2"
yg_expect_clean "$box"
yg_log "ok: host2 lost mid-session: bob told, alice unaffected (her box clean after her logout)"

# ---- 3. host2 comes back: bob's box is cleaned by the waiting session child
yg_host2_revive
t0=$(yg_now_ms)
YG_URI=$YG_HOST2_URI yg_wait_clean "$box" 60 ||
	yg_host2_fail "bob's box on host2 was not reverted within 60 s of host2's return: $(h2state)" "$box"
yg_timing host_back_clean "$(yg_since "$t0")"
wait_for "$glog" "event=host_back .*host=hv2" 10
[ ! -e "$run/hosts/hv2" ] || yg_fail "the down record of hv2 is left after it came back"
grep -q "event=reverted .*user=$bob .*why=logout" "$glog" ||
	yg_fail "no logout revert of bob's box in the broker's log"
login "$E2E_DIR/b2.log" "$bob" send 'echo B2-$((3+3))\r' expect 'B2-6' send '\x1d' eof ||
	e2e_fail_log "bob could not log in again once host2 was back" "$E2E_DIR/b2.log"
YG_URI=$YG_HOST2_URI yg_wait_clean "$box" 60 || yg_fail "bob's box is not clean after his logout"
yg_log "ok: host2 back: bob's box reverted unattended, bob logs in again"

# ---- 4. host2 unreachable (packets dropped): bob told within a bound, alice fine
yg_host2_blackhole --no-measure
t0=$(yg_now_ms)
e2e_ssh "$E2E_DIR/b3.log" "$bob" expect 'box host hv2 is unreachable \(since [0-9:]+\)' eof ||
	e2e_fail_log "bob was not told that hv2 is unreachable" "$E2E_DIR/b3.log"
told=$(yg_since "$t0")
yg_log "bob was told: $(grep -ao 'box host hv2 is unreachable.*' "$E2E_DIR/b3.log" | tr -d '\r' | head -n 1)"
yg_timing host_unreachable_told "$told"
awk -v s="$told" 'BEGIN { exit !(s <= 25) }' ||
	yg_fail "bob heard about the unreachable host after ${told}s (bound 25 s)"
t0=$(yg_now_ms)
login "$E2E_DIR/a2.log" "$alice" send 'echo A2-$((4+4))\r' expect 'A2-8' send '\x1d' eof ||
	e2e_fail_log "alice could not log in while host2 was unreachable" "$E2E_DIR/a2.log"
yg_timing local_login_while_host2_away "$(yg_since "$t0")"
yg_host2_unblackhole
yg_expect_clean "$box"

# ---- 5. the box left on host2 after a move is removed; the keys stay
sed -i '/^host = hv2$/d' "$pol"
"$ctl" deprovision --config "$conf" --host hv2 "$bob" > "$E2E_DIR/deprov.log" 2>&1 ||
	e2e_fail_log "deprovision --host hv2 $bob failed" "$E2E_DIR/deprov.log"
grep -q "kept key file .*: the policy puts $bob's box on host local" "$E2E_DIR/deprov.log" ||
	e2e_fail_log "deprovision --host hv2 did not say it kept bob's key file" "$E2E_DIR/deprov.log"
[ -f "$conf/keys.d/$bob.env" ] || yg_fail "deprovision --host hv2 removed bob's key file"
yg_host2_virsh dominfo "$box" >/dev/null 2>&1 && yg_fail "$box is still defined on host2"
yg_host2_virsh vol-list --pool "$(yg_pool_name "$YG_HOST2_IMAGES")" | grep -q "$box.qcow2" &&
	yg_fail "the overlay of $box is still a volume of host2's pool"
yg_expect_clean "$box"
grep -a 'event=host_\|event=libvirt_re\|event=session_ready' "$glog" >&2
echo "PASS: two hosts behind one gate: concurrent logins, a host lost and back, a host unreachable, a box moved"
