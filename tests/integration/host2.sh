#!/bin/bash
# SPDX-License-Identifier: MIT
# host2.sh: lib-host2.sh's second hypervisor host works and goes away
# cleanly. From this host, over qemu+tcp only: a dir pool and a tiny TCG box
# on host2 boot, answer through their guest agent, snapshot and revert;
# the box is host2's alone (not on qemu:///system, its files in host2's mount
# namespace only, its QEMU in host2's netns). A SIGKILLed libvirtd of host2
# refuses connections while its QEMU runs on, and once revived finds the box
# running with its agent answering. A blackholed host2 makes virsh fail
# within a bound (timed) without anything dying, and answers again after.
# yg_host2_stop leaves no netns, veth, daemon, QEMU, mount or directory.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/lib-host2.sh"

yg_init_guest
main_libvirtd=$(pgrep -x libvirtd | sort | tr '\n' ' ')

yg_host2_start
{ [ -n "$YG_HOST2_URI" ] && [ -n "$YG_HOST2_ADDR" ] && [ -n "$YG_HOST2_NS" ] &&
	[ -d "$YG_HOST2_IMAGES" ]; } || yg_fail "yg_host2_start did not set YG_HOST2_URI/ADDR/NS/IMAGES"
case $YG_HOST2_ADDR in
198.18.*|198.19.*) ;;
*) yg_fail "host2's address $YG_HOST2_ADDR is not in 198.18.0.0/15" ;;
esac
ip netns list | grep -qw "$YG_HOST2_NS" || yg_fail "ip netns list does not show $YG_HOST2_NS"
ip route show default | grep -q "$YG_HOST2_VETH" && yg_fail "a default route through $YG_HOST2_VETH"
h2=(timeout 60 virsh -q -c "$YG_HOST2_URI")
[ "$("${h2[@]}" uri)" = "$YG_HOST2_URI" ] || yg_fail "virsh -c $YG_HOST2_URI uri does not say so"

# A pool on host2, as yolo-gatectl provision makes for an images directory.
pool=$(yg_pool_name "$YG_HOST2_IMAGES")
{ "${h2[@]}" pool-define-as "$pool" dir --target "$YG_HOST2_IMAGES" >/dev/null &&
	"${h2[@]}" pool-start "$pool" >/dev/null; } ||
	yg_host2_fail "defining and starting the dir pool $pool on host2 failed"
"${h2[@]}" vol-create-as "$pool" probe.qcow2 1M --format qcow2 >/dev/null ||
	yg_host2_fail "vol-create-as in $pool on host2 failed"
yg_host2_exec test -f "$YG_HOST2_IMAGES/probe.qcow2" ||
	yg_host2_fail "host2's volume is not in $YG_HOST2_IMAGES"
"${h2[@]}" vol-delete --pool "$pool" probe.qcow2 >/dev/null || yg_host2_fail "vol-delete on host2 failed"

# A box on host2: define, boot, agent, snapshot, revert (all remote).
name=yg-it-host2-$$
yg_host2_box_define "$name"
{ "${h2[@]}" pool-refresh "$pool" >/dev/null &&
	"${h2[@]}" vol-info --pool "$pool" "$name.qcow2" >/dev/null; } ||
	yg_host2_fail "host2's pool does not list the box's disk $name.qcow2" "$name"
t0=$(yg_now_ms)
"${h2[@]}" start "$name" >/dev/null || yg_host2_fail "virsh -c $YG_HOST2_URI start $name failed" "$name"
YG_URI=$YG_HOST2_URI yg_wait_agent "$name" 60 ||
	yg_host2_fail "the guest agent of $name on host2 did not answer within 60 s of boot" "$name"
yg_timing host2_boot_to_agent "$(yg_since "$t0")"
t0=$(yg_now_ms)
"${h2[@]}" snapshot-create-as "$name" clean-state >/dev/null ||
	yg_host2_fail "snapshot-create-as $name clean-state on host2 failed" "$name"
yg_timing remote_snapshot "$(yg_since "$t0")"
t0=$(yg_now_ms)
"${h2[@]}" snapshot-revert "$name" clean-state --running ||
	yg_host2_fail "snapshot-revert $name clean-state --running on host2 failed" "$name"
yg_timing remote_revert "$(yg_since "$t0")"
YG_URI=$YG_HOST2_URI yg_wait_agent "$name" 30 ||
	yg_host2_fail "the agent of $name did not answer after the revert on host2" "$name"
[ "$("${h2[@]}" snapshot-current --name "$name")" = clean-state ] ||
	yg_host2_fail "the current snapshot of $name on host2 is not clean-state" "$name"

# host2's, not this host's.
if virsh -q -c qemu:///system list --all --name | grep -qxF "$name" ||
   virsh -q -c qemu:///system dominfo "$name" >/dev/null 2>&1; then
	yg_host2_fail "$name (host2's) is visible on qemu:///system" "$name"
fi
{ [ ! -e "/etc/libvirt/qemu/$name.xml" ] && [ ! -e "/run/libvirt/qemu/$name.pid" ]; } ||
	yg_host2_fail "$name has files in this host's /etc/libvirt or /run/libvirt" "$name"
