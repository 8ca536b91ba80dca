#!/bin/sh
# SPDX-License-Identifier: MIT
# The account phase of pam_yolo_gate.so driven by Debian's pamtester against
# the fake broker (pamtest --serve). pamtester has no confdir option, so the
# test service is bind-mounted over /etc/pam.d inside a private mount (and,
# without root, user) namespace: nothing on the host changes.
set -eu
b=${top_builddir:-.}
s=${top_srcdir:-.}
so=$(cd "$b" && pwd)/pam/.libs/pam_yolo_gate.so
skip() {
	echo "pamtester.sh: SKIP: $*" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
}
command -v pamtester >/dev/null || skip "pamtester not installed (apt-get install pamtester)"
command -v unshare >/dev/null || skip "unshare not installed (util-linux)"
unshare -rm true 2>/dev/null || skip "cannot create a user+mount namespace here"
[ -f "$so" ] || { echo "pamtester.sh: $so not built"; exit 1; }

# A module built with --enable-sanitizers needs the sanitizer runtimes loaded
# first into pamtester, which is not built with them.
preload=
if ldd "$so" 2>/dev/null | grep -q libasan; then
	cc=${CC:-cc}
	preload="$($cc -print-file-name=libasan.so) $($cc -print-file-name=libubsan.so)"
fi

tmp=$(mktemp -d /tmp/ygpamt.XXXXXX)
fake=
cleanup() {
	[ -n "$fake" ] && kill "$fake" 2>/dev/null && wait "$fake" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
mkdir "$tmp/pam.d"
sed -e "s|@MODULE@|$so|" -e "s|@ARGS@|socket=$tmp/gated.sock timeout=2s|" \
	"$s/tests/data/pam/yg-test.in" > "$tmp/pam.d/yg-test"
user=$(id -un)

"$b/tests/unit/pamtest" --serve "$tmp/gated.sock" "policy:1:1:" "policy:0:0:" \
	"policy:1:0:box disabled for maintenance" > "$tmp/fake.out" 2>&1 &
fake=$!
i=0
until grep -q ready "$tmp/fake.out" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || { echo "pamtester.sh: the fake broker did not start"; cat "$tmp/fake.out"; exit 1; }
	sleep 0.05
done

fail=0
# case NAME EXPECTED-RC EXPECTED-TEXT: one pamtester acct_mgmt run.
case_() {
	rc=0
	unshare -rm sh -c 'mount --bind "$1" /etc/pam.d &&
		LD_PRELOAD="$3" ASAN_OPTIONS=detect_leaks=0 exec timeout 20 pamtester yg-test "$2" acct_mgmt' \
		sh "$tmp/pam.d" "$user" "$preload" > "$tmp/out" 2>&1 || rc=$?
	if [ "$rc" -ne "$2" ] || ! grep -q "$3" "$tmp/out"; then
		echo "FAIL $1: exit $rc (want $2), output:"; sed 's/^/  /' "$tmp/out"; fail=1
	else
		echo "ok   $1: $(tr '\n' ' ' < "$tmp/out")"
	fi
}
case_ gated 0 "account management done"
# the stack shows the module's PAM_IGNORE as PAM_AUTHINFO_UNAVAIL
case_ no-policy 1 "cannot retrieve authentication info"
case_ disabled 1 "box disabled for maintenance"

# The fake broker exits after its scripted replies; never wait for it forever.
i=0
while kill -0 "$fake" 2>/dev/null && [ "$i" -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
kill "$fake" 2>/dev/null || true
wait "$fake" 2>/dev/null || true
fake=
n=$(grep -c "^request ACCOUNT $user\$" "$tmp/fake.out" || true)
[ "$n" -eq 3 ] || { echo "FAIL: the broker saw $n ACCOUNT requests for $user, want 3"; cat "$tmp/fake.out"; fail=1; }
exit "$fail"
