#!/usr/bin/env bash
# Stress for NVMe queue steering (patches/linux-6.1, issue 6 item 5), the
# kernel and ddublkd together, on the patched kernel with 64 hardware queues
# of 15 tags each (nvme.io_queue_depth=16), for 5 minutes:
#  - tests/vm/tools/qid_stress: 4 tool tenants (threads with their own
#    rings and extents above 1 GiB) keep 64 steered commands each in
#    flight, half of them on hot queues far past their tags, so tag
#    exhaustion (-EAGAIN) is constant on every queue they share with...
#  - ddublkd, steering (daredevil, poll = "always": every queue), with 4 tenants (2 latency,
#    2 throughput) running fio write+verify passes back to back, QD 16/32.
# Passes if no command fails, every read shows what was last written (the
# tool checks its own, fio its tenants'), ddublkd's steered requests met
# full queues (-EAGAIN) and went again to the same queue, every queue
# carried commands, no tag is left busy once the tool and the fio passes
# are done (checked here, not by the tool: on a slow host ddublkd's last
# pass may outlast the tool's run), and the kernel log has no hung task or
# warning (guest-init checks that).
# Arguments: [SECONDS [TENANTS [QD]]] (default 300 4 64), for the tool.
# vm-cmdline: nvme.io_queue_depth=16
# vm-suite: soak
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

secs=${1:-300}
tenants=${2:-4}
qd=${3:-64}
tool=$DDUBLK_BUILD/tests/vm/tools/qid_stress
[ -x "$tool" ] || fail "no $tool: build the project first (cmake --build)"
[ "${DDUBLK_KERNEL:-}" = patched ] || fail "kernel_qid_stress needs the patched kernel (got '${DDUBLK_KERNEL:-}')"
dmesg | grep -E 'nvme nvme0: [0-9]+/[0-9]+/[0-9]+ default/read/poll queues' ||
	fail "no queue count line from nvme0 in dmesg"
nr_mq=$(find /sys/block/nvme0n1/mq -mindepth 1 -maxdepth 1 -name '[0-9]*' | wc -l)
[ "$nr_mq" = 64 ] || fail "$nr_mq hardware queues, want 64"

# ddublkd's tenants end below 1 GiB, where the tool's extents begin.
cfg=/run/kernel_qid_stress.conf
cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
scheduler = { mode = "daredevil"; poll = "always"; };  # every queue, polled ones too
backends = ( { name = "ns"; path = "/dev/ng0n1"; } );
tenants = (
  { name = "l1"; backend = "ns"; size = "96M"; queues = 2; class = "latency"; },
  { name = "l2"; backend = "ns"; size = "96M"; queues = 2; class = "latency"; },
  { name = "t1"; backend = "ns"; size = "192M"; queues = 2; class = "throughput"; },
  { name = "t2"; backend = "ns"; size = "192M"; queues = 2; class = "throughput"; }
);
CONF
start_daemon "$cfg"
grep -q 'backend "ns": queue steering: every command names its NVMe queue' "$DDUBLKD_LOG" ||
	fail "ddublkd does not steer"
grep -F 'router nvme0n1: 64 of 64 hardware queues reachable' "$DDUBLKD_LOG" | sed 's/^/  /'

step "qid_stress: $tenants tenants, QD $qd each, $secs s, on $nr_mq queues; ddublkd: 4 tenants under fio verify"
mkdir -p /tmp/fio && cd /tmp/fio
# Straight into out/: if the kernel hangs, what got that far is kept.
log=$DDUBLK_OUT/qid_stress.log
"$tool" /dev/ng0n1 nvme0n1 "$secs" "$tenants" "$qd" 1024 >"$log" 2>&1 &
tool_pid=$!

# verify_loop TENANT: fio write+verify passes back to back; the count in
# TENANT.passes. A pass starts only if twice the longest pass so far still
# ends 15 s before the tool's end, so that the run does not last much
# longer than the tool (nothing depends on it: the tags are checked after
# both are done).
tool_end=$((SECONDS + secs))
verify_loop() {
	local t=$1 dev n=0 opts start longest=0
	dev=$(tenant_get "$t" device)
	case $t in
	l*) opts=(--bssplit=4k/70:16k/30 --iodepth=16 --size=32M) ;;
	t*) opts=(--bssplit=4k/30:64k/30:256k/40 --iodepth=32 --size=64M) ;;
	esac
	while [ $((SECONDS + 2 * longest + 15)) -lt "$tool_end" ]; do
		start=$SECONDS
		fio --name="v$t" --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite \
			"${opts[@]}" --verify=crc32c --do_verify=1 --randseed=$((n + 1)) \
			--output-format=json --output="v$t.json" >"v$t.log" 2>&1 || return 1
		assert_clean "v$t" >/dev/null || return 1
		[ $((SECONDS - start)) -le "$longest" ] || longest=$((SECONDS - start))
		n=$((n + 1))
		echo "$n" >"$t.passes"
	done
}
pids=()
for t in l1 l2 t1 t2; do
	verify_loop "$t" &
	pids+=($!)
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || fail "fio verify on ddublkd tenant $((i + 1)) failed ($(tail -n 5 /tmp/fio/v*.log))"
done
passes=""
for t in l1 l2 t1 t2; do passes+=" $t:$(cat "$t.passes" 2>/dev/null || echo 0)"; done
pass "ddublkd tenants: fio write+verify passes, all clean:$passes"

rc=0
wait "$tool_pid" || rc=$?
cat "$log"
[ "$rc" = 0 ] || fail "qid_stress exited $rc"
total=$(sed -n 's/^total: [0-9]* commands in [0-9]*s, \([0-9]*\) -EAGAIN.*/\1/p' "$log")
[ "${total:-0}" -gt 0 ] || fail "no -EAGAIN at all: the tags were never exhausted"
pass "qid_stress: $(grep '^total:' "$log")"

# The tool and the fio passes are over and ddublkd is idle: every command
# has been reaped, so none may still hold a tag.
assert_tags_idle nvme0n1 10
pass "no tag busy on any of the $nr_mq hardware queues after the run"
dmesg | grep -E 'nvme nvme0: I/O [0-9]+ QID [0-9]+ timeout' | sed 's/^/  note: /' | tail -n 10 || true

stop_daemon
again=$(sed -n 's/.*worker [0-9]*: \([0-9]*\) steered request(s) found their NVMe queue out of tags.*/\1/p' \
	"$DDUBLKD_LOG" | awk '{ s += $1 } END { print s + 0 }')
grep -E 'went again|failed' "$DDUBLKD_LOG" | sed 's/^/  /' | head -n 20
! grep -E 'backend "ns": .* failed' "$DDUBLKD_LOG" || fail "ddublkd saw failed backend commands"
[ "$again" -gt 0 ] || fail "ddublkd never met a full queue: the stress did not reach it"
pass "kernel_qid_stress: ddublkd's steered requests met a full queue $again times and went again, no errors"
