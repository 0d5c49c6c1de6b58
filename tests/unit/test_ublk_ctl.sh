#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# ublk-ctl against a fake daemon: a python3 unix-socket server (standard
# library only) that keeps a tenant table and answers like ddublkd. Checks
# stdout, stderr and exit status of every command, refusals, no daemon,
# timeouts and usage errors, and the exact request lines on the wire.
# What "reload" answers is chosen by writing a mode to $reload_mode.
#
# usage: test_ublk_ctl.sh PATH/TO/ublk-ctl
set -u

CTL=${1:?usage: test_ublk_ctl.sh PATH/TO/ublk-ctl}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ublk-ctl-test.XXXXXX") || exit 1
sock=$tmp/ctl.sock
requests=$tmp/requests.log
reload_mode=$tmp/reload_mode
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

path, log, mode_file = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
# One tenant from "before", as an older daemon reports it (no class, QoS,
# recovery, uuid or created): no device, failed.
tenants = [dict(name="old", device="", dev_id=-1, state="failed", backend="img",
                offset=0, size=1536 << 20, queues=2, depth=128)]
next_offset = {"nvme0": 1 << 20}
FEATURES = {"opcodes": "ioctl", "flags": ["USER_RECOVERY", "USER_RECOVERY_REISSUE"],
            "flags_raw": 24, "kernel": "6.1.0-test"}
BACKENDS = [{"name": "nvme0", "kind": "nvme passthrough", "queue_route": "steering", "hw_queues": 64,
             "reachable_queues": 64, "poll_queues": 62},
            {"name": "nvme1", "kind": "nvme passthrough", "queue_route": "pinned", "hw_queues": 64,
             "reachable_queues": 2, "poll_queues": 0},
            {"name": "img", "kind": "file", "queue_route": "none", "hw_queues": 0,
             "reachable_queues": 0, "poll_queues": 0}]

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
             size=req["size"], queues=req.get("queues") or 1, depth=req.get("depth") or 64,
             # as ddublkd: the defaults of what the request leaves out
             **{"class": req.get("class", "besteffort")},
             iops_limit=req.get("iops_limit", 0), bw_limit=req.get("bw_limit", 0),
             weight=req.get("weight", 100), recovery=req.get("recovery", True),
             uuid="00000000-0000-4000-8000-%012d" % dev_id, created=1795000000 + dev_id,
             # as ddublkd: reservations and the latency goal only when set
             **{k: req[k] for k in ("min_iops", "min_bw", "latency_target_us") if k in req})
    if name == "weird":
        t["class"] = "turbo"  # a class this ublk-ctl does not know
    if name == "probe":  # answered, not kept: for checking request lines
        t.update(device="/dev/ublkb9", dev_id=9)
        return {"ok": True, "tenant": t}
    next_offset[req["backend"]] += req["size"]
    tenants.append(t)
    return {"ok": True, "tenant": t}

# Change lines as ddublkd words them, by reload mode.
CHANGES = {
    "none": [],
    "live": ['+ tenant "c": add 1 GiB on nvme0',
             '~ tenant "a": class besteffort -> latency, iops_limit 0 -> 5000'],
    "destructive": ['~ tenant "a": weight 100 -> 7',
                    '- tenant "b": remove: 1 GiB on nvme0 (needs --force)',
                    '! tenant "d": size 1 GiB -> 2 GiB (needs --force)'],
    "long": ['- tenant "t%03d": remove: 64 MiB on nvme0 (needs --force)' % i
             for i in range(150)],
}

def reload(req):
    try:
        with open(mode_file) as f:
            mode = f.read().strip()
    except FileNotFoundError:
        mode = "none"
    if mode == "invalid":
        return err("/etc/ddublk/policy.conf:12: iops_limit: must be 0 (no limit) or an "
                   "integer from 1 to 10000000; nothing was changed")
    if mode == "no_payload":
        return {"ok": True}
    if mode == "no_changes_key":
        return {"ok": True, "reload": {"applied": True}}
    if mode == "applied_not_bool":
        return {"ok": True, "reload": {"applied": 1, "changes": []}}
    if mode == "not_strings":
        return {"ok": True, "reload": {"applied": True, "changes": ['~ tenant "a": x', 5]}}
    changes = CHANGES[mode]
    destructive = sum("(needs --force)" in c for c in changes)
    if destructive and not req.get("force") and not req.get("dry_run"):
        return err('reload refused: %d destructive change%s (marked "needs --force"); '
                   'nothing was changed' % (destructive, "" if destructive == 1 else "s")
                   + "".join("\n" + c for c in changes))
    return {"ok": True, "reload": {"applied": bool(changes) and not req.get("dry_run"),
                                   "changes": changes}}

# Statistics that grow by a fixed amount per "stats" request, one daemon second apart:
# tenant db does 1000 reads/s of 4 KiB, 90% at ~100 us and 10% at ~1 ms device time.
stats_calls = [0]

def hist(k, fast, slow):
    return {"count": 100 * k, "sum_ns": k * (90 * fast + 10 * slow), "max_ns": slow if k else 0,
            "p50_ns": fast if k else 0, "p90_ns": fast if k else 0, "p99_ns": slow if k else 0,
            "p999_ns": slow if k else 0,
            "buckets": [[fast, 90 * k], [slow, 10 * k]] if k else []}

