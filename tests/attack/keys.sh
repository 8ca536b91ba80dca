#!/bin/bash
# SPDX-License-Identifier: MIT
# keys.sh (attack suite, issue #13 items 8 and 9): where keys may land in the
# guest, and what of them the broker keeps.
# The box's snapshot "disk" has its virtio disk formatted (ext2) and mounted
# at /mnt/disk, /run/yolo replaced by a symlink to /mnt/disk/yolo, and a
# guest user agent (uid 1234). The broker runs as its service user, started
# as that user (as systemd does), with RLIMIT_CORE unlimited inherited.
#  1. inject_path = /run/yolo/keys.env (through the symlink to the disk):
#     the login fails with ERROR 9 (KEYS) naming the symlink;
#  2. inject_path = /mnt/disk/keys.env (a disk, not empty): refused, the
#     error says it is not a tmpfs and how to fix it;
#  3. inject_path = /mnt/disk/empty/keys.env, inject_owner = agent:agent: a tmpfs
#     is mounted on the empty directory; the file is there, agent's, 0600,
#     and not on the disk; meanwhile the broker (parent and session child)
#     has a core limit of 0, is not dumpable (its /proc files are root's),
#     and holds no copy of the key in its memory after the injection.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_box_broker ygk
out=$YG_TMP/out
secret=secret-$RANDOM$RANDOM$RANDOM
mkdir -p "$conf/keys.d"
printf 'YG_TEST_KEY=%s\n' "$secret" > "$conf/keys.d/$user.env"
chmod 0600 "$conf/keys.d/$user.env"
chown "$YG_SVC" "$conf/keys.d/$user.env"
as_user() { setpriv --reuid="$user" --regid=nogroup --clear-groups "$@"; }

# The "disk" snapshot.
t0=$(yg_now_ms)
# (one line: yg_guest_exec passes one argument a line)
setup='mke2fs /dev/vda > /dev/null && mkdir -p /mnt/disk && mount /dev/vda /mnt/disk'
setup+=' && mkdir /mnt/disk/yolo /mnt/disk/empty && rm -rf /run/yolo && ln -s /mnt/disk/yolo /run/yolo'
setup+=' && echo agent:x:1234:1234::/:/bin/sh >> /etc/passwd && echo agent:x:1234: >> /etc/group'
yg_virsh snapshot-revert "$box" clean-state --running || yg_fail "revert to clean-state failed" "$box"
yg_wait_agent "$box" 30 || yg_fail "the agent of $box did not answer after the revert" "$box"
[ "$(yg_guest_exec "$box" /bin/sh -c "$setup")" = 0 ] || yg_fail "the disk set-up failed in $box" "$box"
yg_virsh snapshot-create-as "$box" disk > /dev/null || yg_fail "snapshot disk of $box failed" "$box"
yg_virsh snapshot-revert "$box" disk --paused || yg_fail "revert to disk failed" "$box"
yg_timing setup_snapshot "$(yg_since "$t0")"

# The broker, started as its service user with core dumps allowed.
sock=$run/gated.sock
mkdir -p "$run"
chown "$YG_SVC:$(id -g "$YG_SVC")" "$run"
[ "$YG_SVC" = root ] || YG_GATED_AS=$YG_SVC
ulimit -c unlimited
yg_user_policy "snapshot = disk"
yg_gated_start "$conf" "$sock" "$log"
ulimit -c 0
reloads=0
policy() {
	yg_user_policy "snapshot = disk" "$@"
	kill -HUP "$YG_GATED_PID"
	reloads=$((reloads + 1))
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -c 'event=reloaded' "$log")" -ge "$reloads" ] && return 0
		sleep 0.1
	done
	yg_fail "the broker did not reload its policy"
}

# refused WHAT PATTERN: a login fails with ERROR 9 matching PATTERN, the
# box ends paused at its snapshot.
refused() {
	as_user timeout 120 "$client" "$sock" open eof > "$out" 2>/dev/null || true
	grep -q "^ERROR 9 .*$2" "$out" ||
		yg_fail "$1: the login did not fail with ERROR 9 (KEYS) saying '$2': $(cat "$out")" "$box"
	yg_log "$1: the user got: $(grep '^ERROR' "$out")"
	for ((i = 0; i < 300; i++)); do
		[ -z "$(pgrep -P "$YG_GATED_PID")" ] && break
		sleep 0.1
	done
	[ "$(yg_domstate "$box")" = "paused (from snapshot)" ] ||
		yg_fail "$1: $box is '$(yg_domstate "$box")' after the refused login" "$box"
}

# 1. A symlink on the path.
t0=$(yg_now_ms)
refused symlink "/run/yolo/keys.env in box $box has a symlink on its path"
yg_timing refused_symlink "$(yg_since "$t0")"

