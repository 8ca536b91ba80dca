# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# tests/integration/lib-host2.sh: a second hypervisor host ("host2") on this
# machine, for tests of one gate driving several hosts (issue 17). Source it
# after lib.sh and yg_init; it needs root, libvirtd, iproute2, util-linux
# (unshare, nsenter) and iptables (without it a blackhole takes host2's end of
# the link down instead).
#
#   yg_host2_start              make host2 and start its virtlogd + libvirtd;
#                               sets and exports YG_HOST2_URI (qemu+tcp://
#                               198.18.N.2/system), YG_HOST2_ADDR, YG_HOST2_NS
#                               (its netns name), YG_HOST2_IMAGES (its images
#                               and pool directory, seen by both hosts) and
#                               YG_HOST2_LOCAL_URI (its unix socket, seen from
#                               here: for clean-up and looking around while
#                               blackholed); registers yg_host2_stop with
#                               yg_on_cleanup; returns once `virsh -c
#                               $YG_HOST2_URI version` answers (30 s, else
#                               yg_fail with the daemon's log)
#   yg_host2_stop               the clean-up (idempotent): host2's domains
#                               destroyed and undefined, its pools removed, its
#                               daemons and every process left in its
#                               namespaces (QEMU) ended, netns, veth, mounts
#                               and directories gone; host2's logs printed when
#                               the test failed
#   yg_host2_kill               SIGKILL host2's libvirtd (its QEMU processes go
#                               on running, as after a libvirtd crash)
#   yg_host2_revive             start host2's libvirtd again (same state) and
#                               wait until it answers over YG_HOST2_URI
#   yg_host2_blackhole [--measure|--no-measure]  drop every packet on host2's end of the
#                               link (iptables in its netns; nothing killed, no
#                               RST: a connect hangs as to a host that went
#                               away), then time `timeout 30 virsh -c
#                               $YG_HOST2_URI list` failing: timing
#                               host2_blackhole_fail, YG_HOST2_BLACKHOLE_S and
#                               YG_HOST2_BLACKHOLE_RC (yg_fail if it answered)
#   yg_host2_unblackhole        undo that; returns once host2 answers again
#   yg_host2_exec CMD...        run CMD in host2's mount and network namespaces
#                               (its /run/libvirt, /var/lib/libvirt, ...)
#   yg_host2_virsh ARG...       virsh -q -c $YG_HOST2_URI ARG...
#   yg_host2_guest              copy lib.sh's guest (yg_guest_build) into
#                               YG_HOST2_IMAGES: YG_HOST2_GUEST_KERNEL/_INITRD
#   yg_host2_box_define NAME [MIB] [CMDLINE_EXTRA]  yg_box_define on host2 (disk
#                               and serial log in YG_HOST2_IMAGES); not one of
#                               lib.sh's YG_BOXES: yg_host2_stop removes it
#   yg_host2_box_create NAME [MIB]  yg_box_create on host2 (booted, snapshot
#                               clean-state, left paused from it)
#   yg_host2_qemu_pid NAME      the PID of NAME's QEMU on host2 (its pid file)
#   yg_host2_pids               every process in host2's namespaces
#   yg_host2_fail MSG [NAME]    yg_fail with host2's context (NAME's QEMU log
#                               and serial console, libvirtd's log)
#
# Design. host2 is a process tree in its own mount and network namespaces:
# `unshare --mount --net --propagation private` runs a holder (sleep
# infinity, its PID in YG_HOST2_PID) and everything else enters it with
# `nsenter -t PID -m -n`. unshare rather than `ip netns add` + unshare -m: one
# process owns both namespaces, and --propagation private makes every mount
# in the copy private before anything is mounted, so nothing propagates back
# to this host (`ip netns exec` would remount /sys in yet another namespace).
# The netns also gets a name (`ip netns attach`, YG_HOST2_NS) for `ip netns
# exec` and listings. In the mount namespace private directories of
# YG_HOST2_ROOT (/var/tmp/yg-host2.XXXXXX) are bind-mounted over /etc/libvirt
# (a fresh config: libvirtd.conf, copies of qemu.conf and virtlogd.conf, no
# domains, networks or pools of this host), /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt (seeded with this host's QEMU capabilities cache, so
# that host2 need not probe QEMU) and /var/log/libvirt: libvirtd as root uses
# those fixed paths, and only a private mount namespace relocates them all.
# /sys is a sysfs of host2's netns (/sys/class/net: lo and its veth end; else
# libvirt's nodedev driver logs ethtool errors for this host's interfaces),
# with /sys/fs/cgroup moved onto it: libvirt puts QEMU in cgroups.
# Nothing else is hidden (/var/cache/yolo-gate*, the build tree, YG_HOST2_ROOT
# itself stay visible), and pid files (-p) and unix_sock_dir point into
# YG_HOST2_ROOT, so nothing collides with this host's libvirtd, whose paths
# (/run/libvirtd.pid, /run/libvirt/libvirt-sock) are fixed. virtlogd runs in
# the same namespaces (its socket is /run/libvirt/virtlogd-sock); libvirtd
# runs under `tini -s` as tests/start-services.sh does, listening on
# YG_HOST2_ADDR:16509 only (libvirt 9 without systemd socket activation only
# opens TCP with --listen; listen_tcp=1, listen_tls=0, auth_tcp="none").
#
# Addresses: a /30 of 198.18.0.0/15 (RFC 2544 benchmarking), 198.18.N.0/30
# with N from $$ % 200 (the next N when taken, so that runs coexist): a veth
# pair, yg2h-N here with 198.18.N.1, yg2n-N in host2 with 198.18.N.2, lo up
# there. Only the connected /30 is added: no default route on either side, so
# host2 can reach nothing but this host. Taken means: an address of the /30
# is on this host (`ip route get` says local), or a route other than a
# default one covers it (`ip route show table all match`; the default route
# covers every address and is not a use of it), or an interface or netns
# name is in use, or it holds an address apt needs: deb.debian.org and the
# hosts of /etc/apt/sources.list*, sources.list.d/*.sources and apt's
# proxies, resolved (5 s each; what does not resolve is skipped). After the
# veth is up, `ip route get 198.18.N.2` must go through yg2h-N.
#
# Unreachable: a DROP of everything in and out of yg2n-N in host2's netns
# (ARP still answers, so a client's SYNs vanish and connect() waits for the
# TCP timeout, about 127 s with tcp_syn_retries=6). Taking the veth down here
# instead would remove the /30's route, and packets for 198.18.N.2 would
# leave by the default route.

