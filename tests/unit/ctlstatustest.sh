#!/bin/sh
# SPDX-License-Identifier: MIT
# ctlstatustest.sh: yolo-gatectl status against libvirt's test driver
# (test:///default: one running domain "test" without snapshots), no root:
# which users are listed, the states, the lock holder, valid JSON.
set -u
ctl=${top_builddir:-.}/src/ctl/yolo-gatectl
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
me=$(id -un)
grp=$(id -gn)

fail() {
	echo "FAIL: $*"
	sed 's/^/  /' "$tmp/out" "$tmp/err" 2>/dev/null
	fails=$((fails + 1))
}

c=$tmp/conf
mkdir -p "$c/policy.d" "$tmp/run/boxes"
chmod 755 "$c" "$c/policy.d"
printf '[gate]\nuri = test:///default\nrun_dir = %s/run\n' "$tmp" >"$c/gate.conf"
printf '[user:%s]\ndomain = test\n[user:no-such-user-x]\n[group:%s]\nsnapshot = s1\n' \
	"$me" "$grp" >"$c/policy.d/10.conf"
chmod 644 "$c/gate.conf" "$c/policy.d/10.conf"

"$ctl" status --config "$c" >"$tmp/out" 2>"$tmp/err" || fail "status exit $?"
grep -Eq "^$me +test +local +running +no \(no snapshot 's1'\) +- +free\$" "$tmp/out" ||
	fail "status line of $me (domain test, running, no snapshot, free)"
grep -q "names no user known" "$tmp/err" || fail "no note about the unknown user"
[ "$(grep -c "^$me " "$tmp/out")" = 1 ] || fail "$me listed more than once (user and group member)"

# a session holds the lock: status names it
echo "yg-lock 1 1700000000 0123456789abcdef 4242 -" >"$tmp/run/boxes/test.lock"
flock "$tmp/run/boxes/test.lock" "$ctl" status --config "$c" >"$tmp/out" 2>"$tmp/err"
grep -q "session 0123456789abcdef (pid 4242) since " "$tmp/out" || fail "holder not shown"
# a lock record of another version: status says so instead of guessing
echo "yg-lock 2 1700000000 0123456789abcdef 4242 -" >"$tmp/run/boxes/test.lock"
flock "$tmp/run/boxes/test.lock" "$ctl" status --config "$c" >"$tmp/out" 2>"$tmp/err"
grep -q "another process (the lock record is of version 2, and this yolo-gate reads version 1" \
	"$tmp/out" || fail "a lock record of another version not reported"
echo "yg-lock 1 1700000000 0123456789abcdef 4242 -" >"$tmp/run/boxes/test.lock"
# the broker's session file gives the time left (idle and max)
mkdir -p "$tmp/run/sessions"
now=$(date +%s)
printf 'yg-session 1\nbox=test\nuser=%s\nuid=%s\nfrom=-\npid=4242\nstarted=%s\nlast_active=%s\nidle_end=%s\nmax_end=%s\nrecord=-\n' \
	"$me" "$(id -u)" "$now" "$now" $((now + 130)) $((now + 7500)) >"$tmp/run/sessions/0123456789abcdef"
flock "$tmp/run/boxes/test.lock" "$ctl" status --config "$c" >"$tmp/out" 2>"$tmp/err"
grep -Eq "session 0123456789abcdef .*, left: idle 2m(0[0-9]|10)s, max 2h0[45]m\$" "$tmp/out" ||
	fail "time left not shown"
flock "$tmp/run/boxes/test.lock" "$ctl" status --config "$c" --json >"$tmp/out" 2>"$tmp/err"
if command -v jq >/dev/null 2>&1; then
	jq -e '.boxes[0].holder | .session == "0123456789abcdef" and
		(.idle_left_seconds | . > 100 and . <= 130) and
		(.max_left_seconds | . > 7400 and . <= 7500)' "$tmp/out" >/dev/null ||
		fail "time left in JSON"
fi
# no max limit: "none" / null
printf 'yg-session 1\nbox=test\nuser=%s\nuid=%s\nfrom=-\npid=4242\nstarted=%s\nlast_active=%s\nidle_end=%s\nmax_end=0\nrecord=-\n' \
	"$me" "$(id -u)" "$now" "$now" $((now + 30)) >"$tmp/run/sessions/0123456789abcdef"
