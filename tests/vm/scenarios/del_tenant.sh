#!/usr/bin/env bash
# `ublk-ctl del` removes a tenant: an idle one cleanly; a busy one (fio at
# QD32) is refused, naming fio as the holder, and nothing changes; with
# --force it is removed without hanging: the device node goes away, the I/O
# in flight fails instead of blocking, and the daemon keeps serving new
# tenants.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/del_tenant.conf
cat >"$cfg" <<'CONF'
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );
CONF

# assert_unlisted NAME: neither list nor list --json shows the tenant.
assert_unlisted() {
	[ -z "$(tenant_get "$1" name)" ] || fail "list --json still shows $1"
	ublk-ctl list | awk -v n="$1" '$1 == n { found = 1 } END { exit found }' || fail "list still shows $1"
}

# ios_done DEV: reads + writes completed on DEV so far.
ios_done() { awk '{ print $1 + $5 }' "/sys/block/$(basename "$1")/stat"; }

start_daemon "$cfg"

step "del of an idle tenant"
dev=$(ublk-ctl add --name idle --backend nvme --size 64M) || fail "add idle failed"
[ -b "$dev" ] || fail "add printed '$dev', not a block device"
id=$(tenant_num idle dev_id)
ublk-ctl del idle || fail "ublk-ctl del idle exited $?"
wait_gone "$dev" 10 || fail "$dev still exists 10 s after del"
wait_gone "/dev/ublkc$id" 10 || fail "/dev/ublkc$id still exists 10 s after del"
assert_unlisted idle
rc=0
ublk-ctl del idle 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "del of a tenant that no longer exists exited $rc, expected 1"
pass "idle tenant deleted, $dev gone, a second del is refused"

step "del of a tenant under fio load (randrw, QD32)"
dev=$(ublk-ctl add --name busy --backend nvme --size 256M) || fail "add busy failed"
[ -b "$dev" ] || fail "add printed '$dev', not a block device"
fio --name=busy --filename="$dev" --ioengine=io_uring --direct=1 --rw=randrw --bs=4k \
	--iodepth=32 --time_based --runtime=60 --size=256M >/tmp/fio-busy.log 2>&1 &
fio_pid=$!
# Delete only once I/O is really flowing.
for ((i = 0; i < 60; i++)); do
	kill -0 "$fio_pid" 2>/dev/null || { cat /tmp/fio-busy.log; fail "fio ended before the del"; }
	[ "$(ios_done "$dev")" -ge 1000 ] && break
	sleep 1
done
[ "$(ios_done "$dev")" -ge 1000 ] || fail "fio did not get 1000 I/Os done on $dev in 60 s"
echo "fio running, $(ios_done "$dev") I/Os done; deleting without --force"
rc=0
timeout 60 ublk-ctl del busy 2>/tmp/del.err || rc=$?
cat /tmp/del.err
[ "$rc" = 1 ] || fail "ublk-ctl del of a device fio has open exited $rc, expected 1 (refused)"
holders=$(grep -oE 'opened by pid [0-9]+ \(fio\)' /tmp/del.err | grep -oE '[0-9]+') ||
	fail "the refusal does not name fio as the holder"
for pid in $holders; do
	[ "$pid" = "$fio_pid" ] || [ "$(ps -o ppid= -p "$pid" | tr -d ' ')" = "$fio_pid" ] ||
		fail "the refusal names pid $pid, which is not fio ($fio_pid) or one of its jobs"
done
grep -q 'nothing was changed' /tmp/del.err || fail "the refusal does not say nothing was changed"
[ "$(tenant_get busy state)" = live ] && [ -b "$dev" ] || fail "busy changed although the del was refused"
before=$(ios_done "$dev")
sleep 1
[ "$(ios_done "$dev")" -gt "$before" ] || fail "fio's I/O stopped after the refused del"
pass "del refused while fio (pid $holders) has the device open; its I/O goes on"

step "del --force of the tenant under fio load"
t0=$SECONDS
rc=0
timeout 60 ublk-ctl del --force busy || rc=$?
[ "$rc" = 0 ] || fail "ublk-ctl del --force busy under load exited $rc (124: did not return within 60 s)"
echo "del returned after $((SECONDS - t0)) s"
wait_gone "$dev" 10 || fail "$dev still exists 10 s after del"

# fio must end by itself, long before its 60 s runtime would: its I/O fails.
for ((i = 0; i < 60; i++)); do kill -0 "$fio_pid" 2>/dev/null || break; sleep 1; done
kill -0 "$fio_pid" 2>/dev/null && { ps -o pid,stat,wchan:30,args -p "$fio_pid"; fail "fio still running 60 s after its device was deleted"; }
fio_rc=0
wait "$fio_pid" || fio_rc=$?
cp /tmp/fio-busy.log "$DDUBLK_OUT/fio-busy.log"
grep -iE 'err|fail' /tmp/fio-busy.log | head -3 || true
[ "$fio_rc" != 0 ] || grep -qiE 'error|err=' /tmp/fio-busy.log ||
	fail "fio exited 0 without an error although its device was deleted under it"
pass "del --force under load returned, fio failed (status $fio_rc), device gone"

step "the daemon still serves new tenants"
daemon_alive || fail "ddublkd died"
assert_unlisted busy
dev=$(ublk-ctl add --name after --backend nvme --size 64M) || fail "add after the busy del failed"
[ -b "$dev" ] || fail "add printed '$dev', not a block device"
write_random "$dev" 8M /tmp/after.bin
[ "$(checksum "$dev" $((8 << 20)))" = "$(checksum /tmp/after.bin)" ] || fail "new tenant reads back wrong data"
ublk-ctl del after || fail "del after failed"
stop_daemon
pass "del_tenant"
