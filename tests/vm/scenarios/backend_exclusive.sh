#!/usr/bin/env bash
# One backend, one owner (issue 12, items 5, 9 and 16):
#  (a) one namespace named twice in a policy (/dev/nvme0n1 and /dev/ng0n1,
#      controller + nsid, a symlink) is refused by --check-config and at
#      start, naming FILE:LINE and both backends;
#  (b) a second ddublkd on the namespace a running one serves is refused,
#      whatever name it uses, and changes nothing: not the first's table,
#      not its tenant's data, not its devices;
#  (c) a ublk device (a tenant of ddublkd) as a backend is refused;
#  (d) a mounted block device, and a disk with one of its partitions, are
#      refused;
#  (e) a backend whose one table copy is damaged is left alone (not
#      allocated from), the others served;
#  (f) a copy of a backend image next to the original (one table uuid in
#      two backends) is refused at start.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

dir=/run/backend_exclusive
mkdir -p "$dir"
D1='daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; };'
D2='daemon = { socket = "/run/ddublk/second.sock"; workers = 2; };'

# policy NAME BACKEND...: $dir/NAME.conf, the daemon on line 1, "backends = ("
# on line 2, backend i on line 3 + i.
policy() {
	local name=$1 sep=','; shift
	{
		echo "$D2"
		echo 'backends = ('
		while [ $# -gt 0 ]; do
			[ $# -gt 1 ] || sep=''
			echo "  { $1 }$sep"
			shift
		done
		echo ');'
	} >"$dir/$name.conf"
}

# devno DEV: "major:minor" of a block device.
devno() {
	local s
	s=$(stat -Lc '%t %T' "$1") || fail "cannot stat $1"
	printf '%d:%d' "0x${s% *}" "0x${s#* }"
}

# refused NAME PREFIX WORD: --check-config and ddublkd --config both refuse
# $dir/NAME.conf with a message holding "FILE:PREFIX" and WORD, and the start
# creates no device.
refused() {
	local name=$1 f=$dir/$1.conf rc=0
	ddublkd --check-config "$f" >/dev/null 2>"$dir/$name.check" || rc=$?
	[ "$rc" = 1 ] || fail "$name: --check-config exited $rc ('$(cat "$dir/$name.check")')"
	grep -Fq -- "$f:$2" "$dir/$name.check" ||
		fail "$name: --check-config said '$(cat "$dir/$name.check")', want '$f:$2'"
	grep -Fq -- "$3" "$dir/$name.check" || fail "$name: no '$3' in '$(cat "$dir/$name.check")'"
	echo "  --check-config: $(cat "$dir/$name.check")"
	ublk_devices >"$dir/devs.before"
	rc=0
	timeout 60 ddublkd --config "$f" >"$dir/$name.start" 2>&1 || rc=$?
	cat "$dir/$name.start" >>"$DDUBLKD_LOG"
	[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "$name: ddublkd --config exited $rc"
	grep -Fq -- "$f:$2" "$dir/$name.start" ||
		fail "$name: the start said '$(tail -n 2 "$dir/$name.start")', want '$f:$2'"
	ublk_devices | cmp -s - "$dir/devs.before" || fail "$name: the devices changed"
}

step "(a) one namespace named twice"
policy ng_blk 'name = "blk"; path = "/dev/nvme0n1";' 'name = "ng"; path = "/dev/ng0n1";'
refused ng_blk "4: backends[1]: the same NVMe namespace nvme0n1 as backends[0] (line 3)" nvme0n1
policy ctrl 'name = "ng"; path = "/dev/ng0n1";' 'name = "c"; controller = "nvme0"; nsid = 1;'
refused ctrl "4: backends[1]: the same NVMe namespace nvme0n1 as backends[0] (line 3)" nvme0n1
ln -sf /dev/nvme0n1 "$dir/disk"
policy link "name = \"blk\"; path = \"/dev/nvme0n1\"; type = \"file\";" \
	"name = \"l\"; path = \"$dir/disk\"; type = \"file\";"
refused link "4: backends[1]: the same NVMe namespace nvme0n1 as backends[0] (line 3)" nvme0n1
pass "a namespace named twice is refused at --check-config and at start"

step "(b) a second ddublkd on a served namespace"
cat >"$dir/first.conf" <<CONF
$D1
backends = ( { name = "nvme"; path = "/dev/ng0n1"; } );
CONF
start_daemon "$dir/first.conf"
grep -q 'backend "nvme": no tenant table yet; uuid ' "$DDUBLKD_LOG" || fail "the start did not log the backend's uuid"
dev=$(ublk-ctl add --name keep --backend nvme --size 64M) || fail "add keep failed"
write_random "$dev" 64M "$dir/keep.bin"
sum=$(checksum "$dev")
# the first save wrote both copies of the table
for off in 0 512; do
	magic=$(dd if=/dev/nvme0n1 bs=1K skip=$off count=4 iflag=direct status=none | { head -c 8; cat >/dev/null; })
	[ "$magic" = DDUBLKTB ] || fail "no table copy at $off KiB after the first add ('$magic')"
done
table=$(checksum /dev/nvme0n1 1048576)
ublk_devices >"$dir/devs.first"
tenants_json >"$dir/list.first"
for form in 'path = "/dev/ng0n1";' 'path = "/dev/nvme0n1"; type = "file";' \
	'controller = "nvme0"; nsid = 1;'; do
	printf '%s\nbackends = ( { name = "nvme"; %s } );\ntenants = ( { name = "t2"; backend = "nvme"; size = "16M"; } );\n' \
		"$D2" "$form" >"$dir/second.conf"
	rc=0
	timeout 60 ddublkd --config "$dir/second.conf" >"$dir/second.log" 2>&1 || rc=$?
	cat "$dir/second.log" >>"$DDUBLKD_LOG"
	[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "second ddublkd ($form) exited $rc"
	grep -q "is in use: pid $DDUBLKD_PID holds the lock" "$dir/second.log" ||
		fail "second ddublkd ($form): '$(grep -m1 ERR "$dir/second.log")'"
	echo "  $form: $(grep -m1 ERR "$dir/second.log")"
done
# the lock is only half of it: O_EXCL refuses another opener of the namespace too
rc=0
mkfs.ext4 -q -F /dev/nvme0n1 >/dev/null 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "mkfs.ext4 formatted the namespace ddublkd serves"
[ "$(checksum /dev/nvme0n1 1048576)" = "$table" ] || fail "the tenant table changed"
[ "$(checksum "$dev")" = "$sum" ] || fail "keep's data changed"
ublk_devices | cmp -s - "$dir/devs.first" || fail "the devices changed"
tenants_json | cmp -s - "$dir/list.first" || fail "the first daemon's tenants changed"
daemon_alive || fail "the first ddublkd died"
pass "a second ddublkd is refused by every name of the namespace; table, data, devices unchanged"

step "(c) a ublk device as a backend"
policy ublk "name = \"u\"; path = \"$dev\";"
refused ublk "3: backends[0]: " "is ${dev}, a ublk device: a tenant of ddublkd cannot be a backend"
[ "$(checksum "$dev")" = "$sum" ] || fail "keep's data changed"
pass "a tenant's device is refused as a backend"

step "(d) a mounted device, a disk and its partition"
truncate -s 64M "$dir/loop.img"
loop=$(losetup --find --show "$dir/loop.img")
mkfs.ext4 -q -F "$loop" || fail "mkfs.ext4 $loop"
mkdir -p "$dir/mnt"
mount "$loop" "$dir/mnt"
policy mounted "name = \"m\"; path = \"$loop\";"
refused mounted "3: backends[0]: " "is mounted ($(devno "$loop") at $dir/mnt)"
umount "$dir/mnt"
losetup -d "$loop"
# one MBR partition from 1 MiB to the end
python3 - "$dir/loop.img" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    entry = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0", 2048, 64 * 2048 - 2048)
    f.seek(446); f.write(entry)
    f.seek(510); f.write(b"\x55\xaa")
PY
loop=$(losetup --find --show --partscan "$dir/loop.img")
for _ in $(seq 50); do [ -b "${loop}p1" ] && break; sleep 0.1; done
[ -b "${loop}p1" ] || fail "no ${loop}p1 after losetup --partscan"
policy part "name = \"disk\"; path = \"$loop\";" "name = \"p1\"; path = \"${loop}p1\";"
refused part "4: backends[1]: block device $(devno "${loop}p1") is a partition of backends[0] (line 3)" partition
losetup -d "$loop"
pass "a mounted device and a disk with its partition are refused"

step "(e) a damaged lone table copy"
stop_daemon
truncate -s 64M "$dir/damaged.img"
# copy A: our magic and a version, the rest not a valid table; no copy B
printf 'DDUBLKTB\002\000\000\000garbage' | dd of="$dir/damaged.img" conv=notrunc status=none
before=$(checksum "$dir/damaged.img" 1048576)
cat >"$dir/third.conf" <<CONF
$D1
backends = ( { name = "nvme"; path = "/dev/ng0n1"; },
             { name = "bad"; path = "$dir/damaged.img"; },
             { name = "img"; path = "$dir/a.img"; size = "64M"; } );
CONF
start_daemon "$dir/third.conf"
grep -q 'backend "bad" ('"$dir"'/damaged.img): no valid tenant table: copy A: .*; copy B: no table (no magic); the backend is left alone' "$DDUBLKD_LOG" ||
	fail "the damaged table was not reported: '$(grep -m1 '"bad"' "$DDUBLKD_LOG")'"
[ "$(checksum "$dev")" = "$sum" ] || fail "keep's data changed across the restart"
grep -q 'backend "nvme": uuid ' "$DDUBLKD_LOG" || fail "the restart did not log the table's uuid"
rc=0
ublk-ctl add --name t3 --backend bad --size 16M >/dev/null 2>"$dir/add.err" || rc=$?
[ "$rc" = 1 ] || fail "add on the damaged backend exited $rc"
grep -q 'not in use' "$dir/add.err" || fail "add on the damaged backend said '$(cat "$dir/add.err")'"
echo "  add: $(cat "$dir/add.err")"
[ "$(checksum "$dir/damaged.img" 1048576)" = "$before" ] || fail "the damaged table was written"
ublk-ctl add --name t4 --backend img --size 16M >/dev/null || fail "add on img failed"
ublk-ctl del keep || fail "del keep failed"
stop_daemon
pass "a damaged lone copy leaves its backend refused and untouched; the others are served"

step "(f) a copy of a backend image"
cp "$dir/a.img" "$dir/b.img"
policy copy "name = \"a\"; path = \"$dir/a.img\";" "name = \"b\"; path = \"$dir/b.img\";"
ddublkd --check-config "$dir/copy.conf" >/dev/null || fail "--check-config refused two distinct files"
rc=0
timeout 60 ddublkd --config "$dir/copy.conf" >"$dir/copy.start" 2>&1 || rc=$?
cat "$dir/copy.start" >>"$DDUBLKD_LOG"
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "ddublkd started on an image and its copy (exit $rc)"
grep -q "$dir/copy.conf:4: backends\[1\]: its tenant table has uuid [0-9a-f-]*, the same as backends\[0\] (line 3)" "$dir/copy.start" ||
	fail "the copy was not recognised: '$(grep -m1 ERR "$dir/copy.start")'"
echo "  $(grep -m1 ERR "$dir/copy.start")"
[ -z "$(ublk_devices)" ] || fail "devices were created: $(ublk_devices)"
pass "an image and its copy carry one uuid: refused"
