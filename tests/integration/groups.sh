#!/bin/bash
# SPDX-License-Identifier: MIT
# groups.sh: the broker and `yolo-gatectl check --user` see the same groups
# (one group lookup, src/core/yg_groups.c) for a user in 300 groups, whose
# box comes from the last of them: the broker used to cut the list at 256
# groups and answered "not gated", while check said gated.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_require_root
client=$top_builddir/tests/integration/gatedclient
ctl=$top_builddir/src/ctl/yolo-gatectl
yg_require_built "$top_builddir/src/gated/yolo-gated" "$client" "$ctl"
yg_init

n=300
pre=ygq$$g
user=ygq$$u
groups=()
remove_groups() {
	local g
	for g in "${groups[@]}"; do groupdel "$g" 2>/dev/null || true; done
}
yg_on_cleanup remove_groups
for ((i = 1; i <= n; i++)); do
	groupadd "$pre$i" || yg_fail "groupadd $pre$i failed"
	groups+=("$pre$i")
done
yg_tmp_user "$user" -M -N -s /bin/false -G "$(IFS=,; echo "${groups[*]}")"
[ "$(id -G "$user" | wc -w)" -ge "$n" ] ||
	yg_fail "$user is in $(id -G "$user" | wc -w) groups, not $n or more"

conf=$YG_TMP/conf
yg_service_user ygq$$s
yg_gate_conf "$conf" "run_dir = $YG_TMP/run" "service_user = $YG_SVC"
cat > "$conf/policy.d/10-groups.conf" <<CONF
[group:$pre$n]
domain = yg-groups-$$
CONF
chmod 0644 "$conf/policy.d/10-groups.conf"
chmod 0755 "$YG_TMP"

out=$YG_TMP/check.out
"$ctl" check --config "$conf" --user "$user" > "$out" 2>&1 ||
	yg_fail "yolo-gatectl check --user $user failed: $(cat "$out")"
grep -q "^domain yg-groups-$$  # .*/10-groups.conf:2$" "$out" ||
	yg_fail "check --user does not give $user the box of [group:$pre$n]: $(cat "$out")"

sock=$YG_TMP/gated.sock
yg_gated_start "$conf" "$sock" "$YG_TMP/gated.log"
"$client" "$sock" account "$user" > "$out" || true
grep -q '^POLICY 1 1' "$out" ||
	yg_fail "the broker does not see $user's group $pre$n (check --user does): $(cat "$out")"
echo "groups.sh: ok: check --user and the broker agree for a user in $(id -G "$user" | wc -w) groups"
