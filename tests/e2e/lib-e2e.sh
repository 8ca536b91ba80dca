# SPDX-License-Identifier: MIT
# tests/e2e/lib-e2e.sh: a real sshd on 127.0.0.1 for the end-to-end tier.
# Source after tests/integration/lib.sh and yg_init. Everything made here is
# undone by e2e_cleanup, which e2e_init chains before lib.sh's yg_cleanup.
#
#   e2e_init                  require root + expect, make E2E_DIR, set the trap
#   e2e_install_shell         copy the built yolo-shell to E2E_SHELL, in a 0755
#                             directory of its own per run (tests run concurrently)
#   e2e_user NAME SHELL       useradd NAME, generate its key: $E2E_DIR/keys/NAME.key
#   e2e_sshd [CONFIG_LINE...] write sshd_config (extra lines appended), start
#                             /usr/sbin/sshd -D -e on a free port: E2E_PORT
#   e2e_ssh LOG USER STEP...  run tests/e2e/ssh-session.exp, transcript in LOG
#   e2e_ssh_cmd USER CMD...   one non-interactive `ssh USER@127.0.0.1 CMD`
#   e2e_user_pids USER EXE    pids of USER's processes whose executable is EXE
#   e2e_sysuser NAME [GROUP]  useradd --system NAME (in GROUP when it exists)
#   e2e_wait_clean BOX SECS   until BOX is paused from its snapshot (1 on timeout)
#   e2e_gated CONFDIR SOCKET [OPTION...]  start yolo-gated, wait for its socket
#   e2e_broker_user NAME      the broker's user: E2E_SVC, E2E_GATED_OPTS
#   e2e_conf OWNER [LINE...]  policy dir E2E_CONF + gate.conf for E2E_SOCK
#   e2e_key USER OWNER LINE   E2E_CONF/keys.d/USER.env: LINE, 0600, OWNER's
#   e2e_policy FILE PREFIX USER...  policy.d/FILE: the tests' [defaults], a box
#                             PREFIX<user> for each USER
#   e2e_pam_stack ARGS...     sshd's PAM stack with pam_yolo_gate.so (socket
#                             E2E_SOCK, ARGS on its account line), bind-mounted
#                             over /etc/pam.d: call in a private mount
#                             namespace (see e2e_private_mounts)
#   e2e_private_mounts "$@"   first line of such a test: re-exec under unshare -m

# The binaries under test: the build tree by default; with YG_E2E_INSTALLED=1
# the installed package's (CI runs the suite both ways).
if [ "${YG_E2E_INSTALLED:-}" = 1 ]; then
	: "${YG_BIN_GATED:=/usr/sbin/yolo-gated}"
	unset YG_GATED_MODULE	# the package's own module, from its pkglibdir
	: "${YG_BIN_SHELL:=/usr/bin/yolo-shell}"
	: "${YG_PAM_MODULE:=/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)/security/pam_yolo_gate.so}"
else
	: "${YG_BIN_GATED:=$top_builddir/src/gated/yolo-gated}"
	: "${YG_BIN_SHELL:=$top_builddir/src/shell/yolo-shell}"
	: "${YG_PAM_MODULE:=$top_builddir/pam/.libs/pam_yolo_gate.so}"
fi
E2E_SHELL_DIR=
E2E_SHELL=
E2E_DIR=
E2E_PORT=
E2E_SSHD_PID=
E2E_GATED_PID=
E2E_USERS=()
E2E_SYSUSERS=()
E2E_MADE_RUN_SSHD=
_e2e_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

