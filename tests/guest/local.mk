# SPDX-License-Identifier: MIT
# tests/guest: the tiny test guest (kernel + initramfs from Debian packages)
# and the libvirt domain template used by the integration and e2e tiers.
# Built on demand by tests/integration/lib.sh into
# $(top_builddir)/tests/guest/cache (downloads and image are kept there).
EXTRA_DIST += \
	tests/guest/README.md \
	tests/guest/build-guest.sh \
	tests/guest/init \
	tests/guest/profile \
	tests/guest/shrc \
	tests/guest/yolo-respawn-shell \
	tests/guest/udhcpc.script \
	tests/guest/domain.xml.in
