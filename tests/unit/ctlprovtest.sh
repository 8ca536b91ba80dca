#!/bin/sh
# SPDX-License-Identifier: MIT
# ctlprovtest.sh: yolo-gatectl provision against libvirt's test driver, no
# root: template rendering and its errors, option checks, and the rollback
# of a box whose guest agent never answers (the test driver has none).  The
# images go through libvirt's storage API, so the driver's node file
# (test:///$tmp/node.xml) holds what libvirt sees: a pool on $tmp with the
# raw base image in it; the test driver makes no files.  The real path is
# tests/integration/ctl.sh.
set -u
ctl=${top_builddir:-.}/src/ctl/yolo-gatectl
tpl=${top_srcdir:-.}/src/ctl/templates
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
# node DIR [VOLUME FORMAT]...: a test driver node with one pool on DIR
node() {
	printf '<node>\n  <pool type="dir">\n    <name>p</name>\n'
	printf '    <target><path>%s</path></target>\n' "$1"
	shift
	while [ $# -gt 1 ]; do
		printf '    <volume><name>%s</name><capacity>16777216</capacity>' "$1"
		printf '<target><format type="%s"/></target></volume>\n' "$2"
		shift 2
	done
	printf '  </pool>\n</node>\n'
}
gate() { # gate NODE_FILE
	printf '[gate]\nuri = test://%s\nrun_dir = %s/run\n' "$1" "$tmp" >"$c/gate.conf"
	chmod 644 "$c/gate.conf"
}
node "$tmp" base.img raw >"$tmp/node.xml"
gate "$tmp/node.xml"
printf '[user:%s]\ndomain = ygprov\n' "$me" >"$c/policy.d/10.conf"
chmod 644 "$c/policy.d/10.conf"
: >"$tmp/base.img"
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
# a file libvirt does not see as an image of a pool
: >"$tmp/stray.img"
expect 1 "libvirt sees no image $tmp/stray.img" p --template "$tpl/tiny.xml" \
	--kernel /k --initrd /i "$me" --base "$tmp/stray.img"
node "$tmp" base.img raw iso.img iso >"$tmp/node-iso.xml"
gate "$tmp/node-iso.xml"
: >"$tmp/iso.img"
expect 1 "the base image $tmp/iso.img is iso; use a qcow2 or raw image" \
	p --template "$tpl/tiny.xml" --kernel /k --initrd /i "$me" --base "$tmp/iso.img"
gate "$tmp/node.xml"
for t in tiny cloud; do
	expect 1 "did not answer within 1 s" p --template "$tpl/$t.xml" \
		--kernel "/k&<'" --initrd /i --boot-timeout 1 "$me"
	grep -q "creating $tmp/img/ygprov.qcow2 (8G over raw $tmp/base.img)" "$tmp/out" ||
		{ echo "FAIL: no overlay progress line"; fails=$((fails + 1)); }
	grep -q "removed the half-made box ygprov" "$tmp/out" ||
		{ echo "FAIL: no rollback"; fails=$((fails + 1)); }
done
# an overlay libvirt has in the pool of the images directory, no domain
node "$tmp/img" ygprov.qcow2 qcow2 >"$tmp/node-stray.xml"
gate "$tmp/node-stray.xml"
expect 1 "$tmp/img/ygprov.qcow2 exists but box ygprov is not defined" \
	p --template "$tpl/tiny.xml" --kernel /k --initrd /i "$me"

# a host's capacity = and memory =: another user's box (daemon's, 1 GiB)
# defined on it already
{
	node "$tmp" base.img raw | sed '$d'
	printf '  <domain type="test"><name>ygother</name><memory>1048576</memory>'
	printf '<os><type>hvm</type></os></domain>\n</node>\n'
} >"$tmp/node-room.xml"
gate "$tmp/node.xml"
room() { # room CAPACITY MEMORY: the policy with host hv of that room
	printf '[host:hv]\nuri = test://%s\ncapacity = %s\nmemory = %s\n\n' \
		"$tmp/node-room.xml" "$1" "$2" >"$c/policy.d/10.conf"
	printf '[user:%s]\ndomain = ygprov\nhost = hv\n\n' "$me" >>"$c/policy.d/10.conf"
	printf '[user:daemon]\ndomain = ygother\nhost = hv\n' >>"$c/policy.d/10.conf"
}
room 1 0
expect 1 "host hv is full: it holds 1 box, its capacity is 1 (\[host:hv\] at .*10.conf:1)" \
	p --template "$tpl/tiny.xml" --kernel /k --initrd /i --memory 256 "$me"
room 2 1G
expect 1 "host hv has no room for 256 MiB more: its boxes take 1024 MiB of its memory = 1024 MiB" \
	p --template "$tpl/tiny.xml" --kernel /k --initrd /i --memory 256 "$me"
room 2 2G	# fits: on to the build (the test driver's guest never answers)
expect 1 "did not answer within 1 s" p --template "$tpl/tiny.xml" --kernel /k \
	--initrd /i --memory 256 --boot-timeout 1 "$me"
printf '[user:%s]\ndomain = ygprov\n' "$me" >"$c/policy.d/10.conf"

# sweep leaves run_dir alone while something answers on the broker's socket
# (yolo-gatectl asks through yg_client), and clears it once nothing does
gate "$tmp/node.xml"
printf 'socket = %s/gated.sock\n' "$tmp" >>"$c/gate.conf"
mkdir -p "$tmp/run/boxes" "$tmp/run/sessions"
: >"$tmp/run/boxes/old.lock"
python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
while True:
    s.accept()[0].close()' "$tmp/gated.sock" &
lpid=$!
i=0
while [ ! -S "$tmp/gated.sock" ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
expect 0 "yolo-gated answers on $tmp/gated.sock" "$ctl" sweep --config "$c"
[ -e "$tmp/run/boxes/old.lock" ] ||
	{ echo "FAIL: sweep removed a lock file while the broker answered"; fails=$((fails + 1)); }
kill "$lpid"
wait "$lpid" 2>/dev/null
expect 0 "removed stale $tmp/run/boxes/old.lock" "$ctl" sweep --config "$c"

[ "$fails" -eq 0 ]
