#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# ublk-ctl against a fake daemon: a python3 unix-socket server (standard
# library only) that keeps a tenant table and answers like ddublkd. Checks
# stdout, stderr and exit status of every command, refusals, no daemon,
# timeouts and usage errors, and the exact request lines on the wire.
#
# usage: test_ublk_ctl.sh PATH/TO/ublk-ctl
set -u

CTL=${1:?usage: test_ublk_ctl.sh PATH/TO/ublk-ctl}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ublk-ctl-test.XXXXXX") || exit 1
sock=$tmp/ctl.sock
requests=$tmp/requests.log
server_pid=

cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the fake daemon --------------------------------------------------------

cat >"$tmp/fake_ddublkd.py" <<'PY'
import json, socket, sys, threading, time

path, log = sys.argv[1], sys.argv[2]
lock = threading.Lock()
# One tenant from "before": no device, failed.
tenants = [dict(name="old", device="", dev_id=-1, state="failed", backend="img",
                offset=0, size=1536 << 20, queues=2, depth=128)]
next_offset = {"nvme0": 1 << 20}
FEATURES = {"opcodes": "ioctl", "flags": ["USER_RECOVERY", "USER_RECOVERY_REISSUE"],
            "flags_raw": 24, "kernel": "6.1.0-test"}

def err(msg):
    return {"ok": False, "error": msg}

def add(req):
    name = req["name"]
    if any(t["name"] == name for t in tenants):
        return err('tenant "%s" already exists' % name)
    if req["backend"] not in next_offset:
        return err('unknown backend "%s" (see /etc/ddublk/policy.conf)' % req["backend"])
    used = {t["dev_id"] for t in tenants}
    dev_id = min(i for i in range(1024) if i not in used)
    t = dict(name=name, device="/dev/ublkb%d" % dev_id, dev_id=dev_id, state="live",
             backend=req["backend"], offset=next_offset[req["backend"]],
             size=req["size"], queues=req.get("queues") or 1, depth=req.get("depth") or 64)
    next_offset[req["backend"]] += req["size"]
    tenants.append(t)
    return {"ok": True, "tenant": t}

def dispatch(req):
    cmd = req.get("cmd")
    if cmd == "add":
        return add(req)
    if cmd == "del":
        for t in tenants:
            if t["name"] == req["name"]:
                tenants.remove(t)
                return {"ok": True}
        return err('no tenant "%s"' % req["name"])
    if cmd == "list":
        return {"ok": True, "tenants": tenants}
    if cmd == "features":
        return {"ok": True, "features": FEATURES}
    return err("unknown command")

def serve(conn):
    with conn:
        line = conn.makefile("rb").readline(65537)
        if not line:
            return
        with lock, open(log, "ab") as f:
            f.write(line)
        req = json.loads(line)
        # Misbehaviours, chosen by tenant name.
        if req.get("name") == "hang":
            time.sleep(30)
            return
        if req.get("name") == "close":
            return
        if req.get("name") == "garbled":
            conn.sendall(b"this is not json\n")
            return
        if req.get("name") == "sliced":
            # a reply in pieces must still be read whole
            for piece in (b'{"ok":', b'false,"error":"sl', b'ow /dev/null"}\n'):
                conn.sendall(piece)
                time.sleep(0.05)
            return
        with lock:
            reply = dispatch(req)
        conn.sendall((json.dumps(reply, separators=(",", ":")) + "\n").encode())

srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(16)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
PY

python3 "$tmp/fake_ddublkd.py" "$sock" "$requests" &
server_pid=$!
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	sleep 0.1
done
if ! [ -S "$sock" ]; then
	echo "Bail out! fake daemon did not start"
	exit 1
fi
: >>"$requests"

# ---- helpers ----------------------------------------------------------------

n=0
failed=0

# run ARGS...: run ublk-ctl, leaving $out, $err and $rc.
run() {
	out=$("$CTL" "$@" 2>"$tmp/stderr")
	rc=$?
	err=$(cat "$tmp/stderr")
}

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	printf '#   %s\n' "$@"
}

# expect DESC RC STDOUT STDERR: compare the last run exactly.
expect() {
	if [ "$rc" = "$2" ] && [ "$out" = "$3" ] && [ "$err" = "$4" ]; then
		ok "$1"
	else
		not_ok "$1" "exit: got $rc, want $2" "stdout: got:" "$out" "stdout: want:" "$3" \
			"stderr: got:" "$err" "stderr: want:" "$4"
	fi
}

