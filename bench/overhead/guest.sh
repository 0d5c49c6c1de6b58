#!/usr/bin/env bash
# Guest side of bench/overhead (run by bench/overhead/run.sh through
# tests/vm/run.sh --script): in one boot, what a ddublk tenant costs over
# what it is carved from, for three backends, each against its reference:
#   null  a tenant on a "null" backend  vs  the kernel's null_blk (/dev/nullb0,
#         queue_mode=2, irqmode=0: set on the kernel command line by run.sh)
#   pt    a tenant on /dev/ng0n1 (passthrough)  vs  raw /dev/ng0n1 (io_uring_cmd)
#   file  a tenant on /dev/nvme0n1 (type "file")  vs  /dev/nvme0n1 (io_uring, O_DIRECT)
# Workloads: 4 KiB randread QD1, 4 KiB randread QD32, 128 KiB seq write QD16.
# ROUNDS rounds; in each, every pair gets its own daemon and runs every
# workload as reference, then tenant, back to back: the two sides of a
# ratio are seconds apart, and the rounds show how much a ratio moves.
#
# For every tenant run it also records, over the same window, the daemon's
# CPU time (all its threads, the process CPU clock), the worker's
# requests and its io_uring_enter calls (ublk-ctl stats --json). One extra
# run (null, 4 KiB QD32) is repeated under `strace -c -f` to cross-check
# the enter count; it is not in the table (strace slows the daemon).
#
# usage (in the guest): guest.sh RUNTIME_S RAMP_S ROUNDS
#
# Placement: ddublkd runs with one worker, pinned to CPU 0; fio runs on
# CPU 1. The tenant side thus has a vCPU for the application and one for
# the ublk server; the references run on CPU 1 alone, the kernel doing the
# work in fio's context.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../../tests/vm/lib.sh
source "$DDUBLK_SRC/tests/vm/lib.sh"

runtime=${1:-10}
ramp=${2:-2}
rounds=${3:-2}
size=256M
raw_off=1G
out=$DDUBLK_OUT
FIO_CPU=1
DAEMON_CPU=0

declare -A WORKLOAD=(
	[randread4k_qd1]="--rw=randread --bs=4k --iodepth=1"
	[randread4k_qd32]="--rw=randread --bs=4k --iodepth=32"
	[seqwrite128k_qd16]="--rw=write --bs=128k --iodepth=16"
)
WORKLOADS=(randread4k_qd1 randread4k_qd32 seqwrite128k_qd16)
PAIRS=(null pt file)

# The daemon's policy for a pair: the tenant "bench" is a policy tenant, so
# pt and file (the same namespace, the same backend name) find it at the
# same extent in the namespace's tenant table.
policy() {
	local backend
	case $1 in
	null) backend='{ name = "zero"; type = "null"; size = "8G"; }' ;;
	pt) backend='{ name = "ns"; path = "/dev/ng0n1"; }' ;;
	file) backend='{ name = "ns"; path = "/dev/nvme0n1"; type = "file"; }' ;;
	esac
	cat <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 1; log_level = "info"; };
backends = ( $backend );
tenants = ( { name = "bench"; backend = "$([ "$1" = null ] && echo zero || echo ns)";
	      size = "$size"; queues = 1; depth = 64; } );
CONF
}

start_pair_daemon() {
	policy "$1" >/run/bench.conf
	taskset -pc "$DAEMON_CPU" $$ >/dev/null
	start_daemon /run/bench.conf
	taskset -pc "$(cat /sys/devices/system/cpu/online)" $$ >/dev/null
	dev=$(tenant_get bench device)
	[ -b "$dev" ] || fail "pair $1: tenant bench has no device ('$dev')"
}

# The reference target of a pair, as fio options.
ref_target() {
	case $1 in
	null) echo "--ioengine=io_uring --direct=1 --filename=/dev/nullb0 --offset=0 --size=$size" ;;
	pt) echo "--ioengine=io_uring_cmd --cmd_type=nvme --filename=/dev/ng0n1 --offset=$raw_off --size=$size" ;;
	file) echo "--ioengine=io_uring --direct=1 --filename=/dev/nvme0n1 --offset=$raw_off --size=$size" ;;
	esac
}

fio_run() {
	local label=$1; shift
	fio --name="$label" --cpus_allowed=$FIO_CPU --output-format=json \
		--output="$out/$label.json" "$@" >"$out/$label.log" 2>&1 ||
		fail "fio $label failed: $(tail -3 "$out/$label.log")"
}

# CPU nanoseconds of every ddublkd thread so far: the process's CPU clock
# (clock_getcpuclockid(): the scheduler's exact runtime, summed over its
# threads, the exited ones included). Not /proc/PID/stat: its utime/stime
# are tick samples, and on this TCG guest they charged the idle, sleeping
# worker with ~80 % of a CPU while its exact clock did not move.
daemon_cpu_ns() {
	python3 -c 'import sys, time; print(time.clock_gettime_ns(((~int(sys.argv[1])) << 3) | 2))' \
		"$DDUBLKD_PID"
}

