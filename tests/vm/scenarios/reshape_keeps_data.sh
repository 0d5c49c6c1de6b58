#!/usr/bin/env bash
# Operator actions never take a tenant's data behind its back (issue 12):
# 1. `reload --force` with a new queues, depth and recovery recreates the
#    device on the same extent with the same uuid: the bytes read back equal.
# 7. del and a forced reload refuse a device that is mounted or open, name
#    the holder and change nothing; once it is free they go ahead.
# 4. a device that cannot be deleted again after a failed create (test hook
#    DDUBLKD_FAULT=stuck-create:NAME) keeps its tenant, listed as failed,
#    and its extent: the next add is placed elsewhere; del then retries.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/reshape.conf
header='daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );'

# policy TENANT...: write the policy file with these tenant entries.
policy() {
	{ echo "$header"; echo "tenants = ("; local IFS=,; echo "$*"; echo ");"; } >"$cfg"
}

# refused LABEL REGEX CMD...: CMD exits 1 and its stderr matches REGEX.
refused() {
	local label=$1 re=$2 rc=0; shift 2
	"$@" >/tmp/out 2>/tmp/err || rc=$?
	echo "  $(head -c 600 /tmp/err)"
	[ "$rc" = 1 ] || fail "$label: '$*' exited $rc, expected 1 (refused)"
	grep -Eq -- "$re" /tmp/err || fail "$label: the error does not match '$re'"
}

# no_overlap: no two tenants of list --json share a byte of the backend.
no_overlap() {
	ublk-ctl list --json | jq -e 'sort_by(.offset) | [range(1; length) as $i
		| .[$i - 1].offset + .[$i - 1].size <= .[$i].offset] | all' >/dev/null ||
		{ ublk-ctl list; fail "$1: two tenants overlap"; }
}

a1='{ name = "a"; backend = "nvme"; size = "64M"; }'
a2='{ name = "a"; backend = "nvme"; size = "64M"; queues = 2; depth = 32; recovery = false; }'
b1='{ name = "b"; backend = "nvme"; size = "32M"; }'
b2='{ name = "b"; backend = "nvme"; size = "32M"; depth = 16; }'
policy "$a1" "$b1"
DDUBLKD_FAULT=stuck-create:stuck start_daemon "$cfg"

step "1: reload --force with new queues, depth and recovery keeps a's data"
dev_a=$(tenant_get a device)
write_random "$dev_a" 64M /tmp/a.bin
uuid_a=$(tenant_get a uuid)
off_a=$(tenant_num a offset)
policy "$a2" "$b1"
refused "reshape without --force" 'needs --force' ublk-ctl reload
ublk-ctl reload --force | tee /tmp/reload
grep -q '^! tenant "a".*same extent, data kept' /tmp/reload || fail "reload does not say a keeps its data"
[ "$(tenant_get a uuid)" = "$uuid_a" ] || fail "a's uuid changed: $uuid_a -> $(tenant_get a uuid)"
[ "$(tenant_num a offset)" = "$off_a" ] || fail "a moved: offset $off_a -> $(tenant_get a offset)"
[ "$(tenant_num a queues)/$(tenant_num a depth)/$(tenant_get a recovery)" = 2/32/false ] ||
	fail "a's shape is $(tenant_get a queues)/$(tenant_get a depth)/$(tenant_get a recovery), expected 2/32/false"
