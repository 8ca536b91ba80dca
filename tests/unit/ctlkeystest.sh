#!/bin/sh
# SPDX-License-Identifier: MIT
# ctlkeystest.sh: yolo-gatectl keys set/list/rm in a temporary config dir.
#
# No root needed: the temporary gate.conf makes the current user the
# service user ([gate] service_user = $(id -un)), which is the one case
# yolo-gatectl lets a non-root caller write a key file (the file must be
# owned by the service user).  As root, it also checks the chown to another
# service user (nobody) and, through setpriv, the "needs root" refusal.
set -u
ctl=${top_builddir:-.}/src/ctl/yolo-gatectl
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
fails=0
me=$(id -un)

fail() {
	echo "FAIL: $*"
	sed 's/^/  /' "$tmp/out" 2>/dev/null
	fails=$((fails + 1))
}

# expect STATUS PATTERN CMD...: exit status and a line of stdout+stderr
# (stdin: whatever the caller redirects).
expect() {
	want=$1 pat=$2
	shift 2
	"$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ] || ! grep -q -e "$pat" "$tmp/out"; then
		fail "$* -> exit $got (want $want, pattern '$pat')"
	else
		echo "ok: $*"
	fi
}

mkconf() { # mkconf DIR SERVICE_USER
	mkdir -p "$1/policy.d" && chmod 755 "$1" "$1/policy.d" &&
		printf '[gate]\nservice_user = %s\n' "$2" >"$1/gate.conf" &&
		printf '[user:%s]\nkeys = %s/keys.d/%%u.env\n' "$me" "$1" \
			>"$1/policy.d/10.conf" &&
		chmod 644 "$1/gate.conf" "$1/policy.d/10.conf"
}

c=$tmp/conf
kf=$c/keys.d/$me.env
mkconf "$c" "$me"

expect 0 "has no key file" "$ctl" keys --config "$c" list "$me"
printf 'sk-first-secret\n' | expect 0 "added OPENAI_API_KEY" \
	"$ctl" keys --config "$c" set "$me" OPENAI_API_KEY
[ "$(stat -c %a "$c/keys.d")" = 700 ] || fail "keys.d mode is $(stat -c %a "$c/keys.d"), want 700"
[ "$(stat -c %a "$kf")" = 600 ] || fail "key file mode is $(stat -c %a "$kf"), want 600"
[ "$(stat -c %U "$kf")" = "$me" ] || fail "key file owner is $(stat -c %U "$kf"), want $me"
grep -qx 'OPENAI_API_KEY=sk-first-secret' "$kf" || fail "value not written"

printf 'second' | expect 0 "added B_2" "$ctl" keys --config "$c" set "$me" B_2
printf 'sk-new\n' | expect 0 "replaced OPENAI_API_KEY" \
	"$ctl" keys --config "$c" set "$me" OPENAI_API_KEY
[ "$(grep -c '^OPENAI_API_KEY=' "$kf")" = 1 ] || fail "OPENAI_API_KEY set twice"
grep -qx 'OPENAI_API_KEY=sk-new' "$kf" || fail "value not replaced"
[ "$(head -n1 "$kf")" = "OPENAI_API_KEY=sk-new" ] || fail "replace moved the key"

# list prints names only, never values
"$ctl" keys --config "$c" list "$me" >"$tmp/list" 2>"$tmp/out"
printf 'OPENAI_API_KEY\nB_2\n' | cmp -s - "$tmp/list" || { cp "$tmp/list" "$tmp/out"; fail "list output"; }
grep -q 'sk-new' "$tmp/list" "$tmp/out" && fail "list shows a value"

# comments survive an edit
printf '# keep me\n' >>"$kf"
expect 0 "removed B_2" "$ctl" keys --config "$c" rm "$me" B_2
grep -qx '# keep me' "$kf" || fail "comment lost"
grep -q '^B_2=' "$kf" && fail "B_2 still there"
expect 1 "has no key B_2" "$ctl" keys --config "$c" rm "$me" B_2

# bad names and values; the file is unchanged afterwards
cp "$kf" "$tmp/before"
printf 'x\n' | expect 2 "not a valid key name" "$ctl" keys --config "$c" set "$me" 1BAD
printf 'x\n' | expect 2 "not a valid key name" "$ctl" keys --config "$c" set "$me" 'A-B'
printf 'two\nlines\n' | expect 1 "contains a newline" "$ctl" keys --config "$c" set "$me" K
printf 'a\rb' | expect 1 "contains a newline, CR" "$ctl" keys --config "$c" set "$me" K
printf 'a\000b' | expect 1 "NUL" "$ctl" keys --config "$c" set "$me" K
expect 1 "is empty" "$ctl" keys --config "$c" set "$me" K </dev/null
cmp -s "$kf" "$tmp/before" || fail "a refused set changed the file"
ls -a "$c/keys.d" | grep -q '\.tmp$' && fail "temporary file left behind"
expect 2 "usage:" "$ctl" keys --config "$c" set "$me"
expect 2 "usage:" "$ctl" keys --config "$c" frob "$me" X
expect 1 "no such user" "$ctl" keys --config "$c" list no-such-user-x
id nobody >/dev/null 2>&1 && [ "$me" != nobody ] &&
	expect 1 "user nobody has no box" "$ctl" keys --config "$c" list nobody

# an unsafe key file is refused with the fix
chmod 644 "$kf"
expect 1 "chmod" "$ctl" keys --config "$c" list "$me"
chmod 600 "$kf"

if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	c2=$tmp/conf2
	mkconf "$c2" nobody
	printf 'v\n' | expect 0 "added K" "$ctl" keys --config "$c2" set "$me" K
	[ "$(stat -c %U:%a "$c2/keys.d/$me.env")" = nobody:600 ] ||
		fail "owner/mode $(stat -c %U:%a "$c2/keys.d/$me.env"), want nobody:600"
	[ "$(stat -c %U:%a "$c2/keys.d")" = nobody:700 ] ||
		fail "keys.d owner/mode $(stat -c %U:%a "$c2/keys.d"), want nobody:700"
	if command -v setpriv >/dev/null 2>&1; then
		# as nobody, writing a file owned by root needs root
		printf 'v\n' | expect 1 "keys set needs root (it writes $kf owned by root" \
			setpriv --reuid=nobody --regid=nogroup --clear-groups \
			"$ctl" keys --config "$c" set "$me" K
	fi
fi

[ "$fails" -eq 0 ]
