#!/usr/bin/env bash
# Daredevil routing on the stock 2-vCPU guest, proven from the controller's
# side. The policy has a latency tenant and a throughput tenant on one NVMe
# passthrough backend, scheduler.mode = "daredevil". Two NVMe queues are
# reachable (those of CPUs 0 and 1), so the latency group is one queue and
# the throughput group the other.
#  (1) ddublkd reports qids 1 and 2 reachable and disjoint groups;
#  (2) under load -- the latency tenant 4k randread QD1, the throughput
#      tenant 128k randwrite QD32 with crc32c verify, concurrently, from
#      both CPUs (so requests reach both workers and hop between CPUs) --
#      QEMU's own trace of every NVMe command (sqid + LBA) shows each
#      tenant's commands only on its group's queue;
#  (3) fio verify passes on both tenants (mixed sizes, both at once);
#  (4) reloaded as a throughput tenant, "lat" moves to the throughput queue;
#  (5) for comparison, the same load in static mode in the same boot (the
#      stock baseline: each worker's own CPU's queue, tenants mixed); its
#      numbers are printed, not asserted.
# The pinned-submitter route: the stock kernel (with the series ddublkd
# steers, and every queue is reachable: nvme_steer).
# vm-kernel: stock
# vm-qemu-trace: pci_nvme_io_cmd pci_nvme_read pci_nvme_write
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

cfg=/run/nvme_route_daredevil.conf
policy() { # MODE [CLASS of lat]
	cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
scheduler = { mode = "$1"; };
backends = ( { name = "ns"; path = "/dev/ng0n1"; } );
tenants = (
  { name = "lat"; backend = "ns"; size = "128M"; queues = 2; class = "${2:-latency}"; },
  { name = "tput"; backend = "ns"; size = "256M"; queues = 2; class = "throughput"; }
);
CONF
}

policy daredevil
start_daemon "$cfg"
grep -F 'router nvme0n1' "$DDUBLKD_LOG" | sed 's/^/  /'

step "(1) what ddublkd reports"
reach=$(log_field 'router nvme0n1: reachable qids: ')
[ "$reach" = "1 2" ] || fail "reachable qids '$reach', expected '1 2' (2 vCPUs, one DEFAULT queue each)"
groups=$(log_field 'router nvme0n1: daredevil groups: ')
[[ $groups =~ ^latency\ qids\ ([0-9]+)\;\ throughput\ qids\ ([0-9]+)$ ]] ||
	fail "daredevil groups '$groups': expected one queue each"
lq=${BASH_REMATCH[1]} tq=${BASH_REMATCH[2]}
[ "$lq" != "$tq" ] || fail "latency and throughput share qid $lq"
pass "reachable qids $reach; latency group qid $lq, throughput group qid $tq"

lat=$(tenant_get lat device) tput=$(tenant_get tput device)
{ [ -b "$lat" ] && [ -b "$tput" ]; } || fail "tenant devices '$lat' '$tput'"
lbs=$(cat /sys/block/nvme0n1/queue/logical_block_size)
owners=("lat:$(tenant_num lat offset):$(tenant_num lat size)"
	"tput:$(tenant_num tput offset):$(tenant_num tput size)")
mkdir -p /tmp/fio && cd /tmp/fio

# check_trace MARK LABEL: every command of each tenant since MARK on its group's queue.
check_trace() {
	local mark=$1 label=$2 table
	trace_commands "$mark" "$lbs" "${owners[@]}" >/tmp/table
	sed 's/^/  controller: /' /tmp/table
	table=$(cat /tmp/table)
	local l_ok l_bad t_ok t_bad
	l_ok=$(awk -v q="$lq" '$1 == "lat" && $2 == q { s += $3 } END { print s + 0 }' <<<"$table")
	l_bad=$(awk -v q="$lq" '$1 == "lat" && $2 != q { s += $3 } END { print s + 0 }' <<<"$table")
	t_ok=$(awk -v q="$tq" '$1 == "tput" && $2 == q { s += $3 } END { print s + 0 }' <<<"$table")
	t_bad=$(awk -v q="$tq" '$1 == "tput" && $2 != q { s += $3 } END { print s + 0 }' <<<"$table")
	! grep -q '^unpaired' <<<"$table" || fail "$label: trace lines the parser could not pair"
	[ "$l_bad" = 0 ] || fail "$label: $l_bad latency-tenant commands on queues other than qid $lq"
	[ "$t_bad" = 0 ] || fail "$label: $t_bad throughput-tenant commands on queues other than qid $tq"
	[ "$l_ok" -gt 100 ] || fail "$label: only $l_ok latency-tenant commands on qid $lq"
	[ "$t_ok" -gt 100 ] || fail "$label: only $t_ok throughput-tenant commands on qid $tq"
	pass "$label: the controller took $l_ok latency-tenant commands, all on qid $lq, and $t_ok throughput-tenant commands, all on qid $tq"
}

