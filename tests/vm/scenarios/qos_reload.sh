#!/usr/bin/env bash
# QoS limits hold and change live: fio (4 KiB random reads, QD16) on a
# tenant with iops_limit = 1000 gets 1000 IOPS +-20%; after a reload to 400
# under load, fio gets 400 +-20% from 2 s after the reload on, without an
# I/O error; a reload to bw_limit = 3 MiB/s (no IOPS limit) gives 768 4 KiB
# IOPS +-20%.
# An unlimited tenant runs first, to show the limits are not the VM's speed.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/qos_reload.conf
policy() { # QOS-KEYS
	cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );
tenants = (
  { name = "free"; backend = "nvme"; size = "256M"; },
  { name = "q"; backend = "nvme"; size = "256M"; $1 }
);
CONF
}
policy 'iops_limit = 1000;'
start_daemon "$cfg"
cd "$DDUBLK_OUT"

# fio_iops DEV SECONDS LABEL: 4 KiB random reads at QD16; prints mean IOPS.
fio_iops() {
	fio --name="$3" --filename="$1" --direct=1 --ioengine=libaio --rw=randread --bs=4k \
		--iodepth=16 --time_based --runtime="$2" --output-format=json --output="$3.json" \
		>"$3.log" 2>&1 || fail "fio $3 failed: $(tail -5 "$3.log")"
	jq '.jobs[0].read.iops | floor' "$3.json"
}

within() { # VALUE TARGET PERCENT
	[ "$1" -ge $(($2 * (100 - $3) / 100)) ] && [ "$1" -le $(($2 * (100 + $3) / 100)) ]
}

step "an unlimited tenant: what the VM can do"
free_iops=$(fio_iops "$(tenant_get free device)" 5 free)
echo "unlimited: $free_iops IOPS"
[ "$free_iops" -ge 1500 ] || fail "the VM manages only $free_iops IOPS unlimited; the limits below would not be tested"

step "fio on q (iops_limit 1000), then reloads to 400 IOPS and to 3 MiB/s under load"
dev=$(tenant_get q device)
# What fio achieves, read off the device's completed-reads counter with the
# same clock as the reloads (fio's own log starts at a moment of its own).
snap() { echo "$(date +%s%N) $(awk '{ print $1 }' "/sys/block/$(basename "$dev")/stat")"; }
rate() { # SNAP-A SNAP-B: reads per second between them
	local ta ra tb rb
	read -r ta ra <<<"$1"
	read -r tb rb <<<"$2"
	echo $(((rb - ra) * 1000000000 / (tb - ta)))
}
fio_iops "$dev" 40 q >/dev/null &
fio_pid=$!
r0=$(snap)
for ((i = 0; i < 300; i++)); do [ "$(snap | cut -d' ' -f2)" = "${r0#* }" ] || break; sleep 0.1; done
sleep 2 # past the first second's burst
a=$(snap); sleep 4; b=$(snap)
policy 'iops_limit = 400;'
ublk-ctl reload || fail "reload to 400 IOPS failed"
sleep 2; c=$(snap); sleep 4; d=$(snap)
policy 'bw_limit = "3M";'
ublk-ctl reload || fail "reload to 3 MiB/s failed"
sleep 2; e=$(snap); sleep 4; f=$(snap)
kill -INT "$fio_pid" 2>/dev/null || true
wait "$fio_pid" || fail "fio on q failed: $(tail -5 q.log)"
[ "$(jq '.jobs[0].error' q.json)" = 0 ] || fail "fio reports an error: $(jq '.jobs[0].error' q.json)"
before=$(rate "$a" "$b")
after=$(rate "$c" "$d")
bw=$(rate "$e" "$f")
echo "iops_limit 1000: $before IOPS; iops_limit 400 (from 2 s after the reload): $after IOPS;" \
	"bw_limit 3 MiB/s: $bw IOPS of 4 KiB (target 768)"
within "$before" 1000 20 || fail "with iops_limit 1000 fio got $before IOPS"
within "$after" 400 20 || fail "from 2 s after the reload to 400, fio got $after IOPS"
within "$bw" 768 20 || fail "with bw_limit 3 MiB/s fio got $bw IOPS of 4 KiB ($((bw * 4)) KiB/s)"
grep -q 'tenant "q": now class besteffort, iops_limit 400' "$DDUBLKD_LOG" || fail "the daemon did not log the new limit"
pass "limits hold within 20% and a reload takes effect within 2 s under load"

for t in free q; do ublk-ctl del "$t" || fail "del $t failed"; done
stop_daemon
pass "qos_reload"
