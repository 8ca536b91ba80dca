#!/bin/bash
# SPDX-License-Identifier: MIT
# limits.sh: provision applies the policy's limits and a guest cannot pass
# them: cpu_quota=50 holds a busy box to about half a CPU (libvirt domain
# stats), a write beyond disk_size fails inside the guest, iotune is set;
# provision --update changes cpu_quota keeping the snapshot, and refuses a
# vcpus change without --force.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
yg_require_root
yg_init

ctl=$top_builddir/src/ctl/yolo-gatectl
user=yglim$$
dom=yg-it-lim-$$
conf=$YG_TMP/conf
run=$YG_TMP/run
images=$YG_IMAGES/lim-$$
base=$images/base.qcow2
tpl=$top_srcdir/src/ctl/templates/tiny.xml

lim_cleanup() {
	local rc=$?
	set +e
	yg_virsh destroy "$dom" >/dev/null 2>&1
	yg_virsh undefine "$dom" --snapshots-metadata >/dev/null 2>&1
	[ "$rc" != 0 ] || rm -f "/var/log/libvirt/qemu/$dom.log"
	yg_pool_forget "$images"
	rm -rf "$images"
	userdel "$user" >/dev/null 2>&1
	return "$rc"
}
trap 'lim_cleanup; yg_cleanup' EXIT

policy() {  # VCPUS CPU_QUOTA
	cat >"$conf/policy.d/10.conf" <<EOF
[user:$user]
domain = $dom
snapshot = clean-state
vcpus = $1
memory = 256M
cpu_quota = $2
disk_size = 64M
disk_iops = 500
disk_bps = 20M
EOF
	chmod 644 "$conf/policy.d/10.conf"
}
useradd --no-create-home --shell /usr/sbin/nologin "$user" || yg_fail "useradd $user failed"
yg_policy_dir "$conf" "$run"
policy 1 50
"$ctl" check --config "$conf" >/dev/null || yg_fail "the test policy does not pass check"

yg_start_libvirt
yg_guest_build
mkdir -p "$images"
qemu-img create -q -f qcow2 "$base" 64M
chmod 644 "$base"
prov() {
	"$ctl" provision --config "$conf" --base "$base" --template "$tpl" \
		--virt-type qemu --kernel "$YG_GUEST_KERNEL" --initrd "$YG_GUEST_INITRD" \
		--images "$images" --boot-timeout 120 "$@" "$user"
}
prov >"$YG_TMP/prov" 2>&1 || { cat "$YG_TMP/prov" >&2; yg_fail "provision failed" "$dom"; }
yg_expect_clean "$dom"

# --- the definition carries the policy's limits
xml=$(yg_virsh dumpxml --inactive "$dom")
for want in "<global_period>100000</global_period>" "<global_quota>50000</global_quota>" \
	"<total_iops_sec>500</total_iops_sec>" "<total_bytes_sec>20971520</total_bytes_sec>" \
	"<vcpu placement='static'>1</vcpu>" "<memory unit='KiB'>262144</memory>"; do
	grep -qF "$want" <<<"$xml" || yg_fail "the domain lacks $want"
done
! grep -q "<interface" <<<"$xml" || yg_fail "network is none but the box has an interface"
vsize=$(qemu-img info -U --output=json "$images/$dom.qcow2" | jq '."virtual-size"')
[ "$vsize" = 67108864 ] || yg_fail "the overlay's virtual size is $vsize, not 64M"

# --- CPU: four busy loops in the guest use at most about half a CPU
cpu_share() {  # fraction of one CPU the domain used over 5 s
	local a b t0 t1
	a=$(yg_virsh domstats --cpu-total "$dom" | sed -n 's/.*cpu.time=//p')
	t0=$(date +%s%N)
	sleep 5
	b=$(yg_virsh domstats --cpu-total "$dom" | sed -n 's/.*cpu.time=//p')
	t1=$(date +%s%N)
	awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.3f", (b - a) / (t1 - t0) }'
}
yg_virsh resume "$dom" >/dev/null
yg_wait_agent "$dom" 60 || yg_fail "agent of $dom" "$dom"
[ "$(yg_guest_exec "$dom" /bin/sh -c 'for i in 1 2 3 4; do (i=0; while [ $i -lt 100000000 ]; do i=$((i+1)); done) & echo $! >>/run/busy.pids; done')" = 0 ] ||
	yg_fail "cannot start the busy loops in $dom" "$dom"
