#!/usr/bin/env bash
# Boot the test VM once and run one scenario inside it.
#
# usage: tests/vm/run.sh [--build-dir DIR] [--linux VERSION] [--stock]
#                        [--kernel BZIMAGE] [--timeout SEC] [--keep] [--smp N] [--mem M]
#                        [--cmdline-extra "..."] SCENARIO [ARGS...]
#        tests/vm/run.sh [same options] --script PATH [ARGS...]
#
# SCENARIO is tests/vm/scenarios/SCENARIO.sh. The guest (see guest-init.sh)
# runs it with ARGS and records its exit status; this script exits with that
# status. Everything of a run lives in BUILD/vm/SCENARIO/ (recreated each
# run): console.log (full serial console), nvme.img (the emulated SSD,
# deleted afterwards unless --keep) and out/ (shared read-write with the
# guest: output.log, status, dmesg.txt, ddublkd.log, ...).
#
# --script PATH runs PATH (any file inside the source tree, e.g. a
# benchmark's guest side in bench/) in place of a scenario, exactly as a
# scenario is run (lib.sh, PATH, out/, status); its work dir is
# BUILD/vm/ + PATH relative to the source tree with '/' turned into '_'
# and without .sh (bench/overhead/guest.sh: BUILD/vm/bench_overhead_guest).
#
# The kernel: tests/vm/build-kernel.sh builds (or takes from its cache) the
# kernel with the series in patches/linux-6.1/, and the guest boots with the
# arguments in patches/linux-6.1/cmdline; --stock: the kernel without the
# series, and without those arguments. --kernel BZIMAGE boots that image
# instead of asking build-kernel.sh (a kernel tree being worked on); it
# counts as the patched kernel unless --stock is given too. The guest sees
# which one it got in $DDUBLK_KERNEL (patched or stock). --linux VERSION
# (default 6.1): Debian's linux-source-VERSION, with patches/linux-VERSION/
# and its cmdline (6.12: both kernels built with the legacy ublk opcodes
# off); the guest sees it in $DDUBLK_LINUX, and the work dir gets a
# "-VERSION" suffix.
#
# A scenario may ask for more in comment lines of its own, before its code:
#   # vm-kernel: stock        always boot the kernel without the series (the
#                             scenario tests the stock-kernel fallback)
#   # vm-cmdline: ARGS        more kernel command-line arguments
#   # vm-maxcpus: N           possible CPUs (-smp maxcpus=N; default 64)
#   # vm-nvme-iops: N         cap the emulated SSD at N IOPS (QEMU throttling)
#   # vm-suite: soak          a long stress or repeat scenario: ctest labels it
#                             "soak", not "vm", so only `scripts/check.sh
#                             --soak` runs it (run.sh runs it either way)
#   # vm-nvme-discard: ignore the emulated SSD drops deallocates and keeps
#                             the data, though its DLFEAT still says
#                             deallocated blocks read zeroes (default:
#                             unmap, they do)
#   # vm-qemu-trace: EVENTS   QEMU trace events (comma or space separated) to
#                             out/qemu-trace.log, which the guest can read
#                             live at $DDUBLK_OUT/qemu-trace.log (the
#                             controller's own view of every command)
#
# The work dir is under the build dir, not /tmp, because the guest mounts its
# own tmpfs on /tmp. Environment: DDUBLK_VM_NVME_SIZE (default 2G).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

build_dir=$top/build
stock=
timeout_s=900
keep=0
smp=2
mem=4G
cmdline_extra=
kernel_arg=
linux=6.1
script_path=
nvme_size=${DDUBLK_VM_NVME_SIZE:-2G}

die() { echo "run.sh: $*" >&2; exit 1; }
say() { echo "run.sh: $*" >&2; }