YG_HOST2_ROOT=
YG_HOST2_PID=
YG_HOST2_BOXES=()
_YG_HOST2_CLEANUP=
_YG_HOST2_DUMPED=

yg_host2_virsh() { virsh -q -c "$YG_HOST2_URI" "$@"; }
_yg_host2_lvirsh() { virsh -q -c "$YG_HOST2_LOCAL_URI" "$@"; }

yg_host2_exec() {
	[ -n "$YG_HOST2_PID" ] || { yg_log "yg_host2_exec: host2 is not started"; return 1; }
	nsenter -t "$YG_HOST2_PID" -m -n -- "$@"
}

# The addresses apt uses, IPv4, one a line (what resolves within 5 s).
_yg_host2_apt_addrs() {
	local h
	{
		echo deb.debian.org
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -n 's/^[[:space:]]*deb\(-src\)\{0,1\}[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]\{1,\}\).*/\3/p'
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
			sed -n 's/^[[:space:]]*URIs:[[:space:]]*//Ip' | tr -s '[:blank:]' '\n'
		apt-config dump 2>/dev/null |
			sed -n 's/^Acquire::[A-Za-z]*::Proxy[^ ]* "\(.*\)";$/\1/Ip'
	} | sed -e 's#^[A-Za-z0-9+.-]*://##' -e 's#/.*##' -e 's#.*@##' \
	        -e 's#^\[\(.*\)\].*#\1#' -e 's#:[0-9]*$##' | grep -v '^$' | sort -u |
	while read -r h; do
		timeout 5 getent ahostsv4 "$h" 2>/dev/null | awk '{ print $1 }'
	done | sort -u
}

