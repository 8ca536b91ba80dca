#!/bin/sh
# SPDX-License-Identifier: MIT
# needed.sh: the layers, checked on what the linker made (in every build:
# the plain one and the sanitizer one, where -fsanitize=undefined links more).
#  - yolo-shell and pam_yolo_gate.so link libygcore only: they must not NEED
#    libvirt (nor, for the PAM module that sshd loads, libcap-ng or
#    iniparser);
#  - the listening yolo-gated does not NEED libvirt (nor what libvirt pulls
#    in: glib, gnutls, libxml2); its session module does, and exports only
#    its entries (src/gated/module.h);
#  - src/gated and src/ctl reach libvirt only through libygvirt: none of their
#    objects references a vir* symbol;
#  - yolo-gatectl's client-only subcommands (check, keys, sessions, end, the
#    box locks) do not even reach into libygvirt.
set -eu
b=${top_builddir:-.}
command -v readelf >/dev/null && command -v nm >/dev/null ||
	{ echo "needed: readelf/nm missing (apt-get install binutils)"; exit 77; }
fail=0

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

check_needed() { # FILE FORBIDDEN-GLOB...
	f=$1
	shift
	[ -f "$f" ] || { echo "needed: $f not built (run make)"; fail=1; return; }
	libs=$(needed "$f")
	echo "needed: $f NEEDED: $(echo $libs)"
	for lib in $libs; do
		for bad in "$@"; do
			case $lib in
			$bad) echo "needed: FAIL: $f needs $lib"; fail=1 ;;
			esac
		done
	done
}

check_needed "$b/src/shell/yolo-shell" 'libvirt*'
check_needed "$b/pam/.libs/pam_yolo_gate.so" 'libvirt*' 'libcap-ng*' 'libiniparser*'
check_needed "$b/src/gated/yolo-gated" 'libvirt*' 'libglib*' 'libgnutls*' 'libxml2*'
mod=$b/src/gated/.libs/yolo-gated-session.so
if [ -f "$mod" ]; then
	needed "$mod" | grep -q '^libvirt\.so' ||
		{ echo "needed: FAIL: $mod does not NEED libvirt: is the session half linked in the parent?"; fail=1; }
	exports=$(nm -D --defined-only "$mod" | awk '$2 ~ /^[TDBR]$/ { print $3 }' | sort | tr '\n' ' ')
	echo "needed: $mod exports: $exports"
	[ "$exports" = "yg_gd_module_build yg_gd_module_cleanup yg_gd_module_session " ] ||
		{ echo "needed: FAIL: $mod must export only its entries (module.h)"; fail=1; }
else
	echo "needed: $mod not built (run make)"
	fail=1
fi

objs=$(find "$b/src/gated" "$b/src/ctl" -name '*.o' | sort)
[ -n "$objs" ] || { echo "needed: no objects under $b/src/gated, $b/src/ctl (run make)"; exit 1; }
for o in $objs; do
	refs=$(nm -u "$o" | awk '$NF ~ /^vir[A-Z]/ { print $NF }' | sort -u)
	if [ -n "$refs" ]; then
		echo "needed: FAIL: $o calls libvirt directly: $(echo $refs) (go through src/virt)"
		fail=1
	fi
done
for part in ctl ctl_check ctl_keys ctl_sessions ctl_lock ctl_template; do
	o=$(find "$b/src/ctl" -name "*-$part.o" | head -n 1)
	[ -n "$o" ] || { echo "needed: FAIL: no object of src/ctl/$part.c (run make)"; fail=1; continue; }
	refs=$(nm -u "$o" | awk '$NF ~ /^yg_(conn|box|agent|dom|pool|vol|net|nwfilter|limits|xml|console|virtloop)_/ { print $NF }' | sort -u)
	if [ -n "$refs" ]; then
		echo "needed: FAIL: src/ctl/$part.c is client-only but calls libygvirt: $(echo $refs)"
		fail=1
	fi
done
[ "$fail" -eq 0 ] && echo "needed: ok: $(echo "$objs" | wc -l) objects of src/gated and src/ctl call no vir* function; the client-only parts of yolo-gatectl none of libygvirt"
exit "$fail"
