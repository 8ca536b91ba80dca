# SPDX-License-Identifier: MIT
# guest/: what runs in or builds a box (guest/README.md is the contract).
# The image builder is installed to $(pkgdatadir)/guest and run by
# `yolo-gatectl image build` (src/ctl/ctl_image.c).
guestdir = $(pkgdatadir)/guest
dist_guest_SCRIPTS = guest/build-image.sh
dist_guest_DATA = guest/README.md
