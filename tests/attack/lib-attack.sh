# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# tests/attack/lib-attack.sh: a broker on one box for the attack scripts.
# Source after tests/integration/lib.sh (yg_init, yg_start_libvirt and
# yg_guest_build done). Sets user, user2 (gated, no real box), box, svc, conf,
# secret, sock, gated_pid, glog, and defines as_user, as_user2, at_start,
# wait_log COUNT PATTERN [SECS], wait_idle [SECS] and ya_start_broker.
gated=$top_builddir/src/gated/yolo-gated
client=$top_builddir/tests/integration/gatedclient
ac=$top_builddir/tests/attack/attackclient
yg_require_built "$gated" "$client" "$ac"
user=yga$$
user2=ygb$$
box=yg-at-${YA_NAME:-x}-$$
gated_pid=
glog=$YG_TMP/gated.log
YG_GATED_LOG_LINES=60
yg_tmp_user "$user"
yg_tmp_user "$user2"
yg_service_user ygs$$
svc=$YG_SVC
stay_root=$YG_STAY_ROOT
as_user() { setpriv --reuid="$user" --regid=nogroup --clear-groups "$@"; }
as_user2() { setpriv --reuid="$user2" --regid=nogroup --clear-groups "$@"; }

conf=$YG_TMP/conf
run_dir=$YG_TMP/run
secret=secret-$RANDOM$RANDOM$RANDOM
mkdir -p "$conf/policy.d" "$conf/keys.d"
# POLICY_EXTRA: more lines for [user:$user]
ya_write_policy() {
	yg_gate_conf "$conf" "socket = $YG_TMP/unused.sock" "run_dir = $run_dir" \
		"service_user = $svc"
	cat > "$conf/policy.d/10-test.conf" <<EOT
[user:$user]
domain = $box
snapshot = ${YA_SNAPSHOT:-clean-state}
keys = $conf/keys.d/%u.env
agent_timeout = ${YA_AGENT_TIMEOUT:-60s}
# these tests count the broker's children (wait_idle): no console kept open
# after a logout (console_hold; tests/integration/warm.sh tests it)
console_hold = ${YA_CONSOLE_HOLD:-0}
${POLICY_EXTRA:-}
[user:$user2]
domain = yg-none-$$
EOT
	chmod 0644 "$conf/policy.d/10-test.conf"
}
ya_write_policy
printf 'YG_TEST_KEY=%s\n' "$secret" > "$conf/keys.d/$user.env"
chmod 0600 "$conf/keys.d/$user.env"
chown "$svc" "$conf/keys.d/$user.env" "$conf/keys.d"
chmod 0755 "$YG_TMP" "$conf" "$conf/policy.d"

sock=$YG_TMP/gated.sock
ya_start_broker() {
	yg_gated_start "$conf" "$sock" "$glog" --debug
	gated_pid=$YG_GATED_PID
}

# wait_log COUNT PATTERN [SECS]: until PATTERN is in the broker log COUNT times.
wait_log() {
	local n=$1 pat=$2 secs=${3:-60} i
	for ((i = 0; i < secs * 10; i++)); do
		[ "$(grep -c -- "$pat" "$glog")" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}
# wait_idle [SECS]: until the broker has no session child left.
wait_idle() {
	local secs=${1:-90} i
	for ((i = 0; i < secs * 10; i++)); do
		[ -z "$(pgrep -P "$gated_pid")" ] && return 0
		sleep 0.1
	done
	return 1
}
# wait_out FILE PATTERN [SECS]
wait_out() {
	local i
	for ((i = 0; i < ${3:-60} * 10; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# the broker log never holds a raw control character (escape, bell, CR...)
ya_log_clean() {
	if LC_ALL=C grep -n '[[:cntrl:]]' "$glog" | LC_ALL=C grep -v 'AddressSanitizer' | head -n 3 |
	   LC_ALL=C grep -q .; then
		yg_fail "the broker log has a raw control character: $(LC_ALL=C grep -n '[[:cntrl:]]' "$glog" | head -n 3 | cat -v)"
	fi
	if grep -q 'Sanitizer\|runtime error:' "$glog"; then
		yg_fail "the broker's log has a sanitizer report"
	fi
}

# ---- helpers of agent.sh, runfull.sh and libvirtd.sh ----
# ya_expect_at BOX SNAPSHOT: paused from SNAPSHOT (yg_expect_clean for a
# snapshot other than clean-state).
ya_expect_at() {
	local state
	state=$(yg_domstate "$1")
	[ "$state" = "paused (from snapshot)" ] ||
		yg_fail "$1 should be 'paused (from snapshot)' after the revert, but is '$state'" "$1"
	[ "$(yg_virsh snapshot-current --name "$1")" = "$2" ] ||
		yg_fail "the current snapshot of $1 is not $2" "$1"
}
# ya_kb PID FIELD: a /proc/PID/status field in kB (VmRSS, VmHWM), 0 if gone.
ya_kb() {
	awk -v f="$2:" '$1 == f { print $2; found = 1 } END { if (!found) print 0 }' \
		"/proc/$1/status" 2>/dev/null || echo 0
}
# ya_hwm_start FILE / ya_hwm_stop: sample the highest VmHWM (kB) of any
# session child of the broker into FILE every 50 ms (a child's own peak is
# gone with it, so this is the peak seen at the last sample before its exit).
ya_hwm_pid=
ya_hwm_start() {
	echo 0 > "$1"
	(
		max=0
		while :; do
			for p in $(pgrep -P "$gated_pid"); do
				v=$(ya_kb "$p" VmHWM)
				[ "$v" -le "$max" ] || { max=$v; echo "$max" > "$1"; }
			done
			sleep 0.05
		done
	) &
	ya_hwm_pid=$!
}
ya_hwm_stop() {
	[ -z "$ya_hwm_pid" ] || { kill "$ya_hwm_pid" 2>/dev/null; wait "$ya_hwm_pid" 2>/dev/null; } || true
	ya_hwm_pid=
}
yg_on_cleanup ya_hwm_stop
# ya_reload: rewrite the policy (ya_write_policy) and SIGHUP the broker; wait
# until it logged the reload.
ya_reload() {
	local n
	n=$(grep -c 'event=reloaded' "$glog" || true)
	ya_write_policy
	kill -HUP "$gated_pid"
	wait_log $((n + 1)) 'event=reloaded' 10 || yg_fail "the broker did not reload its policy"
}
# ya_restart_libvirtd: yg_restart_libvirtd (lib.sh); sets ya_down_s.
ya_restart_libvirtd() {
	yg_restart_libvirtd
	ya_down_s=$yg_down_s
}
