#!/bin/bash
# SPDX-License-Identifier: MIT
# image.sh: the real Debian box, from image build to logins through the
# broker and through a real sshd.
#  - yolo-gatectl image build, cached by its inputs hash (image build
#    --inputs-hash: builder script, suite, packages, size) in
#    $YG_IMAGE_CACHE/<hash> (default /var/cache/yolo-gate-ci/images, which
#    CI may keep); image build keeps an up-to-date image and refuses one whose
#    files no longer match its manifest, which is then rebuilt here;
#  - image check on it: every point of the guest contract ok; image check
#    on the tiny guest with a key directory it lacks: reported missing;
#  - provision with the cloud template (TCG): boot, agent, snapshot, paused;
#  - a login through the broker lands at agent@yolo-box, keys in
#    /run/yolo/keys.env (the agent's) on a root-owned tmpfs and in the shell's
#    environment, python3 and git work, and the broker sets the guest clock
#    after READY: the user's date is within 2 s of the host's;
#  - a login through sshd (login shell yolo-shell) to the same box, reverted
#    in between: the key in the environment, python3, git.
# Timings: image_build (cold) or image_cache_verify, image_check,
# prov_boot_to_agent, prov_snapshot, prov_revert, login_ready, clock_set,
# logout_revert, ssh_login, real_warm, real_pfloor and real_pfloor_held (3
# each: a warm login to the first echo with the console held since the
# logout, bench/floor's physical floor, and that floor with the console
# opened ahead), real_warm_fresh (one warm login that opens the console).
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib-e2e.sh"

yg_init_guest
e2e_init
e2e_install_shell
command -v jq >/dev/null || yg_fail "this test needs jq (apt-get install jq)"
ctl=$top_builddir/src/ctl/yolo-gatectl
client=$top_builddir/tests/integration/gatedclient
yg_require_built "$ctl" "$client" "$top_builddir/src/gated/yolo-gated"
export YG_GUEST_DIR=$top_srcdir/guest
# the image gets the yolo-boxd of this build (part of its inputs hash)
export YG_BOXD=$top_builddir/guest/boxd/yolo-boxd

# ---- the image, cached by its inputs
cache=${YG_IMAGE_CACHE:-/var/cache/yolo-gate-ci/images}
hash=$("$ctl" image build --inputs-hash) || yg_fail "image build --inputs-hash failed"
img=$cache/$hash/yg-ci
# verified: the manifest's inputs are ours, its three files are the ones built
verify() {
	[ -f "$img/manifest" ] && grep -qx "inputs=$hash" "$img/manifest" &&
		awk '$1 == "sha256" { print $3 "  " $2 }' "$img/manifest" |
		(cd "$img" && sha256sum --status -c -)
}
mkdir -p "$cache"
(
	flock 9	# one build at a time; a second run waits and reuses it
	t0=$(yg_now_ms)
	# image build --update keeps an up-to-date image and rebuilds one whose
	# files no longer match its manifest
	"$ctl" image build --out "$cache/$hash" --update yg-ci > "$YG_TMP/build.log" 2>&1 ||
		{ cat "$YG_TMP/build.log" >&2; yg_fail "image build failed"; }
	cat "$YG_TMP/build.log" >&2
	if grep -q 'is up to date' "$YG_TMP/build.log"; then
		yg_timing image_cache_verify "$(yg_since "$t0")"
	else
		yg_timing image_build "$(yg_since "$t0")"
	fi
	verify || yg_fail "the image does not match its manifest"
	# older images of this cache, unused for a week
	find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$hash" -mtime +7 \
		-exec rm -rf {} + 2>/dev/null || true
) 9> "$cache/.lock" || exit 1
touch "$cache/$hash"
printf 'image: %s, qcow2 %s MiB (disk %s), rootfs %s MiB, %s packages\n' "$img" \
	"$(( $(stat -c %s "$img/yg-ci.qcow2") >> 20 ))" "$(sed -n 's/^size=//p' "$img/manifest")" \
	"$(sed -n 's/^rootfs_mib=//p' "$img/manifest")" "$(grep -c '^package ' "$img/manifest")"

