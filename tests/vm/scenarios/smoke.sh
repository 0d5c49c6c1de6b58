#!/usr/bin/env bash
# shellcheck disable=SC2015 # A && B || fail: fail if either check fails
# The harness itself works: the guest booted the test kernel, has the ublk
# control device and the emulated NVMe namespace, and sees the shares.
# vm-needs-daemon: no
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

step "kernel $(uname -r), $(nproc) CPUs online, cmdline: $(cat /proc/cmdline)"
# /proc of the host is visible through the 9p root until the guest mounts
# its own: make sure this is the guest's.
grep -q 'init=[^ ]*/guest-init.sh' /proc/cmdline || fail "/proc/cmdline is not the guest's"
[ -c /dev/ublk-control ] || fail "/dev/ublk-control missing (CONFIG_BLK_DEV_UBLK?)"
[ -b /dev/nvme0n1 ] || fail "/dev/nvme0n1 missing (CONFIG_BLK_DEV_NVME? qemu nvme device?)"
ls -l /dev/ublk-control /dev/nvme0n1
size=$(blockdev --getsize64 /dev/nvme0n1)
[ "$size" = "$DDUBLK_NVME_BYTES" ] || fail "/dev/nvme0n1 has $size bytes, the image has $DDUBLK_NVME_BYTES"
pass "ublk control device and a $size-byte NVMe namespace"

step "shares and writable places"
[ -f "$DDUBLK_SRC/tests/vm/lib.sh" ] || fail "source share not mounted at $DDUBLK_SRC"
[ -d "$DDUBLK_BUILD" ] || fail "build share not mounted at $DDUBLK_BUILD"
echo ok >"$DDUBLK_OUT/smoke.txt" || fail "out share not writable"
echo ok >/tmp/smoke && echo ok >/run/smoke || fail "/tmp or /run not writable"
mountpoint -q /sys/kernel/debug || fail "debugfs not mounted"
pass "src, build, out shares; /tmp, /run writable; debugfs mounted"

step "one direct 1 MiB write/read round trip on the NVMe namespace"
head -c 1M /dev/urandom >/tmp/blk
dd if=/tmp/blk of=/dev/nvme0n1 bs=1M oflag=direct status=none
[ "$(checksum /dev/nvme0n1 1048576)" = "$(checksum /tmp/blk)" ] || fail "NVMe read back differs"
pass "NVMe I/O works"
