# SPDX-License-Identifier: MIT
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
#   yg_box_define NAME [MIB] [CMDLINE_EXTRA]  only define it (not started)
#   yg_agent NAME JSON [SECS]   one guest-agent command, prints the JSON reply
#   yg_wait_agent NAME SECS     until guest-ping answers (returns 1 on timeout)
#   yg_guest_exec NAME PATH [ARG...]  run a program in the guest, print its exit code
#   yg_domstate NAME            "paused (from snapshot)" etc.
#   yg_pool_name DIR            the storage pool yolo-gatectl provision makes for DIR
#   yg_pool_forget DIR          stop and undefine that pool (test cleanup)
#   yg_fail MSG [NAME]          print MSG and the box's context, exit 1
#   yg_timing KEY SECONDS       record a measurement (printed, and appended
#                               to $YG_TIMINGS_FILE when set)
#   yg_init_guest               yg_require_root, yg_init, yg_start_libvirt,
#                               yg_guest_build: the start of a test with a box
#   yg_require_built PATH...    exit 99 unless each PATH is built
#   yg_tmp_user NAME [OPT...]   temporary user, removed at cleanup
#   yg_service_user NAME        the broker's service user (YG_SVC, YG_STAY_ROOT)
#   yg_gate_conf CONF [LINE...] CONF/gate.conf ([gate] uri + LINEs), CONF/policy.d
#   yg_policy_dir CONF RUN [LINE...]  the same for yolo-gatectl as root, RUN made
#   yg_box_broker NAME          the start of a broker test with a real box
#   yg_user_policy LINE...      that test user's policy
#   yg_gated_start CONF SOCK LOG [OPT...]  start yolo-gated (YG_GATED_PID); at
#                               cleanup: stopped, its children and the temporary
#                               users' processes awaited, users removed, LOG
#                               printed on failure
#
# Environment: YG_URI (default qemu:///system), YG_IMAGES (where disks and
# kernel copies live, default /var/lib/libvirt/images/yolo-gate-test),
# top_srcdir/top_builddir (exported by `make check`; default: this checkout).

: "${YG_URI:=qemu:///system}"
: "${YG_IMAGES:=/var/lib/libvirt/images/yolo-gate-test}"
_yg_libdir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$_yg_libdir/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
# A build tree's yolo-gated loads its libvirt half from the build tree
# (yolo-gated(8), YG_GATED_MODULE); lib-e2e.sh unsets it for the package's.
: "${YG_GATED_MODULE:=$top_builddir/src/gated/.libs/yolo-gated-session.so}"
export YG_GATED_MODULE
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

