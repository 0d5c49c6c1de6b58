#!/usr/bin/env bash
# Guest side of bench/passthrough (run by bench/passthrough/run.sh through
# tests/vm/run.sh --script): in one boot, fio against
#   raw    NVMe passthrough on /dev/ng0n1 (io_uring_cmd, cmd_type=nvme)
#   ddublk a ddublk tenant on the same namespace (io_uring, O_DIRECT)
#   block  the kernel block path on /dev/nvme0n1 (io_uring, O_DIRECT)
# for each workload in turn (raw, ddublk, block, so the three runs of a
# workload are close in time). Writes one fio JSON per run and meta.txt to
# $DDUBLK_OUT; the host side makes the table.
#
# usage (in the guest): guest.sh RUNTIME_S RAMP_S
#
# Layout of the 2 GiB namespace: the tenant (256 MiB) is the first extent,
# at 1 MiB; raw and block use [1 GiB, +256 MiB), disjoint from it. Both
# regions are written sequentially first, so reads hit written blocks.
#
# Placement: ddublkd runs with one worker, pinned to CPU 0 (the daemon is
# started from a shell pinned to CPU 0, and worker 0 pins itself to the
# first allowed CPU); every fio runs with --cpus_allowed=1. So for ddublk
# the application and the ublk server each have a vCPU; raw and block run
# on CPU 1 alone.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../../tests/vm/lib.sh
source "$DDUBLK_SRC/tests/vm/lib.sh"

runtime=${1:-15}
ramp=${2:-3}
size=256M
raw_off=1G
out=$DDUBLK_OUT
FIO_CPU=1
DAEMON_CPU=0

# workload NAME -> fio options
declare -A WORKLOAD=(
	[randread4k_qd1]="--rw=randread --bs=4k --iodepth=1"
	[randread4k_qd32]="--rw=randread --bs=4k --iodepth=32"
	[seqwrite128k_qd16]="--rw=write --bs=128k --iodepth=16"
)
WORKLOADS=(randread4k_qd1 randread4k_qd32 seqwrite128k_qd16)

# target NAME -> fio options (engine, device, region)
declare -A TARGET
set_targets() {
	TARGET=(
		[raw]="--ioengine=io_uring_cmd --cmd_type=nvme --filename=/dev/ng0n1 --offset=$raw_off --size=$size"
		[ddublk]="--ioengine=io_uring --direct=1 --filename=$dev --offset=0 --size=$size"
		[block]="--ioengine=io_uring --direct=1 --filename=/dev/nvme0n1 --offset=$raw_off --size=$size"
	)
}
TARGETS=(raw ddublk block)

# fio_run LABEL [options]: fio pinned to FIO_CPU, JSON in out/LABEL.json.
fio_run() {
	local label=$1; shift
	fio --name="$label" --cpus_allowed=$FIO_CPU --output-format=json \
		--output="$out/$label.json" "$@" >"$out/$label.log" 2>&1 ||
		fail "fio $label failed: $(tail -3 "$out/$label.log")"
}

start_pinned_daemon() {
	cat >/run/bench.conf <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 1; log_level = "info"; };
backends = ( { name = "ns"; path = "/dev/ng0n1"; } );
CONF
	taskset -pc "$DAEMON_CPU" $$ >/dev/null
	start_daemon /run/bench.conf
	taskset -pc "$(cat /sys/devices/system/cpu/online)" $$ >/dev/null
}

# meta: what ran where, for the host's report.
write_meta() {
	local t
	{
		echo "kernel: $(uname -r), online CPUs $(cat /sys/devices/system/cpu/online)"
		echo "fio: $(fio --version)"
		echo "backend: $(backend_log_line ns | sed 's/^[^ ]* *[A-Z]* *//')"
		echo "tenant: $(ublk-ctl list --json | jq -c '.[0] | {name, device, offset, size, queues, depth}')"
		echo "nvme0n1 max_hw_sectors_kb: $(cat /sys/block/nvme0n1/queue/max_hw_sectors_kb)," \
			"${dev#/dev/} max_hw_sectors_kb: $(cat "/sys/block/${dev#/dev/}/queue/max_hw_sectors_kb")"
		echo "runtime ${runtime}s, ramp ${ramp}s, fio on CPU $FIO_CPU"
		for t in /proc/"$DDUBLKD_PID"/task/*; do
			echo "ddublkd thread $(cat "$t/comm"): $(taskset -pc "${t##*/}" | sed 's/.*: //')"
		done
	} >"$out/meta.txt"
	cat "$out/meta.txt"
}

start_pinned_daemon
dev=$(ublk-ctl add --name bench --backend ns --size "$size" --queues 1 --depth 64) || fail "ublk-ctl add failed"
[ -b "$dev" ] || fail "ublk-ctl add printed '$dev', not a block device"
set_targets
write_meta

step "precondition: write both regions sequentially"
fio_run precond_tenant --ioengine=io_uring --direct=1 --filename="$dev" --rw=write --bs=1M --iodepth=8 --size=$size
fio_run precond_raw --ioengine=io_uring --direct=1 --filename=/dev/nvme0n1 --offset=$raw_off \
	--rw=write --bs=1M --iodepth=8 --size=$size

for w in "${WORKLOADS[@]}"; do
	for t in "${TARGETS[@]}"; do
		step "$w on $t (${runtime}s + ${ramp}s ramp)"
		# shellcheck disable=SC2086 # the option strings are lists of words
		fio_run "${t}_$w" ${TARGET[$t]} ${WORKLOAD[$w]} --time_based --runtime="$runtime" \
			--ramp_time="$ramp" --norandommap --randrepeat=0
		jq -r '.jobs[0] | "  iops r=\(.read.iops|floor) w=\(.write.iops|floor)"' "$out/${t}_$w.json"
	done
done

daemon_alive || fail "ddublkd died during the benchmark"
ublk-ctl del bench || fail "ublk-ctl del failed"
stop_daemon
pass "bench/passthrough guest side done"
