#!/bin/bash
# SPDX-License-Identifier: MIT
# guest.sh: the test guest and clean-state snapshot behave as the box layer
# expects, checked with virsh and the guest agent only.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_init_guest

name=yg-it-guest-$$
yg_box_create "$name"

# Resume: the agent answers quickly, from the snapshot's memory.
t0=$(yg_now_ms)
yg_virsh resume "$name" >/dev/null || yg_fail "virsh resume $name failed" "$name"
yg_wait_agent "$name" 5 || yg_fail "guest-ping got no answer within 5 s of resuming $name" "$name"
yg_timing resume_to_agent "$(yg_since "$t0")"

# Write /tmp/canary through the agent.
reply=$(yg_agent "$name" '{"execute":"guest-file-open","arguments":{"path":"/tmp/canary","mode":"w"}}') ||
	yg_fail "guest-file-open of /tmp/canary failed in $name" "$name"
handle=$(jq -r .return <<< "$reply")
data=$(printf 'canary %s\n' "$$" | base64 -w0)
yg_agent "$name" "{\"execute\":\"guest-file-write\",\"arguments\":{\"handle\":$handle,\"buf-b64\":\"$data\"}}" >/dev/null ||
	yg_fail "guest-file-write to /tmp/canary failed in $name" "$name"
yg_agent "$name" "{\"execute\":\"guest-file-close\",\"arguments\":{\"handle\":$handle}}" >/dev/null ||
	yg_fail "guest-file-close of /tmp/canary failed in $name" "$name"
rc=$(yg_guest_exec "$name" /bin/test -e /tmp/canary) || yg_fail "guest-exec failed in $name" "$name"
[ "$rc" = 0 ] || yg_fail "/tmp/canary is missing in $name right after writing it (test -e: $rc)" "$name"

# Revert: paused from snapshot again, and the canary is gone.
t0=$(yg_now_ms)
yg_virsh snapshot-revert "$name" clean-state --paused ||
	yg_fail "virsh snapshot-revert $name clean-state --paused failed" "$name"
yg_timing revert_paused_dirty "$(yg_since "$t0")"
yg_expect_clean "$name"
t0=$(yg_now_ms)
yg_virsh resume "$name" >/dev/null || yg_fail "virsh resume $name after revert failed" "$name"
yg_wait_agent "$name" 5 || yg_fail "guest-ping got no answer within 5 s of resuming $name after revert" "$name"
yg_timing resume_to_agent_after_revert "$(yg_since "$t0")"
rc=$(yg_guest_exec "$name" /bin/test -e /tmp/canary) || yg_fail "guest-exec failed in $name" "$name"
[ "$rc" = 1 ] || yg_fail "/tmp/canary survived the revert of $name (test -e: $rc)" "$name"
echo "PASS: $name reverts to clean-state; agent answers after resume"
