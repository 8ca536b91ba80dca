#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# yolo-gate demo, on a fresh Debian 12 machine, as root:
#
#   bash packaging/demo.sh            # ... and you are in a Debian 12 box; ^] returns
#   bash packaging/demo.sh --tiny     # the same in the tiny busybox test guest (fast)
#   bash packaging/demo.sh --run CMD  # non-interactive: run CMD in the box, print its output, leave
#   bash packaging/demo.sh --remove   # undo: box, demo user, package (the image cache stays)
#
# It installs the build dependencies, builds the .deb from this checkout and
# installs it, starts libvirtd and yolo-gated (systemd when it is PID 1, by
# hand otherwise), builds the base image (a Debian 12 image with
# `yolo-gatectl image build`, kept in /var/cache/yolo-gate/images and rebuilt
# only when its inputs change; with --tiny the tiny test guest), writes a
# policy for the user yolo-demo (login shell: yolo-shell), gives them a demo
# API key, provisions their box and lands you in it with `su - yolo-demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
user=yolo-demo
work=/var/lib/yolo-gate/demo
conf=/etc/yolo-gate
cache=/var/cache/yolo-gate/images
say() { printf 'demo: %s\n' "$*" >&2; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root: it installs packages, a service and a user"

run_cmd= tiny=
while [ $# -gt 0 ]; do
	case $1 in
	--tiny) tiny=1; shift ;;
	--run) [ $# -ge 2 ] || die "--run needs a command"; run_cmd=$2; shift 2 ;;
	--remove)
		yolo-gatectl deprovision "$user" 2>/dev/null || true
		if [ -d /run/systemd/system ]; then
			systemctl disable --now yolo-gated.socket yolo-gated.service 2>/dev/null || true
		elif [ -f "$work/gated.pid" ]; then
			kill "$(cat "$work/gated.pid")" 2>/dev/null || true
		fi
		userdel -r "$user" 2>/dev/null || true
		rm -f "$conf/policy.d/50-demo.conf" /etc/ssh/sshd_config.d/yolo-gate-demo.conf
		rm -rf "$work"
		apt-get purge -y -q yolo-gate >/dev/null 2>&1 || true
		say "removed (the Debian image stays in $cache for the next demo: rm -rf $cache to free it)"
		exit 0 ;;
	*) die "usage: $0 [--tiny] [--run CMD] | --remove" ;;
	esac
done

say "installing build and run-time dependencies (apt-get)"
bash packaging/deps.sh >/dev/null

say "starting virtlogd and libvirtd"
if [ -d /run/systemd/system ]; then
	systemctl start libvirtd virtlogd
else
	bash tests/start-services.sh
fi

mkdir -p "$work"
say "building and installing the .deb"
rm -f "$work"/yolo-gate_*.deb "$work"/yolo-gate-guest_*.deb
DEB_BUILD_OPTIONS="nocheck ${DEB_BUILD_OPTIONS:-}" \
	bash packaging/build-deb.sh "$work" "$top" > "$work/build-deb.log" 2>&1 ||
	{ tail -n 30 "$work/build-deb.log" >&2; die "building the .deb failed (log: $work/build-deb.log)"; }
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall "$work"/yolo-gate_*_amd64.deb \
	> "$work/install.log" 2>&1 ||
	{ tail -n 30 "$work/install.log" >&2; die "installing the .deb failed (log: $work/install.log)"; }

images=/var/lib/libvirt/images/yolo-gate-demo
install -d -m 0755 "$images"
# either guest gets yolo-boxd from the yolo-gate-guest package just built
rm -rf "$work/guest-pkg"
dpkg-deb -x "$(ls "$work"/yolo-gate-guest_*_amd64.deb)" "$work/guest-pkg"
export YG_BOXD=$work/guest-pkg/usr/sbin/yolo-boxd
if [ -n "$tiny" ]; then
	say "building the tiny guest as the demo base image"
	bash guest/tiny/build-guest.sh "$work/guest" > "$work/guest.log" 2>&1 ||
		{ tail -n 30 "$work/guest.log" >&2; die "building the guest failed (log: $work/guest.log)"; }
	install -m 0644 "$work/guest/vmlinuz" "$images/vmlinuz"
	install -m 0644 "$work/guest/initrd.img" "$images/initrd.img"
	[ -f "$images/base.qcow2" ] || qemu-img create -q -f qcow2 "$images/base.qcow2" 64M
	chmod 0444 "$images/base.qcow2"
	base=$images/base.qcow2 kernel=$images/vmlinuz initrd=$images/initrd.img
	prov=(--template tiny --memory 256 --disk-size 64M)
	prompt='yolo-box# '
else
	say "building the Debian 12 base image (yolo-gatectl image build; 2-3 min the first time, cached in $cache)"
	# The cache is the demo's own: an image from other inputs (another
	# checkout, a changed builder or yolo-boxd) is replaced (--update), and
	# the box made from it again (below).
	yolo-gatectl image build --out "$cache" --update demo 2>&1 |
		tee "$work/image.log" | sed 's/^/demo:   /' >&2
	[ "${PIPESTATUS[0]}" = 0 ] || die "building the image failed (log: $work/image.log)"
	base=$cache/demo/demo.qcow2 kernel=$cache/demo/vmlinuz initrd=$cache/demo/initrd.img
	prov=(--template cloud --memory 1024 --boot-timeout 300)
	prompt='agent@yolo-box:~$ '
