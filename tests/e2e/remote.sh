#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/e2e/remote.sh: remote commands and file transfer through a real sshd
# into the box (issue 14): sshd runs `yolo-shell -c CMD` (and, for the sftp
# subsystem, `yolo-shell -c /usr/lib/openssh/sftp-server`), the broker runs
# CMD in the box over its exec channel (yolo-boxd of the tiny guest).
#
# Users, all with the built yolo-shell as login shell, each their own policy:
#   ygralice  linger = 0 (the default): every command starts a session that
#             is reverted when it ends;
#   ygrbob    linger = 10s: one command's files are there for the next;
#   ygrcarol  remote = no (no box is made for her: the refusal comes first).
# Scenarios:
#  1. `ssh host 'echo out; echo err >&2; exit 3'`: stdout exactly "out",
#     stderr "err" and no yolo-gate progress line (quiet), status 3;
#  2. stdin byte-exact: NUL bytes; 4 MiB of random bytes into the box (its
#     sha256 there) and back out (cmp);
#  3. `tar c | ssh host 'tar x'` (in one command: alice has no linger);
#  4. command not found: the guest shell's 127 and its stderr;
#  5. bob (linger): scp -O (legacy protocol) in, scp (SFTP, the default)
#     out, sftp -b, rsync -e ssh both ways, tar then cat in two commands,
#     the admin guide's rsync + ssh + scp workflow, a file of one command
#     read by the next; 10 s after the last command the box is clean again;
#  6. alice (linger = 0): a file of one command is gone in the next (the
#     box was reverted in between);
#  7. four concurrent commands of bob run at once in one session;
#  8. `ssh -tt host 'tty; stty size'`: a pty with the client's window size;
#  9. carol (remote = no): status 1 and the reason, for ssh and scp;
# 10. the audit log: exec_start and exec_end (status 3) of scenario 1, the
#     4 MiB counted, the sftp subsystem and the pty recorded;
# 11. the shipped sshd snippet's way (ForceCommand yolo-shell for a user
#     whose login shell is yolo-shell, SSH_ORIGINAL_COMMAND), on a second
#     port of the same sshd: a command and an sftp session.
set -euo pipefail
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/lib-e2e.sh"

: "${E2E_CMD_TIMEOUT:=90}"	# seconds for one ssh, scp, sftp or rsync

yg_init
e2e_init

# A missing prerequisite skips the test (77), or fails it under CI=true.
missing() {
	[ "${CI:-}" = true ] && yg_fail "$1; CI=true forbids skipping"
	yg_log "SKIP: $1"
	exit 77
}
for p in ssh scp sftp rsync jq tar cmp sha256sum; do
	command -v "$p" >/dev/null || missing "$p is not installed on this host"
done
# guest/tiny/build-guest.sh copies the host's file transfer programs into
# the guest: without them the guest has no scp, sftp-server or rsync.
for p in /usr/lib/openssh/sftp-server /usr/bin/scp /usr/bin/rsync; do
	[ -x "$p" ] || missing "$p is not installed (apt-get install openssh-sftp-server openssh-client rsync): the tiny guest gets its own from the host"
done

yg_start_libvirt
yg_guest_build
e2e_install_shell
[ -x "$YG_BIN_GATED" ] || yg_fail "$YG_BIN_GATED is not built; run make first"

alice=ygralice bob=ygrbob carol=ygrcarol
boxa=yg-e2e-$alice boxb=yg-e2e-$bob

# ---- broker user, policy, keys, audit log
e2e_broker_user yolo-gate-rtest
svc=$E2E_SVC
gated_opts=("${E2E_GATED_OPTS[@]}")
audit=$E2E_DIR/audit.jsonl
e2e_conf "$svc" "log_level = debug" "service_user = ${E2E_SYSUSERS[0]}" "audit_log = $audit"
install -m 0600 -o "$svc" /dev/null "$audit"
e2e_policy 10-remote.conf yg-e2e- "$alice"
# alice keeps the defaults (remote = yes, linger = 0): they are under test
printf '\n[user:%s]\nenabled = yes\nlinger = 10s\n\n[user:%s]\nenabled = yes\nremote = no\n' \
	"$bob" "$carol" >> "$E2E_CONF/policy.d/10-remote.conf"
