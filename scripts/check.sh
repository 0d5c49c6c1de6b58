#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run indirectly through phase "$@"
# The test command: install dependencies, build the trees, run the unit
# tests (ASan/UBSan tree), the fuzz targets for a bounded time and the VM
# end-to-end tests, print what each phase took and a summary. Exits non-zero
# if anything failed.
#
#   build-asan/  -DDDUBLK_SANITIZE=ON, VM tests off  -> ctest -L unit
#   build-fuzz/  clang, -DDDUBLK_FUZZ=ON, fuzz targets only -> ctest -L fuzz
#   build/       default build type                 -> ctest -L vm
#
# The kernel phase builds (or finds cached) both test kernels: with the
# series in patches/linux-6.1/ and without it.
#
# usage: scripts/check.sh [--soak] [--linux-6.12]
#   --soak        also run the long stress and repeat scenarios (those marked
#                 "# vm-suite: soak", ctest label soak) after the VM phase; run
#                 it before closing an issue that touches what they cover.
#   --linux-6.12  also build the Linux 6.12 guest kernels, without and with
#                 patches/linux-6.12 (legacy ublk opcodes off; installs
#                 linux-source-6.12), and run the functional scenarios on the
#                 stock one and the series' scenarios on the patched one
#                 (ctest label linux612). Not in CI yet: cold, they would take
#                 CI past the hour (README "The test VM").
#
# All trees go under $DDUBLK_BUILD_ROOT (default: the repo top).
set -euo pipefail

soak=0 linux612=0
for arg in "$@"; do
	case $arg in
	--soak) soak=1 ;;
	--linux-6.12) linux612=1 ;;
	-h | --help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [--soak] [--linux-6.12]" >&2; exit 2 ;;
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
	if [ ! -r /usr/src/linux-source-6.12.tar.xz ]; then
		apt-get install -y -q linux-source-6.12 || return 1
	fi
	"$top/tests/vm/build-kernel.sh" --linux 6.12 --both
}

summary() {
	local i
	echo
	echo "==== summary"
	for i in "${!names[@]}"; do
		printf '  %-8s %-14s %6s s\n' "${names[$i]}" "${results[$i]}" "${times[$i]}"
	done
	printf '  %-8s %-14s %6s s\n' total "$([ "$failed" = 0 ] && echo ok || echo FAILED)" "$SECONDS"
}

asan_ok=1 main_ok=1
if phase deps "$top/scripts/deps.sh"; then
	phase build build_both || true
	if [ "$asan_ok" = 1 ]; then
		phase unit ctest --test-dir "$root/build-asan" -L unit --output-on-failure || true
	else
		skip unit "build-asan did not build"
	fi
	phase fuzz fuzz || true
	if phase kernel build_kernels && [ "$main_ok" = 1 ]; then
		phase vm ctest --test-dir "$root/build" -L vm --output-on-failure || true
		[ "$soak" = 0 ] ||
			phase soak ctest --test-dir "$root/build" -L soak --output-on-failure || true
		if [ "$linux612" = 1 ]; then
			if phase kernel612 build_kernel_612; then
				phase vm612 ctest --test-dir "$root/build" -L linux612 --output-on-failure || true
			else
				skip vm612 "no 6.12 kernel"
			fi
		fi
	else
		skip vm "$([ "$main_ok" = 1 ] && echo "no kernel" || echo "build did not build")"
	fi
else
	for p in build unit fuzz kernel vm; do skip "$p" "dependencies missing"; done
fi
summary
exit "$failed"