fi
# A box made from the other base image, or from an image that was just
# rebuilt (its overlay's backing file changed), is made again.
if virsh -c qemu:///system dumpxml yolo-demo 2>/dev/null | grep -q "<kernel>$kernel</kernel>" &&
	{ [ -n "$tiny" ] || grep -q 'is up to date' "$work/image.log"; }; then
	reprov=()
else
	reprov=(--force)
fi

say "demo user $user (login shell /usr/bin/yolo-shell), policy and key"
id "$user" >/dev/null 2>&1 || useradd -m -s /usr/bin/yolo-shell "$user"
# every gated user is in yolo-users: the sshd snippet closes forwarding for it
usermod -aG yolo-users "$user"
snippet=/etc/ssh/sshd_config.d/yolo-gate-demo.conf
if [ -d /etc/ssh/sshd_config.d ] && ! [ -e "$snippet" ]; then
	say "sshd: the yolo-gate snippet for group yolo-users ($snippet)"
	install -m 0644 /usr/share/doc/yolo-gate/examples/yolo-gate.conf "$snippet"
	if [ -d /run/systemd/system ]; then
		systemctl reload ssh 2>/dev/null || true
	fi
fi
install -m 0644 -o root -g root /dev/stdin "$conf/policy.d/50-demo.conf" <<CONF
# Written by packaging/demo.sh: the demo user's box.
[user:$user]
domain = yolo-demo
agent_timeout = 60s
$([ -n "$tiny" ] || echo "inject_owner = agent")
CONF
yolo-gatectl check --config "$conf" >/dev/null || yolo-gatectl check --config "$conf"
printf 'sk-demo-%s' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" |
	yolo-gatectl keys set "$user" DEMO_API_KEY

say "starting yolo-gated"
if [ -d /run/systemd/system ]; then
	systemctl enable --now yolo-gated.socket >/dev/null
	# a broker already running reads the policy just written
	systemctl try-reload-or-restart yolo-gated.service 2>/dev/null || true
else
	# A broker an earlier demo started is the old package's: restart it, as
	# the package's own scripts do under systemd (it reads the new policy too).
	# After a host restart the pid file is stale and its number may be
	# another program's: only a yolo-gated is stopped.
	old=$(cat "$work/gated.pid" 2>/dev/null || true)
	if [ -n "$old" ] && [ "$(cat "/proc/$old/comm" 2>/dev/null)" = yolo-gated ]; then
		kill -TERM "$old"
		for _ in $(seq 1 100); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -f /run/yolo-gate/gated.sock
	setsid /usr/sbin/yolo-gated --log-stderr >> /var/log/yolo-gated-demo.log 2>&1 < /dev/null &
	echo $! > "$work/gated.pid"
	for _ in $(seq 1 50); do [ -S /run/yolo-gate/gated.sock ] && break; sleep 0.1; done
	[ -S /run/yolo-gate/gated.sock ] || die "yolo-gated did not start (log: /var/log/yolo-gated-demo.log)"
fi

say "provisioning the box (boots the guest, snapshots it clean, leaves it paused)"
yolo-gatectl provision "$user" --base "$base" --virt-type qemu --kernel "$kernel" \
	--initrd "$initrd" "${prov[@]}" ${reprov[@]+"${reprov[@]}"} >&2

if [ -z "$run_cmd" ]; then
	say "landing you in the box: su - $user  (leave with ^] )"
	exec su - "$user"
fi

# Non-interactive: a real pty through su and yolo-shell, the command typed at
# the guest's prompt, its output read back, then the escape character.
command -v expect >/dev/null || die "expect is needed for --run"
DEMO_USER=$user DEMO_CMD=$run_cmd DEMO_PROMPT=$prompt expect -f - <<'EXP'
set timeout 120
log_user 0
spawn su - $env(DEMO_USER)
expect {
	-ex {(escape character is} {}
	timeout { puts stderr "demo: no session within 120 s"; exit 1 }
	eof { puts stderr "demo: the session ended before it began"; exit 1 }
}
# The box's shell sat at its prompt when the snapshot was taken: a new line
# shows it again.
send -- "\r"
expect {
	-ex $env(DEMO_PROMPT) {}
	timeout { puts stderr "demo: no guest prompt within 120 s"; exit 1 }
	eof { puts stderr "demo: the session ended before the prompt"; exit 1 }
}
# After its prompt, busybox asks the terminal where the cursor is (ESC [ 6 n);
# a real terminal answers and shows nothing, so this answers too (row 1,
# column 1) and the query is not printed. (bash in the Debian box does not ask.)
if {[string match {*#*} $env(DEMO_PROMPT)]} {
	expect -timeout 2 -re {\x1b\[6n} { send -- "\x1b\[1;1R" }
}
send -- "$env(DEMO_CMD); echo demo-done-\$((6*7))\r"
# Printed: what the command wrote, from after the echo of the typed line.
expect {
	-re {demo-done-\$\(\(6\*7\)\)\r\n(.*)demo-done-42} {
		puts -nonewline [regsub -all {\r|\x1b\[6n|\x1b\[\?2004[hl]} $expect_out(1,string) {}]
	}
	timeout { puts stderr "demo: no output within 120 s"; exit 1 }
}
send -- "\x1d"
expect eof
catch wait result
exit [lindex $result 3]
EXP