# load: the latency readers and the verifying throughput writer, concurrently.
load() {
	fio --name=t --filename="$tput" --ioengine=io_uring --direct=1 --rw=randwrite --bs=128k \
		--iodepth=32 --size=256M --verify=crc32c --do_verify=1 --numjobs=1 \
		--output-format=json --output=t.json >t.log 2>&1 &
	local tpid=$!
	fio --name=l --filename="$lat" --ioengine=io_uring --direct=1 --rw=randread --bs=4k \
		--iodepth=1 --time_based --runtime=20 --numjobs=2 --group_reporting \
		--output-format=json --output=l.json >l.log 2>&1 ||
		fail "latency fio exited $? ($(tail -3 l.log))"
	wait "$tpid" || fail "throughput fio exited $? ($(tail -3 t.log))"
	assert_clean t
	[ "$(jq '.jobs[0].error' l.json)" = 0 ] || fail "latency fio job error"
	echo "  latency: $(jq -r '.jobs[0].read | "\(.iops | floor) IOPS, p50 \(.clat_ns.percentile["50.000000"] / 1000 | floor) us, p99 \(.clat_ns.percentile["99.000000"] / 1000 | floor) us"' l.json)"
	echo "  throughput: $(jq -r '.jobs[0].write | "\(.bw / 1024 | floor) MiB/s written, then verified"' t.json)"
}

step "(2) latency 4k randread QD1 + throughput 128k randwrite QD32 (verify), concurrently"
mark=$(trace_mark)
load
check_trace "$mark" "(2)"

step "(3) fio verify on both tenants at once (mixed 4k-256k, QD16 each)"
mark=$(trace_mark)
for t in lat tput; do
	dev=$(tenant_get $t device)
	fio --name=v$t --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite \
		--bssplit=4k/40:64k/30:256k/30 --iodepth=16 --size=64M --verify=crc32c \
		--do_verify=1 --output-format=json --output=v$t.json >v$t.log 2>&1 &
	eval "pid_$t=\$!"
done
# shellcheck disable=SC2154 # set by eval above
{ wait "$pid_lat" && wait "$pid_tput"; } || fail "fio verify exited non-zero ($(tail -3 vlat.log vtput.log))"
assert_clean vlat
assert_clean vtput
pass "(3) 64 MiB of mixed-size writes verified on each tenant"
check_trace "$mark" "(3)"

stop_daemon
grep -F 'router nvme0n1: qid' "$DDUBLKD_LOG" | tail -n 2 | sed 's/^/  /'

step "(4) ublk-ctl reload: lat becomes a throughput tenant, live"
start_daemon "$cfg"
policy daredevil throughput
ublk-ctl reload | sed 's/^/  /' || fail "ublk-ctl reload failed"
mark=$(trace_mark)
fio --name=rl --filename="$lat" --ioengine=io_uring --direct=1 --rw=randread --bs=4k \
	--iodepth=4 --time_based --runtime=5 --output-format=json --output=rl.json >rl.log 2>&1 ||
	fail "fio after the reload exited $?"
trace_commands "$mark" "$lbs" "${owners[@]}" >/tmp/table
sed 's/^/  controller: /' /tmp/table
moved=$(awk -v q="$tq" '$1 == "lat" && $2 == q { s += $3 } END { print s + 0 }' /tmp/table)
stayed=$(awk -v q="$tq" '$1 == "lat" && $2 != q { s += $3 } END { print s + 0 }' /tmp/table)
[ "$stayed" = 0 ] || fail "(4) $stayed of lat's commands still on the latency queue after the reload"
[ "$moved" -gt 50 ] || fail "(4) only $moved of lat's commands on qid $tq after the reload"
pass "(4) after the reload all $moved of lat's commands went to the throughput queue, qid $tq"
stop_daemon

step "(5) the same load in static mode (the baseline; printed, not asserted)"
policy static
start_daemon "$cfg"
mark=$(trace_mark)
load
trace_commands "$mark" "$lbs" "${owners[@]}" | sed 's/^/  controller: /'
stop_daemon
pass "nvme_route_daredevil"
