#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/soak.sh: many logins with faults injected at random points, then an
# audit of what they left behind (issue 13's soak). Root; `make soak`
# (SOAK_LOGINS=1000 by default; CI runs SOAK_LOGINS=150).
#
# SOAK_USERS users (default 3), each with a box of its own, log in over and
# over at once, half through the e2e sshd (ssh -tt, yolo-shell login shell)
# and half locally (yolo-shell on a pty), each login driven by bench/ptydrive:
#   prompt -> a probe of what an earlier session may have left
#             (SOAK:files:processes:keys:END) -> new dirt (a file in /tmp and a
#             background `sleep 1234`) -> ^] (logout).
# In SOAK_FAULT_PCT % of logins (default 30) one fault, at a random delay of
# 0-4 s after the client started (so it lands in any phase: revert, resume,
# keys, console, the session):
#   client   kill -9 of the client (ssh or yolo-shell)
#   sshd     kill -9 of sshd's session process of the user (ssh logins)
#   child    kill -9 of the broker's session child of the user's box
#   agent    SIGSTOP of the guest agent, from inside the session
# and, while the users run, a global fault every 25-50 s, in turn:
#   libvirtd restart of libvirtd
#   diskfull run_dir (a 4 MiB tmpfs) filled up for 5 s
# Reported (docs/SOAK.md; SOAK_OUT to change): dirty logins (the probe found
# a file, a process, or no key of this session), key bytes of any user in any
# host file afterwards, broker fds, children and run_dir entries against their
# start values, and failed logins whose user was told nothing. Exit 1 if any
# of those is not 0 (a soak that finds a defect fails). SOAK_KEEP=DIR keeps
# the transcripts, the per-login lines and the broker's log.
set -euo pipefail
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/e2e/lib-e2e.sh"
. "$top_srcdir/bench/lib-bench.sh"

N=${SOAK_LOGINS:-1000}
NUSERS=${SOAK_USERS:-3}
FAULT_PCT=${SOAK_FAULT_PCT:-30}
SEED=${SOAK_SEED:-$(( $(date +%s) % 32768 ))}
: "${SOAK_OUT:=$top_srcdir/docs/SOAK.md}"
soak_log() { printf 'soak: %s\n' "$*" >&2; }
bench_begin soak soak
RES=$YG_TMP/soak
mkdir -p "$RES/tr"
keep_results() {
	[ -z "${SOAK_KEEP:-}" ] || { mkdir -p "$SOAK_KEEP" && cp -r "$RES"/. "$E2E_DIR/gated.log" "$SOAK_KEEP"/ 2>/dev/null; }
}

# ---- users, broker (run_dir on a small tmpfs), sshd
e2e_broker_user ygsoak-svc
svc=$E2E_SVC
e2e_conf "$svc" "service_user = ${E2E_SYSUSERS[0]}"
conf=$E2E_CONF
sock=$E2E_SOCK
run=$E2E_DIR/run
mkdir -p "$run"
mount -t tmpfs -o "size=4m,mode=0755,uid=$(id -u "$svc"),gid=$(id -g "$svc")" yg-soak-run "$run" ||
	yg_fail "cannot mount a tmpfs on $run"
# results kept and run_dir unmounted before e2e_cleanup removes E2E_DIR
trap 'soak_rc=$?; set +e; keep_results; umount -l "$run" 2>/dev/null; (exit $soak_rc); e2e_cleanup' EXIT
USERS=()
for ((i = 1; i <= NUSERS; i++)); do USERS+=("ygsk$i"); done
e2e_policy 10-soak.conf yg-soak- "${USERS[@]}"
# A stopped agent (a fault) costs a logout this long, not e2e's 60 s.
sed -i 's/^agent_timeout = .*/agent_timeout = 10s/' "$conf/policy.d/10-soak.conf"
declare -A KEY
for u in "${USERS[@]}"; do
	e2e_user "$u" "$E2E_SHELL"
	KEY[$u]=SOAK_KEY_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
	( umask 077; printf 'SOAK_API_KEY=%s\n' "${KEY[$u]}" > "$conf/keys.d/$u.env" )
	chown "$svc:" "$conf/keys.d/$u.env"
