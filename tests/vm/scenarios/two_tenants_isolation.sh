#!/usr/bin/env bash
# shellcheck disable=SC2015 # A && B || fail: fail if either check fails
# Two tenants on one NVMe backend: writing all of A leaves B untouched; the
# extents from `ublk-ctl list --json` are disjoint and inside the backend,
# and each tenant's bytes sit exactly at its offset on the backend.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/isolation.conf
cat >"$cfg" <<'CONF'
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );
CONF
backend=/dev/nvme0n1

start_daemon "$cfg"
step "add tenants A and B (128 MiB each) on $backend"
devA=$(ublk-ctl add --name A --backend nvme --size 128M) || fail "add A failed"
devB=$(ublk-ctl add --name B --backend nvme --size 128M) || fail "add B failed"
[ -b "$devA" ] && [ -b "$devB" ] || fail "add printed '$devA' and '$devB', expected block devices"
[ "$devA" != "$devB" ] || fail "A and B got the same device $devA"
ublk-ctl list

offA=$(tenant_num A offset)
sizeA=$(tenant_num A size)
offB=$(tenant_num B offset)
sizeB=$(tenant_num B size)
[ "$sizeA" = $((128 << 20)) ] && [ "$sizeB" = $((128 << 20)) ] || fail "sizes $sizeA/$sizeB, expected 128 MiB each"
[ "$(blockdev --getsize64 "$devA")" = "$sizeA" ] || fail "$devA size differs from the tenant size"
[ "$(blockdev --getsize64 "$devB")" = "$sizeB" ] || fail "$devB size differs from the tenant size"

step "extents: A=[$offA, +$sizeA) B=[$offB, +$sizeB) on a $(blockdev --getsize64 $backend)-byte backend"
bsize=$(blockdev --getsize64 $backend)
[ $((offA + sizeA)) -le "$bsize" ] && [ $((offB + sizeB)) -le "$bsize" ] || fail "an extent ends past the backend"
[ $((offA + sizeA)) -le "$offB" ] || [ $((offB + sizeB)) -le "$offA" ] || fail "extents overlap"
pass "extents disjoint and inside the backend"

step "fill B with a known pattern"
# (yes dies of SIGPIPE when head has enough; that is not an error here)
{ yes 'tenant B pattern 0123456789abcdef' || true; } | head -c "$sizeB" >/tmp/b.bin
dd if=/tmp/b.bin of="$devB" bs=1M oflag=direct conv=fsync status=none || fail "writing B failed"
sumB=$(checksum /tmp/b.bin)
[ "$(checksum "$devB")" = "$sumB" ] || fail "B does not read back what was written"

step "write all of A with random data"
write_random "$devA" "$sizeA" /tmp/a.bin
sumA=$(checksum /tmp/a.bin)
# One byte past the end must be refused, not land on the neighbour.
if dd if=/dev/zero of="$devA" bs=4096 count=1 seek=$((sizeA / 4096)) oflag=direct status=none 2>/dev/null; then
	fail "a write past the end of A succeeded"
fi
[ "$(checksum "$devA")" = "$sumA" ] || fail "A does not read back what was written"
[ "$(checksum "$devB")" = "$sumB" ] || fail "B changed after writing A"
pass "B unchanged after a full write of A"

step "check the bytes on the backend at each tenant's offset"
backend_sum() { # OFFSET SIZE
	local sum
	sum=$(dd if=$backend bs=1M iflag=direct,skip_bytes,count_bytes skip="$1" count="$2" status=none | sha256sum) ||
		fail "cannot read $backend"
	echo "${sum%% *}"
}
[ "$(backend_sum "$offA" "$sizeA")" = "$sumA" ] || fail "A's data is not at offset $offA of $backend"
[ "$(backend_sum "$offB" "$sizeB")" = "$sumB" ] || fail "B's data is not at offset $offB of $backend"
pass "A's and B's bytes are exactly at their offsets on $backend"

ublk-ctl del A || fail "del A failed"
ublk-ctl del B || fail "del B failed"
stop_daemon
pass "two_tenants_isolation"
