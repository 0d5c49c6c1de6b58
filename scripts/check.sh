#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run indirectly through phase "$@"
# The test command: install dependencies, build the trees, run the unit
# tests (ASan/UBSan tree), the fuzz targets for a bounded time and the VM
# end-to-end tests on both tested kernels, print what each phase took and a
# summary. Exits non-zero if anything failed.
#
#   build-asan/  -DDDUBLK_SANITIZE=ON, VM tests off  -> ctest -L unit
#   build-fuzz/  clang, -DDDUBLK_FUZZ=ON, fuzz targets only -> ctest -L fuzz
#   build/       default build type                 -> ctest -L vm, -L linux612
#
# The guest kernels build in the background (tests/vm/build-kernel.sh, cached
# under ${DDUBLK_CACHE:-~/.cache/ddublk}): Linux 6.1 without and with
# patches/linux-6.1/ while the trees build and the unit and fuzz phases run,
# then Linux 6.12 (legacy ublk opcodes off) without and with
# patches/linux-6.12/ while the 6.1 scenarios run, at idle CPU and I/O
# priority, so that the emulator gets the CPU whenever it asks (the
# 6.1 scenarios still take ~17 % longer beside it, cold). Their logs:
# build-kernels/ under the build root.
#
# usage: scripts/check.sh [--soak]
#   --soak   also run the long stress and repeat scenarios (those marked
#            "# vm-suite: soak", ctest label soak; kernel_qid_stress on the
#            patched 6.12 kernel too) at the end; run it before closing an
#            issue that touches what they cover.
#
# All trees go under $DDUBLK_BUILD_ROOT (default: the repo top).
set -euo pipefail

soak=0
for arg in "$@"; do
	case $arg in
	--soak) soak=1 ;;
	-h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [--soak]" >&2; exit 2 ;;
	esac
done

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
root=${DDUBLK_BUILD_ROOT:-$top}
jobs=$(nproc)

declare -a names=() results=() times=()
failed=0

# phase NAME CMD...: run, time and record one phase.
phase() {
	local name=$1 start=$SECONDS rc=0; shift
	echo "==== $name: $*"
	"$@" || rc=$?
	record "$name" "$rc" $((SECONDS - start))
	return "$rc"
}

record() { # NAME RC|skipped SECONDS
	names+=("$1")
	times+=("$3")
	case $2 in
	0) results+=(ok) ;;
	skipped) results+=(skipped); failed=1 ;;
	*) results+=("FAILED ($2)"); failed=1 ;;
	esac
	echo "==== $1: ${results[-1]} in $3 s"
}

skip() { echo "==== $1: skipped ($2)"; record "$1" skipped 0; }

build_tree() { # DIR CMAKE_ARGS...
	local dir=$1; shift
	cmake -S "$top" -B "$root/$dir" -DDDUBLK_WERROR=ON "$@" &&
		cmake --build "$root/$dir" -j"$jobs"
}

build_both() {
	local rc=0
	build_tree build-asan -DDDUBLK_SANITIZE=ON -DDDUBLK_VM_TESTS=OFF || { asan_ok=0; rc=1; }
	build_tree build || { main_ok=0; rc=1; }
	return "$rc"
}

# libFuzzer needs clang; only the fuzz targets (and what they link) are built.
fuzz() {
	local dir=$root/build-fuzz
	CC=clang cmake -S "$top" -B "$dir" -DDDUBLK_WERROR=ON -DDDUBLK_FUZZ=ON \
		-DDDUBLK_VM_TESTS=OFF &&
		cmake --build "$dir" -j"$jobs" --target fuzz_table fuzz_policy fuzz_proto &&
		ctest --test-dir "$dir" -L fuzz --output-on-failure
}

# The patched kernel (patches/linux-6.1) for every scenario, the stock one
# for the scenarios that check the fallback (run.sh --stock); both cached.
# Cold, --both builds the stock kernel and then rebuilds the same tree with
# the series applied: make recompiles what the patches touch, not all.
build_kernels() {
	"$top/tests/vm/build-kernel.sh" --both
}