# _yg_host2_net_free N APT_ADDRS: 198.18.N.0/30 and the names for N are free.
_yg_host2_net_free() {
	local n=$1 apt=$2 a out
	[ ! -e "/run/netns/yg-host2-$n" ] || return 1
	! ip link show "yg2h-$n" >/dev/null 2>&1 || return 1
	[ -z "$(ip -o -4 addr show to "198.18.$n.0/30")" ] || return 1
	for a in 0 1 2 3; do
		if printf '%s\n' "$apt" | grep -qxF "198.18.$n.$a"; then
			yg_log "host2: 198.18.$n.$a is an address apt uses; trying another /30"
			return 1
		fi
		# unroutable (no default route): free
		out=$(ip -o -4 route get "198.18.$n.$a" 2>/dev/null) || continue
		case $out in
		local\ *|broadcast\ *) return 1 ;;
		esac
		[ -z "$(ip -o -4 route show table all match "198.18.$n.$a" |
			awk '$1 != "default" && $2 != "default"')" ] || return 1
	done
	return 0
}

# _yg_host2_spawn LOG CMD...: CMD in the background, stdin /dev/null, output
# appended to LOG, none of our other descriptors (a flock(1) lock or make's
# jobserver would otherwise be held by a daemon for its lifetime).
_yg_host2_spawn() {
	local log=$1
	shift
	(
		for fd in /proc/"$BASHPID"/fd/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] 2>/dev/null || continue
			eval "exec $fd>&-" 2>/dev/null || true
		done
		exec "$@"
	) </dev/null >>"$log" 2>&1 &
	# not a job: bash would report each one yg_host2_stop kills ("Killed")
	disown "$!"
}

_yg_host2_ns_of() { readlink "/proc/$1/ns/$2" 2>/dev/null; }

yg_host2_pids() {
	local p net mnt
	[ -n "${YG_HOST2_NETNS_ID:-}" ] || return 0
	# never this host's namespaces, whatever went wrong
	[ "$YG_HOST2_NETNS_ID" != "$(_yg_host2_ns_of 1 net)" ] || return 0
	[ "$YG_HOST2_NETNS_ID" != "$(_yg_host2_ns_of self net)" ] || return 0
	[ "$YG_HOST2_MNTNS_ID" != "$(_yg_host2_ns_of self mnt)" ] || return 0
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		net=$(_yg_host2_ns_of "$p" net) || continue
		mnt=$(_yg_host2_ns_of "$p" mnt) || continue
		# QEMU has a mount namespace of its own (qemu.conf namespaces)
		[ "$net" = "$YG_HOST2_NETNS_ID" ] || [ "$mnt" = "$YG_HOST2_MNTNS_ID" ] || continue
		echo "$p"
	done
}

