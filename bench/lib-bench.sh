# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# bench/lib-bench.sh: what bench/bench.sh, bench/soak.sh and bench/hosts.sh
# share. Source after tests/integration/lib.sh and tests/e2e/lib-e2e.sh.
#   bench_begin NAME TARGET   root and ptydrive checked (NAME: the log prefix,
#                             TARGET: the make target that builds it), then
#                             the temp dir, e2e, services, libvirt, guest and
#                             test shell; sets PD and T_START
# The login helpers below read: SAMPLES (the "KEY VALUE" samples file), RES
# (its directory; traces in RES/tr), GLOG (the broker's log), sock (its
# socket), FL (bench/floor), BENCH_RETYPE_MS, box_of USER (the script's own)
# and YG_URI (the box's host: prefix a call with YG_URI=... for another).
#   bench_login_setup NAME TARGET   FL (bench/floor) checked, RES and an
#                             empty SAMPLES
#   rec KEY VALUE, nlines, count_ev EVENT, settle BOX, revert_paused BOX,
#   dirty BOX, phases CAT FROM, login CAT METHOD USER [HOLD_MS],
#   pfloor CAT BOX [OPTION...]
# BENCH_QUICK=1: a short run (QUICK=1); the retype period of the logins.
QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 1 ] || QUICK=0
: "${BENCH_RETYPE_MS:=200}"

bench_begin() {
	PD=$top_builddir/bench/ptydrive
	T_START=$(yg_now_ms)
	[ "$(id -u)" = 0 ] || { echo "$1: make $2 needs root (libvirtd, QEMU, sshd, test users)" >&2; exit 1; }
	[ -x "$PD" ] || { echo "$1: $PD is not built; run make $2" >&2; exit 1; }
	yg_init
	e2e_init
	bash "$top_srcdir/tests/start-services.sh" >&2
	yg_start_libvirt
	yg_guest_build >&2
	e2e_install_shell
}

bench_login_setup() {
	FL=$top_builddir/bench/floor
	[ -x "$FL" ] || { echo "$1: $FL is not built; run make $2" >&2; exit 1; }
	RES=$YG_TMP/bench
	mkdir -p "$RES/tr"
	SAMPLES=$RES/samples
	: > "$SAMPLES"
}

rec() { printf '%s %s\n' "$1" "$2" >> "$SAMPLES"; }
nlines() { wc -l < "$GLOG"; }
count_ev() { grep -c "event=$1" "$GLOG" || true; }

# Until every broker session has ended and BOX is paused from its snapshot.
settle() {
	local box=$1 deadline
	deadline=$(( $(yg_now_ms) + 120000 ))
	while [ "$(count_ev session_end)" -lt "$(count_ev session_ready)" ] ||
	      [ "$(yg_domstate "$box" 2>/dev/null)" != "paused (from snapshot)" ]; do
		[ "$(yg_now_ms)" -lt "$deadline" ] ||
			yg_fail "$box did not come back paused-from-snapshot within 120 s of a logout" "$box"
		sleep 0.1
	done
}
revert_paused() { yg_virsh snapshot-revert "$1" clean-state --paused; }
# A dirty box: running (a seed run leaves it so), not paused from its snapshot.
dirty() {
	case $(yg_domstate "$1") in
	running*) ;;
	*) yg_virsh resume "$1" >/dev/null ;;
	esac
}

# The broker's phase durations of the sessions logged since line $2, as CAT
# (a phase logged as "-" did not happen: no sample), and ms_ready = READY -
# resume, ms_agent (when the agent was waited for) + ms_inject + ms_console.
phases() {
	local cat=$1 from=$2
	tail -n +"$((from + 1))" "$GLOG" | grep -E 'event=session_(ready|end)' |
		awk -v c="$cat" '{
			s = $0; sum = 0; have = 0
			while (match(s, /ms_[a-z]+=[0-9]+/)) {
				split(substr(s, RSTART, RLENGTH), kv, "=")
				s = substr(s, RSTART + RLENGTH)
				print "phase." c "." kv[1], kv[2]
				if (kv[1] == "ms_agent" || kv[1] == "ms_inject" || kv[1] == "ms_console") {
					sum += kv[2]; have++
				}
			}
			if (/event=session_ready/ && have) print "phase." c ".ms_ready", sum
		}' >> "$SAMPLES" || true
}

# login CAT METHOD USER [HOLD_MS]: one timed login; records CAT ms.
#   METHOD: shell | ssh | seed | floor
login() {
	local cat=$1 method=$2 u=$3 hold=${4:-0} box attach tag out ms
	box=$(box_of "$u")
	tag=$RES/tr/$cat.$u.$(yg_now_ms)
	local steps=() cmd=()
	case $method in
	shell) attach='connected to'
		cmd=(setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups
		     env -i TERM=vt100 YOLO_GATE_SOCKET="$sock" "$E2E_SHELL") ;;
	ssh) attach='connected to'
		cmd=(ssh -tt -F /dev/null -i "$E2E_DIR/keys/$u.key" -p "$E2E_PORT"
		     -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
		     -o BatchMode=yes -o LogLevel=ERROR "$u@127.0.0.1") ;;
	seed) attach='Connected to domain'
		cmd=(sh -c "virsh -c '$YG_URI' snapshot-revert $box clean-state && exec virsh -c '$YG_URI' console --force $box") ;;
	floor) attach='Connected to domain'
		cmd=(sh -c "virsh -c '$YG_URI' resume $box >/dev/null && exec virsh -c '$YG_URI' console --force $box") ;;
	esac
	steps=(expect attach "$attach" probe done 'echo Y$((6*7))Z\r' Y42Z "$BENCH_RETYPE_MS")
	[ "$hold" = 0 ] || steps+=(sleep "$hold")
	steps+=(send '\x1d' wait end)
	if ! out=$("$PD" -t 120 -o "$tag" "${steps[@]}" -- "${cmd[@]}" 2> "$tag.err"); then
		cat "$tag.err" >&2
		rec "fail.$cat" 1
		return 1
	fi
	ms=$(sed -n 's/^done //p' <<< "$out")
	rec "$cat" "$ms"
	rec "attach.$cat" "$(sed -n 's/^attach //p' <<< "$out")"
	rec "logout.$cat" "$(sed -n 's/^end_after_send //p' <<< "$out")"
	printf '%s\n' "$ms"
}

# pfloor CAT BOX [OPTION...]: one bench/floor run on BOX (paused from its
# snapshot; options: -n no wake, -p MS the console opened MS ms ahead);
# records CAT (the total) and CAT.resume, .open, .wake, .hello, .echo, .typed
# (those it measured). A failure is recorded (fail.CAT), not fatal: the caller
# reverts.
pfloor() {
	local cat=$1 box=$2 tag out
	shift 2
	tag=$RES/tr/$cat.$(yg_now_ms)
	if ! out=$("$FL" -c "$YG_URI" -r "$BENCH_RETYPE_MS" -t 60 -o "$tag" "$@" "$box" 2> "$tag.err"); then
		cat "$tag.err" >&2
		rec "fail.$cat" 1
		return 0
	fi
	awk -v c="$cat" '$1 == "floor" {
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "mode" || kv[2] == "-") continue
			print (kv[1] == "total" ? c : c "." kv[1]), kv[2]
		}
	}' <<< "$out" >> "$SAMPLES"
}
