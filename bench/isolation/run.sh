#!/usr/bin/env bash
# bench/isolation: do latency tenants stay fast next to throughput tenants?
#
# usage: bench/isolation/run.sh [--build-dir DIR] [--runtime SEC] [--ramp SEC] [--stock] [--l-jobs N] [--steps "N ..."] [--poll auto|always|never]
#
# Boots the test VM once (tests/vm/run.sh --script bench/isolation/guest.sh).
# On one NVMe passthrough backend, a latency tenant runs fio 4k randread QD1
# (--l-jobs jobs, default 2) and two throughput tenants fio 128k randwrite
# QD32 (N jobs for each N of --steps, default "1 2 4 8"): L alone, then per
# step T alone and T with L, first with scheduler.mode = static (the stock
# blk-mq behaviour) and then daredevil. Each run RUNTIME s (default 15) after
# RAMP s (default 3). Prints per mode and step L p50/p99/p99.9, L IOPS, T
# MiB/s, L p99 with T / L p99 alone, the daredevil scheduler's verdict on
# its latency target and its throughput cap at the end of each step, and
# daredevil against static per step (L p99 static/daredevil, T MiB/s
# daredevil/static); writes the table to BUILD/bench/isolation.txt, a PNG
# plot of L p99 and T MiB/s per step and mode to BUILD/bench/isolation.png,
# and the fio JSONs to BUILD/bench/isolation/.
# A benchmark, not a test: it fails only if something did not run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bench=isolation
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$here/../lib.sh"
l_jobs=2
steps="1 2 4 8"
poll=auto
MODES=(static daredevil)

usage() {
	sed -n '4p' "$0" | sed 's/^# //' >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		if common_opt "$@"; then shift "$taken"; continue; fi
		case $1 in
		--l-jobs) [ $# -ge 2 ] || usage; l_jobs=$2; shift 2 ;;
		--steps) [ $# -ge 2 ] || usage; steps=$2; shift 2 ;;
		--poll) [ $# -ge 2 ] || usage; poll=$2; shift 2 ;;
		-h|--help) usage ;;
		*) echo "bench/isolation: unknown argument $1" >&2; usage ;;
		esac
	done
	[[ $l_jobs =~ ^[1-9][0-9]?$ ]] || die "--l-jobs wants 1-99, got '$l_jobs'"
	[[ $steps =~ ^[1-9][0-9]?( [1-9][0-9]?)*$ ]] || die "--steps wants job counts like \"1 2 4\", got '$steps'"
	[[ $poll =~ ^(auto|always|never)$ ]] || die "--poll wants auto, always or never, got '$poll'"
	check_common_opts
	command -v gnuplot >/dev/null || die "gnuplot missing (scripts/deps.sh installs it)"
}

