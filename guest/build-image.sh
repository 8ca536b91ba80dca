#!/bin/bash
# SPDX-License-Identifier: MIT
# build-image.sh: build a yolo-gate base image (a Debian box) with mmdebstrap.
#
#   build-image.sh [--suite SUITE] [--packages LIST] [--size SIZE] [--force | --update]
#                  OUTDIR NAME
#   build-image.sh --inputs-hash [--suite SUITE] [--packages LIST] [--size SIZE]
#
# Run by `yolo-gatectl image build` (yolo-gatectl(8)); guest/README.md is the
# contract the image meets. Makes OUTDIR/NAME/ with
#   NAME.qcow2   the disk: one ext4 file system, no partition table, made by
#                `mkfs.ext4 -d ROOTFS` (no loop mount) and `qemu-img convert`
#   vmlinuz      the kernel and
#   initrd.img   its initramfs, for direct boot (root=/dev/vda)
#   manifest     what was built: inputs, date, hashes, every package + version
# The packages come from the host's apt sources (/etc/apt/sources.list and
# /etc/apt/sources.list.d/*.list|*.sources), the suite names in them replaced
# by SUITE when it is not the host's. Everything is made in a temporary
# directory under OUTDIR and renamed into place at the end: a failed or
# interrupted build leaves nothing behind.
set -euo pipefail
umask 022

PROG=build-image
STEP=''
die() {
	# finish the step's progress line first
	[ -z "$STEP" ] || printf ' failed after %s s\n' "$(elapsed "$STEP_T0")" >&2
	STEP=''
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}
usage() {
	echo "usage: $PROG [--suite SUITE] [--packages LIST] [--size SIZE] [--force | --update] OUTDIR NAME" >&2
	echo "       $PROG --inputs-hash [--suite SUITE] [--packages LIST] [--size SIZE]" >&2
	exit 2
}

# What every image has (the contract, guest/README.md).
REQUIRED="linux-image-cloud-amd64 systemd-sysv udev dbus qemu-guest-agent
util-linux-extra passwd sudo ca-certificates systemd-resolved"
# What an LLM coding agent needs and costs little; --packages replaces this
# list (no compiler: add build-essential, about 200 MiB).
DEFAULT_EXTRA="python3 python3-venv git curl less procps vim-tiny openssh-client
openssh-sftp-server rsync ripgrep jq patch xz-utils unzip iproute2 iputils-ping netbase file"
AGENT_UID=1000

SUITE=bookworm SIZE=4G FORCE='' UPDATE='' HASH_ONLY='' EXTRA=$DEFAULT_EXTRA
while [ $# -gt 0 ]; do
	case $1 in
	--suite) [ $# -ge 2 ] || usage; SUITE=$2; shift 2 ;;
	--packages) [ $# -ge 2 ] || usage; EXTRA=$2; shift 2 ;;
	--size) [ $# -ge 2 ] || usage; SIZE=$2; shift 2 ;;
	--force) FORCE=1; shift ;;
	--update) UPDATE=1; shift ;;
	--inputs-hash) HASH_ONLY=1; shift ;;
	--) shift; break ;;
	-*) usage ;;
	*) break ;;
	esac
