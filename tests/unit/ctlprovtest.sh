#!/bin/sh
# ctlprovtest.sh: yolo-gatectl provision against libvirt's test driver
# (test:///default), no root: template rendering and its errors, option
# checks, and the rollback of a box whose guest agent never answers (the
# test driver has none).  The real path is tests/integration/ctl.sh.
set -u
ctl=${top_builddir:-.}/src/ctl/yolo-gatectl
tpl=${top_srcdir:-.}/src/ctl/templates
command -v qemu-img >/dev/null 2>&1 || { echo "SKIP: qemu-img not installed (apt-get install qemu-utils)"; exit 77; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
me=$(id -un)

expect() { # expect STATUS PATTERN CMD...
	want=$1 pat=$2
	shift 2
	"$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ] || ! grep -q -e "$pat" "$tmp/out"; then
		echo "FAIL: $* -> exit $got (want $want, pattern '$pat')"
		sed 's/^/  /' "$tmp/out"
		fails=$((fails + 1))
	else
		echo "ok: $*"
	fi
}

c=$tmp/conf
mkdir -p "$c/policy.d"
chmod 755 "$c" "$c/policy.d"
printf '[gate]\nuri = test:///default\nrun_dir = %s/run\n' "$tmp" >"$c/gate.conf"
printf '[user:%s]\ndomain = ygprov\n' "$me" >"$c/policy.d/10.conf"
chmod 644 "$c/gate.conf" "$c/policy.d/10.conf"
qemu-img create -q -f raw "$tmp/base.img" 16M
printf '<domain type="@VIRT_TYPE@"><name>@NAME@</name>@FROB@</domain>\n' >"$tmp/bad.xml"

p() { "$ctl" provision --config "$c" --base "$tmp/base.img" --images "$tmp/img" "$@"; }

expect 2 "usage:" "$ctl" provision --config "$c" "$me"
expect 2 "not valid: use kvm" p --virt-type xen "$me"
expect 2 "--disk-size '8X'" p --disk-size 8X "$me"
expect 2 "--vcpus '0'" p --vcpus 0 "$me"
expect 1 "give --kernel FILE" p --template "$tpl/tiny.xml" "$me"
expect 1 "unknown placeholder @FROB@" p --template "$tmp/bad.xml" "$me"
expect 1 "template name 'Big Box' is not valid" p --template 'Big Box' "$me"
[ ! -e "$tmp/img/ygprov.qcow2" ] || echo "FAIL: a template error left an overlay"
expect 1 "no such user" p "no-such-user-x"
expect 1 "base image $tmp/nope" p "$me" --base "$tmp/nope"
for t in tiny cloud; do
	expect 1 "did not answer within 1 s" p --template "$tpl/$t.xml" \
		--kernel "/k&<'" --initrd /i --boot-timeout 1 "$me"
	grep -q "creating $tmp/img/ygprov.qcow2 (8G over raw $tmp/base.img)" "$tmp/out" ||
		{ echo "FAIL: no overlay progress line"; fails=$((fails + 1)); }
	grep -q "removed the half-made box ygprov" "$tmp/out" ||
		{ echo "FAIL: no rollback"; fails=$((fails + 1)); }
	[ ! -e "$tmp/img/ygprov.qcow2" ] || { echo "FAIL: rollback left the overlay"; fails=$((fails + 1)); }
done
: >"$tmp/img/ygprov.qcow2"
expect 1 "exists but box ygprov is not defined" p --template "$tpl/tiny.xml" --kernel /k --initrd /i "$me"

[ "$fails" -eq 0 ]
