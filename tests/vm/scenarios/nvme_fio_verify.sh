#!/usr/bin/env bash
# fio verify on an NVMe passthrough tenant (backend path "/dev/ng0n1"):
#  (1) random writes of mixed sizes 4k-256k at QD32 over the whole tenant,
#      then a separate pass reads every block back and checks it; one block
#      corrupted through /dev/nvme0n1 makes that pass fail (it really checks);
#  (2) sequential 1 MiB writes + verify, larger than the device's max
#      transfer (QEMU: MDTS 512 KiB), so requests are split on the way.
# Argument `file`: the same checks on the file backend (see lib.sh).
# On either kernel (vm_nvme_fio_verify patched, vm_stock_nvme_fio_verify
# stock), `ublk-ctl features` must name the route ddublkd took: queue
# steering with the series, pinned submitters without -- and the ublk
# command form the driver took: legacy opcodes on 6.1, the ioctl-encoded
# ones on 6.12 (built without the legacy ones), with the feature flags
# GET_FEATURES reported.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"
nvme_mode_from_args "$@"

cfg=/run/nvme_fio_verify.conf
cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( $(nvme_backend ns ng) );
CONF

# assert_bytes LABEL read|write EXPECTED
assert_bytes() {
	local got
	got=$(jq ".jobs[0].$2.io_bytes" "$1.json")
	[ "$got" = "$3" ] || fail "$1: fio did $got bytes of $2, expected $3"
	echo "  $1: $got bytes of $2"
}

# wrote_sectors DEV: sectors written to DEV so far (/sys/block/*/stat field 7).
wrote_sectors() { awk '{ print $7 }' "/sys/block/${1#/dev/}/stat"; }
write_ios() { awk '{ print $5 }' "/sys/block/${1#/dev/}/stat"; }

start_daemon "$cfg"
assert_backend_kind ns
if [ "$NVME_MODE" = passthrough ]; then
	route=$(ublk-ctl features | grep '^backend ns ') || fail "ublk-ctl features has no line for backend ns"
	echo "  $route"
	case ${DDUBLK_KERNEL:-} in
	patched) want='queue steering, 64 of 64 NVMe queues reachable' ;;
	*) want='pinned submitters, ' ;;
	esac
	[[ $route == *"$want"* ]] || fail "ublk-ctl features: '$route', expected '$want' on the ${DDUBLK_KERNEL:-?} kernel"
fi
ublk-ctl features >/tmp/features.txt || fail "ublk-ctl features failed"
sed -n '/^ublk /p; /^kernel:/p' /tmp/features.txt
case ${DDUBLK_LINUX:-6.1} in
6.1) want_form=legacy ;;
*) want_form=ioctl ;;
esac
grep -qx "ublk opcodes: $want_form" /tmp/features.txt ||
	fail "Linux ${DDUBLK_LINUX:-6.1}: expected the $want_form ublk opcodes: $(cat /tmp/features.txt)"
# 6.12 answers GET_FEATURES: its flags are named (6.1 has no GET_FEATURES)
[ "$want_form" = legacy ] || grep -Eq '^ublk flags: .*(USER_RECOVERY|CMD_IOCTL_ENCODE)' /tmp/features.txt ||
	fail "no feature flags from GET_FEATURES: $(cat /tmp/features.txt)"
step "add a 256 MiB tenant with 2 queues"
dev=$(ublk-ctl add --name fv --backend ns --size 256M --queues 2) || fail "ublk-ctl add failed"
[ -b "$dev" ] || fail "ublk-ctl add printed '$dev', not a block device"
size=$(tenant_num fv size)
offset=$(tenant_num fv offset)
[ "$size" = $((256 << 20)) ] || fail "list --json says size '$size', asked for 256 MiB"
[ "$(blockdev --getsize64 "$dev")" = "$size" ] || fail "$dev is $(blockdev --getsize64 "$dev") bytes, tenant is $size"
q=/sys/block/${dev#/dev/}/queue
hw_kb=$(cat "$q/max_hw_sectors_kb")
echo "  $dev: max_hw_sectors_kb=$hw_kb max_sectors_kb=$(cat "$q/max_sectors_kb")" \
	"logical_block_size=$(cat "$q/logical_block_size") nr_requests=$(cat "$q/nr_requests")"
echo "  /dev/nvme0n1: max_hw_sectors_kb=$(cat /sys/block/nvme0n1/queue/max_hw_sectors_kb)"
{ [[ $hw_kb =~ ^[0-9]+$ ]] && [ "$hw_kb" -ge 4 ]; } || fail "$dev: max_hw_sectors_kb is '$hw_kb'"

mkdir -p /tmp/fio && cd /tmp/fio

step "(1) write pass: randwrite 4k-256k QD32 over all $size bytes, checksummed blocks"
# shellcheck disable=SC2034 # read by run_fio in lib.sh
common=(--name=fv --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite
	--bssplit=4k/30:16k/20:64k/20:128k/15:256k/15 --iodepth=32 --size="$size"
	--verify=crc32c)
run_fio write --do_verify=0 --verify_state_save=1 || fail "fio write pass exited $?"
assert_clean write
assert_bytes write write "$size"

step "(1) verify pass: read every block back and check it"
run_fio verify --verify_only --verify_state_load=1 || fail "fio verify pass exited $? (see fio-verify.log)"
assert_clean verify
assert_bytes verify read "$size"
pass "(1) fio verified $size bytes of mixed 4k-256k QD32 writes"

step "(1) corrupt one 4 KiB block through /dev/nvme0n1: the verify pass must notice"
assert_corruption_caught "$offset" "$size"

step "(2) sequential 1 MiB writes + verify (max_hw_sectors_kb=$hw_kb: split on the way)"
sectors0=$(wrote_sectors "$dev")
ios0=$(write_ios "$dev")
common=(--name=seq1m --filename="$dev" --ioengine=io_uring --direct=1 --rw=write
	--bs=1M --iodepth=8 --size="$size" --verify=crc32c --do_verify=1)
run_fio seq1m || fail "fio 1 MiB write+verify exited $? (see fio-seq1m.log)"
assert_clean seq1m
assert_bytes seq1m write "$size"
assert_bytes seq1m read "$size"
ios=$(( $(write_ios "$dev") - ios0 ))
sectors=$(( $(wrote_sectors "$dev") - sectors0 ))
[ "$sectors" = $((size / 512)) ] || fail "$dev counted $sectors sectors written, expected $((size / 512))"
echo "  $dev: $ios write requests for $((size >> 20)) x 1 MiB ($((sectors / 2 / (ios > 0 ? ios : 1))) KiB each on average)"
if [ "$hw_kb" -lt 1024 ]; then
	[ "$ios" -ge $((size / (hw_kb * 1024))) ] ||
		fail "$dev: $ios write requests for $size bytes cannot respect max_hw_sectors_kb=$hw_kb"
fi
pass "(2) 1 MiB sequential writes verified ($((size >> 20)) MiB)"

ublk-ctl del fv || fail "ublk-ctl del fv failed"
stop_daemon
pass "nvme_fio_verify"
