#!/usr/bin/env bash
# 64 tenants created, each written with its own data and verified (no
# tenant sees another's bytes), then all deleted: the daemon leaks no ublk
# device, no file descriptor and no thread (counted before and after).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/many_tenants.conf
cat >"$cfg" <<'CONF'
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "warn"; };
backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );
CONF
# daemon_threads: the daemon's own threads. io_uring's io-wq workers
# (iou-wrk-*) are the kernel's: they come with punted work and go after
# seconds idle, whatever the daemon does, so they are not counted.
daemon_threads() { cat "/proc/$DDUBLKD_PID"/task/*/comm | grep -vc '^iou-'; }

start_daemon "$cfg"
fds0=$(ls "/proc/$DDUBLKD_PID/fd" | wc -l)
tasks0=$(daemon_threads)
echo "before: $fds0 fds, $tasks0 threads, $(ublk_devices | wc -l) devices"

step "create 64 tenants of 4 MiB and write each with its own bytes"
for i in $(seq 1 64); do
	dev=$(ublk-ctl add --name "t$i" --backend nvme --size 4M --depth 16) || fail "add t$i failed"
	# 4 MiB of the tenant's number, so a mix-up shows in the checksum
	head -c 4M /dev/zero | tr '\0' "\\$(printf '%03o' $((i % 250 + 1)))" >/tmp/t.bin
	dd if=/tmp/t.bin of="$dev" bs=1M oflag=direct status=none || fail "write t$i failed"
done
[ "$(ublk-ctl list --json | jq length)" = 64 ] || fail "list shows $(ublk-ctl list --json | jq length) tenants"
[ "$(ublk_devices | wc -l)" = 64 ] || fail "$(ublk_devices | wc -l) devices for 64 tenants"
echo "with 64 tenants: $(ls "/proc/$DDUBLKD_PID/fd" | wc -l) fds, $(daemon_threads) threads"

step "every tenant reads back its own bytes"
for i in $(seq 1 64); do
	head -c 4M /dev/zero | tr '\0' "\\$(printf '%03o' $((i % 250 + 1)))" >/tmp/t.bin
	[ "$(checksum "$(tenant_get "t$i" device)")" = "$(checksum /tmp/t.bin)" ] || fail "t$i does not hold its bytes"
done
pass "64 tenants, each with its own data"

step "delete all 64"
for i in $(seq 1 64); do ublk-ctl del "t$i" || fail "del t$i failed"; done
sleep 1
fds1=$(ls "/proc/$DDUBLKD_PID/fd" | wc -l)
tasks1=$(daemon_threads)
echo "after: $fds1 fds, $tasks1 threads, $(ublk_devices | wc -l) devices"
[ -z "$(ublk_devices)" ] || fail "devices left: $(ublk_devices | tr '\n' ' ')"
[ -z "$(ls /dev/ublkc* 2>/dev/null)" ] || fail "char devices left: $(ls /dev/ublkc*)"
[ "$fds1" = "$fds0" ] || { ls -l "/proc/$DDUBLKD_PID/fd"; fail "fds: $fds0 before, $fds1 after"; }
[ "$tasks1" = "$tasks0" ] || fail "threads: $tasks0 before, $tasks1 after: $(cat "/proc/$DDUBLKD_PID"/task/*/comm | tr '\n' ' ')"
stop_daemon
pass "many_tenants"
