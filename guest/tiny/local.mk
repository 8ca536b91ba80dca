# SPDX-License-Identifier: MIT
# guest/tiny: the tiny test guest (kernel + initramfs from Debian packages)
# and the libvirt domain template used by the integration and e2e tiers.
# Built on demand by tests/integration/lib.sh into
# $(top_builddir)/tests/guest/cache (downloads and image are kept there; the
# cache path stayed where it was when the guest moved from tests/guest).
EXTRA_DIST += \
	guest/tiny/README.md \
	guest/tiny/build-guest.sh \
	guest/tiny/init \
	guest/tiny/profile \
	guest/tiny/shrc \
	guest/tiny/yolo-respawn-shell \
	guest/tiny/udhcpc.script \
	guest/tiny/domain.xml.in
