# SPDX-License-Identifier: MIT
# tests/integration: real libvirtd + QEMU (TCG) with the tiny test guest.
# Run as root with `make check-integration`; see tests/integration/lib.sh.
INTEGRATION_TESTS += \
	tests/integration/guest.sh \
	tests/integration/box.sh \
	tests/integration/groups.sh \
	tests/integration/warm.sh \
	tests/integration/share.sh \
	tests/integration/host2.sh
EXTRA_DIST += \
	tests/integration/lib.sh \
	tests/integration/lib-host2.sh \
	tests/integration/guest.sh \
	tests/integration/box.sh \
	tests/integration/groups.sh \
	tests/integration/warm.sh \
	tests/integration/share.sh \
	tests/integration/host2.sh
