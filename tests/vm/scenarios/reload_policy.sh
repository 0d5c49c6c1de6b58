#!/usr/bin/env bash
# `ublk-ctl reload` and SIGHUP apply the policy file again: a file that does
# not validate changes nothing and is reported as FILE:LINE: key; --dry-run
# shows the changes without making them; new tenants appear and class/QoS
# changes reach running tenants; removing or resizing a tenant that has data
# is refused without --force and done with it (the freed extent reads back
# zeros); tenants added with `ublk-ctl add` are left alone.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/reload.conf
header='daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );'

# policy TENANT...: write the policy file with these tenant entries.
policy() {
	{ echo "$header"; echo "tenants = ("; local IFS=,; echo "$*"; echo ");"; } >"$cfg"
}

a='{ name = "a"; backend = "nvme"; size = "64M"; class = "latency"; }'
b='{ name = "b"; backend = "nvme"; size = "32M"; class = "throughput"; iops_limit = 5000; }'
policy "$a" "$b"
start_daemon "$cfg"
dev_a=$(tenant_get a device)
dev_b=$(tenant_get b device)
write_random "$dev_a" 64M /tmp/a.bin
write_random "$dev_b" 32M /tmp/b.bin
dev_x=$(ublk-ctl add --name x --backend nvme --size 16M --class besteffort) || fail "add x failed"
write_random "$dev_x" 16M /tmp/x.bin
off_b=$(tenant_num b offset)
tenants_json >/tmp/before.json

# unchanged WHAT: the tenants and their data are exactly as before.
unchanged() {
	tenants_json >/tmp/now.json
	diff /tmp/before.json /tmp/now.json || fail "$1: the tenants changed"
	[ "$(checksum "$dev_a")" = "$(checksum /tmp/a.bin)" ] || fail "$1: a's data changed"
	[ "$(checksum "$dev_b")" = "$(checksum /tmp/b.bin)" ] || fail "$1: b's data changed"
	daemon_alive || fail "$1: ddublkd died"
}

step "a policy that does not validate changes nothing, and says where it is wrong"
cp "$cfg" /run/good.conf
check_broken() { # LABEL EXPECTED-MESSAGE-REGEX
	local rc=0
	ublk-ctl reload >/tmp/out 2>/tmp/err || rc=$?
	cat /tmp/err
	[ "$rc" = 1 ] || fail "$1: reload exited $rc, expected 1"
	grep -Eq "$2" /tmp/err || fail "$1: the error does not match '$2'"
	unchanged "$1"
}
policy "$a" "$b" '{ name = "c"; backend = "nvme"; size = "8M"; colour = "red"; }'
check_broken "unknown key" "$cfg:4: tenants\\[2\\]\\.colour: unknown key"
policy "$a" '{ name = "b"; backend = "nvme"; size = "32M"; iops_limit = -3; }'
check_broken "negative limit" "$cfg:4: tenants\\[1\\]\\.iops_limit: "
printf '%s\ntenants = ( { name = "a"; backend = "nvme"; size = "64M" } \n' "$header" >"$cfg"
check_broken "syntax error" "$cfg:[0-9]+: "
step "... and so does SIGHUP"
kill -HUP "$DDUBLKD_PID"
sleep 2
grep -q "SIGHUP: reload failed: $cfg:" "$DDUBLKD_LOG" || fail "SIGHUP with a broken file was not reported in the log"
unchanged "SIGHUP with a broken file"
pass "broken policies (reload and SIGHUP) are refused with FILE:LINE and change nothing"

step "--dry-run shows a new tenant and a QoS change without making them"
a2='{ name = "a"; backend = "nvme"; size = "64M"; class = "latency"; iops_limit = 3000; bw_limit = "50M"; weight = 300; }'
c='{ name = "c"; backend = "nvme"; size = "16M"; class = "throughput"; }'
policy "$a2" "$b" "$c"
ublk-ctl reload --dry-run | tee /tmp/dry
grep -q '^+ tenant "c"' /tmp/dry || fail "dry run does not list the new tenant c"
grep -q '^~ tenant "a".*iops_limit' /tmp/dry || fail "dry run does not list a's iops_limit change"
grep -q 'tenant "x"' /tmp/dry && fail "dry run touches x, which ublk-ctl added"
unchanged "dry run"
pass "dry run lists the changes and changes nothing"