[ "$(tenant_get a state)" = live ] || fail "a is $(tenant_get a state) after the reshape"
dev_a=$(tenant_get a device)
[ -b "$dev_a" ] || fail "a's device $dev_a is not a block device"
[ "$(cat "/sys/block/${dev_a#/dev/}/mq/"*/nr_tags | { head -n 1; cat >/dev/null; })" = 32 ] ||
	fail "$dev_a does not have depth 32: $(cat "/sys/block/${dev_a#/dev/}/mq/"*/nr_tags)"
[ "$(checksum "$dev_a")" = "$(checksum /tmp/a.bin)" ] || fail "a's data changed across the reshape"
grep -q 'tenant "a": .* recreated on the same extent, uuid and data kept' "$DDUBLKD_LOG" ||
	fail "the log does not say how a was recreated"
pass "a recreated with 2 queues x depth 32, recovery off: same uuid, offset and bytes"

step "7: a mounted device is neither deleted nor recreated"
dev_b=$(tenant_get b device)
uuid_b=$(tenant_get b uuid)
mkfs.ext4 -q -F "$dev_b" || fail "mkfs.ext4 $dev_b failed"
mkdir -p /run/mnt-b
mount -t ext4 "$dev_b" /run/mnt-b || fail "mount $dev_b failed"
echo hello >/run/mnt-b/file && sync
refused "del of a mounted tenant" 'in use: mounted at /run/mnt-b.*nothing was changed' ublk-ctl del b
policy "$a2" "$b2"
refused "reload --force recreating a mounted tenant" \
	'tenant "b" would be recreated.*mounted at /run/mnt-b.*nothing was changed' ublk-ctl reload --force
policy "$a2"
refused "reload --force removing a mounted tenant" \
	'tenant "b" would be deleted.*mounted at /run/mnt-b.*nothing was changed' ublk-ctl reload --force
[ "$(tenant_get b uuid)" = "$uuid_b" ] && [ "$(tenant_get b device)" = "$dev_b" ] &&
	[ "$(tenant_get b state)" = live ] || fail "b changed although every request was refused"
[ "$(cat /run/mnt-b/file)" = hello ] || fail "the file system on b lost its file"
echo more >>/run/mnt-b/file && sync || fail "the file system on b no longer takes writes"
umount /run/mnt-b || fail "umount /run/mnt-b failed"
pass "del, and reload --force to recreate or remove it, refused while mounted; the fs still works"

step "7: a device held open by a process is not deleted; nobody's is"
sleep 600 3<"$dev_a" &
holder=$!
refused "del of an open tenant" "in use: opened by pid $holder \\(sleep\\)" ublk-ctl del a
[ "$(tenant_get a state)" = live ] || fail "a changed although the del was refused"
kill "$holder"; wait "$holder" 2>/dev/null || true
[ "$(checksum "$dev_a")" = "$(checksum /tmp/a.bin)" ] || fail "a's data changed"
policy "$a2" "$b2"
ublk-ctl reload --force || fail "reload --force of b, unmounted, failed"
[ "$(tenant_get b uuid)" = "$uuid_b" ] && [ "$(tenant_num b depth)" = 16 ] ||
	fail "b was not recreated in place: uuid $(tenant_get b uuid), depth $(tenant_get b depth)"
mount -t ext4 "$(tenant_get b device)" /run/mnt-b || fail "b's file system does not mount after the reshape"
[ "$(cat /run/mnt-b/file)" = "hello
more" ] || fail "b's file reads '$(cat /run/mnt-b/file)' after the reshape"
umount /run/mnt-b
pass "refused while open (holder named), done once free: b's file system survived its reshape"

step "4: a device whose rollback fails keeps its tenant and extent"
refused "add whose device is stuck" 'deleting it again failed.*kept \(state failed\)' \
	ublk-ctl add --name stuck --backend nvme --size 64M
grep -q 'DDUBLKD_FAULT=stuck-create:stuck' "$DDUBLKD_LOG" || fail "the fault hook did not fire"
[ "$(tenant_get stuck state)" = failed ] || fail "stuck is '$(tenant_get stuck state)' in list, expected failed"
ublk-ctl list | grep -E '^stuck +.* failed ' || fail "ublk-ctl list does not show stuck as failed"
off_s=$(tenant_num stuck offset)
dev=$(ublk-ctl add --name next --backend nvme --size 64M) || fail "add next failed"
off_n=$(tenant_num next offset)
echo "  stuck at $off_s, next at $off_n"
no_overlap "after the stuck add"
write_random "$dev" 1M /tmp/next.bin
ublk-ctl del stuck || fail "del stuck (its device can go now) failed"
[ -z "$(tenant_get stuck name)" ] || fail "stuck still listed after del"
ublk-ctl del next || fail "del next failed"
pass "stuck kept (failed) with extent $off_s; next placed at $off_n; del retried and worked"

step "the tables agree after a restart"
tenants_json >/tmp/before.json
stop_daemon
start_daemon "$cfg"
tenants_json >/tmp/after.json
diff /tmp/before.json /tmp/after.json || fail "tenants differ after the restart"
[ "$(checksum "$(tenant_get a device)")" = "$(checksum /tmp/a.bin)" ] || fail "a's data changed"
stop_daemon
pass "reshape_keeps_data"
