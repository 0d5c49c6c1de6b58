#!/usr/bin/env bash
# DISCARD and WRITE ZEROES on an NVMe passthrough tenant: after filling the
# tenant with random data, `blkdiscard` of one range and `blkdiscard -z` of
# another both read back as zeroes (through the tenant and on the
# namespace), and every byte outside the two ranges is intact.
# Discarded blocks read as zeroes only if the namespace says so (DLFEAT
# bits 2:0 = 001, which QEMU's emulated NVMe reports); the scenario prints
# DLFEAT and fails if the namespace does not promise zeroes, rather than
# silently skipping the check.
# Argument `file`: the same checks on the file backend (see lib.sh).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"
nvme_mode_from_args "$@"

ns=/dev/nvme0n1
cfg=/run/nvme_discard.conf
cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( $(nvme_backend ns ng) );
CONF
MiB=$((1 << 20))
# Two ranges inside a 64 MiB tenant, neither 1 MiB aligned at both ends.
disc_off=$((8 * MiB + 64 * 1024)) disc_len=$((5 * MiB))
zero_off=$((40 * MiB)) zero_len=$((3 * MiB + 128 * 1024))

# dlfeat: the namespace's DLFEAT byte (from nvme-cli), or empty.
dlfeat() {
	command -v nvme >/dev/null || return 0
	nvme id-ns $ns -o json 2>/dev/null | jq -r '.dlfeat // empty'
}

# zero_file OFFSET BYTES: zero that range of the expected copy.
zero_file() {
	dd if=/dev/zero of=/tmp/d.bin bs=64K seek="$1" count="$2" oflag=seek_bytes iflag=count_bytes \
		conv=notrunc status=none
}

step "namespace deallocate behaviour"
if command -v nvme >/dev/null; then
	nvme id-ns $ns -H 2>/dev/null | grep -i -A4 dlfeat || true
	nvme id-ctrl $ns -H 2>/dev/null | grep -iE '^oncs|Data Set Management|Write Zeroes' || true
fi
df=$(dlfeat)
echo "  DLFEAT=${df:-unknown (nvme-cli missing)}"
if [ -n "$df" ] && [ $((df & 7)) != 1 ]; then
	fail "$ns does not promise zeroes after deallocate (DLFEAT=$df): this scenario needs a namespace that does (QEMU's does)"
fi

# The device itself, outside any tenant (the namespace's last MiB): if a
# deallocate does not read back as zeroes here, the emulator is at fault,
# not ddublk.
step "the namespace itself: deallocate its last MiB directly"
ns_end=$(( $(blockdev --getsize64 $ns) - MiB ))
head -c "$MiB" /dev/urandom | dd of=$ns bs=1M seek="$ns_end" oflag=direct,seek_bytes status=none ||
	fail "cannot write $ns"
blkdiscard -o "$ns_end" -l "$MiB" $ns || fail "blkdiscard on $ns itself failed"
[ "$(range_sum $ns "$ns_end" "$MiB")" = "$(zeros_sum "$MiB")" ] ||
	fail "$ns itself does not read zeroes after a deallocate despite DLFEAT=$df: the VM's NVMe does not zero (harness problem)"
echo "  $ns reads zeroes after a deallocate"

start_daemon "$cfg"
assert_backend_kind ns
dev=$(ublk-ctl add --name dz --backend ns --size 64M) || fail "ublk-ctl add failed"
[ -b "$dev" ] || fail "ublk-ctl add printed '$dev', not a block device"
offset=$(tenant_num dz offset)
size=$(tenant_num dz size)
q=/sys/block/${dev#/dev/}/queue
echo "  $dev: discard_granularity=$(cat "$q/discard_granularity") discard_max_bytes=$(cat "$q/discard_max_bytes")" \
	"write_zeroes_max_bytes=$(cat "$q/write_zeroes_max_bytes")"
[ "$(cat "$q/discard_max_bytes")" -gt 0 ] || fail "$dev does not support discard (discard_max_bytes=0)"

step "fill the tenant with random data"
write_random "$dev" "$size" /tmp/d.bin
[ "$(checksum "$dev")" = "$(checksum /tmp/d.bin)" ] || fail "$dev does not read back what was written"

step "blkdiscard $disc_len bytes at $disc_off"
blkdiscard -o "$disc_off" -l "$disc_len" "$dev" || fail "blkdiscard $dev failed"
step "blkdiscard -z (write zeroes) $zero_len bytes at $zero_off"
blkdiscard -z -o "$zero_off" -l "$zero_len" "$dev" || fail "blkdiscard -z $dev failed"

step "both ranges read back as zeroes, through $dev and on $ns"
[ "$(range_sum "$dev" "$disc_off" "$disc_len")" = "$(zeros_sum "$disc_len")" ] ||
	fail "discarded range [$disc_off, +$disc_len) of $dev does not read back as zeroes"
[ "$(range_sum "$dev" "$zero_off" "$zero_len")" = "$(zeros_sum "$zero_len")" ] ||
	fail "write-zeroes range [$zero_off, +$zero_len) of $dev does not read back as zeroes"
[ "$(range_sum $ns $((offset + disc_off)) "$disc_len")" = "$(zeros_sum "$disc_len")" ] ||
	fail "discarded range is not zero on $ns at $((offset + disc_off))"
[ "$(range_sum $ns $((offset + zero_off)) "$zero_len")" = "$(zeros_sum "$zero_len")" ] ||
	fail "write-zeroes range is not zero on $ns at $((offset + zero_off))"
pass "discard and write-zeroes ranges read as zeroes"

step "everything outside the two ranges intact"
zero_file "$disc_off" "$disc_len"
zero_file "$zero_off" "$zero_len"
[ "$(checksum "$dev")" = "$(checksum /tmp/d.bin)" ] || fail "$dev differs from the expected data outside the ranges"
[ "$(range_sum $ns "$offset" "$size")" = "$(checksum /tmp/d.bin)" ] || fail "the extent on $ns differs from the expected data"
pass "data outside the discarded and zeroed ranges intact"

ublk-ctl del dz || fail "ublk-ctl del dz failed"
stop_daemon
pass "nvme_discard_zeroes"