# ---- image check, in the background while the box is provisioned (both
# are cold boots; each QEMU is one TCG thread, the host has two cores)
t_check=$(yg_now_ms)
"$ctl" image check --uri "$YG_URI" --virt-type qemu --boot-timeout 300 "$img" \
	> "$YG_TMP/check.out" 2> "$YG_TMP/check.err" &
check_pid=$!
yg_on_cleanup "kill $check_pid 2>/dev/null; wait $check_pid 2>/dev/null"

# the tiny guest lacks the key directory asked for: missing, exit 1
qemu-img create -q -f qcow2 "$YG_TMP/empty.qcow2" 64M
chmod 0755 "$YG_TMP"
rc=0
"$ctl" image check --uri "$YG_URI" --virt-type qemu --boot-timeout 120 \
	--kernel "$YG_GUEST_KERNEL" --initrd "$YG_GUEST_INITRD" --cmdline 'console=ttyS0 quiet panic=-1' \
	--key-dir /run/yolo/none "$YG_TMP/empty.qcow2" > "$YG_TMP/tiny.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || yg_fail "image check of the tiny guest without the key directory exited $rc, not 1: $(cat "$YG_TMP/tiny.out")"
grep -q '^missing  key tmpfs .*/run/yolo/none does not exist at boot' "$YG_TMP/tiny.out" ||
	yg_fail "image check did not report the missing key directory: $(cat "$YG_TMP/tiny.out")"
grep -q '^ok       serial console  sh as root' "$YG_TMP/tiny.out" ||
	yg_fail "image check did not see the tiny guest's root shell on ttyS0: $(cat "$YG_TMP/tiny.out")"

# ---- provision with the cloud template
user=ygimg$$
box=yg-img-$$
images=$YG_IMAGES/img-$$
conf=$YG_TMP/conf
run=$YG_TMP/run
sock=$YG_TMP/gated.sock
log=$YG_TMP/gated.log
e2e_user "$user" "$E2E_SHELL"
yg_service_user "ygimgs$$"
yg_gate_conf "$conf" "run_dir = $run" "service_user = $YG_SVC"
yg_user_policy "keys = $conf/keys.d/%u.env" "inject_owner = agent" "linger = 20s"
mkdir -p "$conf/keys.d" "$images"
secret=sk-img-$RANDOM$RANDOM
printf 'YG_TEST_KEY=%s\n' "$secret" > "$conf/keys.d/$user.env"
chmod 0600 "$conf/keys.d/$user.env"
chown "$YG_SVC" "$conf/keys.d/$user.env"
# the box goes with yg_cleanup's own (after the broker has stopped), its
# overlay with the images directory and its pool
YG_BOXES+=("$box")
yg_on_cleanup "yg_pool_forget $images; rm -rf $images"
"$ctl" provision --config "$conf" --base "$img/yg-ci.qcow2" \
	--template "$top_srcdir/src/ctl/templates/cloud.xml" --virt-type qemu \
	--kernel "$img/vmlinuz" --initrd "$img/initrd.img" --images "$images" \
	--boot-timeout 300 "$user" > "$YG_TMP/prov.out" 2> "$YG_TMP/prov.err" ||
	{ cat "$YG_TMP/prov.err" >&2; yg_fail "provision with the cloud template failed" "$box"; }
cat "$YG_TMP/prov.err" >&2
stepsecs() { sed -n "s/.*$1.* \.\.\. \([0-9.]*\) s$/\1/p" "$YG_TMP/prov.err" | head -n 1; }
yg_timing prov_boot_to_agent "$(awk -v a="$(stepsecs booting)" -v b="$(stepsecs 'waiting for the guest agent')" 'BEGIN { print a + b }')"
yg_timing prov_snapshot "$(stepsecs 'taking snapshot')"
yg_timing prov_revert "$(stepsecs reverting)"
yg_expect_clean "$box"