e2e_cleanup() {
	local rc=$? u
	set +e
	if [ -n "$E2E_SSHD_PID" ]; then
		kill "$E2E_SSHD_PID" 2>/dev/null
		wait "$E2E_SSHD_PID" 2>/dev/null
	fi
	e2e_stop_gated
	for u in "${E2E_USERS[@]}" "${E2E_SYSUSERS[@]}"; do
		# The test users' own leftovers (a yolo-shell cut off mid-session).
		for pid in $(pgrep -u "$u" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		userdel "$u" >/dev/null 2>&1 ||
			yg_log "could not remove test user $u; remove it with: userdel $u"
	done
	[ -z "$E2E_SHELL_DIR" ] || rm -rf "$E2E_SHELL_DIR"
	[ -z "$E2E_MADE_RUN_SSHD" ] || rmdir /run/sshd 2>/dev/null
	if [ "$rc" != 0 ] && [ -n "$E2E_DIR" ]; then
		for f in sshd.log gated.log; do
			[ -f "$E2E_DIR/$f" ] || continue
			echo "---- $f" >&2
			tail -n 40 "$E2E_DIR/$f" >&2
		done
	fi
	[ -z "$E2E_DIR" ] || rm -rf "$E2E_DIR"
	(exit "$rc")
	yg_cleanup
}

e2e_init() {
	yg_require_root
	echo "e2e: under test: $YG_BIN_GATED $YG_BIN_SHELL $YG_PAM_MODULE"
	if ! command -v expect >/dev/null; then
		[ "${CI:-}" = true ] && yg_fail "expect is not installed (apt-get install expect); CI=true forbids skipping"
		yg_log "SKIP: expect is not installed (apt-get install expect)"
		exit 77
	fi
	[ -x /usr/sbin/sshd ] || yg_fail "/usr/sbin/sshd is missing (apt-get install openssh-server)"
	# sshd reads authorized_keys as the user, and checks every directory
	# on the way from / (StrictModes): no world-writable /tmp here.
	E2E_DIR=$(mktemp -d /run/yg-e2e.XXXXXX)
	chmod 0755 "$E2E_DIR"
	mkdir -m 0755 "$E2E_DIR/keys" "$E2E_DIR/authorized"
	trap e2e_cleanup EXIT
}

e2e_install_shell() {
	local built=$YG_BIN_SHELL
	[ -x "$built" ] || yg_fail "$built is not built; run make first"
	mkdir -p /usr/local/lib
	E2E_SHELL_DIR=$(mktemp -d /usr/local/lib/yolo-gate-test.XXXXXX) ||
		yg_fail "cannot make a directory in /usr/local/lib for the test shell"
	chmod 0755 "$E2E_SHELL_DIR"
	E2E_SHELL=$E2E_SHELL_DIR/yolo-shell
	if [ "${YG_E2E_INSTALLED:-}" != 1 ] && [ -x "$top_builddir/libtool" ]; then
		"$top_builddir/libtool" --quiet --mode=install install -m 0755 "$built" "$E2E_SHELL" >/dev/null
	else
		install -m 0755 "$built" "$E2E_SHELL"
	fi || yg_fail "could not install $built as $E2E_SHELL"
}

e2e_user() {
	local name=$1 shell=$2
	if id "$name" >/dev/null 2>&1; then
		yg_fail "user $name already exists; a previous run left it (remove it: userdel $name)"
	fi
	useradd -M -d /nonexistent -s "$shell" "$name" ||
		yg_fail "useradd $name failed"
	E2E_USERS+=("$name")
	usermod -p '*' "$name"	# no password, but not "locked": pubkey only
	ssh-keygen -q -t ed25519 -N '' -C "$name@yolo-gate-e2e" -f "$E2E_DIR/keys/$name.key" ||
		yg_fail "ssh-keygen for $name failed"
	install -m 0644 "$E2E_DIR/keys/$name.key.pub" "$E2E_DIR/authorized/$name"
}

e2e_free_port() {
	local p
	for ((p = 22220; p < 22320; p++)); do
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	yg_fail "no free TCP port in 22220..22319 on 127.0.0.1"
}

e2e_sshd() {
	local conf=$E2E_DIR/sshd_config line i
	ssh-keygen -q -t ed25519 -N '' -f "$E2E_DIR/ssh_host_ed25519_key" ||
		yg_fail "ssh-keygen for the host key failed"
	if [ ! -d /run/sshd ]; then
		mkdir -m 0755 /run/sshd
		E2E_MADE_RUN_SSHD=1
	fi
	E2E_PORT=$(e2e_free_port)
	{
		echo "Port $E2E_PORT"
		echo "ListenAddress 127.0.0.1"
		echo "HostKey $E2E_DIR/ssh_host_ed25519_key"
		echo "PidFile $E2E_DIR/sshd.pid"
		echo "AuthorizedKeysFile $E2E_DIR/authorized/%u"
		echo "UsePAM yes"
		echo "PasswordAuthentication no"
		echo "KbdInteractiveAuthentication no"
		echo "PubkeyAuthentication yes"
		echo "PermitRootLogin no"
		echo "AllowUsers ${E2E_USERS[*]}"
		echo "PrintMotd no"
		echo "PrintLastLog no"
		echo "LogLevel VERBOSE"
		# as Debian's sshd_config: sshd runs it through the login shell
		echo "Subsystem sftp /usr/lib/openssh/sftp-server"
		for line in "$@"; do echo "$line"; done
	} > "$conf"
	/usr/sbin/sshd -t -f "$conf" || yg_fail "sshd -t rejected $conf"
	/usr/sbin/sshd -f "$conf" -D -e 2> "$E2E_DIR/sshd.log" &
	E2E_SSHD_PID=$!
	for ((i = 0; i < 100; i++)); do
		ss -Htln "sport = :$E2E_PORT" | grep -q . && return 0
		kill -0 "$E2E_SSHD_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$E2E_DIR/sshd.log" >&2
	yg_fail "sshd did not listen on 127.0.0.1:$E2E_PORT within 10 s"
}

e2e_ssh() {
	local log=$1 user=$2
	shift 2
	expect -f "$_e2e_dir/ssh-session.exp" "$E2E_DIR/keys/$user.key" "$E2E_PORT" "$user" "$@" \
		> "$log" 2>&1
}

e2e_ssh_cmd() {
	local user=$1
	shift
	timeout 30 ssh -T -F /dev/null -i "$E2E_DIR/keys/$user.key" -p "$E2E_PORT" \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o BatchMode=yes -o LogLevel=ERROR "$user@127.0.0.1" "$@" < /dev/null
}

e2e_user_pids() {
	local user=$1 exe=$2 pid
	for pid in $(pgrep -u "$user" 2>/dev/null); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ] && echo "$pid"
	done
	return 0
}