# expect_match DESC RC STDOUT-GREP-PATTERN: exit status, stdout pattern, empty stderr.
expect_match() {
	if [ "$rc" = "$2" ] && grep -qE -- "$3" <<<"$out" && [ -z "$err" ]; then
		ok "$1"
	else
		not_ok "$1" "exit: got $rc, want $2; stdout must match: $3" "stdout:" "$out" \
			"stderr:" "$err"
	fi
}

# expect_usage DESC STDERR-FIRST-LINE: exit 2, nothing on stdout, no request sent.
expect_usage() {
	local first=${err%%$'\n'*} sent
	sent=$(wc -l <"$requests")
	if [ "$rc" = 2 ] && [ -z "$out" ] && [ "$first" = "$2" ] && [ "$sent" = "$sent_before" ] &&
	   grep -q "^Try 'ublk-ctl" <<<"$err"; then
		ok "$1"
	else
		not_ok "$1" "exit: got $rc, want 2; requests sent: $((sent - sent_before))" \
			"stderr: got:" "$err" "stderr: want first line:" "$2" "stdout:" "$out"
	fi
	sent_before=$sent # one stray request fails one check, not all after it
}

last_request() {
	tail -n 1 "$requests"
}

# expect_request DESC LINE: the daemon saw exactly LINE last.
expect_request() {
	if [ "$(last_request)" = "$2" ]; then
		ok "$1"
	else
		not_ok "$1" "got:  $(last_request)" "want: $2"
	fi
}

# expect_json DESC PYTHON-EXPR: stdout parses as JSON `v` and EXPR holds.
expect_json() {
	if [ "$rc" = 0 ] && [ -z "$err" ] &&
	   python3 -c "import json, sys; v = json.loads(sys.stdin.read()); sys.exit(0 if ($2) else 1)" \
		<<<"$out"; then
		ok "$1"
	else
		not_ok "$1" "exit $rc; condition: $2" "stdout:" "$out" "stderr:" "$err"
	fi
}

S=(--socket "$sock")

# ---- version and help ---------------------------------------------------------

run --version
expect "--version" 0 "ublk-ctl 0.1.0" ""

for args in "--help" "-h" "help"; do
	run $args
	expect_match "$args prints the manual" 0 "^SYNOPSIS"
	for section in "EXIT STATUS" "EXAMPLES" "--socket PATH" "--timeout SECONDS" "DDUBLK_SOCKET"; do
		grep -qF -- "$section" <<<"$out" || not_ok "$args mentions $section"
	done
done
for cmd in add list del features; do
	run "$cmd" --help
	expect_match "$cmd --help" 0 "^    ublk-ctl $cmd - "
	grep -q "^EXIT STATUS" <<<"$out" || not_ok "$cmd --help has EXIT STATUS"
	grep -q "^EXAMPLE" <<<"$out" || not_ok "$cmd --help has an EXAMPLE"
	help_out=$out
	run help "$cmd"
	[ "$out" = "$help_out" ] && ok "help $cmd = $cmd --help" || not_ok "help $cmd = $cmd --help"
done
run add --help
for opt in --name --backend --size --queues --depth; do
	grep -q -- "^    $opt " <<<"$out" || not_ok "add --help documents $opt"
done
run "${S[@]}" list --help
expect_match "list --help with a socket" 0 "^NAME"
[ "$(wc -l <"$requests")" = 0 ] && ok "--help sends no request" || not_ok "--help sent a request"

# ---- add / list / del / features ----------------------------------------------

run "${S[@]}" list
expect "list: the table, a tenant without device" 0 \
"NAME  DEVICE  STATE   BACKEND  OFFSET  SIZE     QUEUES  DEPTH
old   -       failed  img      0 B     1.5 GiB  2       128" ""
expect_request "list request on the wire" '{"cmd":"list"}'

run "${S[@]}" add --name db --backend nvme0 --size 512M --queues 2
expect "add prints the device" 0 "/dev/ublkb0" ""
expect_request "add request on the wire" \
	'{"cmd":"add","name":"db","backend":"nvme0","size":536870912,"queues":2}'

run "${S[@]}" add --depth 128 --size 64MiB --backend nvme0 --name web.1
expect "add, options in any order" 0 "/dev/ublkb1" ""
expect_request "add: sizes and depth on the wire" \
	'{"cmd":"add","name":"web.1","backend":"nvme0","size":67108864,"depth":128}'