step "reload applies them; running tenants keep their data and devices"
ublk-ctl reload | tee /tmp/applied
[ "$(tenant_get c state)" = live ] || fail "c is not live after the reload"
[ "$(tenant_num a iops_limit)" = 3000 ] || fail "a's iops_limit is $(tenant_get a iops_limit)"
[ "$(tenant_num a bw_limit)" = $((50 << 20)) ] || fail "a's bw_limit is $(tenant_get a bw_limit)"
[ "$(tenant_num a weight)" = 300 ] || fail "a's weight is $(tenant_get a weight)"
[ "$(tenant_get a device)" = "$dev_a" ] || fail "a's device changed"
[ "$(checksum "$dev_a")" = "$(checksum /tmp/a.bin)" ] || fail "a's data changed"
[ "$(checksum "$dev_x")" = "$(checksum /tmp/x.bin)" ] || fail "x's data changed"
[ "$(ublk-ctl reload)" = "no changes" ] || fail "a second reload of the same file is not 'no changes'"
pass "new tenant added, a's limits changed live, nothing else touched"

step "removing b (it has data) is refused without --force"
policy "$a2" "$c"
tenants_json >/tmp/before.json
rc=0; ublk-ctl reload 2>/tmp/err || rc=$?
cat /tmp/err
[ "$rc" = 1 ] || fail "reload removing b exited $rc, expected 1"
grep -q -- '--force' /tmp/err || fail "the refusal does not mention --force"
grep -q '^- tenant "b"' /tmp/err || fail "the refusal does not list b's removal"
unchanged "refused removal"
step "... and done with --force: b is gone and its extent reads back zeros"
ublk-ctl reload --force | tee /tmp/forced
[ -z "$(tenant_get b name)" ] || fail "b still listed after reload --force"
wait_gone "$dev_b" 10 || fail "$dev_b still exists"
zero=$(head -c $((32 << 20)) /dev/zero | sha256sum | cut -d' ' -f1)
got=$(dd if=/dev/nvme0n1 bs=1M skip=$((off_b >> 20)) count=32 iflag=direct status=none | sha256sum | cut -d' ' -f1)
[ "$got" = "$zero" ] || fail "b's freed extent still holds data"
pass "destructive reload refused, then forced; the freed extent was discarded"

step "resizing a is refused without --force, recreates it with --force"
policy '{ name = "a"; backend = "nvme"; size = "32M"; class = "latency"; iops_limit = 3000; bw_limit = "50M"; weight = 300; }' "$c"
rc=0; ublk-ctl reload 2>/tmp/err || rc=$?
[ "$rc" = 1 ] || fail "reload shrinking a exited $rc, expected 1"
grep -q '^! tenant "a"' /tmp/err || fail "the refusal does not list a's resize: $(cat /tmp/err)"
[ "$(tenant_num a size)" = $((64 << 20)) ] || fail "a was resized although the reload was refused"
ublk-ctl reload --force
[ "$(tenant_num a size)" = $((32 << 20)) ] || fail "a is $(tenant_get a size) bytes after --force"
[ "$(tenant_get a state)" = live ] || fail "a is not live after being recreated"
pass "resize refused, then forced"

step "the applied policy survives a restart"
tenants_json >/tmp/before.json
stop_daemon
start_daemon "$cfg"
tenants_json >/tmp/after.json
diff /tmp/before.json /tmp/after.json || fail "tenants differ after the restart"
[ "$(checksum "$(tenant_get x device)")" = "$(checksum /tmp/x.bin)" ] || fail "x's data changed"
for t in a c x; do ublk-ctl del "$t" || fail "del $t failed"; done
stop_daemon
pass "reload_policy"