# 2. A disk that is not empty.
policy "inject_path = /mnt/disk/keys.env"
refused disk "/mnt/disk in box $box is not on a tmpfs and is not empty.*fix: set inject_path"

# 3. An empty directory on the disk gets a tmpfs; the owner is agent:agent.
policy "inject_path = /mnt/disk/empty/keys.env" "inject_owner = agent:agent"
f=/mnt/disk/empty/keys.env
# setpriv execs timeout, so $! is the process to signal
setpriv --reuid="$user" --regid=nogroup --clear-groups timeout 120 "$client" "$sock" open \
	send "stat -f -c t=%T ${f%/*}; stat -c o=%U:%G:%a $f\\r" expect 't=tmpfs' \
	expect 'o=agent:agent:600' \
	send "sync; grep -qF -f $f /dev/vda && echo on''disk || echo not''ondisk\\r" \
	expect 'notondisk' pause 30 eof > "$out" 2> "$YG_TMP/console" &
cpid=$!
for ((i = 0; i < 900; i++)); do
	grep -q '^EXPECT-\(OK\|FAIL\) notondisk' "$out" && break
	kill -0 "$cpid" 2>/dev/null || break
	sleep 0.1
done
grep -q '^EXPECT-OK t=tmpfs' "$out" || yg_fail "no tmpfs at ${f%/*}: $(cat "$out")" "$box"
grep -q '^EXPECT-OK o=agent:agent:600' "$out" ||
	yg_fail "$f is not agent's with mode 0600: $(cat "$out")" "$box"
grep -q '^EXPECT-OK notondisk' "$out" || yg_fail "the key reached the disk: $(cat "$out")" "$box"
child=$(pgrep -P "$YG_GATED_PID" | head -n 1)
[ -n "$child" ] || yg_fail "no session child while the session runs"

# The broker: no core file, not dumpable, no key left in its memory.
b64=$(printf 'YG_TEST_KEY=%s\n' "$secret" | base64 -w0)
for pid in "$YG_GATED_PID" "$child"; do
	grep -Eq '^Max core file size +0 +0 ' "/proc/$pid/limits" ||
		yg_fail "pid $pid: $(grep '^Max core' "/proc/$pid/limits")"
	uid=$(awk '$1 == "Uid:" { print $2 }' "/proc/$pid/status")
	[ "$uid" = 0 ] || [ "$(stat -c %u "/proc/$pid/environ")" = 0 ] ||
		yg_fail "pid $pid (uid $uid) is dumpable: /proc/$pid/environ is uid $(stat -c %u "/proc/$pid/environ")'s"
	# $user (in the policy) must be found: the scan reads the memory
	/usr/bin/python3 - "$pid" "$user" "$secret" "${b64:8:40}" <<'EOF' ||
import re, sys
pid, control = sys.argv[1], sys.argv[2].encode()
needles = [s.encode() for s in sys.argv[3:]]
found, seen = [], False
# Regions with nothing resident are skipped, and so are those over 4 GiB:
# the ASan build's shadow maps terabytes (noreserve) and holds metadata, not
# data. Each region is read in 4 MiB pieces that overlap by the longest needle.
CHUNK, big = 4 << 20, max(len(n) for n in needles + [control])
regions, cur = [], None
with open(f"/proc/{pid}/smaps") as smaps:
    for line in smaps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        if m:
            cur = [int(m.group(1), 16), int(m.group(2), 16), m.group(3), line.split()[-1] if len(line.split()) > 5 else "anon", 0]
            regions.append(cur)
        elif line.startswith("Rss:") and cur:
            cur[4] = int(line.split()[1])
with open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for a, b, perms, name, rss in regions:
        if not perms.startswith("r") or rss == 0 or b - a > (4 << 30):
            continue
        off, tail = a, b""
        while off < b:
            try:
                mem.seek(off)
                data = tail + mem.read(min(CHUNK, b - off))
            except (OSError, ValueError, OverflowError):
                break
            seen = seen or control in data
            found += [f"{n[:12]!r}... in {name}" for n in needles if n in data]
            tail, off = data[-big:], off + CHUNK
if found or not seen:
    print("; ".join(found) or f"the scan did not find {control!r}: it read nothing")
    sys.exit(1)
EOF
		yg_fail "pid $pid holds a copy of the key after the injection"
done
yg_log "broker $YG_GATED_PID and child $child: core limit 0, not dumpable, no key in memory"
kill "$cpid" 2>/dev/null || true
wait "$cpid" 2>/dev/null || true
echo "keys.sh: ok: no key through a symlink or onto a disk, a tmpfs on an empty dir, inject_owner, the broker non-dumpable with no core and no key copy"
