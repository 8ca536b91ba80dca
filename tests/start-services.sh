#!/usr/bin/env bash
# Starts the services the integration and end-to-end tiers need when they are
# not running: virtlogd and libvirtd (PID 1 is not systemd on CI machines).
# The end-to-end tests start their own sshd on 127.0.0.1.
#
# Without systemd there is no polkit agent to authorise members of the libvirt
# group, so libvirtd gets the equivalent of Debian's packaged policy by
# configuration instead: the read-write socket is group libvirt, mode 0770,
# no further authentication. That is what lets yolo-gated, running as its
# service user in group libvirt, reach qemu:///system.
set -euo pipefail
conf=/run/yolo-gate-test/libvirtd.conf
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
	libvirtd -d -f "$conf"
fi
pgrep -x virtlogd >/dev/null || virtlogd -d
for _ in $(seq 1 100); do
	virsh -q -c qemu:///system version >/dev/null 2>&1 && exit 0
	sleep 0.1
done
echo "libvirtd did not answer on qemu:///system within 10 s" >&2
exit 1
