#!/usr/bin/env bash
# Every NVMe queue ddublkd reports reachable really gets commands, POLL
# queues included, on a stock kernel booted with possible_cpus=64
# nvme.poll_queues=62 (2 DEFAULT + 62 POLL queues; those of the 2 online
# CPUs -- qids 1, 2 DEFAULT and 3, 4 POLL -- are reachable). Evidence is
# QEMU's trace of every command the controller took (its sqid).
#  (1) the kernel made 2/0/62 queues; ddublkd reports qids 1-4 reachable,
#      3 and 4 as poll queues, and starts each group with a DEFAULT queue
#      (for its FLUSH, DISCARD and WRITE ZEROES, which cannot be polled)
#      and a poll queue: latency 1 and 3, throughput 2 and 4;
#  (2) daredevil under load (two latency readers at QD1, a throughput
#      writer at QD32 with verify): each of qids 1-4 takes commands, no
#      other queue does; fio verify passes on both tenants;
#  (2b) scheduler.poll = "auto" by a live reload: the throughput tenant's
#      commands only on DEFAULT queues (interrupts), the latency tenant's
#      still on poll queues;
#  (3) static mode, same boot: the stock baseline -- each worker on its own
#      CPU's DEFAULT queue, so only qids 1 and 2 take commands; fio verify.
# vm-cmdline: possible_cpus=64 nvme.poll_queues=62
# The pinned-submitter route: the stock kernel (with the series ddublkd
# steers, and every queue is reachable: nvme_steer).
# vm-kernel: stock
# vm-qemu-trace: pci_nvme_io_cmd pci_nvme_read pci_nvme_write
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

step "(1) the kernel's queues and what ddublkd reports"
dmesg | grep -E 'nvme nvme0: .*default/read/poll' | sed 's/^/  /'
dmesg | grep -Eq 'nvme nvme0: 2/0/62 default/read/poll queues' ||
	fail "expected 2/0/62 default/read/poll queues (possible_cpus=64 nvme.poll_queues=62)"

# policy MODE [POLL]: a policy file with a latency and a throughput tenant
# (scheduler.poll "always" unless said: every group on its poll queues).
policy() {
	cat >/run/nvme_route_poll.conf <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
scheduler = { mode = "$1"; poll = "${2:-always}"; };
backends = ( { name = "ns"; path = "/dev/ng0n1"; } );
tenants = (
  { name = "lat"; backend = "ns"; size = "128M"; queues = 2; class = "latency"; },
  { name = "tput"; backend = "ns"; size = "256M"; queues = 2; class = "throughput"; }
);
CONF
	echo /run/nvme_route_poll.conf
}

start_daemon "$(policy daredevil)"
grep -F 'router nvme0n1' "$DDUBLKD_LOG" | sed 's/^/  /'
reach=$(log_field 'router nvme0n1: reachable qids: ')
[ "$reach" = "1 2 3 4" ] || fail "reachable qids '$reach', expected '1 2 3 4'"
for q in 3 4; do
	grep -Eq "router nvme0n1: NQ [0-9]+ = hctx $((q - 1)) \\(NVMe qid $q\\), poll," "$DDUBLKD_LOG" ||
		fail "qid $q is not reported as a poll queue"
done
groups=$(log_field 'router nvme0n1: daredevil groups: ')
[ "$groups" = "latency qids 1 3; throughput qids 2 4" ] ||
	fail "groups at start '$groups', expected each group on a DEFAULT and a poll queue"
pass "(1) reachable qids $reach (3, 4 poll); $groups"

lbs=$(cat /sys/block/nvme0n1/queue/logical_block_size)
mkdir -p /tmp/fio && cd /tmp/fio

