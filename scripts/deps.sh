#!/usr/bin/env bash
# Install every Debian package needed to build and test ddublk.
# Quiet no-op when all are installed; otherwise needs root (apt-get).
set -euo pipefail

packages=(
	# build
	build-essential cmake pkg-config liburing-dev libnvme-dev libconfig-dev
	libcmocka-dev libjson-c-dev libsystemd-dev
	# fuzz tests (check.sh phase "fuzz"): clang (-> clang-14) and its libFuzzer runtime
	clang libclang-rt-14-dev
	# VM tests: emulator, guest kernel sources (6.12: from the security
	# archive on Debian 12) and what it takes to build them
	qemu-system-x86 linux-source-6.1 linux-source-6.12 bc bison flex libelf-dev libssl-dev cpio
	# tools the scenarios run inside the guest (from the host's root)
	fio e2fsprogs xfsprogs jq python3 systemd curl iproute2
	# bench/overhead: cross-checks the worker's io_uring_enter count
	strace
	# plots (tests/sim, bench/)
	gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}" >&2
	echo "deps.sh: run as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
