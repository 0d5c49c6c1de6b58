#!/usr/bin/env bash
# The kernel half of NVMe queue steering (patches/linux-6.1, issue 6), with
# no daemon: on the patched kernel (2 vCPUs, a controller with 64 queue
# pairs, patches/linux-6.1/cmdline) nvme-pci creates more I/O queues than
# CPUs, and NVME_URING_CMD_IO_QID reaches every one of them
# (tests/vm/tools/qid_smoke: data verified on each queue, clean refusals,
# -EAGAIN on tag exhaustion, the timeout handler covers the extra queues,
# no tag leaked); the emulated controller's own trace shows each write on
# the NVMe queue it was steered to. On the stock kernel (run.sh --stock)
# the same command must fail with -ENOTTY, the daemon's feature probe.
#
# Argument `unmapped`: also demand hardware queues that no CPU maps to
# (kernel_qid_unmapped.sh boots with as many possible CPUs as online ones,
# so the extra poll queues have no CPU at all).
# vm-needs-daemon: no
# vm-qemu-trace: pci_nvme_io_cmd
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

want_unmapped=0
case "${1:-}" in
'') ;;
unmapped) want_unmapped=1 ;;
*) fail "unknown argument '$1' (the only one is 'unmapped')" ;;
esac

tool=$DDUBLK_BUILD/tests/vm/tools/qid_smoke
ng=/dev/ng0n1
disk=nvme0n1
trace=$DDUBLK_OUT/qemu-trace.log
[ -x "$tool" ] || fail "no $tool: build the project first (cmake --build)"
[ -c $ng ] || fail "no $ng"
param=/sys/module/nvme/parameters/extra_poll_queues
step "kernel: ${DDUBLK_KERNEL:-?}, $(uname -r), cmdline: $(cat /proc/cmdline)"
qline=$(dmesg | grep -Eo 'nvme nvme0: [0-9]+/[0-9]+/[0-9]+ default/read/poll queues' | tail -n1) ||
	fail "no 'default/read/poll queues' line from nvme0 in dmesg"
echo "  dmesg: $qline"
nr_mq=$(find /sys/block/$disk/mq -mindepth 1 -maxdepth 1 -name '[0-9]*' | wc -l)
echo "  /sys/block/$disk/mq: $nr_mq hardware queues; CPUs online $(cat /sys/devices/system/cpu/online), possible $(cat /sys/devices/system/cpu/possible)"

if [ "${DDUBLK_KERNEL:-}" = stock ]; then
	step "stock kernel: NVME_URING_CMD_IO_QID is refused with -ENOTTY"
	[ ! -e $param ] || fail "$param exists: this is not the stock kernel"
	rc=0
	"$tool" probe $ng $disk || rc=$?
	[ "$rc" = 2 ] || fail "qid_smoke probe exited $rc, want 2 (-ENOTTY)"
	pass "kernel_qid (stock): the steering cmd_op gets -ENOTTY"
	exit 0
fi
[ "${DDUBLK_KERNEL:-}" = patched ] || fail "DDUBLK_KERNEL is '${DDUBLK_KERNEL:-}', want patched or stock"

