#!/usr/bin/env bash
# What the daemon does to survive the machine it serves: it tells systemd
# when it is ready, reloading and stopping (Type=notify); the OOM killer
# spares it (oom_score_adj -1000); its I/O threads are IO flushers, so
# reclaim does not recurse into writeback through their own devices; the
# I/O buffers it touched are locked in memory; the control socket is
# root's alone, by its mode and by the peer's credentials on every
# connection, or also a group's with daemon.socket_group. `ublk-ctl
# serve-metrics` answers a Prometheus scrape with the daemon's numbers.
# The example systemd units pass systemd-analyze verify.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/hardening.conf
cat >"$cfg" <<'CONF'
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );
tenants = ( { name = "h"; backend = "nvme"; size = "64M"; } );
CONF

step "sd_notify: READY once the control socket answers, RELOADING/READY, STOPPING"
notify=/run/notify.sock
msgs=/run/notify.log
python3 - "$notify" "$msgs" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", " ") + "\n")
        f.flush()
PY
listener=$!
for ((i = 0; i < 50; i++)); do [ -S "$notify" ] && break; sleep 0.1; done
export NOTIFY_SOCKET=$notify
start_daemon "$cfg"
unset NOTIFY_SOCKET
sleep 1
cat "$msgs"
grep -q '^READY=1 STATUS=serving 1 tenant(s) on /run/ddublk/ctl.sock' "$msgs" || fail "no READY=1 with a status"
kill -HUP "$DDUBLKD_PID"
for ((i = 0; i < 50; i++)); do [ "$(grep -c READY=1 "$msgs")" -ge 2 ] && break; sleep 0.2; done
grep -q '^RELOADING=1' "$msgs" || fail "no RELOADING=1 on SIGHUP"
grep -q 'STATUS=serving 1 tenant(s); last reload applied' "$msgs" || fail "no READY=1 after the reload"
pass "the daemon speaks sd_notify"