for u in "$alice" "$bob"; do
	e2e_key "$u" "$svc" "OPENAI_API_KEY=sk-test-remote-$u"
done

yg_box_create "$boxa"
yg_box_create "$boxb"
e2e_user "$alice" "$E2E_SHELL"
e2e_user "$bob" "$E2E_SHELL"
e2e_user "$carol" "$E2E_SHELL"
e2e_gated "$E2E_CONF" "$E2E_SOCK" "${gated_opts[@]}"

# A second port of the same sshd, where yolo-shell is the ForceCommand (the
# shipped snippet, packaging/sshd/yolo-gate.conf). e2e_sshd's sftp subsystem
# is the external sftp-server, which sshd runs through the user's shell (-c).
fport=
for ((p = 22320; p < 22420; p++)); do
	ss -Htln "sport = :$p" | grep -q . || { fport=$p; break; }
done
[ -n "$fport" ] || yg_fail "no free TCP port in 22320..22419 on 127.0.0.1"
e2e_sshd "SetEnv YOLO_GATE_SOCKET=$E2E_SOCK" "Port $fport" \
	"Match LocalPort $fport" "ForceCommand $E2E_SHELL"
for ((i = 0; i < 50; i++)); do
	ss -Htln "sport = :$fport" | grep -q . && break
	sleep 0.1
done
ss -Htln "sport = :$fport" | grep -q . || yg_fail "sshd does not listen on its second port $fport"

W=$E2E_DIR/w
mkdir -m 0755 "$W"

# ssh_opts USER [PORT]: the client options for USER's key, in the array o
# (valid for ssh, scp and sftp alike: the port is -o Port=).
ssh_opts() {
	o=(-F /dev/null -i "$E2E_DIR/keys/$1.key" -o "Port=${2:-$E2E_PORT}"
	   -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	   -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=10)
}
# rssh USER CMD: `ssh -T USER@127.0.0.1 CMD`, stdin the caller's; PORT=N
# in the environment for the ForceCommand port.
rssh() {
	local o
	ssh_opts "$1" "${PORT:-}"
	timeout "$E2E_CMD_TIMEOUT" ssh -T "${o[@]}" "$1@127.0.0.1" "$2"
}
# run NAME USER CMD [STDIN_FILE]: rssh with stdin from STDIN_FILE (default
# /dev/null), stdout in $W/NAME.out, stderr in $W/NAME.err, status in rc.
run() {
	rc=0
	rssh "$2" "$3" < "${4:-/dev/null}" > "$W/$1.out" 2> "$W/$1.err" || rc=$?
}
# what NAME: the status and the start of the output of run NAME, for a message.
what() {
	printf 'status %s; stdout: %s; stderr: %s' "$rc" \
		"$(head -c 400 "$W/$1.out" | cat -v)" "$(head -c 800 "$W/$1.err" | cat -v)"
}
# is FILE TEXT: FILE holds exactly the bytes of printf %b TEXT.
is() { printf '%b' "$2" | cmp -s - "$1"; }

# ---- 1. stdout, stderr, status apart; quiet
t0=$(yg_now_ms)
run c1 "$alice" 'echo out; echo err >&2; exit 3'
yg_timing remote_cold_cmd "$(yg_since "$t0")"
[ "$rc" = 3 ] || yg_fail "1: 'exit 3' in the box gave status $rc, not 3: $(what c1)" "$boxa"
is "$W/c1.out" 'out\n' || yg_fail "1: stdout is not exactly 'out': $(what c1)" "$boxa"
grep -qx err "$W/c1.err" || yg_fail "1: stderr lacks the command's 'err': $(what c1)" "$boxa"
! grep -q '^yolo-gate:' "$W/c1.err" ||
	yg_fail "1: yolo-shell printed gate messages for a remote command (it must be quiet): $(what c1)"
yg_log "ok: 1. ssh CMD: stdout 'out', stderr 'err', status 3, no progress lines"

