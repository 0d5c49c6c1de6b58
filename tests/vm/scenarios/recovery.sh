#!/usr/bin/env bash
# Crash recovery: fio writes and verifies files on a mounted ext4 on a
# tenant (NVMe passthrough backend); ddublkd is killed with SIGKILL in the
# middle of the write phase and started again. The tenant's device must
# outlive the daemon (same /dev/ublkbN, file system still mounted), the new
# daemon must re-attach to it (user recovery), fio must finish with status
# 0 and verify every byte it wrote, fsck -n must find the file system
# clean, and a second verify pass after a remount must pass too.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

cfg=/run/recovery.conf
mnt=/run/mnt/rv
cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( $(nvme_backend nvme ng) );
CONF

start_daemon "$cfg"
assert_backend_kind nvme
step "a 512 MiB tenant with recovery on (the default), ext4 on it, mounted"
dev=$(ublk-ctl add --name rv --backend nvme --size 512M) || fail "ublk-ctl add failed"
[ -b "$dev" ] || fail "ublk-ctl add printed '$dev', not a block device"
[ "$(tenant_get rv recovery)" = true ] || fail "tenant rv: recovery is '$(tenant_get rv recovery)', expected true"
mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4 $dev failed"
mkdir -p "$mnt"
mount -t ext4 "$dev" "$mnt" || fail "mount $dev failed"

size=$((192 << 20))
mkdir -p /tmp/fio && cd /tmp/fio
# shellcheck disable=SC2034 # read by run_fio in lib.sh
common=(--name=rv --directory="$mnt" --nrfiles=4 --size="$size" --ioengine=io_uring
	--direct=1 --rw=randwrite --bssplit=4k/40:16k/30:64k/30 --iodepth=16
	--verify=crc32c --verify_fatal=1)

step "fio: write $((size >> 20)) MiB in 4 files, then verify them (do_verify)"
run_fio write --do_verify=1 --verify_state_save=1 &
fio_pid=$!
wait_written "$dev" $((24 << 20)) 120 "$fio_pid"
inflight=$(cat "/sys/block/${dev#/dev/}/inflight")
step "kill -9 ddublkd mid-write (in flight on $dev: $inflight)"
crash_daemon
kill -0 "$fio_pid" 2>/dev/null || fail "fio ended before the kill; the test did not test anything"
t0=$SECONDS
reap_crashed
step "old daemon gone after $((SECONDS - t0)) s; $dev still there: $(test -b "$dev" && echo yes || echo no)"
[ -b "$dev" ] || fail "$dev disappeared when the daemon died: recovery did not keep it"
kill -0 "$fio_pid" 2>/dev/null || fail "fio ended while the daemon was dead (its I/O should wait)"

step "start ddublkd again"
start_daemon "$cfg"
assert_reattached rv "$dev"
# Started while ext4 was mounted: its own mount namespace must not keep a
# copy of that mount (it would outlive the umount below).
[ "$(readlink "/proc/$DDUBLKD_PID/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
	fail "ddublkd shares the mount namespace of the shell"
if grep -F "$dev" "/proc/$DDUBLKD_PID/mountinfo"; then fail "ddublkd's mount namespace holds a copy of $dev's mount"; fi
step "daemon back after $((SECONDS - t0)) s; waiting for fio"
rc=0
wait "$fio_pid" || rc=$?
[ "$rc" = 0 ] || { tail -n 20 write.log; fail "fio exited $rc after the crash (see fio-write.log)"; }
assert_clean write
written=$(jq '.jobs[0].write.io_bytes' write.json)
verified=$(jq '.jobs[0].read.io_bytes' write.json)
[ "$written" = "$size" ] || fail "fio wrote $written bytes, expected $size"
[ "$verified" = "$size" ] || fail "fio verified $verified bytes, expected $size: it did not check everything"
pass "fio wrote and verified $verified bytes across the crash"

step "umount, fsck -n, mount again, verify every byte once more"
umount "$mnt" || fail "umount $mnt failed"
fsck.ext4 -n -f "$dev" >/tmp/fsck.log 2>&1 || { cat /tmp/fsck.log; fail "fsck.ext4 -n finds errors after the crash"; }
pass "fsck.ext4 -n: clean"
blockdev --flushbufs "$dev"
echo 3 >/proc/sys/vm/drop_caches
mount -t ext4 "$dev" "$mnt" || fail "mount $dev after fsck failed"
run_fio reverify --verify_only --verify_state_load=1 || fail "verify pass after remount exited $?"
assert_clean reverify
reread=$(jq '.jobs[0].read.io_bytes' reverify.json)
[ "$reread" = "$size" ] || fail "verify pass after remount read $reread bytes, expected $size"
pass "all $reread bytes verify after remount"
umount "$mnt" || fail "final umount failed"

ublk-ctl del rv || fail "ublk-ctl del rv failed"
[ -z "$(ublk_devices)" ] || fail "devices left after del: $(ublk_devices)"
stop_daemon
pass "recovery"
