#!/bin/bash
# SPDX-License-Identifier: MIT
# ctl.sh: yolo-gatectl provision / status / revert / sweep / keys /
# deprovision against a real libvirtd + QEMU (TCG) with the tiny guest.
# Root: it adds a temporary user, defines a domain, writes under
# $YG_IMAGES.  Everything is removed at the end, even on failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
yg_require_root
yg_init
command -v jq >/dev/null || yg_fail "this test needs jq (apt-get install jq)"

ctl=$top_builddir/src/ctl/yolo-gatectl
user=ygctl$$
dom=yg-it-ctl-$$
conf=$YG_TMP/conf
images=$YG_IMAGES/ctl-$$
run=$YG_TMP/run
base=$images/base.qcow2  # qemu must be able to read it
tpl=$top_srcdir/src/ctl/templates/tiny.xml

ctl_cleanup() {
	local rc=$?
	set +e
	yg_virsh destroy "$dom" >/dev/null 2>&1
	yg_virsh undefine "$dom" --snapshots-metadata >/dev/null 2>&1
	yg_pool_forget "$images"
	rm -rf "$images"
	[ "$rc" != 0 ] || rm -f "/var/log/libvirt/qemu/$dom.log"
	userdel "$user" >/dev/null 2>&1
	return "$rc"
}
# lib.sh's EXIT trap ends with exit; run ours first.
trap 'ctl_cleanup; yg_cleanup' EXIT

useradd --no-create-home --shell /usr/sbin/nologin "$user" ||
	yg_fail "useradd $user failed"
yg_policy_dir "$conf" "$run"
cat >"$conf/policy.d/10.conf" <<EOF
[user:$user]
domain = $dom
snapshot = clean-state
keys = $conf/keys.d/%u.env
EOF
chmod 644 "$conf/policy.d/10.conf"
"$ctl" check --config "$conf" >/dev/null || yg_fail "the test policy does not pass check"

yg_start_libvirt
yg_guest_build
mkdir -p "$images"
qemu-img create -q -f qcow2 "$base" 64M
chmod 644 "$base"

# has PATTERN CMD...: CMD's stdout+stderr has a line matching PATTERN (no
# grep -q in a pipeline: with pipefail, an early exit of grep fails it).
has() {
	local pat=$1
	shift
	"$@" >"$YG_TMP/has.out" 2>&1 || true
	grep -q -e "$pat" "$YG_TMP/has.out" || { cat "$YG_TMP/has.out" >&2; return 1; }
}

prov() {
	"$ctl" provision --config "$conf" --base "$base" --template "$tpl" \
		--virt-type qemu --kernel "$YG_GUEST_KERNEL" --initrd "$YG_GUEST_INITRD" \
		--memory 256 --disk-size 64M --images "$images" --boot-timeout 120 "$@" "$user"
}

# --- provision: overlay over the base, explicit backing format, clean box
t0=$(yg_now_ms)
prov >"$YG_TMP/prov.out" 2>"$YG_TMP/prov.err" ||
	{ cat "$YG_TMP/prov.err" >&2; yg_fail "provision failed" "$dom"; }
yg_timing ctl_provision "$(yg_since "$t0")"
cat "$YG_TMP/prov.err" >&2
grep -q "waiting for the guest agent of $dom \.\.\. [0-9.]* s" "$YG_TMP/prov.err" ||
	yg_fail "provision showed no timed progress for the agent wait"
yg_expect_clean "$dom"
info=$(qemu-img info --output=json -U "$images/$dom.qcow2")
[ "$(jq -r '."backing-filename-format"' <<<"$info")" = qcow2 ] ||
	yg_fail "the overlay's backing format is not recorded as qcow2: $info"
[ "$(jq -r '."backing-filename"' <<<"$info")" = "$base" ] ||
	yg_fail "the overlay is not backed by $base: $info"
has '<genid>' yg_virsh dumpxml "$dom" || yg_fail "the domain has no <genid/>"
# the overlay is a volume of the images directory's pool, autostarted
pool=$(yg_pool_name "$images")
has "^Autostart: *yes" yg_virsh pool-info "$pool" || yg_fail "provision made no autostarted pool $pool"
has "^ *$dom.qcow2 *$images/$dom.qcow2\$" yg_virsh vol-list "$pool" || yg_fail "the overlay is not a volume of $pool"

# --- status: clean and free; JSON parses
"$ctl" status --config "$conf" >"$YG_TMP/status" || yg_fail "status failed"
grep -E "^$user +$dom +local +paused +yes +- +free" "$YG_TMP/status" >/dev/null ||
	{ cat "$YG_TMP/status" >&2; yg_fail "status does not show $dom paused, clean, free"; }
"$ctl" status --config "$conf" --json >"$YG_TMP/status.json" || yg_fail "status --json failed"
jq -e --arg u "$user" '.boxes[] | select(.user == $u) | .clean == true and .state == "paused" and .session == "free"' \
	"$YG_TMP/status.json" >/dev/null ||
	{ cat "$YG_TMP/status.json" >&2; yg_fail "status --json is not valid or not clean"; }

