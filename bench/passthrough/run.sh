#!/usr/bin/env bash
# bench/passthrough: what a ddublk tenant costs over raw NVMe passthrough
# and over the kernel block path, measured in ONE boot of the test VM.
#
# usage: bench/passthrough/run.sh [--build-dir DIR] [--runtime SEC] [--ramp SEC] [--stock]
#
# Boots the VM once (tests/vm/run.sh --script bench/passthrough/guest.sh),
# where fio runs each workload against
#   (a) raw    /dev/ng0n1, ioengine=io_uring_cmd, cmd_type=nvme
#   (b) ddublk a tenant (/dev/ublkbN, backend path "/dev/ng0n1"), io_uring, direct=1
#   (c) block  /dev/nvme0n1, io_uring, direct=1
# Workloads: 4k randread QD1, 4k randread QD32, 128k sequential write QD16,
# each RUNTIME s (default 15) after RAMP s (default 3). Prints a table (IOPS,
# MiB/s, p50/p99/p99.9 completion latency) and the ratios b/a and b/c per
# workload, and writes the table to BUILD/bench/passthrough.txt and the raw
# fio JSONs (+ meta.txt: pinning, backend kind) to BUILD/bench/passthrough/.
# A benchmark, not a test: it asserts nothing about speed; it fails only if
# something did not run. See bench/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bench=passthrough
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$here/../lib.sh"
WORKLOADS=(randread4k_qd1 randread4k_qd32 seqwrite128k_qd16)
TARGETS=(raw ddublk block)

usage() {
	sed -n '5p' "$0" | sed 's/^# //' >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		if common_opt "$@"; then shift "$taken"; continue; fi
		case $1 in
		-h|--help) usage ;;
		*) echo "bench/passthrough: unknown argument $1" >&2; usage ;;
		esac
	done
	check_common_opts
}

# stats TARGET WORKLOAD: "iops KiB/s p50_us p99_us p99.9_us" of one run.
stats() {
	local f=$results/$1_$2.json
	[ -s "$f" ] || die "missing $f"
	jq -r '.jobs[0] | (if .read.io_bytes > 0 then .read else .write end) as $d
		| ($d.clat_ns.percentile // {}) as $p
		| [($d.iops | floor), $d.bw,
		   (($p["50.000000"] // 0) / 1000 | floor), (($p["99.000000"] // 0) / 1000 | floor),
		   (($p["99.900000"] // 0) / 1000 | floor)] | map(tostring) | join(" ")' "$f"
}

report() {
	local w t iops kibs p50 p99 p999
	declare -A IOPS P99
	echo "bench/passthrough: $(date -u +%FT%TZ), one VM boot, runtime ${runtime}s, ramp ${ramp}s"
	sed 's/^/  /' "$results/meta.txt"
	echo
	printf '%-18s %-7s %9s %9s %9s %9s %10s\n' workload target IOPS MiB/s p50_us p99_us p99.9_us
	for w in "${WORKLOADS[@]}"; do
		for t in "${TARGETS[@]}"; do
			read -r iops kibs p50 p99 p999 <<<"$(stats "$t" "$w")"
			IOPS[$t.$w]=$iops P99[$t.$w]=$p99
			printf '%-18s %-7s %9s %9.1f %9s %9s %10s\n' "$w" "$t" "$iops" "$(awk -v k="$kibs" 'BEGIN { print k / 1024 }')" "$p50" "$p99" "$p999"
		done
	done
	echo
	echo "ratios (b = ddublk, a = raw passthrough, c = kernel block path):"
	printf '%-18s %10s %10s %10s %10s\n' workload 'IOPS b/a' 'IOPS b/c' 'p99 b/a' 'p99 b/c'
	for w in "${WORKLOADS[@]}"; do
		printf '%-18s %10s %10s %10s %10s\n' "$w" \
			"$(ratio "${IOPS[ddublk.$w]}" "${IOPS[raw.$w]}")" "$(ratio "${IOPS[ddublk.$w]}" "${IOPS[block.$w]}")" \
			"$(ratio "${P99[ddublk.$w]}" "${P99[raw.$w]}")" "$(ratio "${P99[ddublk.$w]}" "${P99[block.$w]}")"
	done
	echo
	echo "IOPS ratio > 1: ddublk faster; p99 ratio > 1: ddublk slower. TCG emulation:"
	echo "compare ratios from one boot, never absolute numbers across boots."
}

main() {
	parse_args "$@"
	# one boot: 9 timed runs + preconditioning + boot, with margin
	run_guest "$build_dir" $(( 9 * (runtime + ramp + 15) + 600 )) "$runtime" "$ramp"
	results=$(collect "$build_dir")
	report | tee "$build_dir/bench/passthrough.txt"
	echo "bench/passthrough: table in $build_dir/bench/passthrough.txt, fio JSONs in $results/"
}

main "$@"
