# Helpers for VM scenarios: `source "$(dirname "$0")/../lib.sh"`.
# Runs inside the guest (guest-init.sh exports DDUBLK_SRC/BUILD/OUT and puts
# ddublkd and ublk-ctl on PATH).
# shellcheck shell=bash

: "${DDUBLK_OUT:?lib.sh runs inside the test VM (tests/vm/run.sh)}"
DDUBLKD_PID=
DDUBLKD_LOG=$DDUBLK_OUT/ddublkd.log

step() { echo "==> $*"; }
pass() { echo "PASS: $*"; }

fail() {
	echo "FAIL: $*" >&2
	if [ -n "$DDUBLKD_PID" ] && [ -f "$DDUBLKD_LOG" ]; then
		echo "---- last lines of ddublkd.log ----" >&2
		tail -n 20 "$DDUBLKD_LOG" >&2
	fi
	exit 1
}

# start_daemon CONFIG [extra ddublkd args]: start ddublkd in the background
# and return once its control socket answers `ublk-ctl list`.
start_daemon() {
	local config=$1; shift
	[ -z "$DDUBLKD_PID" ] || fail "start_daemon: ddublkd already running (pid $DDUBLKD_PID)"
	echo "---- ddublkd --config $config $* ($(date +%T)) ----" >>"$DDUBLKD_LOG"
	ddublkd --config "$config" "$@" >>"$DDUBLKD_LOG" 2>&1 &
	DDUBLKD_PID=$!
	local i rc=0
	for ((i = 0; i < 120; i++)); do
		ublk-ctl list >/dev/null 2>&1 && return 0
		if ! kill -0 "$DDUBLKD_PID" 2>/dev/null; then
			wait "$DDUBLKD_PID" || rc=$?
			fail "ddublkd exited with status $rc before answering on its socket"
		fi
		sleep 0.5
	done
	fail "ddublkd (pid $DDUBLKD_PID) did not answer 'ublk-ctl list' within 60 s"
}

# stop_daemon: SIGTERM, then it must exit 0 within 60 s.
stop_daemon() {
	[ -n "$DDUBLKD_PID" ] || fail "stop_daemon: no daemon running"
	kill -TERM "$DDUBLKD_PID" 2>/dev/null || true
	await_daemon_exit 60 0 "after SIGTERM"
}

# await_daemon_exit SECS RC WHEN: the daemon we started exits within SECS
# with status RC; reap it.
await_daemon_exit() {
	local i rc=0
	for ((i = 0; i < $1 * 2; i++)); do
		kill -0 "$DDUBLKD_PID" 2>/dev/null || break
		sleep 0.5
	done
	kill -0 "$DDUBLKD_PID" 2>/dev/null && fail "ddublkd (pid $DDUBLKD_PID) still running $1 s $3"
	wait "$DDUBLKD_PID" || rc=$?
	[ "$rc" = "$2" ] || fail "ddublkd exited with status $rc $3, expected $2"
	DDUBLKD_PID=
}

# reap_killed_daemon: the daemon we started died (SIGKILL expected); reap it.
reap_killed_daemon() {
	[ -n "$DDUBLKD_PID" ] || fail "reap_killed_daemon: no daemon running"
	await_daemon_exit 30 137 "after SIGKILL"
}

# tenants_json: the tenants without what may change across restarts
# (device numbers), sorted by name, for before/after comparisons.
tenants_json() {
	ublk-ctl list --json | jq -S 'map(del(.device, .dev_id)) | sort_by(.name)'
}

# daemon_alive: 0 if the daemon we started is still running.
daemon_alive() { [ -n "$DDUBLKD_PID" ] && kill -0 "$DDUBLKD_PID" 2>/dev/null; }

