# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# bench/lib-bench.sh: the common start of bench/bench.sh and bench/soak.sh.
# Source after tests/integration/lib.sh and tests/e2e/lib-e2e.sh.
#   bench_begin NAME TARGET   root and ptydrive checked (NAME: the log prefix,
#                             TARGET: the make target that builds it), then
#                             the temp dir, e2e, services, libvirt, guest and
#                             test shell; sets PD and T_START
bench_begin() {
	PD=$top_builddir/bench/ptydrive
	T_START=$(yg_now_ms)
	[ "$(id -u)" = 0 ] || { echo "$1: make $2 needs root (libvirtd, QEMU, sshd, test users)" >&2; exit 1; }
	[ -x "$PD" ] || { echo "$1: $PD is not built; run make $2" >&2; exit 1; }
	yg_init
	e2e_init
	bash "$top_srcdir/tests/start-services.sh" >&2
	yg_start_libvirt
	yg_guest_build >&2
	e2e_install_shell
}