done
[[ $SUITE =~ ^[a-z][a-z0-9-]*$ ]] || die "--suite '$SUITE' is not a suite name (bookworm, trixie, ...)"
[[ $SIZE =~ ^[0-9]+[KMGT]?$ ]] || die "--size '$SIZE' is not a size: use a number with K, M, G or T (4G)"
# shellcheck disable=SC2086 # word splitting of the lists is the point
PACKAGES=$(printf '%s\n' $REQUIRED ${EXTRA//,/ } | LC_ALL=C sort -u | tr '\n' ' ')
PACKAGES=${PACKAGES% }
for p in $PACKAGES; do
	[[ $p =~ ^[a-z0-9][a-z0-9.+-]+$ ]] || die "'$p' is not a Debian package name (--packages)"
done

# yolo-boxd, the exec channel's guest daemon (yolo-boxd(8)): YG_BOXD=PATH,
# else the one installed on this host (package yolo-gate-guest, or make
# install); without it the image has console sessions only.
BOXD=${YG_BOXD-$(command -v yolo-boxd 2>/dev/null || true)}
[ -z "$BOXD" ] || [ -x "$BOXD" ] || die "YG_BOXD=$BOXD is not an executable yolo-boxd"

# The inputs: this script, the suite, the package list, the size, yolo-boxd.
# The same inputs give an image the cache may reuse (tests/e2e/image.sh).
SELF=$(readlink -f "$0")
INPUTS=$({ sha256sum < "$SELF"; printf 'suite=%s\npackages=%s\nsize=%s\n' \
	"$SUITE" "$PACKAGES" "$SIZE"; [ -z "$BOXD" ] || sha256sum < "$BOXD"; } |
	sha256sum | cut -c1-64)
if [ -n "$HASH_ONLY" ]; then
	echo "$INPUTS"
	exit 0
fi
[ $# -eq 2 ] || usage
OUTDIR=$1 NAME=$2
[[ $NAME =~ ^[a-z0-9][a-z0-9._-]{0,63}$ ]] ||
	die "image name '$NAME' is not valid: use 1 to 64 of a-z 0-9 . _ - (starting with a letter or digit)"
[ "$(id -u)" = 0 ] || die "building an image needs root (mmdebstrap in root mode, file ownership in the image)"
for t in mmdebstrap:mmdebstrap mkfs.ext4:e2fsprogs qemu-img:qemu-utils; do
	command -v "${t%%:*}" >/dev/null ||
		die "${t%%:*} is missing; install it: apt-get install ${t#*:}"
done
mkdir -p "$OUTDIR" || die "cannot create $OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
DEST=$OUTDIR/$NAME
# An image built from the same inputs whose files still match its manifest
# is up to date: nothing to do (a rebuild, --force, makes the same image).
up_to_date() {
	[ -f "$DEST/manifest" ] && grep -qx "inputs=$INPUTS" "$DEST/manifest" &&
		[ "$(grep -c '^sha256 ' "$DEST/manifest")" = 3 ] &&
		awk '$1 == "sha256" { print $3 "  " $2 }' "$DEST/manifest" |
			(cd "$DEST" && sha256sum --status -c -)
}
if [ -e "$DEST" ] && [ -z "$FORCE" ]; then
	if up_to_date; then
		printf '%s: image %s is up to date (inputs %.12s, built %s): nothing to do (--force rebuilds it)\n' \
			"$PROG" "$DEST" "$INPUTS" "$(sed -n 's/^built=//p' "$DEST/manifest")" >&2
		exit 0
	fi
	# --update: an image from other inputs (or whose files changed) is
	# replaced, as with --force
	[ -n "$UPDATE" ] ||
		die "image $DEST exists and was built from other inputs (or its files changed); boxes provisioned from it use its disk as their backing file: pick another name, or replace it with --force (and re-provision those boxes)"
fi

T0=$(date +%s%N)
STEP_T0=$T0
elapsed() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
# "build-image: what ... 4.2 s", one line per step (nothing else prints
# between the two halves unless the step fails).
step() {
	[ -z "$STEP" ] || printf ' %s s\n' "$(elapsed "$STEP_T0")" >&2
	STEP=$1
	STEP_T0=$(date +%s%N)
	[ -z "$STEP" ] || printf '%s: %s ...' "$PROG" "$STEP" >&2
}

WORK=$(mktemp -d "$OUTDIR/.$NAME.build.XXXXXX")
cleanup() {
	local rc=$?
	[ -z "$STEP" ] || [ "$rc" = 0 ] || printf ' failed\n' >&2
	rm -rf "$WORK"
	[ "$rc" = 0 ] || printf '%s: nothing was left in %s\n' "$PROG" "$OUTDIR" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
R=$WORK/rootfs

step "reading the host's apt sources for $SUITE"
# shellcheck disable=SC1091
HOST_SUITE=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
SOURCES=()
n=0
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	{ [ -f "$f" ] && grep -Eq '^[[:space:]]*(deb|Types:)' "$f"; } || continue
	n=$((n + 1))
	case $f in *.sources) out=$WORK/src$n.sources ;; *) out=$WORK/src$n.list ;; esac
	if [ -n "$HOST_SUITE" ] && [ "$HOST_SUITE" != "$SUITE" ]; then
		sed "s/\\b$HOST_SUITE\\b/$SUITE/g" "$f" > "$out"
	else
		cp "$f" "$out"
	fi
	SOURCES+=("$out")
done
[ "${#SOURCES[@]}" -gt 0 ] ||
	die "the host has no apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d); add the Debian ones"
APTOPTS=()
for k in Acquire::http::Proxy Acquire::https::Proxy Acquire::Check-Valid-Until; do
	v=$(apt-config dump "$k" 2>/dev/null | awk -v k="$k" '$1 == k { gsub(/[";]/, "", $2); print $2 }')
	[ -z "$v" ] || APTOPTS+=("--aptopt=$k \"$v\";")
done

step "mmdebstrap $SUITE: minbase + $(wc -w <<< "$PACKAGES") packages (log: $OUTDIR/.$NAME.mmdebstrap.log on failure)"
# Before the packages: the initramfs gets only what a virtio disk needs.
# shellcheck disable=SC2016 # expanded by mmdebstrap's shell
ESSENTIAL_HOOK='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d" &&
echo "MODULES=list" > "$1/etc/initramfs-tools/conf.d/yolo-gate.conf" &&
printf "%s\n" virtio_pci virtio_blk ext4 > "$1/usr/share/initramfs-tools/modules.d/yolo-gate"'
if ! mmdebstrap --variant=minbase --mode=root --format=directory \
	--include="${PACKAGES// /,}" "${APTOPTS[@]}" \
	--essential-hook="$ESSENTIAL_HOOK" \
	"$SUITE" "$R" "${SOURCES[@]}" > "$WORK/mmdebstrap.log" 2>&1; then
	cp "$WORK/mmdebstrap.log" "$OUTDIR/.$NAME.mmdebstrap.log" 2>/dev/null || true
	missing=$(grep -Eo "Unable to locate package [^ ]+|Package '?[^ ']+'? has no installation candidate|E: Version '[^']+' for '[^']+' was not found" \
		"$WORK/mmdebstrap.log" | grep -Eo "package [^ ]+$|Package '?[^ ']+'?|for '[^']+'" |
		sed -E "s/^(package|Package|for) //; s/'//g" | sort -u | tr '\n' ' ')
	[ -z "$missing" ] || die "package(s) not found in $SUITE: ${missing% } (check --packages and the host's apt sources; log: $OUTDIR/.$NAME.mmdebstrap.log)"
	tail -n 15 "$WORK/mmdebstrap.log" >&2
	die "mmdebstrap failed (log: $OUTDIR/.$NAME.mmdebstrap.log); is the package registry reachable (apt-get update)?"
fi
rm -f "$OUTDIR/.$NAME.mmdebstrap.log"

step "configuring the box (agent user, serial autologin, /run/yolo, keys, timers)"
here() { mkdir -p "$(dirname "$R/$1")"; cat > "$R/$1"; chmod "${2:-0644}" "$R/$1"; }
echo yolo-box > "$R/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tyolo-box\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$R/etc/hosts"
echo 'LANG=C.UTF-8' > "$R/etc/default/locale"
# The agent: an ordinary user (tools that refuse to run as root, e.g. an
# agent CLI's no-confirmation mode, run), with passwordless sudo inside the
# box, which is the blast radius: apt-get install works. No password for
# anyone; root is locked.
chroot "$R" useradd --uid "$AGENT_UID" --user-group --create-home --shell /bin/bash \
	--groups sudo agent
chroot "$R" passwd --lock root >/dev/null
here etc/sudoers.d/agent 0440 <<'EOF'
# yolo-gate: the agent user may do anything in its own box without a password.
agent ALL=(ALL:ALL) NOPASSWD: ALL
EOF
# Serial console ttyS0: autologin of agent (guest/README.md).
here etc/systemd/system/serial-getty@ttyS0.service.d/yolo-gate.conf <<'EOF'
# yolo-gate: the session console lands at the agent user's prompt.
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin agent --noclear --keep-baud 115200,57600,38400,9600 %I $TERM
EOF
mkdir -p "$R/etc/systemd/system/getty.target.wants"
ln -sf /lib/systemd/system/serial-getty@.service \
	"$R/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service"
# /run/yolo: a tmpfs of its own, 0711, owned by root (the broker writes keys
# only into a directory no one else can write; the key file itself is the
# agent's with inject_owner = agent): the keys live there for one session and
# never reach a disk or a snapshot's disk state.
cat >> "$R/etc/fstab" <<EOF
/dev/vda	/	ext4	rw,discard,errors=remount-ro,x-systemd.growfs	0	0
tmpfs	/run/yolo	tmpfs	rw,nosuid,nodev,noexec,size=1m,mode=0711,uid=0,gid=0	0	0
EOF
here usr/lib/tmpfiles.d/yolo-gate.conf <<'EOF'
# yolo-gate: the key directory (a tmpfs, /etc/fstab), 0711, root's.
d /run/yolo 0711 root root -
EOF
here etc/profile.d/yolo-keys.sh <<'EOF'
# /etc/profile.d/yolo-keys.sh (yolo-gate): the session's keys in the agent's
# environment. The broker writes NAME=value lines (no quoting) to
# /run/yolo/keys.env after the box resumes. The serial shell was already at
# its prompt when the snapshot was taken, so an interactive bash loads the
# file just before the first command after it appears (a DEBUG trap that
# then removes itself); any other login shell loads it when it starts.
yolo_keys_load() {
	[ -e /run/yolo/keys.env ] || return 1
	if [ -r /run/yolo/keys.env ]; then
		yolo_keys_read < /run/yolo/keys.env
	else	# written by root (no inject_owner): the agent may sudo
		yolo_keys_read <<YOLO_KEYS_EOF
$(sudo -n cat /run/yolo/keys.env 2>/dev/null)
YOLO_KEYS_EOF
	fi
}
yolo_keys_read() {
	while IFS= read -r _yk_l || [ -n "$_yk_l" ]; do
		case $_yk_l in ''|\#*|[0-9]*|=*) continue ;; *=*) ;; *) continue ;; esac
		_yk_k=${_yk_l%%=*}
		case $_yk_k in *[!A-Za-z0-9_]*) continue ;; esac
		export "$_yk_k=${_yk_l#*=}"
	done
	unset _yk_l _yk_k
}
if [ -n "${BASH_VERSION:-}" ] && case $- in *i*) true ;; *) false ;; esac; then
	yolo_keys_trap() { if yolo_keys_load; then trap - DEBUG; fi; }
	yolo_keys_load || trap yolo_keys_trap DEBUG
	# The first prompt of the serial console's shell says "ready": the
	# guest agent waits for it (qemu-guest-agent.service.d/yolo-gate.conf),
	# so a box's snapshot holds a shell at its prompt.
	if [ "$(tty 2>/dev/null)" = /dev/ttyS0 ]; then
		yolo_ready() {
			: > /dev/shm/yolo-shell-ready 2>/dev/null
			PROMPT_COMMAND=${PROMPT_COMMAND#yolo_ready;}
			unset -f yolo_ready
		}
		PROMPT_COMMAND="yolo_ready;${PROMPT_COMMAND:-}"
	fi
else
	yolo_keys_load || true
fi
EOF
# The agent answers once the console's shell is at its prompt (at most 60 s
# after it starts): provision's snapshot then holds that prompt, and an
# answer means the box is ready for a login.
here etc/systemd/system/qemu-guest-agent.service.d/yolo-gate.conf <<'EOF'
# yolo-gate: wait for the serial console's shell (/etc/profile.d/yolo-keys.sh).
[Service]
ExecStartPre=/bin/sh -c 'i=0; while [ ! -e /dev/shm/yolo-shell-ready ] && [ $$i -lt 300 ]; do sleep 0.2; i=$$((i + 1)); done'
TimeoutStartSec=90
EOF
# yolo-boxd on the port org.yologate.boxd.0 (remote commands, key files in
# one round trip); commands run as the agent unless the broker names a user.
if [ -n "$BOXD" ]; then
	install -m 0755 "$BOXD" "$R/usr/sbin/yolo-boxd"
	here etc/systemd/system/yolo-boxd.service <<'EOF'
# yolo-gate: the guest end of the box channel (yolo-boxd(8)). Root: it runs
# commands as their users, mounts the key tmpfs and sets the clock.
[Unit]
Description=yolo-gate guest daemon (commands and keys over virtio-serial)
Documentation=man:yolo-boxd(8)
After=dev-virtio\x2dports-org.yologate.boxd.0.device
ConditionPathExists=/dev/virtio-ports/org.yologate.boxd.0

[Service]
Type=simple
ExecStart=/usr/sbin/yolo-boxd --foreground --user agent
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
EOF
	mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
	ln -sf /etc/systemd/system/yolo-boxd.service \
		"$R/etc/systemd/system/multi-user.target.wants/yolo-boxd.service"
else
	echo "$PROG: no yolo-boxd (set YG_BOXD=PATH or install yolo-gate-guest): the image gets no exec channel" >&2
fi
# Network: DHCP on the box's one interface (the policy's NAT network).
here etc/systemd/network/80-yolo-gate.network <<'EOF'
[Match]
Name=en* eth*
[Network]
DHCP=yes
EOF
ln -sf ../run/systemd/resolve/stub-resolv.conf "$R/etc/resolv.conf"
here etc/systemd/journald.conf.d/yolo-gate.conf <<'EOF'
# yolo-gate: the journal in memory: a box's disk is reverted anyway.
[Journal]
Storage=volatile
RuntimeMaxUse=16M
EOF
# resolved logs "Clock change detected. Flushing caches." at each step: a
# journal line, and journald's work for it, on the login's path. Notices and
# errors are still logged.
here etc/systemd/system/systemd-resolved.service.d/yolo-gate.conf <<'EOF'
# yolo-gate: no info lines (one per clock step at each login); notices kept.
[Service]
Environment=SYSTEMD_LOG_LEVEL=notice
EOF
chroot "$R" systemctl enable systemd-networkd.service systemd-resolved.service >/dev/null 2>&1 ||
	die "cannot enable systemd-networkd and systemd-resolved in the image"
# Slow and useless in a box reverted after every session: timers, the
# boot-time wait for the network, the VT getty (the box has no screen).
# The broker steps the clock at every login (the snapshot's time is that of
# provisioning): systemd recomputes every waiting timer on a step and sends
# each one's new elapse time over D-Bus (dbus-daemon, logind), work that
# delayed a login's first command by ~100 ms under TCG (bench/analysis.md);
# with no timer waiting (systemd-tmpfiles-clean: nothing lives to be cleaned
# in a reverted box) a step wakes only PID 1 and resolved.
for u in apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer \
	e2scrub_reap.service fstrim.timer dpkg-db-backup.timer systemd-tmpfiles-clean.timer \
	systemd-networkd-wait-online.service getty@tty1.service; do
	ln -sf /dev/null "$R/etc/systemd/system/$u"
done
# The base is shared by every box; each gets its own id when it first boots.
: > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id"

step "extracting the kernel and initramfs, recording the packages"
KVER=$(find "$R/boot" -maxdepth 1 -name "vmlinuz-*" -printf "%f\n" | sed "s/^vmlinuz-//" | sort -V | tail -n 1)
[ -n "$KVER" ] || die "the image has no kernel in /boot; is linux-image-cloud-amd64 in the package list?"
[ -f "$R/boot/initrd.img-$KVER" ] || die "the image has no initramfs for $KVER (initramfs-tools failed; see the mmdebstrap log)"
mkdir "$WORK/out"
install -m 0644 "$R/boot/vmlinuz-$KVER" "$WORK/out/vmlinuz"
install -m 0644 "$R/boot/initrd.img-$KVER" "$WORK/out/initrd.img"
dpkg-query --admindir="$R/var/lib/dpkg" -W -f '${Package}\t${Version}\n' | LC_ALL=C sort > "$WORK/packages"
for p in $PACKAGES; do
	awk -v p="$p" '$1 == p { f = 1 } END { exit !f }' "$WORK/packages" ||
		die "package $p is not installed in the image (check --packages)"
done
ROOTFS_MIB=$(du -sm "$R" | cut -f1)

step "mkfs.ext4 -d (${ROOTFS_MIB} MiB of files into a $SIZE file system)"
truncate -s "$SIZE" "$WORK/disk.raw"
mkfs.ext4 -q -F -L yolo-root -d "$R" "$WORK/disk.raw" > "$WORK/mkfs.log" 2>&1 ||
	die "mkfs.ext4 -d failed: $(tail -n 3 "$WORK/mkfs.log") (a larger --size?)"

step "qemu-img convert to qcow2"
qemu-img convert -f raw -O qcow2 "$WORK/disk.raw" "$WORK/out/$NAME.qcow2" ||
	die "qemu-img convert failed; check free space in $OUTDIR"
rm -f "$WORK/disk.raw"
chmod 0644 "$WORK/out/$NAME.qcow2"

step "writing the manifest"
{
	echo "# yolo-gate image manifest (guest/build-image.sh)"
	echo "name=$NAME"
	echo "suite=$SUITE"
	echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "inputs=$INPUTS"
	echo "size=$SIZE"
	echo "rootfs_mib=$ROOTFS_MIB"
	echo "kernel_version=$KVER"
	echo "cmdline=root=/dev/vda rw console=ttyS0 quiet"
	echo "requested=$PACKAGES"
	(cd "$WORK/out" && sha256sum "$NAME.qcow2" vmlinuz initrd.img) | awk '{ print "sha256 " $2 " " $1 }'
	awk '{ print "package " $1 " " $2 }' "$WORK/packages"
} > "$WORK/out/manifest"
chmod 0644 "$WORK/out/manifest"

step "installing into $DEST"
chmod 0755 "$WORK/out"
if [ -e "$DEST" ]; then
	mv "$DEST" "$WORK/old"
fi
mv "$WORK/out" "$DEST"
step ""
printf '%s: built %s in %s s: %s packages, qcow2 %s MiB, kernel %s\n' "$PROG" "$DEST" \
	"$(elapsed "$T0")" "$(wc -l < "$WORK/packages")" \
	"$(( $(stat -c %s "$DEST/$NAME.qcow2") >> 20 ))" "$KVER" >&2
printf '%s: check it: yolo-gatectl image check %s\n' "$PROG" "$DEST" >&2
printf '%s: use it:   yolo-gatectl provision USER --template cloud --base %s --kernel %s --initrd %s\n' \
	"$PROG" "$DEST/$NAME.qcow2" "$DEST/vmlinuz" "$DEST/initrd.img" >&2