# wait_gone PATH SECS: 0 once PATH no longer exists, 1 if it still does.
wait_gone() {
	local path=$1 deadline=$((SECONDS + $2))
	while [ -e "$path" ]; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# checksum FILE_OR_DEV [BYTES]: sha256 of the first BYTES (default: all).
# Block devices are read with O_DIRECT so the answer comes from the device
# (through ddublkd), not from the page cache.
checksum() {
	local sum
	sum=$(read_bytes "$@" | sha256sum) || fail "cannot read $1"
	echo "${sum%% *}"
}

read_bytes() {
	local src=$1 bytes=${2:-} flags=
	[ -b "$src" ] && flags=direct
	if [ -n "$bytes" ]; then
		dd if="$src" bs=1M count="$bytes" iflag="${flags:+$flags,}count_bytes" status=none
	else
		dd if="$src" bs=1M ${flags:+iflag=$flags} status=none
	fi
}

# tenant_get NAME FIELD: one field of a tenant from `ublk-ctl list --json`
# (empty output if there is no such tenant).
tenant_get() {
	ublk-ctl list --json | jq -r --arg n "$1" --arg f "$2" '.[] | select(.name == $n) | .[$f]'
}

# tenant_num NAME FIELD: a numeric field (offset, size, ...); fails unless
# the tenant exists and the field is a non-negative integer.
tenant_num() {
	local v
	v=$(tenant_get "$1" "$2") || fail "ublk-ctl list --json failed"
	[[ $v =~ ^[0-9]+$ ]] || fail "tenant $1: field $2 is '$v', expected a number"
	echo "$v"
}

# ublk_devices: the /dev/ublkb* nodes that exist now, one a line.
ublk_devices() { ls /dev/ublkb* 2>/dev/null || true; }

# write_random DEV BYTES FILE: write BYTES of random data to DEV (O_DIRECT)
# and keep a copy in FILE to compare against later.
write_random() {
	head -c "$2" /dev/urandom >"$3"
	dd if="$3" of="$1" bs=1M oflag=direct conv=notrunc,fsync status=none ||
		fail "writing $2 bytes to $1 failed"
}

# ---- NVMe namespace scenarios (nvme_*.sh) ----
# The guest's namespace: /dev/nvme0n1 (block), /dev/ng0n1 (generic char
# device), controller nvme0, nsid 1. By default these scenarios demand the
# NVMe passthrough backend. With the scenario argument `file`
# (tests/vm/run.sh nvme_x file) they run the same checks through the file
# backend on /dev/nvme0n1, to check a scenario's own logic on a daemon
# without passthrough; that mode is never what ctest runs.
NVME_MODE=passthrough

# nvme_mode_from_args "$@": set NVME_MODE from the scenario's arguments.
nvme_mode_from_args() {
	case "${1:-}" in
	'') NVME_MODE=passthrough ;;
	file) NVME_MODE='file' ;;
	*) fail "unknown argument '$1' (the only one is 'file')" ;;
	esac
	step "NVMe scenario, backend mode: $NVME_MODE"
}

# nvme_backend NAME FORM: a libconfig backend entry for the guest namespace.
# FORM: ng (path "/dev/ng0n1"), ctrl (controller "nvme0", nsid 1) or blk
# (path "/dev/nvme0n1"). In file mode every form is path "/dev/nvme0n1"
# with type "file" (without it if this daemon has no "type" key yet).
nvme_backend() {
	local name=$1 form=$2
	if [ "$NVME_MODE" = file ]; then
		if nvme_daemon_knows_type; then
			echo "{ name = \"$name\"; path = \"/dev/nvme0n1\"; type = \"file\"; }"
		else
			echo "{ name = \"$name\"; path = \"/dev/nvme0n1\"; }"
		fi
		return
	fi
	case $form in
	ng) echo "{ name = \"$name\"; path = \"/dev/ng0n1\"; }" ;;
	ctrl) echo "{ name = \"$name\"; controller = \"nvme0\"; nsid = 1; }" ;;
	blk) echo "{ name = \"$name\"; path = \"/dev/nvme0n1\"; }" ;;
	*) fail "nvme_backend: unknown form '$form'" ;;
	esac
}

nvme_daemon_knows_type() {
	local f=/run/nvme_type_probe.conf
	printf '%s\n' 'backends = ( { name = "p"; path = "/dev/nvme0n1"; type = "file"; } );' >"$f"
	ddublkd --check-config "$f" >/dev/null 2>&1
}

