#!/usr/bin/env bash
# Garbage on the control socket: binary noise, half a request cut off by a
# closed connection, a line longer than the limit, NUL bytes, a flood of
# bad lines, clients that never read their replies. Each gets an error
# reply (or is dropped), none changes a tenant, and the daemon keeps
# serving everyone else.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

cfg=/run/ctl_garbage.conf
cat >"$cfg" <<'CONF'
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
backends = ( { name = "nvme"; path = "/dev/nvme0n1"; } );
tenants = ( { name = "g"; backend = "nvme"; size = "16M"; } );
CONF
start_daemon "$cfg"
write_random "$(tenant_get g device)" 16M /tmp/g.bin
tenants_json >/tmp/before.json

python3 - /run/ddublk/ctl.sock <<'PY' || fail "the protocol checks failed"
import json, os, socket, sys, time
path = sys.argv[1]

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s

def reply(s):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    return buf

def expect_error(label, payload):
    s = conn()
    s.sendall(payload)
    r = reply(s)
    s.close()
    obj = json.loads(r)
    assert obj["ok"] is False and obj["error"], (label, r)
    print(f"{label}: {obj['error'][:70]}")

expect_error("binary noise", os.urandom(300).replace(b"\n", b"x") + b"\n")
expect_error("not JSON", b"hello daemon\n")
expect_error("NUL byte", b'{"cmd":"list"\x00}\n')
expect_error("truncated object", b'{"cmd":"add","name":"x","backend":"nvme",\n')
expect_error("wrong types", b'{"cmd":"add","name":7,"backend":"nvme","size":"1G"}\n')
expect_error("unknown command", b'{"cmd":"format","name":"g"}\n')
expect_error("del of a missing tenant", b'{"cmd":"del","name":"nope"}\n')
expect_error("add over the backend", b'{"cmd":"add","name":"big","backend":"nvme","size":1099511627776}\n')

# longer than the limit: an error reply, then the connection closes
s = conn()
try:
    s.sendall(b'{"cmd":"list","pad":"' + b"a" * 70000)
except (BrokenPipeError, ConnectionResetError):
    pass  # the daemon stopped reading at the limit and hung up: expected
r = reply(s)
assert json.loads(r)["ok"] is False, r
try:
    rest = reply(s)
except ConnectionResetError:
    rest = b""
assert rest == b"", "connection not closed after an oversized line"
s.close()
print("oversized line: error and closed")

# half a request, then the client goes away: nothing happens
s = conn()
s.sendall(b'{"cmd":"del","name":"g"')
s.close()

# a flood of bad lines on one connection: one error reply each, in order
s = conn()
s.sendall(b"junk\n" * 200 + b'{"cmd":"list"}\n')
replies = b""
while replies.count(b"\n") < 201:
    replies += s.recv(65536)
lines = replies.split(b"\n")[:201]
assert all(json.loads(l)["ok"] is False for l in lines[:200])
assert json.loads(lines[200])["ok"] is True
s.close()
print("200 bad lines: 200 errors, then a good reply")

# clients that never read: the daemon still answers others
idle = [conn() for _ in range(20)]
for c in idle:
    c.sendall(b'{"cmd":"list"}\n' * 50)
s = conn()
s.sendall(b'{"cmd":"list"}\n')
assert json.loads(reply(s))["ok"] is True
for c in idle:
    c.close()
print("20 clients not reading their replies: others are still served")
PY
sleep 1
daemon_alive || fail "ddublkd died"
tenants_json >/tmp/after.json
diff /tmp/before.json /tmp/after.json || fail "the tenants changed"
[ "$(checksum "$(tenant_get g device)")" = "$(checksum /tmp/g.bin)" ] || fail "g's data changed"
ublk-ctl del g || fail "del g failed"
stop_daemon
pass "ctl_garbage"
