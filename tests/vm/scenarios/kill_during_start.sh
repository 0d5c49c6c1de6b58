#!/usr/bin/env bash
# ddublkd killed with a new device's first read in its hands exits, and the
# next ddublkd re-attaches the device and answers that read.
#
# On 6.1 the first read of a new device used to be the partition scan that
# START_DEV does while it holds the device's mutex; a daemon killed then
# could never exit (the kernel's recovery work waited for the same mutex)
# and the device was lost until reboot. ddublkd fetches without
# CAP_SYS_ADMIN so that the kernel does not scan tenant devices at all
# (ublk/fetch_creds.h): a partition table a tenant writes stays its data.
# The test hook DDUBLKD_CRASH_AT=first-read kills the daemon at the first
# read any tenant receives, wherever it comes from.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

cfg=/run/kill_during_start.conf
cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( $(nvme_backend nvme ng) );
tenants = ( { name = "base"; backend = "nvme"; size = "64M"; } );
CONF

# mbr_one_partition: a DOS partition table with one Linux partition at
# sector 2048, 32 MiB long, on standard output (512 bytes).
mbr_one_partition() {
	head -c 446 /dev/zero
	# status, CHS first, type 0x83, CHS last, LBA first 2048, 65536 sectors
	printf '\x00\xff\xff\xff\x83\xff\xff\xff\x00\x08\x00\x00\x00\x00\x01\x00'
	head -c 48 /dev/zero
	printf '\x55\xaa'
}

start_daemon "$cfg"
assert_backend_kind nvme
dev=$(tenant_get base device)
step "base holds random data under a partition table"
head -c 64M /dev/urandom >/tmp/base.bin
mbr_one_partition | dd of=/tmp/base.bin conv=notrunc status=none
dd if=/tmp/base.bin of="$dev" bs=1M oflag=direct conv=fsync status=none || fail "writing $dev failed"
base_sum=$(checksum /tmp/base.bin)
stop_daemon
wait_gone "$dev" 10 || fail "$dev still there after a clean stop"

step "ddublkd starts base again (START_DEV) with the first-read crash hook armed"
export DDUBLKD_CRASH_AT=first-read
start_daemon "$cfg"
unset DDUBLKD_CRASH_AT
dev=$(tenant_get base device)
[ -b "$dev" ] || fail "base has no device after the start"
sleep 1
ls "${dev}"p* >/dev/null 2>&1 && fail "the kernel scanned base for partitions: $(ls "${dev}"p*)"
pass "START_DEV read nothing: no partitions were scanned on base ($dev has a table)"

step "a 4 KiB read of base kills ddublkd; the read waits for the next daemon"
dd if="$dev" of=/tmp/first.bin bs=4k count=1 iflag=direct status=none &
reader=$!
reap_killed_daemon
grep -q 'DDUBLKD_CRASH_AT=first-read' "$DDUBLKD_LOG" || fail "the crash hook did not fire"
[ -b "$dev" ] || fail "$dev went away with the daemon (recovery is on)"
kill -0 "$reader" 2>/dev/null || fail "the read finished while no daemon was serving base"
pass "ddublkd exited promptly after SIGKILL with a read in hand"

step "the next ddublkd re-attaches base and answers the read"
start_daemon "$cfg"
[ "$(tenant_get base device)" = "$dev" ] || fail "base is now $(tenant_get base device), not $dev"
grep -q 're-attached' "$DDUBLKD_LOG" || fail "the log does not say base was re-attached"
for ((i = 0; i < 60; i++)); do
	kill -0 "$reader" 2>/dev/null || break
	sleep 0.5
done
kill -0 "$reader" 2>/dev/null && fail "the read is still waiting 30 s after the re-attach"
rc=0; wait "$reader" || rc=$?
[ "$rc" = 0 ] || fail "the read failed (dd exited $rc)"
cmp -n 4096 /tmp/first.bin /tmp/base.bin || fail "the read returned other bytes than base's first 4 KiB"
[ "$(checksum "$dev")" = "$base_sum" ] || fail "base's data changed"
stop_daemon
pass "kill_during_start"
