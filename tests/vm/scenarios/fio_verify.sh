#!/usr/bin/env bash
# Data written to a tenant device with fio (io_uring, O_DIRECT, mixed block
# sizes, QD32, every block once) reads back intact in a separate verify
# pass; and the verify pass really checks: one block corrupted through the
# backend makes it fail.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/fio_verify.conf
cat >"$cfg" <<'CONF'
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );
CONF

start_daemon "$cfg"
step "add a 256 MiB tenant on the NVMe backend"
dev=$(ublk-ctl add --name fv --backend nvme --size 256M) || fail "ublk-ctl add failed"
[ -b "$dev" ] || fail "ublk-ctl add printed '$dev', not a block device"
size=$(tenant_num fv size)
offset=$(tenant_num fv offset)
[ "$size" = $((256 << 20)) ] || fail "list --json says size '$size', asked for 256 MiB"
[ "$(blockdev --getsize64 "$dev")" = "$size" ] || fail "$dev is $(blockdev --getsize64 "$dev") bytes, tenant is $size"

mkdir -p /tmp/fio && cd /tmp/fio
# shellcheck disable=SC2034 # read by run_fio in lib.sh
common=(--name=fv --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite
	--bssplit=4k/30:16k/20:64k/20:128k/15:256k/15 --iodepth=32 --size="$size"
	--verify=crc32c)

step "write pass: randwrite over all $size bytes, checksummed blocks"
run_fio write --do_verify=0 --verify_state_save=1 || fail "fio write pass exited $?"
assert_clean write
written=$(jq '.jobs[0].write.io_bytes' write.json)
[ "$written" = "$size" ] || fail "write pass wrote $written bytes, expected $size"
pass "fio wrote $written bytes"

step "verify pass: read every block back and check it"
run_fio verify --verify_only --verify_state_load=1 || fail "fio verify pass exited $? (see fio-verify.log)"
assert_clean verify
read_back=$(jq '.jobs[0].read.io_bytes' verify.json)
[ "$read_back" = "$size" ] || fail "verify pass read $read_back bytes, expected $size: it did not check everything"
pass "fio verified $read_back bytes"

step "corrupt one 4 KiB block via the backend, the verify pass must notice"
assert_corruption_caught "$offset" "$size"

ublk-ctl del fv || fail "ublk-ctl del fv failed"
stop_daemon
pass "fio_verify"
