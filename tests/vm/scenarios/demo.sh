#!/usr/bin/env bash
# The tour: what an operator does with ddublk, step by step, in the VM.
# Every step is also checked, so the demo fails loudly if ddublk misbehaves.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

policy=/run/ddublk-demo.conf
mnt=/run/mnt/db

step "1. The policy: an NVMe namespace and a file as backing pools, one tenant declared up front"
cat >"$policy" <<'CONF'
# ddublk policy (libconfig syntax)
daemon = {
  socket     = "/run/ddublk/ctl.sock";
    # the tenant table survives restarts
  workers    = 2;
  log_level  = "info";
};
backends = (
  { name = "nvme0"; path = "/dev/nvme0n1"; },                    # the whole SSD namespace
  { name = "pool";  path = "/run/pool.img"; size = "512M"; }     # a file, created at this size
);
tenants = (
  { name = "web"; backend = "pool"; size = "128M"; queues = 1; depth = 64; }
);
CONF
cat "$policy"
ddublkd --check-config "$policy" || fail "the policy does not validate"
pass "policy validates (ddublkd --check-config)"

step "2. Start ddublkd (log: out/ddublkd.log)"
start_daemon "$policy"
pass "ddublkd answers on its control socket"

step "3. What the kernel's ublk driver offers: ublk-ctl features"
ublk-ctl features || fail "ublk-ctl features failed"

step "4. The tenant from the policy is already there"
ublk-ctl list || fail "ublk-ctl list failed"
[ "$(tenant_get web state)" = live ] || fail "tenant web from the policy is not live"
[ -b "$(tenant_get web device)" ] || fail "tenant web has no block device"
pass "web is live on $(tenant_get web device)"

step "5. Add a tenant 'db' of 256 MiB on the NVMe pool"
dev=$(ublk-ctl add --name db --backend nvme0 --size 256M --queues 2 --depth 64) || fail "ublk-ctl add db failed"
echo "db -> $dev"
[ -b "$dev" ] || fail "'$dev' is not a block device"
[ "$(blockdev --getsize64 "$dev")" = $((256 << 20)) ] || fail "$dev is not 256 MiB"
ublk-ctl list

step "6. Make a file system on it and mount it"
mkfs.ext4 -q -F -L db "$dev" || fail "mkfs.ext4 failed"
mkdir -p "$mnt"
mount "$dev" "$mnt" || fail "mount failed"

step "7. Write some files"
mkdir -p /tmp/demo
for i in 1 2 3 4; do head -c $((i * 4))M /dev/urandom >"/tmp/demo/file$i"; done
cp /tmp/demo/file* "$mnt/"
cp -r "$DDUBLK_SRC/tests/vm" "$mnt/some-scripts"
sync
ls -l "$mnt"
df -h "$mnt"

step "8. Unmount, drop caches, mount again and read everything back"
umount "$mnt"
echo 3 >/proc/sys/vm/drop_caches
mount "$dev" "$mnt" || fail "second mount failed"
for i in 1 2 3 4; do
	cmp "/tmp/demo/file$i" "$mnt/file$i" || fail "file$i differs"
done
diff -r "$DDUBLK_SRC/tests/vm" "$mnt/some-scripts" >/dev/null || fail "copied scripts differ"
umount "$mnt"
pass "every byte read back as written"

step "9. Remove the tenant"
ublk-ctl del db || fail "ublk-ctl del db failed"
wait_gone "$dev" 10 || fail "$dev still there after del"
ublk-ctl list
[ -z "$(tenant_get db name)" ] || fail "db still listed"
pass "db deleted, $dev gone"

step "10. Stop the daemon (SIGTERM): devices go away, the tenant table stays"
web_dev=$(tenant_get web device)
stop_daemon
wait_gone "$web_dev" 10 || fail "$web_dev still there after stop"
pass "demo complete"