def tenant_stats(name, cls, k, reads, writes, nqs):
    t = {"name": name, "device": "/dev/ublkb0" if name == "db" else "", "backend": "nvme0",
         "class": cls, "state": "live", "arrived": (reads + writes) * k,
         "completed": (reads + writes) * k - (2 if k else 0), "inflight": 2 if k else 0,
         "errors": {"out_of_range": 1 if name == "old" else 0, "unsupported": 0, "io": 0,
                    "timeout": 0, "other": 0},
         "throttled": 0, "throttled_ns": 0, "nqs": nqs,
         "queue_lat": hist(k // 10 * 10, 2047, 4095), "dev_lat": hist(k * (reads // 100), 100351, 1015807)}
    for op, n in (("read", reads), ("write", writes), ("flush", 0), ("discard", 0),
                  ("write_zeroes", 0)):
        t[op + "_ops"] = n * k
        if op != "flush":
            t[op + "_bytes"] = n * k * 4096
    return t

def stats(req):
    stats_calls[0] += 1
    k = stats_calls[0]
    ts = [tenant_stats("db", "latency", k, 1000, 0, [1]),
          tenant_stats("old", "throughput", k, 10, 500, [2])]
    # db has objectives; old comes from a daemon without "slo" (a reader tolerates that)
    ts[0]["slo"] = {"target_us": 1000, "p99_us": 1015, "intervals": 40, "violations": 3,
                    "reserved_iops": 500, "reserved_bw": 1048576, "reserved_pct": 0.4,
                    "used_iops": 1000, "used_bw": 4096000, "used_pct": 0.6}
    if req.get("name"):
        ts = [t for t in ts if t["name"] == req["name"]]
        if not ts:
            return err('no tenant named "%s"' % req["name"])
    nqs = [{"backend": "nvme0", "namespace": "nvme0n1", "index": i, "qid": i + 1,
            "kind": "default", "group": g, "cpus": str(i), "submitter_cpu": i, "depth": 1015,
            "inflight": i, "inflight_bytes": 4096 * i, "cmds": 500 * k * (i + 1),
            "bytes": 2048000 * k, "direct": 500 * k, "hopped": 0,
            "lat": hist(k, 100351, 1015807)} for i, g in enumerate(("latency", "throughput"))]
    try:  # how many workers the daemon has: 2, or what the test wrote
        with open(mode_file + ".workers") as f:
            nw = int(f.read())
    except FileNotFoundError:
        nw = 2
    workers = [{"index": i, "cpu": i, "tid": 100 + i, "cpu_ns": 250000000 * k,
                "ublk_ops": 600 * k, "backend_ops": 600 * k, "returned": 0, "ring_enters": 70 * k} for i in range(nw)]
    scheds = [{"backend": "nvme0", "namespace": "nvme0n1", "mode": "daredevil",
               "latency_active": True, "latency_target_us": 1000, "latency_p99_us": 4200,
               "target": "unmet-alone", "throughput_cap": 4194304, "cap": "off",
               "cap_cuts": 3, "cap_fruitless": 1, "cap_raises": 2}]
    return {"ok": True, "stats": {"version": 1, "time_ns": k * 1000000000, "tenants": ts,
                                  "nqs": nqs, "workers": workers, "schedulers": scheds}}

def dispatch(req):
    cmd = req.get("cmd")
    if cmd == "stats" and req.get("name") == "badstats":
        return {"ok": True, "stats": {"tenants": []}}
    if cmd == "stats":
        return stats(req)
    if cmd == "add":
        return add(req)
    if cmd == "del":
        # "held" stands for a mounted device: refused unless forced.
        if req["name"] == "held" and not req.get("force"):
            return err('tenant "held": /dev/ublkb2 is in use: mounted at /mnt/held; opened by '
                       'pid 812 (fio); nothing was changed (unmount it and stop those processes '
                       'first, or `ublk-ctl del --force held` to delete it under them: their '
                       'I/O fails)')
        for t in tenants:
            if t["name"] == req["name"]:
                tenants.remove(t)
                return {"ok": True}
        return err('no tenant "%s"' % req["name"])
    if cmd == "list":
        return {"ok": True, "tenants": tenants}
    if cmd == "features":
        # A newer daemon adds "backends" (the reload mode file picks it).
        try:
            with open(mode_file) as f:
                mode = f.read().strip()
        except OSError:
            mode = "none"
        if mode == "backends":
            return {"ok": True, "features": dict(FEATURES, backends=BACKENDS)}
        if mode == "bad_backends":
            return {"ok": True, "features": dict(FEATURES, backends=[{"name": "nvme0"}])}
        return {"ok": True, "features": FEATURES}
    if cmd == "reload":
        return reload(req)
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

python3 "$tmp/fake_ddublkd.py" "$sock" "$requests" "$reload_mode" &
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
	err=$(<"$tmp/stderr")
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
for cmd in add list del reload features; do
	run "$cmd" --help
	expect_match "$cmd --help" 0 "^    ublk-ctl $cmd - "
	grep -q "^EXIT STATUS" <<<"$out" || not_ok "$cmd --help has EXIT STATUS"
	grep -q "^EXAMPLE" <<<"$out" || not_ok "$cmd --help has an EXAMPLE"
	help_out=$out
	run help "$cmd"
	[ "$out" = "$help_out" ] && ok "help $cmd = $cmd --help" || not_ok "help $cmd = $cmd --help"
done
run add --help
for opt in --name --backend --size --queues --depth --class --iops-limit --bw-limit --weight \
	--min-iops --min-bw --latency-target --no-recovery; do
	grep -qE -- "^    $opt( |\$)" <<<"$out" || not_ok "add --help documents $opt"
done
run reload --help
for opt in --force --dry-run; do
	grep -qE -- "^    $opt\$" <<<"$out" || not_ok "reload --help documents $opt"
done
run help
grep -qF "    ublk-ctl reload [--force] [--dry-run]" <<<"$out" \
	&& ok "help: reload in the synopsis" || not_ok "help: reload in the synopsis"
grep -qE "^    reload    apply the daemon's policy file again" <<<"$out" \
	&& ok "help: reload in the commands" || not_ok "help: reload in the commands"
run list --help
grep -qF "NAME DEVICE STATE BACKEND OFFSET SIZE QUEUES DEPTH CLASS LIMITS SLO" <<<"$out" \
	&& ok "list --help names the new columns" || not_ok "list --help names the new columns"
run "${S[@]}" list --help
expect_match "list --help with a socket" 0 "^NAME"
[ "$(wc -l <"$requests")" = 0 ] && ok "--help sends no request" || not_ok "--help sent a request"

# ---- add / list / del / features ----------------------------------------------

run "${S[@]}" list
expect "list: the table, a tenant without device (and without QoS fields)" 0 \
"NAME  DEVICE  STATE   BACKEND  OFFSET  SIZE     QUEUES  DEPTH  CLASS       LIMITS  SLO
old   -       failed  img      0 B     1.5 GiB  2       128    besteffort  -       -" ""
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
"NAME   DEVICE       STATE   BACKEND  OFFSET   SIZE     QUEUES  DEPTH  CLASS       LIMITS  SLO
old    -            failed  img      0 B      1.5 GiB  2       128    besteffort  -       -
db     /dev/ublkb0  live    nvme0    1 MiB    512 MiB  2       64     besteffort  -       -
web.1  /dev/ublkb1  live    nvme0    513 MiB  64 MiB   1       128    besteffort  -       -" ""

run "${S[@]}" list --json
expect_json "list --json is the tenants array" \
	'isinstance(v, list) and [t["name"] for t in v] == ["old", "db", "web.1"] and v[1] == {"name": "db", "device": "/dev/ublkb0", "dev_id": 0, "state": "live", "backend": "nvme0", "offset": 1048576, "size": 536870912, "queues": 2, "depth": 64, "class": "besteffort", "iops_limit": 0, "bw_limit": 0, "weight": 100, "recovery": True, "uuid": "00000000-0000-4000-8000-000000000000", "created": 1795000000} and "class" not in v[0]'
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

# A daemon that reports how it reaches each backend's NVMe queues.
echo backends >"$reload_mode"
run "${S[@]}" features
expect "features with backends" 0 "ublk opcodes: ioctl
ublk flags: USER_RECOVERY USER_RECOVERY_REISSUE (0x18)
kernel: 6.1.0-test
backend nvme0 (nvme passthrough): queue steering, 64 of 64 NVMe queues reachable (62 polled)
backend nvme1 (nvme passthrough): pinned submitters, 2 of 64 NVMe queues reachable (0 polled)
backend img (file): no NVMe queue routing" ""
run "${S[@]}" features --json
expect_json "features --json with backends" \
	'[b["queue_route"] for b in v["backends"]] == ["steering", "pinned", "none"] and v["backends"][0]["reachable_queues"] == 64'
echo bad_backends >"$reload_mode"
run "${S[@]}" features
expect "features with a malformed backend" 1 "" \
	'ublk-ctl: malformed reply from the daemon (bad "backends")'
echo none >"$reload_mode"

run "${S[@]}" del db
expect "del prints nothing" 0 "" ""
expect_request "del request on the wire" '{"cmd":"del","name":"db"}'

run "${S[@]}" list --json
expect_json "del took effect" '[t["name"] for t in v] == ["old", "web.1"]'

run "${S[@]}" add --name held --backend nvme0 --size 4K
expect "add held" 0 "/dev/ublkb0" ""
run "${S[@]}" del held
expect "del of a device in use is refused, holders named" 1 "" \
'ublk-ctl: tenant "held": /dev/ublkb2 is in use: mounted at /mnt/held; opened by pid 812 (fio); nothing was changed (unmount it and stop those processes first, or `ublk-ctl del --force held` to delete it under them: their I/O fails)'
expect_request "del without --force on the wire" '{"cmd":"del","name":"held"}'
run "${S[@]}" list --json
expect_json "a refused del leaves the tenant" '[t["name"] for t in v] == ["old", "web.1", "held"]'
run "${S[@]}" del held --force
expect "del --force (after NAME) deletes it" 0 "" ""
expect_request "del --force on the wire" '{"cmd":"del","name":"held","force":true}'
run "${S[@]}" add --name held --backend nvme0 --size 4K
run "${S[@]}" del --force held
expect "del --force (before NAME)" 0 "" ""
expect_request "del --force NAME on the wire" '{"cmd":"del","name":"held","force":true}'
run "${S[@]}" list --json
expect_json "del --force took effect" '[t["name"] for t in v] == ["old", "web.1"]'

# ---- reload --------------------------------------------------------------------

echo live >"$reload_mode"
run "${S[@]}" reload
expect "reload prints the changes" 0 \
'+ tenant "c": add 1 GiB on nvme0
~ tenant "a": class besteffort -> latency, iops_limit 0 -> 5000' ""
expect_request "reload on the wire" '{"cmd":"reload"}'

run "${S[@]}" reload --dry-run
expect "reload --dry-run says nothing changed" 0 \
'+ tenant "c": add 1 GiB on nvme0
~ tenant "a": class besteffort -> latency, iops_limit 0 -> 5000
(dry run: nothing was changed)' ""
expect_request "reload --dry-run on the wire" '{"cmd":"reload","dry_run":true}'

echo none >"$reload_mode"
run "${S[@]}" reload
expect "reload with nothing to do" 0 "no changes" ""
run "${S[@]}" reload --dry-run
expect "reload --dry-run with nothing to do" 0 "no changes" ""

echo destructive >"$reload_mode"
run "${S[@]}" reload
expect "reload refused: exit 1, the daemon's lines verbatim" 1 "" \
'ublk-ctl: reload refused: 2 destructive changes (marked "needs --force"); nothing was changed
~ tenant "a": weight 100 -> 7
- tenant "b": remove: 1 GiB on nvme0 (needs --force)
! tenant "d": size 1 GiB -> 2 GiB (needs --force)'
expect_request "refused reload on the wire" '{"cmd":"reload"}'

run "${S[@]}" reload --dry-run
expect "reload --dry-run of destructive changes" 0 \
'~ tenant "a": weight 100 -> 7
- tenant "b": remove: 1 GiB on nvme0 (needs --force)
! tenant "d": size 1 GiB -> 2 GiB (needs --force)
(dry run: nothing was changed)' ""

run "${S[@]}" reload --force
expect "reload --force applies them" 0 \
'~ tenant "a": weight 100 -> 7
- tenant "b": remove: 1 GiB on nvme0 (needs --force)
! tenant "d": size 1 GiB -> 2 GiB (needs --force)' ""
expect_request "reload --force on the wire" '{"cmd":"reload","force":true}'

run "${S[@]}" reload --dry-run --force
expect "reload --dry-run --force" 0 \
'~ tenant "a": weight 100 -> 7
- tenant "b": remove: 1 GiB on nvme0 (needs --force)
! tenant "d": size 1 GiB -> 2 GiB (needs --force)
(dry run: nothing was changed)' ""
expect_request "reload --dry-run --force on the wire" '{"cmd":"reload","force":true,"dry_run":true}'

run reload --force --socket "$sock" --dry-run
expect_request "reload: --socket among the flags" '{"cmd":"reload","force":true,"dry_run":true}'

# a refusal longer than any fixed buffer still arrives whole
echo long >"$reload_mode"
run "${S[@]}" reload
want_err='ublk-ctl: reload refused: 150 destructive changes (marked "needs --force"); nothing was changed'
want_err+=$(printf -- '\n- tenant "t%03d": remove: 64 MiB on nvme0 (needs --force)' $(seq 0 149))
expect "a long refusal, verbatim and whole (${#want_err} bytes)" 1 "" "$want_err"

echo invalid >"$reload_mode"
run "${S[@]}" reload --force
expect "reload of an invalid policy file" 1 "" \
	"ublk-ctl: /etc/ddublk/policy.conf:12: iops_limit: must be 0 (no limit) or an integer from 1 to 10000000; nothing was changed"

echo no_payload >"$reload_mode"
run "${S[@]}" reload
expect "reload reply without \"reload\"" 1 "" \
	'ublk-ctl: malformed reply from the daemon (no "reload")'
echo no_changes_key >"$reload_mode"
run "${S[@]}" reload
expect "reload reply without \"changes\"" 1 "" \
	'ublk-ctl: malformed reply from the daemon (bad "reload")'
echo applied_not_bool >"$reload_mode"
run "${S[@]}" reload
expect "reload reply with a non-boolean \"applied\"" 1 "" \
	'ublk-ctl: malformed reply from the daemon (bad "reload")'
echo not_strings >"$reload_mode"
run "${S[@]}" reload
expect "reload reply with a change that is not a string: nothing printed" 1 "" \
	'ublk-ctl: malformed reply from the daemon (bad "changes")'
echo none >"$reload_mode"

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
	"NAME  DEVICE  STATE  BACKEND  OFFSET  SIZE  QUEUES  DEPTH  CLASS  LIMITS  SLO" ""
run "${S[@]}" list --json
expect "list --json with no tenants" 0 "[]" ""

# ---- add: class, QoS and recovery ---------------------------------------------

W='{"cmd":"add","name":"probe","backend":"nvme0","size":4096' # the wire line, up to size

# add_probe DESC WIRE-TAIL FLAGS...: add "probe" (answered, not kept) with FLAGS.
add_probe() {
	local desc=$1 tail=$2
	shift 2
	run "${S[@]}" add --name probe --backend nvme0 --size 4K "$@"
	expect "add $desc" 0 "/dev/ublkb9" ""
	expect_request "add $desc: on the wire" "$W$tail}"
}
add_probe "--class latency" ',"class":"latency"' --class latency
add_probe "--class throughput" ',"class":"throughput"' --class throughput
add_probe "--iops-limit 2000" ',"iops_limit":2000' --iops-limit 2000
add_probe "--bw-limit 100M" ',"bw_limit":104857600' --bw-limit 100M
add_probe "--bw-limit 4K" ',"bw_limit":4096' --bw-limit 4K
add_probe "--bw-limit in bytes" ',"bw_limit":5000' --bw-limit 5000
add_probe "--weight 7" ',"weight":7' --weight 7
add_probe "--weight 10000" ',"weight":10000' --weight 10000
add_probe "the defaults, left out" '' --class besteffort --iops-limit 0 --bw-limit 0 --weight 100
add_probe "--no-recovery" ',"recovery":false' --no-recovery
add_probe "every new flag, any order" \
	',"queues":2,"depth":32,"class":"throughput","iops_limit":2000,"bw_limit":104857600,"weight":7,"recovery":false' \
	--no-recovery --weight 7 --bw-limit 100M --iops-limit 2000 --class throughput --depth 32 \
	--queues 2
add_probe "the last of a repeated flag wins" ',"class":"latency","weight":3' \
	--class throughput --class latency --weight 5 --weight 3
add_probe "--flag=VALUE form" ',"class":"latency","iops_limit":9,"weight":1' \
	--class=latency --iops-limit=9 --weight=1
add_probe "--min-iops 1000" ',"min_iops":1000' --min-iops 1000
add_probe "--min-iops 10000000" ',"min_iops":10000000' --min-iops 10000000
add_probe "--min-bw 50M" ',"min_bw":52428800' --min-bw 50M
add_probe "--min-bw 4K" ',"min_bw":4096' --min-bw 4K
add_probe "--min-bw 1T" ',"min_bw":1099511627776' --min-bw 1T
add_probe "--latency-target 500" ',"latency_target_us":500' --latency-target 500
add_probe "--latency-target 10" ',"latency_target_us":10' --latency-target 10
add_probe "--latency-target 10000000" ',"latency_target_us":10000000' --latency-target 10000000
add_probe "no reservation, the scheduler's goal: left out" '' --min-iops 0 --min-bw 0 \
	--latency-target 0
add_probe "reservations as large as the limits" \
	',"iops_limit":2000,"bw_limit":104857600,"min_iops":2000,"min_bw":104857600' \
	--min-bw 100M --min-iops 2000 --iops-limit 2000 --bw-limit 100M
add_probe "--min-iops=N --min-bw=SIZE --latency-target=US" \
	',"min_iops":7,"min_bw":8192,"latency_target_us":300' \
	--latency-target=300 --min-bw=8K --min-iops=7

# tenants for the table, one per LIMITS form, and the bounds
run "${S[@]}" add --name lat --backend nvme0 --size 4M --class latency
run "${S[@]}" add --name tput --backend nvme0 --size 4M --class throughput --iops-limit 2000 \
	--bw-limit 100M
run "${S[@]}" add --name iops --backend nvme0 --size 4M --iops-limit 500
run "${S[@]}" add --name bw --backend nvme0 --size 4M --bw-limit 1536K --weight 1
run "${S[@]}" add --name max --backend nvme0 --size 4M --iops-limit 10000000 --bw-limit 1T \
	--no-recovery
expect "add with the largest limits" 0 "/dev/ublkb4" ""
expect_request "add with the largest limits: on the wire" \
	'{"cmd":"add","name":"max","backend":"nvme0","size":4194304,"iops_limit":10000000,"bw_limit":1099511627776,"recovery":false}'
# and one per SLO form
run "${S[@]}" add --name goal --backend nvme0 --size 4M --class latency --latency-target 500
run "${S[@]}" add --name resv --backend nvme0 --size 4M --min-iops 20000 --min-bw 50M \
	--iops-limit 30000
run "${S[@]}" add --name all --backend nvme0 --size 4M --min-bw 1536K --latency-target 10000000
run "${S[@]}" list
expect "list: CLASS, LIMITS and SLO" 0 \
"NAME  DEVICE       STATE  BACKEND  OFFSET   SIZE   QUEUES  DEPTH  CLASS       LIMITS                  SLO
lat   /dev/ublkb0  live   nvme0    577 MiB  4 MiB  1       64     latency     -                       -
tput  /dev/ublkb1  live   nvme0    581 MiB  4 MiB  1       64     throughput  2000 IOPS, 100 MiB/s    -
iops  /dev/ublkb2  live   nvme0    585 MiB  4 MiB  1       64     besteffort  500 IOPS                -
bw    /dev/ublkb3  live   nvme0    589 MiB  4 MiB  1       64     besteffort  1.5 MiB/s               -
max   /dev/ublkb4  live   nvme0    593 MiB  4 MiB  1       64     besteffort  10000000 IOPS, 1 TiB/s  -
goal  /dev/ublkb5  live   nvme0    597 MiB  4 MiB  1       64     latency     -                       p99 500 us
resv  /dev/ublkb6  live   nvme0    601 MiB  4 MiB  1       64     besteffort  30000 IOPS              min 20000 IOPS, min 50 MiB/s
all   /dev/ublkb7  live   nvme0    605 MiB  4 MiB  1       64     besteffort  -                       p99 10000000 us, min 1.5 MiB/s" ""
run "${S[@]}" list --json
expect_json "list --json: the new fields as the daemon sent them" \
	'[(t["name"], t["class"], t["iops_limit"], t["bw_limit"], t["weight"], t["recovery"]) for t in v][:5] == [("lat", "latency", 0, 0, 100, True), ("tput", "throughput", 2000, 104857600, 100, True), ("iops", "besteffort", 500, 0, 100, True), ("bw", "besteffort", 0, 1572864, 1, True), ("max", "besteffort", 10000000, 1099511627776, 100, False)] and v[4]["uuid"] == "00000000-0000-4000-8000-000000000004" and v[4]["created"] == 1795000004 and [(t.get("min_iops"), t.get("min_bw"), t.get("latency_target_us")) for t in v[4:]] == [(None, None, None), (None, None, 500), (20000, 52428800, None), (None, 1572864, 10000000)]'

# a class this ublk-ctl does not know: malformed, not guessed at
run "${S[@]}" add --name weird --backend nvme0 --size 4K
expect "add: reply with an unknown class" 1 "" \
	'ublk-ctl: malformed reply from the daemon (bad "tenant")'
run "${S[@]}" list
expect "list: a tenant with an unknown class" 1 "" \
	"ublk-ctl: malformed reply from the daemon (bad tenant #9)"

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

BAD_CLASS="ublk-ctl: add: --class must be latency, throughput or besteffort, not"
BAD_IOPS="ublk-ctl: add: --iops-limit must be 0 (no limit) or an integer up to 10000000, not"
BAD_BW="ublk-ctl: add: --bw-limit must be 0 (no limit) or 4K to 1T per second, e.g. 100M, not"
BAD_WEIGHT="ublk-ctl: add: --weight must be an integer from 1 to 10000, not"
A=(add --name db --backend nvme0 --size 4K)
for v in fast LATENCY; do
	run "${S[@]}" "${A[@]}" --class "$v"
	expect_usage "--class '$v'" "$BAD_CLASS '$v'"
done
for v in -1 10000001 1e3 " 5" +5 ""; do
	run "${S[@]}" "${A[@]}" --iops-limit "$v"
	expect_usage "--iops-limit '$v'" "$BAD_IOPS '$v'"
done
for v in 4095 2T -1 1.5M; do
	run "${S[@]}" "${A[@]}" --bw-limit "$v"
	expect_usage "--bw-limit '$v'" "$BAD_BW '$v'"
done
for v in 0 10001 4294967396; do
	run "${S[@]}" "${A[@]}" --weight "$v"
	expect_usage "--weight '$v'" "$BAD_WEIGHT '$v'"
done
BAD_MIN_IOPS="ublk-ctl: add: --min-iops must be 0 (none) or an integer up to 10000000, not"
BAD_MIN_BW="ublk-ctl: add: --min-bw must be 0 (none) or 4K to 1T per second, e.g. 50M, not"
BAD_TARGET="ublk-ctl: add: --latency-target must be 0 (the scheduler's) or 10 to 10000000 microseconds, not"
for v in -1 10000001 1e3 " 5" +5 "" 4294967296; do
	run "${S[@]}" "${A[@]}" --min-iops "$v"
	expect_usage "--min-iops '$v'" "$BAD_MIN_IOPS '$v'"
done
for v in 4095 2T -1 1.5M fast; do
	run "${S[@]}" "${A[@]}" --min-bw "$v"
	expect_usage "--min-bw '$v'" "$BAD_MIN_BW '$v'"
done
for v in 9 1 10000001 -10 500us 1ms "" 4294967796; do
	run "${S[@]}" "${A[@]}" --latency-target "$v"
	expect_usage "--latency-target '$v'" "$BAD_TARGET '$v'"
done
run "${S[@]}" "${A[@]}" --min-iops 1001 --iops-limit 1000
expect_usage "--min-iops above --iops-limit" \
	"ublk-ctl: add: --min-iops 1001 is above --iops-limit 1000: a reservation cannot exceed the limit"
run "${S[@]}" "${A[@]}" --bw-limit 100M --min-bw 101M
expect_usage "--min-bw above --bw-limit" \
	"ublk-ctl: add: --min-bw 105906176 is above --bw-limit 104857600 (bytes per second): a reservation cannot exceed the limit"
run "${S[@]}" add --name db --backend nvme0 --size 1000 --min-iops 2 --iops-limit 1
expect_usage "a bad size before a reservation above its limit" \
	"ublk-ctl: add: size must be a positive multiple of 4096 bytes, not 1000"
run "${S[@]}" "${A[@]}" --no-recovery=yes
expect_usage "--no-recovery takes no value" \
	"ublk-ctl: add: option '--no-recovery' takes no argument"
run "${S[@]}" "${A[@]}" --class
expect_usage "--class without its value" "ublk-ctl: add: option '--class' needs an argument"
run "${S[@]}" "${A[@]}" --recovery
expect_usage "there is no --recovery" "ublk-ctl: add: unknown option '--recovery'"
run "${S[@]}" add --class fast
expect_usage "a bad flag before missing ones" "$BAD_CLASS 'fast'"
run "${S[@]}" "${A[@]}" --force
expect_usage "add takes no --force" "ublk-ctl: add: unknown option '--force'"
run "${S[@]}" reload extra
expect_usage "reload with an argument" "ublk-ctl: reload: unexpected argument 'extra'"
run "${S[@]}" reload --force=yes
expect_usage "reload --force takes no value" "ublk-ctl: reload: option '--force' takes no argument"
run "${S[@]}" reload --dry_run
expect_usage "reload --dry_run is not --dry-run" "ublk-ctl: reload: unknown option '--dry_run'"
run "${S[@]}" reload -f
expect_usage "reload has no short options" "ublk-ctl: reload: unknown option '-f'"
run "${S[@]}" reload --class latency
expect_usage "reload takes no add flags" "ublk-ctl: reload: unknown option '--class'"
run "${S[@]}" del
expect_usage "del without NAME" "ublk-ctl: del: missing NAME"
run "${S[@]}" del a b
expect_usage "del with two names" "ublk-ctl: del: unexpected argument 'b'"
run "${S[@]}" del --force
expect_usage "del --force without NAME" "ublk-ctl: del: missing NAME"
run "${S[@]}" del --force=yes db
expect_usage "del --force takes no value" "ublk-ctl: del: option '--force' takes no argument"
run "${S[@]}" del -f db
expect_usage "del has no short --force" "ublk-ctl: del: unknown option '-f'"
run "${S[@]}" del --dry-run db
expect_usage "del has no --dry-run" "ublk-ctl: del: unknown option '--dry-run'"
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

# ---- stats, nq, top -------------------------------------------------------------

run "${S[@]}" stats
expect_match "stats: tenant table" 0 '^NAME +CLASS +READS +WRITES +READ +WRITTEN +INFL +ERRORS +THROTTLED +Q-P99 +D-P50 +D-P99 +D-P99.9 +D-MAX +NQS$'
expect_request "stats: the request" '{"cmd":"stats"}'
expect_match "stats: db's row" 0 '^db +latency +1000 +0 +3\.9 MiB +0 B +2 +0 +0 / - +- +102us +1\.0ms +1\.0ms +1\.0ms +1$'
expect_match "stats: errors by kind" 0 '^errors of old: out_of_range 1 unsupported 0 io 0 timeout 0 other 0$'
expect_match "stats: NQ table" 0 '^nvme0 +2 +default +throughput +1 +1 +1015 +1 '
expect_match "stats: worker table" 0 '^ +1 +1 +101 +[0-9.]+s +[0-9]+ +[0-9]+ +0 +70$'
expect_match "stats: SLO table" 0 '^NAME +TARGET +P99-1S +MISSED +RESERVED +RES-SHARE +USED +USED-SHARE$'
expect_match "stats: db's objectives, missed 3 of 40 seconds" 0 '^db +1\.0ms +1\.0ms +3/40 +500 IOPS \+ 1(\.0)? MiB/s +0\.4% +1000 IOPS 3\.9 MiB/s +0\.6%$'
if grep -q '^old ' <<<"$(sed -n '/^NAME  *TARGET/,/^$/p' <<<"$out")"; then
	not_ok "stats: a tenant without objectives has no SLO row" "" "$out" ""
else
	ok "stats: a tenant without objectives has no SLO row"
fi
expect_match "stats: scheduler table" 0 '^BACKEND +MODE +L-ACTIVE +L-P99 +TARGET +VERDICT +T-CAP +CUTS +FRUITLESS +RAISES$'
expect_match "stats: the target L cannot meet, the cap off" 0 '^nvme0 +daredevil +yes +4\.2ms +1\.0ms +unmet-alone +off +3 +1 +2$'
run "${S[@]}" stats db --json
expect_request "stats NAME: the request" '{"cmd":"stats","name":"db"}'
expect_json "stats NAME --json: the daemon's object" \
	'v["version"] == 1 and [t["name"] for t in v["tenants"]] == ["db"] and len(v["nqs"]) == 2 and v["tenants"][0]["dev_lat"]["p99_ns"] == 1015807'
run "${S[@]}" stats nosuch
expect "stats: unknown tenant" 1 "" 'ublk-ctl: no tenant named "nosuch"'
run "${S[@]}" stats badstats
expect "stats: a reply without time_ns" 1 "" \
	'ublk-ctl: malformed reply from the daemon (stats: no "time_ns")'
run "${S[@]}" stats --prometheus
if [ "$rc" = 0 ] && [ -z "$err" ] && python3 - "$out" <<'PY'
import re, sys
text = sys.argv[1]
typed, seen = {}, {}
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|[+-]Inf)$')
for line in text.splitlines():
    if line.startswith("# HELP "):
        continue
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split(" ")
        assert kind in ("counter", "gauge", "histogram"), line
        assert name not in typed, "family typed twice: " + name
        typed[name] = kind
        continue
    m = sample.match(line)
    assert m, "does not parse: " + line
    name = m.group(1)
    fam = re.sub(r"_(bucket|sum|count)$", "", name) if name not in typed else name
    assert fam in typed, "untyped: " + line
    assert typed[fam] != "counter" or name.endswith("_total"), "counter without _total: " + name
    seen[line.rsplit(" ", 1)[0]] = float(m.group(3))
k = 'ddublk_tenant_requests_total{tenant="db",op="read"}'
assert seen[k] == 4000, seen.get(k)
assert seen['ddublk_tenant_device_latency_seconds_bucket{tenant="db",le="0.0001"}'] == 0
assert seen['ddublk_tenant_device_latency_seconds_bucket{tenant="db",le="0.00025"}'] == 3600
assert seen['ddublk_tenant_device_latency_seconds_bucket{tenant="db",le="+Inf"}'] == 4000
assert seen['ddublk_tenant_device_latency_seconds_count{tenant="db"}'] == 4000
assert seen['ddublk_tenant_errors_total{tenant="old",kind="out_of_range"}'] == 1
assert seen['ddublk_nq_inflight{backend="nvme0",qid="2"}'] == 1
assert seen['ddublk_worker_cpu_seconds_total{worker="0",cpu="0"}'] == 1.0
assert seen['ddublk_sched_latency_p99_seconds{backend="nvme0",mode="daredevil"}'] == 0.0042
assert seen['ddublk_sched_target_met{backend="nvme0",mode="daredevil"}'] == 0
assert seen['ddublk_sched_throughput_cap_bytes{backend="nvme0",mode="daredevil"}'] == 0
assert typed["ddublk_tenant_device_latency_seconds"] == "histogram"
assert seen['ddublk_tenant_latency_target_seconds{tenant="db"}'] == 0.001
assert 'ddublk_tenant_latency_target_seconds{tenant="old"}' not in seen
assert seen['ddublk_tenant_latency_p99_last_second_seconds{tenant="db"}'] == 0.001015
assert seen['ddublk_tenant_slo_violations_total{tenant="db"}'] == 3
assert seen['ddublk_tenant_slo_seconds_total{tenant="db"}'] == 40
assert seen['ddublk_tenant_device_share{tenant="db",kind="reserved"}'] == 0.004
assert seen['ddublk_tenant_device_share{tenant="db",kind="used"}'] == 0.006
PY
then ok "stats --prometheus: parses, typed, counters end in _total, values agree"
else not_ok "stats --prometheus" "exit $rc" "$out" "$err"
fi
run "${S[@]}" nq
expect_match "nq: header" 0 '^BACKEND +QID +KIND +GROUP +CPUS +SUBMITTER +DEPTH +INFL +INFL-BYTES +CMDS +BYTES +DIRECT +HOPPED +LAT-P50 +LAT-P99$'
expect_match "nq: a queue" 0 '^nvme0 +1 +default +latency +0 +0 +1015 +0 +0 B +[0-9]+ '
run "${S[@]}" nq --json
expect_json "nq --json: the NQ array" \
	'[q["qid"] for q in v] == [1, 2] and all(q["kind"] == "default" for q in v) and [q["group"] for q in v] == ["latency", "throughput"]'
before=$(wc -l <"$requests")
run "${S[@]}" top -n 2 --interval 0.1
frames=$(grep -c '^ddublk top ' <<<"$out")
if [ "$rc" = 0 ] && [ -z "$err" ] && [ "$frames" = 2 ] && ! grep -q $'\033' <<<"$out" &&
   [ $(($(wc -l <"$requests") - before)) = 3 ] &&
   grep -qE '^db +latency +1000 +0 +4\.1 +0\.0 +2 +- +[0-9]+us +1\.[0-9]ms +0 +0 +1$' <<<"$out" &&
   grep -qE '^old +throughput +10 +500 +0\.0 +2\.0 +2 ' <<<"$out" &&
   grep -qE '^nvme0 +2 +default +throughput +1 +1 +1000 +2\.0 ' <<<"$out" &&
   grep -qE '^workers: +w0@cpu0 25% cpu 600 ublk/s 600 backend/s' <<<"$out"; then
	ok "top -n 2 into a pipe: two plain frames, rates from the daemon's clock"
else
	not_ok "top -n 2" "exit $rc, $frames frames" "$out" "$err"
fi
echo 6 >"$reload_mode.workers"
run "${S[@]}" top -n 2 --interval 0.1
rm -f "$reload_mode.workers"
if [ "$rc" = 0 ] && grep -qE '^workers: 6, 150% cpu in all \(busiest w0@cpu0 25%\), 3600 ublk/s, 3600 backend/s$' <<<"$out"; then
	ok "top with 6 workers: one summary line, not a cell each"
else
	not_ok "top with 6 workers" "exit $rc" "$out" "$err"
fi
run "${S[@]}" top -n 1 --interval 0.1 --sort wiops
first=$(sed -n 3p <<<"$out")
run2=$first
run "${S[@]}" top -n 1 --interval 0.1 --sort name
if [[ $run2 == old* ]] && [[ $(sed -n 3p <<<"$out") == db* ]]; then
	ok "top --sort: by write IOPS, by name"
else
	not_ok "top --sort" "wiops first row: $run2" "name first row: $(sed -n 3p <<<"$out")"
fi

sent_before=$(wc -l <"$requests")
run "${S[@]}" stats a b
expect_usage "stats with two names" "ublk-ctl: stats: unexpected argument 'b'"
run "${S[@]}" stats --json --prometheus
expect_usage "stats --json --prometheus" "ublk-ctl: stats: --json and --prometheus exclude each other"
run "${S[@]}" stats 'a/b'
expect_usage "stats: bad tenant name" \
	"ublk-ctl: stats: invalid tenant name \"a/b\" (use letters, digits, '_', '.', '-')"
run "${S[@]}" stats --interval 1
expect_usage "stats has no --interval" "ublk-ctl: stats: unknown option '--interval'"
for v in 0 0.05 abc 1e9 -1 "" nan inf 86401 0x10 1e1 " 2"; do
	run "${S[@]}" top --interval "$v"
	expect_usage "top --interval '$v'" "ublk-ctl: top: --interval must be 0.1 to 86400 seconds, not '$v'"
done
for v in 0 -1 x 1000001 1.5; do
	run "${S[@]}" top -n "$v"
	expect_usage "top -n '$v'" "ublk-ctl: top: -n must be 1 to 1000000, not '$v'"
done
run "${S[@]}" top --sort IOPS
expect_usage "top --sort: unknown column" \
	"ublk-ctl: top: unknown sort column 'IOPS' (use iops, riops, wiops, bw, rbw, wbw, inflight, p99, qp99, errors, throttled, name)"
run "${S[@]}" top --sort
expect_usage "top --sort without a column" "ublk-ctl: top: option '--sort' needs an argument"
run "${S[@]}" top db
expect_usage "top with an argument" "ublk-ctl: top: unexpected argument 'db'"
run "${S[@]}" nq extra
expect_usage "nq with an argument" "ublk-ctl: nq: unexpected argument 'extra'"
run "${S[@]}" nq --prometheus
expect_usage "nq has no --prometheus" "ublk-ctl: nq: unknown option '--prometheus'"
for c in stats top nq serve-metrics; do
	run "${S[@]}" "$c" --help
	if [ "$rc" = 0 ] && grep -q "^    ublk-ctl $c - " <<<"$out" && grep -q '^EXIT STATUS' <<<"$out"; then
		ok "$c --help"
	else
		not_ok "$c --help" "exit $rc" "$out"
	fi
done

# ---- serve-metrics: the Prometheus endpoint ----------------------------------

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# http_check PORT PYTHON: once 127.0.0.1:PORT accepts (within 5 s), run
# PYTHON with ask(METHOD, PATH) -> (status, content type, body) defined.
http_check() {
	python3 -c '
import http.client, sys, time
port = int(sys.argv[1])
def ask(method, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request(method, path)
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, r.getheader("Content-Type"), body
for attempt in range(50):
    try:
        http.client.HTTPConnection("127.0.0.1", port, timeout=5).connect()
        break
    except OSError:
        time.sleep(0.1)
exec(sys.argv[2])
' "$@"
}

port=$(free_port)
"$CTL" "${S[@]}" serve-metrics --listen "127.0.0.1:$port" 2>"$tmp/metrics.err" &
metrics_pid=$!
if http_check "$port" '
st, ct, body = ask("GET", "/metrics")
assert st == 200, (st, body)
assert ct == "text/plain; version=0.0.4; charset=utf-8", ct
assert "ddublk_tenant_requests_total{tenant=\"db\",op=\"read\"} " in body, body[:400]
assert "# TYPE ddublk_tenant_device_latency_seconds histogram" in body
st, _, body = ask("GET", "/metrics?name[]=x")
assert st == 200 and "ddublk_worker_cpu_seconds_total" in body, st
st, _, body = ask("HEAD", "/metrics")
assert st == 200 and body == "", (st, body)
st, _, body = ask("GET", "/")
assert st == 200 and "/metrics" in body, (st, body)
assert ask("GET", "/nope")[0] == 404
assert ask("POST", "/metrics")[0] == 405
' >"$tmp/scrapes" 2>&1; then
	ok "serve-metrics: GET /metrics is Prometheus text; HEAD, /, 404 and 405 answered"
else
	not_ok "serve-metrics: scrapes" "$(cat "$tmp/scrapes")" "stderr: $(cat "$tmp/metrics.err")"
fi
# Slowloris: A sends its request head one byte a second, each byte well
# within any per-recv timeout, and never ends it. A is cut 5 s after it
# connected (408), and B, asking a second later, is answered meanwhile.
if http_check "$port" '
import socket, threading
a = socket.create_connection(("127.0.0.1", port))
t0 = time.monotonic()
a.sendall(b"GET /metrics HTTP/1.1\r\nX-Slow: ")
def dribble():
    while time.monotonic() - t0 < 12:
        time.sleep(1)
        try:
            a.send(b"a")
        except OSError:
            return
threading.Thread(target=dribble, daemon=True).start()
time.sleep(1)
t1 = time.monotonic()
st, _, body = ask("GET", "/metrics")
b_took = time.monotonic() - t1
assert st == 200 and "ddublk_tenant_requests_total" in body, st
a.settimeout(20)
got = b""
while True:
    piece = a.recv(4096)
    if not piece:
        break
    got += piece
a_took = time.monotonic() - t0
print("B answered in %.1f s; A cut after %.1f s: %r" % (b_took, a_took, got[:40]))
assert b_took < 3, "B waited %.1f s behind a slow client" % b_took
assert 4 < a_took < 8, "the slow client was held %.1f s (deadline 5 s)" % a_took
assert got.startswith(b"HTTP/1.1 408 "), got
' >"$tmp/slow" 2>&1; then
	ok "serve-metrics: a slow client is cut at 5 s and does not hold up the next ($(tail -n 1 "$tmp/slow"))"
else
	not_ok "serve-metrics: slow client" "$(cat "$tmp/slow")" "stderr: $(cat "$tmp/metrics.err")"
fi
kill -TERM "$metrics_pid"
rc=0; wait "$metrics_pid" || rc=$?
if [ "$rc" = 0 ]; then
	ok "serve-metrics exits 0 on SIGTERM"
else
	not_ok "serve-metrics on SIGTERM" "exit $rc"
fi

port=$(free_port)
"$CTL" --socket "$tmp/nobody.sock" serve-metrics --listen "127.0.0.1:$port" 2>"$tmp/metrics.err" &
metrics_pid=$!
if http_check "$port" '
st, _, body = ask("GET", "/metrics")
assert st == 503 and "no statistics from ddublkd" in body, (st, body)
' >"$tmp/scrapes" 2>&1 && grep -q "cannot connect to $tmp/nobody.sock" "$tmp/metrics.err"; then
	ok "serve-metrics without a daemon: 503, the reason on stderr"
else
	not_ok "serve-metrics without a daemon" "$(cat "$tmp/scrapes")" "stderr: $(cat "$tmp/metrics.err")"
fi
kill -TERM "$metrics_pid"
wait "$metrics_pid"

sent_before=$(wc -l <"$requests")
run "${S[@]}" serve-metrics --listen nohost
expect_usage "serve-metrics --listen without a port" "ublk-ctl: serve-metrics: 'nohost' is not HOST:PORT"
for v in 127.0.0.1:0 127.0.0.1:65536 127.0.0.1:x; do
	run "${S[@]}" serve-metrics --listen "$v"
	expect_usage "serve-metrics --listen $v" "ublk-ctl: serve-metrics: '$v': the port must be 1 to 65535"
done
run "${S[@]}" serve-metrics --listen 192.0.2.1:9580
expect_usage "serve-metrics on an address this host lacks" \
	"ublk-ctl: serve-metrics: cannot listen on 192.0.2.1:9580: Cannot assign requested address"
run "${S[@]}" serve-metrics extra
expect_usage "serve-metrics with an argument" "ublk-ctl: serve-metrics: unexpected argument 'extra'"

echo "1..$n"
if [ "$failed" -ne 0 ]; then
	echo "# $failed of $n failed"
	exit 1
fi
echo "# all $n passed"