step "OOM killer, IO flusher, locked buffers, socket permissions"
[ "$(cat "/proc/$DDUBLKD_PID/oom_score_adj")" = -1000 ] || fail "oom_score_adj is $(cat "/proc/$DDUBLKD_PID/oom_score_adj")"
workers=0
for task in /proc/"$DDUBLKD_PID"/task/*; do
	case $(cat "$task/comm") in ddublk-w*) ;; *) continue ;; esac
	# stat field 9: PF_* flags; IO_FLUSHER = PF_MEMALLOC_NOIO | PF_LOCAL_THROTTLE
	flags=$(awk '{ print $9 }' "$task/stat")
	[ $((flags & 0x180000)) = $((0x180000)) ] || fail "$(cat "$task/comm") is not an IO flusher (flags $flags)"
	workers=$((workers + 1))
done
[ "$workers" = 2 ] || fail "found $workers worker threads, expected 2"
dev=$(tenant_get h device)
dd if=/dev/urandom of="$dev" bs=64k count=64 oflag=direct status=none
locked=$(awk '/^VmLck:/ { print $2 }' "/proc/$DDUBLKD_PID/status")
echo "VmLck: $locked kB"
[ "$locked" -ge 64 ] || fail "only $locked kB locked after 4 MiB of I/O"
[ "$(stat -c '%a %U' /run/ddublk/ctl.sock)" = "600 root" ] || fail "control socket is $(stat -c '%a %U' /run/ddublk/ctl.sock)"
pass "oom_score_adj -1000, 2 IO-flusher workers, $locked kB of buffers locked, socket 0600 root"

# as_nobody [SETPRIV-GROUP-ARGS] -- ARGS: run ublk-ctl ARGS as uid/gid 65534,
# leaving $out (stdout and stderr) and $rc.
as_nobody() {
	local groups=()
	while [ "$1" != -- ]; do groups+=("$1"); shift; done
	shift
	rc=0
	out=$(setpriv --reuid 65534 --regid 65534 "${groups[@]}" ublk-ctl "$@" 2>&1) || rc=$?
}

step "control socket: another user is refused even when the file is made wider"
chmod 0666 /run/ddublk/ctl.sock # by hand, by mistake
as_nobody --clear-groups -- list
echo "nobody: exit $rc: $out"
[ "$rc" = 1 ] || fail "uid 65534 on a 0666 socket: exit $rc, expected 1 (refused): $out"
[ "$out" = "ublk-ctl: permission denied: uid 65534 is not root (the control socket is root's alone: daemon.socket_group is not set)" ] ||
	fail "uid 65534 was not told why: $out"
grep -q 'WARN  control: refused a connection from uid 65534 gid 65534 (pid [0-9]*)' "$DDUBLKD_LOG" ||
	fail "the refusal is not logged with uid and pid"
ublk-ctl list | grep -q '^h ' || fail "root is no longer served"
chmod 0600 /run/ddublk/ctl.sock
pass "uid 65534 refused by its credentials, logged; root served"

step "serve-metrics: a Prometheus scrape over HTTP sees the 4 MiB just written"
ip link set lo up # the test VM boots with no network configured
ublk-ctl serve-metrics --listen 127.0.0.1:9580 2>/run/metrics.err &
metrics=$!
for ((i = 0; i < 50; i++)); do
	curl -sf -o /run/metrics.txt http://127.0.0.1:9580/metrics && break
	kill -0 "$metrics" 2>/dev/null || fail "serve-metrics exited: $(cat /run/metrics.err)"
	sleep 0.2
done
kill -TERM "$metrics"
wait "$metrics" || fail "serve-metrics exited $? on SIGTERM: $(cat /run/metrics.err)"
grep -qx 'ddublk_tenant_bytes_total{tenant="h",op="write"} 4194304' /run/metrics.txt ||
	fail "the scrape lacks h's 4 MiB of writes: $(grep tenant_bytes /run/metrics.txt; cat /run/metrics.err)"
pass "GET /metrics: $(wc -l </run/metrics.txt) lines, h's writes counted"

step "stop: STOPPING=1"
stop_daemon
grep -q '^STOPPING=1' "$msgs" || fail "no STOPPING=1 on SIGTERM"
kill "$listener" 2>/dev/null || true
wait "$listener" 2>/dev/null || true
pass "STOPPING=1 sent"

step "daemon.socket_group: its members are served, others are not"
grp=adm # in every Debian /etc/group; the guest's root is the host's
gid=$(getent group "$grp" | cut -d: -f3)
[ -n "$gid" ] || fail "no group $grp on this system"
sed -i "s|workers = 2;|workers = 2; socket_group = \"$grp\";|" "$cfg"
ddublkd --check-config "$cfg" || fail "--check-config refuses socket_group = $grp"
start_daemon "$cfg"
[ "$(stat -c '%a %U %G' /run/ddublk/ctl.sock)" = "660 root $grp" ] ||
	fail "control socket is $(stat -c '%a %U %G' /run/ddublk/ctl.sock), expected 660 root $grp"
as_nobody --groups "$gid" -- list
if [ "$rc" != 0 ] || ! grep -q '^h ' <<<"$out"; then
	fail "a member of $grp (supplementary) is refused: exit $rc: $out"
fi
as_nobody --clear-groups -- list
if [ "$rc" != 3 ] || ! grep -q 'Permission denied' <<<"$out"; then
	fail "a non-member reached the 0660 socket: exit $rc: $out"
fi
chmod 0666 /run/ddublk/ctl.sock
as_nobody --clear-groups -- list
if [ "$rc" != 1 ] || [ "$out" != "ublk-ctl: permission denied: uid 65534 is neither root nor in group \"$grp\" (daemon.socket_group)" ]; then
	fail "a non-member on a 0666 socket: exit $rc: $out"
fi
ublk-ctl list | grep -q '^h ' || fail "root is not served with socket_group set"
stop_daemon
pass "socket 0660 root:$grp; a member served, a non-member refused by mode and by credentials"

step "examples/ddublkd.service and ddublk-metrics.service pass systemd-analyze verify"
mkdir -p /run/unit
for unit in ddublkd ddublk-metrics; do
	sed -e "s|/usr/sbin/ddublkd|$(command -v ddublkd)|g" \
		-e "s|/usr/sbin/ublk-ctl|$(command -v ublk-ctl)|g" \
		"$DDUBLK_SRC/examples/$unit.service" >"/run/unit/$unit.service"
done
out=$(systemd-analyze verify --man=no /run/unit/ddublkd.service /run/unit/ddublk-metrics.service 2>&1 || true)
echo "$out"
[ -z "$out" ] || fail "systemd-analyze verify complains"
pass "hardening"
