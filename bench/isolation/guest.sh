#!/usr/bin/env bash
# Guest side of bench/isolation (run by bench/isolation/run.sh through
# tests/vm/run.sh --script): the Daredevil single-namespace experiment on
# the emulated NVMe controller, in one boot, for scheduler.mode = static
# and then daredevil.
#
# usage (in the guest): guest.sh RUNTIME_S RAMP_S L_JOBS "T_STEPS" [POLL]
#
# Tenants (one passthrough backend, /dev/ng0n1): "lat" (class latency) and
# "tput1", "tput2" (class throughput). Per mode (ddublkd restarted with the
# mode in its policy; the tenants come back from the tenant table):
#   L alone            fio 4k randread QD1, L_JOBS jobs on lat
#   for N in T_STEPS:  T alone: fio 128k randwrite QD32, N jobs over tput1/tput2
#                      together: the same T load, and L measured while it runs
# Writes one fio JSON per run (MODE_l_alone, MODE_tN_alone, MODE_tN_l,
# MODE_tN_t), the daemon's stats at the end of each L-with-T run
# (MODE_tN_stats.json: the scheduler's verdict and throughput cap) and
# meta.txt to $DDUBLK_OUT; the host side makes the table.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../../tests/vm/lib.sh
source "$DDUBLK_SRC/tests/vm/lib.sh"

runtime=${1:-15}
ramp=${2:-3}
l_jobs=${3:-2}
read -r -a steps <<<"${4:-1 2 4 8}"
poll=${5:-auto} # scheduler.poll (daredevil)
out=$DDUBLK_OUT
cfg=/run/isolation.conf
MODES=(static daredevil)

policy() { # MODE
	cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
scheduler = { mode = "$1"; poll = "$poll"; };
backends = ( { name = "ns"; path = "/dev/ng0n1"; } );
tenants = (
  { name = "lat"; backend = "ns"; size = "256M"; queues = 2; class = "latency"; },
  { name = "tput1"; backend = "ns"; size = "512M"; queues = 2; class = "throughput"; },
  { name = "tput2"; backend = "ns"; size = "512M"; queues = 2; class = "throughput"; }
);
CONF
}

# fio_json LABEL [options]: fio with JSON output in out/LABEL.json.
fio_json() {
	local label=$1; shift
	fio --output-format=json --output="$out/$label.json" "$@" >"$out/$label.log" 2>&1 ||
		fail "fio $label failed: $(tail -3 "$out/$label.log")"
}

l_load() { # LABEL
	fio_json "$1" --name=l --filename="$(tenant_get lat device)" --ioengine=io_uring \
		--direct=1 --rw=randread --bs=4k --iodepth=1 --numjobs="$l_jobs" \
		--group_reporting --time_based --runtime="$runtime" --ramp_time="$ramp" \
		--norandommap --randrepeat=0
}

# t_load LABEL N [EXTRA_S]: N throughput jobs, split over tput1 and tput2.
t_load() {
	local n1=$(( ($2 + 1) / 2 )) n2=$(( $2 / 2 )) run=$((runtime + ${3:-0}))
	local -a jobs=(--name=t1 --filename="$(tenant_get tput1 device)" --numjobs="$n1")
	[ "$n2" = 0 ] || jobs+=(--name=t2 --filename="$(tenant_get tput2 device)" --numjobs="$n2")
	fio_json "$1" --ioengine=io_uring --direct=1 --rw=randwrite --bs=128k --iodepth=32 \
		--time_based --runtime="$run" --ramp_time="$ramp" --norandommap --randrepeat=0 \
		"${jobs[@]}"
}

summary() { # LABEL: one line for the console
	jq -r '[.jobs[] | .read.iops + .write.iops] | add | floor | "  \(.) IOPS"' "$out/$1.json"
}

run_mode() { # MODE
	local mode=$1 n tpid
	policy "$mode"
	start_daemon "$cfg"
	grep -F 'router nvme0n1' "$DDUBLKD_LOG" | tail -n 3 | sed 's/^/  /'
	echo "$mode: $(grep -F 'router nvme0n1' "$DDUBLKD_LOG" | tail -n 3 | tr '\n' ' ')" >>"$out/meta.txt"
	step "$mode: L alone ($l_jobs x 4k randread QD1)"
	l_load "${mode}_l_alone"
	summary "${mode}_l_alone"
	for n in "${steps[@]}"; do
		step "$mode: T alone ($n x 128k randwrite QD32)"
		t_load "${mode}_t${n}_alone" "$n"
		summary "${mode}_t${n}_alone"
		step "$mode: L with $n T jobs"
		# T starts first and runs 4 s longer, so L is measured entirely under T.
		t_load "${mode}_t${n}_t" "$n" 4 &
		tpid=$!
		sleep 2
		l_load "${mode}_t${n}_l"
		# T still runs: what the scheduler made of it (L p99 verdict, T cap)
		ublk-ctl stats --json >"$out/${mode}_t${n}_stats.json" || true
		wait "$tpid" || fail "throughput fio failed in $mode with $n jobs"
		summary "${mode}_t${n}_l"
	done
	daemon_alive || fail "ddublkd died in $mode mode"
	stop_daemon
}

{
	echo "kernel: $(uname -r), online CPUs $(cat /sys/devices/system/cpu/online)"
	echo "fio: $(fio --version); L jobs $l_jobs, T steps ${steps[*]}, runtime ${runtime}s, ramp ${ramp}s, scheduler.poll $poll"
} >"$out/meta.txt"

policy static
start_daemon "$cfg"
step "precondition: write lat sequentially, so the reads hit written blocks"
fio_json precond --name=p --filename="$(tenant_get lat device)" --ioengine=io_uring --direct=1 \
	--rw=write --bs=1M --iodepth=8
stop_daemon

for m in "${MODES[@]}"; do
	run_mode "$m"
done
pass "bench/isolation guest side done"
