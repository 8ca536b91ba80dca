#!/bin/sh
# SPDX-License-Identifier: MIT
# pam_yolo_gate.so exports only pam_sm_* and does not pull libvirt into the
# process that loads it (sshd, login, su).
set -eu
so=${top_builddir:-.}/pam/.libs/pam_yolo_gate.so
[ -f "$so" ] || { echo "pamsyms: $so not built (run make)"; exit 1; }
command -v nm >/dev/null && command -v readelf >/dev/null ||
	{ echo "pamsyms: nm/readelf missing (apt-get install binutils)"; exit 77; }

fail=0
syms=$(nm -D --defined-only "$so" | awk '{ print $NF }')
for s in $syms; do
	case $s in
	pam_sm_*) ;;
	*) echo "pamsyms: $so exports $s; only pam_sm_* may be exported (fix pam/pam_yolo_gate.map)"; fail=1 ;;
	esac
done
for s in pam_sm_acct_mgmt pam_sm_open_session pam_sm_close_session \
	 pam_sm_authenticate pam_sm_setcred pam_sm_chauthtok; do
	echo "$syms" | grep -qx "$s" || { echo "pamsyms: $so does not export $s"; fail=1; }
done
needed=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "pamsyms: NEEDED: $(echo $needed)"
for lib in $needed; do
	case $lib in
	libvirt*|libcap-ng*|libiniparser*|libcmocka*)
		echo "pamsyms: $so needs $lib; the PAM module must link only pam/libygpam.la"; fail=1 ;;
	esac
done
[ "$fail" -eq 0 ] && echo "pamsyms: ok ($(echo $syms | wc -w) symbols, all pam_sm_*)"
exit "$fail"
