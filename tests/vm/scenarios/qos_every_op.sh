#!/usr/bin/env bash
# QoS limits count every request, and never hold up a del:
# - a tenant with iops_limit = 10 running fio write + fsync after every
#   write gets ~10 requests a second in all, FLUSHes included (they were
#   not counted: 10 writes + the flushes on top); fio's DISCARDs (trim) are
#   limited to ~10 a second too. The limit is low because under TCG, on a
#   busy host, the emulated SSD's flushes alone can be as slow as ~11/s;
#   the test needs the limit, not the SSD, to be what holds the tenant.
# - a tenant with iops_limit = 50 and a backlog (fio buffered randwrite at
#   QD32: dirty pages that STOP_DEV writes back first) is deleted within
#   20 s: its gate is lifted before the stop (it was not: the writeback
#   drained at 50 IOPS and STOP_DEV timed out).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/qos_every_op.conf
cat >"$cfg" <<'CONF'
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );
tenants = (
  { name = "f"; backend = "nvme"; size = "64M"; iops_limit = 10; },
  { name = "d"; backend = "nvme"; size = "32M"; iops_limit = 50; }
);
CONF
start_daemon "$cfg"
cd "$DDUBLK_OUT"

# snap NAME: "ns write_ops flush_ops discard_ops completed" of tenant NAME as
# ddublkd counts them: every request it served. (Not /sys/block/*/stat: the
# block layer counts an fsync's empty PREFLUSH write as a write as well as
# a flush, which doubled the writes.)
snap() {
	local j
	j=$(ublk-ctl stats "$1" --json) || fail "ublk-ctl stats $1 --json failed"
	echo "$(date +%s%N) $(jq -r '.tenants[0] | "\(.write_ops) \(.flush_ops) \(.discard_ops) \(.completed)"' <<<"$j")"
}
# per_s SNAP-A SNAP-B FIELD (1 writes, 2 flushes, 3 discards, 4 all): per second between them.
per_s() {
	local -a x y
	read -ra x <<<"$1"
	read -ra y <<<"$2"
	echo $(((y[$3] - x[$3]) * 1000000000 / (y[0] - x[0])))
}
within() { # VALUE TARGET PERCENT
	[ "$1" -ge $(($2 * (100 - $3) / 100)) ] && [ "$1" -le $(($2 * (100 + $3) / 100)) ]
}

dev=$(tenant_get f device)
[ -b "$dev" ] || fail "tenant f has no device ('$dev')"

step "iops_limit 10: fio write with fsync after every write (FLUSH)"
fio --name=flush --filename="$dev" --ioengine=psync --direct=1 --rw=write --bs=4k --fsync=1 \
	--time_based --runtime=14 --size=64M >flush.log 2>&1 &
fio_pid=$!
sleep 3 # past the first second's burst
a=$(snap f); sleep 10; b=$(snap f)
wait "$fio_pid" || fail "fio (write + fsync) failed: $(tail -5 flush.log)"
writes=$(per_s "$a" "$b" 1); flushes=$(per_s "$a" "$b" 2); all=$(per_s "$a" "$b" 4)
echo "writes $writes/s, flushes $flushes/s, all requests $all/s (limit 10)"
[ "$flushes" -ge 2 ] || fail "only $flushes flushes/s: fio's fsync sent no FLUSH, nothing was tested"
within "$all" 10 20 || fail "iops_limit 10: $writes writes/s + $flushes flushes/s: $all requests/s"
pass "FLUSHes count against iops_limit: $all requests/s"

step "iops_limit 10: fio trim (DISCARD), 4 jobs"
fio --name=trim --filename="$dev" --ioengine=psync --rw=randtrim --bs=64k --numjobs=4 \
	--time_based --runtime=14 --size=64M --group_reporting >trim.log 2>&1 &
fio_pid=$!
sleep 3
a=$(snap f); sleep 10; b=$(snap f)
wait "$fio_pid" || fail "fio (trim) failed: $(tail -5 trim.log)"
discards=$(per_s "$a" "$b" 3)
echo "discards $discards/s (limit 10)"
within "$discards" 10 20 || fail "iops_limit 10: $discards discards/s"
pass "DISCARDs count against iops_limit: $discards/s"

step "del of a tenant held at iops_limit 50 with a writeback backlog"
dev=$(tenant_get d device)
[ -b "$dev" ] || fail "tenant d has no device ('$dev')"
fio --name=backlog --filename="$dev" --ioengine=libaio --iodepth=32 --rw=randwrite --bs=4k \
	--time_based --runtime=120 --size=32M >backlog.log 2>&1 &
fio_pid=$!
# The backlog is page cache not yet on the device: Dirty pages plus those
# the flusher has already moved to Writeback (a young bdi's share of the
# dirty threshold is small, so background writeback may start at once and
# leave Dirty near 0 while Writeback holds the backlog). Sample until it
# is there rather than once after a fixed sleep.
backlog_kb=0
for ((i = 0; i < 20; i++)); do
	sleep 1
	backlog_kb=$(awk '/^(Dirty|Writeback):/ { s += $2 } END { print s + 0 }' /proc/meminfo)
	[ "$i" -ge 5 ] && [ "$backlog_kb" -ge 8192 ] && break
done
echo "backlog: $backlog_kb KiB ($(grep -E '^(Dirty|Writeback):' /proc/meminfo | tr -s ' \n' ' '))" \
	"writes done on $dev: $(awk '{ print $5 }' "/sys/block/$(basename "$dev")/stat")"
[ "$backlog_kb" -ge 8192 ] || fail "only $backlog_kb KiB dirty or under writeback: no backlog, nothing to test"
t0=$SECONDS
rc=0
timeout 20 ublk-ctl del --force d || rc=$?  # fio still has it open
echo "del returned $rc after $((SECONDS - t0)) s"
kill -KILL "$fio_pid" 2>/dev/null || true
for ((i = 0; i < 30; i++)); do kill -0 "$fio_pid" 2>/dev/null || break; sleep 1; done
kill -0 "$fio_pid" 2>/dev/null && echo "fio still there 30 s after SIGKILL: $(ps -o stat,wchan:30 -p "$fio_pid")"
[ "$rc" = 0 ] || fail "ublk-ctl del --force d exited $rc (124: not within 20 s)"
wait_gone "$dev" 10 || fail "$dev still exists 10 s after del"
[ -z "$(tenant_get d name)" ] || fail "list still shows d"
daemon_alive || fail "ddublkd died"
pass "del under a 50 IOPS limit returned in $((SECONDS - t0)) s"

ublk-ctl del f || fail "del f failed"
stop_daemon
pass "qos_every_op"