# Print a transcript with the context a human needs, then fail.
e2e_fail_log() {
	echo "---- transcript $2" >&2
	cat -v "$2" >&2
	yg_fail "$1" "${3:-}"
}

e2e_sysuser() {
	local name=$1 group=${2:-} g=()
	id "$name" >/dev/null 2>&1 &&
		yg_fail "user $name already exists; a previous run left it (remove it: userdel $name)"
	[ -z "$group" ] || ! getent group "$group" >/dev/null || g=(-G "$group")
	useradd --system -M -d /nonexistent -s /usr/sbin/nologin "${g[@]}" "$name" ||
		yg_fail "useradd --system $name failed"
	E2E_SYSUSERS+=("$name")
}

e2e_wait_clean() { yg_wait_clean "$@"; }

e2e_gated() {
	local conf=$1 sock=$2 i
	shift 2
	"$YG_BIN_GATED" --config "$conf" --socket "$sock" --log-stderr \
		--debug "$@" 2> "$E2E_DIR/gated.log" &
	E2E_GATED_PID=$!
	for ((i = 0; i < 100; i++)); do
		[ -S "$sock" ] && return 0
		kill -0 "$E2E_GATED_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$E2E_DIR/gated.log" >&2
	yg_fail "yolo-gated did not create $sock within 10 s"
}

# The broker and its session children (they revert boxes: give them time).
e2e_stop_gated() {
	local kids pid i
	[ -n "$E2E_GATED_PID" ] || return 0
	kids=$(pgrep -P "$E2E_GATED_PID" 2>/dev/null)
	kill -TERM "$E2E_GATED_PID" $kids 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$E2E_GATED_PID" $kids 2>/dev/null || break
		sleep 0.2
	done
	for pid in $E2E_GATED_PID $kids; do kill -KILL "$pid" 2>/dev/null; done
	wait "$E2E_GATED_PID" 2>/dev/null
	E2E_GATED_PID=
}