# ---- image check's verdict (it ran meanwhile)
wait "$check_pid" || { cat "$YG_TMP/check.err" "$YG_TMP/check.out" >&2; yg_fail "image check of the built image failed"; }
yg_timing image_check "$(yg_since "$t_check")"
cat "$YG_TMP/check.out"
for point in boot 'guest agent' 'serial console' 'key tmpfs' clock; do
	grep -q "^ok       $point " "$YG_TMP/check.out" ||
		yg_fail "image check did not report '$point' ok: $(cat "$YG_TMP/check.out")"
done
grep -q '^ok       serial console  bash as agent (uid 1000)' "$YG_TMP/check.out" ||
	yg_fail "the serial console is not the agent's bash: $(cat "$YG_TMP/check.out")"

# ---- a login through the broker
yg_gated_start "$conf" "$sock" "$log"
as_user() { setpriv --reuid="$user" --regid=nogroup --clear-groups "$@"; }
P='agent@yolo-box:~$ '
t0=$(yg_now_ms)
# shellcheck disable=SC2016 # the $ are the guest shell's
as_user "$client" "$sock" open \
	send '\r' expect "$P" \
	send 'echo "K=$YG_TEST_KEY"\r' expect "K=$secret" \
	send 'echo "T=$TERM"\r' expect 'T=vt100' \
	send "python3 -c 'print(\"py\" + \"-ok\")'\r" expect 'py-ok' \
	send 'git --version\r' expect 'git version 2.' \
	send 'echo "fs=$(stat -f -c %T /run/yolo) own=$(stat -c %U:%a /run/yolo) f=$(stat -c %U:%a /run/yolo/keys.env)"\r' \
	expect 'fs=tmpfs own=root:711 f=agent:600' \
	send 'id -un; sudo -n true && echo sudo-"ok"\r' expect 'sudo-ok' \
	send 'sleep 8; echo "T=$(date +%s.%N)="\r' expect 'T=1' expect $'=\r' \
	eof > "$YG_TMP/login.out" 2> "$YG_TMP/console.out" &
login_pid=$!
yg_on_cleanup "kill $login_pid 2>/dev/null"
# READY: the box resumed, its yolo-boxd (or agent) answered, keys are in
for ((i = 0; i < 1200; i++)); do
	grep -q '^READY' "$YG_TMP/login.out" 2>/dev/null && break
	kill -0 "$login_pid" 2>/dev/null || break
	sleep 0.05
done
grep -q '^READY' "$YG_TMP/login.out" || yg_fail "no READY: $(cat "$YG_TMP/login.out")" "$box"
yg_timing login_ready "$(yg_since "$t0")"
# the clock: the snapshot's until the broker sets it (yolo-boxd's CLOCK in
# the login's round trip; the agent's right after READY)
for ((i = 0; i < 200; i++)); do
	grep -qE 'event=clock_(set|failed)' "$log" && break
	sleep 0.05
done
grep -q 'event=clock_set' "$log" ||
	yg_fail "the broker did not set the guest clock: $(grep -E 'event=clock' "$log")" "$box"
yg_timing clock_set "$(sed -n 's/.*event=clock_set .*ms_clock=\([0-9]*\).*/\1/p' "$log" |
	awk '{ printf "%.2f", $1 / 1000 }')"
# the user's date, 8 s later, seen as it arrives
for ((i = 0; i < 600; i++)); do
	g=$(tr -d '\r' < "$YG_TMP/console.out" | sed -n 's/.*T=\([0-9][0-9.]*\)=$/\1/p' | tail -n 1)
	[ -z "$g" ] || break
	kill -0 "$login_pid" 2>/dev/null || break
	sleep 0.05
done
h=$(date +%s.%N)
# the client may have printed it and ended between the last look and its check
[ -n "$g" ] || g=$(tr -d '\r' < "$YG_TMP/console.out" | sed -n 's/.*T=\([0-9][0-9.]*\)=$/\1/p' | tail -n 1)
[ -n "$g" ] || yg_fail "the box printed no date: $(cat "$YG_TMP/login.out" "$YG_TMP/console.out")" "$box"
awk -v g="$g" -v h="$h" 'BEGIN { d = g - h; if (d < 0) d = -d; exit !(d <= 2) }' ||
	yg_fail "the box's date $g is more than 2 s from the host's $h" "$box"
