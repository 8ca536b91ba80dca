#!/usr/bin/env bash
# Starts the services the integration and end-to-end tiers need when they are
# not running: virtlogd and libvirtd (PID 1 may not be systemd here). The
# end-to-end tests start their own sshd on 127.0.0.1.
set -euo pipefail
mkdir -p /run/sshd
pgrep -x virtlogd >/dev/null || virtlogd -d
pgrep -x libvirtd >/dev/null || libvirtd -d
for _ in $(seq 1 100); do
	virsh -q -c qemu:///system version >/dev/null 2>&1 && exit 0
	sleep 0.1
done
echo "libvirtd did not answer on qemu:///system within 10 s" >&2
exit 1
