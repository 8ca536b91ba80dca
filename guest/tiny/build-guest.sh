#!/bin/bash
# SPDX-License-Identifier: MIT
# build-guest.sh OUTDIR: build the tiny yolo-gate test guest from Debian packages.
#
# Produces OUTDIR/vmlinuz (the Debian cloud kernel, for direct boot) and
# OUTDIR/initrd.img (newc cpio, gzip: busybox-static, the virtio modules,
# qemu-guest-agent with every shared library it needs, this tree's
# yolo-boxd ($top_builddir/guest/boxd/yolo-boxd, or YG_BOXD=PATH), the
# host's sftp-server, scp and rsync (when installed) with their libraries,
# and an /init).
# No debootstrap: packages are fetched with `apt-get download` and unpacked
# with `dpkg-deb -x`; works as root or as an ordinary user.
#
# Cached: OUTDIR/debs keeps the downloads; OUTDIR/stamp holds a hash of this
# script, the guest files, the package versions, yolo-boxd and the host
# programs and libraries copied last time; when it matches, nothing is rebuilt.
# Set YG_GUEST_REBUILD=1 to force a rebuild.
set -euo pipefail

PROG=${0##*/}
die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $PROG OUTDIR (the guest kernel and initramfs are written there)"

OUTDIR=$1
mkdir -p "$OUTDIR" || die "cannot create $OUTDIR; pass a writable directory"
OUTDIR=$(cd "$OUTDIR" && pwd)
SELF=$(readlink -f "$0")
T0=$(date +%s.%N)

# Kernel modules, in load order; the OPTIONAL ones may be missing.
MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
virtio_console virtio_blk failover net_failover virtio_net"
OPTIONAL_MODULES=""
META_KERNEL=linux-image-cloud-amd64
QGA_PKG=qemu-guest-agent
BB_PKG=busybox-static

elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }

# Candidate versions, as `apt-get download` would fetch them, in one apt-cache
# call (no pkgcache.bin here: each call costs ~0.6 s). The versioned kernel
# package is the metapackage's Depends, pinned with (= VERSION).
APT_SHOW=$(apt-cache show --no-all-versions "$META_KERNEL" "$BB_PKG" "$QGA_PKG" 2>/dev/null) || true
pkg_field() {
	awk -v p="$1" -v f="$2" '/^Package: / { cur = $2 }
		cur == p && index($0, f ": ") == 1 { print substr($0, length(f) + 3); exit }' <<< "$APT_SHOW"
}
pkg_version() {
	local v
	v=$(pkg_field "$1" Version)
	[ -n "$v" ] || die "package $1 is unknown to apt; run apt-get update (Debian 12 sources needed)"
	printf '%s\n' "$v"
}
KDEP=$(pkg_field "$META_KERNEL" Depends | tr ',' '\n' | grep -m1 -o 'linux-image-[^ ]* (= [^)]*)') ||
	die "cannot resolve the kernel package from $META_KERNEL's Depends; run apt-get update"
KPKG=${KDEP%% *}
KPKG_VER=${KDEP##*= }
KPKG_VER=${KPKG_VER%)}
VERSIONS="$KPKG=$KPKG_VER $BB_PKG=$(pkg_version "$BB_PKG") $QGA_PKG=$(pkg_version "$QGA_PKG")"