# backend_log_line NAME: the daemon's latest start-up line describing backend
# NAME ('backend "NAME": KIND on PATH, ...'; not its tenant table or other lines).
backend_log_line() { grep -E "backend \"$1\": [a-z ]+ on /" "$DDUBLKD_LOG" | tail -n 1; }

# assert_backend_kind NAME: the running daemon opened backend NAME as the
# mode wants (passthrough: its log line says passthrough/uring_cmd).
assert_backend_kind() {
	local line
	line=$(backend_log_line "$1")
	[ -n "$line" ] || fail "ddublkd logged no line for backend \"$1\""
	echo "  $line"
	if [ "$NVME_MODE" = passthrough ]; then
		grep -Eqi 'passthrough|uring_cmd' <<<"$line" ||
			fail "backend \"$1\" is not NVMe passthrough: '$line'"
	else
		grep -Eqi 'passthrough|uring_cmd' <<<"$line" &&
			fail "file mode, but backend \"$1\" is passthrough: '$line'"
	fi
	return 0
}

# --- fio with verification (fio_verify, nvme_fio_verify) ---

# fio messages that mean a verify mismatch (84 is EILSEQ, fio's verify errno).
VERIFY_ERRORS='verify failed|verify: bad|verify type mismatch|err= *84|error=Invalid or incomplete'

# run_fio LABEL [fio args]: one fio run with the caller's "${common[@]}" args; JSON in LABEL.json,
# messages in LABEL.log; returns fio's exit status.
run_fio() {
	local label=$1; shift
	local rc=0
	# shellcheck disable=SC2154 # common: the calling scenario's fio arguments
	fio "${common[@]}" "$@" --output-format=json --output="$label.json" >"$label.log" 2>&1 || rc=$?
	cp "$label.log" "$DDUBLK_OUT/fio-$label.log"
	return "$rc"
}

# assert_clean LABEL: no verify message, no job error.
assert_clean() {
	local label=$1
	if grep -Eqi "$VERIFY_ERRORS" "$label.log"; then
		grep -Ei "$VERIFY_ERRORS" "$label.log" | head -5
		fail "$label: fio reports verify errors"
	fi
	[ "$(jq '.jobs[0].error' "$label.json")" = 0 ] || fail "$label: fio job error $(jq '.jobs[0].error' "$label.json")"
}

# assert_corruption_caught OFFSET SIZE: overwrite one 4 KiB block in the
# middle of the extent [OFFSET, +SIZE) of /dev/nvme0n1 behind the tenant's
# back; a verify pass (run_fio) must then fail with a verify error.
assert_corruption_caught() {
	local offset=$1 size=$2 victim rc=0
	victim=$((offset + size / 2 + 12288))
	dd if=/dev/urandom of=/dev/nvme0n1 bs=4096 count=1 seek=$((victim / 4096)) \
		oflag=direct conv=notrunc status=none || fail "cannot write /dev/nvme0n1"
	run_fio corrupt --verify_only --verify_state_load=1 || rc=$?
	[ "$rc" != 0 ] || fail "verify pass exited 0 after corrupting backend byte $victim (tenant offset $((victim - offset)))"
	grep -Eqi "$VERIFY_ERRORS" corrupt.log || fail "verify pass failed (status $rc) but not with a verify error: $(head -3 corrupt.log)"
	grep -Ei "$VERIFY_ERRORS" corrupt.log | head -2
	pass "corruption at tenant offset $((victim - offset)) detected"
}

# ---- the controller's own view: QEMU trace events ----
# Scenarios with "# vm-qemu-trace: pci_nvme_io_cmd pci_nvme_read pci_nvme_write"
# (see run.sh) can read, live, every command the emulated controller took:
# its submission queue id (sqid = hctx + 1) and, for reads and writes, its LBA.
QEMU_TRACE=$DDUBLK_OUT/qemu-trace.log