# /dev/kvm root:kvm 0660 (tests/start-services.sh says why).
yg_fix_kvm_perms() {
	bash "$top_srcdir/tests/start-services.sh" --kvm
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

# yg_restart_libvirtd: stop libvirtd (SIGTERM, SIGKILL after 15 s) and start
# it again as tests/start-services.sh does, holding the lock yg_start_libvirt
# takes, so that no concurrent test starts one without our configuration
# meanwhile. Returns once `virsh version` answers; sets yg_down_s (seconds).
yg_restart_libvirtd() {
	local t0
	t0=$(yg_now_ms)
	(
		flock -w 60 9 || { yg_log "cannot take /run/yolo-gate-test/libvirt.lock"; exit 1; }
		pid=$(pgrep -x libvirtd | head -n 1)
		if [ -n "$pid" ]; then
			kill "$pid"
			for ((j = 0; j < 150; j++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			! kill -0 "$pid" 2>/dev/null || { kill -9 "$pid"; sleep 0.5; }
		fi
		# 9>&-: libvirtd must not inherit the lock (it would hold it forever)
		bash "$top_srcdir/tests/start-services.sh" 9>&-
	) 9> /run/yolo-gate-test/libvirt.lock || yg_fail "restarting libvirtd failed"
	yg_down_s=$(yg_since "$t0")
}

# Builds guest/tiny into $top_builddir/tests/guest/cache, then copies kernel and initrd
# into YG_IMAGES: libvirt relabels (chowns) the files it boots from, which
# must not happen to a user's build tree; named by content so that running
# boxes keep theirs when the guest is rebuilt.
yg_guest_build() {
	local out=$top_builddir/tests/guest/cache t0 sum
	t0=$(yg_now_ms)
	bash "$top_srcdir/guest/tiny/build-guest.sh" "$out" >"${YG_TMP:-/tmp}/guest-build.log" 2>&1 || {
		cat "${YG_TMP:-/tmp}/guest-build.log" >&2
		yg_fail "building the test guest failed (guest/tiny/build-guest.sh $out)"
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

# provision makes the images directory a libvirt dir pool named after it
# (src/virt/yg_volume.h): "yolo-gate" + the path, '/' as '-'.
yg_pool_name() {
	printf 'yolo-gate%s\n' "$(printf '%s' "$1" | sed 's#//*#/#g; s#/$##; s#[^A-Za-z0-9._/-]#_#g; s#/#-#g')"
}
yg_pool_forget() {
	local name
	name=$(yg_pool_name "$1")
	yg_virsh pool-destroy "$name" >/dev/null 2>&1 || true
	yg_virsh pool-undefine "$name" >/dev/null 2>&1 || true
}

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

# yg_box_define NAME [MIB] [CMDLINE_EXTRA]: create the disk and define NAME
# from guest/tiny/domain.xml.in, not started (CMDLINE_EXTRA: more kernel
# arguments, e.g. yg_agent=garbage, see guest/tiny/init); removed by yg_cleanup.
yg_box_define() {
	local name=$1 mib=${2:-256} extra=${3:-} disk xml
	[ -n "${YG_GUEST_KERNEL:-}" ] || yg_fail "yg_box_define needs yg_guest_build first"
	disk=$YG_IMAGES/$name.qcow2
	xml=$YG_TMP/$name.xml
	YG_BOXES+=("$name")
	qemu-img create -q -f qcow2 "$disk" 64M ||
		yg_fail "qemu-img could not create $disk; check free space in $YG_IMAGES"
	sed -e "s|@NAME@|$name|g" -e "s|@MEMORY_MIB@|$mib|g" \
	    -e "s|@KERNEL@|$YG_GUEST_KERNEL|g" -e "s|@INITRD@|$YG_GUEST_INITRD|g" \
	    -e "s|@DISK@|$disk|g" -e "s|@SERIAL_LOG@|$YG_IMAGES/$name.serial.log|g" \
	    -e "s|@CMDLINE_EXTRA@|${extra:+ $extra}|g" \
	    "$top_srcdir/guest/tiny/domain.xml.in" > "$xml"
	yg_virsh define "$xml" >/dev/null || yg_fail "virsh define $xml failed"
}

yg_box_create() {
	local name=$1 t0
	yg_box_define "$name" "${2:-256}"

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

# yg_wait_clean BOX SECS: wait up to SECS for BOX to be paused from its
# snapshot; 1 if it is not by then. A logout's client gets its EXIT before
# the revert, so a test that checks the box right after one waits for it.
yg_wait_clean() {
	local deadline=$(( $(yg_now_ms) + $2 * 1000 ))
	while [ "$(yg_now_ms)" -lt "$deadline" ]; do
		[ "$(yg_domstate "$1" 2>/dev/null)" = "paused (from snapshot)" ] && return 0
		sleep 0.2
	done
	return 1
}

# The box is clean: paused from the clean-state snapshot (waited for up to
# 60 s: the logout revert runs after the client's EXIT).
yg_expect_clean() {
	local state
	yg_wait_clean "$1" 60 || true
	state=$(yg_domstate "$1")
	[ "$state" = "paused (from snapshot)" ] ||
		yg_fail "$1 should be 'paused (from snapshot)' after the revert, but is '$state'" "$1"
	[ "$(yg_virsh snapshot-current --name "$1")" = clean-state ] ||
		yg_fail "the current snapshot of $1 is not clean-state" "$1"
}

# The start of every test that boots a box.
yg_init_guest() {
	yg_require_root
	yg_init
	yg_start_libvirt
	yg_guest_build
}

# ---- a broker, its users and its configuration ----
YG_USERS=()
YG_GATED_PID=
YG_GATED_LOG=
YG_SVC=root
YG_STAY_ROOT=--stay-root
_YG_GATED_CLEANUP=

# yg_require_built PATH...: exit 99 (hard error) unless each PATH is built.
yg_require_built() {
	local p
	for p in "$@"; do
		if [ ! -x "$p" ]; then
			yg_log "ERROR: $p does not exist; build it first (make check-integration)"
			exit 99
		fi
	done
}

# yg_tmp_user NAME [USERADD_OPTION...]: a temporary user (default options
# -M -N -s /bin/false), removed at cleanup once the broker is stopped and
# no process of NAME is left (up to 30 s).
yg_tmp_user() {
	local name=$1
	shift
	[ "$#" -gt 0 ] || set -- -M -N -s /bin/false
	_yg_gated_cleanup_once
	useradd "$@" "$name" ||
		yg_fail "useradd $name failed; this test needs to create a temporary user"
	YG_USERS+=("$name")
}

# yg_service_user NAME: the broker's service user. With a libvirt group, a
# temporary system user NAME in it (YG_SVC=NAME, YG_STAY_ROOT empty), as in
# production (privilege drop included); without, YG_SVC=root and
# YG_STAY_ROOT=--stay-root.
yg_service_user() {
	if getent group libvirt >/dev/null; then
		yg_tmp_user "$1" -r -M -N -g nogroup -G libvirt -s /usr/sbin/nologin
		YG_SVC=$1
		YG_STAY_ROOT=
	else
		yg_log "note: no libvirt group: the broker runs with --stay-root"
		YG_SVC=root
		YG_STAY_ROOT=--stay-root
	fi
}

# yg_gate_conf CONF [LINE...]: CONF/gate.conf with [gate], uri = YG_URI and
# the LINEs (mode 0644); CONF and CONF/policy.d made, mode 0755.
yg_gate_conf() {
	local conf=$1
	shift
	mkdir -p "$conf/policy.d"
	chmod 0755 "$conf" "$conf/policy.d"
	printf '[gate]\nuri = %s\n' "$YG_URI" > "$conf/gate.conf"
	[ "$#" = 0 ] || printf '%s\n' "$@" >> "$conf/gate.conf"
	chmod 0644 "$conf/gate.conf"
}

# yg_policy_dir CONF RUN [LINE...]: the configuration yolo-gatectl runs
# with as root: yg_gate_conf with run_dir = RUN, socket = RUN/gated.sock,
# service_user = root and the LINEs; RUN/boxes and RUN/sessions mode 0700.
yg_policy_dir() {
	local conf=$1 run=$2
	shift 2
	mkdir -p "$run/boxes" "$run/sessions"
	chmod 0700 "$run/boxes" "$run/sessions"
	yg_gate_conf "$conf" "run_dir = $run" "socket = $run/gated.sock" \
		"service_user = root" "$@"
}

# yg_gated_start CONF SOCK LOG [OPTION...]: start yolo-gated (YG_STAY_ROOT,
# the OPTIONs) in the background, its stderr appended to LOG; YG_GATED_PID.
# YG_GATED_AS=USER starts it as USER (with USER's groups), as systemd does.
# Waits up to 10 s for SOCK. At cleanup it is stopped, and on failure LOG is
# printed (its last YG_GATED_LOG_LINES lines when set, else all of it).
yg_gated_start() {
	local conf=$1 sock=$2 i
	_yg_gated_cleanup_once
	YG_GATED_LOG=$3
	shift 3
	local as=()
	[ -z "${YG_GATED_AS:-}" ] || as=(setpriv --reuid="$YG_GATED_AS" \
		--regid="$(id -g "$YG_GATED_AS")" --init-groups)
	# shellcheck disable=SC2086
	"${as[@]}" "$top_builddir/src/gated/yolo-gated" --config "$conf" --socket "$sock" \
		--log-stderr $YG_STAY_ROOT "$@" 2>> "$YG_GATED_LOG" &
	YG_GATED_PID=$!
	for ((i = 0; i < 100; i++)); do
		[ -S "$sock" ] && return 0
		kill -0 "$YG_GATED_PID" 2>/dev/null ||
			yg_fail "yolo-gated exited at start-up: $(cat "$YG_GATED_LOG")"
		sleep 0.1
	done
	yg_fail "yolo-gated did not create $sock within 10 s"
}

# yg_box_broker NAME: the start of a test of the broker with a real box:
# yg_init_guest, the built broker, test client ($client) and yolo-gatectl
# ($ctl); a temporary user $user (NAME$$) with the box $box (yg-NAME-$$,
# created), a service user, $conf (gate.conf: run_dir = $run, service_user),
# $sock and $log for yg_gated_start. yg_user_policy writes the user's policy.
yg_box_broker() {
	client=$top_builddir/tests/integration/gatedclient
	ctl=$top_builddir/src/ctl/yolo-gatectl
	yg_init_guest
	yg_require_built "$top_builddir/src/gated/yolo-gated" "$client" "$ctl"
	user=$1$$
	box=yg-$1-$$
	yg_tmp_user "$user"
	yg_service_user "${1}s$$"
	yg_box_create "$box"
	conf=$YG_TMP/conf
	run=$YG_TMP/run
	sock=$YG_TMP/gated.sock
	log=$YG_TMP/gated.log
	yg_gate_conf "$conf" "run_dir = $run" "service_user = $YG_SVC"
	chmod 0755 "$YG_TMP"
}

# yg_user_policy LINE...: $conf/policy.d/10-test.conf: [user:$user] with
# domain = $box, agent_timeout = 60s and the LINEs (read by the next broker).
yg_user_policy() {
	{
		printf '[user:%s]\ndomain = %s\nagent_timeout = 60s\n' "$user" "$box"
		[ "$#" = 0 ] || printf '%s\n' "$@"
	} > "$conf/policy.d/10-test.conf"
	chmod 0644 "$conf/policy.d/10-test.conf"
}

_yg_gated_cleanup_once() {
	[ -n "$_YG_GATED_CLEANUP" ] || yg_on_cleanup _yg_gated_cleanup
	_YG_GATED_CLEANUP=1
}

# Stops the broker, waits (up to 30 s) for its session children and for
# every process of the temporary users (they end on their own: wipe,
# revert), removes the users; prints the broker log when the test failed.
_yg_gated_cleanup() {
	local i u kids=
	if [ -n "$YG_GATED_PID" ]; then
		kids=$(pgrep -P "$YG_GATED_PID")
		kill "$YG_GATED_PID" 2>/dev/null
		wait "$YG_GATED_PID" 2>/dev/null
	fi
	for ((i = 0; i < 300; i++)); do
		# shellcheck disable=SC2086
		_yg_users_busy $kids || break
		sleep 0.1
	done
	for u in "${YG_USERS[@]}"; do
		# what is left of the user's processes after the grace above
		pkill -KILL -u "$u" 2>/dev/null && sleep 0.2
		userdel "$u" 2>/dev/null || yg_log "could not remove the temporary user $u; remove it with: userdel $u"
	done
	if [ "${rc:-0}" != 0 ] && [ -n "$YG_GATED_LOG" ] && [ -f "$YG_GATED_LOG" ]; then
		if [ -n "${YG_GATED_LOG_LINES:-}" ]; then
			echo "---- broker log (last $YG_GATED_LOG_LINES lines)" >&2
			tail -n "$YG_GATED_LOG_LINES" "$YG_GATED_LOG" >&2
		else
			echo "---- broker log" >&2
			cat "$YG_GATED_LOG" >&2
		fi
	fi
}

# _yg_users_busy [PID...]: one of the PIDs or a process of a temporary
# user is still alive.
_yg_users_busy() {
	local p u
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && return 0
	done
	for u in "${YG_USERS[@]}"; do
		pgrep -u "$u" >/dev/null 2>&1 && return 0
	done
	return 1
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