# yolo-boxd, the guest daemon of the exec channel, as built by this tree;
# and the host's file transfer programs (the guest end of scp, sftp, rsync).
BOXD=${YG_BOXD:-${top_builddir:-${SELF%/guest/tiny/*}}/guest/boxd/yolo-boxd}
[ -x "$BOXD" ] || die "$BOXD is not built; run make first (or set YG_BOXD=PATH)"
HOST_PROGS=""
for p in /usr/lib/openssh/sftp-server /usr/bin/scp /usr/bin/rsync; do
	if [ -x "$p" ]; then HOST_PROGS="$HOST_PROGS $p"
	else echo "$PROG: $p is not installed on this host; the guest goes without it" >&2; fi
done

# Inputs: this script and the guest files next to it, package versions,
# yolo-boxd, the host programs, and the host libraries used last time.
GUEST_FILES="init profile shrc yolo-respawn-shell udhcpc.script"
input_hash() {
	{
		sha256sum "$SELF" | cut -d' ' -f1
		for f in $GUEST_FILES; do
			sha256sum "${SELF%/*}/$f" 2>/dev/null || echo "missing $f"
		done
		printf '%s\n' "$VERSIONS"
		sha256sum "$BOXD" | cut -d' ' -f1
		for p in $HOST_PROGS; do sha256sum "$p"; done
		if [ -f "$OUTDIR/host-libs" ]; then
			xargs -r sha256sum < "$OUTDIR/host-libs" 2>/dev/null || echo missing
		fi
	} | sha256sum | cut -d' ' -f1
}

if [ -z "${YG_GUEST_REBUILD:-}" ] && [ -f "$OUTDIR/stamp" ] &&
   [ -f "$OUTDIR/vmlinuz" ] && [ -f "$OUTDIR/initrd.img" ] &&
   [ "$(cat "$OUTDIR/stamp")" = "$(input_hash)" ]; then
	echo "$PROG: guest is up to date in $OUTDIR ($VERSIONS), checked in $(elapsed) s"
	exit 0
fi

WORK=$(mktemp -d "$OUTDIR/work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
DEBS="$OUTDIR/debs"
mkdir -p "$DEBS"

# The cached .deb of PKG at version VER, if any.
find_deb() {
	local d
	for d in "$DEBS/$1"_*.deb; do
		[ -f "$d" ] && [ "$(dpkg-deb -f "$d" Version)" = "$2" ] && { echo "$d"; return 0; }
	done
	return 1
}

# apt-get download into the cache (reused across rebuilds), then unpack.
fetch() {
	local pkg=$1 ver=$2 f
	if ! f=$(find_deb "$pkg" "$ver"); then
		# As root, apt drops privileges to _apt, which needs to write here.
		if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$DEBS"; fi
		(cd "$DEBS" && apt-get -q download "$pkg=$ver" >/dev/null) ||
			die "apt-get download $pkg=$ver failed; check the apt sources and network"
		f=$(find_deb "$pkg" "$ver") || die "apt-get download $pkg=$ver left no .deb in $DEBS"
	fi
	dpkg-deb -x "$f" "$WORK/x-$pkg" || die "cannot unpack $f; delete it and retry"
}

for pv in $VERSIONS; do fetch "${pv%%=*}" "${pv#*=}"; done

R="$WORK/root"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,run,tmp,root,var,lib/modules,lib64}
ln -s ../run "$R/var/run"

# busybox and its applets.
BB="$WORK/x-$BB_PKG/bin/busybox"
[ -x "$BB" ] || die "$BB_PKG has no /bin/busybox; the package layout changed"
cp "$BB" "$R/bin/busybox"
for a in $("$BB" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"
done

# Kernel and modules.
KX="$WORK/x-$KPKG"
KVER=$(ls "$KX/lib/modules")
cp "$KX/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
copy_module() {
	local m=$1 f
	f=$(find "$KX/lib/modules/$KVER/kernel" \( -name "$m.ko" -o -name "$m.ko.xz" \
		-o -name "$m.ko.zst" \) -print | head -n1)
	[ -n "$f" ] || return 1
	case $f in
	*.xz) xz -dc "$f" > "$R/lib/modules/$m.ko" ;;
	*.zst) zstd -qdc "$f" > "$R/lib/modules/$m.ko" ;;
	*) cp "$f" "$R/lib/modules/$m.ko" ;;
	esac
	echo "$m" >> "$R/lib/modules/load-order"
}
for m in $MODULES; do
	copy_module "$m" || die "module $m is missing from $KPKG; the guest cannot reach its agent"
done
for m in $OPTIONAL_MODULES; do copy_module "$m" || true; done
# Built-in drivers need no loading; keep load-order honest anyway.
[ -f "$R/lib/modules/load-order" ] || die "no virtio modules found in $KPKG"

# qemu-ga and every shared object it needs, plus the loader.
QX="$WORK/x-$QGA_PKG"
QGA="$QX/usr/sbin/qemu-ga"
[ -x "$QGA" ] || die "$QGA_PKG has no /usr/sbin/qemu-ga; the package layout changed"
cp "$QGA" "$R/usr/sbin/qemu-ga"
# copy_libs BIN [LIBPATH]: every shared object BIN needs (ldd, with LIBPATH
# first), into the guest's /lib; host files are listed in host-libs.
: > "$WORK/host-libs"
copy_libs() {
	local bin=$1 ldd_out lib real dest
	ldd_out=$(LD_LIBRARY_PATH="${2:-}${LD_LIBRARY_PATH:-}" ldd "$bin") ||
		die "ldd failed on ${bin##*/}; is this an amd64 host?"
	if grep -q 'not found' <<< "$ldd_out"; then
		die "${bin##*/} needs libraries absent on this host: $(grep 'not found' <<< "$ldd_out" |
			awk '{print $1}' | tr '\n' ' ')- install its package's dependencies"
	fi
	while read -r lib; do
		real=$(readlink -f "$lib")
		dest="$R/lib/x86_64-linux-gnu/${lib##*/}"
		case $lib in /lib64/*) dest="$R/lib64/${lib##*/}" ;; esac
		mkdir -p "${dest%/*}"
		cp "$real" "$dest"
		case $real in "$WORK"/*) ;; *) echo "$real" >> "$WORK/host-libs" ;; esac
	done < <(awk '/=> \// { print $3 } /^\t\// { print $1 }' <<< "$ldd_out")
}
copy_libs "$QGA" "$(find "$QX" -name '*.so*' -printf '%h\n' | sort -u | tr '\n' ':')"

# yolo-boxd (libc only) and the host's file transfer programs, in the
# paths the broker looks for them at.
install -m 0755 "$BOXD" "$R/usr/sbin/yolo-boxd"
copy_libs "$BOXD"
for p in $HOST_PROGS; do
	mkdir -p "$R${p%/*}"
	cp "$p" "$R$p"
	copy_libs "$p"
done
sort -u -o "$WORK/host-libs" "$WORK/host-libs"
[ -e "$R/lib64/ld-linux-x86-64.so.2" ] || die "the dynamic loader was not found by ldd"

# Minimal identity files (qemu-ga's guest-exec and `id` look them up).
echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"
echo 'root:x:0:' > "$R/etc/group"
echo 'yolo-box' > "$R/etc/hostname"
# qemu-ga's guest-shutdown runs /sbin/shutdown, which busybox lacks.
printf '%s\n' '#!/bin/sh' 'case " $* " in *" -r "*) exec reboot -f ;; esac' \
	'exec poweroff -f' > "$R/sbin/shutdown"
chmod 0755 "$R/sbin/shutdown"

place() {
	install -m "$1" "${SELF%/*}/$2" "$R/$3" ||
		die "${SELF%/*}/$2 is missing; it ships next to $PROG"
}
place 0755 init init
place 0644 profile etc/profile
place 0644 shrc etc/shrc
place 0755 yolo-respawn-shell sbin/yolo-respawn-shell
place 0755 udhcpc.script etc/udhcpc.script

# Fixed timestamps: the same inputs give the same initramfs.
find "$R" -exec touch -h -d @0 {} +
(cd "$R" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --reproducible --quiet) | gzip -1 -n > "$WORK/initrd.img"

mv "$WORK/vmlinuz" "$OUTDIR/vmlinuz"
mv "$WORK/initrd.img" "$OUTDIR/initrd.img"
mv "$WORK/host-libs" "$OUTDIR/host-libs"
input_hash > "$OUTDIR/stamp"
printf '%s: built guest in %s s: %s\n' "$PROG" "$(elapsed)" "$VERSIONS"
printf '%s: kernel %s (%s bytes), initramfs %s bytes\n' "$PROG" "$KVER" \
	"$(stat -c %s "$OUTDIR/vmlinuz")" "$(stat -c %s "$OUTDIR/initrd.img")"
