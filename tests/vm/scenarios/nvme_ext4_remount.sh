#!/usr/bin/env bash
# ext4 on an NVMe passthrough tenant keeps its data across umount/mount,
# with the namespace named both ways the policy allows:
#  (1) backend path "/dev/ng0n1": add a tenant, mkfs.ext4, mount, write
#      64 MiB of random data + its sha256, umount, mount, verify;
#  (2) the same backend named controller = "nvme0"; nsid = 1 (second daemon
#      start, same tenant table): the tenant comes back on the same extent
#      with the file intact; a second 64 MiB file survives a remount too.
# Argument `file`: the same checks on the file backend (see lib.sh).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"
nvme_mode_from_args "$@"

mnt=/run/mnt/nx
name=nx

# write_config FILE FORM
write_config() {
	cat >"$1" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( $(nvme_backend ns "$2") );
CONF
}

# remount DEV: umount, drop every cache, mount again.
remount() {
	sync
	umount "$mnt" || fail "umount $mnt failed"
	blockdev --flushbufs "$1"
	echo 3 >/proc/sys/vm/drop_caches
	mount -t ext4 "$1" "$mnt" || fail "mount $1 on $mnt failed after umount"
}

# write_file NAME: 64 MiB of random data in $mnt/NAME and its sha256 in NAME.sha256.
write_file() {
	head -c 64M /dev/urandom >"$mnt/$1"
	checksum "$mnt/$1" >"$mnt/$1.sha256"
	echo "  $1: $(cat "$mnt/$1.sha256")"
}

# verify_file NAME
verify_file() {
	[ -s "$mnt/$1.sha256" ] || fail "$1.sha256 missing after remount"
	[ "$(checksum "$mnt/$1")" = "$(cat "$mnt/$1.sha256")" ] || fail "$1 differs from its sha256 after remount"
}

fsck_clean() {
	fsck.ext4 -n -f "$1" >/tmp/fsck.log 2>&1 || { cat /tmp/fsck.log; fail "fsck.ext4 finds errors on $1"; }
}

extent() { ublk-ctl list --json | jq -c --arg n "$name" '.[] | select(.name == $n) | {backend, offset, size}'; }

step "(1) backend path \"/dev/ng0n1\""
cfg1=/run/nvme_ext4_ng.conf
write_config "$cfg1" ng
cat "$cfg1"
start_daemon "$cfg1"
assert_backend_kind ns
dev=$(ublk-ctl add --name "$name" --backend ns --size 256M) || fail "ublk-ctl add $name failed"
[ -b "$dev" ] || fail "ublk-ctl add printed '$dev', not a block device"
[ "$(blockdev --getsize64 "$dev")" = $((256 << 20)) ] || fail "$dev is $(blockdev --getsize64 "$dev") bytes, asked for 256 MiB"
extent1=$(extent)
echo "  $name: $dev $extent1"

step "(1) mkfs.ext4, mount, write 64 MiB, umount, mount, verify"
mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4 $dev failed"
mkdir -p "$mnt"
mount -t ext4 "$dev" "$mnt" || fail "mount $dev failed"
write_file one
remount "$dev"
verify_file one
umount "$mnt" || fail "umount $mnt failed"
fsck_clean "$dev"
pass "(1) ext4 on a \"/dev/ng0n1\" tenant keeps 64 MiB across remount, fsck clean"
stop_daemon
wait_gone "$dev" 10 || fail "$dev still exists after the daemon stopped"

step "(2) the same backend as controller = \"nvme0\"; nsid = 1"
cfg2=/run/nvme_ext4_ctrl.conf
write_config "$cfg2" ctrl
cat "$cfg2"
start_daemon "$cfg2"
assert_backend_kind ns
extent2=$(extent)
[ "$extent2" = "$extent1" ] || fail "tenant $name came back as '$extent2', was '$extent1'"
dev=$(tenant_get "$name" device)
[ -b "$dev" ] || fail "tenant $name has device '$dev' after the restart, not a block device"
[ "$(tenant_get "$name" state)" = live ] || fail "tenant $name is '$(tenant_get "$name" state)', not live"
echo "  $name: $dev $extent2"
mount -t ext4 "$dev" "$mnt" || fail "mount $dev failed (controller/nsid form)"
verify_file one
pass "(2) the file written through /dev/ng0n1 reads back through controller nvme0 nsid 1"
write_file two
remount "$dev"
verify_file one
verify_file two
umount "$mnt" || fail "umount $mnt failed"
fsck_clean "$dev"
pass "(2) ext4 on a controller/nsid tenant keeps a new 64 MiB file across remount, fsck clean"

ublk-ctl del "$name" || fail "ublk-ctl del $name failed"
stop_daemon
pass "nvme_ext4_remount"