# ---- 2. stdin byte-exact, 4 MiB both ways
printf 'a\0b' > "$W/nul.in"
run c2a "$alice" cat "$W/nul.in"
[ "$rc" = 0 ] && cmp -s "$W/nul.in" "$W/c2a.out" ||
	yg_fail "2: 'a NUL b' through cat in the box came back different: $(what c2a)" "$boxa"
head -c 4194304 /dev/urandom > "$W/blob"
sum=$(sha256sum < "$W/blob" | cut -d' ' -f1)
t0=$(yg_now_ms)
run c2b "$alice" 'cat > blob && sha256sum blob >&2 && cat blob' "$W/blob"
secs=$(yg_since "$t0")
[ "$rc" = 0 ] || yg_fail "2: 4 MiB into the box and back failed: $(what c2b)" "$boxa"
grep -q "^$sum " "$W/c2b.err" ||
	yg_fail "2: the box received other bytes than the 4 MiB sent (sha256 sent $sum; box: $(head -c 200 "$W/c2b.err"))" "$boxa"
cmp -s "$W/blob" "$W/c2b.out" ||
	yg_fail "2: the 4 MiB came back out of the box different ($(stat -c %s "$W/c2b.out") bytes, sha256 $(sha256sum < "$W/c2b.out" | cut -d' ' -f1), sent $sum)" "$boxa"
yg_timing remote_4mib_in_and_out "$secs"
yg_log "ok: 2. stdin byte-exact: NUL bytes, 4 MiB in (sha256 in the box) and out (cmp)"

# ---- 3. tar into the box, in one command (linger = 0: the next is reverted)
mkdir -p "$W/src/d"
printf 'tar-ok-%s\n' "$$" > "$W/src/d/f.txt"
head -c 65536 /dev/urandom > "$W/src/d/bin"
binsum=$(sha256sum < "$W/src/d/bin" | cut -d' ' -f1)
rc=0
tar cf - -C "$W/src" d | rssh "$alice" 'mkdir -p t && tar xf - -C t && cat t/d/f.txt && sha256sum t/d/bin' \
	> "$W/c3.out" 2> "$W/c3.err" || rc=$?
[ "$rc" = 0 ] && is "$W/c3.out" "tar-ok-$$\n$binsum  t/d/bin\n" ||
	yg_fail "3: tar c | ssh 'tar x' did not unpack the files byte-exact: $(what c3)" "$boxa"
yg_log "ok: 3. tar c | ssh host 'tar x': files unpacked byte-exact"

# ---- 4. command not found
run c4 "$alice" 'no-such-command-yg'
[ "$rc" = 127 ] || yg_fail "4: a missing command gave status $rc, not 127: $(what c4)" "$boxa"
grep -q 'not found' "$W/c4.err" ||
	yg_fail "4: a missing command's stderr lacks the shell's 'not found': $(what c4)" "$boxa"
yg_log "ok: 4. command not found: 127 and the guest shell's message"

# ---- 6. linger = 0: the next command finds a reverted box
run c6a "$alice" 'echo x > f'
[ "$rc" = 0 ] || yg_fail "6: writing a file in the box failed: $(what c6a)" "$boxa"
run c6b "$alice" 'cat f'
[ "$rc" != 0 ] && ! grep -qx x "$W/c6b.out" ||
	yg_fail "6: with linger = 0 the file of the previous command survived into the next one: $(what c6b)" "$boxa"
yg_log "ok: 6. linger = 0: a command's file is gone in the next (reverted in between)"

# ---- 8. ssh -tt: a pty with the client's window size (expect gives ssh a
# terminal of 33 rows and 111 columns; no timeout(1): it would take ssh out
# of the terminal's foreground process group)
ssh_opts "$alice"
YG_TTY_CMD="stty rows 33 cols 111 && exec ssh -tt $(printf '%q ' "${o[@]}") $alice@127.0.0.1 $(printf '%q' 'tty; stty size')" \
expect -c '
	set timeout 90
	spawn -noecho bash -c $env(YG_TTY_CMD)
	expect {
		eof {}
		timeout { puts "\nTIMEOUT"; exit 1 }
	}
	puts "\nexit=[lindex [wait] 3]"