# "requests enters" of the (one) worker so far.
worker_counts() {
	ublk-ctl stats --json | jq -r '[(.workers | map(.ublk_ops) | add), (.workers | map(.ring_enters // 0) | add)] | join(" ")'
}

# One tenant run with the daemon's counters around it: LABEL.cost has
# "cpu_ns requests enters" of the run's window.
tenant_run() {
	local label=$1; shift
	local c0 c1 r0 e0 r1 e1
	c0=$(daemon_cpu_ns)
	read -r r0 e0 <<<"$(worker_counts)"
	fio_run "$label" "$@"
	c1=$(daemon_cpu_ns)
	read -r r1 e1 <<<"$(worker_counts)"
	echo "$((c1 - c0)) $((r1 - r0)) $((e1 - e0))" >"$out/$label.cost"
}

write_meta() {
	local t
	{
		echo "kernel: $(uname -r), online CPUs $(cat /sys/devices/system/cpu/online)"
		echo "cmdline null_blk: $(tr ' ' '\n' </proc/cmdline | grep null_blk | tr '\n' ' ')"
		echo "nullb0: $(blockdev --getsize64 /dev/nullb0) bytes, queue_mode $(cat /sys/module/null_blk/parameters/queue_mode), irqmode $(cat /sys/module/null_blk/parameters/irqmode)"
		echo "fio: $(fio --version)"
		echo "runtime ${runtime}s, ramp ${ramp}s, $rounds rounds, fio on CPU $FIO_CPU, ddublkd on CPU $DAEMON_CPU"
	} >"$out/meta.txt"
	cat "$out/meta.txt"
}

# The daemon's backend line and thread placement, once per pair.
pair_meta() {
	local t
	{
		echo "$1: $(grep -E 'backend "(ns|zero)": ' "$DDUBLKD_LOG" | tail -n 1 | sed 's/^[^ ]* *[A-Z]* *//')"
		for t in /proc/"$DDUBLKD_PID"/task/*; do
			echo "$1: ddublkd thread $(cat "$t/comm"): CPUs $(taskset -pc "${t##*/}" | sed 's/.*: //')"
		done
	} >>"$out/meta.txt"
}

[ -b /dev/nullb0 ] || fail "no /dev/nullb0 (CONFIG_BLK_DEV_NULL_BLK=y, null_blk.nr_devices=1)"
command -v strace >/dev/null || fail "strace missing in the guest (scripts/deps.sh installs it)"
write_meta

step "precondition: write the tenant's extent and the raw region sequentially"
start_pair_daemon file
fio_run precond_tenant --ioengine=io_uring --direct=1 --filename="$dev" --rw=write --bs=1M \
	--iodepth=8 --size=$size
fio_run precond_raw --ioengine=io_uring --direct=1 --filename=/dev/nvme0n1 --offset=$raw_off \
	--rw=write --bs=1M --iodepth=8 --size=$size
stop_daemon

timed=(--time_based --runtime="$runtime" --ramp_time="$ramp" --norandommap --randrepeat=0)
for r in $(seq 1 "$rounds"); do
	for p in "${PAIRS[@]}"; do
		start_pair_daemon "$p"
		[ "$r" = 1 ] && pair_meta "$p"
		for w in "${WORKLOADS[@]}"; do
			step "round $r: $w, $p: reference, then tenant (${runtime}s + ${ramp}s each)"
			# shellcheck disable=SC2046,SC2086 # the option strings are lists of words
			fio_run "r${r}_${p}_ref_$w" $(ref_target "$p") ${WORKLOAD[$w]} "${timed[@]}"
			# shellcheck disable=SC2086
			tenant_run "r${r}_${p}_ddublk_$w" --ioengine=io_uring --direct=1 \
				--filename="$dev" --offset=0 --size=$size ${WORKLOAD[$w]} "${timed[@]}"
			jq -r '.jobs[0] | "  tenant iops r=\(.read.iops|floor) w=\(.write.iops|floor)"' \
				"$out/r${r}_${p}_ddublk_$w.json"
		done
		if [ "$r" = 1 ] && [ "$p" = null ]; then
			step "cross-check: io_uring_enter calls of ddublkd under strace -c -f (null, 4k QD32)"
			read -r r0 e0 <<<"$(worker_counts)"
			strace -c -f -e trace=io_uring_enter -o "$out/strace.txt" -p "$DDUBLKD_PID" &
			spid=$!
			sleep 1
			# shellcheck disable=SC2086 # the option string is a list of words
			fio_run strace_null --ioengine=io_uring --direct=1 --filename="$dev" \
				--offset=0 --size=$size ${WORKLOAD[randread4k_qd32]} --time_based --runtime=5
			kill -INT "$spid"
			wait "$spid" || true
			read -r r1 e1 <<<"$(worker_counts)"
			echo "$((r1 - r0)) $((e1 - e0))" >"$out/strace_counts.txt"
			cat "$out/strace.txt"
		fi
		daemon_alive || fail "ddublkd died during pair $p"
		stop_daemon
	done
done
pass "bench/overhead guest side done"
