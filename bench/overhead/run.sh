#!/usr/bin/env bash
# bench/overhead: what a ddublk tenant costs over what it is carved from,
# for the null, passthrough and file backends, measured in ONE boot.
#
# usage: bench/overhead/run.sh [--build-dir DIR] [--runtime SEC] [--ramp SEC] [--rounds N] [--stock]
#
# Boots the test VM once (tests/vm/run.sh --script bench/overhead/guest.sh)
# with null_blk as a multi-queue device completing in the submitter's
# context (null_blk.queue_mode=2 irqmode=0). Pairs (tenant vs reference):
#   null  tenant on a "null" backend     vs  /dev/nullb0 (io_uring, direct)
#   pt    tenant on /dev/ng0n1           vs  raw /dev/ng0n1 (io_uring_cmd)
#   file  tenant on /dev/nvme0n1, "file" vs  /dev/nvme0n1 (io_uring, direct)
# Workloads: 4k randread QD1, 4k randread QD32, 128k seq write QD16, each
# RUNTIME s (default 10) after RAMP s (default 2), in ROUNDS rounds
# (default 2) that interleave every pair's reference and tenant runs.
# Prints per pair and workload: IOPS, p50/p99 of both sides (means over the
# rounds), the IOPS and p99 ratios (mean and per round), the daemon's CPU
# time per I/O and the worker's io_uring_enter calls per I/O; the strace
# cross-check of the enter count. Writes BUILD/bench/overhead.txt, a PNG bar
# chart of the IOPS ratios (BUILD/bench/overhead.png) and the raw results
# in BUILD/bench/overhead/. A benchmark, not a test: it asserts nothing
# about speed. See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bench=overhead
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$here/../lib.sh"
WORKLOADS=(randread4k_qd1 randread4k_qd32 seqwrite128k_qd16)
PAIRS=(null pt file)
runtime=10
ramp=2
rounds=2

usage() {
	sed -n '5p' "$0" | sed 's/^# //' >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		if common_opt "$@"; then shift "$taken"; continue; fi
		case $1 in
		--rounds) [ $# -ge 2 ] || usage; rounds=$2; shift 2 ;;
		-h|--help) usage ;;
		*) echo "bench/overhead: unknown argument $1" >&2; usage ;;
		esac
	done
	check_common_opts
	[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a count, got '$rounds'"
	command -v gnuplot >/dev/null || die "gnuplot missing (scripts/deps.sh installs it)"
}

