#!/usr/bin/env bash
# A reservation holds under contention, is lent when unused, and a
# tenant's objectives show in `ublk-ctl stats`. The emulated SSD is capped
# at 600 IOPS and the policy's cost model says so (cost_read_iops = 600),
# so requests queue in the daemon, where the scheduler orders them.
# Two throughput tenants at QD128 compete with "resv" at QD8: by arrival
# resv gets a few % of the SSD. A live reload gives it min_iops = 300
# (half the SSD): it then gets at least 80% of that, the SSD stays as busy,
# and with resv idle the other two get the SSD back. A reservation past
# 90% of the modelled device is refused and changes nothing.
# vm-nvme-iops: 600
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/slo_reserve.conf
policy() { # RESV_MIN_IOPS [T1_MIN_IOPS]
	cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
scheduler = { mode = "daredevil"; cost_read_iops = 600; cost_write_iops = 600; };
backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );
tenants = (
  { name = "resv"; backend = "nvme"; size = "256M"; class = "throughput"; depth = 8; min_iops = $1; latency_target_us = 200000; },
  { name = "t1"; backend = "nvme"; size = "256M"; class = "throughput"; depth = 128; min_iops = ${2:-0}; },
  { name = "t2"; backend = "nvme"; size = "256M"; class = "throughput"; depth = 128; }
);
CONF
}
policy 0
start_daemon "$cfg"
cd "$DDUBLK_OUT"

# compete LABEL JOB...: 4 KiB random reads for 10 s, resv at QD8, the others
# at QD128; prints each job's IOPS in the order given.
compete() {
	local label=$1 args=() j
	shift
	for j in "$@"; do
		args+=(--name="$j" --filename="$(tenant_get "$j" device)"
			--iodepth="$([ "$j" = resv ] && echo 8 || echo 128)")
	done
	fio --direct=1 --ioengine=libaio --rw=randread --bs=4k --time_based --runtime=10 \
		--group_reporting=0 --output-format=json --output="$label.json" "${args[@]}" \
		>"$label.log" 2>&1 || fail "fio $label failed: $(tail -5 "$label.log")"
	jq -r '[.jobs[] | .read.iops | floor] | join(" ")' "$label.json"
}

step "no reservation: resv gets what arrival order gives it"
read -r r0 a0 b0 <<<"$(compete none resv t1 t2)"
tot0=$((r0 + a0 + b0))
echo "resv $r0, t1 $a0, t2 $b0 IOPS (total $tot0)"
[ "$tot0" -ge 480 ] || fail "the three got only $tot0 IOPS of the SSD's 600: the VM, not the SSD, was the bottleneck"
[ "$r0" -lt 150 ] || fail "resv already got $r0 IOPS without a reservation: the check below would prove nothing"
pass "without a reservation resv gets $r0 IOPS"

step "reload: resv reserves 300 IOPS"
policy 300
ublk-ctl reload >reload.out 2>&1 || fail "reload failed: $(cat reload.out)"
grep -q 'min_iops' reload.out || fail "the reload did not report the change: $(cat reload.out)"
compete reserved resv t1 t2 >reserved.iops &
fio_pid=$!
sleep 6 # mid-run: the last whole second was under contention
ublk-ctl stats --json >during.json || fail "stats failed"
ublk-ctl stats >during.txt || fail "stats failed"
wait "$fio_pid" || fail "fio failed"
read -r r1 a1 b1 <reserved.iops
tot1=$((r1 + a1 + b1))
echo "resv $r1, t1 $a1, t2 $b1 IOPS (total $tot1)"
[ "$r1" -ge 240 ] || fail "resv got $r1 IOPS of the 300 it reserved"
[ $((tot1 * 100)) -ge $((tot0 * 85)) ] || fail "the SSD served $tot1 IOPS with the reservation, $tot0 without"
pass "resv gets $r1 of its 300 reserved IOPS; the SSD serves $tot1 (was $tot0)"

step "stats show the objectives (taken mid-run)"
S='.tenants[] | select(.name == "resv") | .slo'
[ "$(jq "$S.reserved_iops" during.json)" = 300 ] || fail "reserved_iops: $(jq -c "$S" during.json)"
[ "$(jq "$S.target_us" during.json)" = 200000 ] || fail "target_us: $(jq -c "$S" during.json)"
jq -e "$S | .reserved_pct > 49 and .reserved_pct < 51" during.json >/dev/null ||
	fail "reserved_pct of 300 of 600 IOPS: $(jq -c "$S" during.json)"