step "patched kernel: more I/O queues than CPUs"
[ -r $param ] || fail "$param missing: the kernel lacks the series' extra_poll_queues patch (patches/linux-${DDUBLK_LINUX:-6.1})"
echo "  nvme.extra_poll_queues=$(cat $param)"
counts=${qline#nvme nvme0: }
IFS=/ read -r nd nr np <<<"${counts%% *}"
total=$((nd + nr + np))
online=$(nproc)
[ "$total" -gt "$online" ] || fail "$total I/O queues for $online CPUs: the cap is still there"
[ "$total" = 64 ] || fail "$total I/O queues, the controller grants 64"
[ "$nr_mq" = "$total" ] || fail "sysfs shows $nr_mq hardware queues, dmesg $total"
unmapped=0
for q in $(seq 0 $((nr_mq - 1))); do
	[ -n "$(cat "/sys/block/$disk/mq/$q/cpu_list")" ] || unmapped=$((unmapped + 1))
done
echo "  $nd interrupt-driven, $nr read, $np polled; $unmapped with no CPU mapped to them"
if [ "$want_unmapped" = 1 ] && [ "$unmapped" = 0 ]; then
	fail "every hardware queue has a CPU: the unmapped-queue case is not exercised"
fi
pass "$total I/O queues with $online CPUs online"

step "qid_smoke: every queue, refusals, tag exhaustion, timeout, leaks"
[ -f "$trace" ] || fail "no $trace: run.sh did not enable the QEMU trace"
mark=$(wc -l <"$trace")
rc=0
# Into out/ as it goes (kept if the kernel hangs), then a copy in /tmp.
"$tool" check $ng $disk >"$DDUBLK_OUT/qid_smoke.log" 2>&1 || rc=$?
cp "$DDUBLK_OUT/qid_smoke.log" /tmp/qid_smoke.log
cat /tmp/qid_smoke.log
[ "$rc" = 0 ] || fail "qid_smoke check exited $rc"

step "per-queue evidence from the controller (QEMU trace pci_nvme_io_cmd)"
# Let QEMU's log catch up with the last commands.
sleep 1
tail -n +"$((mark + 1))" "$trace" | awk '
	/pci_nvme_io_cmd/ {
		sq = ""; op = ""
		for (i = 1; i < NF; i++) {
			if ($i == "sqid") sq = $(i + 1)
			if ($i == "opc") op = $(i + 1)
		}
		n[sq " " op]++
	}
	END { for (k in n) print k, n[k] }' | sort -n >/tmp/trace.count
# No process substitution: the guest has no /dev/fd.
grep '^EVIDENCE writes ' /tmp/qid_smoke.log >/tmp/evidence.writes || true
grep '^EVIDENCE exhaust ' /tmp/qid_smoke.log >/tmp/evidence.exhaust || true
# writes: sqid count (opcode 0x1)
awk '$2 == "0x1" { print $1, $3 }' /tmp/trace.count >/tmp/trace.writes
bad=0
while read -r _ _ qidf nf; do
	qid=${qidf#qid=} n=${nf#n=}
	got=$(awk -v q="$qid" '$1 == q { print $2 }' /tmp/trace.writes)
	if [ "${got:-0}" != "$n" ]; then
		echo "  qid $qid: qid_smoke steered $n writes to it, the controller saw ${got:-0}"
		bad=1
	fi
done </tmp/evidence.writes
steered=$(wc -l </tmp/evidence.writes)
[ "$steered" = "$total" ] || fail "qid_smoke reported writes for $steered queues, want $total"
all_writes=$(awk '{ s += $2 } END { print s + 0 }' /tmp/trace.writes)
want_writes=$(awk -F'n=' '{ s += $2 } END { print s + 0 }' /tmp/evidence.writes)
[ "$all_writes" = "$want_writes" ] || { echo "  $all_writes writes traced, $want_writes steered"; bad=1; }
[ "$bad" = 0 ] || fail "the controller saw writes on other queues than they were steered to"
echo "  writes per NVMe queue id (sqid count): $(tr '\n' ';' </tmp/trace.writes)"
while read -r _ _ qidf readsf _; do
	qid=${qidf#qid=} n=${readsf#reads=} n=${n%:}
	got=$(awk -v q="$qid" '$1 == q && $2 == "0x2" { print $3 }' /tmp/trace.count)
	[ "${got:-0}" -ge "$n" ] || fail "qid $qid: $n reads completed in the exhaustion test, the controller saw ${got:-0}"
	echo "  qid $qid: exhaustion test completed $n reads, the controller saw ${got:-0} reads on it"
done </tmp/evidence.exhaust
pass "each of the $total NVMe queues received exactly the writes steered to it"

step "timeout handler covers the polled queues"
tq=$(sed -n 's/^EVIDENCE timeout qid=\([0-9]*\):.*/\1/p' /tmp/qid_smoke.log)
[ -n "$tq" ] || fail "qid_smoke ran no timeout test"
dmesg | grep -E "QID $tq timeout" || fail "no 'QID $tq timeout' in dmesg: the timeout handler did not see the unpolled command"
dmesg | grep -qE "QID $tq timeout, completion polled" || fail "the timeout on QID $tq was not resolved by polling"
pass "an unpolled command on QID $tq was completed by nvme_timeout"

pass "kernel_qid"