flock "$tmp/run/boxes/test.lock" "$ctl" status --config "$c" >"$tmp/out" 2>"$tmp/err"
grep -Eq ", left: idle (2[0-9]|30)s, max none\$" "$tmp/out" || fail "no max limit not shown as none"
flock "$tmp/run/boxes/test.lock" "$ctl" status --config "$c" --json >"$tmp/out" 2>"$tmp/err"
if command -v jq >/dev/null 2>&1; then
	jq -e '.boxes[0].holder.max_left_seconds == null' "$tmp/out" >/dev/null ||
		fail "no max limit not null in JSON"
fi
rm -f "$tmp/run/sessions/0123456789abcdef"
"$ctl" status --config "$c" >"$tmp/out" 2>"$tmp/err"
grep -Eq "^$me .* free\$" "$tmp/out" || fail "free after the holder ended"

"$ctl" status --config "$c" --json >"$tmp/out" 2>"$tmp/err" || fail "status --json exit $?"
if command -v jq >/dev/null 2>&1; then
	jq -e --arg u "$me" '.boxes[] | select(.user == $u) |
		.domain == "test" and .state == "running" and .clean == false and
		.why == "no snapshot '"'"'s1'"'"'" and .session == "free" and .last_revert_ms == null and
		.host == "local"' "$tmp/out" >/dev/null || fail "JSON content"
	jq -e '.hosts == [{"name":"local","uri":"test:///default","boxes":1,"busy":0,
		"enabled":true,"reachable":true,"error":null}]' "$tmp/out" >/dev/null ||
		fail "JSON hosts"
else
	echo "note: jq not installed, JSON only checked for its shape"
	grep -q '^{"boxes":\[' "$tmp/out" && tail -n1 "$tmp/out" | grep -q '^]}$' &&
		grep -q '^"hosts":\[' "$tmp/out" ||
		fail "JSON shape"
fi
"$ctl" status --config "$c" >"$tmp/out" 2>"$tmp/err"
grep -Eq "^host local \(test:///default\): 1 box, 0 in use, reachable\$" "$tmp/out" ||
	fail "the local host's summary line"

# several hosts: the box on [host:hv2] (the test driver again, as a second
# host), a third host that cannot be reached: only its box suffers
printf '[host:hv2]\nuri = test:///default\n[host:hv3]\nuri = qemu+unix:///system?socket=%s/none.sock\n[user:%s]\ndomain = test\nhost = hv2\n' \
	"$tmp" "$me" >"$c/policy.d/10.conf"
"$ctl" status --config "$c" >"$tmp/out" 2>"$tmp/err" || fail "status on two hosts exit $?"
grep -Eq "^$me +test +hv2 +running " "$tmp/out" || fail "the box on hv2 not shown with its host"
grep -Eq "^host hv2 \(test:///default\): 1 box, 0 in use, reachable\$" "$tmp/out" ||
	fail "hv2's summary line"
grep -Eq "^host local .*: 0 boxes, 0 in use, not asked\$" "$tmp/out" || fail "local's summary (no box there)"
grep -Eq "^host hv3 .*: 0 boxes, 0 in use, not asked\$" "$tmp/out" || fail "hv3's summary (no box there)"
printf '[host:hv3]\nuri = qemu+unix:///system?socket=%s/none.sock\n[user:%s]\ndomain = test\nhost = hv3\n' \
	"$tmp" "$me" >"$c/policy.d/10.conf"
"$ctl" status --config "$c" >"$tmp/out" 2>"$tmp/err"; [ $? = 1 ] || fail "status with an unreachable host did not exit 1"
grep -Eq "^$me +test +hv3 +host unreachable " "$tmp/out" || fail "the box on hv3 not shown as unreachable"
grep -Eq "^host hv3 .*: 1 box, 0 in use, UNREACHABLE\$" "$tmp/out" || fail "hv3's summary not UNREACHABLE"
grep -q "host hv3 is unreachable" "$tmp/err" || fail "no message that hv3 is unreachable"
"$ctl" status --config "$c" --json >"$tmp/out" 2>"$tmp/err"
if command -v jq >/dev/null 2>&1; then
	jq -e '(.boxes[0].state == "host unreachable") and (.hosts[] | select(.name == "hv3") |
		.reachable == false and (.error | test("unreachable")))' "$tmp/out" >/dev/null ||
		fail "JSON of an unreachable host"
fi

printf '[gate]\nuri = test:///default\n' >"$c/gate.conf"
"$ctl" status --config "$c" --bogus >"$tmp/out" 2>&1; [ $? = 2 ] || fail "bad option not a usage error"

[ "$fails" -eq 0 ] && echo "ctlstatustest: ok"
[ "$fails" -eq 0 ]