done
GLOG=$E2E_DIR/gated.log
e2e_gated "$conf" "$sock" "${E2E_GATED_OPTS[@]}"
e2e_sshd "SetEnv YOLO_GATE_SOCKET=$sock"
box_of() { echo "yg-soak-$1"; }
pids=()
YG_BOXES+=($(for u in "${USERS[@]}"; do box_of "$u"; done))
for u in "${USERS[@]}"; do
	( YG_BOXES=(); yg_box_create "$(box_of "$u")" 256 ) > "$RES/create.$u.log" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || { cat "$RES"/create.*.log >&2; yg_fail "creating the soak boxes failed"; }; done

# ---- what the broker holds at rest
# (a box's .lock file stays, by design: flock(2) needs the file, an empty
# record means no holder)
# A child that only keeps a clean box's console open after a logout
# (console_hold: lock record holder "held", with its rendezvous socket) is at
# rest: it is not counted, nor is its socket; nor is the socket of a box
# whose lock is free (a held child killed with -9 leaves it; the box's next
# owner replaces it, as the .lock file stays).
held_pids() { cat "$run"/boxes/*.lock 2>/dev/null | awk '$1 == "yg-lock" && $4 == "held" { print $5 }'; }
busy_kids() {
	local k n=0 h
	h=" $(held_pids | tr '\n' ' ') "
	for k in $(pgrep -P "$E2E_GATED_PID" || true); do
		case $h in *" $k "*) ;; *) n=$((n + 1)) ;; esac
	done
	echo "$n"
}
held_socks() {
	local f
	for f in "$run"/boxes/*.lock; do
		[ -S "${f%.lock}.sock" ] || continue
		if awk '$1 == "yg-lock" && $4 == "held" { f = 1 } END { exit !f }' "$f" 2>/dev/null ||
		   flock -n "$f" true; then
			echo x
		fi
	done | wc -l
}
held() {  # fds children run_dir-entries
	printf '%s %s %s\n' "$(ls "/proc/$E2E_GATED_PID/fd" | wc -l)" "$(busy_kids)" \
		"$(( $(find "$run" -mindepth 2 -not -name '*.lock' | wc -l) - $(held_socks) ))"
}
# Until no session child runs and every box is paused from its snapshot.
idle() {
	local deadline=$(( $(yg_now_ms) + $1 * 1000 )) u ok
	while [ "$(yg_now_ms)" -lt "$deadline" ]; do
		ok=1
		[ "$(busy_kids)" = 0 ] || ok=0
		for u in "${USERS[@]}"; do
			[ "$(yg_domstate "$(box_of "$u")" 2>/dev/null)" = "paused (from snapshot)" ] || ok=0
		done
		[ "$ok" = 0 ] || return 0
		sleep 0.5
	done
	return 1
}
idle 120 || yg_fail "the boxes are not at rest before the soak"
read -r FD0 KIDS0 RUN0 < <(held)
soak_log "at rest: broker fds $FD0, children $KIDS0, run_dir entries $RUN0; seed $SEED"

# ---- one login: soak_login USER NUMBER; prints "user n method fault outcome ms"
#   outcome: clean | dirty | keyless | told (failed, the user was told why) |
#            silent (failed, told nothing) | killed (the fault killed the
#            client or its sshd: what the user sees is ssh's or nothing)
client_pid() {  # METHOD USER: the client process
	if [ "$1" = ssh ]; then pgrep -f "^ssh .*$E2E_DIR/keys/$2.key" | head -n 1
	else pgrep -u "$2" -f "^$E2E_SHELL" | head -n 1; fi
}
child_pid() {  # USER: the session child holding the user's box
	local f=$run/boxes/$(box_of "$1").lock
	[ -s "$f" ] && awk '$1 == "yg-lock" { print $5 }' "$f"
}
soak_login() {
	local u=$1 n=$2 method fault delay tag cmd=() pd t0 ms rc=0 out target=
	method=shell; [ $((RANDOM % 2)) = 0 ] || method=ssh
	fault=none
	if [ $((RANDOM % 100)) -lt "$FAULT_PCT" ]; then
		case $((RANDOM % 4)) in
		0) fault=client ;;
		1) fault=sshd; [ "$method" = ssh ] || fault=client ;;
		2) fault=child ;;
		3) fault=agent ;;
		esac
	fi
	delay=$((RANDOM % 4000))
	tag=$RES/tr/$u.$n
	if [ "$method" = ssh ]; then
		cmd=(ssh -tt -F /dev/null -i "$E2E_DIR/keys/$u.key" -p "$E2E_PORT"
		     -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
		     -o BatchMode=yes -o LogLevel=ERROR "$u@127.0.0.1")
	else
		cmd=(setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups
		     env -i TERM=vt100 YOLO_GATE_SOCKET="$sock" "$E2E_SHELL")
	fi
	local agent_stop=
	[ "$fault" != agent ] || agent_stop='kill -STOP $(pidof qemu-ga); '
	t0=$(yg_now_ms)
	"$PD" -t 60 -o "$tag" expect attach 'connected to' \
		probe ready 'echo Y$((6*7))Z\r' Y42Z 300 \
		send 'echo "SOAK:$(ls /tmp/soak-dirt.* 2>/dev/null | wc -l):$(pgrep -f "sleep 1234" | wc -l):$(grep -c SOAK_KEY_ /run/yolo/keys.env 2>/dev/null):E""ND"\r' \
		expect probe ':END' \
		send "touch /tmp/soak-dirt.\$\$; (sleep 1234 &); ${agent_stop}echo MA\"\"DE\\r" \
		expect made MADE send '\x1d' wait end \
		-- "${cmd[@]}" > "$tag.out" 2> "$tag.err" &
	pd=$!
	if [ "$fault" != none ] && [ "$fault" != agent ]; then
		sleep "$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 1000 }')"
		# (no target found is a miss, not an error: || true under set -e)
		case $fault in
		client) target=$(client_pid "$method" "$u") || true ;;
		sshd) target=$(pgrep -u "$u" -x sshd | head -n 1) || true ;;
		child) target=$(child_pid "$u") || true ;;
		esac
		if [ -n "$target" ] && kill -0 "$pd" 2>/dev/null; then
			kill -9 "$target" 2>/dev/null || target=
		else
			target=
		fi
		[ -n "$target" ] || fault=$fault-missed
	fi
	wait "$pd" || rc=$?
	ms=$(( $(yg_now_ms) - t0 ))
	local probe
	probe=$(grep -ao 'SOAK:[0-9]*:[0-9]*:[0-9]*:END' "$tag" | head -n 1 || true)
	if [ -n "$probe" ]; then
		IFS=: read -r _ files procs keys _ <<< "$probe"
		if [ "$files" != 0 ] || [ "$procs" != 0 ]; then out=dirty
		elif [ "$keys" != 1 ]; then out=keyless
		else out=clean; fi
	elif [ "$fault" = client ] || [ "$fault" = sshd ]; then
		out=killed
	elif grep -aq 'yolo-gate: ' "$tag" "$tag.err" 2>/dev/null; then
		out=told
	else
		out=silent
	fi
	printf '%s %s %s %s %s %s %s\n' "$u" "$n" "$method" "$fault" "$out" "$ms" "$rc"
}

worker() {  # USER COUNT
	local u=$1 i
	RANDOM=$(( (SEED + ${u#ygsk} * 7919) % 32768 ))
	for ((i = 1; i <= $2; i++)); do
		soak_login "$u" "$i" >> "$RES/logins"
	done
}

global_faults() {  # runs until killed: libvirtd restart, run_dir full, in turn
	local k=0 fill
	RANDOM=$SEED
	while :; do
		sleep $((25 + RANDOM % 26))
		if [ $((k % 2)) = 0 ]; then
			yg_restart_libvirtd 2>> "$RES/global.err"
			echo "libvirtd $(yg_now_ms) $yg_down_s" >> "$RES/global"
		else
			fill=$run/soak-fill
			dd if=/dev/zero of="$fill" bs=64k 2>/dev/null || true
			echo "diskfull $(yg_now_ms) $(stat -c %s "$fill")" >> "$RES/global"
			sleep 5
			rm -f "$fill"
		fi
		k=$((k + 1))
	done
}

: > "$RES/logins"
: > "$RES/global"
per=$(( (N + NUSERS - 1) / NUSERS ))
global_faults &
gpid=$!
stop_global() { kill "$gpid" 2>/dev/null || true; rm -f "$run/soak-fill"; }
yg_on_cleanup stop_global
wpids=()
for u in "${USERS[@]}"; do worker "$u" "$per" & wpids+=($!); done
for p in "${wpids[@]}"; do wait "$p" || yg_fail "a soak worker failed (see $RES/logins)"; done
kill "$gpid" 2>/dev/null || true
wait "$gpid" 2>/dev/null || true
rm -f "$run/soak-fill"
soak_log "$(wc -l < "$RES/logins") logins done in $(yg_since "$T_START") s"

# ---- the audit, once every session has ended
idle 180 || soak_log "the boxes did not all come to rest within 180 s"
read -r FD1 KIDS1 RUN1 < <(held)
# Key bytes anywhere on the host but the keys themselves.
leaks=0
: > "$RES/leaks"
for u in "${USERS[@]}"; do
	grep -rlaF --exclude-dir=keys.d "${KEY[$u]}" "$E2E_DIR" "$YG_TMP" /var/log /var/lib/libvirt \
		/var/lib/systemd/coredump /tmp /run 2>/dev/null | grep -v "^$RES/" >> "$RES/leaks" || true
done
leaks=$(sort -u "$RES/leaks" | wc -l)
count() { awk -v k="$1" -v c="$2" '$c == k' "$RES/logins" | wc -l; }
total=$(wc -l < "$RES/logins")
dirty=$(( $(count dirty 5) + $(count keyless 5) ))
silent=$(count silent 5)
faults=$(awk '$4 != "none"' "$RES/logins" | wc -l)
ok=1
[ "$dirty" = 0 ] && [ "$leaks" = 0 ] && [ "$silent" = 0 ] &&
	[ "$FD1" = "$FD0" ] && [ "$KIDS1" = "$KIDS0" ] && [ "$RUN1" = "$RUN0" ] || ok=0

{
	echo "# Fault soak"
	echo
	echo "Written by \`bench/soak.sh\` on $(date -u +%Y-%m-%d) (seed $SEED): $total logins of $NUSERS users at once,"
	echo "$FAULT_PCT % of them with a fault, on this machine (TCG, 256 MiB tiny guests). Reproduce:"
	echo "\`SOAK_LOGINS=$N SOAK_USERS=$NUSERS SOAK_FAULT_PCT=$FAULT_PCT SOAK_SEED=$SEED make soak\` as root in a build tree. $(yg_since "$T_START") s in all."
	echo
	echo "| what | result |"
	echo "|---|---|"
	echo "| dirty logins (found a file, a process or no key of this session) | $dirty |"
	echo "| key bytes found in a host file afterwards | $leaks files |"
	echo "| failed logins whose user was told nothing | $silent |"
	echo "| broker fds at rest, before / after | $FD0 / $FD1 |"
	echo "| broker children at rest, before / after | $KIDS0 / $KIDS1 |"
	echo "| run_dir entries at rest, before / after | $RUN0 / $RUN1 |"
	echo
	echo "Logins by fault and outcome (clean: the probe ran and found nothing; told: refused or cut"
	echo "off with a \`yolo-gate:\` message; killed: the fault killed the user's own client or sshd):"
	echo
	echo "| fault | logins | clean | told | killed | dirty | silent |"
	echo "|---|---|---|---|---|---|---|"
	for f in none client client-missed sshd sshd-missed child child-missed agent; do
		t=$(count "$f" 4)
		[ "$t" != 0 ] || continue
		row=$(awk -v f="$f" '$4 == f { c[$5]++ } END {
			printf "%d | %d | %d | %d | %d", c["clean"], c["told"], c["killed"], c["dirty"] + c["keyless"], c["silent"] }' "$RES/logins")
		echo "| $f | $t | $row |"
	done
	echo
	echo "Global faults while the users ran: $(grep -c '^libvirtd' "$RES/global" || true) libvirtd restarts,"
	echo "$(grep -c '^diskfull' "$RES/global" || true) times run_dir full for 5 s. Clean-login time p50"
	echo "$(awk '$5 == "clean" { print $6 }' "$RES/logins" | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }') ms"
	echo "(client start to ^] done, including the probe)."
} > "$SOAK_OUT"
cat "$SOAK_OUT" >&2
[ "$leaks" = 0 ] || { echo "soak: key bytes found in:" >&2; sort -u "$RES/leaks" >&2; }
[ "$silent" = 0 ] || { echo "soak: silent failures:" >&2; awk '$5 == "silent"' "$RES/logins" | head -n 10 >&2; }
[ "$dirty" = 0 ] || { echo "soak: dirty logins:" >&2; awk '$5 == "dirty" || $5 == "keyless"' "$RES/logins" | head -n 10 >&2; }
echo "soak: logins=$total faults=$faults dirty=$dirty leaks=$leaks silent=$silent fds=$FD0/$FD1 children=$KIDS0/$KIDS1 run_dir=$RUN0/$RUN1"
[ "$ok" = 1 ]
