#!/usr/bin/env bash
# Build (or reuse) the test VM kernel.
#
# usage: tests/vm/build-kernel.sh [--stock]
#
# Builds Debian's linux-source-6.1 with tests/vm/kernel.config and, unless
# --stock is given, every patch in patches/linux-6.1/ (in name order).
# The bzImage is cached under ${DDUBLK_CACHE:-~/.cache/ddublk}/kernel-KEY/
# where KEY hashes the source package version, the config fragment, the
# patches and the recipe version below; a cache hit costs nothing. Prints the bzImage
# path as the last line of stdout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${DDUBLK_CACHE:-$HOME/.cache/ddublk}
variant=patched
[ "${1:-}" = "--stock" ] && variant=stock

die() { echo "build-kernel: $*" >&2; exit 1; }

tarball=/usr/src/linux-source-6.1.tar.xz
[ -r "$tarball" ] || die "$tarball missing: apt-get install linux-source-6.1"
for t in make gcc bc bison flex perl xz; do
	command -v $t >/dev/null || die "'$t' missing: apt-get install build-essential bc bison flex libelf-dev libssl-dev xz-utils"
done
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || stat -c %s "$tarball")

patches=()
if [ $variant = patched ] && [ -d "$top/patches/linux-6.1" ]; then
	while IFS= read -r p; do patches+=("$p"); done < <(find "$top/patches/linux-6.1" -maxdepth 1 -name '*.patch' | sort)
fi

# Bump when the build steps below change what comes out (comments do not count).
recipe=1
key=$( { echo "$srcver recipe $recipe"; cat "$here/kernel.config";
	 for p in "${patches[@]}"; do basename "$p"; cat "$p"; done; } | sha256sum | cut -c1-16)
out="$cache/kernel-$key"
mkdir -p "$cache"
# One build per key at a time: a second caller (another test, another
# terminal) waits for the first instead of deleting its tree.
exec 9>"$cache/kernel-$key.lock"
if ! flock -n 9; then
	echo "build-kernel: another build of kernel $key is running; waiting for it" >&2
	flock 9
fi
if [ -s "$out/bzImage" ]; then
	echo "build-kernel: cache hit ($variant, $out)" >&2
	echo "$out/bzImage"
	exit 0
fi

work="$cache/build-$key"
rm -rf "$work"
mkdir -p "$work"
log="$work/build.log"
echo "build-kernel: building $variant kernel $key (log: $log); ~10-15 min on 2 cores" >&2
start=$(date +%s)
tar -xJf "$tarball" -C "$work"
src="$work/linux-source-6.1"
for p in "${patches[@]}"; do
	echo "build-kernel: applying $(basename "$p")" >&2
	patch -d "$src" -p1 --forward --quiet < "$p" || die "patch $(basename "$p") does not apply"
done
(
	cd "$src"
	make x86_64_defconfig
	make kvm_guest.config
	scripts/kconfig/merge_config.sh -m .config "$here/kernel.config"
	make olddefconfig
	make -j"$(nproc)" bzImage
) >"$log" 2>&1 || { tail -40 "$log" >&2; die "kernel build failed (log: $log)"; }

# Every line of the fragment that asks for =y must have survived olddefconfig;
# a silently dropped option would make tests fail in confusing ways later.
missing=$(grep -E '^CONFIG_[A-Z0-9_]+=y' "$here/kernel.config" | while read -r l; do
	grep -qx "$l" "$src/.config" || echo "$l"; done)
[ -z "$missing" ] || die "config options lost in olddefconfig: $missing"

mkdir -p "$out"
cp "$src/arch/x86/boot/bzImage" "$out/bzImage"
cp "$src/.config" "$out/config"
cp "$log" "$out/build.log"
rm -rf "$work"
echo "build-kernel: built in $(( $(date +%s) - start )) s" >&2
echo "$out/bzImage"
