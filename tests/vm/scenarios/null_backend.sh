#!/usr/bin/env bash
# shellcheck disable=SC2015 # A && B || fail: fail if either check fails
# A "null" backend (no storage): a tenant on it has the size it was given,
# reads zeroes whatever was written, takes every op, refuses what lies past
# its end as any tenant does, and is added, listed and deleted like any
# other. Its reserved region keeps the tenant table while the daemon runs.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/null_backend.conf
cat >"$cfg" <<'CONF'
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( { name = "zero"; type = "null"; size = "8G"; } );
tenants = ( { name = "p"; backend = "zero"; size = "64M"; queues = 2; } );
CONF

start_daemon "$cfg"
step "the policy tenant on the null backend"
grep -q 'backend "zero": null (no storage' "$DDUBLKD_LOG" || fail "no log line for the null backend"
dev=$(tenant_get p device)
[ -b "$dev" ] || fail "tenant p has no block device ('$dev')"
[ "$(blockdev --getsize64 "$dev")" = $((64 << 20)) ] || fail "$dev is $(blockdev --getsize64 "$dev") bytes, not 64 MiB"
[ "$(tenant_get p backend)" = zero ] || fail "list says backend '$(tenant_get p backend)'"
pass "p is $dev, 64 MiB"

step "a write is dropped: the same bytes read back as zeroes"
write_random "$dev" $((1 << 20)) /tmp/rand
[ "$(checksum "$dev" $((1 << 20)))" = "$(zeros_sum $((1 << 20)))" ] || fail "$dev did not read back zeroes"
[ "$(checksum "$dev")" = "$(zeros_sum $((64 << 20)))" ] || fail "the whole of $dev is not zeroes"
pass "1 MiB written, all 64 MiB read back as zeroes"

step "past the end: nothing read, a write refused"
n=$(dd if="$dev" bs=4096 skip=$((16 << 10)) count=1 iflag=direct status=none | wc -c)
[ "$n" = 0 ] || fail "reading past the end returned $n bytes"
dd if=/dev/zero of="$dev" bs=4096 seek=$((16 << 10)) count=1 oflag=direct status=none 2>/dev/null &&
	fail "writing past the end of $dev succeeded" || true
pass "reads at the end return 0 bytes, writes fail"

step "flush, discard, write zeroes and fio all succeed"
blkdiscard "$dev" || fail "blkdiscard failed"
blkdiscard -z "$dev" || fail "blkdiscard -z failed"
sync
mkdir -p /tmp/fio && cd /tmp/fio
# shellcheck disable=SC2034 # read by run_fio in lib.sh
common=(--name=nb --filename="$dev" --ioengine=io_uring --direct=1 --rw=randrw --bs=4k
	--iodepth=32 --time_based --runtime=3 --fsync=64)
run_fio rw || fail "fio on the null tenant exited $?"
assert_clean rw
ios=$(jq '.jobs[0].read.total_ios + .jobs[0].write.total_ios' rw.json)
[ "$ios" -gt 1000 ] || fail "fio did only $ios I/Os in 3 s"
pass "fio did $ios I/Os with no error"

step "ublk-ctl add / list / del on the null backend"
dev2=$(ublk-ctl add --name q --backend zero --size 1G) || fail "ublk-ctl add failed"
[ "$(blockdev --getsize64 "$dev2")" = $((1 << 30)) ] || fail "$dev2 is not 1 GiB"
off_p=$(tenant_num p offset) off_q=$(tenant_num q offset)
[ "$off_q" -ge $((off_p + (64 << 20))) ] || [ $((off_q + (1 << 30))) -le "$off_p" ] ||
	fail "q at $off_q overlaps p at $off_p"
ublk-ctl add --name big --backend zero --size 8G 2>/tmp/err && fail "an 8 GiB tenant fit on an 8 GiB backend beside others"
grep -q "no room\|larger than backend" /tmp/err || { cat /tmp/err; fail "the refusal does not say why"; }
ublk-ctl del q || fail "ublk-ctl del q failed"
wait_gone "$dev2" 10 || fail "$dev2 still there after del"
pass "q added at offset $off_q (p at $off_p), an oversized tenant refused, q deleted"

stop_daemon
pass "null_backend"