# l_stats LABEL: "iops p50_us p99_us p99.9_us" of a latency run.
l_stats() {
	local f=$results/$1.json
	[ -s "$f" ] || die "missing $f"
	jq -r '.jobs[0].read as $d | ($d.clat_ns.percentile // {}) as $p
		| [($d.iops | floor), (($p["50.000000"] // 0) / 1000 | floor),
		   (($p["99.000000"] // 0) / 1000 | floor), (($p["99.900000"] // 0) / 1000 | floor)]
		| map(tostring) | join(" ")' "$f"
}

# verdict LABEL: "VERDICT CAP" of the scheduler in LABEL_stats.json ("- -" if none).
verdict() {
	local f=$results/$1_stats.json
	[ -s "$f" ] || { echo "- -"; return; }
	jq -r '.schedulers[0] // {} | "\(.target // "-") \(if .cap == "off" then "off"
		elif .throughput_cap then "\(.throughput_cap / 1048576 | floor)M" else "-" end)"' "$f"
}

# t_mibs LABEL: MiB/s written by all jobs of a throughput run.
t_mibs() {
	[ -s "$results/$1.json" ] || die "missing $results/$1.json"
	jq -r '[.jobs[].write.bw] | add / 1024 | floor' "$results/$1.json"
}

report() {
	local m n iops p50 p99 p999 tw ta v cap
	declare -A P99 TW
	echo "bench/isolation: $(date -u +%FT%TZ), one VM boot"
	sed 's/^/  /' "$results/meta.txt"
	echo
	printf '%-10s %7s %7s %7s %8s %9s %9s %10s %11s  %s\n' mode 'T jobs' 'L IOPS' 'L p50' \
		'L p99' 'L p99.9' 'T MiB/s' 'T alone' 'p99/alone' 'target, T cap (daredevil)'
	: >"$results/plot.dat"
	for m in "${MODES[@]}"; do
		read -r iops p50 p99 p999 <<<"$(l_stats "${m}_l_alone")"
		P99[$m.0]=$p99
		printf '%-10s %7s %7s %7s %8s %9s %9s %10s %11s\n' "$m" 0 "$iops" "$p50" "$p99" "$p999" - - 1.00
		echo "$m 0 $p99 0" >>"$results/plot.dat"
		for n in $steps; do
			read -r iops p50 p99 p999 <<<"$(l_stats "${m}_t${n}_l")"
			tw=$(t_mibs "${m}_t${n}_t") ta=$(t_mibs "${m}_t${n}_alone")
			read -r v cap <<<"$(verdict "${m}_t${n}")"
			[ "$m" = daredevil ] || v="" cap=""
			P99[$m.$n]=$p99 TW[$m.$n]=$tw
			printf '%-10s %7s %7s %7s %8s %9s %9s %10s %11s  %s\n' "$m" "$n" "$iops" "$p50" \
				"$p99" "$p999" "$tw" "$ta" "$(ratio "$p99" "${P99[$m.0]}")" "$v${cap:+, $cap}"
			echo "$m $n $p99 $tw" >>"$results/plot.dat"
		done
	done
	echo
	echo "latencies in us (fio clat); daredevil against static, same boot:"
	printf '%7s %22s %24s\n' 'T jobs' 'L p99 static/daredevil' 'T MiB/s daredevil/static'
	printf '%7s %22s %24s\n' 0 "$(ratio "${P99[static.0]}" "${P99[daredevil.0]}")" -
	for n in $steps; do
		printf '%7s %22s %24s\n' "$n" "$(ratio "${P99[static.$n]}" "${P99[daredevil.$n]}")" \
			"$(ratio "${TW[daredevil.$n]}" "${TW[static.$n]}")"
	done
	echo
	echo "L p99 static/daredevil > 1: daredevil keeps the latency tenant faster."
	echo "TCG emulation: compare ratios from one boot, never absolute numbers across boots."
}

plot() {
	gnuplot <<GP
set terminal pngcairo size 1000,450 noenhanced
set output "$build_dir/bench/isolation.png"
set multiplot layout 1,2 title "bench/isolation: one boot, latency tenant 4k QD1 next to T jobs of 128k QD32"
set xlabel "throughput jobs"
set grid
set key top left
set logscale y
set ylabel "L p99 (us)"
plot for [m in "static daredevil"] "< awk -v m=" . m . " '\$1 == m' $results/plot.dat" using 2:3 with linespoints title m
unset logscale y
set ylabel "T MiB/s"
set yrange [0:*]
plot for [m in "static daredevil"] "< awk -v m=" . m . " '\$1 == m && \$2 > 0' $results/plot.dat" using 2:4 with linespoints title m
unset multiplot
GP
}

main() {
	parse_args "$@"
	local nsteps runs
	nsteps=$(wc -w <<<"$steps")
	runs=$(( 2 * (1 + 2 * nsteps) ))
	run_guest "$build_dir" $(( runs * (runtime + ramp + 20) + 600 )) "$runtime" "$ramp" "$l_jobs" "$steps" "$poll"
	results=$(collect "$build_dir")
	report | tee "$build_dir/bench/isolation.txt"
	plot
	echo "bench/isolation: table in $build_dir/bench/isolation.txt, plot $build_dir/bench/isolation.png, fio JSONs in $results/"
}

main "$@"