run "${S[@]}" list
expect "list: aligned columns, human sizes" 0 \
"NAME   DEVICE       STATE   BACKEND  OFFSET   SIZE     QUEUES  DEPTH
old    -            failed  img      0 B      1.5 GiB  2       128
db     /dev/ublkb0  live    nvme0    1 MiB    512 MiB  2       64
web.1  /dev/ublkb1  live    nvme0    513 MiB  64 MiB   1       128" ""

run "${S[@]}" list --json
expect_json "list --json is the tenants array" \
	'isinstance(v, list) and [t["name"] for t in v] == ["old", "db", "web.1"] and v[1] == {"name": "db", "device": "/dev/ublkb0", "dev_id": 0, "state": "live", "backend": "nvme0", "offset": 1048576, "size": 536870912, "queues": 2, "depth": 64}'
grep -qF '"/dev/ublkb0"' <<<"$out" && ok "list --json leaves slashes unescaped" \
	|| not_ok "list --json leaves slashes unescaped" "$out"

run "${S[@]}" features
expect "features" 0 "ublk opcodes: ioctl
ublk flags: USER_RECOVERY USER_RECOVERY_REISSUE (0x18)
kernel: 6.1.0-test" ""
expect_request "features request on the wire" '{"cmd":"features"}'

run "${S[@]}" features --json
expect_json "features --json" \
	'v == {"opcodes": "ioctl", "flags": ["USER_RECOVERY", "USER_RECOVERY_REISSUE"], "flags_raw": 24, "kernel": "6.1.0-test"}'

run "${S[@]}" del db
expect "del prints nothing" 0 "" ""
expect_request "del request on the wire" '{"cmd":"del","name":"db"}'

run "${S[@]}" list --json
expect_json "del took effect" '[t["name"] for t in v] == ["old", "web.1"]'

# ---- refusals: exit 1, the daemon's words verbatim ----------------------------

run "${S[@]}" add --name web.1 --backend nvme0 --size 4K
expect "add refused" 1 "" 'ublk-ctl: tenant "web.1" already exists'

run "${S[@]}" add --name x --backend nope --size 4K
expect "add refused, message verbatim" 1 "" \
	'ublk-ctl: unknown backend "nope" (see /etc/ddublk/policy.conf)'

run "${S[@]}" del db
expect "del refused" 1 "" 'ublk-ctl: no tenant "db"'

run "${S[@]}" del sliced
expect "a reply in pieces" 1 "" "ublk-ctl: slow /dev/null"

run "${S[@]}" del garbled
expect "garbage reply" 1 "" "ublk-ctl: malformed reply from the daemon (not JSON)"

# ---- unreachable daemon: exit 3 ---------------------------------------------

run --socket "$tmp/none.sock" list
expect "no daemon" 3 "" \
	"ublk-ctl: cannot connect to $tmp/none.sock: No such file or directory (is ddublkd running?)"

python3 -c "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$tmp/stale.sock"
run --socket "$tmp/stale.sock" del db
expect "stale socket, nobody listening" 3 "" \
	"ublk-ctl: cannot connect to $tmp/stale.sock: Connection refused (is ddublkd running?)"

out=$(DDUBLK_SOCKET=$tmp/env.sock "$CTL" features 2>"$tmp/stderr"); rc=$?; err=$(cat "$tmp/stderr")
expect "DDUBLK_SOCKET sets the socket" 3 "" \
	"ublk-ctl: cannot connect to $tmp/env.sock: No such file or directory (is ddublkd running?)"

out=$(DDUBLK_SOCKET=$sock "$CTL" list --json 2>"$tmp/stderr"); rc=$?; err=$(cat "$tmp/stderr")
expect_json "DDUBLK_SOCKET reaches the daemon" 'len(v) == 2'

out=$(DDUBLK_SOCKET=$tmp/env.sock "$CTL" --socket "$sock" list --json 2>"$tmp/stderr")
rc=$?; err=$(cat "$tmp/stderr")
expect_json "--socket beats DDUBLK_SOCKET" 'len(v) == 2'

run list --json --socket "$sock"
expect_json "--socket after the command" 'len(v) == 2'

run "${S[@]}" del close
expect "connection closed without a reply" 3 "" \
	"ublk-ctl: $sock closed the connection without replying"

