#!/usr/bin/env bash
# A daemon stopped with SIGTERM and started again with the same config
# brings back every tenant on the same backend extent, with its data intact
# byte for byte: the tenant table lives at the start of each backend.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/restart.conf
cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = (
  { name = "nvme"; path = "/dev/nvme0n1"; },
  { name = "img"; path = "/run/pool.img"; size = "256M"; }
);
CONF

# The part of the tenant table that must survive a restart (device numbers
# may change).
extents() {
	ublk-ctl list --json | jq -S 'map({name, backend, offset, size, queues, depth}) | sort_by(.name)'
}

start_daemon "$cfg"
step "add two tenants (one per backend) and fill them"
declare -A dev sum
dev[r_nvme]=$(ublk-ctl add --name r_nvme --backend nvme --size 96M --queues 2) || fail "add r_nvme failed"
dev[r_img]=$(ublk-ctl add --name r_img --backend img --size 64M) || fail "add r_img failed"
for t in r_nvme r_img; do
	[ -b "${dev[$t]}" ] || fail "add $t printed '${dev[$t]}', not a block device"
	write_random "${dev[$t]}" "$(tenant_num "$t" size)" "/tmp/$t.bin"
	sum[$t]=$(checksum "/tmp/$t.bin")
	[ "$(checksum "${dev[$t]}")" = "${sum[$t]}" ] || fail "$t does not read back its data"
done
extents >/tmp/extents.before
cat /tmp/extents.before
[ "$(jq length /tmp/extents.before)" = 2 ] || fail "list --json shows $(jq length /tmp/extents.before) tenants, expected 2"

step "stop the daemon: devices go away, the tenant tables stay"
stop_daemon
for t in r_nvme r_img; do
	wait_gone "${dev[$t]}" 10 || fail "${dev[$t]} still exists after the daemon stopped"
done
for b in /dev/nvme0n1 /run/pool.img; do
	[ "$(head -c 8 "$b")" = DDUBLKTB ] || fail "$b does not start with a tenant table"
done
[ -z "$(ublk_devices)" ] || fail "devices left after stop: $(ublk_devices)"

step "start again with the same config"
start_daemon "$cfg"
ublk-ctl list
extents >/tmp/extents.after
diff /tmp/extents.before /tmp/extents.after || fail "tenants differ after the restart"
for t in r_nvme r_img; do
	[ "$(tenant_get "$t" state)" = live ] || fail "$t is '$(tenant_get "$t" state)' after restart, expected live"
	d=$(tenant_get "$t" device)
	[ -b "$d" ] || fail "$t: device '$d' does not exist after restart"
	[ "$(checksum "$d")" = "${sum[$t]}" ] || fail "$t: data differs after restart"
done
pass "both tenants back on the same extents with their data"

for t in r_nvme r_img; do ublk-ctl del "$t" || fail "del $t failed"; done
stop_daemon
pass "restart_keeps_tenants"