# stats LABEL: "iops p50_us p99_us" of one fio run.
stats() {
	local f=$results/$1.json
	[ -s "$f" ] || die "missing $f"
	jq -r '.jobs[0] | (if .read.io_bytes > 0 then .read else .write end) as $d
		| ($d.clat_ns.percentile // {}) as $p
		| [($d.iops | floor), (($p["50.000000"] // 0) / 1000 | floor),
		   (($p["99.000000"] // 0) / 1000 | floor)] | map(tostring) | join(" ")' "$f"
}

mean() { awk '{ for (i = 1; i <= NF; i++) { s += $i; n++ } } END { if (n) printf "%.0f", s / n; else print 0 }' <<<"$*"; }
mean2() { awk '{ for (i = 1; i <= NF; i++) { s += $i; n++ } } END { if (n) printf "%.2f", s / n; else print "n/a" }' <<<"$*"; }

# cost LABEL: "cpu_us_per_io enters_per_io" of a tenant run.
cost() {
	awk '{ if ($2 > 0) printf "%.1f %.3f", $1 / $2 / 1000, $3 / $2; else print "n/a n/a" }' "$results/$1.cost"
}

report() {
	local w p r iops p50 p99 ri rp rr cu en
	echo "bench/overhead: $(date -u +%FT%TZ), one VM boot, $rounds rounds, runtime ${runtime}s, ramp ${ramp}s"
	sed 's/^/  /' "$results/meta.txt"
	echo
	printf '%-18s %-5s %8s %8s %7s %7s %7s %7s %7s %-12s %7s %8s %9s\n' workload pair \
		ref_IOPS ten_IOPS ref_p50 ten_p50 ref_p99 ten_p99 'IOPS' '(per round)' 'p99' 'cpu_us' 'enters'
	printf '%-18s %-5s %8s %8s %7s %7s %7s %7s %7s %-12s %7s %8s %9s\n' '' '' '' '' us us us us \
		't/ref' '' 't/ref' '/IO' '/IO'
	: >"$results/ratios.dat"
	for w in "${WORKLOADS[@]}"; do
		for p in "${PAIRS[@]}"; do
			local a_i=() a_50=() a_99=() b_i=() b_50=() b_99=() rat=() cpu=() ent=()
			for r in $(seq 1 "$rounds"); do
				read -r iops p50 p99 <<<"$(stats "r${r}_${p}_ref_$w")"
				a_i+=("$iops") a_50+=("$p50") a_99+=("$p99")
				read -r iops p50 p99 <<<"$(stats "r${r}_${p}_ddublk_$w")"
				b_i+=("$iops") b_50+=("$p50") b_99+=("$p99")
				rat+=("$(ratio "${b_i[-1]}" "${a_i[-1]}")")
				read -r cu en <<<"$(cost "r${r}_${p}_ddublk_$w")"
				cpu+=("$cu") ent+=("$en")
			done
			ri=$(ratio "$(mean "${b_i[*]}")" "$(mean "${a_i[*]}")")
			rp=$(ratio "$(mean "${b_99[*]}")" "$(mean "${a_99[*]}")")
			rr=$(IFS=/; echo "${rat[*]}")
			printf '%-18s %-5s %8s %8s %7s %7s %7s %7s %7s %-12s %7s %8s %9s\n' "$w" "$p" \
				"$(mean "${a_i[*]}")" "$(mean "${b_i[*]}")" "$(mean "${a_50[*]}")" \
				"$(mean "${b_50[*]}")" "$(mean "${a_99[*]}")" "$(mean "${b_99[*]}")" \
				"$ri" "($rr)" "$rp" "$(mean2 "${cpu[*]}" | sed 's/\.\([0-9]\)[0-9]$/.\1/')" \
				"$(mean2 "${ent[*]}")"
			echo "$w $p $ri" >>"$results/ratios.dat"
		done
	done
	echo
	echo "t/ref: tenant / reference (IOPS > 1: the tenant is faster; p99 > 1: its tail is"
	echo "longer). cpu_us/IO: CPU time of all ddublkd threads per request; enters/IO: the"
	echo "worker's io_uring_enter calls per request; both over the tenant run's window."
	if [ -s "$results/strace.txt" ]; then
		read -r r e <"$results/strace_counts.txt"
		echo
		echo "cross-check (null, 4k QD32, 5 s under strace -c -f): the worker counted $e enters"
		echo "for $r requests; strace saw $(awk '$NF == "io_uring_enter" { print $4 }' "$results/strace.txt") io_uring_enter calls (all threads)"
	fi
	echo
	echo "TCG emulation: compare ratios from one boot, never absolute numbers across boots."
}

plot() {
	gnuplot <<GP
set terminal pngcairo size 900,500 noenhanced
set output "$build_dir/bench/overhead.png"
set title "ddublk tenant IOPS / reference IOPS (one boot, mean of $rounds rounds)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set ylabel "IOPS ratio"
set grid ytics
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2
plot for [p in "null pt file"] "< awk -v p=" . p . " '\$2 == p' $results/ratios.dat" using 3:xtic(1) title p
GP
}

main() {
	parse_args "$@"
	vm_opts+=(--cmdline-extra "null_blk.queue_mode=2 null_blk.irqmode=0 null_blk.nr_devices=1 null_blk.gb=1 null_blk.bs=512")
	# one boot: 18 timed runs per round + preconditioning, strace, restarts, boot
	run_guest "$build_dir" $(( rounds * 18 * (runtime + ramp + 10) + 900 )) "$runtime" "$ramp" "$rounds"
	results=$(collect "$build_dir")
	cp "$build_dir/vm/bench_${bench}_guest/out/"*.cost "$build_dir/vm/bench_${bench}_guest/out/"strace* \
		"$results/" 2>/dev/null || true
	report | tee "$build_dir/bench/overhead.txt"
	plot
	echo "bench/overhead: table in $build_dir/bench/overhead.txt, chart $build_dir/bench/overhead.png, results in $results/"
}

main "$@"
