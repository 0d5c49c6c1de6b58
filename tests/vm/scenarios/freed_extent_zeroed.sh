#!/usr/bin/env bash
# Nothing of a deleted tenant reaches the next one, and a big write-zeroes
# finishes on a shallow queue (issue 12, items 6 and 10).
# The emulated SSD here keeps the data of a deallocate (QEMU
# discard=ignore) while its DLFEAT still promises zeroes, and its queues
# are 16 deep.
#  (1) the harness: a deallocate on the namespace leaves the data;
#  (2) NVMe passthrough, steered: `blkdiscard -z` of a whole 1 GiB tenant
#      (32 commands of 32 MiB, more than a queue has tags) finishes in
#      bounded time and every 32 MiB piece reads back as zeroes;
#  (3) on each backend kind (passthrough; /dev/nvme0n1 as type = "file";
#      a regular file): a tenant filled with data is deleted, the next one
#      is placed on the same extent (checked with `ublk-ctl list --json`)
#      and reads only zeroes.
# vm-cmdline: nvme.io_queue_depth=16
# vm-nvme-discard: ignore
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

ns=/dev/nvme0n1
MiB=$((1 << 20))
cfg=/run/freed_extent.conf

# write_at DEV OFFSET BYTES: random bytes there (O_DIRECT, synced).
write_at() {
	head -c "$3" /dev/urandom | dd of="$1" bs=1M seek="$2" oflag=direct,seek_bytes conv=notrunc,fsync \
		status=none || fail "cannot write $3 bytes at $2 of $1"
}

step "(1) the namespace keeps the data of a deallocate"
echo "  io_queue_depth=$(cat /sys/module/nvme/parameters/io_queue_depth)," \
	"nr_requests=$(cat /sys/block/nvme0n1/queue/nr_requests)"
[ "$(cat /sys/module/nvme/parameters/io_queue_depth)" = 16 ] || fail "nvme.io_queue_depth=16 is not in effect"
if command -v nvme >/dev/null; then
	echo "  DLFEAT=$(nvme id-ns $ns -o json 2>/dev/null | jq -r '.dlfeat // "?"')"
fi
ns_end=$(( $(blockdev --getsize64 $ns) - MiB ))
write_at $ns "$ns_end" "$MiB"
before=$(range_sum $ns "$ns_end" "$MiB")
blkdiscard -o "$ns_end" -l "$MiB" $ns || fail "blkdiscard on $ns itself failed"
[ "$(range_sum $ns "$ns_end" "$MiB")" = "$before" ] ||
	fail "$ns reads changed data after a deallocate: QEMU discard=ignore is not in effect (harness problem)"
echo "  a deallocated MiB of $ns still holds its data"
pass "(1) deallocate leaves the data"

# reuse_reads_zeroes BACKEND SIZE: fill a tenant, delete it, put the next on
# the same extent; the next must read only zeroes.
reuse_reads_zeroes() {
	local be=$1 size=$2 dev off bytes next_dev next_off
	dev=$(ublk-ctl add --name "old-$be" --backend "$be" --size "$size") || fail "add old-$be failed"
	off=$(tenant_num "old-$be" offset)
	bytes=$(tenant_num "old-$be" size)
	write_random "$dev" "$bytes" /tmp/old.bin
	[ "$(checksum "$dev")" = "$(checksum /tmp/old.bin)" ] || fail "old-$be does not read back its data"
	ublk-ctl del "old-$be" || fail "ublk-ctl del old-$be failed"
	wait_gone "$dev" 10 || fail "$dev still exists after del"
	next_dev=$(ublk-ctl add --name "next-$be" --backend "$be" --size "$size") || fail "add next-$be failed"
	next_off=$(tenant_num "next-$be" offset)
	[ "$next_off" = "$off" ] || fail "next-$be is at $next_off, not on old-$be's extent at $off: the check would prove nothing"
	[ "$(checksum "$next_dev")" = "$(zeros_sum "$bytes")" ] ||
		fail "next-$be (backend $be, offset $off) reads data of the deleted old-$be"
	ublk-ctl del "next-$be" || fail "ublk-ctl del next-$be failed"
	pass "backend $be: the tenant after a deleted one, on its extent at $off, reads only zeroes"
}

step "(2) NVMe passthrough: blkdiscard -z of a 1 GiB tenant on 16-deep queues"
cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( { name = "pt"; path = "/dev/ng0n1"; } );
CONF
start_daemon "$cfg"
NVME_MODE=passthrough assert_backend_kind pt
if [ "${DDUBLK_KERNEL:-}" = patched ]; then
	grep -q 'queue steering: every command names its NVMe queue' "$DDUBLKD_LOG" ||
		fail "the patched kernel, but ddublkd does not steer: the retry path is not exercised"
fi
dev=$(ublk-ctl add --name big --backend pt --size 1G) || fail "ublk-ctl add big failed"
size=$(tenant_num big size)
echo "  $dev: write_zeroes_max_bytes=$(cat "/sys/block/${dev#/dev/}/queue/write_zeroes_max_bytes")"
for ((o = 0; o < size; o += 32 * MiB)); do write_at "$dev" "$o" "$MiB"; done
[ "$(range_sum "$dev" $((size - 32 * MiB)) "$MiB")" != "$(zeros_sum "$MiB")" ] || fail "big reads zeroes where data was written"
# In the background: a request that never finishes leaves blkdiscard
# unkillable (D state), so time is kept here.
t0=$SECONDS
blkdiscard -z "$dev" &
pid=$!
while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - t0)) -lt 180 ]; do sleep 0.5; done
kill -0 "$pid" 2>/dev/null && fail "blkdiscard -z of 1 GiB still not done after $((SECONDS - t0)) s"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || fail "blkdiscard -z of 1 GiB exited $rc after $((SECONDS - t0)) s"
took=$((SECONDS - t0))
echo "  blkdiscard -z of 1 GiB: $took s"
for ((o = 0; o < size; o += 32 * MiB)); do
	[ "$(range_sum "$dev" "$o" "$MiB")" = "$(zeros_sum "$MiB")" ] || fail "big at $o is not zero after blkdiscard -z"
done
ublk-ctl del big || fail "ublk-ctl del big failed"
pass "(2) 1 GiB write-zeroes done in $took s, every piece zero"

step "(3a) NVMe passthrough: a freed extent reads zeroes"
reuse_reads_zeroes pt 64M
grep -E 'extent .* zeroed in' "$DDUBLKD_LOG" | tail -n 1 | sed 's/^/  /'
stop_daemon

step "(3b) $ns as type = \"file\", and a regular file"
cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = (
  { name = "blk"; path = "$ns"; type = "file"; },
  { name = "img"; path = "/tmp/pool.img"; size = "256M"; }
);
CONF
start_daemon "$cfg"
NVME_MODE='file' assert_backend_kind blk
reuse_reads_zeroes blk 64M
reuse_reads_zeroes img 64M
stop_daemon
pass "freed_extent_zeroed"
