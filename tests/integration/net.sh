#!/bin/bash
# SPDX-License-Identifier: MIT
# net.sh: a box on a `yolo-gatectl network create` network reaches the
# internet (a stand-in) but not the LAN, the host, nor another box, and
# cannot spoof its IP; proven from inside two tiny guests.
#
# Safety: every packet goes to an address inside a network namespace this
# test makes (10.213.N.2 "LAN", 203.0.113.10 "internet") or to the bridge
# it makes; before any guest sends, the host's route to each target must
# go into the test's own veth.  The namespaces have no default route.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
yg_require_root
yg_init
command -v jq >/dev/null || yg_fail "this test needs jq (apt-get install jq)"
command -v dnsmasq >/dev/null ||
	yg_fail "libvirt NAT networks need dnsmasq (apt-get install dnsmasq-base)"
command -v python3 >/dev/null || yg_fail "this test needs python3 for a listener on the bridge"

ctl=$top_builddir/src/ctl/yolo-gatectl
tag=$$
conf=$YG_TMP/conf
run=$YG_TMP/run
images=$YG_IMAGES/net-$tag
base=$images/base.qcow2
tpl=$top_srcdir/src/ctl/templates/tiny.xml
net=yg-it-net-$tag
users=(ygna$tag ygnb$tag)
doms=(yg-it-neta-$tag yg-it-netb-$tag)
ns_lan=yg-lan-$tag ns_inet=yg-inet-$tag
v_lan=ygl$tag v_inet=ygi$tag
lan_o=$(( tag % 200 + 20 ))
lan_host=10.213.$lan_o.1 lan_peer=10.213.$lan_o.2
inet_host=203.0.113.1 inet_peer=203.0.113.10
pids=()

net_cleanup() {
	local rc=$? i
	set +e
	for i in "${pids[@]}"; do kill "$i" 2>/dev/null; done
	for i in "${doms[@]}"; do
		yg_virsh destroy "$i" >/dev/null 2>&1
		yg_virsh undefine "$i" --snapshots-metadata >/dev/null 2>&1
		[ "$rc" != 0 ] || rm -f "/var/log/libvirt/qemu/$i.log"
	done
	"$ctl" network --config "$conf" remove "$net" >/dev/null 2>&1
	ip netns del "$ns_lan" 2>/dev/null
	ip netns del "$ns_inet" 2>/dev/null
	yg_pool_forget "$images"
	rm -rf "$images"
	for i in "${users[@]}"; do userdel "$i" >/dev/null 2>&1; done
	return "$rc"
}
trap 'net_cleanup; yg_cleanup' EXIT

# --- policy: two users, one box each, on the test network
yg_policy_dir "$conf" "$run"
for i in 0 1; do
	useradd --no-create-home --shell /usr/sbin/nologin "${users[i]}" ||
		yg_fail "useradd ${users[i]} failed"
	cat >>"$conf/policy.d/10.conf" <<EOF
[user:${users[i]}]
domain = ${doms[i]}
snapshot = clean-state
memory = 256M
disk_size = 64M
network = $net
EOF
done
chmod 644 "$conf/policy.d/10.conf"
"$ctl" check --config "$conf" >/dev/null || yg_fail "the test policy does not pass check"

yg_start_libvirt
yg_guest_build
bb_deb=$(ls "$top_builddir"/tests/guest/cache/debs/busybox-static_*.deb | head -n1)
mkdir -p "$YG_TMP/bb"
dpkg-deb -x "$bb_deb" "$YG_TMP/bb" || yg_fail "cannot unpack $bb_deb"
bb=$YG_TMP/bb/bin/busybox

# --- the network: the first free subnet of a few candidates
gw=
for o in 213 214 215 216 217; do
	if "$ctl" network --config "$conf" create --subnet "192.168.$o.0/24" "$net" \
		>"$YG_TMP/netcreate" 2>&1; then
		gw=192.168.$o.1
		break
	fi
	grep -q "collides\|contains the host" "$YG_TMP/netcreate" ||
		{ cat "$YG_TMP/netcreate" >&2; yg_fail "network create failed"; }
