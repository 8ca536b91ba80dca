# SPDX-License-Identifier: MIT
# bench/: yolo-gate logins against the seed's virsh workflow (issue #6).
# `make bench` (root: libvirtd, QEMU, sshd) writes docs/BENCHMARKS.md and
# prints a last machine-readable "bench: ..." line; BENCH_QUICK=1 is a
# ~1 min smoke run that writes bench/BENCHMARKS-quick.md in the build tree.
check_PROGRAMS += bench/ptydrive
bench_ptydrive_SOURCES = bench/ptydrive.c
bench_ptydrive_LDADD = -lutil
# the physical floor of a login: resume, console open, wake, echo (libvirt only)
check_PROGRAMS += bench/floor
bench_floor_SOURCES = bench/floor.c
bench_floor_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS)
bench_floor_LDADD = src/core/libygcore.la $(LIBVIRT_LIBS)
EXTRA_DIST += bench/bench.sh bench/report.sh bench/analysis.md bench/soak.sh bench/lib-bench.sh \
	bench/remote.sh bench/revert.sh bench/hosts.sh

bench: all bench/ptydrive$(EXEEXT) bench/floor$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		$(SHELL) '$(abs_top_srcdir)/bench/bench.sh'
.PHONY: bench

# `make soak` (root): logins with faults injected, then an audit of what they
# left (bench/soak.sh; SOAK_LOGINS=150 in CI); writes docs/SOAK.md.
soak: all bench/ptydrive$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		$(SHELL) '$(abs_top_srcdir)/bench/soak.sh'
.PHONY: soak

# `make bench-remote` (root): remote commands and file transfer against
# virsh guest-exec and loopback scp (bench/remote.sh); its section of
# docs/BENCHMARKS.md.
bench-remote: all bench/ptydrive$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		$(SHELL) '$(abs_top_srcdir)/bench/remote.sh'
.PHONY: bench-remote

# `make bench-revert BOX=NAME` (root): where a revert's time goes, phase by
# phase from libvirtd's debug log, against plain virsh snapshot-revert
# (bench/revert.sh; findings in docs/REVERT.md).
bench-revert:
	$(SHELL) '$(abs_top_srcdir)/bench/revert.sh' $(BOX)
.PHONY: bench-revert

# `make bench-hosts` (root): a warm login to a box on a second hypervisor
# host (tests/integration/lib-host2.sh's stand-in, qemu+tcp) against a local
# one, same run (bench/hosts.sh); its section of docs/BENCHMARKS.md.
bench-hosts: all bench/ptydrive$(EXEEXT) bench/floor$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		$(SHELL) '$(abs_top_srcdir)/bench/hosts.sh'
.PHONY: bench-hosts