share=$(cpu_share)
yg_timing cpu_share_quota50 "$share"
awk -v s="$share" 'BEGIN { exit !(s <= 0.60) }' ||
	yg_fail "with cpu_quota = 50 the box used $share of a CPU (more than 0.60)" "$dom"
awk -v s="$share" 'BEGIN { exit !(s >= 0.30) }' ||
	yg_fail "the busy box used only $share of a CPU: the load did not run, the check proves nothing" "$dom"
[ "$(yg_guest_exec "$dom" /bin/sh -c 'kill $(cat /run/busy.pids)')" = 0 ] || yg_fail "cannot stop the busy loops" "$dom"

# --- disk: the guest sees 64 MiB; a write past it fails, one inside works
osize0=$(stat -c %s "$images/$dom.qcow2")  # includes the snapshot's RAM
[ "$(yg_guest_exec "$dom" /bin/sh -c '[ "$(cat /sys/block/vda/size)" = 131072 ]')" = 0 ] ||
	yg_fail "the guest's disk is not 64 MiB" "$dom"
[ "$(yg_guest_exec "$dom" /bin/sh -c 'dd if=/dev/zero of=/dev/vda bs=1M seek=63 count=1 conv=fsync 2>/dev/null')" = 0 ] ||
	yg_fail "a write inside disk_size failed in the guest" "$dom"
[ "$(yg_guest_exec "$dom" /bin/sh -c 'dd if=/dev/zero of=/dev/vda bs=1M seek=64 count=1 conv=fsync 2>/dev/null')" != 0 ] ||
	yg_fail "a write beyond disk_size succeeded in the guest" "$dom"
osize=$(stat -c %s "$images/$dom.qcow2")
[ $((osize - osize0)) -lt $((8 * 1024 * 1024)) ] ||
	yg_fail "the overlay grew by $((osize - osize0)) bytes on the host for a 1 MiB write"
[ "$(yg_domstate "$dom")" = "running (unpaused)" ] || yg_fail "the box did not survive its limits" "$dom"

# --- --update: cpu_quota 50 -> 30 keeps the domain and the clean state
uuid=$(yg_virsh domuuid "$dom")
policy 1 30
prov --update >"$YG_TMP/upd" 2>&1 || { cat "$YG_TMP/upd" >&2; yg_fail "provision --update failed" "$dom"; }
grep -q "retaking the snapshot" "$YG_TMP/upd" || { cat "$YG_TMP/upd" >&2; yg_fail "update did not retake the snapshot"; }
yg_expect_clean "$dom"
[ "$(yg_virsh domuuid "$dom")" = "$uuid" ] || yg_fail "--update rebuilt the domain"
yg_virsh snapshot-revert "$dom" clean-state --paused || yg_fail "revert after update" "$dom"
for x in "$(yg_virsh dumpxml "$dom")" "$(yg_virsh dumpxml --inactive "$dom")"; do
	grep -qF "<global_quota>30000</global_quota>" <<<"$x" ||
		yg_fail "after --update and a revert the quota is not 30000" "$dom"
done

# --- vcpus change: needs the snapshot retaken; --force does it
policy 2 30
prov --update >"$YG_TMP/upd" 2>&1 && { cat "$YG_TMP/upd" >&2; yg_fail "--update of vcpus did not refuse"; }
grep -q "vcpus 1 -> 2.*--update --force" "$YG_TMP/upd" || { cat "$YG_TMP/upd" >&2; yg_fail "the refusal does not say what to do"; }
prov --update --force >"$YG_TMP/upd" 2>&1 || { cat "$YG_TMP/upd" >&2; yg_fail "--update --force failed" "$dom"; }
yg_expect_clean "$dom"
[ "$(yg_virsh vcpucount "$dom" --maximum --config)" = 2 ] || yg_fail "--update --force did not give 2 vcpus"
echo "limits.sh: all checks passed"