# trace_mark: the trace's length now; pass it to trace_commands to look only at what follows.
trace_mark() { stat -c %s "$QEMU_TRACE" 2>/dev/null || echo 0; }

# trace_commands MARK LBA_SIZE NAME:OFFSET:SIZE...: the commands the controller
# took since MARK, one line "OWNER SQID COUNT" per owner and queue: OWNER is
# the NAME whose byte extent [OFFSET, +SIZE) holds a read's or write's first
# LBA ("other" if none), or "all" for every I/O command (flushes too).
trace_commands() {
	local mark=$1 lbs=$2; shift 2
	[ -f "$QEMU_TRACE" ] || fail "no $QEMU_TRACE: does the scenario have a '# vm-qemu-trace:' line?"
	tail -c +"$((mark + 1))" "$QEMU_TRACE" | awk -v lbs="$lbs" -v owners="$*" '
	function field(line, key,    s) {     # the word after "key " in line
		if (!match(line, key " [0-9a-fx]+")) return ""
		s = substr(line, RSTART + length(key) + 1, RLENGTH - length(key) - 1)
		return s
	}
	function hex(s,    i, v) {            # mawk has no strtonum
		v = 0; s = tolower(substr(s, 3))
		for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	BEGIN { n = split(owners, o, " "); for (i = 1; i <= n; i++) { split(o[i], f, ":"); name[i] = f[1]; lo[i] = f[2]; hi[i] = f[2] + f[3] } }
	/pci_nvme_io_cmd / { sq = field($0, "sqid"); cid = field($0, "cid"); all[sq]++; next }
	/pci_nvme_(read|write) / {
		if (field($0, "cid") != cid) { unpaired++; next }
		b = hex(field($0, "lba")) * lbs; who = "other"
		for (i = 1; i <= n; i++) if (b >= lo[i] && b < hi[i]) who = name[i]
		cnt[who " " sq]++
	}
	END {
		for (k in cnt) print k, cnt[k]
		for (k in all) print "all", k, all[k]
		if (unpaired) print "unpaired -", unpaired
	}' | sort -k1,1 -k2,2n
}

# log_field PATTERN: the rest of ddublkd's latest log line after PATTERN.
log_field() { grep -F "$1" "$DDUBLKD_LOG" | tail -n 1 | sed "s/.*$1//"; }

# ---- blk-mq tags (debugfs) ----
# tags_busy DISK: "hctxN=COUNT" for each hardware queue of DISK with tags
# in use now (normal and reserved), one a line; nothing if none is.
tags_busy() {
	awk '/^busy=/ { n[FILENAME] += substr($0, 6) }
	END { for (f in n) if (n[f]) { k = split(f, p, "/"); print p[k - 1] "=" n[f] } }' \
		/sys/kernel/debug/block/"$1"/hctx*/tags | sort -V
}

# assert_tags_idle DISK [SECS]: for when every user of DISK is done and has
# reaped all its commands: then no tag may stay in use. Waits up to SECS
# (default 10) for completions already under way to free theirs; well below
# nvme's 30 s io_timeout, so a polled command that nobody polls (only the
# timeout handler would complete it) is still caught. On failure, shows the
# busy queues' requests (debugfs hctxN/busy, /dispatch) and NVMe timeouts.
assert_tags_idle() {
	local disk=$1 secs=${2:-10} dbg=/sys/kernel/debug/block/$1 busy h deadline
	[ -f "$dbg/hctx0/tags" ] || fail "no $dbg/hctx0/tags (debugfs not mounted?)"
	deadline=$((SECONDS + secs))
	busy=$(tags_busy "$disk") || fail "cannot read $dbg/hctx*/tags"
	while [ -n "$busy" ] && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.5
		busy=$(tags_busy "$disk") || fail "cannot read $dbg/hctx*/tags"
	done
	[ -n "$busy" ] || return 0
	for h in $busy; do
		echo "  $disk ${h%=*}: ${h#*=} tag(s) busy; started requests, then the dispatch list:" >&2
		cat "$dbg/${h%=*}/busy" "$dbg/${h%=*}/dispatch" 2>&1 | sed 's/^/    /' >&2 || true
	done
	dmesg | grep -E 'nvme[0-9]+: I/O [0-9]+ (QID|tag) [0-9]+' | tail -n 10 | sed 's/^/  /' >&2 || true
	fail "$disk: tags still busy $secs s after every command was reaped: ${busy//$'\n'/ }"
}

# ---- crash recovery (recovery, recovery_repeat, no_recovery) ----
CRASHED_PID=

# crash_daemon: SIGKILL the daemon we started, without waiting for it: the
# kernel takes a few seconds to let go of its devices (reap_crashed).
crash_daemon() {
	[ -n "$DDUBLKD_PID" ] || fail "crash_daemon: no daemon running"
	kill -KILL "$DDUBLKD_PID" || fail "kill -9 $DDUBLKD_PID failed"
	CRASHED_PID=$DDUBLKD_PID
	DDUBLKD_PID=
	echo "---- ddublkd (pid $CRASHED_PID) killed with SIGKILL ($(date +%T)) ----" >>"$DDUBLKD_LOG"
}

# reap_crashed: the killed daemon is gone within 30 s, status 137.
reap_crashed() {
	local rc=0 i
	[ -n "$CRASHED_PID" ] || return 0
	for ((i = 0; i < 60; i++)); do
		kill -0 "$CRASHED_PID" 2>/dev/null || break
		sleep 0.5
	done
	kill -0 "$CRASHED_PID" 2>/dev/null && fail "killed ddublkd (pid $CRASHED_PID) still there after 30 s"
	wait "$CRASHED_PID" || rc=$?
	[ "$rc" = 137 ] || fail "killed ddublkd exited with status $rc, expected 137"
	CRASHED_PID=
}

# last_start_log: the daemon log since its latest start.
last_start_log() { awk '/^---- ddublkd --config/ { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$DDUBLKD_LOG"; }

# assert_reattached NAME DEV: the latest start took NAME's device DEV over
# (user recovery) instead of making a new one.
assert_reattached() {
	local line
	line=$(last_start_log | grep -F "tenant \"$1\": $2 re-attached") ||
		fail "$1: the daemon did not log re-attaching $2 (last start: $(last_start_log | grep -F "tenant \"$1\"" | tail -n 3))"
	echo "  $line"
	[ "$(tenant_get "$1" device)" = "$2" ] || fail "$1: served on '$(tenant_get "$1" device)' after the restart, expected $2"
	[ "$(tenant_get "$1" state)" = live ] || fail "$1: state '$(tenant_get "$1" state)' after the restart"
}