# the last whole second: resv used about its reservation, and its p99 was measured
jq -e "$S | .used_iops >= 200 and .used_pct > 30 and .p99_us > 0 and .intervals >= 3" during.json >/dev/null ||
	fail "resv's last second: $(jq -c "$S" during.json)"
[ "$(jq '.tenants[] | select(.name == "t1") | .slo.target_us' during.json)" = 0 ] ||
	fail "t1 has no target: $(jq -c '.tenants[] | select(.name == "t1") | .slo' during.json)"
grep -Eq '^resv +200(\.0)?ms +[0-9.]+[mu]s +[0-9]+/[0-9]+ +300 IOPS' during.txt || fail "no SLO row for resv: $(cat during.txt)"
! grep -Eq '^t1 +[0-9.]+[mu]?s +' <(sed -n '/^NAME  *TARGET/,/^$/p' during.txt) || fail "t1 has an SLO row: $(cat during.txt)"
sed -n '/^NAME  *TARGET/,/^$/p' during.txt
pass "stats: resv's target, reservation (50% of the device) and use"

step "unused, the reservation is lent"
read -r a2 b2 <<<"$(compete idle t1 t2)"
echo "t1 $a2, t2 $b2 IOPS with resv idle"
[ $(((a2 + b2) * 100)) -ge $((tot0 * 85)) ] || fail "with resv idle the others got $((a2 + b2)) IOPS, the three $tot0 before"
pass "with resv idle, t1 and t2 get $((a2 + b2)) IOPS"

step "a reservation past 90% of the device is refused, nothing changes"
policy 580
if ublk-ctl reload >bad.out 2>&1; then fail "a 97% reservation was accepted: $(cat bad.out)"; fi
grep -q 'reservations on backend "nvme"' bad.out || fail "refusal does not say why: $(cat bad.out)"
ublk-ctl stats --json >after.json || fail "stats failed"
[ "$(jq "$S.reserved_iops" after.json)" = 300 ] || fail "the refused reload changed resv: $(jq -c "$S" after.json)"
pass "refused: $(head -1 bad.out)"

step "ublk-ctl add: a reservation that does not fit with resv's is refused, nothing created"
if ublk-ctl add --name extra --backend nvme --size 64M --class throughput --min-iops 300 >refused.out 2>&1; then
	fail "300 + 300 of 600 IOPS (100%) was accepted: $(cat refused.out)"
fi
grep -q 'reservations on backend "nvme" would add up to 100%' refused.out || fail "refusal does not say why: $(cat refused.out)"
! ublk-ctl list | grep -q '^extra ' || fail "the refused add left a tenant: $(ublk-ctl list)"
ublk-ctl add --name extra --backend nvme --size 64M --class throughput --min-iops 200 >add.out 2>&1 ||
	fail "300 + 200 of 600 IOPS (84%) was refused: $(cat add.out)"
ublk-ctl del extra || fail "del extra failed"
pass "add: refused past 90% ($(head -1 refused.out)), accepted within"

step "a reload that swaps reservations is checked as a whole"
# 100 + 400, then 400 + 100: resv's rise comes first, and checked alone against
# t1's 400 it would make 133%; where the reload ends, it is 83%.
policy 100 400
ublk-ctl reload >swap1.out 2>&1 || fail "reload to 100 + 400 failed: $(cat swap1.out)"
policy 400 100
ublk-ctl reload >swap2.out 2>&1 || fail "the swap to 400 + 100 was refused: $(cat swap2.out)"
ublk-ctl stats --json >swap.json || fail "stats failed"
[ "$(jq -c '[.tenants[] | select(.name == "resv" or .name == "t1") | .slo.reserved_iops]' swap.json)" = "[400,100]" ] ||
	fail "after the swap: $(jq -c '[.tenants[] | {name, r: .slo.reserved_iops}]' swap.json)"
pass "the swap applied whole"

for t in resv t1 t2; do ublk-ctl del "$t" || fail "del $t failed"; done
stop_daemon
pass "slo_reserve"
