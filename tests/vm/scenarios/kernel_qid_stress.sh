#!/usr/bin/env bash
# Stress for the kernel half of NVMe queue steering (patches/linux-6.1,
# issue 6 item 5), with no daemon: on the patched kernel with 64 hardware
# queues of 15 tags each (nvme.io_queue_depth=16), 4 tenants
# (tests/vm/tools/qid_stress threads, each in its own extent and on its own
# 16 queues) keep 64 steered commands each in flight for 5 minutes, half of
# them on one hot polled queue, so tag exhaustion (-EAGAIN) is constant.
# Passes if no command fails, every read shows what its tenant last wrote
# there (and a final read-back of every extent does), every queue carried
# commands, -EAGAIN did happen, no tag is left busy and the kernel log has
# no hung task or warning (guest-init checks that).
# Arguments: [SECONDS [TENANTS [QD]]] (default 300 4 64).
# vm-needs-daemon: no
# vm-cmdline: nvme.io_queue_depth=16
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

step "qid_stress: $tenants tenants, QD $qd each, $secs s, on $nr_mq queues"
rc=0
# Straight into out/: if the kernel hangs, what got that far is kept.
log=$DDUBLK_OUT/qid_stress.log
"$tool" /dev/ng0n1 nvme0n1 "$secs" "$tenants" "$qd" >"$log" 2>&1 || rc=$?
cat "$log"
[ "$rc" = 0 ] || fail "qid_stress exited $rc"
total=$(sed -n 's/^total: [0-9]* commands in [0-9]*s, \([0-9]*\) -EAGAIN.*/\1/p' "$log")
[ "${total:-0}" -gt 0 ] || fail "no -EAGAIN at all: the tags were never exhausted"
pass "kernel_qid_stress: $(grep '^total:' "$log")"