' > "$W/c8.log" 2>&1 || yg_fail "8: ssh -tt did not end within 90 s: $(cat -v "$W/c8.log")" "$boxa"
tr -d '\r' < "$W/c8.log" > "$W/c8.out"
grep -qx 'exit=0' "$W/c8.out" || yg_fail "8: ssh -tt 'tty; stty size' did not exit 0: $(cat -v "$W/c8.out")" "$boxa"
! grep -q 'not a tty' "$W/c8.out" && grep -Eqx '/dev/[A-Za-z]+(/?[0-9]+)?' "$W/c8.out" ||
	yg_fail "8: with ssh -tt the command has no terminal: $(cat -v "$W/c8.out")" "$boxa"
grep -qx '33 111' "$W/c8.out" ||
	yg_fail "8: the box's pty is not the client's 33x111 window: $(cat -v "$W/c8.out")" "$boxa"
yg_log "ok: 8. ssh -tt: $(grep -Ex '/dev/.*' "$W/c8.out" | head -n 1), 33 rows 111 columns"

# ---- 9. remote = no
run c9 "$carol" 'true'
[ "$rc" = 1 ] && grep -q 'remote = no' "$W/c9.err" ||
	yg_fail "9: remote = no: expected status 1 and the reason; $(what c9)"
ssh_opts "$carol"
rc=0
timeout "$E2E_CMD_TIMEOUT" scp -q "${o[@]}" "$W/nul.in" "$carol@127.0.0.1:x" 2> "$W/c9s.err" || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] ||
	yg_fail "9: scp of a remote = no user: status $rc (0: copied, 124: hung): $(cat -v "$W/c9s.err")"
yg_log "ok: 9. remote = no: ssh CMD refused (status 1, says why), scp refused"

# ---- 5. bob, linger = 10s: transfers, and a command's files for the next
ssh_opts "$bob"
xfer() {	# xfer WHAT PROGRAM ARG...: run a transfer client, fail with its stderr
	local what=$1
	shift
	timeout "$E2E_CMD_TIMEOUT" "$@" > "$W/x.out" 2> "$W/x.err" ||
		yg_fail "5: $what failed (status $?): $(head -c 800 "$W/x.err" | cat -v)" "$boxb"
}
head -c 1048576 /dev/urandom > "$W/sc.bin"
t0=$(yg_now_ms)
xfer "scp -O (legacy protocol) into the box" scp -O -q "${o[@]}" "$W/sc.bin" "$bob@127.0.0.1:scp-in.bin"
yg_timing remote_scp_legacy_1mib "$(yg_since "$t0")"
# the SFTP protocol is scp's default (OpenSSH >= 9.0)
xfer "scp (SFTP protocol) out of the box" scp -q "${o[@]}" "$bob@127.0.0.1:scp-in.bin" "$W/scp-back.bin"
cmp -s "$W/sc.bin" "$W/scp-back.bin" ||
	yg_fail "5: the file scp -O put in came back by scp (SFTP) different" "$boxb"
yg_log "ok: 5. scp -O into the box, scp (SFTP) back out under another name: same bytes"

printf 'put %s sftp-put.bin\nls -l\nget sftp-put.bin %s\n' "$W/sc.bin" "$W/sftp-got.bin" > "$W/batch"
xfer "sftp -b (put, ls, get)" sftp -b "$W/batch" "${o[@]}" "$bob@127.0.0.1"
grep -q 'sftp-put.bin' "$W/x.out" && grep -q 'scp-in.bin' "$W/x.out" ||
	yg_fail "5: sftp's ls does not list sftp-put.bin and the earlier scp-in.bin: $(head -c 800 "$W/x.out")" "$boxb"
cmp -s "$W/sc.bin" "$W/sftp-got.bin" || yg_fail "5: sftp get returned other bytes than sftp put sent" "$boxb"
yg_log "ok: 5. sftp -b: put, ls (sees the scp'd file too), get"