done
[ -n "$gw" ] || yg_fail "no free subnet among 192.168.213-217.0/24"
cat "$YG_TMP/netcreate"
# (no `virsh | grep -q`: with pipefail, grep's early exit fails the pipe)
netxml=$(yg_virsh net-dumpxml "$net")
grep -q "<forward mode='nat'" <<<"$netxml" || yg_fail "network $net is not NAT"
grep -q "<port isolated='yes'/>" <<<"$netxml" || yg_fail "network $net ports are not isolated"
# every IPv4 address of the host is in the filter
egress=$(yg_virsh nwfilter-dumpxml "yolo-gate-$net-egress")
for a in $(ip -4 -o addr show | awk '{ split($4, x, "/"); print x[1] }'); do
	grep -q "dstipaddr='$a' dstipmask='32'" <<<"$egress" ||
		yg_fail "the filter does not drop the host's address $a"
done
grep -q "dstipaddr='169.254.0.0' dstipmask='16'" <<<"$egress" ||
	yg_fail "the filter does not drop link-local (169.254.169.254)"
out=$("$ctl" network --config "$conf" create "$net")
grep -q "exists: kept" <<<"$out" ||
	yg_fail "a second network create did not keep the network"

# --- test hosts in namespaces, routed by the host only to them
mkns() {  # NS VETH HOSTADDR PEERADDR
	ip netns add "$1" || yg_fail "ip netns add $1 failed"
	ip link add "$2" type veth peer name "$2p" || yg_fail "cannot make veth $2"
	ip link set "$2p" netns "$1"
	ip addr add "$3/24" dev "$2"
	ip link set "$2" up
	ip -n "$1" addr add "$4/24" dev "$2p"
	ip -n "$1" link set "$2p" up
	ip -n "$1" link set lo up
}
for r in "10.213.$lan_o.0/24" 203.0.113.0/24; do
	[ -z "$(ip -4 route show to match "$r" | grep -v '^default')" ] ||
		yg_fail "the host already routes $r; this test needs it free"
done
mkns "$ns_lan" "$v_lan" "$lan_host" "$lan_peer"
mkns "$ns_inet" "$v_inet" "$inet_host" "$inet_peer"
# THE safety check: each target's route leads into our own veth or bridge.
route_dev() { ip -4 route get "$1" | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n1; }
[ "$(route_dev "$lan_peer")" = "$v_lan" ] || yg_fail "$lan_peer is not routed into $v_lan; not sending"
[ "$(route_dev "$inet_peer")" = "$v_inet" ] || yg_fail "$inet_peer is not routed into $v_inet; not sending"
ip -4 route get "$gw" | grep -q '^local ' || yg_fail "$gw is not the host's bridge address"
[ -z "$(ip -n "$ns_inet" route show default)$(ip -n "$ns_lan" route show default)" ] ||
	yg_fail "a test namespace has a default route"

# TCP listeners: port 80 in both namespaces, 22 and 16509 on the bridge
# (unless something already listens there), each bounded to 10 minutes.
for ns in "$ns_lan" "$ns_inet"; do
	timeout 600 ip netns exec "$ns" "$bb" nc -ll -p 80 -e /bin/true &
	pids+=($!)
done
for port in 22 16509; do
	# Ours unless something already listens where the bridge address is
	# covered (a wildcard or the bridge itself): an sshd of another test on
	# 127.0.0.1:22 does not answer on the bridge.
	if ! ss -Hltn "sport = :$port" | awk '{ print $4 }' |
		grep -qE "^(0\.0\.0\.0|\*|\[::\]|${gw//./\\.}):$port\$"; then
		timeout 600 python3 -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(16)
while True: s.accept()[0].close()' "$gw" "$port" &
		pids+=($!)
	fi
done
sleep 0.5
# Controls: the listeners answer the host.
for hp in "$lan_peer 80" "$inet_peer 80" "$gw 22" "$gw 16509"; do
	timeout 5 bash -c "exec 3<>/dev/tcp/${hp% *}/${hp#* }" 2>/dev/null ||
		yg_fail "control: the host cannot reach the test listener $hp"
done