start=$SECONDS
run "${S[@]}" --timeout 1 add --name hang --backend nvme0 --size 4K
expect "no reply in time" 3 "" \
	"ublk-ctl: no reply from $sock within 1 s (the request may still complete)"
[ $((SECONDS - start)) -le 5 ] && ok "--timeout 1 returns promptly" \
	|| not_ok "--timeout 1 took $((SECONDS - start)) s"

run "${S[@]}" --timeout 0.3 del hang
expect "fractional timeout" 3 "" \
	"ublk-ctl: no reply from $sock within 0.3 s (the request may still complete)"

# ---- an empty table ---------------------------------------------------------

run "${S[@]}" del web.1
run "${S[@]}" del old
expect "last del" 0 "" ""
run "${S[@]}" list
expect "list with no tenants: just the header" 0 \
	"NAME  DEVICE  STATE  BACKEND  OFFSET  SIZE  QUEUES  DEPTH" ""
run "${S[@]}" list --json
expect "list --json with no tenants" 0 "[]" ""

# ---- usage errors: exit 2, nothing sent -------------------------------------

sent_before=$(wc -l <"$requests")
run "${S[@]}"
expect_usage "no command" "ublk-ctl: missing command"
run "${S[@]}" start
expect_usage "unknown command" "ublk-ctl: unknown command 'start'"
run "${S[@]}" --bogus list
expect_usage "unknown global option" "ublk-ctl: unknown option '--bogus'"
run "${S[@]}" add --name db --backend nvme0
expect_usage "add without --size" "ublk-ctl: add: missing --size"
run "${S[@]}" add --backend nvme0 --size 1G
expect_usage "add without --name" "ublk-ctl: add: missing --name"
run "${S[@]}" add --name db --size 1G
expect_usage "add without --backend" "ublk-ctl: add: missing --backend"
run "${S[@]}" add --name db --backend nvme0 --size 12X
expect_usage "bad size" "ublk-ctl: add: invalid size '12X' (use e.g. 4K, 64M, 1G, 2T)"
run "${S[@]}" add --name db --backend nvme0 --size 1000
expect_usage "unaligned size" "ublk-ctl: add: size must be a positive multiple of 4096 bytes, not 1000"
run "${S[@]}" add --name db --backend nvme0 --size 0
expect_usage "zero size" "ublk-ctl: add: size must be a positive multiple of 4096 bytes, not 0"
run "${S[@]}" add --name db --backend nvme0 --size 4K --queues 65
expect_usage "too many queues" "ublk-ctl: add: --queues must be an integer from 1 to 64, not '65'"
run "${S[@]}" add --name db --backend nvme0 --size 4K --depth -1
expect_usage "negative depth" "ublk-ctl: add: --depth must be an integer from 1 to 1024, not '-1'"
run "${S[@]}" add --name a/b --backend nvme0 --size 4K
expect_usage "bad tenant name" \
	"ublk-ctl: add: invalid tenant name \"a/b\" (use letters, digits, '_', '.', '-')"
run "${S[@]}" add --name db --backend nvme0 --size 4K --sise 4K
expect_usage "unknown add option" "ublk-ctl: add: unknown option '--sise'"
run "${S[@]}" add --name
expect_usage "option without its argument" "ublk-ctl: add: option '--name' needs an argument"
run "${S[@]}" del
expect_usage "del without NAME" "ublk-ctl: del: missing NAME"
run "${S[@]}" del a b
expect_usage "del with two names" "ublk-ctl: del: unexpected argument 'b'"
run "${S[@]}" list extra
expect_usage "list with an argument" "ublk-ctl: list: unexpected argument 'extra'"
run "${S[@]}" list --json=yes
expect_usage "flag with a value" "ublk-ctl: list: option '--json' takes no argument"
run --timeout soon "${S[@]}" list
expect_usage "bad timeout" \
	"ublk-ctl: invalid timeout 'soon' (seconds, e.g. 60 or 0.5; 0 waits forever)"
run --socket "$tmp/$(printf 'x%.0s' $(seq 120))" list
expect_usage "socket path too long" \
	"ublk-ctl: socket path too long (max 107 bytes): $tmp/$(printf 'x%.0s' $(seq 120))"

echo "1..$n"
if [ "$failed" -ne 0 ]; then
	echo "# $failed of $n failed"
	exit 1
fi
echo "# all $n passed"