# load LABEL: latency readers + a verifying throughput writer, then a
# verify pass on both tenants at once; all must be clean.
load() {
	local lat tput label=$1
	lat=$(tenant_get lat device) tput=$(tenant_get tput device)
	fio --name=t --filename="$tput" --ioengine=io_uring --direct=1 --rw=randwrite --bs=128k \
		--iodepth=32 --size=256M --verify=crc32c --do_verify=1 \
		--output-format=json --output=t.json >t.log 2>&1 &
	local tpid=$!
	fio --name=l --filename="$lat" --ioengine=io_uring --direct=1 --rw=randread --bs=4k \
		--iodepth=1 --time_based --runtime=15 --numjobs=2 --group_reporting \
		--output-format=json --output=l.json >l.log 2>&1 || fail "$label: latency fio exited $?"
	wait "$tpid" || fail "$label: throughput fio exited $? ($(tail -3 t.log))"
	assert_clean t
	echo "  latency: $(jq -r '.jobs[0].read | "\(.iops | floor) IOPS, p50 \(.clat_ns.percentile["50.000000"] / 1000 | floor) us, p99 \(.clat_ns.percentile["99.000000"] / 1000 | floor) us"' l.json)"
	echo "  throughput: $(jq -r '.jobs[0].write | "\(.bw / 1024 | floor) MiB/s"' t.json)"
	fio --name=vl --filename="$lat" --ioengine=io_uring --direct=1 --rw=randwrite \
		--bssplit=4k/40:64k/30:256k/30 --iodepth=16 --size=64M --verify=crc32c \
		--do_verify=1 --output-format=json --output=vl.json >vl.log 2>&1 &
	local vpid=$!
	fio --name=vt --filename="$tput" --ioengine=io_uring --direct=1 --rw=randwrite \
		--bssplit=4k/40:64k/30:256k/30 --iodepth=16 --size=64M --verify=crc32c \
		--do_verify=1 --output-format=json --output=vt.json >vt.log 2>&1 ||
		fail "$label: fio verify (throughput) exited $?"
	wait "$vpid" || fail "$label: fio verify (latency) exited $?"
	assert_clean vl
	assert_clean vt
	pass "$label: fio verify clean on both tenants"
}

# queues_used MARK: "QID:COUNT ..." for every queue that took commands since MARK.
queues_used() {
	local owners=("lat:$(tenant_num lat offset):$(tenant_num lat size)"
		"tput:$(tenant_num tput offset):$(tenant_num tput size)")
	trace_commands "$1" "$lbs" "${owners[@]}" >/tmp/table
	sed 's/^/  controller: /' /tmp/table >&2
	awk '$1 == "all" { printf "%s%s:%s", sep, $2, $3; sep = " " } END { print "" }' /tmp/table
}

step "(2) daredevil under load"
mark=$(trace_mark)
load "(2)"
used=$(queues_used "$mark")
echo "  queues used: $used"
for q in 1 2 3 4; do
	[[ " $used" =~ \ $q:([0-9]+) ]] || fail "(2) reachable qid $q took no command"
done
[ "$(wc -w <<<"$used")" = 4 ] || fail "(2) commands went to queues ddublkd did not report reachable: $used"
pass "(2) every reachable queue took commands ($used), and no other queue"

step "(2b) scheduler.poll = \"auto\", reloaded live: throughput tenants on interrupts"
policy daredevil auto >/dev/null
ublk-ctl reload >reload.txt 2>&1 || fail "(2b) reload failed: $(cat reload.txt)"
grep -qx '~ scheduler: poll always -> auto' reload.txt || fail "(2b) reload said: $(cat reload.txt)"
grep -qF 'scheduler.poll = "auto": latency tenants on polled NVMe queues' "$DDUBLKD_LOG" ||
	fail "(2b) no log line for the new poll setting"
mark=$(trace_mark)
load "(2b)"
queues_used "$mark" >/dev/null
# qids 3 and 4 are the poll queues; 1 and 2 DEFAULT (interrupts)
t_polled=$(awk '$1 == "tput" && ($2 == 3 || $2 == 4) { n += $3 } END { print n + 0 }' /tmp/table)
l_polled=$(awk '$1 == "lat" && ($2 == 3 || $2 == 4) { n += $3 } END { print n + 0 }' /tmp/table)
t_all=$(awk '$1 == "tput" { n += $3 } END { print n + 0 }' /tmp/table)
echo "  throughput tenant: $t_polled of $t_all commands on poll queues; latency tenant: $l_polled on poll queues"
[ "$t_all" -gt 0 ] || fail "(2b) the trace shows no command of the throughput tenant"
[ "$t_polled" = 0 ] || fail "(2b) $t_polled throughput commands on poll queues under poll = auto"
[ "$l_polled" -gt 0 ] || fail "(2b) the latency tenant no longer uses the poll queues"
pass "(2b) throughput tenant only on DEFAULT queues, latency tenant still polled"
stop_daemon
grep -F 'router nvme0n1: qid' "$DDUBLKD_LOG" | tail -n 4 | sed 's/^/  /'

step "(3) static mode: the stock baseline"
start_daemon "$(policy static)"
mark=$(trace_mark)
load "(3)"
used=$(queues_used "$mark")
echo "  queues used: $used"
[[ $used =~ ^1:[0-9]+\ 2:[0-9]+$ ]] || fail "(3) static mode used queues '$used', expected exactly qids 1 and 2"
pass "(3) static: commands only on the CPUs' own DEFAULT queues ($used)"
stop_daemon
grep -F 'router nvme0n1: qid' "$DDUBLKD_LOG" | tail -n 4 | sed 's/^/  /'
pass "nvme_route_poll"