# sectors_written DEV: sectors written to block device DEV since boot.
sectors_written() { awk '{ print $7 }' "/sys/block/${1#/dev/}/stat"; }

# wait_written DEV BYTES SECS PID: return once BYTES more reach DEV; fail if
# it takes longer than SECS or PID (the writer) exits first.
wait_written() {
	local dev=$1 want=$(($2 / 512)) deadline=$((SECONDS + $3)) start
	start=$(sectors_written "$dev")
	while [ $(($(sectors_written "$dev") - start)) -lt "$want" ]; do
		kill -0 "$4" 2>/dev/null || fail "the writer (pid $4) ended before $2 bytes reached $dev"
		[ "$SECONDS" -lt "$deadline" ] || fail "fewer than $2 bytes reached $dev in $3 s"
		sleep 0.2
	done
}

# range_sum DEV OFFSET BYTES: sha256 of BYTES at OFFSET of DEV, read with
# O_DIRECT (what the device holds, not the page cache).
range_sum() {
	local s
	s=$(dd if="$1" bs=64K iflag=direct,skip_bytes,count_bytes skip="$2" count="$3" status=none | sha256sum) ||
		fail "cannot read $3 bytes at $2 of $1"
	echo "${s%% *}"
}

# zeros_sum BYTES: sha256 of BYTES zero bytes, to compare with range_sum.
zeros_sum() { local s; s=$(head -c "$1" /dev/zero | sha256sum); echo "${s%% *}"; }
