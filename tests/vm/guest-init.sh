#!/bin/bash
# PID 1 of the test VM (see run.sh): set up a minimal system on top of the
# host's read-only root, run one scenario, record its exit status in the
# shared out/ directory, check dmesg, power off.
#
# Deliberately no `set -e`: PID 1 must always reach the power-off at the
# end. If it dies anyway, the kernel panics, panic=-1 reboots, and QEMU's
# -no-reboot turns that into an exit; run.sh then reports the missing status.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
umask 022

VM=/run/vm
export DDUBLK_SRC=$VM/src DDUBLK_BUILD=$VM/build DDUBLK_OUT=$VM/out
out_ok=0

log() {
	echo "guest-init: $*"
	[ "$out_ok" = 1 ] && echo "guest-init: $*" >>"$DDUBLK_OUT/output.log"
	return 0
}

# nap SECS: sleep with a builtin (read on a FIFO nobody writes). Programs
# cost a noticeable fraction of a second each under TCG, and cannot run at
# all once the power-off has torn down virtio-9p.
nap() {
	[ -p /run/vm/nap ] || mkfifo /run/vm/nap 2>/dev/null
	if [ -p /run/vm/nap ]; then read -r -t "$1" _ <>/run/vm/nap; else sleep "$1"; fi
}

power_off() {
	sync
	echo o >/proc/sysrq-trigger 2>/dev/null
	nap 20
	# sysrq did not work: the direct syscall, then give up and let init's
	# exit panic the kernel (QEMU exits on -no-reboot).
	reboot -f 2>/dev/null
	nap 10
	exit 1
}

# mounted DIR: something is mounted on DIR. Builtins only: every program
# started from the 9p root costs a noticeable fraction of a second under TCG.
# Only valid once our own /proc is mounted: see setup_system.
mounted() {
	local mnt
	while read -r _ mnt _; do [ "$mnt" = "$1" ] && return 0; done </proc/self/mounts
	return 1
}

# mnt TYPE SOURCE DIR [OPTIONS]: mount unless something is already there
# (CONFIG_DEVTMPFS_MOUNT may have mounted /dev before we run).
mnt() {
	local type=$1 src=$2 dir=$3 opts=${4:-}
	mounted "$dir" && return 0
	[ -d "$dir" ] || mkdir -p "$dir"
	mount -t "$type" ${opts:+-o "$opts"} "$src" "$dir" || { log "cannot mount $type $src on $dir"; return 1; }
}

setup_system() {
	# Unconditionally: until then /proc is the *host's* /proc as seen through
	# the 9p root share, and every check (mountpoint, ps) would lie.
	mount -t proc proc /proc || { echo "guest-init: cannot mount /proc"; exit 1; }
	mnt sysfs sysfs /sys
	mnt devtmpfs devtmpfs /dev
	mnt tmpfs tmpfs /dev/shm mode=1777
	mnt devpts devpts /dev/pts
	mnt tmpfs tmpfs /tmp mode=1777
	mnt tmpfs tmpfs /run mode=755
	mkdir -p "$DDUBLK_SRC" "$DDUBLK_BUILD" "$DDUBLK_OUT"
	mnt debugfs debugfs /sys/kernel/debug
	local p9=trans=virtio,version=9p2000.L,msize=262144
	mnt 9p src "$DDUBLK_SRC" "$p9,ro" || power_off
	mnt 9p build "$DDUBLK_BUILD" "$p9,ro" || power_off
	mnt 9p out "$DDUBLK_OUT" "$p9" || power_off
	out_ok=1
	# The host's $HOME and /var are read-only here.
	export HOME=/tmp TMPDIR=/tmp TERM=dumb
	export PATH=$DDUBLK_BUILD/daemon:$DDUBLK_BUILD/ctl:$DDUBLK_BUILD:$PATH
	hostname ddublk-vm 2>/dev/null
	# The NVMe controller is probed asynchronously; scenarios expect the
	# namespace to be there when they start.
	for _ in $(seq 300); do [ -b /dev/nvme0n1 ] && break; sleep 0.1; done
	[ -b /dev/nvme0n1 ] || log "no /dev/nvme0n1 after 30 s"
}

