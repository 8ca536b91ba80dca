#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs yolo-gate's build and test dependencies on Debian 12 (as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
	# build
	build-essential autoconf automake libtool pkg-config
	libvirt-dev libpam0g-dev libcap-ng-dev libiniparser-dev libcmocka-dev
	# run time: libvirt + QEMU (TCG), sshd for the end-to-end tier
	libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system libvirt-clients
	qemu-system-x86 qemu-utils openssh-server openssh-client dnsmasq-base
	# the tiny guest carries the host's scp, sftp-server and rsync (remote commands)
	openssh-sftp-server rsync
	# yolo-gatectl image build (the real Debian box; tests/e2e/image.sh)
	mmdebstrap e2fsprogs
	# tests and linting
	mandoc pamtester cppcheck expect jq python3 libcap2-bin libcap-ng-utils cpio xz-utils zstd strace
	# tests/start-services.sh: libvirtd under a subreaper (PID 1 is no systemd)
	tini
	# tests/integration/lib-host2.sh: a second host in namespaces, unreachable at will
	iproute2 util-linux iptables
	# systemd-analyze, systemd-tmpfiles, systemd-socket-activate (no systemd as PID 1 needed)
	systemd
	# fuzzing (clang + libFuzzer runtime)
	clang libclang-rt-14-dev
	# packaging: .deb and .rpm
	debhelper dh-autoreconf fakeroot rpm
	# tests/e2e/deb.sh saves an installed yolo-gate (the demo's) and puts it back
	dpkg-repack
)
apt-get update -q
apt-get install -y -q --no-install-recommends "${pkgs[@]}"