# _yg_host2_daemon_pid NAME: the PID in YG_HOST2_ROOT/pid/NAME.pid if that
# process is alive, is NAME and is in host2's netns.
_yg_host2_daemon_pid() {
	local pid
	pid=$(cat "$YG_HOST2_ROOT/pid/$1.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] || return 1
	[ "$(_yg_host2_ns_of "$pid" net)" = "$YG_HOST2_NETNS_ID" ] || return 1
	echo "$pid"
}

_yg_host2_wait_gone() {
	local pid=$1 tenths=$2 i
	for ((i = 0; i < tenths; i++)); do
		[ -d "/proc/$pid" ] || return 0
		[ "$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 0
		sleep 0.1
	done
	return 1
}

# _yg_host2_wait_up SECS: until virsh version answers over YG_HOST2_URI.
_yg_host2_wait_up() {
	local deadline=$(( $(yg_now_ms) + $1 * 1000 ))
	while [ "$(yg_now_ms)" -lt "$deadline" ]; do
		timeout 5 virsh -q -c "$YG_HOST2_URI" version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

_yg_host2_start_virtlogd() {
	_yg_host2_daemon_pid virtlogd >/dev/null && return 0
	_yg_host2_spawn "$YG_HOST2_ROOT/log/virtlogd-fg.log" \
		nsenter -t "$YG_HOST2_PID" -m -n -- \
		virtlogd -d -p "$YG_HOST2_ROOT/pid/virtlogd.pid"
}

_yg_host2_start_libvirtd() {
	local tini=()
	! command -v tini >/dev/null || tini=(tini -s --)
	_yg_host2_spawn "$YG_HOST2_ROOT/log/libvirtd-fg.log" \
		nsenter -t "$YG_HOST2_PID" -m -n -- setsid "${tini[@]}" \
		libvirtd --listen -f /etc/libvirt/libvirtd.conf -p "$YG_HOST2_ROOT/pid/libvirtd.pid"
}

# host2's logs, for a human.
yg_host2_dump() {
	local name=${1:-} f
	[ -n "$YG_HOST2_ROOT" ] || return 0
	{
		if [ -n "$name" ]; then
			echo "---- host2: virsh dominfo $name"
			timeout 10 virsh -c "$YG_HOST2_LOCAL_URI" dominfo "$name" 2>&1 || true
			echo "---- host2: tail $YG_HOST2_ROOT/log/qemu/$name.log"
			tail -n 20 "$YG_HOST2_ROOT/log/qemu/$name.log" 2>&1 || true
			echo "---- host2: serial console ($YG_HOST2_IMAGES/$name.serial.log)"
			tail -n 40 "$YG_HOST2_IMAGES/$name.serial.log" 2>&1 || true
		fi
		for f in libvirtd-fg.log libvirtd.log virtlogd-fg.log virtlogd.log; do
			[ -s "$YG_HOST2_ROOT/log/$f" ] || continue
			echo "---- host2: tail $YG_HOST2_ROOT/log/$f"
			tail -n 30 "$YG_HOST2_ROOT/log/$f"
		done
		echo "----"
	} >&2
}

yg_host2_fail() {
	yg_log "FAIL: $1"
	yg_host2_dump "${2:-}"
	_YG_HOST2_DUMPED=1
	exit 1
}

yg_host2_start() {
	local t0 apt n n0 k root i pid
	[ -z "$YG_HOST2_ROOT" ] || yg_fail "yg_host2_start: host2 is already started ($YG_HOST2_ROOT)"
	for i in unshare nsenter ip; do
		command -v "$i" >/dev/null || yg_fail "host2 needs $i (util-linux, iproute2)"
	done
	t0=$(yg_now_ms)
	if [ -z "$_YG_HOST2_CLEANUP" ]; then
		yg_on_cleanup yg_host2_stop
		_YG_HOST2_CLEANUP=1
	fi
	root=$(mktemp -d /var/tmp/yg-host2.XXXXXX) || yg_fail "cannot make host2's directory in /var/tmp"
	YG_HOST2_ROOT=$root
	# QEMU (the qemu.conf user) must reach the images below.
	chmod 0755 "$root"
	mkdir -p "$root"/{etc,run,lib,cache,log,pid,sock,images,cgroup}
	mkdir -p "$root"/etc/{qemu,storage,nwfilter,hooks} "$root/log/qemu" "$root/lib/images"
	mkdir -m 0700 "$root/etc/secrets"
	chmod 0755 "$root/images"
	cp -p /etc/libvirt/qemu.conf "$root/etc/qemu.conf"
	[ ! -f /etc/libvirt/virtlogd.conf ] || cp -p /etc/libvirt/virtlogd.conf "$root/etc/virtlogd.conf"
	printf '\nlog_outputs = "3:file:/var/log/libvirt/virtlogd.log"\n' >> "$root/etc/virtlogd.conf"
	if [ -d /var/cache/libvirt/qemu/capabilities ]; then
		mkdir -p "$root/cache/qemu"
		cp -a /var/cache/libvirt/qemu/capabilities "$root/cache/qemu/" 2>/dev/null || true
	fi

	# The namespaces: the holder writes its PID (the test's EXIT trap keeps
	# bash from exec'ing a background command, so $! would be a subshell).
	# Its mount namespace drops the copy of /run/netns: it would pin the
	# netns of other runs.
	# shellcheck disable=SC2016 # $$ and $1 are the inner sh's
	_yg_host2_spawn "$root/log/holder.log" unshare --mount --net --propagation private -- \
		sh -c 'umount -R -l /run/netns 2>/dev/null; echo $$ > "$1"; exec sleep infinity' \
		sh "$root/pid/holder.pid"
	for ((i = 0; i < 100; i++)); do
		pid=$(cat "$root/pid/holder.pid" 2>/dev/null) || pid=
		if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ]; then
			break
		fi
		pid=
		sleep 0.05
	done
	[ -n "$pid" ] || yg_fail "host2: unshare --mount --net did not start: $(cat "$root/log/holder.log")"
	YG_HOST2_PID=$pid
	YG_HOST2_NETNS_ID=$(_yg_host2_ns_of "$pid" net)
	YG_HOST2_MNTNS_ID=$(_yg_host2_ns_of "$pid" mnt)
	if [ "$YG_HOST2_NETNS_ID" = "$(_yg_host2_ns_of self net)" ] ||
	   [ "$YG_HOST2_MNTNS_ID" = "$(_yg_host2_ns_of self mnt)" ]; then
		YG_HOST2_NETNS_ID='' YG_HOST2_MNTNS_ID=''
		yg_fail "host2: the holder $pid is not in namespaces of its own"
	fi

	# A free /30, and the veth pair (its creation settles a race for N).
	apt=$(_yg_host2_apt_addrs)
	n0=$(( $$ % 200 ))
	n=
	for ((k = 0; k < 200; k++)); do
		i=$(( (n0 + k) % 200 ))
		_yg_host2_net_free "$i" "$apt" || continue
		if ip link add "yg2h-$i" type veth peer name "yg2n-$i" netns "$YG_HOST2_PID" 2>/dev/null; then
			n=$i
			break
		fi
	done
	[ -n "$n" ] || yg_fail "host2: no free /30 in 198.18.0.0/16 (ip route, ip -br addr)"
	YG_HOST2_VETH=yg2h-$n
	YG_HOST2_VETH_NS=yg2n-$n
	YG_HOST2_PEER=198.18.$n.1
	YG_HOST2_ADDR=198.18.$n.2
	YG_HOST2_URI=qemu+tcp://$YG_HOST2_ADDR/system
	YG_HOST2_LOCAL_URI="qemu:///system?socket=$root/sock/libvirt-sock"
	YG_HOST2_IMAGES=$root/images
	ip netns attach "yg-host2-$n" "$YG_HOST2_PID" ||
		yg_fail "host2: ip netns attach yg-host2-$n $YG_HOST2_PID failed"
	YG_HOST2_NS=yg-host2-$n
	export YG_HOST2_URI YG_HOST2_ADDR YG_HOST2_NS YG_HOST2_IMAGES YG_HOST2_LOCAL_URI
	{ ip addr add "$YG_HOST2_PEER/30" dev "$YG_HOST2_VETH" &&
		ip link set "$YG_HOST2_VETH" up; } ||
		yg_fail "host2: cannot configure $YG_HOST2_VETH"
	yg_host2_exec sh -c "ip link set lo up && ip addr add '$YG_HOST2_ADDR/30' dev '$YG_HOST2_VETH_NS' &&
		ip link set '$YG_HOST2_VETH_NS' up" ||
		yg_fail "host2: cannot configure $YG_HOST2_VETH_NS in its netns"
	case $(ip -o -4 route get "$YG_HOST2_ADDR") in
	*" dev $YG_HOST2_VETH "*) ;;
	*) yg_fail "host2: $YG_HOST2_ADDR is not routed through $YG_HOST2_VETH: $(ip -o -4 route get "$YG_HOST2_ADDR")" ;;
	esac

	cat > "$root/etc/libvirtd.conf" <<CONF
# host2 of $0 (tests/integration/lib-host2.sh)
listen_tls = 0
listen_tcp = 1
listen_addr = "$YG_HOST2_ADDR"
tcp_port = "16509"
auth_tcp = "none"
unix_sock_dir = "$root/sock"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0700"
auth_unix_ro = "none"
auth_unix_rw = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF

	# The private libvirt directories; the mounts exist in host2 only.
	yg_host2_exec sh -c "set -e
		mount --bind '$root/etc' /etc/libvirt
		mount --bind '$root/run' /run/libvirt
		mount --bind '$root/lib' /var/lib/libvirt
		mount --bind '$root/cache' /var/cache/libvirt
		mount --bind '$root/log' /var/log/libvirt
		# a /sys of its netns (cgroups kept), as ip netns exec makes
		if mountpoint -q /sys/fs/cgroup; then
			mount --move /sys/fs/cgroup '$root/cgroup'
			mount -t sysfs sysfs /sys || echo 'host2: no sysfs of its own' >&2
			mount --move '$root/cgroup' /sys/fs/cgroup
		else
			mount -t sysfs sysfs /sys || echo 'host2: no sysfs of its own' >&2
		fi" ||
		yg_fail "host2: bind-mounting its libvirt directories failed"
	# belt and braces: not one of them may have reached this host
	if findmnt -rn -o TARGET,SOURCE | grep -qF "$root"; then
		yg_fail "host2: its mounts are visible on this host: $(findmnt -rn -o TARGET,SOURCE | grep -F "$root")"
	fi

	_yg_host2_start_virtlogd
	for ((i = 0; i < 100; i++)); do
		_yg_host2_daemon_pid virtlogd >/dev/null && break
		sleep 0.05
	done
	_yg_host2_daemon_pid virtlogd >/dev/null || yg_host2_fail "host2: virtlogd did not start"
	_yg_host2_start_libvirtd
	: > "$root/pid/started"
	_yg_host2_wait_up 30 ||
		yg_host2_fail "host2's libvirtd did not answer 'virsh -c $YG_HOST2_URI version' within 30 s"
	yg_timing host2_start "$(yg_since "$t0")"
	yg_log "host2: $YG_HOST2_URI (netns $YG_HOST2_NS, holder $YG_HOST2_PID, state $root)"
}

