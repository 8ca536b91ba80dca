#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Starts the services the integration and end-to-end tiers need when they are
# not running: virtlogd and libvirtd (PID 1 is not systemd on CI machines).
# The end-to-end tests start their own sshd on 127.0.0.1.
#
# Without systemd there is no polkit agent to authorise members of the libvirt
# group, so libvirtd gets the equivalent of Debian's packaged policy by
# configuration instead: the read-write socket is group libvirt, mode 0770,
# no further authentication. That is what lets yolo-gated, running as its
# service user in group libvirt, reach qemu:///system.
#
# It also makes /dev/kvm root:kvm 0660 as Debian's udev rule would (no udev
# here): with root 0600 the QEMU user cannot open it, libvirt finds its cached
# QEMU capabilities outdated on every lookup and re-probes QEMU for 3-20 s on
# each define/start/revert (a demo revert took 6.6-7.2 s instead of 2.3-3.3 s).
# Guests stay TCG (<domain type='qemu'>): this only keeps the cache stable.
#   start-services.sh --kvm   only that
set -euo pipefail
fix_kvm_perms() {
	[ -c /dev/kvm ] || return 0
	[ "$(stat -c %G:%a /dev/kvm)" = kvm:660 ] && return 0
	getent group kvm >/dev/null || return 0
	{ chgrp kvm /dev/kvm && chmod 0660 /dev/kvm; } ||
		echo "warning: could not make /dev/kvm root:kvm 0660; libvirt will re-probe QEMU on every call (slow)" >&2
}
fix_kvm_perms
[ "${1:-}" != --kvm ] || exit 0
conf=/run/yolo-gate-test/libvirtd.conf
# The daemons must not inherit our descriptors: a lock a caller holds (flock
# of a test lock file) would otherwise be held by libvirtd for its lifetime.
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	[ "$fd" -gt 2 ] 2>/dev/null || continue
	eval "exec $fd>&-" 2>/dev/null || true
done
mkdir -p /run/sshd /run/yolo-gate-test
getent group libvirt >/dev/null || groupadd --system libvirt
if ! pgrep -x libvirtd >/dev/null; then
	cat > "$conf" <<'CONF'
unix_sock_group = "libvirt"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
CONF
	pgrep -x virtlogd >/dev/null || virtlogd -d
	# libvirtd in the foreground of `tini -s`, a child subreaper: the QEMU
	# processes libvirt daemonizes become tini's children and are reaped at
	# once. Under this machine's PID 1 (no systemd) an orphan stays a zombie
	# for 1-2 s, and libvirt waits for it on every revert (docs/REVERT.md:
	# virsh snapshot-revert 2295 -> 1043 ms p50). systemd as PID 1 reaps at
	# once; without tini, libvirtd daemonizes as before.
	if command -v tini >/dev/null; then
		setsid tini -s -- libvirtd -f "$conf" </dev/null >>/var/log/libvirt/libvirtd-fg.log 2>&1 &
	else
		libvirtd -d -f "$conf"
	fi
fi
pgrep -x virtlogd >/dev/null || virtlogd -d
for _ in $(seq 1 100); do
	virsh -q -c qemu:///system version >/dev/null 2>&1 && exit 0
	sleep 0.1
done
echo "libvirtd did not answer on qemu:///system within 10 s" >&2
exit 1