# --- two boxes on the network
mkdir -p "$images"
qemu-img create -q -f qcow2 "$base" 64M
chmod 644 "$base"
for i in 0 1; do
	"$ctl" provision --config "$conf" --base "$base" --template "$tpl" \
		--virt-type qemu --kernel "$YG_GUEST_KERNEL" --initrd "$YG_GUEST_INITRD" \
		--images "$images" --boot-timeout 120 "${users[i]}" >"$YG_TMP/prov" 2>&1 ||
		{ cat "$YG_TMP/prov" >&2; yg_fail "provision of ${users[i]} failed" "${doms[i]}"; }
	xml=$(yg_virsh dumpxml "${doms[i]}")
	grep -q "<filterref filter='yolo-gate-$net'" <<<"$xml" ||
		yg_fail "${doms[i]} has no filter on its interface"
	yg_virsh resume "${doms[i]}" >/dev/null
done
A=${doms[0]} B=${doms[1]}

gx() {  # gx BOX 'shell command': its exit code in the guest
	yg_guest_exec "$1" /bin/sh -c "$2"
}
yes_() { [ "$(gx "$1" "$2")" = 0 ] || yg_fail "in $1, '$2' should succeed" "$1"; }
no_() { [ "$(gx "$1" "$2")" != 0 ] || yg_fail "in $1, '$2' should fail: the box got through" "$1"; }

for d in "$A" "$B"; do
	yg_wait_agent "$d" 60 || yg_fail "agent of $d" "$d"
	# The lease is waited for from here, one short guest-exec at a time: a
	# wait inside one guest-exec would outlast yg_guest_exec's 10 s bound
	# (a loaded CI host took longer than that once).
	for ((i = 0; i < 60; i++)); do
		[ "$(gx "$d" '[ -s /run/eth0.ip ]')" = 0 ] && break
		sleep 1
	done
	[ "$(gx "$d" '[ -s /run/eth0.ip ]')" = 0 ] ||
		yg_fail "$d got no DHCP lease within 60 s (its udhcpc log: /run/udhcpc.log in the guest)" "$d"
	# the only default route is the bridge
	# (busybox ip route has no "show default" selector)
	yes_ "$d" "[ \"\$(ip route | grep -c '^default')\" = 1 ] && ip route | grep -q '^default via $gw dev eth0'"
done
b_ip=$(yg_virsh domifaddr "$B" --source lease | awk '/ipv4/ { split($4, x, "/"); print x[1] }')
[ -n "$b_ip" ] || yg_fail "no DHCP lease for $B" "$B"

# reaches the internet stand-in (ICMP and TCP, masqueraded)
yes_ "$A" "ping -c 1 -W 3 $inet_peer"
yes_ "$A" "nc -w 3 $inet_peer 80 </dev/null"
yes_ "$B" "ping -c 1 -W 3 $inet_peer"
# not the LAN host, not the host's sshd or libvirt's TCP port, not box B
no_ "$A" "ping -c 1 -W 2 $lan_peer"
no_ "$A" "nc -w 2 $lan_peer 80 </dev/null"
no_ "$A" "nc -w 2 $gw 22 </dev/null"
no_ "$A" "nc -w 2 $gw 16509 </dev/null"
no_ "$A" "ping -c 1 -W 2 $gw"
no_ "$A" "ping -c 1 -W 2 $b_ip"
no_ "$B" "ping -c 1 -W 2 $lan_peer"
# cannot spoof: another source address in its own subnet or outside it
for spoof in "${gw%.1}.250" 203.0.113.99; do
	no_ "$A" "ip addr add $spoof/32 dev eth0 && ping -c 1 -W 2 -I $spoof $inet_peer; rc=\$?; ip addr del $spoof/32 dev eth0; exit \$rc"
done
yes_ "$A" "ping -c 1 -W 3 $inet_peer"   # still fine from its own address

# network = none: no interface at all
sed -i "0,/network = $net/s//network = none/" "$conf/policy.d/10.conf"
"$ctl" provision --config "$conf" --base "$base" --template "$tpl" --update --force \
	--virt-type qemu --kernel "$YG_GUEST_KERNEL" --initrd "$YG_GUEST_INITRD" \
	--images "$images" --boot-timeout 120 "${users[0]}" >"$YG_TMP/prov" 2>&1 ||
	{ cat "$YG_TMP/prov" >&2; yg_fail "provision --update --force to network none failed" "$A"; }
grep -q "network -> none" "$YG_TMP/prov" || { cat "$YG_TMP/prov" >&2; yg_fail "update did not name the network change"; }
xml=$(yg_virsh dumpxml "$A")
! grep -q "<interface" <<<"$xml" || yg_fail "$A still has an interface with network = none"
echo "net.sh: all checks passed"