yg_log "date in the box: $(awk -v g="$g" -v h="$h" 'BEGIN { printf "%+.2f", g - h }') s from the host"
wait "$login_pid" || yg_fail "the login session failed: $(cat "$YG_TMP/login.out") $(tail -c 2000 "$YG_TMP/console.out")" "$box"
for ((i = 0; i < 600; i++)); do
	grep -q 'event=session_end' "$log" && break
	sleep 0.1
done
grep -E 'event=(session_ready|keys_wipe_failed)' "$log" | sed 's/^/broker: /' || true
ms=$(sed -n 's/.*event=reverted .*why=logout.* ms=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
[ -z "$ms" ] || yg_timing logout_revert "$(awk -v m="$ms" 'BEGIN { printf "%.2f", m / 1000 }')"
yg_expect_clean "$box"

# ---- a login through sshd: yolo-shell is the user's login shell
e2e_sshd "SetEnv YOLO_GATE_SOCKET=$sock"
t0=$(yg_now_ms)
# shellcheck disable=SC2016 # the $ are the guest shell's
# (ssh-session.exp takes regular expressions: the prompt's $ escaped)
e2e_ssh "$E2E_DIR/ssh.log" "$user" expect 'connected to' send '\r' expect 'agent@yolo-box:~\$ ' \
	send 'echo "K=$YG_TEST_KEY"\r' expect "K=$secret" \
	send 'echo "T=$TERM"\r' expect 'T=xterm\r' \
	send "python3 -c 'print(\"py\" + \"-ssh\")'\r" expect 'py-ssh' \
	send 'git --version\r' expect 'git version 2.' send '\x1d' eof ||
	e2e_fail_log "the login through sshd failed" "$E2E_DIR/ssh.log" "$box"
grep -q '^exit=0' "$E2E_DIR/ssh.log" || e2e_fail_log "the ssh session ended by ^] did not exit 0" "$E2E_DIR/ssh.log"
yg_timing ssh_login "$(yg_since "$t0")"
e2e_wait_clean "$box" 60 || yg_fail "$box is not clean 60 s after the ssh logout" "$box"
# ---- remote commands and file transfer on the real image (issue 14)
rc=0
out=$(e2e_ssh_cmd "$user" 'echo "K=$YG_TEST_KEY u=$(id -un)"; python3 -c "print(6*7)"; echo e2 >&2; exit 5' \
	2> "$YG_TMP/rerr") || rc=$?
[ "$rc" = 5 ] && [ "$out" = "K=$secret u=agent"$'\n'42 ] && grep -qx e2 "$YG_TMP/rerr" ||
	yg_fail "ssh CMD on the real image: status $rc, stdout '$out', stderr '$(cat "$YG_TMP/rerr")'" "$box"
head -c 3000000 /dev/urandom > "$YG_TMP/f.bin"
chmod 0644 "$YG_TMP/f.bin"
scp_opts=(-F /dev/null -i "$E2E_DIR/keys/$user.key" -P "$E2E_PORT" -o StrictHostKeyChecking=no
	  -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR)
timeout 120 scp "${scp_opts[@]}" "$YG_TMP/f.bin" "$user@127.0.0.1:f.bin" &&
	timeout 120 scp "${scp_opts[@]}" "$user@127.0.0.1:f.bin" "$YG_TMP/f.back" &&
	cmp -s "$YG_TMP/f.bin" "$YG_TMP/f.back" ||
	yg_fail "scp (SFTP) into the real image and back did not give the same 3 MB" "$box"
mkdir -p "$YG_TMP/proj/sub" && echo a > "$YG_TMP/proj/sub/a.txt"
timeout 120 rsync -a -e "ssh ${scp_opts[*]/-P/-p}" "$YG_TMP/proj/" "$user@127.0.0.1:work/" &&
	[ "$(e2e_ssh_cmd "$user" 'cat work/sub/a.txt')" = a ] ||
	yg_fail "rsync into the real image (then ssh cat) failed" "$box"
# git over ssh: clone a repository made in the box, push a commit back
e2e_ssh_cmd "$user" 'git init -q r && cd r && echo a > a && git add a &&
	git -c user.email=a@box -c user.name=a commit -qm one && echo made' | grep -qx made ||
	yg_fail "making a git repository in the box failed" "$box"
export GIT_SSH_COMMAND="ssh ${scp_opts[*]/-P/-p}"
timeout 120 git clone -q "$user@127.0.0.1:r" "$YG_TMP/r" &&
	echo b > "$YG_TMP/r/b" && git -C "$YG_TMP/r" add b &&
	git -C "$YG_TMP/r" -c user.email=h@host -c user.name=h commit -qm two &&
	timeout 120 git -C "$YG_TMP/r" push -q origin HEAD:refs/heads/from-host ||
	yg_fail "git clone from the box or push to it failed" "$box"
unset GIT_SSH_COMMAND
[ "$(e2e_ssh_cmd "$user" 'git -C r log --oneline from-host | wc -l')" = 2 ] ||
	yg_fail "the commit pushed to the box is not in its repository" "$box"
yg_log "ok: ssh CMD (status, stdout, stderr, key, python3), scp both ways, rsync, git clone and push on the real image"
e2e_wait_clean "$box" 90 || yg_fail "$box is not clean 90 s after its last remote command (linger 20s)" "$box"

# ---- the warm login against the physical floor on the real image: timings
# only (bench/analysis.md quotes them; targets live in docs/BENCHMARKS.md).
# As bench.sh: ptydrive types `echo Y$((6*7))Z` once yolo-shell is connected
# and stops at Y42Z; bench/floor is resume + console + wake + echo.
pd=$top_builddir/bench/ptydrive fl=$top_builddir/bench/floor
yg_require_built "$pd" "$fl"
# warm (timing real_warm): the console held since the previous logout
# (console_hold), 1.2 s after it; then the floors, woken (real_pfloor) and with the console
# opened ahead (real_pfloor_held), which take the console and revert behind
# the broker's back; then one warm login that opens it (real_warm_fresh).
warm_login() { # warm_login TIMING
	out=$("$pd" -t 60 expect attach 'connected to' probe done 'echo Y$((6*7))Z\r' Y42Z 200 \
		send '\x1d' wait end -- setpriv --reuid="$user" --regid=nogroup --clear-groups \
		env -i TERM=vt100 YOLO_GATE_SOCKET="$sock" "$E2E_SHELL") ||
		yg_fail "warm login ($1, ptydrive) on the real image failed: $out" "$box"
	yg_timing "$1" "$(sed -n 's/^done //p' <<< "$out" | awk '{ printf "%.3f", $1 / 1000 }')"
	e2e_wait_clean "$box" 60 || yg_fail "$box is not clean 60 s after a warm login ($1)" "$box"
}
for i in 1 2 3; do
	sleep 1.2	# QEMU's pty looks at a new reader once a second (bench/bench.sh)
	warm_login real_warm
done
grep 'event=session_ready' "$log" | tail -n 3 | grep -q 'console=held' ||
	yg_fail "no warm login on the real image took a held console: $(grep session_ready "$log" | tail -n 3)" "$box"
for i in 1 2 3; do
	for how in real_pfloor real_pfloor_held; do
		opt=()
		[ "$how" = real_pfloor ] || opt=(-p 1200)
		out=$("$fl" -c "$YG_URI" -t 60 "${opt[@]}" "$box") ||
			yg_fail "bench/floor ${opt[*]} on the real image failed: $out" "$box"
		yg_log "real image: $out"
		yg_timing "$how" "$(sed -n 's/.* total=\([0-9.]*\).*/\1/p' <<< "$out" | awk '{ printf "%.3f", $1 / 1000 }')"
		yg_virsh snapshot-revert "$box" clean-state --paused || yg_fail "revert after bench/floor failed" "$box"
	done
done
warm_login real_warm_fresh
grep -E 'event=session_ready' "$log" | tail -n 3 | sed 's/^/broker: /'
echo "image.sh: ok: image built or verified ($img), image check ok on it and missing on a tiny guest without the key directory, provisioned with the cloud template, login at agent@yolo-box with the keys on a tmpfs, python3, git, sudo, the clock set by the broker within 2 s of the host's; through sshd: key, python3, git"
