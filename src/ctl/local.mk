# SPDX-License-Identifier: MIT
# src/ctl: yolo-gatectl, the admin CLI.  ctl.c holds the subcommand table;
# each subcommand is its own ctl_<name>.c.
sbin_PROGRAMS += src/ctl/yolo-gatectl
src_ctl_yolo_gatectl_SOURCES = src/ctl/ctl.h src/ctl/ctl.c \
	src/ctl/ctl_check.c src/ctl/ctl_sshd.c src/ctl/ctl_util.c src/ctl/ctl_lock.c \
	src/ctl/ctl_box.c src/ctl/ctl_provision.c \
	src/ctl/ctl_template.c src/ctl/ctl_template.h \
	src/ctl/ctl_status.c src/ctl/ctl_sweep.c src/ctl/ctl_keys.c \
	src/ctl/ctl_sessions.c src/ctl/ctl_sessions.h \
	src/ctl/ctl_network.c src/ctl/ctl_network.h
# image build|check (the builder script is guest/build-image.sh)
src_ctl_yolo_gatectl_SOURCES += src/ctl/ctl_image.c src/ctl/ctl_image.h \
	src/ctl/ctl_image_check.c
src_ctl_yolo_gatectl_CPPFLAGS = $(AM_CPPFLAGS) \
	-DYG_TEMPLATEDIR='"$(pkgdatadir)/templates"' \
	-DYG_GUESTDIR='"$(pkgdatadir)/guest"'
src_ctl_yolo_gatectl_CFLAGS = $(AM_CFLAGS) $(LIBVIRT_CFLAGS) \
	$(LIBVIRT_QEMU_CFLAGS)
src_ctl_yolo_gatectl_LDADD = policy/libygpolicy.la src/virt/libygvirt.la src/core/libygcaps.la src/core/libygcore.la \
	$(LIBVIRT_LIBS) $(LIBVIRT_QEMU_LIBS)
dist_man_MANS += docs/yolo-gatectl.8

# Domain XML templates for provision (by name: --template tiny).
ctltemplatesdir = $(pkgdatadir)/templates
dist_ctltemplates_DATA = src/ctl/templates/cloud.xml \
	src/ctl/templates/tiny.xml

UNIT_TESTS += tests/unit/ctltest.sh tests/unit/ctlkeystest.sh \
	tests/unit/ctlstatustest.sh tests/unit/ctlprovtest.sh
dist_check_SCRIPTS += tests/unit/ctltest.sh tests/unit/ctlkeystest.sh \
	tests/unit/ctlstatustest.sh tests/unit/ctlprovtest.sh
INTEGRATION_TESTS += tests/integration/ctl.sh tests/integration/net.sh \
	tests/integration/limits.sh
EXTRA_DIST += tests/integration/ctl.sh tests/integration/net.sh \
	tests/integration/limits.sh