mkdir -p "$W/proj/sub/deep"
printf 'one\n' > "$W/proj/a file.txt"
head -c 200000 /dev/urandom > "$W/proj/sub/data.bin"
printf 'deep\n' > "$W/proj/sub/deep/x"
printf '#!/bin/sh\ntar cf out.tar sub && echo built\n' > "$W/proj/build.sh"
chmod 0755 "$W/proj/build.sh"
t0=$(yg_now_ms)
xfer "rsync -a -e ssh into the box" rsync -a -e "ssh ${o[*]}" "$W/proj/" "$bob@127.0.0.1:work/"
xfer "rsync -a -e ssh out of the box" rsync -a -e "ssh ${o[*]}" "$bob@127.0.0.1:work/" "$W/proj-back/"
yg_timing remote_rsync_both_ways "$(yg_since "$t0")"
diff -r "$W/proj" "$W/proj-back" > "$W/diff.out" 2>&1 ||
	yg_fail "5: rsync into the box and back changed the tree: $(head -c 800 "$W/diff.out")" "$boxb"
yg_log "ok: 5. rsync -a -e ssh into the box and back: diff -r clean"

# the admin guide's workflow: rsync, a build in the box, scp of its result
run c5w "$bob" 'cd work && ./build.sh'
[ "$rc" = 0 ] && is "$W/c5w.out" 'built\n' ||
	yg_fail "5: 'cd work && ./build.sh' after the rsync failed: $(what c5w)" "$boxb"
xfer "scp of work/out.tar out of the box" scp -q "${o[@]}" "$bob@127.0.0.1:work/out.tar" "$W/out.tar"
tar tf "$W/out.tar" | grep -qx 'sub/deep/x' ||
	yg_fail "5: the out.tar built in the box lacks sub/deep/x: $(tar tf "$W/out.tar" 2>&1 | head -n 5)" "$boxb"
yg_log "ok: 5. rsync proj/ lab:work/ && ssh lab 'cd work && ./build.sh' && scp lab:work/out.tar ."

rc=0
tar cf - -C "$W/src" d | rssh "$bob" 'mkdir -p t && tar xf - -C t' > "$W/c5t.out" 2> "$W/c5t.err" || rc=$?
[ "$rc" = 0 ] || yg_fail "5: tar c | ssh 'tar x' failed: $(what c5t)" "$boxb"
run c5c "$bob" 'cat t/d/f.txt'
[ "$rc" = 0 ] && is "$W/c5c.out" "tar-ok-$$\n" ||
	yg_fail "5: the next command does not see the files tar unpacked (linger = 10s): $(what c5c)" "$boxb"
yg_log "ok: 5. tar x in one command, cat in the next"

# ---- 7. four commands at once, one session (bob's is live: linger)
t0=$(yg_now_ms)
pids=()
for n in 1 2 3 4; do
	rssh "$bob" "sleep 2; echo $n" < /dev/null > "$W/c7.$n.out" 2> "$W/c7.$n.err" &
	pids+=($!)
done
started=$(yg_since "$t0")
for n in 1 2 3 4; do
	rc=0
	wait "${pids[$((n - 1))]}" || rc=$?
	[ "$rc" = 0 ] && is "$W/c7.$n.out" "$n\n" ||
		yg_fail "7: concurrent command $n: $(what "c7.$n")" "$boxb"
done
secs=$(yg_since "$t0")
yg_timing remote_4_concurrent "$secs"
awk -v s="$secs" 'BEGIN { exit !(s < 8) }' ||
	yg_fail "7: four 'sleep 2' commands took $secs s (>= 4 x 2 s): they ran one after the other" "$boxb"
yg_log "ok: 7. four 'sleep 2; echo N' at once (started within ${started} s): all printed N, status 0, $secs s in all"

# a file of one command is read by the next; then linger ends and the box
# is reverted, not before
run c5a "$bob" 'echo x > f'
[ "$rc" = 0 ] || yg_fail "5: writing a file in the box failed: $(what c5a)" "$boxb"
run c5b "$bob" 'cat f'
t_last=$(yg_now_ms)
[ "$rc" = 0 ] && is "$W/c5b.out" 'x\n' ||
	yg_fail "5: with linger = 10s the next command does not see the file: $(what c5b)" "$boxb"
e2e_wait_clean "$boxb" 30 ||
	yg_fail "5: $boxb is not paused from its snapshot 30 s after its last command (linger = 10s)" "$boxb"
secs=$(yg_since "$t_last")
awk -v s="$secs" 'BEGIN { exit !(s >= 8) }' ||
	yg_fail "5: $boxb was clean $secs s after its last command: linger = 10s did not keep the session" "$boxb"
