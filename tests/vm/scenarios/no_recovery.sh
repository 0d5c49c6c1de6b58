#!/usr/bin/env bash
# A tenant with recovery off (ublk-ctl add --no-recovery) does not outlive
# the daemon: when ddublkd is killed with SIGKILL, I/O on its device fails
# within a bounded time (the kernel notices the death within ~5 s) instead
# of hanging, its /dev/ublkbN goes away, and the restarted daemon replaces
# the dead device, after which the tenant can be deleted. A tenant with
# recovery on, written to at the same time, survives on the same device
# with every byte intact. Both on the NVMe passthrough backend.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

cfg=/run/no_recovery.conf
cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( $(nvme_backend nvme ng) );
CONF
FAIL_WITHIN=30 # seconds: the kernel's 5 s check, a slow emulated guest, dd's retries

start_daemon "$cfg"
assert_backend_kind nvme
step "tenant nr (--no-recovery) and tenant rk (recovery on), 128 MiB each, 32 MiB of data"
nr=$(ublk-ctl add --name nr --backend nvme --size 128M --no-recovery) || fail "add nr failed"
rk=$(ublk-ctl add --name rk --backend nvme --size 128M) || fail "add rk failed"
[ "$(tenant_get nr recovery)" = false ] || fail "nr: recovery is '$(tenant_get nr recovery)', expected false"
[ "$(tenant_get rk recovery)" = true ] || fail "rk: recovery is '$(tenant_get rk recovery)', expected true"
grep -F 'tenant "nr"' "$DDUBLKD_LOG" | grep -q 'recovery off' || fail "the daemon did not log nr's recovery as off"
declare -A sum
for t in nr rk; do
	d=$(tenant_get "$t" device)
	write_random "$d" $((32 << 20)) "/tmp/$t.bin"
	sum[$t]=$(checksum "/tmp/$t.bin")
done

# Writers on the second half of each device (the data above stays put):
# nr's runs until it fails; rk's rewrites 16 MiB of random data until told
# to stop, and any failure ends it with status 1.
head -c 16M /dev/urandom >/tmp/rk2.bin
(while dd if=/dev/zero of="$nr" bs=64k seek=1024 count=256 oflag=direct conv=notrunc status=none; do :; done) &
nr_writer=$!
(while [ ! -e /tmp/rk.stop ]; do
	dd if=/tmp/rk2.bin of="$rk" bs=64k seek=1024 oflag=direct conv=notrunc,fsync status=none || exit 1
done) &
rk_writer=$!
wait_written "$nr" $((8 << 20)) 120 "$nr_writer"
wait_written "$rk" $((8 << 20)) 120 "$rk_writer"

step "kill -9 ddublkd while both are written to"
crash_daemon
t0=$SECONDS
while kill -0 "$nr_writer" 2>/dev/null && [ $((SECONDS - t0)) -lt "$FAIL_WITHIN" ]; do sleep 0.2; done
kill -0 "$nr_writer" 2>/dev/null && fail "I/O on $nr (recovery off) still not failed $FAIL_WITHIN s after the daemon died"
wait "$nr_writer" || true
pass "nr: its writer failed $((SECONDS - t0)) s after the kill"
rc=0
timeout 20 dd if="$nr" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "reading $nr still succeeds with its daemon dead"
[ "$rc" != 124 ] || fail "reading $nr hangs (20 s) with its daemon dead"
pass "nr: a new read fails at once (dd status $rc)"
wait_gone "$nr" "$FAIL_WITHIN" || fail "$nr still exists $FAIL_WITHIN s after the daemon died"
[ -b "$rk" ] || fail "$rk (recovery on) disappeared with the daemon"
kill -0 "$rk_writer" 2>/dev/null || fail "rk's writer ended while the daemon was dead (its I/O should wait)"
reap_crashed

step "start ddublkd again"
start_daemon "$cfg"
assert_reattached rk "$rk"
last_start_log | grep -F 'tenant "nr"' | grep -q 'recovery off' ||
	fail "the daemon did not say why nr's old device was replaced: $(last_start_log | grep -F 'tenant "nr"')"
[ "$(tenant_get nr state)" = live ] || fail "nr is '$(tenant_get nr state)' after the restart"
nr2=$(tenant_get nr device)
[ -b "$nr2" ] || fail "nr: new device '$nr2' is not a block device"
[ "$(checksum "$nr2" $((32 << 20)))" = "${sum[nr]}" ] || fail "nr: its data changed across the crash"
pass "nr: recreated as $nr2 with its data"

touch /tmp/rk.stop
rc=0
wait "$rk_writer" || rc=$?
[ "$rc" = 0 ] || fail "rk's writer failed across the crash (status $rc)"
[ "$(checksum "$rk" $((32 << 20)))" = "${sum[rk]}" ] || fail "rk: its first 32 MiB changed"
[ "$(dd if="$rk" bs=64k skip=1024 count=256 iflag=direct status=none | sha256sum)" = \
	"$(sha256sum </tmp/rk2.bin)" ] || fail "rk: the region its writer rewrote is not what it wrote"
pass "rk: writer never saw an error; every byte intact on $rk"

step "delete both tenants"
ublk-ctl del nr || fail "ublk-ctl del nr failed after the restart"
ublk-ctl del rk || fail "ublk-ctl del rk failed"
[ -z "$(ublk_devices)" ] || fail "devices left after del: $(ublk_devices)"
[ -z "$(ls /dev/ublkc* 2>/dev/null)" ] || fail "char devices left after del: $(ls /dev/ublkc*)"
stop_daemon
pass "no_recovery"
