#!/usr/bin/env bash
# A tenant that does not fit its NVMe namespace is refused, clearly, and
# nothing changes:
#  (a) `ublk-ctl add` of a tenant larger than the namespace, of exactly the
#      namespace's size (the first 1 MiB is metadata), and of one that fits
#      the namespace but not the space left beside another tenant: exit 1, a
#      message naming the backend and the sizes, `list --json` unchanged, no
#      new /dev/ublkb*, the existing tenant's data intact;
#  (b) a policy whose tenant is larger than the namespace, and one whose
#      tenants together are: ddublkd exits non-zero at start-up with a
#      message naming the tenant, and creates no device.
# Argument `file`: the same checks on the file backend (see lib.sh).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"
nvme_mode_from_args "$@"

dir=/run/too_big
mkdir -p "$dir"
ns_bytes=$(blockdev --getsize64 /dev/nvme0n1)
ns_mib=$((ns_bytes >> 20))
BACKEND=$(nvme_backend bigns ng)
echo "  namespace: $ns_bytes bytes ($ns_mib MiB)"

# daemon_conf SOCKET [TENANTS...]: a policy with the namespace backend.
daemon_conf() {
	local sock=$1; shift
	echo "daemon = { socket = \"$sock\"; workers = 2; log_level = \"info\"; };"
	echo "backends = ( $BACKEND );"
	[ $# -eq 0 ] || { local IFS=,; echo "tenants = ( $* );"; }
}

# size_words BYTES: the ways a message may spell a size (bytes, MiB, GiB).
size_words() {
	local b=$1 w=$1
	[ $((b % (1 << 20))) = 0 ] && w+="|$((b >> 20)) ?MiB|$((b >> 20))M\\b"
	[ $((b % (1 << 30))) = 0 ] && w+="|$((b >> 30)) ?GiB|$((b >> 30))G\\b"
	# format_size truncates to one decimal: 2047 MiB is "1.9 GiB".
	[ $((b % (1 << 30))) != 0 ] && w+="|$((b >> 30))\\.$(( (b % (1 << 30)) * 10 >> 30 )) ?GiB"
	echo "$w"
}

# refused_add WHAT BYTES: `ublk-ctl add` of BYTES exits 1, names the backend
# and the requested size, and mentions at least one other size (the room).
refused_add() {
	local what=$1 bytes=$2 rc=0 msg
	ublk-ctl add --name "t$bytes" --backend bigns --size "$bytes" >"$dir/add.out" 2>"$dir/add.err" || rc=$?
	msg=$(cat "$dir/add.err")
	[ "$rc" = 1 ] || fail "$what: ublk-ctl add --size $bytes exited $rc, expected 1 (stdout '$(cat "$dir/add.out")', stderr '$msg')"
	[ -n "$msg" ] || fail "$what: refused without a message"
	grep -q bigns <<<"$msg" || fail "$what: message does not name the backend \"bigns\": '$msg'"
	grep -Eq "$(size_words "$bytes")" <<<"$msg" || fail "$what: message does not give the requested size ($bytes bytes): '$msg'"
	[ "$(grep -Eo '[0-9]+(\.[0-9]+)? ?([KMGT]iB|bytes|B)\b|[0-9]{7,}' <<<"$msg" | wc -l)" -ge 2 ] ||
		fail "$what: message gives no size to compare with: '$msg'"
	echo "  $what: $msg"
}

# refuse_start NAME WORD: ddublkd with policy NAME exits non-zero soon, says
# WORD, and no ublk device appears.
refuse_start() {
	local f=$dir/$1.conf rc=0
	echo "---- ddublkd --config $f (must refuse) ----" >>"$DDUBLKD_LOG"
	timeout 60 ddublkd --config "$f" >"$dir/$1.err" 2>&1 || rc=$?
	cat "$dir/$1.err" >>"$DDUBLKD_LOG"
	[ "$rc" != 0 ] || fail "$1: ddublkd exited 0 with a tenant that does not fit"
	[ "$rc" != 124 ] || fail "$1: ddublkd kept running with a tenant that does not fit"
	[ -z "$(ublk_devices)" ] || fail "$1: ddublkd left devices behind: $(ublk_devices | tr '\n' ' ')"
	grep -Eqi -- "$2" "$dir/$1.err" || fail "$1: ddublkd's messages do not mention '$2': $(tail -3 "$dir/$1.err")"
	echo "  $1: exit $rc: $(grep -Ei -- "$2" "$dir/$1.err" | tail -n1)"
}

step "(a) too-big adds against a running daemon"
[ -z "$(ublk_devices)" ] || fail "ublk devices exist before the test: $(ublk_devices | tr '\n' ' ')"
daemon_conf /run/ddublk/ctl.sock >"$dir/run.conf"
start_daemon "$dir/run.conf"
assert_backend_kind bigns
refused_add "larger than the namespace (2x)" $((2 * ns_bytes))
refused_add "exactly the namespace size" "$ns_bytes"
keep_bytes=$(( (ns_mib * 3 / 4) << 20 ))
dev=$(ublk-ctl add --name keep --backend bigns --size "$keep_bytes") || fail "add keep ($keep_bytes bytes) failed"
[ -b "$dev" ] || fail "add keep printed '$dev', not a block device"
write_random "$dev" 16M /tmp/keep.bin
sum=$(checksum "$dev" 16M)
ublk-ctl list --json >"$dir/list.before"
ublk_devices >"$dir/devs.before"
left=$((ns_bytes - (1 << 20) - keep_bytes))
half=$(( (ns_mib / 2) << 20 ))
[ "$half" -gt "$left" ] || fail "test bug: half the namespace fits beside keep"
refused_add "fits the namespace, not the free space" "$half"
refused_add "larger than the namespace (2x), with a tenant" $((2 * ns_bytes))
ublk-ctl list --json >"$dir/list.after"
cmp -s "$dir/list.before" "$dir/list.after" || { diff "$dir/list.before" "$dir/list.after" || true; fail "list --json changed"; }
ublk_devices >"$dir/devs.after"
cmp -s "$dir/devs.before" "$dir/devs.after" || fail "ublk devices changed: $(tr '\n' ' ' <"$dir/devs.after")"
[ "$(checksum "$dev" 16M)" = "$sum" ] || fail "keep's data changed"
daemon_alive || fail "ddublkd died"
pass "(a) every too-big add exits 1 naming the backend and sizes; tenants, devices, data unchanged"
ublk-ctl del keep || fail "del keep failed"
stop_daemon
wait_gone "$dev" 10 || fail "$dev still there after the daemon stopped"

step "(b) policies with tenants that do not fit"
sock=/run/too_big/ctl.sock
daemon_conf "$sock" \
	"{ name = \"huge\"; backend = \"bigns\"; size = \"$((2 * ns_mib))M\"; }" >"$dir/huge.conf"
daemon_conf "$sock" \
	"{ name = \"first\"; backend = \"bigns\"; size = \"$((ns_mib * 3 / 4))M\"; }" \
	"{ name = \"second\"; backend = \"bigns\"; size = \"$((ns_mib / 2))M\"; }" >"$dir/pair.conf"
cat "$dir/huge.conf" "$dir/pair.conf"
refuse_start huge 'huge.*larger than backend "bigns"'
refuse_start pair 'second.*no tenant was created'
[ ! -S "$sock" ] || ! DDUBLK_SOCKET=$sock ublk-ctl list >/dev/null 2>&1 || fail "a control socket answers after a refused start"
# A refused policy changes nothing: not even the tenants that would have fit.
start_daemon "$dir/run.conf"
left=$(ublk-ctl list --json | jq length)
[ "$left" = 0 ] || fail "a refused start left $left tenant(s) in the backend's table: $(ublk-ctl list)"
stop_daemon
pass "(b) ddublkd refuses to start with a tenant that does not fit and creates no device"
pass "nvme_too_big"