# --- idempotent, and --force rebuilds
prov >"$YG_TMP/again" 2>&1 || { cat "$YG_TMP/again" >&2; yg_fail "second provision failed"; }
grep -q "box $dom already provisioned" "$YG_TMP/again" || yg_fail "second provision did not say already provisioned"
uuid=$(yg_virsh domuuid "$dom")
prov --force >"$YG_TMP/force" 2>&1 || { cat "$YG_TMP/force" >&2; yg_fail "provision --force failed" "$dom"; }
[ "$(yg_virsh domuuid "$dom")" != "$uuid" ] || yg_fail "provision --force did not rebuild the domain"
yg_expect_clean "$dom"

# --- a dirty box: provision refuses, revert cleans, status says why
yg_virsh resume "$dom" >/dev/null
prov >"$YG_TMP/dirty" 2>&1 && { cat "$YG_TMP/dirty" >&2; yg_fail "provision of a running box did not refuse"; }
grep -q "exists but is not clean (running)" "$YG_TMP/dirty" || { cat "$YG_TMP/dirty" >&2; yg_fail "provision refusal unclear"; }
has "no (running)" "$ctl" status --config "$conf" || yg_fail "status does not show the dirty box"
t0=$(yg_now_ms)
"$ctl" revert --config "$conf" "$user" || yg_fail "revert failed" "$dom"
yg_timing ctl_revert "$(yg_since "$t0")"
yg_expect_clean "$dom"
"$ctl" status --config "$conf" --json |
	jq -e '.boxes[0].last_revert_ms | type == "number"' >/dev/null ||
	yg_fail "status --json does not show the last revert time"

# --- revert refuses while a session holds the lock
exec 8>"$run/boxes/$dom.lock"
flock -n 8 || yg_fail "cannot take the test lock"
echo "yg-lock 1 $(date +%s) 0123456789abcdef 4242 -" >&8
has "session 0123456789abcdef (pid 4242)" "$ctl" status --config "$conf" ||
	yg_fail "status does not show the session holder"
"$ctl" revert --config "$conf" "$user" >"$YG_TMP/busy" 2>&1 && yg_fail "revert under a session did not refuse"
grep -q "in use by session 0123456789abcdef" "$YG_TMP/busy" || { cat "$YG_TMP/busy" >&2; yg_fail "busy refusal unclear"; }
# a shut-off box (a host restart) under a session: provision does not revert it
yg_virsh destroy "$dom" >/dev/null
prov >"$YG_TMP/offbusy" 2>&1 && yg_fail "provision reverted a box a session holds"
grep -q "in use by session 0123456789abcdef" "$YG_TMP/offbusy" || { cat "$YG_TMP/offbusy" >&2; yg_fail "provision's busy refusal unclear"; }
exec 8>&-

# --- a shut-off box, no session: provision reverts it and says so
prov >"$YG_TMP/off" 2>&1 || { cat "$YG_TMP/off" >&2; yg_fail "provision of a shut-off box failed" "$dom"; }
grep -q "box $dom is provisioned but shut off" "$YG_TMP/off" &&
	grep -q "box $dom already provisioned" "$YG_TMP/off" || { cat "$YG_TMP/off" >&2; yg_fail "provision of a shut-off box did not say what it did"; }
yg_expect_clean "$dom"

# --- sweep: reverts a resumed box, removes stale runtime files
yg_virsh resume "$dom" >/dev/null
: >"$run/sessions/deadbeef"
"$ctl" sweep --config "$conf" >"$YG_TMP/sweep" 2>&1 || { cat "$YG_TMP/sweep" >&2; yg_fail "sweep failed" "$dom"; }
yg_expect_clean "$dom"
[ ! -e "$run/boxes/$dom.lock" ] || yg_fail "sweep left the stale lock file"
[ ! -e "$run/sessions/deadbeef" ] || yg_fail "sweep left the stale session file"
has "box $dom is clean" "$ctl" sweep --config "$conf" || yg_fail "second sweep did not find the box clean"

# --- keys, then deprovision removes domain, overlay and key file
printf 'sk-test\n' | "$ctl" keys --config "$conf" set "$user" OPENAI_API_KEY || yg_fail "keys set failed"
[ "$("$ctl" keys --config "$conf" list "$user")" = OPENAI_API_KEY ] || yg_fail "keys list"
"$ctl" deprovision --config "$conf" --images "$images" "$user" || yg_fail "deprovision failed"
yg_virsh dominfo "$dom" >/dev/null 2>&1 && yg_fail "deprovision left the domain"
[ ! -e "$images/$dom.qcow2" ] || yg_fail "deprovision left the overlay"
yg_virsh vol-list "$pool" >"$YG_TMP/vols" || yg_fail "the pool $pool is gone"
grep -q "^ *base.qcow2 " "$YG_TMP/vols" || yg_fail "the pool lost the base image"
! grep -q "^ *$dom.qcow2 " "$YG_TMP/vols" || yg_fail "deprovision left the volume in $pool"
[ ! -e "$conf/keys.d/$user.env" ] || yg_fail "deprovision left the key file"
has "not provisioned" "$ctl" status --config "$conf" || yg_fail "status after deprovision"
echo "ctl.sh: all checks passed"