yg_host2_kill() {
	local pid
	pid=$(_yg_host2_daemon_pid libvirtd) || yg_host2_fail "yg_host2_kill: host2's libvirtd is not running"
	kill -KILL "$pid"
	_yg_host2_wait_gone "$pid" 100 || yg_host2_fail "host2's libvirtd $pid survived SIGKILL for 10 s"
}

yg_host2_revive() {
	local t0
	! _yg_host2_daemon_pid libvirtd >/dev/null ||
		yg_host2_fail "yg_host2_revive: host2's libvirtd is running"
	t0=$(yg_now_ms)
	_yg_host2_start_virtlogd
	_yg_host2_start_libvirtd
	_yg_host2_wait_up 30 ||
		yg_host2_fail "host2's libvirtd did not answer again within 30 s of its restart"
	yg_timing host2_revive "$(yg_since "$t0")"
}

_yg_host2_iptables() { yg_host2_exec iptables -w 5 "$@"; }

yg_host2_blackhole() {
	local t0 how
	if command -v iptables >/dev/null && _yg_host2_iptables -S INPUT >/dev/null 2>&1; then
		{ _yg_host2_iptables -I INPUT -i "$YG_HOST2_VETH_NS" -j DROP &&
			_yg_host2_iptables -I OUTPUT -o "$YG_HOST2_VETH_NS" -j DROP; } ||
			yg_host2_fail "host2: iptables DROP in its netns failed"
		how=iptables
	else
		yg_log "host2: no usable iptables: taking $YG_HOST2_VETH_NS down in host2 instead"
		yg_host2_exec ip link set "$YG_HOST2_VETH_NS" down ||
			yg_host2_fail "host2: ip link set $YG_HOST2_VETH_NS down failed"
		how=down
	fi
	printf '%s\n' "$how" > "$YG_HOST2_ROOT/blackhole"
	[ "${1:-}" != --no-measure ] || return 0
	t0=$(yg_now_ms)
	YG_HOST2_BLACKHOLE_RC=0
	timeout 30 virsh -q -c "$YG_HOST2_URI" list >/dev/null 2>"$YG_HOST2_ROOT/blackhole.err" ||
		YG_HOST2_BLACKHOLE_RC=$?
	YG_HOST2_BLACKHOLE_S=$(yg_since "$t0")
	yg_timing host2_blackhole_fail "$YG_HOST2_BLACKHOLE_S"
	yg_log "host2 blackholed ($how): 'timeout 30 virsh -c $YG_HOST2_URI list' ended with status $YG_HOST2_BLACKHOLE_RC$([ "$YG_HOST2_BLACKHOLE_RC" != 124 ] || echo ' (killed by timeout: still connecting)') after $YG_HOST2_BLACKHOLE_S s $(head -c 300 "$YG_HOST2_ROOT/blackhole.err" | tr '\n' ' ')"
	[ "$YG_HOST2_BLACKHOLE_RC" != 0 ] ||
		yg_host2_fail "virsh -c $YG_HOST2_URI list answered although host2 is blackholed"
}

