# shellcheck shell=bash
# Host-side helpers shared by the benchmarks (source it; set $bench first).
# A benchmark boots the test VM once with its guest.sh and makes a table
# from the fio JSONs the guest left in its out/ directory.

: "${bench:?set bench to the name of the benchmark before sourcing bench/lib.sh}"
bench_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() { echo "bench/$bench: $*" >&2; exit 1; }

# The options every benchmark takes, with their defaults.
build_dir=$bench_top/build
runtime=15
ramp=3
vm_opts=() # more options for tests/vm/run.sh (--stock)

# common_opt ARGS...: take "--build-dir DIR", "--runtime SEC", "--ramp SEC"
# or "--stock" off the front of ARGS; sets taken to how many words it used
# (the caller shifts that many); fails for anything else.
# shellcheck disable=SC2034 # taken is read by the caller
common_opt() {
	taken=2
	case $1 in
	--build-dir | --runtime | --ramp) [ $# -ge 2 ] || usage ;;
	--stock) taken=1; vm_opts+=(--stock); return 0 ;;
	*) return 1 ;;
	esac
	case $1 in
	--build-dir) build_dir=$2 ;;
	--runtime) runtime=$2 ;;
	--ramp) ramp=$2 ;;
	esac
}

# check_common_opts: validate them; build_dir becomes absolute.
check_common_opts() {
	[[ $runtime =~ ^[1-9][0-9]*$ ]] || die "--runtime wants seconds, got '$runtime'"
	[[ $ramp =~ ^[0-9]+$ ]] || die "--ramp wants seconds, got '$ramp'"
	[ -d "$build_dir" ] || die "no build dir $build_dir (cmake --build build first)"
	command -v jq >/dev/null || die "jq missing (apt-get install jq)"
	build_dir=$(cd "$build_dir" && pwd)
}

# run_guest BUILD_DIR TIMEOUT_S ARGS...: one boot running bench/$bench/guest.sh ARGS.
run_guest() {
	local build_dir=$1 timeout=$2; shift 2
	"$bench_top/tests/vm/run.sh" --build-dir "$build_dir" --timeout "$timeout" "${vm_opts[@]}" \
		--script "$bench_top/bench/$bench/guest.sh" "$@" ||
		die "the VM run failed (see $build_dir/vm/bench_${bench}_guest/)"
}

# collect BUILD_DIR: copy the guest's JSONs, meta.txt and daemon log to
# BUILD_DIR/bench/$bench/ and print that directory.
collect() {
	local vm_out=$1/vm/bench_${bench}_guest/out results=$1/bench/$bench
	rm -rf "$results"
	mkdir -p "$results"
	cp "$vm_out"/*.json "$vm_out/meta.txt" "$results/" || die "no results in $vm_out"
	cp "$vm_out/ddublkd.log" "$results/" 2>/dev/null || true
	echo "$results"
}

# ratio A B: A / B with two decimals, "n/a" when B is 0.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
