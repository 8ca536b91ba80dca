# shellcheck shell=bash
# tests/integration/lib.sh: shared helpers for the integration and e2e tiers.
# Source it from bash (`set -euo pipefail` friendly), then call yg_init.
#
#   yg_init                     trap yg_cleanup on EXIT, make a temp dir
#   yg_on_cleanup CMD           run CMD (eval'd, last registered first) in
#                               yg_cleanup, before the boxes are removed
#   yg_require_root             skip (77) when not root, fail when CI=true
#   yg_start_libvirt            start virtlogd + libvirtd if needed, wait for them
#   yg_guest_build              build or reuse the guest: YG_GUEST_KERNEL, YG_GUEST_INITRD
#   yg_box_create NAME [MIB]    define + boot a box, snapshot clean-state, leave it
#                               PAUSED (from snapshot); removed by yg_cleanup
#   yg_agent NAME JSON [SECS]   one guest-agent command, prints the JSON reply
#   yg_wait_agent NAME SECS     until guest-ping answers (returns 1 on timeout)
#   yg_guest_exec NAME PATH [ARG...]  run a program in the guest, print its exit code
#   yg_domstate NAME            "paused (from snapshot)" etc.
#   yg_fail MSG [NAME]          print MSG and the box's context, exit 1
#   yg_timing KEY SECONDS       record a measurement (printed, and appended
#                               to $YG_TIMINGS_FILE when set)
#
# Environment: YG_URI (default qemu:///system), YG_IMAGES (where disks and
# kernel copies live, default /var/lib/libvirt/images/yolo-gate-test),
# top_srcdir/top_builddir (exported by `make check`; default: this checkout).

: "${YG_URI:=qemu:///system}"
: "${YG_IMAGES:=/var/lib/libvirt/images/yolo-gate-test}"
_yg_libdir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$_yg_libdir/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
YG_BOXES=()
YG_CLEANUPS=()
YG_TMP=

yg_log() { printf '%s\n' "${0##*/}: $*" >&2; }

yg_virsh() { virsh -q -c "$YG_URI" "$@"; }

# Milliseconds since the epoch, and elapsed seconds since one of them.
yg_now_ms() { date +%s%3N; }
yg_since() { awk -v a="$1" -v b="$(yg_now_ms)" 'BEGIN { printf "%.2f", (b - a) / 1000 }'; }

yg_timing() {
	printf 'timing: %s=%ss\n' "$1" "$2"
	if [ -n "${YG_TIMINGS_FILE:-}" ]; then
		printf '%s %s %s\n' "${0##*/}" "$1" "$2" >> "$YG_TIMINGS_FILE"
	fi
}

yg_require_root() {
	[ "$(id -u)" = 0 ] && return 0
	if [ "${CI:-}" = true ]; then
		yg_log "FAIL: this test needs root (libvirtd, QEMU) and CI=true forbids skipping; run the tier as root"
		exit 1
	fi
	yg_log "SKIP: this test needs root (it starts libvirtd and QEMU guests); run it as root"
	exit 77
}

yg_on_cleanup() { YG_CLEANUPS+=("$1"); }