usage() {
	sed -n '4,7p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--build-dir) [ $# -ge 2 ] || usage; build_dir=$2; shift 2 ;;
		--stock) stock=--stock; shift ;;
		--linux) [ $# -ge 2 ] || usage; linux=$2; shift 2 ;;
		--kernel) [ $# -ge 2 ] || usage; kernel_arg=$2; shift 2 ;;
		--timeout) [ $# -ge 2 ] || usage; timeout_s=$2; shift 2 ;;
		--keep) keep=1; shift ;;
		--smp) [ $# -ge 2 ] || usage; smp=$2; shift 2 ;;
		--mem) [ $# -ge 2 ] || usage; mem=$2; shift 2 ;;
		--cmdline-extra) [ $# -ge 2 ] || usage; cmdline_extra=$2; shift 2 ;;
		--script) [ $# -ge 2 ] || usage; script_path=$2; shift 2 ;;
		-h|--help) usage ;;
		--) shift; break ;;
		-*) say "unknown option $1"; usage ;;
		*) break ;;
		esac
	done
	if [ -n "$script_path" ]; then
		resolve_script
	else
		[ $# -ge 1 ] || usage
		scenario=$1; shift
		scenario_file=$top/tests/vm/scenarios/$scenario.sh
		guest_scenario=$scenario
	fi
	scenario_args=("$@")
	[[ $linux =~ ^[0-9]+\.[0-9]+$ ]] || die "--linux wants a version like 6.12, got '$linux'"
	[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout wants a positive number of seconds, got '$timeout_s'"
	if ! [[ $smp =~ ^[1-9][0-9]*$ ]] || [ "$smp" -gt 64 ]; then die "--smp wants 1..64, got '$smp'"; fi
	[[ $scenario =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad scenario name '$scenario'"
	[ -d "$build_dir" ] || die "build dir $build_dir does not exist: configure and build first (cmake -B $build_dir && cmake --build $build_dir)"
	build_dir=$(cd "$build_dir" && pwd)
}

# --script PATH: the guest runs tests/vm/scenarios/$guest_scenario.sh, so
# name PATH relative to that directory (both are in the source share).
resolve_script() {
	[ -f "$script_path" ] || die "--script: no file $script_path"
	scenario_file=$(cd "$(dirname "$script_path")" && pwd)/$(basename "$script_path")
	[[ $scenario_file == "$top"/*.sh ]] || die "--script wants a .sh file inside $top, got $script_path"
	local rel=${scenario_file#"$top"/}
	scenario=${rel%.sh}
	scenario=${scenario//\//_}
	guest_scenario=../../../${rel%.sh}
}

# The daemon binaries are looked up where CMake puts them; guest-init.sh puts
# the same directories on the guest's PATH.
find_bin() {
	local name=$1 d
	for d in "$build_dir/daemon" "$build_dir/ctl" "$build_dir"; do
		[ -x "$d/$name" ] && { echo "$d/$name"; return 0; }
	done
	return 1
}

known_scenarios() {
	local f
	for f in "$top"/tests/vm/scenarios/*.sh; do [ -e "$f" ] && basename "$f" .sh; done | tr '\n' ' '
}

check_prereqs() {
	local missing=() t pkg
	local -A pkgs=([qemu-system-x86_64]=qemu-system-x86 [fio]=fio [mkfs.ext4]=e2fsprogs
		[mkfs.xfs]=xfsprogs [jq]=jq [timeout]=coreutils [truncate]=coreutils)
	for t in qemu-system-x86_64 fio mkfs.ext4 mkfs.xfs jq timeout truncate; do
		pkg=${pkgs[$t]}
		# mkfs.* live in /sbin, which a non-root PATH may lack.
		command -v "$t" >/dev/null || [ -x "/sbin/$t" ] || [ -x "/usr/sbin/$t" ] ||
			missing+=("'$t' (apt-get install $pkg)")
	done
	[ -f "$scenario_file" ] || missing+=("scenario file $scenario_file (known: $(known_scenarios))")
	# A scenario that does not touch the daemon says so, so the harness
	# itself can be tested before the daemon builds.
	if [ -f "$scenario_file" ] && ! grep -q '^# vm-needs-daemon: no' "$scenario_file"; then
		for t in ddublkd ublk-ctl; do
			find_bin "$t" >/dev/null ||
				missing+=("$t binary in $build_dir (build it: cmake --build $build_dir)")
		done
	fi
	if [ ${#missing[@]} -gt 0 ]; then
		say "missing prerequisites:"
		for t in "${missing[@]}"; do echo "  - $t" >&2; done
		exit 1
	fi
}

get_kernel() {
	local out f=$top/patches/linux-$linux/cmdline
	kernel_variant=${stock:+stock}
	kernel_variant=${kernel_variant:-patched}
	kernel_cmdline=
	# The series' command line: all lines but comments, joined.
	if [ "$kernel_variant" = patched ] && [ -f "$f" ]; then
		kernel_cmdline=$({ grep -v '^[[:space:]]*#' "$f" || true; } | tr '\n' ' ' | tr -s ' ')
	fi
	if [ -n "$kernel_arg" ]; then
		[ -s "$kernel_arg" ] || die "--kernel: no kernel image at $kernel_arg"
		kernel=$(cd "$(dirname "$kernel_arg")" && pwd)/$(basename "$kernel_arg")
		return 0
	fi
	out=$("$here/build-kernel.sh" --linux "$linux" $stock) ||
		die "tests/vm/build-kernel.sh --linux $linux $stock failed"
	kernel=$(tail -n1 <<<"$out")
	[ -s "$kernel" ] || die "build-kernel.sh printed '$kernel', which is not a kernel image"
}

# directive NAME: the value of the scenario's '# vm-NAME: VALUE' line, if any.
directive() {
	[ -f "$scenario_file" ] || return 0
	sed -n "s/^# vm-$1:[[:space:]]*//p" "$scenario_file" | head -n1
}

read_directives() {
	case $(directive kernel) in
	stock) stock=--stock ;;
	'') ;;
	*) die "$scenario_file: '# vm-kernel: $(directive kernel)' wants stock" ;;
	esac
	scenario_cmdline=$(directive cmdline)
	maxcpus=$(directive maxcpus)
	maxcpus=${maxcpus:-64}
	qemu_trace=$(directive qemu-trace)
	nvme_discard=$(directive nvme-discard)
	nvme_discard=${nvme_discard:-unmap}
	case $nvme_discard in
	unmap|ignore) ;;
	*) die "$scenario_file: '# vm-nvme-discard: $nvme_discard' wants unmap or ignore" ;;
	esac
	if ! [[ $maxcpus =~ ^[1-9][0-9]*$ ]] || [ "$maxcpus" -gt 64 ]; then
		die "$scenario_file: '# vm-maxcpus: $maxcpus' wants 1..64"
	fi
	[ "$smp" -le "$maxcpus" ] || die "--smp $smp is more than the scenario's vm-maxcpus $maxcpus"
	[[ -z $qemu_trace || $qemu_trace =~ ^[A-Za-z0-9_*,\ ]+$ ]] ||
		die "$scenario_file: bad '# vm-qemu-trace: $qemu_trace'"
}

