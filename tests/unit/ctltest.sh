#!/bin/sh
# SPDX-License-Identifier: MIT
# ctltest.sh: yolo-gatectl exit codes and output (check, help, usage).
set -u
ctl=${top_builddir:-.}/src/ctl/yolo-gatectl
src=${top_srcdir:-.}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0

expect() { # expect STATUS PATTERN CMD...: status and a line of output
	want=$1 pat=$2
	shift 2
	"$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ] || ! grep -q -e "$pat" "$tmp/out"; then
		echo "FAIL: $* -> exit $got (want $want), output:"
		sed 's/^/  /' "$tmp/out"
		fails=$((fails + 1))
	else
		echo "ok: $*"
	fi
}

# config dirs with safe modes (git and umask do not keep them)
mkconf() { # mkconf DIR: copy stdin to DIR/policy.d/10.conf
	mkdir -p "$1/policy.d" && chmod 755 "$1" "$1/policy.d" &&
		cat >"$1/policy.d/10.conf" && chmod 644 "$1/policy.d/10.conf"
}
mkdir -p "$tmp/ex/policy.d"
chmod 755 "$tmp/ex" "$tmp/ex/policy.d"
install -m 644 "$src/policy/examples/gate.conf" "$tmp/ex/gate.conf"
install -m 644 "$src/policy/examples/policy.d/10-lab.conf" "$tmp/ex/policy.d/"
me=$(id -un)
printf '[user:%s]\nidle_timeout = 15m\n' "$me" | mkconf "$tmp/me"
printf '[defaults]\ndomian = x\n' | mkconf "$tmp/bad"

expect 2 'usage:' "$ctl"
expect 2 'usage:' "$ctl" help
expect 2 'usage:' "$ctl" --help
expect 2 "unknown subcommand 'frob'" "$ctl" frob
expect 2 'usage:' "$ctl" check --bogus
expect 2 'usage:' "$ctl" check extra-arg
expect 0 '^OK$' "$ctl" check --config "$tmp/ex"
expect 0 "^read $tmp/ex/policy.d/10-lab.conf\$" "$ctl" check --config "$tmp/ex"
expect 1 "10.conf:2: unknown key 'domian' in \[defaults\] (did you mean 'domain'?)" \
	"$ctl" check --config "$tmp/bad"
expect 1 'does not exist' "$ctl" check --config "$tmp/nope"
expect 0 "^idle_timeout 15m  # $tmp/me/policy.d/10.conf:2\$" \
	"$ctl" check --config "$tmp/me" --user "$me"
expect 0 '^domain yolo-'"$me"'  # built-in default$' \
	"$ctl" check --config "$tmp/me" --user "$me"
expect 1 'has no policy' "$ctl" check --config "$tmp/ex" --user "$me"
expect 1 'no such user' "$ctl" check --config "$tmp/ex" --user no-such-user-x
expect 0 '^host local  # built-in default; uri qemu:///system$' \
	"$ctl" check --config "$tmp/me" --user "$me"

# Hosts (issue #17): check lists them, check --user gives the user's host
# with its uri.
printf '[host:hv2]\nuri = qemu+tcp://198.18.1.2/system\ncapacity = 20\nmemory = 64G\n\n[user:%s]\nhost = hv2\n' \
	"$me" | mkconf "$tmp/hosts"
expect 0 '^host local uri qemu:///system images /.*/lib/yolo-gate/boxes capacity 0 memory 0 enabled yes  # built-in (\[gate\] uri)$' \
	"$ctl" check --config "$tmp/hosts"
expect 0 "^host hv2 uri qemu+tcp://198.18.1.2/system images /.*/lib/yolo-gate/boxes capacity 20 memory 64G enabled yes  # $tmp/hosts/policy.d/10.conf:1\$" \
	"$ctl" check --config "$tmp/hosts"
expect 0 "^host hv2  # $tmp/hosts/policy.d/10.conf:7; uri qemu+tcp://198.18.1.2/system\$" \
	"$ctl" check --config "$tmp/hosts" --user "$me"
printf '[host:hv2]\nuri = qemu+tcp://198.18.1.2/system\n[defaults]\nhost = hv3\n' |
	mkconf "$tmp/nohost"
expect 1 "10.conf:4: host \"hv3\" is not defined; define \[host:hv3\] with a uri, or use one of: local, hv2 (did you mean 'hv2'?)" \
	"$ctl" check --config "$tmp/nohost"
chmod g+w "$tmp/me/policy.d/10.conf"
expect 1 "chmod go-w $tmp/me/policy.d/10.conf" "$ctl" check --config "$tmp/me"

# The usage of provision names every option its parser takes.
"$ctl" provision --bogus >"$tmp/usage" 2>&1
for opt in $(sed -n 's/^[[:space:]]*{ "\([a-z-]*\)", [a-z_]*_argument.*/\1/p' \
	"$src/src/ctl/ctl_provision.c"); do
	[ "$opt" = help ] && continue
	if grep -q -e "--$opt" "$tmp/usage"; then
		echo "ok: provision usage names --$opt"
	else
		echo "FAIL: the usage of provision does not name --$opt"
		fails=$((fails + 1))
	fi
done

[ "$fails" -eq 0 ]