yg_host2_unblackhole() {
	local t0 how
	how=$(cat "$YG_HOST2_ROOT/blackhole" 2>/dev/null) || return 0
	case $how in
	iptables)
		{ _yg_host2_iptables -D INPUT -i "$YG_HOST2_VETH_NS" -j DROP &&
			_yg_host2_iptables -D OUTPUT -o "$YG_HOST2_VETH_NS" -j DROP; } ||
			yg_host2_fail "host2: removing its iptables DROP failed"
		;;
	down)
		yg_host2_exec ip link set "$YG_HOST2_VETH_NS" up ||
			yg_host2_fail "host2: ip link set $YG_HOST2_VETH_NS up failed"
		;;
	esac
	rm -f "$YG_HOST2_ROOT/blackhole"
	t0=$(yg_now_ms)
	_yg_host2_wait_up 30 || yg_host2_fail "host2 did not answer within 30 s of the end of its blackhole"
	yg_timing host2_unblackhole "$(yg_since "$t0")"
}

yg_host2_guest() {
	[ -n "${YG_GUEST_KERNEL:-}" ] || yg_fail "yg_host2_guest needs yg_guest_build first"
	YG_HOST2_GUEST_KERNEL=$YG_HOST2_IMAGES/${YG_GUEST_KERNEL##*/}
	YG_HOST2_GUEST_INITRD=$YG_HOST2_IMAGES/${YG_GUEST_INITRD##*/}
	{ install -m 0644 "$YG_GUEST_KERNEL" "$YG_HOST2_GUEST_KERNEL" &&
		install -m 0644 "$YG_GUEST_INITRD" "$YG_HOST2_GUEST_INITRD"; } ||
		yg_fail "cannot copy the guest into $YG_HOST2_IMAGES"
}

yg_host2_box_define() {
	[ -n "${YG_HOST2_GUEST_KERNEL:-}" ] || yg_host2_guest
	YG_URI=$YG_HOST2_URI YG_IMAGES=$YG_HOST2_IMAGES YG_GUEST_KERNEL=$YG_HOST2_GUEST_KERNEL \
		YG_GUEST_INITRD=$YG_HOST2_GUEST_INITRD yg_box_define "$@"
	# the entry yg_box_define just added (a box of this host may have the
	# same name: host2's boxes are host2's to remove)
	[ "${YG_BOXES[-1]:-}" != "$1" ] || unset 'YG_BOXES[-1]'
	YG_HOST2_BOXES+=("$1")
}

# yg_host2_box_create NAME [MIB]: yg_box_create on host2: defined, booted
# until its agent answers, snapshot clean-state, left paused from it.
yg_host2_box_create() {
	yg_host2_box_define "$1" "${2:-256}"
	yg_host2_virsh start "$1" >/dev/null || yg_host2_fail "virsh start $1 on host2 failed" "$1"
	YG_URI=$YG_HOST2_URI yg_wait_agent "$1" 60 ||
		yg_host2_fail "the guest agent of $1 on host2 did not answer within 60 s of boot" "$1"
	{ yg_host2_virsh snapshot-create-as "$1" clean-state >/dev/null &&
		yg_host2_virsh snapshot-revert "$1" clean-state --paused; } ||
		yg_host2_fail "snapshot clean-state of $1 on host2 failed" "$1"
	YG_URI=$YG_HOST2_URI yg_wait_clean "$1" 30 ||
		yg_host2_fail "$1 on host2 is not paused from clean-state" "$1"
}

yg_host2_qemu_pid() {
	local pid
	pid=$(cat "$YG_HOST2_ROOT/run/qemu/$1.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
	echo "$pid"
}

# Cgroups libvirt left when QEMU was killed behind its back.
_yg_host2_forget_cgroups() {
	local name d
	for name in "$@"; do
		find /sys/fs/cgroup -depth -type d -name "qemu-*-$name.libvirt-qemu" 2>/dev/null |
		while read -r d; do
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
		done
	done
}

yg_host2_stop() {
	local root=$YG_HOST2_ROOT pid name i names=() doms pools
	[ -n "$root" ] || return 0
	# best effort, also when a test calls it under set -e
	local -
	set +e
	if [ "${rc:-0}" != 0 ] && [ -z "$_YG_HOST2_DUMPED" ]; then
		yg_host2_dump "${YG_HOST2_BOXES[0]:-}"
	fi
	for name in "$root"/etc/qemu/*.xml "$root"/run/qemu/*.xml; do
		[ -f "$name" ] || continue
		name=${name##*/}
		names+=("${name%.xml}")
	done
	if [ -n "$YG_HOST2_PID" ] && [ -n "${YG_HOST2_NETNS_ID:-}" ] &&
	   [ "$(_yg_host2_ns_of "$YG_HOST2_PID" net)" = "$YG_HOST2_NETNS_ID" ]; then
		# libvirt itself ends its domains, cgroups and all: revive it if need be
		if [ -f "$root/pid/started" ] && ! _yg_host2_daemon_pid libvirtd >/dev/null; then
			_yg_host2_start_virtlogd
			_yg_host2_start_libvirtd
		fi
		for ((i = 0; i < 100; i++)); do
			[ -f "$root/pid/started" ] || break
			timeout 5 virsh -q -c "$YG_HOST2_LOCAL_URI" version >/dev/null 2>&1 && break
			sleep 0.1
		done
		doms=$(timeout 30 virsh -q -c "$YG_HOST2_LOCAL_URI" list --all --name 2>/dev/null) || doms=
		for name in $doms; do
			timeout 30 virsh -q -c "$YG_HOST2_LOCAL_URI" destroy "$name" >/dev/null 2>&1
			timeout 30 virsh -q -c "$YG_HOST2_LOCAL_URI" undefine "$name" --snapshots-metadata \
				--managed-save >/dev/null 2>&1 ||
				yg_log "host2: could not undefine $name"
		done
		pools=$(timeout 30 virsh -q -c "$YG_HOST2_LOCAL_URI" pool-list --all --name 2>/dev/null) || pools=
		for name in $pools; do
			timeout 30 virsh -q -c "$YG_HOST2_LOCAL_URI" pool-destroy "$name" >/dev/null 2>&1
			timeout 30 virsh -q -c "$YG_HOST2_LOCAL_URI" pool-undefine "$name" >/dev/null 2>&1
		done
		for name in libvirtd virtlogd; do
			pid=$(_yg_host2_daemon_pid "$name") || continue
			kill -TERM "$pid" 2>/dev/null
			_yg_host2_wait_gone "$pid" 150 || kill -KILL "$pid" 2>/dev/null
		done
		# whatever is left in its namespaces (QEMU of a dead libvirtd, the holder)
		for ((i = 0; i < 100; i++)); do
			pid=$(yg_host2_pids)
			[ -n "$pid" ] || break
			# shellcheck disable=SC2086
			kill -KILL $pid 2>/dev/null
			sleep 0.1
		done
		[ -z "$(yg_host2_pids)" ] ||
			yg_log "host2: processes left in its namespaces: $(yg_host2_pids | tr '\n' ' ')"
	fi
	_yg_host2_forget_cgroups "${names[@]}"
	if [ -n "${YG_HOST2_NS:-}" ]; then
		ip netns delete "$YG_HOST2_NS" 2>/dev/null ||
			yg_log "host2: could not delete the netns $YG_HOST2_NS"
	fi
	if [ -n "${YG_HOST2_VETH:-}" ]; then
		# the pair goes with the netns, asynchronously
		for ((i = 0; i < 50; i++)); do
			ip link show "$YG_HOST2_VETH" >/dev/null 2>&1 || break
			sleep 0.1
		done
		! ip link show "$YG_HOST2_VETH" >/dev/null 2>&1 || ip link delete "$YG_HOST2_VETH" ||
			yg_log "host2: could not delete $YG_HOST2_VETH"
	fi
	case $root in
	/var/tmp/yg-host2.*)
		if findmnt -rn -o TARGET | grep -qF "$root"; then
			yg_log "host2: something is mounted under $root; not removing it"
		else
			rm -rf "$root"
		fi
		;;
	esac
	YG_HOST2_ROOT='' YG_HOST2_PID='' YG_HOST2_NS='' YG_HOST2_VETH='' YG_HOST2_NETNS_ID='' YG_HOST2_MNTNS_ID=''
	YG_HOST2_BOXES=()
}