yg_init() {
	YG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/yg-it.XXXXXX")
	trap yg_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Context for a human when something about NAME went wrong.
yg_box_dump() {
	local name=$1 log=/var/log/libvirt/qemu/$1.log
	{
		echo "---- virsh dominfo $name"
		yg_virsh dominfo "$name" 2>&1 || true
		echo "---- virsh domstate --reason $name: $(yg_domstate "$name" 2>&1 || true)"
		echo "---- tail $log"
		tail -n 20 "$log" 2>&1 || true
		echo "---- serial console ($YG_IMAGES/$name.serial.log)"
		tail -n 40 "$YG_IMAGES/$name.serial.log" 2>&1 || true
		echo "----"
	} >&2
}

yg_fail() {
	yg_log "FAIL: $1"
	[ -z "${2:-}" ] || yg_box_dump "$2"
	exit 1
}

# Debian's udev rule makes /dev/kvm root:kvm 0660; without udev it stays 0600,
# the QEMU user cannot open it, and libvirt finds its cached capabilities for
# qemu-system-x86_64 "outdated" on every lookup (KVM enabled when probed, not
# usable now): each define/start/revert then re-probes QEMU for 3-20 s.
# Guests stay TCG (<domain type='qemu'>): this only makes the cache stable.
yg_fix_kvm_perms() {
	[ -c /dev/kvm ] || return 0
	[ "$(stat -c %G:%a /dev/kvm)" = kvm:660 ] && return 0
	getent group kvm >/dev/null || return 0
	{ chgrp kvm /dev/kvm && chmod 0660 /dev/kvm; } ||
		yg_log "warning: could not make /dev/kvm root:kvm 0660; libvirt will re-probe QEMU on every call (slow)"
}

yg_start_libvirt() {
	local deadline i
	mkdir -p /run/yolo-gate-test
	yg_fix_kvm_perms
	(
		# Concurrent tests must not race to start the daemons.
		flock 9
		if ! yg_virsh version >/dev/null 2>&1; then
			pgrep -x virtlogd >/dev/null || virtlogd -d ||
				{ yg_log "cannot start virtlogd; see /var/log/libvirt"; exit 1; }
			pgrep -x libvirtd >/dev/null || libvirtd -d ||
				{ yg_log "cannot start libvirtd; see /var/log/libvirt"; exit 1; }
		fi
	) 9> /run/yolo-gate-test/libvirt.lock || exit 1
	deadline=$(( $(date +%s) + 30 ))
	for ((i = 0; ; i++)); do
		yg_virsh version >/dev/null 2>&1 && return 0
		if [ "$(date +%s)" -ge "$deadline" ]; then
			yg_fail "libvirtd did not answer 'virsh -c $YG_URI version' within 30 s; check 'libvirtd -v' output and /var/log/libvirt"
		fi
		sleep 0.2
	done
}

# Builds into $top_builddir/tests/guest/cache, then copies kernel and initrd
# into YG_IMAGES: libvirt relabels (chowns) the files it boots from, which
# must not happen to a user's build tree; named by content so that running
# boxes keep theirs when the guest is rebuilt.
yg_guest_build() {
	local out=$top_builddir/tests/guest/cache t0 sum
	t0=$(yg_now_ms)
	bash "$top_srcdir/tests/guest/build-guest.sh" "$out" >"${YG_TMP:-/tmp}/guest-build.log" 2>&1 || {
		cat "${YG_TMP:-/tmp}/guest-build.log" >&2
		yg_fail "building the test guest failed (tests/guest/build-guest.sh $out)"
	}
	yg_timing guest_build "$(yg_since "$t0")"
	mkdir -p "$YG_IMAGES"
	sum=$(cut -c1-16 "$out/stamp")
	YG_GUEST_KERNEL=$YG_IMAGES/vmlinuz-$sum
	YG_GUEST_INITRD=$YG_IMAGES/initrd-$sum.img
	[ -f "$YG_GUEST_KERNEL" ] || install -m 0644 "$out/vmlinuz" "$YG_GUEST_KERNEL.tmp.$$"
	[ -f "$YG_GUEST_INITRD" ] || install -m 0644 "$out/initrd.img" "$YG_GUEST_INITRD.tmp.$$"
	[ ! -f "$YG_GUEST_KERNEL.tmp.$$" ] || mv -f "$YG_GUEST_KERNEL.tmp.$$" "$YG_GUEST_KERNEL"
	[ ! -f "$YG_GUEST_INITRD.tmp.$$" ] || mv -f "$YG_GUEST_INITRD.tmp.$$" "$YG_GUEST_INITRD"
	export YG_GUEST_KERNEL YG_GUEST_INITRD
	# Copies of older guests, unused for a day (a box rereads its kernel on
	# every revert, so never those of a running test).
	find "$YG_IMAGES" -maxdepth 1 \( -name 'vmlinuz-*' -o -name 'initrd-*.img' \) \
		! -newer "$YG_GUEST_KERNEL" -mtime +1 -delete 2>/dev/null || true
}

yg_domstate() { yg_virsh domstate --reason "$1"; }

yg_agent() {
	yg_virsh qemu-agent-command "$1" "$2" --timeout "${3:-5}"
}

# Pings only once libvirt sees the agent channel connected: pinging a
# disconnected agent logs an error in libvirtd.log for every try.
yg_wait_agent() {
	local name=$1 secs=$2 deadline i state
	deadline=$(( $(yg_now_ms) + secs * 1000 ))
	for ((i = 1; $(yg_now_ms) < deadline; i++)); do
		if yg_virsh dumpxml "$name" 2>/dev/null |
		   grep -q "name='org.qemu.guest_agent.0' state='connected'"; then
			yg_agent "$name" '{"execute":"guest-ping"}' 1 >/dev/null 2>&1 && return 0
		elif ((i % 10 == 0)); then
			# A guest that died (panic=-1 + on_reboot=destroy) will not answer.
			state=$(yg_domstate "$name" 2>/dev/null) || state=unknown
			case $state in
			running*|paused*) ;;
			*) yg_log "$name is '$state' while waiting for its agent"; return 1 ;;
			esac
		fi
		sleep 0.1
	done
	return 1
}

