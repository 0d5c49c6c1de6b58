#!/usr/bin/env bash
# A start that cannot complete, or that finds devices of a daemon still
# running, never takes a device away (issue 12, items 2 and 3):
#  (a) after a crash, a ddublkd whose policy has a tenant that does not
#      fit exits 1 before touching anything; one whose control socket
#      cannot be bound exits 1 as after a crash. Either way the mounted
#      tenant's /dev/ublkbN stays, and the next good daemon re-attaches it
#      with every byte intact;
#  (b) --check-config refuses a 99T tenant on the namespace named by its
#      char device (/dev/ng0n1), and counts a tenant added with ublk-ctl
#      add that the policy does not name;
#  (c) a second ddublkd started while the first is stopped (SIGSTOP) leaves
#      the first one's LIVE devices alone, recovery off or not: their
#      tenants are "failed" in the second, and their data intact;
#  (d) a device the daemon cannot re-attach (its /dev/ublkcN held open by
#      someone else) is left alone, and its tenant can then be neither
#      deleted (not even with --force: its extent would be zeroed under the
#      mounted file system) nor recreated; once the char device is free,
#      the next daemon re-attaches it with the data intact.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

dir=/run/fsk
mnt=/run/mnt/fsk
mkdir -p "$dir" "$mnt"
ns_mib=$(($(blockdev --getsize64 /dev/nvme0n1) >> 20))
half=$((ns_mib / 2))
# policy FILE [SOCKET [TENANT...]]: fs (recovery on) and plain (off), plus TENANTs.
policy() {
	local f=$1 sock=${2:-/run/ddublk/ctl.sock} extra=
	shift 2 || shift $#
	[ $# -eq 0 ] || { local IFS=,; extra=",$*"; }
	cat >"$f" <<CONF
daemon = { socket = "$sock"; workers = 2; log_level = "info"; };
backends = ( $(nvme_backend nvme ng) );
tenants = (
  { name = "fs"; backend = "nvme"; size = "64M"; },
  { name = "plain"; backend = "nvme"; size = "32M"; recovery = false; }$extra
);
CONF
}
policy "$dir/good.conf"

# refused_start NAME WORD...: ddublkd --config $dir/NAME.conf exits 1 within
# 90 s and its log says each WORD; fs's device and mount are still there.
refused_start() {
	local name=$1 rc=0 w
	shift
	echo "---- ddublkd --config $dir/$name.conf (must fail) ($(date +%T)) ----" >>"$DDUBLKD_LOG"
	timeout 90 ddublkd --config "$dir/$name.conf" >"$dir/$name.log" 2>&1 || rc=$?
	cat "$dir/$name.log" >>"$DDUBLKD_LOG"
	[ "$rc" != 124 ] || fail "$name: ddublkd still running after 90 s (stuck deleting a mounted device?)"
	[ "$rc" = 1 ] || fail "$name: ddublkd exited $rc, expected 1: $(tail -n 3 "$dir/$name.log")"
	for w in "$@"; do
		grep -qF -- "$w" "$dir/$name.log" || fail "$name: the log does not say '$w': $(tail -n 3 "$dir/$name.log")"
	done
	[ -b "$dev" ] || fail "$name: $dev is gone after a failed start"
	grep -q " $mnt " /proc/mounts || fail "$name: $mnt is no longer mounted"
	echo "  $name: exit 1: $(grep -F -- "$1" "$dir/$name.log" | tail -n 1)"
}

# On a failure, a daemon must serve fs again, or the guest's final sync
# waits forever on its mount.
unserved() {
	[ -z "$DDUBLKD_PID" ] || kill -CONT "$DDUBLKD_PID" 2>/dev/null || true
	grep -q " $mnt " /proc/mounts || return 0
	if ! daemon_alive; then
		ddublkd --config "$dir/good.conf" >>"$DDUBLKD_LOG" 2>&1 &
	fi
	timeout 60 umount "$mnt" || echo "could not unmount $mnt" >&2
}
trap 'rc=$?; [ "$rc" = 0 ] || unserved; exit "$rc"' EXIT

step "fs (mounted ext4, 8 MiB file), plain (32 MiB), and 'added' by ublk-ctl add"
start_daemon "$dir/good.conf"
assert_backend_kind nvme
dev=$(tenant_get fs device)
plain=$(tenant_get plain device)
ublk-ctl add --name added --backend nvme --size "${half}M" >/dev/null || fail "add added failed"
mkfs.ext4 -q -F "$dev" || fail "mkfs.ext4 $dev failed"
mount -t ext4 "$dev" "$mnt" || fail "mount $dev failed"
head -c 8M /dev/urandom >/tmp/fs.bin
{ cp /tmp/fs.bin "$mnt/data" && sync -f "$mnt/data"; } || fail "writing $mnt/data failed"
write_random "$plain" 32M /tmp/plain.bin

step "(a) crash, then starts that fail"
crash_daemon
reap_crashed
policy "$dir/huge.conf" "" '{ name = "huge"; backend = "nvme"; size = "99T"; }'
refused_start huge 'tenant "huge" (policy line' 'no tenant was created and no device touched'
printf 'not a directory\n' >"$dir/file"
policy "$dir/nosock.conf" "$dir/file/ctl.sock"
refused_start nosock "control socket $dir/file/ctl.sock" 'exiting as after a crash'
pass "(a) a refused policy and an unbindable socket exit 1; $dev and its mount stay"

step "the good policy: fs re-attached, data intact"
start_daemon "$dir/good.conf"
assert_reattached fs "$dev"
cmp -s /tmp/fs.bin "$mnt/data" || fail "$mnt/data differs after the failed starts"
plain=$(tenant_get plain device)
[ "$(checksum "$plain" 32M)" = "$(checksum /tmp/plain.bin)" ] || fail "plain's data changed"
pass "(a) the next good daemon re-attached $dev; fs and plain hold their data"

step "(b) --check-config"
policy "$dir/big.conf" "" '{ name = "big"; backend = "nvme"; size = "99T"; }'
rc=0
ddublkd --check-config "$dir/big.conf" >/dev/null 2>"$dir/big.err" || rc=$?
[ "$rc" = 1 ] || fail "--check-config accepted a 99T tenant on /dev/ng0n1 ($ns_mib MiB): $(cat "$dir/big.err")"
grep -Eq 'tenants\[2\]: tenants on backend "nvme" need [0-9]+ MiB but it holds' "$dir/big.err" ||
	fail "--check-config: $(cat "$dir/big.err")"
echo "  $(cat "$dir/big.err")"
# fs + plain + more fit the namespace; not beside 'added', which only the table knows.
policy "$dir/more.conf" "" "{ name = \"more\"; backend = \"nvme\"; size = \"${half}M\"; }"
rc=0
ddublkd --check-config "$dir/more.conf" >/dev/null 2>"$dir/more.err" || rc=$?
[ "$rc" = 1 ] || fail "--check-config did not count the tenant added by ublk-ctl add"
grep -q 'tenants\[2\]: .*no room.*its tenant table already holds 3 tenant(s)' "$dir/more.err" ||
	fail "--check-config: $(cat "$dir/more.err")"
echo "  $(cat "$dir/more.err")"
ddublkd --check-config "$dir/good.conf" >"$dir/good.out" || fail "--check-config refused the good policy"
grep -q 'backend "nvme": .*3 tenant(s) in its table' "$dir/good.out" || fail "--check-config: $(cat "$dir/good.out")"
pass "(b) --check-config sizes /dev/ng0n1 and counts the table's tenants"

step "(c) a second ddublkd beside a stopped one"
kill -STOP "$DDUBLKD_PID"
policy "$dir/second.conf" "$dir/second.sock"
echo "---- ddublkd --config $dir/second.conf (beside a stopped one) ($(date +%T)) ----" >>"$DDUBLKD_LOG"
ddublkd --config "$dir/second.conf" >"$dir/second.log" 2>&1 &
second=$!
for ((i = 0; i < 120; i++)); do
	DDUBLK_SOCKET=$dir/second.sock ublk-ctl --timeout 2 list >/dev/null 2>&1 && break
	kill -0 "$second" 2>/dev/null || break
	sleep 0.5
done
if kill -0 "$second" 2>/dev/null; then
	# It runs: both tenants refused, the first daemon's devices untouched.
	for t in fs plain; do
		s=$(DDUBLK_SOCKET=$dir/second.sock ublk-ctl --timeout 5 list --json |
			jq -r --arg n "$t" '.[] | select(.name == $n) | .state')
		[ "$s" = failed ] || fail "second daemon: $t is '$s', expected failed"
	done
	grep -q 'tenant "plain": ublk device .* is LIVE, served by pid .*still running' "$dir/second.log" ||
		fail "second daemon: no clear error for plain: $(grep plain "$dir/second.log" | tail -n 2)"
	kill -TERM "$second"
fi
rc=0
timeout 60 tail --pid="$second" -f /dev/null || fail "second ddublkd did not exit"
wait "$second" || rc=$?
cat "$dir/second.log" >>"$DDUBLKD_LOG"
echo "  second ddublkd exited $rc: $(grep -E 'plain|refus|lock' "$dir/second.log" | tail -n 1)"
[ -b "$plain" ] || fail "plain's $plain was taken away by the second daemon"
[ -b "$dev" ] || fail "fs's $dev was taken away by the second daemon"
kill -CONT "$DDUBLKD_PID"
[ "$(checksum "$plain" 32M)" = "$(checksum /tmp/plain.bin)" ] || fail "plain's data changed"
cmp -s /tmp/fs.bin "$mnt/data" || fail "$mnt/data differs"
[ "$(tenant_get plain state)" = live ] || fail "plain is '$(tenant_get plain state)' in the first daemon"
pass "(c) the second daemon left the LIVE devices of the stopped one alone"

step "(d) a device left alone at start-up is not deleted, not even with --force"
id=$(tenant_num fs dev_id)
crash_daemon
reap_crashed
# What a stuck old server would still hold (free once the killed daemon's ring is gone).
for ((i = 0; i < 100; i++)); do
	{ exec 9<>"/dev/ublkc$id"; } 2>/dev/null && break
	sleep 0.2
done
[ -e /proc/$$/fd/9 ] || fail "cannot open /dev/ublkc$id after the crash"
start_daemon "$dir/good.conf"
[ "$(tenant_get fs state)" = failed ] || fail "fs is '$(tenant_get fs state)' with /dev/ublkc$id held"
rc=0
out=$(ublk-ctl del --force fs 2>&1) || rc=$?
echo "  del --force fs: exit $rc: $out"
[ "$rc" = 1 ] || fail "del --force of an unserved tenant exited $rc, expected 1"
grep -q "does not serve it" <<<"$out" || fail "del --force fs: no clear reason: $out"
[ -n "$(tenant_get fs name)" ] || fail "fs is no longer listed after the refused del"
[ -b "$dev" ] || fail "$dev is gone after the refused del"
exec 9>&-
stop_daemon
start_daemon "$dir/good.conf"
assert_reattached fs "$dev"
cmp -s /tmp/fs.bin "$mnt/data" || fail "$mnt/data differs after the refused del"
pass "(d) the unserved tenant kept its device and data; re-attached once its char device was free"

umount "$mnt" || fail "umount $mnt failed"
stop_daemon
pass "failed_start_keeps"
