#!/usr/bin/env bash
# ddublkd with NVMe queue steering (patches/linux-6.1, issue 6): the patched
# kernel, 2 vCPUs, a controller with 64 queue pairs, no possible_cpus.
#  (1) the driver has more queues than CPUs (dmesg "2/0/62", 64 mq dirs);
#  (2) ddublkd probes steering, logs it, reaches all 64 queues without a
#      submitter thread, and `ublk-ctl features` says so;
#  (3) under fio verify on four tenants at once (two latency, two
#      throughput, daredevil), QEMU's trace of every NVMe command shows
#      commands on every one of the 64 submission queues, and every byte
#      written is verified.
# vm-qemu-trace: pci_nvme_io_cmd
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

[ "${DDUBLK_KERNEL:-}" = patched ] || fail "nvme_steer needs the patched kernel (got '${DDUBLK_KERNEL:-}')"

step "(1) the driver's queues"
counts=$(dmesg | grep -oE 'nvme nvme0: [0-9]+/[0-9]+/[0-9]+ default/read/poll queues' | tail -n 1)
nr_mq=$(find /sys/block/nvme0n1/mq -mindepth 1 -maxdepth 1 -name '[0-9]*' | wc -l)
echo "  $counts; $nr_mq hardware queues; $(nproc) CPUs"
[ "$nr_mq" -gt "$(nproc)" ] || fail "$nr_mq hardware queues for $(nproc) CPUs: the series did not lift the cap"
pass "(1) $nr_mq hardware queues on $(nproc) CPUs"

cfg=/run/nvme_steer.conf
cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
scheduler = { mode = "daredevil"; poll = "always"; };  # every queue, polled ones too
backends = ( { name = "ns"; path = "/dev/ng0n1"; } );
tenants = (
  { name = "l1"; backend = "ns"; size = "128M"; queues = 2; class = "latency"; },
  { name = "l2"; backend = "ns"; size = "128M"; queues = 2; class = "latency"; },
  { name = "t1"; backend = "ns"; size = "256M"; queues = 2; class = "throughput"; },
  { name = "t2"; backend = "ns"; size = "256M"; queues = 2; class = "throughput"; }
);
CONF
start_daemon "$cfg"

step "(2) what ddublkd reports"
grep -E 'queue steering|reachable' "$DDUBLKD_LOG" | sed 's/^/  /'
grep -q 'backend "ns": queue steering probe: .* answered 0 (supported)' "$DDUBLKD_LOG" ||
	fail "ddublkd did not find queue steering"
grep -q 'backend "ns": queue steering: every command names its NVMe queue' "$DDUBLKD_LOG" ||
	fail "ddublkd does not log that it steers"
reach=$(log_field 'router nvme0n1: reachable qids: ')
[ "$(wc -w <<<"$reach")" = "$nr_mq" ] || fail "ddublkd reaches qids '$reach', not all $nr_mq"
[ -z "$(ps -L -o comm= -p "$DDUBLKD_PID" | grep '^ddublk-q' || true)" ] ||
	fail "submitter threads (ddublk-qN) running although the kernel steers"
feat=$(ublk-ctl features) || fail "ublk-ctl features failed"
echo "${feat//$'\n'/$'\n'  }" | sed '1s/^/  /'
grep -qx "backend ns (nvme passthrough): queue steering, $nr_mq of $nr_mq NVMe queues reachable (62 polled)" <<<"$feat" ||
	fail "ublk-ctl features does not report steering to all $nr_mq queues"
[ "$(ublk-ctl features --json | jq -r '.backends[0].queue_route')" = steering ] ||
	fail "ublk-ctl features --json: queue_route is not steering"
pass "(2) steering probed and used; all $nr_mq queues reachable, no submitter threads"

step "(3) fio verify on four tenants at once (latency 4k-16k QD16, throughput 4k-256k QD64)"
lbs=$(cat /sys/block/nvme0n1/queue/logical_block_size)
mkdir -p /tmp/fio && cd /tmp/fio
mark=$(trace_mark)
pids=()
for t in l1 l2 t1 t2; do
	dev=$(tenant_get $t device)
	[ -b "$dev" ] || fail "tenant $t has no device ('$dev')"
	case $t in
	l*) opts=(--bssplit=4k/70:16k/30 --iodepth=16 --size=48M) ;;
	t*) opts=(--bssplit=4k/30:64k/30:256k/40 --iodepth=64 --size=128M) ;;
	esac
	fio --name="v$t" --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite \
		"${opts[@]}" --verify=crc32c --do_verify=1 --output-format=json \
		--output="v$t.json" >"v$t.log" 2>&1 &
	pids+=($!)
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || fail "fio verify on tenant $((i + 1)) exited non-zero"
done
for t in l1 l2 t1 t2; do assert_clean "v$t"; done
pass "(3) every byte written on the four tenants verified"

trace_commands "$mark" "$lbs" >/tmp/table
per_q=$(awk '$1 == "all" { print $2, $3 }' /tmp/table | sort -n)
echo "  commands per NVMe queue (sqid count):"
awk '{ printf "%s%s:%s", (NR % 8 == 1 ? "    " : " "), $1, $2 } NR % 8 == 0 { print "" } END { print "" }' <<<"$per_q"
missing=()
for ((q = 1; q <= nr_mq; q++)); do
	n=$(awk -v q="$q" '$1 == q { print $2 }' <<<"$per_q")
	[ "${n:-0}" -gt 0 ] || missing+=("$q")
done
[ ${#missing[@]} = 0 ] || fail "(3) no commands on qid(s) ${missing[*]}"
min=$(awk 'NR == 1 || $2 < m { m = $2 } END { print m }' <<<"$per_q")
total=$(awk '{ s += $2 } END { print s }' <<<"$per_q")
pass "(3) the controller took $total commands, on every one of the $nr_mq queues (at least $min each)"

stop_daemon
grep -E 'router nvme0n1: qid|went again' "$DDUBLKD_LOG" | sed 's/^/  /' | head -n 70
pass "nvme_steer"