load_job() {
	DDUBLK_SCENARIO='' DDUBLK_ARGS=() DDUBLK_GUEST_TIMEOUT=840 DDUBLK_NVME_BYTES=0
	DDUBLK_KERNEL=patched DDUBLK_LINUX=6.1
	# shellcheck source=/dev/null
	. "$DDUBLK_OUT/job.env" || { log "cannot read $DDUBLK_OUT/job.env"; return 1; }
	# DDUBLK_KERNEL: patched (patches/linux-VERSION applied) or stock (run.sh --stock);
	# DDUBLK_LINUX: that VERSION (run.sh --linux, default 6.1).
	export DDUBLK_SCENARIO DDUBLK_NVME_BYTES DDUBLK_KERNEL DDUBLK_LINUX
	script=$DDUBLK_SRC/tests/vm/scenarios/$DDUBLK_SCENARIO.sh
	[ -f "$script" ] || { log "no scenario $script"; return 1; }
}

# group_alive PGID: some non-zombie process is left in the process group.
group_alive() {
	ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'
}

# Runs in its own process group (timeout does setpgid), so that whatever the
# scenario left running (a daemon, a fio) can be killed afterwards.
run_scenario() {
	cd /tmp || return 1
	timeout --kill-after=15 "$DDUBLK_GUEST_TIMEOUT" bash "$script" "${DDUBLK_ARGS[@]}" </dev/null &
	local pid=$! rc=0
	wait "$pid" || rc=$?
	if group_alive "$pid"; then
		echo "guest-init: killing processes the scenario left behind:"
		ps -eo pid,pgid,stat,etime,args | awk -v g="$pid" 'NR == 1 || $2 == g'
		kill -TERM -- "-$pid" 2>/dev/null
		for _ in $(seq 10); do group_alive "$pid" || break; sleep 1; done
		kill -KILL -- "-$pid" 2>/dev/null
	fi
	[ "$rc" = 124 ] && echo "guest-init: scenario timed out after $DDUBLK_GUEST_TIMEOUT s"
	return "$rc"
}

# The scenario writes straight into out/output.log (run.sh streams that file
# to the user) and a tail copies it to the console. No pipe: a process stuck
# in the kernel holding a pipe open would hang PID 1 waiting for EOF. For the
# same reason PID 1 polls rather than waits: `timeout` itself blocks forever
# on a child stuck in D state.
run_logged() {
	local log=$DDUBLK_OUT/output.log runner tailer rc=0
	local deadline=$((SECONDS + DDUBLK_GUEST_TIMEOUT + 45))
	run_scenario >>"$log" 2>&1 &
	runner=$!
	tail -c +"$(( $(stat -c %s "$log") + 1 ))" -f "$log" &
	tailer=$!
	while kill -0 "$runner" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do nap 1; done
	if kill -0 "$runner" 2>/dev/null; then
		log "the scenario's processes do not die (stuck in the kernel?); giving up on them"
		ps -eo pid,stat,wchan:32,args | awk '$2 ~ /D/' | tee -a "$log"
		rc=124
	else
		wait "$runner" || rc=$?
	fi
	nap 1 # let tail catch up before it goes
	kill "$tailer" 2>/dev/null
	wait "$tailer" 2>/dev/null
	return "$rc"
}

# Kernel complaints fail the run even if the scenario passed: a hung task or
# a WARN in ublk is exactly the kind of bug these tests exist to catch.
check_dmesg() {
	local bad
	dmesg >>"$DDUBLK_OUT/dmesg.txt" 2>&1
	bad=$(dmesg | grep -E 'hung_task|blocked for more than|BUG:|WARNING:|Oops|general protection fault|rcu: INFO|Call Trace:')
	[ -z "$bad" ] && return 0
	log "kernel log shows problems (full log: out/dmesg.txt):"
	echo "$bad" | tee -a "$DDUBLK_OUT/output.log"
	return 1
}

main() {
	setup_system
	local status=1
	if load_job; then
		log "running $DDUBLK_SCENARIO ${DDUBLK_ARGS[*]} (uptime $(cut -d' ' -f1 /proc/uptime) s, timeout $DDUBLK_GUEST_TIMEOUT s)"
		status=0
		run_logged || status=$?
		log "scenario $DDUBLK_SCENARIO exited with status $status (uptime $(cut -d' ' -f1 /proc/uptime) s)"
	fi
	if ! check_dmesg && [ "$status" = 0 ]; then
		status=1
	fi
	echo "$status" >"$DDUBLK_OUT/status"
	power_off
}

main