yg_timing remote_linger_to_clean "$secs"
yg_log "ok: 5. linger = 10s: the next command saw the file; clean again $secs s after the last one"

# ---- 11. the sshd snippet's way: ForceCommand yolo-shell, login shell
# yolo-shell (sshd runs `yolo-shell -c yolo-shell`, SSH_ORIGINAL_COMMAND=CMD)
PORT=$fport run c11 "$alice" 'echo forced; exit 4'
[ "$rc" = 4 ] && is "$W/c11.out" 'forced\n' ||
	yg_fail "11: under ForceCommand yolo-shell, 'echo forced; exit 4' did not run in the box: $(what c11)" "$boxa"
ssh_opts "$alice" "$fport"
printf 'put %s f.bin\nget f.bin %s\n' "$W/sc.bin" "$W/forced-got.bin" > "$W/batch2"
xfer "sftp -b under ForceCommand yolo-shell" sftp -b "$W/batch2" "${o[@]}" "$alice@127.0.0.1"
cmp -s "$W/sc.bin" "$W/forced-got.bin" ||
	yg_fail "11: sftp put + get under ForceCommand returned other bytes" "$boxa"
yg_log "ok: 11. ForceCommand yolo-shell (SSH_ORIGINAL_COMMAND): a command and an sftp session"

# ---- 10. the audit log (jq -s: every query reads the whole file, so no
# pipe is cut short under pipefail)
# audit_first FILTER [JQ_ARG...]: the first event FILTER selects, or nothing
audit_first() {
	local f=$1
	shift
	jq -c -s "$@" "map(select($f)) | first // empty" "$audit"
}
jq -e -s length "$audit" > /dev/null || yg_fail "10: $audit is not JSON lines: $(head -c 800 "$audit")"
start=$(audit_first '.event == "exec_start" and .command == $c and .user == $u' \
	--arg c 'echo out; echo err >&2; exit 3' --arg u "$alice")
[ -n "$start" ] ||
	yg_fail "10: no exec_start with scenario 1's command in $audit: $(grep exec_ "$audit" | head -n 5)"
[ "$(jq -r '.box + " " + .pty' <<< "$start")" = "$boxa no" ] ||
	yg_fail "10: scenario 1's exec_start does not name box $boxa and pty no: $start"
end=$(audit_first '.event == "exec_end" and .session == $s and ($st == "" or .stream == $st)' \
	--arg s "$(jq -r .session <<< "$start")" --arg st "$(jq -r '.stream // ""' <<< "$start")")
[ -n "$end" ] || yg_fail "10: no exec_end for scenario 1's session in $audit: $(grep exec_end "$audit" | head -n 5)"
[ "$(jq -r '.status + " " + .user + " " + .box' <<< "$end")" = "3 $alice $boxa" ] ||
	yg_fail "10: scenario 1's exec_end lacks status 3, user $alice, box $boxa: $end"
jq -e '(.bytes_out | tonumber) > 0 and (.bytes_in | tonumber) >= 0 and (.ms | tonumber) >= 0' \
	<<< "$end" > /dev/null || yg_fail "10: scenario 1's exec_end lacks bytes_in, bytes_out or ms: $end"
[ -n "$(audit_first '.event == "exec_end" and .bytes_in == "4194304"')" ] ||
	yg_fail "10: no exec_end counts the 4 MiB of stdin of scenario 2 (bytes_in 4194304)"
[ -n "$(audit_first '.event == "exec_start" and .user == $u and .subsystem == "sftp"' --arg u "$bob")" ] ||
	yg_fail "10: no exec_start of the sftp subsystem for $bob"
[ -n "$(audit_first '.event == "exec_start" and .user == $u and .pty == "yes"' --arg u "$alice")" ] ||
	yg_fail "10: no exec_start with pty yes for scenario 8 (ssh -tt)"
yg_log "ok: 10. audit: exec_start/exec_end of scenario 1 (status 3), bytes counted, sftp and pty recorded"

e2e_wait_clean "$boxa" 60 || yg_fail "$boxa is not clean 60 s after its last command" "$boxa"
echo "remote.sh: ok"