# Prints the exit code of PATH ARGS... run in the guest by the agent.
yg_guest_exec() {
	local name=$1 path=$2 args reply pid i
	shift 2
	args=$(printf '%s\n' "$@" | jq -R . | jq -sc 'map(select(. != ""))')
	reply=$(yg_agent "$name" "$(jq -nc --arg p "$path" --argjson a "$args" \
		'{execute: "guest-exec", arguments: {path: $p, arg: $a}}')") || return 1
	pid=$(jq -r '.return.pid' <<< "$reply")
	for ((i = 0; i < 100; i++)); do
		reply=$(yg_agent "$name" "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}") ||
			return 1
		if [ "$(jq -r '.return.exited' <<< "$reply")" = true ]; then
			jq -r '.return.exitcode' <<< "$reply"
			return 0
		fi
		sleep 0.1
	done
	yg_log "guest-exec of $path in $name did not finish within 10 s"
	return 1
}

yg_box_create() {
	local name=$1 mib=${2:-256} disk xml t0
	[ -n "${YG_GUEST_KERNEL:-}" ] || yg_fail "yg_box_create needs yg_guest_build first"
	disk=$YG_IMAGES/$name.qcow2
	xml=$YG_TMP/$name.xml
	YG_BOXES+=("$name")
	qemu-img create -q -f qcow2 "$disk" 64M ||
		yg_fail "qemu-img could not create $disk; check free space in $YG_IMAGES"
	sed -e "s|@NAME@|$name|g" -e "s|@MEMORY_MIB@|$mib|g" \
	    -e "s|@KERNEL@|$YG_GUEST_KERNEL|g" -e "s|@INITRD@|$YG_GUEST_INITRD|g" \
	    -e "s|@DISK@|$disk|g" -e "s|@SERIAL_LOG@|$YG_IMAGES/$name.serial.log|g" \
	    "$top_srcdir/tests/guest/domain.xml.in" > "$xml"
	yg_virsh define "$xml" >/dev/null || yg_fail "virsh define $xml failed"

	t0=$(yg_now_ms)
	yg_virsh start "$name" >/dev/null || yg_fail "virsh start $name failed" "$name"
	yg_wait_agent "$name" 60 ||
		yg_fail "the guest agent of $name did not answer guest-ping within 60 s of boot (see its serial console below)" "$name"
	yg_timing boot_to_agent "$(yg_since "$t0")"

	t0=$(yg_now_ms)
	yg_virsh snapshot-create-as "$name" clean-state >/dev/null ||
		yg_fail "virsh snapshot-create-as $name clean-state failed" "$name"
	yg_timing snapshot_create "$(yg_since "$t0")"

	t0=$(yg_now_ms)
	yg_virsh snapshot-revert "$name" clean-state --paused ||
		yg_fail "virsh snapshot-revert $name clean-state --paused failed" "$name"
	yg_timing revert_paused "$(yg_since "$t0")"
	yg_expect_clean "$name"
}

# The box is clean: paused from the clean-state snapshot.
yg_expect_clean() {
	local state
	state=$(yg_domstate "$1")
	[ "$state" = "paused (from snapshot)" ] ||
		yg_fail "$1 should be 'paused (from snapshot)' after the revert, but is '$state'" "$1"
	[ "$(yg_virsh snapshot-current --name "$1")" = clean-state ] ||
		yg_fail "the current snapshot of $1 is not clean-state" "$1"
}

# Exits with the status it was entered with ($? of the EXIT trap).
yg_cleanup() {
	local rc=$? name i
	trap - EXIT INT TERM
	set +e
	for ((i = ${#YG_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${YG_CLEANUPS[i]}"
	done
	for name in "${YG_BOXES[@]}"; do
		yg_virsh destroy "$name" >/dev/null 2>&1
		yg_virsh undefine "$name" --snapshots-metadata >/dev/null 2>&1 ||
			yg_log "could not undefine $name; remove it with: virsh undefine $name --snapshots-metadata"
		rm -f "$YG_IMAGES/$name.qcow2" "$YG_IMAGES/$name.serial.log"
		# Keep QEMU's log of a failed run for the post-mortem.
		[ "$rc" != 0 ] || rm -f "/var/log/libvirt/qemu/$name.log"
	done
	[ -z "$YG_TMP" ] || rm -rf "$YG_TMP"
	exit "$rc"
}
