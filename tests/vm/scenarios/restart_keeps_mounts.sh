#!/usr/bin/env bash
# A clean restart with daemon.on_stop = "keep": SIGTERM in the middle of a
# fio write+verify on a mounted ext4 leaves the recovery tenant's device
# (same /dev/ublkbN, still mounted, its I/O waiting); the next ddublkd
# re-attaches it and fio finishes with every byte verified, fsck -n clean.
# A tenant with recovery off is stopped as before and comes back on its
# extent, data intact. After a live reload to on_stop = "delete", SIGTERM
# deletes every device again.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

cfg=/run/restart_keeps_mounts.conf
mnt=/run/mnt/rk
policy() { # ON_STOP
	cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; on_stop = "$1"; };
backends = ( $(nvme_backend nvme ng) );
tenants = (
  { name = "fs"; backend = "nvme"; size = "384M"; },
  { name = "scratch"; backend = "nvme"; size = "32M"; recovery = false; }
);
CONF
}

policy keep
start_daemon "$cfg"
assert_backend_kind nvme
dev=$(tenant_get fs device)
scratch=$(tenant_get scratch device)
write_random "$scratch" 32M /tmp/scratch.bin
mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4 $dev failed"
mkdir -p "$mnt"
mount -t ext4 "$dev" "$mnt" || fail "mount $dev failed"

size=$((128 << 20))
mkdir -p /tmp/fio && cd /tmp/fio
# shellcheck disable=SC2034 # read by run_fio in lib.sh
common=(--name=rk --directory="$mnt" --nrfiles=4 --size="$size" --ioengine=io_uring
	--direct=1 --rw=randwrite --bssplit=4k/40:16k/30:64k/30 --iodepth=16
	--verify=crc32c --verify_fatal=1)

step "fio: write $((size >> 20)) MiB in 4 files on $dev, then verify them"
run_fio write --do_verify=1 &
fio_pid=$!
wait_written "$dev" $((16 << 20)) 120 "$fio_pid"

step "SIGTERM ddublkd mid-write (on_stop = keep)"
t0=$SECONDS
stop_daemon
echo "  exited 0 after $((SECONDS - t0)) s"
last_start_log | grep -qF "tenant \"fs\": $dev kept for the next ddublkd" ||
	fail "the log does not say $dev was kept"
[ -b "$dev" ] || fail "$dev went away on SIGTERM with on_stop = keep"
wait_gone "$scratch" 30 || fail "scratch (recovery off) still has $scratch after the stop"
kill -0 "$fio_pid" 2>/dev/null || fail "fio ended while no daemon served $dev (its I/O should wait)"
pass "SIGTERM kept fs's device (mounted, I/O waiting) and stopped scratch's"

step "start ddublkd again"
start_daemon "$cfg"
assert_reattached fs "$dev"
[ "$(checksum "$(tenant_get scratch device)")" = "$(checksum /tmp/scratch.bin)" ] ||
	fail "scratch does not hold its data after the restart"
rc=0
wait "$fio_pid" || rc=$?
[ "$rc" = 0 ] || { tail -n 20 write.log; fail "fio exited $rc across the restart (see fio-write.log)"; }
assert_clean write
written=$(jq '.jobs[0].write.io_bytes' write.json)
verified=$(jq '.jobs[0].read.io_bytes' write.json)
[ "$written" = "$size" ] || fail "fio wrote $written bytes, expected $size"
[ "$verified" = "$size" ] || fail "fio verified $verified bytes, expected $size"
pass "fio wrote and verified $verified bytes across a clean restart, $((SECONDS - t0)) s after the SIGTERM"

umount "$mnt" || fail "umount $mnt failed"
fsck.ext4 -n -f "$dev" >/tmp/fsck.log 2>&1 || { cat /tmp/fsck.log; fail "fsck.ext4 -n finds errors"; }
pass "fsck.ext4 -n: clean"

step "reload to on_stop = delete: SIGTERM deletes every device again"
policy delete
ublk-ctl reload >/tmp/reload.out 2>&1 || fail "reload failed: $(cat /tmp/reload.out)"
grep -qF "daemon: on_stop keep -> delete" /tmp/reload.out ||
	fail "reload did not list the on_stop change: $(cat /tmp/reload.out)"
scratch=$(tenant_get scratch device)
stop_daemon
wait_gone "$dev" 10 || fail "$dev still there after SIGTERM with on_stop = delete"
wait_gone "$scratch" 10 || fail "$scratch still there after SIGTERM with on_stop = delete"
[ -z "$(ublk_devices)" ] || fail "devices left: $(ublk_devices)"
pass "restart_keeps_mounts"
