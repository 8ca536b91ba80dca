#!/bin/bash
# SPDX-License-Identifier: MIT
# flood.sh: connections held open by unprivileged users cannot take every
# process of the broker ([gate] max_clients, max_clients_per_user): the
# connection over a share gets an ERROR that says why and no process; root's
# requests (what sshd's PAM stack sends) are still answered; the refusals do
# not flood the log. Before the caps, four users held 2,805 children within
# 10 s and root's ACCOUNT got ECONNRESET.
set -euo pipefail
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

yg_require_root
client=$top_builddir/tests/integration/gatedclient
yg_require_built "$top_builddir/src/gated/yolo-gated" "$client"
py=/usr/bin/python3	# Debian's, which every user may run
[ -x "$py" ] || yg_fail "$py is needed (packaging/deps.sh installs python3)"
yg_init

ua=ygfa$$
ub=ygfb$$
yg_tmp_user "$ua"
yg_tmp_user "$ub"
yg_service_user ygfs$$
conf=$YG_TMP/conf
yg_gate_conf "$conf" "run_dir = $YG_TMP/run" "service_user = $YG_SVC" \
	"max_clients = 12" "max_clients_per_user = 8"
printf '[user:%s]\ndomain = yg-flood-a\n[user:%s]\ndomain = yg-flood-b\n' "$ua" "$ub" \
	> "$conf/policy.d/10-test.conf"
chmod 0644 "$conf/policy.d/10-test.conf"
chmod 0755 "$YG_TMP"
sock=$YG_TMP/gated.sock
log=$YG_TMP/gated.log
yg_gated_start "$conf" "$sock" "$log"

# hold USER N SECONDS OUT: N connections that say nothing; one line each in
# OUT: "refused" (an ERROR came: a frame of type 8), "held" (nothing came)
cat > "$YG_TMP/hold.py" <<'PY'
import socket, sys, time
path, n, secs, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
conns = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    conns.append(s)
time.sleep(1.5)
lines = []
for s in conns:
    s.setblocking(False)
    try:
        d = s.recv(4096)
    except BlockingIOError:
        d = None
    lines.append("held" if d is None else "refused" if len(d) > 4 and d[4] == 8 else "other")
with open(out + ".tmp", "w") as f:
    f.write("\n".join(lines) + "\n")
import os
os.rename(out + ".tmp", out)
time.sleep(secs)
PY
chmod 0644 "$YG_TMP/hold.py"
res=$YG_TMP/res
mkdir -m 1777 "$res"
hold() { setpriv --reuid="$1" --regid=nogroup --clear-groups "$py" "$YG_TMP/hold.py" "$sock" "$2" "$3" "$4" & }
wait_for() { for ((i = 0; i < 100; i++)); do [ -f "$1" ] && return 0; sleep 0.1; done; yg_fail "no result in $1"; }
count() { grep -c "^$1\$" "$2" || true; }

# 1. Per user: 10 connections of A, 8 are served, 2 refused.
hold "$ua" 10 20 "$res/a"
wait_for "$res/a"
[ "$(count held "$res/a")" = 8 ] && [ "$(count refused "$res/a")" = 2 ] ||
	yg_fail "user A: want 8 held, 2 refused: $(sort "$res/a" | uniq -c | tr '\n' ' ')"
setpriv --reuid="$ua" --regid=nogroup --clear-groups "$client" "$sock" account "$ua" \
	> "$YG_TMP/a9" 2>&1 || true
grep -q '^ERROR 6 you already have 8 connections' "$YG_TMP/a9" ||
	yg_fail "A's next connection did not hear why: $(cat "$YG_TMP/a9")"

# 2. In total: 12; B gets the 4 left, then refusals.
hold "$ub" 6 20 "$res/b"
wait_for "$res/b"
[ "$(count held "$res/b")" = 4 ] && [ "$(count refused "$res/b")" = 2 ] ||
	yg_fail "user B: want 4 held, 2 refused: $(sort "$res/b" | uniq -c | tr '\n' ' ')"

# 3. Root's ACCOUNT (sshd's PAM stack) is answered with every share taken.
"$client" "$sock" account "$ua" > "$YG_TMP/root" 2>&1 || true
grep -q '^POLICY 1 1' "$YG_TMP/root" || yg_fail "root's ACCOUNT was not answered: $(cat "$YG_TMP/root")"

# 4. Five refusals in a burst: one log line a second at most.
n=$(grep -c 'event=refused' "$log" || true)
[ "$n" -ge 1 ] && [ "$n" -le 3 ] || yg_fail "want 1..3 event=refused lines for 5 refusals, not $n: $(cat "$log")"
echo "flood.sh: ok: per-user and total caps hold, root is answered, $n refusal lines for 5 refusals"
