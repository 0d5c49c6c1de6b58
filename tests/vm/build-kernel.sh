#!/usr/bin/env bash
# Build (or reuse) the test VM kernel.
#
# usage: tests/vm/build-kernel.sh [--linux VERSION] [--stock | --both]
#
# Without an option: the patched kernel. When neither kernel is cached it
# is built as --both builds it (stock first, then the series on the same
# tree), so the stock kernel comes along for ~2 minutes more and the
# scripts that need one, the other or both share one cache.
#
# Builds Debian's linux-source-6.1 configured by tests/vm/kernel.config
# alone (allnoconfig plus that file) and, unless
# --stock is given, every patch in patches/linux-6.1/ (in name order).
#
# --linux VERSION: Debian's linux-source-VERSION instead (6.12: the LTS
# Debian 13 and RHEL 10 ship), with tests/vm/kernel-VERSION.config added
# to the fragment if it exists (6.12's turns the legacy ublk opcodes off,
# as Ubuntu and Amazon Linux build it) and the series in
# patches/linux-VERSION/ if there is one (none: "patched" is the stock
# kernel, one image).
# The bzImage is cached under ${DDUBLK_CACHE:-~/.cache/ddublk}/kernel-KEY/
# where KEY hashes the source package version, the config fragment, the
# patches and the recipe version below; a cache hit costs nothing. Prints the bzImage
# path as the last line of stdout.
#
# --both: both kernels (what scripts/check.sh needs), prints the stock
# bzImage's path, then the patched one's. With neither cached it builds the
# stock kernel, then applies the series to the same tree and rebuilds:
# make recompiles only what the patches touch (block/, nvme, and what
# includes <linux/blk-mq.h>) instead of a second cold build. Same config,
# same keys, same images as two separate builds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${DDUBLK_CACHE:-$HOME/.cache/ddublk}
mode=patched
version=6.1
if [ "${1:-}" = --linux ]; then
	[ $# -ge 2 ] || { echo "usage: $0 [--linux VERSION] [--stock | --both]" >&2; exit 2; }
	version=$2
	shift 2
fi
[[ $version =~ ^[0-9]+\.[0-9]+$ ]] || { echo "build-kernel: --linux wants a version like 6.12, got '$version'" >&2; exit 2; }
case ${1:-} in
--stock) mode=stock ;;
--both) mode=both ;;
'') ;;
*) echo "usage: $0 [--linux VERSION] [--stock | --both]" >&2; exit 2 ;;
esac

die() { echo "build-kernel: $*" >&2; exit 1; }

src_name=linux-source-$version
tarball=/usr/src/$src_name.tar.xz
[ -r "$tarball" ] || die "$tarball missing: apt-get install $src_name"
for t in make gcc bc bison flex perl xz; do
	command -v $t >/dev/null || die "'$t' missing: apt-get install build-essential bc bison flex libelf-dev libssl-dev xz-utils"
done
srcver=$(dpkg-query -W -f='${Version}' "$src_name" 2>/dev/null || stat -c %s "$tarball")

patches=()
if [ -d "$top/patches/linux-$version" ]; then
	while IFS= read -r p; do patches+=("$p"); done < <(find "$top/patches/linux-$version" -maxdepth 1 -name '*.patch' | sort)
fi
# The config fragment: kernel.config, plus the version's own additions.
fragment() {
	cat "$here/kernel.config"
	[ ! -f "$here/kernel-$version.config" ] || cat "$here/kernel-$version.config"
}

recipe=2 # 2: allnoconfig + kernel.config (was defconfig + kvm_guest + fragment)
# key_of VARIANT: the cache key (unchanged by --both: the same images).
key_of() {
	local p
	{
		echo "$srcver recipe $recipe"
		fragment
		if [ "$1" = patched ]; then
			for p in "${patches[@]}"; do basename "$p"; cat "$p"; done
		fi
	} | sha256sum | cut -c1-16
}

mkdir -p "$cache"
key_stock=$(key_of stock)
key_patched=$(key_of patched)
out_stock=$cache/kernel-$key_stock
out_patched=$cache/kernel-$key_patched

# lock KEY FD: one build of a kernel at a time (another check run may be at it).
lock() {
	eval "exec $2>\"\$cache/kernel-\$1.lock\""
	if ! flock -n "$2"; then
		echo "build-kernel: another build of kernel $1 is running; waiting for it" >&2
		flock "$2"
	fi
}

