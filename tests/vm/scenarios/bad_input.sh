#!/usr/bin/env bash
# Bad input is refused cleanly and changes nothing:
#  (a) broken policy files: --check-config names FILE:LINE, and ddublkd
#      refuses to start with them without creating any device;
#  (b) bad `ublk-ctl add` requests against a running daemon: exit 1 with a
#      message, the tenant table, the devices and the existing data stay.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dir=/run/bad_input
mkdir -p "$dir"
DAEMON='daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };'
BACKENDS='backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );'

# Each bad config: what it contains, the line with the fault, a word the
# message must contain. Every tenant entry sits on one line, so "the line of
# the key" and "the line of the entry" are the same line.
write_bad_configs() {
	printf '%s\n%s\ntenants = ( { name = "t1"; backend = "nvme"; size = "16M" } \n' \
		"$DAEMON" "$BACKENDS" >"$dir/syntax.conf"                               # missing ')' and ';'
	printf '%s\n%s\ntenants = (\n  { name = "t1"; backend = "nvme"; size = "16M"; colour = "red"; }\n);\n' \
		"$DAEMON" "$BACKENDS" >"$dir/unknown_key.conf"                          # line 4
	printf '%s\n%s\ntenants = (\n  { name = "t1"; backend = "nvme"; size = "16M"; },\n  { name = "t2"; backend = "nvme"; size = "12Q"; }\n);\n' \
		"$DAEMON" "$BACKENDS" >"$dir/bad_size.conf"                             # line 5
	printf '%s\n%s\ntenants = (\n  { name = "t1"; backend = "nvme"; size = "16M"; },\n  { name = "t2"; backend = "nope"; size = "16M"; }\n);\n' \
		"$DAEMON" "$BACKENDS" >"$dir/unknown_backend.conf"                      # line 5
}

# check_config NAME LINE WORD: --check-config fails, and its stderr contains
# "FILE:LINE:" (any line if LINE is empty) and WORD.
check_config() {
	local f=$dir/$1.conf line=${2:-[0-9]+} word=$3 rc=0
	ddublkd --check-config "$f" 2>"$dir/$1.err" >/dev/null || rc=$?
	[ "$rc" != 0 ] || fail "$1: --check-config accepted $f"
	grep -Eq "$f:$line:" "$dir/$1.err" || fail "$1: message does not name $f:${2:-LINE}: ('$(head -1 "$dir/$1.err")')"
	grep -qi -- "$word" "$dir/$1.err" || fail "$1: message does not mention '$word' ('$(head -1 "$dir/$1.err")')"
	echo "  $1: $(head -1 "$dir/$1.err")"
}

# refuse_start NAME: ddublkd --config exits non-zero, quickly, no device appears.
refuse_start() {
	local f=$dir/$1.conf rc=0
	timeout 30 ddublkd --config "$f" >>"$DDUBLK_OUT/ddublkd.log" 2>&1 || rc=$?
	[ "$rc" != 0 ] || fail "$1: ddublkd started with a broken config"
	[ "$rc" != 124 ] || fail "$1: ddublkd kept running with a broken config"
	[ -z "$(ublk_devices)" ] || fail "$1: ddublkd created $(ublk_devices) from a broken config"
}

step "(a) broken policy files"
[ -z "$(ublk_devices)" ] || fail "ublk devices exist before the test: $(ublk_devices)"
write_bad_configs
check_config syntax "" ""
check_config unknown_key 4 colour
check_config bad_size 5 size
check_config unknown_backend 5 backend
for c in syntax unknown_key bad_size unknown_backend; do refuse_start "$c"; done
pass "--check-config names FILE:LINE; ddublkd refuses every broken config and creates no device"

step "(b) bad add requests against a running daemon"
cfg=$dir/good.conf
printf '%s\n%s\n' "$DAEMON" "$BACKENDS" >"$cfg"
ddublkd --check-config "$cfg" || fail "--check-config refuses a good config"
start_daemon "$cfg"
dev=$(ublk-ctl add --name keep --backend nvme --size 64M) || fail "add keep failed"
write_random "$dev" 64M /tmp/keep.bin
sum=$(checksum "$dev")
[ "$sum" = "$(checksum /tmp/keep.bin)" ] || fail "keep does not read back its data"
ublk-ctl list --json >/tmp/list.before
ublk_devices >/tmp/devs.before
backend_mib=$(( $(blockdev --getsize64 /dev/nvme0n1) >> 20 ))

# refused WHAT WORD ARGS...: `ublk-ctl add ARGS` exits 1 (daemon refused; 2,
# usage error, is accepted if WHAT has "invalid" in it: the client may catch
# a malformed argument before asking the daemon) and says WORD.
refused() {
	local what=$1 word=$2 rc=0 ok=1; shift 2
	[[ $what == *invalid* ]] && ok='1|2'
	ublk-ctl add "$@" >/tmp/add.out 2>/tmp/add.err || rc=$?
	[[ $rc =~ ^($ok)$ ]] || fail "$what: ublk-ctl add $* exited $rc, expected ${ok/|/ or } (stdout '$(cat /tmp/add.out)', stderr '$(cat /tmp/add.err)')"
	[ -s /tmp/add.err ] || fail "$what: refused without a message"
	grep -Eqi -- "$word" /tmp/add.err || fail "$what: message '$(cat /tmp/add.err)' does not match '$word'"
	echo "  $what: $(head -1 /tmp/add.err)"
}
refused "unknown backend" "nope|backend" --name x1 --backend nope --size 16M
refused "bigger than the backend" 'size|space|large|big|fit' --name x2 --backend nvme --size "$((2 * backend_mib))M"
refused "duplicate name" "keep|exist|duplicate|taken" --name keep --backend nvme --size 16M
refused "invalid name" name --name 'bad/name' --backend nvme --size 16M

# The daemon must not rely on ublk-ctl's checks: send it bad requests
# directly (one JSON line each, see ctl/proto.h).
raw_request() {
	python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect("/run/ddublk/ctl.sock")
s.sendall(sys.argv[1].encode() + b"\n")
print(s.makefile().readline().strip())
PY
}
for req in '{"cmd":"add","name":"bad/name","backend":"nvme","size":16777216}' \
	'{"cmd":"add","name":"..","backend":"nvme","size":16777216}' \
	'{"cmd":"add","name":"x3","backend":"nvme","size":0}' \
	'{"cmd":"add","name":"x4","backend":"nvme","size":16777216,"bogus":1}'; do
	reply=$(raw_request "$req") || fail "no reply to $req"
	jq -e '.ok == false and (.error | length > 0)' <<<"$reply" >/dev/null ||
		fail "daemon did not refuse $req: $reply"
	echo "  raw $req: $reply"
done

ublk-ctl list --json >/tmp/list.after
cmp -s /tmp/list.before /tmp/list.after || { diff /tmp/list.before /tmp/list.after || true; fail "list --json changed"; }
ublk_devices >/tmp/devs.after
cmp -s /tmp/devs.before /tmp/devs.after || fail "ublk devices changed: $(tr '\n' ' ' </tmp/devs.after)"
[ "$(checksum "$dev")" = "$sum" ] || fail "keep's data changed"
daemon_alive || fail "ddublkd died"
pass "every bad add exits 1 with a message; tenants, devices and data unchanged"

ublk-ctl del keep || fail "del keep failed"
stop_daemon
pass "bad_input"