# The 6.12 guest kernels (tests/vm/kernel-6.12.config: legacy opcodes off),
# stock and with patches/linux-6.12 (an incremental rebuild of the same tree).
build_kernel_612() {
	"$top/tests/vm/build-kernel.sh" --linux 6.12 --both
}

# The kernels, one after the other, in a process group of their own (killed
# if this script exits first): 6.1 at nice 10, so the trees and the tests a
# developer waits for go first but a core ctest leaves idle is used; 6.12 at
# SCHED_IDLE and idle I/O priority, so that the 6.1 scenarios running beside
# it keep the CPU whenever the emulator wants it. Each writes
# $kdir/NAME.log and, when done, $kdir/NAME.rc.
kdir=$root/build-kernels
kernels_pgid=
start_kernels() {
	rm -rf "$kdir"
	mkdir -p "$kdir"
	kernels_t0=$SECONDS
	set -m
	(
		# No set -e here: a failed build must still leave its .rc.
		set +e
		trap - EXIT
		renice -n 10 -p "$BASHPID" >/dev/null
		build_kernels >"$kdir/kernel.log" 2>&1
		echo $? >"$kdir/kernel.rc"
		chrt --idle -p 0 "$BASHPID" && ionice -c 3 -p "$BASHPID"
		build_kernel_612 >"$kdir/kernel612.log" 2>&1
		echo $? >"$kdir/kernel612.rc"
	) &
	kernels_pgid=$!
	set +m
	trap 'kill -- -"$kernels_pgid" 2>/dev/null || true' EXIT
}

# wait_kernel NAME: wait for a background kernel phase, show its log and
# record it with the wall time since the kernels started.
wait_kernel() {
	local name=$1 rc
	echo "==== $name: background kernel build (log: $kdir/$name.log)"
	while [ ! -s "$kdir/$name.rc" ]; do
		kill -0 "$kernels_pgid" 2>/dev/null || break
		sleep 2
	done
	rc=$(cat "$kdir/$name.rc" 2>/dev/null || echo 1)
	cat "$kdir/$name.log"
	record "$name" "$rc" $((SECONDS - kernels_t0))
	return "$rc"
}

summary() {
	local i
	echo
	echo "==== summary"
	for i in "${!names[@]}"; do
		printf '  %-8s %-14s %6s s\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
	done
	echo "  (kernel and kernel612 build in the background: their times overlap the others')"
	printf '  %-8s %-14s %6s s\n' total "$([ "$failed" = 0 ] && echo ok || echo FAILED)" "$SECONDS"
}

asan_ok=1 main_ok=1
if phase deps "$top/scripts/deps.sh"; then
	start_kernels
	phase build build_both || true
	if [ "$asan_ok" = 1 ]; then
		phase unit ctest --test-dir "$root/build-asan" -L unit --output-on-failure || true
	else
		skip unit "build-asan did not build"
	fi
	phase fuzz fuzz || true
	if wait_kernel kernel && [ "$main_ok" = 1 ]; then
		phase vm ctest --test-dir "$root/build" -L vm --output-on-failure || true
	else
		skip vm "$([ "$main_ok" = 1 ] && echo "no 6.1 kernel" || echo "build did not build")"
	fi
	if wait_kernel kernel612 && [ "$main_ok" = 1 ]; then
		phase vm612 ctest --test-dir "$root/build" -L linux612 --output-on-failure || true
	else
		skip vm612 "$([ "$main_ok" = 1 ] && echo "no 6.12 kernel" || echo "build did not build")"
	fi
	# Last, when every kernel is built: some soak scenarios boot 6.12.
	[ "$soak" = 0 ] || [ "$main_ok" = 0 ] ||
		phase soak ctest --test-dir "$root/build" -L soak --output-on-failure || true
else
	for p in build unit fuzz kernel vm kernel612 vm612; do skip "$p" "dependencies missing"; done
fi
summary
exit "$failed"