cached() { [ -s "$1/bzImage" ]; }

# configure WORK: configure the (unpacked, maybe patched) tree in WORK.
configure() {
	fragment >"$1/fragment.config"
	(
		cd "$1/$src_name"
		# Everything off but what the fragment names (and what that selects).
		make allnoconfig KCONFIG_ALLCONFIG="$1/fragment.config"
	) >>"$1/build.log" 2>&1 || { tail -40 "$1/build.log" >&2; die "kernel configuration failed (log: $1/build.log)"; }
	local missing
	missing=$("$here/config-missing.sh" "$1/fragment.config" "$1/$src_name/.config") ||
		die "cannot check the configuration against the fragment"
	[ -z "$missing" ] || die "config options the fragment asks for but could not be set (a dependency is missing): $missing"
}

# unpack WORK [patched]: a fresh source tree in WORK/$src_name, configured.
unpack() {
	rm -rf "$1"
	mkdir -p "$1"
	tar -xJf "$tarball" -C "$1"
	[ "${2:-}" != patched ] || apply_series "$1/$src_name"
	configure "$1"
}

apply_series() { # SRC
	local p
	for p in "${patches[@]}"; do
		echo "build-kernel: applying $(basename "$p")" >&2
		patch -d "$1" -p1 --forward --quiet <"$p" || die "patch $(basename "$p") does not apply"
	done
}

# make_image WORK OUT LABEL: build bzImage in WORK's tree (incrementally if
# it was built before) and store it as OUT.
make_image() {
	local src=$1/$src_name start=$SECONDS
	echo "build-kernel: building $3 kernel $(basename "$2") (log: $1/build.log)" >&2
	make -C "$src" -j"$(nproc)" bzImage >>"$1/build.log" 2>&1 ||
		{ tail -40 "$1/build.log" >&2; die "kernel build failed (log: $1/build.log)"; }
	mkdir -p "$2"
	cp "$src/arch/x86/boot/bzImage" "$2/bzImage.tmp"
	cp "$src/.config" "$2/config"
	cp "$1/build.log" "$2/build.log"
	mv "$2/bzImage.tmp" "$2/bzImage"
	echo "build-kernel: $3 kernel built in $((SECONDS - start)) s" >&2
}

# build_one VARIANT: the classic path, one cold build.
build_one() {
	local key out work
	if [ "$1" = stock ]; then key=$key_stock out=$out_stock; else key=$key_patched out=$out_patched; fi
	lock "$key" 9
	if cached "$out"; then
		echo "build-kernel: cache hit ($1, $out)" >&2
		echo "$out/bzImage"
		return 0
	fi
	work=$cache/build-$key
	echo "build-kernel: building $1 kernel $key; ~12 min on 2 cores" >&2
	unpack "$work" "$1"
	make_image "$work" "$out" "$1"
	rm -rf "$work"
	echo "$out/bzImage"
}

# build_both: stock, then the series on the same tree, rebuilt incrementally.
build_both() {
	local work=$cache/build-both-$key_patched
	lock "$key_stock" 8
	lock "$key_patched" 9
	if cached "$out_stock" && cached "$out_patched"; then
		echo "build-kernel: cache hit (stock, $out_stock; patched, $out_patched)" >&2
	elif cached "$out_stock"; then
		exec 8>&- 9>&-
		build_one patched >/dev/null
	else
		unpack "$work" stock
		make_image "$work" "$out_stock" stock
		if ! cached "$out_patched"; then
			apply_series "$work/$src_name"
			make_image "$work" "$out_patched" "patched (incremental)"
		fi
		rm -rf "$work"
	fi
	echo "$out_stock/bzImage"
	echo "$out_patched/bzImage"
}

# No series for this version: "patched" is the stock kernel, one image.
if [ "$key_stock" = "$key_patched" ]; then
	case $mode in
	both) img=$(build_one stock) && echo "$img" && echo "$img" ;;
	*) build_one stock ;;
	esac
	exit
fi

case $mode in
stock) build_one stock ;;
patched)
	# Cold, build both the way --both does (the series is an incremental
	# rebuild on top of stock, ~2 min more): so scripts/demo.sh or a single
	# run.sh leaves check.sh's stock kernel cached too, one cold build in all.
	if cached "$out_patched" || cached "$out_stock"; then
		build_one patched
	else
		build_both | tail -n1
	fi
	;;
both) build_both ;;
esac