# e2e_broker_user NAME: the broker runs as NAME, a system user in group
# libvirt, when libvirt lets that user in; otherwise as root with --stay-root.
# Sets E2E_SVC (the user that owns the key files) and E2E_GATED_OPTS.
e2e_broker_user() {
	E2E_SVC=$1
	E2E_GATED_OPTS=()
	e2e_sysuser "$E2E_SVC" libvirt
	if ! runuser -u "$E2E_SVC" -- virsh -q -c "$YG_URI" version >/dev/null 2>&1; then
		yg_log "note: $E2E_SVC (group libvirt) cannot use $YG_URI here; the broker runs with --stay-root"
		E2E_GATED_OPTS=(--stay-root)
		E2E_SVC=root
	fi
}

# e2e_conf OWNER [GATE_LINE...]: the test's policy directory E2E_CONF
# (root-owned, not group/world-writable; keys.d 0700 owned by OWNER) and its
# gate.conf: uri, socket E2E_SOCK, run_dir under E2E_DIR, then GATE_LINEs.
e2e_conf() {
	local owner=$1 line
	shift
	E2E_CONF=$E2E_DIR/conf
	E2E_SOCK=$E2E_DIR/gated.sock
	mkdir -m 0755 "$E2E_CONF" "$E2E_CONF/policy.d"
	mkdir -m 0700 "$E2E_CONF/keys.d"
	chown "$owner:" "$E2E_CONF/keys.d"
	{
		printf '[gate]\nuri = %s\nsocket = %s\nrun_dir = %s\n' \
			"$YG_URI" "$E2E_SOCK" "$E2E_DIR/run"
		for line in "$@"; do
			printf '%s\n' "$line"
		done
	} > "$E2E_CONF/gate.conf"
	chmod 0644 "$E2E_CONF/gate.conf"
}

# e2e_policy FILE PREFIX USER...: policy.d/FILE with the tests' [defaults]
# (box PREFIX<user> at clean-state, keys in E2E_CONF/keys.d, a 60 s agent
# wait) and an enabled [user:USER] section for each USER.
e2e_key() {
	( umask 077; printf '%s\n' "$3" > "$E2E_CONF/keys.d/$1.env" )
	chown "$2:" "$E2E_CONF/keys.d/$1.env"
}

e2e_policy() {
	local file=$E2E_CONF/policy.d/$1 prefix=$2 u
	shift 2
	{
		printf '[defaults]\ndomain = %s%%u\nsnapshot = clean-state\n' "$prefix"
		printf 'keys = %s/keys.d/%%u.env\nagent_timeout = 60s\n' "$E2E_CONF"
		for u in "$@"; do
			printf '\n[user:%s]\nenabled = yes\n' "$u"
		done
	} > "$file"
	chmod 0644 "$file"
}

# e2e_private_mounts "$@": re-execute the calling test in a private mount
# namespace (root), so e2e_pam_stack never touches the host's /etc/pam.d.
e2e_private_mounts() {
	if [ "$(id -u)" = 0 ] && [ -z "${YG_PAM_E2E_NS:-}" ]; then
		YG_PAM_E2E_NS=1 exec unshare -m --propagation private "$BASH" "$0" "$@"
	fi
}

# e2e_pam_stack [ACCOUNT_ARG...]: /etc/pam.d/sshd (in this mount namespace
# only) with pam_unix and pam_yolo_gate.so in the account and session stacks;
# may be called again to change the account arguments.
e2e_pam_stack() {
	local pamd=$E2E_DIR/pam.d
	[ "${YG_PAM_E2E_NS:-}" = 1 ] || yg_fail "e2e_pam_stack needs e2e_private_mounts first"
	if [ ! -d "$pamd" ]; then
		cp -a /etc/pam.d "$pamd"
		mount --bind "$pamd" /etc/pam.d || yg_fail "cannot bind-mount $pamd over /etc/pam.d"
	fi
	cat > "$pamd/sshd" <<EOS
@include common-auth
account  required pam_unix.so
account  required $YG_PAM_MODULE socket=$E2E_SOCK $*
session  required pam_unix.so
session  required $YG_PAM_MODULE socket=$E2E_SOCK timeout=120s
@include common-password
EOS
}
