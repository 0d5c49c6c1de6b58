#!/usr/bin/env bash
# Crash recovery, three times in a row, two tenants: ext4 on a tenant on
# the NVMe passthrough backend and one on an image file, fio writing and
# verifying on both. ddublkd is killed with SIGKILL three times while both
# are writing; twice it is started again at once (while the kernel may
# still be noticing the death: the daemon must wait for the devices to be
# quiesced), once after the old process is gone. Each time both tenants
# must come back on their own /dev/ublkbN (re-attached, not recreated);
# in the end both fio runs exit 0 having verified every byte, fsck -n is
# clean on both, and a verify pass after a remount reads everything back.
# vm-suite: soak
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

cfg=/run/recovery_repeat.conf
cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = (
  $(nvme_backend nvme ng),
  { name = "img"; path = "/run/pool.img"; size = "448M"; }
);
CONF

size=$((128 << 20))
declare -A dev backend=([ra]=nvme [rb]=img) fio_pid

start_daemon "$cfg"
assert_backend_kind nvme
for t in ra rb; do
	step "$t: 384 MiB tenant on ${backend[$t]}, ext4, mounted"
	dev[$t]=$(ublk-ctl add --name "$t" --backend "${backend[$t]}" --size 384M --queues 2) ||
		fail "ublk-ctl add $t failed"
	[ -b "${dev[$t]}" ] || fail "add $t printed '${dev[$t]}', not a block device"
	mkfs.ext4 -q -F "${dev[$t]}" || fail "mkfs.ext4 ${dev[$t]} failed"
	mkdir -p "/run/mnt/$t"
	mount -t ext4 "${dev[$t]}" "/run/mnt/$t" || fail "mount ${dev[$t]} failed"
done

mkdir -p /tmp/fio && cd /tmp/fio
# fio_args T: the fio job of tenant T (write + verify, or verify only).
fio_args() {
	echo --name="$1" --directory="/run/mnt/$1" --nrfiles=2 --size="$size" --ioengine=io_uring \
		--direct=1 --rw=randwrite --bssplit=4k/40:16k/30:64k/30 --iodepth=16 \
		--verify=crc32c --verify_fatal=1 --output-format=json "${rate[@]}"
}
# Writes capped at 1 MiB/s per tenant, so that the write phase (>= 128 s)
# outlasts three crash-and-restart rounds on a slow emulated guest; the
# verify reads are not capped.
rate=("--rate=0,1m")
trap 'cp /tmp/fio/*.log "$DDUBLK_OUT/" 2>/dev/null || true' EXIT
for t in ra rb; do
	step "$t: fio writes $((size >> 20)) MiB and verifies it"
	# shellcheck disable=SC2046 # fio_args prints words without spaces
	fio $(fio_args "$t") --do_verify=1 --verify_state_save=1 --output="$t.json" >"$t.log" 2>&1 &
	fio_pid[$t]=$!
done

for round in 1 2 3; do
	for t in ra rb; do wait_written "${dev[$t]}" $((4 << 20)) 180 "${fio_pid[$t]}"; done
	step "round $round: kill -9 ddublkd while both tenants write"
	crash_daemon
	t0=$SECONDS
	if [ "$round" = 2 ]; then
		reap_crashed
		step "round $round: old daemon gone after $((SECONDS - t0)) s; starting a new one"
	else
		step "round $round: starting a new daemon at once"
	fi
	start_daemon "$cfg"
	reap_crashed
	for t in ra rb; do
		assert_reattached "$t" "${dev[$t]}"
		kill -0 "${fio_pid[$t]}" 2>/dev/null || fail "round $round: fio on $t ended during the crash"
	done
	pass "round $round: both tenants re-attached $((SECONDS - t0)) s after the kill"
done

for t in ra rb; do
	rc=0
	wait "${fio_pid[$t]}" || rc=$?
	cp "$t.log" "$DDUBLK_OUT/fio-$t.log"
	[ "$rc" = 0 ] || { tail -n 20 "$t.log"; fail "$t: fio exited $rc"; }
	if grep -Eqi "$VERIFY_ERRORS" "$t.log"; then fail "$t: fio reports verify errors"; fi
	[ "$(jq '.jobs[0].error' "$t.json")" = 0 ] || fail "$t: fio job error"
	[ "$(jq '.jobs[0].write.io_bytes' "$t.json")" = "$size" ] || fail "$t: fio wrote $(jq '.jobs[0].write.io_bytes' "$t.json") bytes, expected $size"
	[ "$(jq '.jobs[0].read.io_bytes' "$t.json")" = "$size" ] || fail "$t: fio verified $(jq '.jobs[0].read.io_bytes' "$t.json") bytes, expected $size"
	pass "$t: fio wrote and verified $size bytes across three crashes"
done

for t in ra rb; do
	umount "/run/mnt/$t" || fail "umount $t failed"
	fsck.ext4 -n -f "${dev[$t]}" >"/tmp/fsck-$t.log" 2>&1 || { cat "/tmp/fsck-$t.log"; fail "$t: fsck.ext4 -n finds errors"; }
	blockdev --flushbufs "${dev[$t]}"
done
echo 3 >/proc/sys/vm/drop_caches
pass "fsck.ext4 -n: both clean"
for t in ra rb; do
	mount -t ext4 "${dev[$t]}" "/run/mnt/$t" || fail "mount $t after fsck failed"
	rc=0
	rate=()
	# shellcheck disable=SC2046
	fio $(fio_args "$t") --verify_only --verify_state_load=1 --output="$t-re.json" >"$t-re.log" 2>&1 || rc=$?
	[ "$rc" = 0 ] || { tail -n 20 "$t-re.log"; fail "$t: verify pass after remount exited $rc"; }
	[ "$(jq '.jobs[0].read.io_bytes' "$t-re.json")" = "$size" ] || fail "$t: verify pass after remount read too little"
	umount "/run/mnt/$t" || fail "final umount $t failed"
done
pass "every byte of both tenants verifies after remount"

for t in ra rb; do ublk-ctl del "$t" || fail "del $t failed"; done
[ -z "$(ublk_devices)" ] || fail "devices left after del: $(ublk_devices)"
stop_daemon
pass "recovery_repeat"
