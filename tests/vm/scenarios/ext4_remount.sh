#!/usr/bin/env bash
# An ext4 file system on a tenant device keeps its data across umount/mount,
# for a tenant on a file backend and for one on the NVMe block device (the
# file backend through the block layer: type = "file").
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/ext4_remount.conf
cat >"$cfg" <<'CONF'
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = (
  { name = "img"; path = "/run/pool.img"; size = "512M"; },
  { name = "nvme"; path = "/dev/nvme0n1"; type = "file"; }
);
CONF

# fs_roundtrip TENANT BACKEND
fs_roundtrip() {
	local name=$1 backend=$2 dev mnt=/run/mnt/$1 sum
	step "$name: tenant on backend $backend"
	dev=$(ublk-ctl add --name "$name" --backend "$backend" --size 256M) || fail "ublk-ctl add $name failed"
	[ -b "$dev" ] || fail "ublk-ctl add printed '$dev', not a block device"

	step "$name: mkfs.ext4 $dev, mount, write 64 MiB"
	mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4 $dev failed"
	mkdir -p "$mnt"
	mount -t ext4 "$dev" "$mnt" || fail "mount $dev failed"
	head -c 64M /dev/urandom >"$mnt/data"
	sum=$(checksum "$mnt/data")
	echo "$sum" >"$mnt/data.sha256"
	sync
	umount "$mnt" || fail "umount $mnt failed"
	# Nothing of the file may come from memory on the second mount.
	blockdev --flushbufs "$dev"
	echo 3 >/proc/sys/vm/drop_caches

	step "$name: mount again and verify"
	mount -t ext4 "$dev" "$mnt" || fail "second mount of $dev failed"
	[ "$(cat "$mnt/data.sha256")" = "$sum" ] || fail "$name: data.sha256 changed across remount"
	[ "$(checksum "$mnt/data")" = "$sum" ] || fail "$name: 64 MiB file differs after remount"
	umount "$mnt" || fail "final umount $mnt failed"
	fsck.ext4 -n -f "$dev" >/tmp/fsck.log 2>&1 || { cat /tmp/fsck.log; fail "$name: fsck.ext4 finds errors"; }
	pass "$name: ext4 on $backend keeps 64 MiB across remount, fsck clean"
}

start_daemon "$cfg"
fs_roundtrip t_file img
fs_roundtrip t_nvme nvme
for t in t_file t_nvme; do ublk-ctl del "$t" || fail "ublk-ctl del $t failed"; done
stop_daemon
pass "ext4_remount"