yg_host2_exec test -f "/etc/libvirt/qemu/$name.xml" -a -f "/run/libvirt/qemu/$name.pid" ||
	yg_host2_fail "$name has no files in host2's /etc/libvirt/qemu and /run/libvirt/qemu" "$name"
[ "$("${h2[@]}" domstate "$name")" = running ] || yg_host2_fail "$name is not running on host2" "$name"
qemu=$(yg_host2_qemu_pid "$name") || yg_host2_fail "no QEMU process for $name on host2" "$name"
[ "$(readlink "/proc/$qemu/ns/net")" = "$YG_HOST2_NETNS_ID" ] ||
	yg_host2_fail "the QEMU of $name ($qemu) is not in host2's netns" "$name"

# A crash of host2's libvirtd: refused at once, QEMU runs on; then revived.
h2lvd=$(_yg_host2_daemon_pid libvirtd)
yg_host2_kill
t0=$(yg_now_ms)
if timeout 30 virsh -q -c "$YG_HOST2_URI" version >/dev/null 2>&1; then
	yg_host2_fail "virsh -c $YG_HOST2_URI answered although host2's libvirtd was killed"
fi
yg_timing host2_killed_fail "$(yg_since "$t0")"
kill -0 "$qemu" 2>/dev/null || yg_host2_fail "the QEMU of $name died with host2's libvirtd" "$name"
yg_host2_revive
[ "$(_yg_host2_daemon_pid libvirtd)" != "$h2lvd" ] || yg_host2_fail "host2's libvirtd was not restarted"
[ "$("${h2[@]}" domstate "$name")" = running ] ||
	yg_host2_fail "$name is not running on host2 after its libvirtd's restart" "$name"
[ "$(yg_host2_qemu_pid "$name")" = "$qemu" ] ||
	yg_host2_fail "$name has another QEMU after the restart of host2's libvirtd" "$name"
YG_URI=$YG_HOST2_URI yg_wait_agent "$name" 30 ||
	yg_host2_fail "the agent of $name did not answer after host2's libvirtd came back" "$name"

# host2 unreachable at the network level: virsh fails within the bound.
yg_host2_blackhole --measure
awk -v s="$YG_HOST2_BLACKHOLE_S" 'BEGIN { exit !(s <= 35) }' ||
	yg_host2_fail "virsh took ${YG_HOST2_BLACKHOLE_S}s to give up on blackholed host2 (bound 35 s)"
timeout 10 virsh -q -c "$YG_HOST2_LOCAL_URI" version >/dev/null 2>&1 ||
	yg_host2_fail "host2's libvirtd does not answer on its unix socket while blackholed"
kill -0 "$qemu" 2>/dev/null || yg_host2_fail "the QEMU of $name died while host2 was blackholed" "$name"
yg_host2_unblackhole
[ "$("${h2[@]}" domstate "$name")" = running ] ||
	yg_host2_fail "$name is not running on host2 after the blackhole" "$name"
YG_URI=$YG_HOST2_URI yg_wait_agent "$name" 30 ||
	yg_host2_fail "the agent of $name did not answer after the blackhole" "$name"

# Stop: nothing of host2 left.
ns=$YG_HOST2_NS veth=$YG_HOST2_VETH root=$YG_HOST2_ROOT netns_id=$YG_HOST2_NETNS_ID
mntns_id=$YG_HOST2_MNTNS_ID holder=$YG_HOST2_PID
h2lvd=$(_yg_host2_daemon_pid libvirtd) h2vld=$(_yg_host2_daemon_pid virtlogd)
t0=$(yg_now_ms)
yg_host2_stop
yg_timing host2_stop "$(yg_since "$t0")"
yg_host2_stop # idempotent
ip netns list | grep -qw "$ns" && yg_fail "the netns $ns is left"
[ ! -e "/run/netns/$ns" ] || yg_fail "/run/netns/$ns is left"
ip link show "$veth" >/dev/null 2>&1 && yg_fail "the veth $veth is left"
for pid in "$holder" "$h2lvd" "$h2vld" "$qemu"; do
	_yg_host2_wait_gone "$pid" 100 || yg_fail "process $pid of host2 is left: $(ps -o pid,args -p "$pid" | tail -n 1)"
done
for p in /proc/[0-9]*; do
	case "$(readlink "$p/ns/net" 2>/dev/null) $(readlink "$p/ns/mnt" 2>/dev/null)" in
	"$netns_id "*|*" $mntns_id") yg_fail "process ${p#/proc/} is still in host2's namespaces" ;;
	esac
done
[ "$(pgrep -x libvirtd | sort | tr '\n' ' ')" = "$main_libvirtd" ] ||
	yg_fail "libvirtd processes are not those of this host only: $(pgrep -a libvirtd | tr '\n' ';')"
findmnt -rn -o TARGET,SOURCE | grep -qF -e "$root" -e "/run/netns/$ns" &&
	yg_fail "mounts of host2 are left: $(findmnt -rn -o TARGET,SOURCE | grep -F -e "$root" -e "/run/netns/$ns")"
[ ! -e "$root" ] || yg_fail "host2's directory $root is left"
ip -o -4 addr show | grep -qF "${YG_HOST2_PEER:-198.18.x}/30" && yg_fail "host2's /30 is still on an interface"
echo "PASS: host2 ($YG_HOST2_URI) ran $name over qemu+tcp, survived a libvirtd kill and a blackhole, and left nothing"
