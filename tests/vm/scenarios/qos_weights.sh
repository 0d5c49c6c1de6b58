#!/usr/bin/env bash
# Weights share the backend among tenants of one class when they compete:
# two throughput tenants both running fio at QD128 (more than the daemon
# keeps at the backend per class) get IOPS in the ratio of their weights,
# 300:100 -> 3 +-25%; after a reload to 100:100 the ratio is 1 +-25%.
# The emulated SSD is capped so that it, not the VM's CPUs, is the
# bottleneck: requests then queue in the daemon, where weights act.
# vm-nvme-iops: 600
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/qos_weights.conf
policy() { # WEIGHT-A WEIGHT-B
	cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );
tenants = (
  { name = "heavy"; backend = "nvme"; size = "256M"; class = "throughput"; depth = 128; weight = $1; },
  { name = "light"; backend = "nvme"; size = "256M"; class = "throughput"; depth = 128; weight = $2; }
);
CONF
}
policy 300 100
start_daemon "$cfg"
cd "$DDUBLK_OUT"

# compete LABEL: both tenants at QD128 for 10 s; prints "heavy light" IOPS.
compete() {
	fio --direct=1 --ioengine=libaio --rw=randread --bs=4k --iodepth=128 --time_based \
		--runtime=10 --group_reporting=0 --output-format=json --output="$1.json" \
		--name=heavy --filename="$(tenant_get heavy device)" \
		--name=light --filename="$(tenant_get light device)" >"$1.log" 2>&1 ||
		fail "fio $1 failed: $(tail -5 "$1.log")"
	jq -r '[.jobs[] | .read.iops | floor] | join(" ")' "$1.json"
}

ratio_ok() { # HEAVY LIGHT WANT: heavy/light within 25% of WANT
	[ "$2" -gt 0 ] && [ $(($1 * 100)) -ge $(($3 * 75 * $2)) ] && [ $(($1 * 100)) -le $(($3 * 125 * $2)) ]
}

step "weights 300:100"
read -r h l <<<"$(compete w300)"
echo "heavy $h IOPS, light $l IOPS, ratio $((h * 100 / l))%"
# Only a saturated SSD makes requests wait in the daemon, where weights act.
[ $((h + l)) -ge 480 ] || fail "the two got only $((h + l)) IOPS of the SSD's 600: the VM, not the SSD, was the bottleneck"
ratio_ok "$h" "$l" 3 || fail "weights 300:100 gave $h:$l IOPS"
pass "weights 300:100 share the backend 3:1"

step "reload to 100:100"
policy 100 100
ublk-ctl reload || fail "reload failed"
read -r h l <<<"$(compete w100)"
echo "heavy $h IOPS, light $l IOPS, ratio $((h * 100 / l))%"
ratio_ok "$h" "$l" 1 || fail "weights 100:100 gave $h:$l IOPS"
pass "after the reload the two share evenly"

for t in heavy light; do ublk-ctl del "$t" || fail "del $t failed"; done
stop_daemon
pass "qos_weights"
