#!/usr/bin/env bash
# An NVMe passthrough tenant's bytes land exactly at its offset in the
# namespace and nowhere else: data written through the tenant reads back
# from /dev/nvme0n1 (O_DIRECT) at the offset `ublk-ctl list --json` gives,
# including single-LBA writes at the tenant's first and last logical block;
# the 1 MiB metadata region and 16 MiB on each side of the extent keep their
# checksums.
# Argument `file`: the same checks on the file backend (see lib.sh).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"
nvme_mode_from_args "$@"

ns=/dev/nvme0n1
cfg=/run/nvme_placement.conf
cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( $(nvme_backend ns ng) );
CONF
MiB=$((1 << 20))
guard=$((16 * MiB))

# ns_read OFFSET BYTES: bytes of the namespace, O_DIRECT, to stdout.
ns_read() {
	dd if=$ns bs=1M iflag=direct,skip_bytes,count_bytes skip="$1" count="$2" status=none ||
		fail "cannot read $2 bytes at $1 of $ns"
}
ns_sum() { local s; s=$(ns_read "$1" "$2" | sha256sum); echo "${s%% *}"; }

# snapshot: checksums of the regions the tenant must not touch.
snapshot() {
	echo "metadata $(ns_sum 0 "$MiB")"
	echo "before $(ns_sum $((offset - guard)) "$guard")"
	echo "after $(ns_sum $((offset + size)) "$guard")"
}

# fill_ns OFFSET BYTES TEXT: a recognisable pattern straight onto the namespace.
fill_ns() {
	{ yes "$3" || true; } | head -c "$2" |
		dd of=$ns bs=1M seek="$1" oflag=direct,seek_bytes conv=notrunc status=none ||
		fail "cannot write $ns at $1"
}

start_daemon "$cfg"
assert_backend_kind ns
ns_bytes=$(blockdev --getsize64 $ns)

step "a 32 MiB pad tenant first, so the tenant under test has a tenant before it"
pad=$(ublk-ctl add --name pad --backend ns --size 32M) || fail "add pad failed"
dev=$(ublk-ctl add --name pt --backend ns --size 64M --queues 2) || fail "add pt failed"
{ [ -b "$pad" ] && [ -b "$dev" ]; } || fail "add printed '$pad' and '$dev', not block devices"
ublk-ctl list
offset=$(tenant_num pt offset)
size=$(tenant_num pt size)
pad_off=$(tenant_num pad offset)
[ "$size" = $((64 * MiB)) ] || fail "pt is $size bytes, asked for 64 MiB"
[ "$(blockdev --getsize64 "$dev")" = "$size" ] || fail "$dev is $(blockdev --getsize64 "$dev") bytes, tenant is $size"
[ "$offset" -ge $((MiB + guard)) ] || fail "pt at offset $offset: expected it after pad (at $pad_off)"
[ $((offset + size + guard)) -le "$ns_bytes" ] || fail "pt at $offset+$size leaves no 16 MiB after it on a $ns_bytes-byte namespace"
[ $((offset % MiB)) = 0 ] || fail "pt's offset $offset is not 1 MiB aligned"

step "patterns around the extent: pad tenant, and the free space after pt"
{ yes 'pad tenant 0123456789' || true; } | head -c $((32 * MiB)) |
	dd of="$pad" bs=1M oflag=direct conv=fsync status=none || fail "writing pad failed"
fill_ns $((offset + size)) "$guard" 'free space after pt'
snapshot >/tmp/snap.before
cat /tmp/snap.before

step "write 64 MiB of random data through $dev"
write_random "$dev" "$size" /tmp/pt.bin
sum=$(checksum /tmp/pt.bin)
[ "$(checksum "$dev")" = "$sum" ] || fail "$dev does not read back what was written"
[ "$(ns_sum "$offset" "$size")" = "$sum" ] || fail "the bytes at offset $offset of $ns are not what was written through $dev"
pass "$ns bytes [$offset, +$size) are exactly pt's data"

step "single logical blocks at the tenant's first and last LBA"
lbs=$(blockdev --getss "$dev")
echo "  $dev logical block size $lbs, $ns $(blockdev --getss $ns)"
for pos in 0 "$lbs" $((size - lbs)); do
	head -c "$lbs" /dev/urandom >/tmp/lba.bin
	dd if=/tmp/lba.bin of="$dev" bs="$lbs" seek=$((pos / lbs)) oflag=direct conv=notrunc status=none ||
		fail "writing $lbs bytes at tenant offset $pos failed"
	ns_read $((offset + pos)) "$lbs" >/tmp/lba.read
	cmp /tmp/lba.bin /tmp/lba.read ||
		fail "$lbs bytes written at tenant offset $pos are not at $ns offset $((offset + pos))"
	dd if=/tmp/lba.bin of=/tmp/pt.bin bs="$lbs" seek=$((pos / lbs)) conv=notrunc status=none
done
if dd if=/dev/zero of="$dev" bs="$lbs" count=1 seek=$((size / lbs)) oflag=direct status=none 2>/dev/null; then
	fail "a write one block past the end of $dev succeeded"
fi
[ "$(ns_sum "$offset" "$size")" = "$(checksum /tmp/pt.bin)" ] || fail "the extent on $ns differs from pt's expected data"
pass "LBA-sized writes at tenant offsets 0, $lbs and $((size - lbs)) land at offset + pos"

step "regions outside the extent unchanged"
snapshot >/tmp/snap.after
cat /tmp/snap.after
diff /tmp/snap.before /tmp/snap.after || fail "a region outside pt's extent changed"
pass "metadata (first 1 MiB), 16 MiB before and 16 MiB after the extent unchanged"

ublk-ctl del pt || fail "del pt failed"
ublk-ctl del pad || fail "del pad failed"
stop_daemon
pass "nvme_placement"
