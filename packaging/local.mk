# SPDX-License-Identifier: MIT
# packaging: systemd units, tmpfiles.d and sysusers.d (generated from *.in
# with the configured paths and service user), the Debian and RPM packaging,
# the sshd example, and their tests.
#
# Install locations follow systemd's search path under $(prefix); a
# distribution package overrides them on the make command line, e.g.
#   make install systemdsystemunitdir=/lib/systemd/system
systemdsystemunitdir = $(prefix)/lib/systemd/system
tmpfilesdir = $(prefix)/lib/tmpfiles.d
sysusersdir = $(prefix)/lib/sysusers.d

YG_PKG_UNITS = \
	packaging/systemd/yolo-gated.service \
	packaging/systemd/yolo-gated.socket \
	packaging/systemd/yolo-gate-sweep.service \
	packaging/systemd/yolo-boxd.service
systemdsystemunit_DATA = $(YG_PKG_UNITS)
tmpfiles_DATA = packaging/tmpfiles.d/yolo-gate.conf
sysusers_DATA = packaging/sysusers.d/yolo-gate.conf
YG_PKG_GENERATED = $(YG_PKG_UNITS) $(tmpfiles_DATA) $(sysusers_DATA) \
	packaging/rpm/yolo-gate.spec
CLEANFILES += $(YG_PKG_GENERATED)

# Every generated file F is made from $(srcdir)/F.in.
YG_PKG_SUBST = sed \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@bindir[@]|$(bindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@runstatedir[@]|$(runstatedir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g' \
	-e 's|@YG_SERVICE_USER[@]|$(YG_SERVICE_USER)|g' \
	-e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g'
$(YG_PKG_GENERATED): Makefile
	$(AM_V_GEN)$(MKDIR_P) "$$(dirname $@)" && rm -f $@ $@.tmp && \
	$(YG_PKG_SUBST) < $(srcdir)/$@.in > $@.tmp && mv $@.tmp $@
$(YG_PKG_UNITS): $(YG_PKG_UNITS:=.in)
packaging/tmpfiles.d/yolo-gate.conf: packaging/tmpfiles.d/yolo-gate.conf.in
packaging/sysusers.d/yolo-gate.conf: packaging/sysusers.d/yolo-gate.conf.in
packaging/rpm/yolo-gate.spec: packaging/rpm/yolo-gate.spec.in
# The spec is generated but shipped, so `rpmbuild -ta yolo-gate-*.tar.gz` works.
noinst_DATA = packaging/rpm/yolo-gate.spec

UNIT_TESTS += packaging/verify-units.sh
dist_check_SCRIPTS += packaging/verify-units.sh
check_DATA = $(YG_PKG_UNITS) $(tmpfiles_DATA) $(sysusers_DATA)
E2E_TESTS += tests/e2e/deb.sh

EXTRA_DIST += packaging/demo.sh \
	$(YG_PKG_UNITS:=.in) \
	packaging/tmpfiles.d/yolo-gate.conf.in \
	packaging/sysusers.d/yolo-gate.conf.in \
	packaging/rpm/yolo-gate.spec.in \
	packaging/rpm/yolo-gate.spec \
	packaging/build-deb.sh \
	packaging/build-rpm.sh \
	packaging/sshd/yolo-gate.conf \
	packaging/debian/changelog \
	packaging/debian/control \
	packaging/debian/copyright \
	packaging/debian/rules \
	packaging/debian/source/format \
	packaging/debian/yolo-gate.postinst \
	packaging/debian/yolo-gate.postrm \
	packaging/debian/yolo-gate.docs \
	packaging/debian/yolo-gate.examples \
	docs/admin-guide.md docs/admin-guide-hosts.md \
	tests/e2e/deb.sh
