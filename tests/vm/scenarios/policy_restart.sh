#!/usr/bin/env bash
# Tenants described in a policy file, filled with data, survive every kind
# of restart byte for byte and on the same extents, with the same uuid,
# class and limits: a clean stop (SIGTERM), a crash (SIGKILL), and a start
# with a policy that no longer names one of them (the backend's tenant
# table is the record; the policy only adds).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/policy_restart.conf
write_policy() { # [extra tenant entries]
	cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = (
  { name = "nvme"; path = "/dev/nvme0n1"; },
  { name = "img"; path = "/run/pool.img"; size = "160M"; reserved = "2M"; }
);
tenants = (
  { name = "lat"; backend = "nvme"; size = "96M"; class = "latency"; iops_limit = 50000; queues = 2; },
  { name = "thr"; backend = "nvme"; size = "128M"; class = "throughput"; bw_limit = "400M"; weight = 200; },
  { name = "onimg"; backend = "img"; size = "100M"; depth = 32; recovery = false; }
  $1
);
CONF
}
write_policy ', { name = "be"; backend = "nvme"; size = "64M"; }'
names="lat thr onimg be"

start_daemon "$cfg"
ublk-ctl list
step "fill every tenant with random data"
declare -A sum
for t in $names; do
	[ "$(tenant_get "$t" state)" = live ] || fail "$t is not live"
	write_random "$(tenant_get "$t" device)" "$(tenant_num "$t" size)" "/tmp/$t.bin"
	sum[$t]=$(checksum "/tmp/$t.bin")
done
[ "$(tenant_get lat class)" = latency ] || fail "lat's class is $(tenant_get lat class)"
[ "$(tenant_num thr weight)" = 200 ] || fail "thr's weight is $(tenant_get thr weight)"
[ "$(tenant_get onimg recovery)" = false ] || fail "onimg's recovery is $(tenant_get onimg recovery)"
[ "$(tenant_num onimg offset)" = $((2 << 20)) ] || fail "onimg starts at $(tenant_get onimg offset), not after the 2 MiB reserved"
tenants_json >/tmp/before.json

# verify WHEN: same tenants (uuid, extent, class, limits...), same bytes.
verify() {
	ublk-ctl list
	tenants_json >/tmp/after.json
	diff /tmp/before.json /tmp/after.json || fail "$1: the tenants differ"
	for t in $names; do
		[ "$(tenant_get "$t" state)" = live ] || fail "$1: $t is not live"
		[ "$(checksum "$(tenant_get "$t" device)")" = "${sum[$t]}" ] || fail "$1: $t's data differs"
	done
	[ "$(ublk_devices | wc -l)" = 4 ] || fail "$1: $(ublk_devices | wc -l) ublk devices, expected 4"
}

step "SIGTERM and start again"
stop_daemon
start_daemon "$cfg"
verify "after SIGTERM"
pass "a clean restart keeps every tenant and byte"

step "SIGKILL and start again"
kill -KILL "$DDUBLKD_PID"
reap_killed_daemon
start_daemon "$cfg"
verify "after SIGKILL"
pass "a crash keeps every tenant and byte"

step "start with a policy that no longer names 'be': the table keeps it"
stop_daemon
write_policy ""
start_daemon "$cfg"
verify "with 'be' gone from the policy"
pass "the tenant table, not the policy, decides what exists"

for t in $names; do ublk-ctl del "$t" || fail "del $t failed"; done
stop_daemon
pass "policy_restart"