make_workdir() {
	# --stock runs of a scenario that also runs on the patched kernel get their own.
	work=$build_dir/vm/$scenario${stock:+-stock}
	[ "$linux" = 6.1 ] || work+=-$linux
	rm -rf "$work"
	mkdir -p "$work/out"
	img=$work/nvme.img
	console=$work/console.log
	truncate -s "$nvme_size" "$img" || die "cannot create $img of size '$nvme_size' (DDUBLK_VM_NVME_SIZE)"
	nvme_bytes=$(stat -c %s "$img")
	# cache=none needs O_DIRECT, which some host file systems (tmpfs) lack.
	if dd if=/dev/zero of="$img" bs=4096 count=1 oflag=direct conv=notrunc status=none 2>/dev/null; then
		nvme_cache=none
	else
		nvme_cache=writeback
	fi
	# The job description for guest-init.sh: sourced by bash in the guest.
	{
		printf 'DDUBLK_SCENARIO=%q\n' "$guest_scenario"
		printf 'DDUBLK_ARGS=('
		# printf with no arguments would still print one empty word.
		[ ${#scenario_args[@]} -eq 0 ] || printf '%q ' "${scenario_args[@]}"
		printf ')\n'
		printf 'DDUBLK_GUEST_TIMEOUT=%q\n' "$guest_timeout"
		printf 'DDUBLK_NVME_BYTES=%q\n' "$nvme_bytes"
		printf 'DDUBLK_KERNEL=%q\n' "$kernel_variant"
		printf 'DDUBLK_LINUX=%q\n' "$linux"
	} >"$work/out/job.env"
}

# Guest gets a shorter timeout than the host so that, normally, the guest
# notices first, records 124 and still saves dmesg.
compute_timeouts() {
	local margin=$(( timeout_s / 2 < 60 ? timeout_s / 2 : 60 ))
	guest_timeout=$(( timeout_s - margin ))
	[ "$guest_timeout" -ge 1 ] || guest_timeout=1
}

share() { # TAG PATH ro|rw
	local ro=
	[ "$3" = ro ] && ro=,readonly=on
	qemu_args+=(-fsdev "local,id=fs_$1,path=$2,security_model=none,multidevs=remap$ro"
		-device "virtio-9p-pci,fsdev=fs_$1,mount_tag=$1")
}

# shellcheck disable=SC2054 # the commas belong to QEMU's option syntax
build_qemu_args() {
	# no_timer_check: on a loaded host TCG can miss the early IO-APIC timer
	# probe ("MP-BIOS bug: 8254 timer not connected") and the kernel panics.
	cmdline="console=ttyS0 no_timer_check root=root rootfstype=9p"
	cmdline+=" rootflags=trans=virtio,version=9p2000.L,msize=262144 ro"
	cmdline+=" init=$here/guest-init.sh panic=-1"
	cmdline+=" ${kernel_cmdline} ${scenario_cmdline} ${cmdline_extra}"
	qemu_args=(-machine q35,accel=tcg -cpu max -smp "$smp,maxcpus=$maxcpus" -m "$mem"
		-nographic -no-reboot -nic none
		-kernel "$kernel" -append "$cmdline")
	if [ -n "$qemu_trace" ]; then
		local ev
		for ev in ${qemu_trace//,/ }; do qemu_args+=(-trace "enable=$ev"); done
		qemu_args+=(-D "$work/out/qemu-trace.log")
	fi
	share root / ro
	share src "$top" ro
	share build "$build_dir" ro
	share out "$work/out" rw
	# discard=unmap: QEMU's NVMe reports DLFEAT "deallocated blocks read
	# 0x00" but, with QEMU's default discard=ignore, drops the deallocate
	# and the old data stays ("# vm-nvme-discard: ignore" asks for that).
	# A scenario that needs the SSD to be the bottleneck (weights only
	# matter under contention) caps its IOPS with "# vm-nvme-iops: N".
	local throttle iops
	iops=$(directive nvme-iops)
	[[ -z $iops || $iops =~ ^[0-9]+$ ]] || die "bad vm-nvme-iops '$iops' in $scenario_file"
	throttle=${iops:+,throttling.iops-total=$iops}
	qemu_args+=(-drive "file=$img,if=none,id=nvm,format=raw,cache=$nvme_cache,discard=$nvme_discard$throttle"
		-device nvme,id=nvme0,serial=ddublk0,max_ioqpairs=64,msix_qsize=65
		-device nvme-ns,drive=nvm,bus=nvme0,nsid=1)
}

# Print whatever the guest appended to out/output.log since the last call,
# so a watcher (or ctest's log) sees the scenario live.
printed=0
show_new_output() {
	local f=$work/out/output.log size
	[ -f "$f" ] || return 0
	size=$(stat -c %s "$f")
	[ "$size" -gt "$printed" ] || return 0
	tail -c +"$((printed + 1))" "$f" | head -c "$((size - printed))" || true
	printed=$size
}

console_tail() {
	echo "---- last 40 lines of $console ----" >&2
	tail -n 40 "$console" >&2 || true
	echo "----" >&2
}

qemu_pid=
kill_qemu() {
	[ -n "$qemu_pid" ] || return 0
	kill "$qemu_pid" 2>/dev/null || true
	for _ in 1 2 3 4 5; do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 1; done
	kill -KILL "$qemu_pid" 2>/dev/null || true
	wait "$qemu_pid" 2>/dev/null || true
	qemu_pid=
}

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	kill_qemu
	if [ "$keep" = 0 ] && [ -n "${img:-}" ]; then rm -f "$img"; fi
}

# Returns qemu's exit status; 124 if the host timeout fired.
run_qemu() {
	local start=$SECONDS rc=0
	qemu-system-x86_64 "${qemu_args[@]}" </dev/null >"$console" 2>&1 &
	qemu_pid=$!
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [ $((SECONDS - start)) -ge "$timeout_s" ]; then
			kill_qemu
			show_new_output
			say "timed out after $timeout_s s (scenario $scenario)"
			console_tail
			return 124
		fi
		show_new_output
		sleep 1
	done
	wait "$qemu_pid" || rc=$?
	qemu_pid=
	show_new_output
	boot_seconds=$((SECONDS - start))
	return "$rc"
}

main() {
	parse_args "$@"
	check_prereqs
	read_directives
	get_kernel
	compute_timeouts
	make_workdir
	build_qemu_args
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	say "scenario $scenario ${scenario_args[*]}: $kernel_variant kernel $kernel, work dir $work, nvme $nvme_size cache=$nvme_cache discard=$nvme_discard, timeout ${timeout_s}s"
	say "kernel command line: ${cmdline}"
	local qrc=0
	run_qemu || qrc=$?
	[ "$qrc" = 124 ] && exit 124

	local status_file=$work/out/status status
	if [ ! -s "$status_file" ]; then
		[ "$qrc" = 0 ] || say "qemu exited with status $qrc"
		grep -q 'Kernel panic' "$console" && say "the guest kernel panicked"
		say "no exit status from the guest ($status_file missing): the guest did not finish the scenario (kernel panic, init failure or qemu error; see the console below)"
		console_tail
		exit 1
	fi
	status=$(tr -dc '0-9' <"$status_file")
	[ -n "$status" ] || die "garbage in $status_file"
	say "scenario $scenario exited with status $status after ${boot_seconds}s in the VM (console: $console)"
	[ "$status" = 0 ] || say "logs: $work/out/"
	exit "$status"
}

main "$@"
