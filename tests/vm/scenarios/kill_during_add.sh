#!/usr/bin/env bash
# ddublkd killed with SIGKILL in the middle of adding (or deleting) a tenant
# comes back with a consistent tenant table: every tenant it lists is live,
# holds its extent and no other's, and no ublk device is left over. Named
# crash points (DDUBLKD_CRASH_AT, a test hook) hit each step of an add and
# of a delete. With "--random N" (the soak suite runs it with 12), N
# rounds of SIGKILLs at random moments during a burst of adds instead.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

rounds=0
if [ "${1:-}" = --random ]; then
	[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || fail "usage: kill_during_add [--random ROUNDS]"
	rounds=$2
fi

cfg=/run/kill_during_add.conf
cat >"$cfg" <<'CONF'
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );
tenants = ( { name = "base"; backend = "nvme"; size = "64M"; } );
CONF

# consistent WHEN: every listed tenant is live with a device of its size,
# extents do not overlap, one device per tenant, base's data intact.
consistent() {
	local n devs t
	ublk-ctl list
	n=$(ublk-ctl list --json | jq length)
	devs=$(ublk_devices | wc -l)
	[ "$devs" = "$n" ] || fail "$1: $devs ublk devices for $n tenants: $(ublk_devices | tr '\n' ' ')"
	for t in $(ublk-ctl list --json | jq -r '.[].name'); do
		[ "$(tenant_get "$t" state)" = live ] || fail "$1: $t is $(tenant_get "$t" state)"
		[ "$(blockdev --getsize64 "$(tenant_get "$t" device)")" = "$(tenant_num "$t" size)" ] ||
			fail "$1: $t's device is not its size"
	done
	ublk-ctl list --json | jq -e 'sort_by(.offset) | [range(1; length) as $i |
		.[$i - 1].offset + .[$i - 1].size <= .[$i].offset] | all' >/dev/null ||
		fail "$1: extents overlap"
	[ "$(checksum "$(tenant_get base device)")" = "$base_sum" ] || fail "$1: base's data changed"
}

start_crashing() { # POINT
	export DDUBLKD_CRASH_AT=$1
	start_daemon "$cfg"
	unset DDUBLKD_CRASH_AT
}

start_daemon "$cfg"
write_random "$(tenant_get base device)" 64M /tmp/base.bin
base_sum=$(checksum /tmp/base.bin)
stop_daemon

# random_kills: the soak part; the crash points below are the default.
random_kills() {
	local round i t burst
	step "SIGKILL at random moments during a burst of adds, $rounds rounds"
	for round in $(seq 1 "$rounds"); do
		start_daemon "$cfg"
		( for i in 1 2 3 4; do ublk-ctl add --name "r$round-$i" --backend nvme --size 8M >/dev/null 2>&1 || true; done ) &
		burst=$!
		sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
		kill -KILL "$DDUBLKD_PID"
		wait "$burst" || true
		reap_killed_daemon
		start_daemon "$cfg"
		consistent "round $round"
		echo "round $round: $(ublk-ctl list --json | jq -r '[.[].name] | join(" ")')"
		for t in $(ublk-ctl list --json | jq -r '.[].name | select(. != "base")'); do
			ublk-ctl del "$t" || fail "round $round: del $t failed"
		done
		stop_daemon
	done
	pass "random SIGKILLs during adds never leave an inconsistent table"
}
if [ "$rounds" -gt 0 ]; then
	random_kills
	pass "kill_during_add --random $rounds"
	exit 0
fi

for point in add-recorded add-started; do
	step "SIGKILL at $point of an add"
	start_crashing "$point"
	rc=0; ublk-ctl add --name victim --backend nvme --size 32M 2>/tmp/err || rc=$?
	[ "$rc" = 3 ] || fail "$point: add exited $rc, expected 3 (daemon gone): $(cat /tmp/err)"
	reap_killed_daemon
	grep -q "DDUBLKD_CRASH_AT=$point" "$DDUBLKD_LOG" || fail "$point: the crash point was not reached"
	start_daemon "$cfg"
	consistent "after a crash at $point"
	# The add was recorded before the crash: the tenant is there and works.
	[ "$(tenant_get victim state)" = live ] || fail "$point: victim is not back"
	dev=$(tenant_get victim device)
	write_random "$dev" 32M /tmp/victim.bin
	[ "$(checksum "$dev")" = "$(checksum /tmp/victim.bin)" ] || fail "$point: victim does not hold its data"
	ublk-ctl del victim || fail "$point: del victim failed"
	consistent "after deleting victim"
	stop_daemon
	pass "a crash at $point leaves a consistent table and a working tenant"
done

step "SIGKILL after a delete stopped the device: the tenant comes back whole"
start_daemon "$cfg"
dev=$(ublk-ctl add --name victim --backend nvme --size 32M) || fail "add victim failed"
write_random "$dev" 32M /tmp/victim.bin
stop_daemon
start_crashing del-stopped
rc=0; ublk-ctl del victim 2>/tmp/err || rc=$?
[ "$rc" = 3 ] || fail "del-stopped: del exited $rc, expected 3: $(cat /tmp/err)"
reap_killed_daemon
start_daemon "$cfg"
consistent "after a crash at del-stopped"
[ "$(checksum "$(tenant_get victim device)")" = "$(checksum /tmp/victim.bin)" ] ||
	fail "del-stopped: victim's data changed"
ublk-ctl del victim || fail "del victim failed"
stop_daemon
pass "a delete cut short leaves the tenant and its data"

pass "kill_during_add"
