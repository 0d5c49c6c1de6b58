#!/usr/bin/env bash
# Ten ublk-ctl processes at once, adding and deleting tenants (and racing
# for the same names): the daemon serves them one request at a time, so
# the tenants it lists at the end are exactly those whose add succeeded
# and whose del did not, and one of each racing pair of adds wins.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/concurrent_ctl.conf
cat >"$cfg" <<'CONF'
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "warn"; };
backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );
CONF
start_daemon "$cfg"
mkdir -p /run/ctl

# client N: adds own tenants c<N>-1..4, deletes c<N>-1 and c<N>-3, and races
# everyone for "shared<N % 3>"; logs "add|del NAME ok|fail" lines.
client() {
	local n=$1 log=/run/ctl/$1.log j
	for j in 1 2 3 4; do
		if ublk-ctl add --name "c$n-$j" --backend nvme --size 4M >/dev/null 2>&1; then
			echo "add c$n-$j ok"; else echo "add c$n-$j fail"; fi
	done >>"$log"
	if ublk-ctl add --name "shared$((n % 3))" --backend nvme --size 4M >/dev/null 2>&1; then
		echo "add shared$((n % 3)) ok"; else echo "add shared$((n % 3)) fail"; fi >>"$log"
	for j in 1 3; do
		if ublk-ctl del "c$n-$j" 2>/dev/null; then echo "del c$n-$j ok"; else echo "del c$n-$j fail"; fi
	done >>"$log"
}

step "ten clients at once"
pids=()
for n in $(seq 1 10); do client "$n" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
cat /run/ctl/*.log | sort | uniq -c | sort -rn | head -5

step "the end state is what the successful requests say"
expected=$(cat /run/ctl/*.log | awk '$3 == "ok" && $1 == "add" { live[$2] = 1 } $3 == "ok" && $1 == "del" { delete live[$2] }
	END { for (t in live) print t }' | sort)
actual=$(ublk-ctl list --json | jq -r '.[].name' | sort)
echo "$expected" >/tmp/expected
echo "$actual" >/tmp/actual
diff /tmp/expected /tmp/actual || fail "listed tenants differ from the successful requests"
for s in 0 1 2; do
	wins=$(grep -h "^add shared$s ok" /run/ctl/*.log | wc -l)
	[ "$wins" = 1 ] || fail "shared$s was added $wins times"
done
[ "$(grep -h '^add c' /run/ctl/*.log | grep -c fail)" = 0 ] || fail "an add of a unique name failed"
[ "$(ublk_devices | wc -l)" = "$(echo "$actual" | wc -l)" ] || fail "$(ublk_devices | wc -l) devices for $(echo "$actual" | wc -l) tenants"
ublk-ctl list --json | jq -e 'sort_by(.offset) | [range(1; length) as $i |
	.[$i - 1].offset + .[$i - 1].size <= .[$i].offset] | all' >/dev/null || fail "extents overlap"
pass "$(echo "$actual" | wc -l) tenants, exactly the successful adds minus the successful dels"

for t in $actual; do ublk-ctl del "$t" || fail "del $t failed"; done
stop_daemon
pass "concurrent_ctl"
