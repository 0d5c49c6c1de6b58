#!/usr/bin/env bash
# Live statistics against fio, on an NVMe passthrough tenant (daredevil):
#  (1) 20 s of 4 KiB random read/write (70/30, QD16): the daemon's IOPS
#      between its first and last snapshot inside fio's I/O (>= 5 s) are within 10% of fio's mean IOPS; its read and
#      write byte and request counts over the whole run match fio's io_bytes
#      and total_ios within 1%; latency percentiles of queue and device time
#      are present and ordered (p50 <= p90 <= p99 <= p99.9 <= max); the
#      tenant used NQs that "nq --json" lists;
#  (2) a tenant limited to 200 IOPS: its throttled counters grow and its
#      queue-time p99 shows the wait;
#  (3) "stats --prometheus" parses (every sample line "name{labels} value",
#      every family typed) and agrees with --json; "nq --json" lists queues
#      with kinds and groups; the scheduler's row (mode, L p99 against
#      its target, the verdict, the cap) is in --json, the table and
#      Prometheus; "top -n 2" into a file prints two plain
#      blocks without escape sequences; an unknown tenant is an error.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"

cfg=/run/stats_fio.conf
cat >"$cfg" <<CONF
daemon = { socket = "/run/ddublk/ctl.sock"; workers = 2; log_level = "info"; };
scheduler = { mode = "daredevil"; };
backends = ( { name = "ns"; path = "/dev/ng0n1"; } );
tenants = (
  { name = "s"; backend = "ns"; size = "256M"; queues = 2; class = "latency"; },
  { name = "q"; backend = "ns"; size = "64M"; iops_limit = 200; }
);
CONF
start_daemon "$cfg"
cd "$DDUBLK_OUT"
dev=$(tenant_get s device)
qdev=$(tenant_get q device)
[ -b "$dev" ] && [ -b "$qdev" ] || fail "tenant devices missing: '$dev' '$qdev'"

# snap FILE [NAME]: ublk-ctl stats --json into FILE.
snap() { ublk-ctl stats ${2:+"$2"} --json >"$1" || fail "ublk-ctl stats ${2:-} --json failed"; }
# jqn FILE EXPR: a number from a snapshot (fails on null).
jqn() {
	local v
	v=$(jq -e "$2" "$1") || fail "$1: no value for $2"
	echo "$v"
}
# within A B PCT: |A - B| <= PCT% of B.
within() { awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= b * p / 100) }'; }
T='.tenants[0]'

step "(1) fio 4k randrw 70/30 QD16, 20 s, on $dev; snapshots before, during and after"
snap a.json s
# Snapshots every 0.1 s while fio runs, straight over the control socket (a
# ublk-ctl process per snapshot takes seconds in a loaded TCG guest, and fio
# may take as long to start): the daemon's rate is taken between the first
# and the last snapshot that fall inside fio's I/O. The sampler runs before
# fio starts and until it has ended.
rm -f sampler.stop samples.tsv
python3 - /run/ddublk/ctl.sock >samples.tsv <<'PY' &
import json, os, socket, sys, time
path = sys.argv[1]
while not os.path.exists("sampler.stop"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b'{"cmd":"stats","name":"s"}\n')
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(1 << 20)
        if not chunk:
            sys.exit("daemon closed the connection")
        buf += chunk
    s.close()
    st = json.loads(buf)["stats"]
    t = st["tenants"][0]
    print(st["time_ns"], t["read_ops"] + t["write_ops"], flush=True)
    time.sleep(0.1)
PY
sampler_pid=$!
for ((i = 0; i < 600; i++)); do
	[ -s samples.tsv ] && break
	kill -0 "$sampler_pid" 2>/dev/null || fail "the stats sampler died"
	sleep 0.1
done
[ -s samples.tsv ] || fail "the stats sampler took no snapshot in 60 s"
fio --name=st --filename="$dev" --direct=1 --ioengine=io_uring --rw=randrw --rwmixread=70 \
	--bs=4k --iodepth=16 --time_based --runtime=20 --output-format=json \
	--output=fio-st.json >fio-st.log 2>&1 &
fio_pid=$!
rc=0; wait "$fio_pid" || rc=$?
sleep 0.5 # a snapshot after the end, to know the last one before it is inside
touch sampler.stop
wait "$sampler_pid" || fail "the stats sampler failed"
[ "$rc" = 0 ] || fail "fio exited $rc ($(tail -3 fio-st.log))"
snap b.json s
[ "$(jq '.jobs[0].error' fio-st.json)" = 0 ] || fail "fio job error"

# (no process substitution: the guest has no /dev/fd)
read -r first_ns first_ops last_ns last_ops n_in <<<"$(awk -v lo="$(jqn a.json "$T.read_ops + $T.write_ops")" \
	-v hi="$(jqn b.json "$T.read_ops + $T.write_ops")" '
	$2 > lo && $2 < hi { if (!n++) { t0 = $1; c0 = $2 } t1 = $1; c1 = $2 }
	END { printf "%.0f %.0f %.0f %.0f %d\n", t0, c0, t1, c1, n }' samples.tsv)"
echo "  $(wc -l <samples.tsv) snapshots, $n_in inside fio's I/O, $(( (last_ns - first_ns) / 1000000 )) ms apart"
fio_ms=$(jq '.jobs[0].read.runtime' fio-st.json)
[ "$n_in" -ge 2 ] && [ $((last_ns - first_ns)) -ge $((fio_ms * 750000)) ] ||
	fail "snapshots inside fio's I/O span $(( (last_ns - first_ns) / 1000000 )) ms ($n_in of them), less than 3/4 of its $fio_ms ms"
fio_iops=$(jq '.jobs[0].read.iops + .jobs[0].write.iops' fio-st.json)
d_iops=$(awk -v o=$((last_ops - first_ops)) -v n=$((last_ns - first_ns)) 'BEGIN { printf "%.0f", o * 1e9 / n }')
echo "  fio: $fio_iops IOPS (mean over its runtime); daemon: $d_iops IOPS ($((last_ops - first_ops)) requests in $(( (last_ns - first_ns) / 1000000 )) ms)"
within "$d_iops" "$fio_iops" 10 || fail "daemon says $d_iops IOPS, fio $fio_iops: more than 10% apart"

for rw in read write; do
	fio_bytes=$(jq ".jobs[0].$rw.io_bytes" fio-st.json)
	fio_ios=$(jq ".jobs[0].$rw.total_ios" fio-st.json)
	bytes=$(( $(jqn b.json "$T.${rw}_bytes") - $(jqn a.json "$T.${rw}_bytes") ))
	ops=$(( $(jqn b.json "$T.${rw}_ops") - $(jqn a.json "$T.${rw}_ops") ))
	echo "  $rw: fio $fio_ios requests, $fio_bytes bytes; daemon $ops requests, $bytes bytes"
	[ "$fio_bytes" -gt 0 ] || fail "fio did no ${rw}s"
	within "$bytes" "$fio_bytes" 1 || fail "daemon counted $bytes bytes of ${rw}s, fio $fio_bytes"
	within "$ops" "$fio_ios" 1 || fail "daemon counted $ops ${rw}s, fio $fio_ios"
done
[ "$(jqn b.json "$T.inflight")" = 0 ] || fail "requests in flight after fio ended: $(jq "$T.inflight" b.json)"
[ "$(jq "[$T.errors[]] | add" b.json)" = 0 ] || fail "errors counted: $(jq -c "$T.errors" b.json)"

for h in queue_lat dev_lat; do
	read -r n p50 p90 p99 p999 max <<<"$(jq -r "$T.$h | \"\(.count) \(.p50_ns) \(.p90_ns) \(.p99_ns) \(.p999_ns) \(.max_ns)\"" b.json)"
	echo "  $h: $n samples, p50 ${p50} p90 ${p90} p99 ${p99} p99.9 ${p999} max ${max} ns"
	[ "$n" -gt 0 ] 2>/dev/null || fail "$h: no samples"
	[ "$p50" -gt 0 ] || [ "$h" = queue_lat ] || fail "$h: p50 is $p50"
	[ "$p50" -le "$p90" ] && [ "$p90" -le "$p99" ] && [ "$p99" -le "$p999" ] && [ "$p999" -le "$max" ] ||
		fail "$h: percentiles out of order: $p50 $p90 $p99 $p999 $max"
	[ "$(jq "[$T.$h.buckets[][1]] | add" b.json)" = "$n" ] || fail "$h: buckets do not add up to count $n"
done
# Device time is part of what fio waits for: the daemon's median cannot exceed fio's p90.
fio_p90=$(jq '.jobs[0].read.clat_ns.percentile["90.000000"]' fio-st.json)
dev_p50=$(jqn b.json "$T.dev_lat.p50_ns")
echo "  fio read clat p90 $fio_p90 ns; daemon device-time p50 $dev_p50 ns"
[ "$dev_p50" -le "$fio_p90" ] || fail "daemon device-time p50 $dev_p50 ns above fio's clat p90 $fio_p90 ns"

ublk-ctl nq --json >nq.json || fail "ublk-ctl nq --json failed"
nr_nq=$(jq length nq.json)
[ "$nr_nq" -ge 2 ] || fail "nq --json lists $nr_nq queues, daredevil needs 2"
jq -e 'all(.[]; (.kind == "default" or .kind == "poll") and
	(.group == "latency" or .group == "throughput") and (.qid >= 1) and (.cpus | length > 0))' \
	nq.json >/dev/null || fail "nq --json: a queue without kind/group/qid/cpus: $(jq -c . nq.json)"
used=$(jq -c "$T.nqs" b.json)
echo "  NQs: $(jq -c '[.[] | {qid, kind, group, cmds}]' nq.json); tenant s used qids $used"
[ "$(jq "$T.nqs | length" b.json)" -ge 1 ] || fail "tenant s used no NQ"
jq -e --slurpfile nq nq.json "$T.nqs - [\$nq[0][].qid] == []" b.json >/dev/null ||
	fail "tenant s used qids $used that nq --json does not list"
cmds=$(jq '[.[].cmds] | add' nq.json)
[ "$cmds" -ge "$(jqn b.json "$T.completed - $T.flush_ops")" ] ||
	fail "NQs carried $cmds commands, fewer than tenant s's requests"
jq -e '.workers | length == 2 and all(.[]; .cpu_ns > 0 and .ublk_ops > 0)' b.json >/dev/null ||
	fail "workers: $(jq -c .workers b.json)"
pass "(1) daemon IOPS $d_iops vs fio $fio_iops; bytes and requests match; percentiles ordered"

step "(2) tenant q (iops_limit 200): 4 s of 4k randread QD8"
snap qa.json q
fio --name=q --filename="$qdev" --direct=1 --ioengine=io_uring --rw=randread --bs=4k \
	--iodepth=8 --time_based --runtime=4 --output-format=json --output=fio-q.json >fio-q.log 2>&1 ||
	fail "fio on q failed"
snap qb.json q
thr=$(( $(jqn qb.json "$T.throttled") - $(jqn qa.json "$T.throttled") ))
thr_ns=$(( $(jqn qb.json "$T.throttled_ns") - $(jqn qa.json "$T.throttled_ns") ))
qp99=$(jqn qb.json "$T.queue_lat.p99_ns")
echo "  q: $thr requests throttled, $((thr_ns / 1000000)) ms held in all; queue-time p99 $((qp99 / 1000)) us"
[ "$thr" -gt 0 ] && [ "$thr_ns" -gt 0 ] || fail "QoS held nothing back at 200 IOPS"
[ "$qp99" -gt 5000000 ] || fail "queue-time p99 $qp99 ns does not show a QoS wait (> 5 ms at QD8 and 200 IOPS)"
[ "$(jq -r "$T.class" qb.json)" = besteffort ] || fail "q's class: $(jq -r "$T.class" qb.json)"
pass "(2) throttling counted"

step "(3) stats --prometheus, stats table, nq, top -n 2 (not a terminal), bad input"
ublk-ctl stats --prometheus >prom.txt || fail "stats --prometheus failed"
snap all.json
bad=$(grep -v '^#' prom.txt | grep -Ev '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.eE+-]+$|^[^ ]+ [+-]Inf$' | head -3 || true)
[ -z "$bad" ] || fail "Prometheus lines that do not parse: $bad"
# every sample's family has a # TYPE line before it
awk '/^# TYPE /{ t[$3] = 1; next } /^#/{ next }
	{ n = $1; sub(/\{.*/, "", n); f = n; sub(/_(bucket|sum|count)$/, "", f)
	  if (!(n in t) && !(f in t)) { print "untyped: " $0; bad = 1 } }
	END { exit bad }' prom.txt || fail "Prometheus samples without # TYPE"
samples=$(grep -vc '^#' prom.txt)
prom_reads=$(sed -n 's/^ddublk_tenant_requests_total{tenant="s",op="read"} //p' prom.txt)
[ "$prom_reads" = "$(jq '.tenants[] | select(.name == "s") | .read_ops' all.json)" ] ||
	fail "Prometheus says $prom_reads reads of s, JSON $(jq '.tenants[] | select(.name == "s") | .read_ops' all.json)"
grep -q '^ddublk_tenant_device_latency_seconds_bucket{tenant="s",le="+Inf"} ' prom.txt ||
	fail "no device latency histogram for s"
grep -q '^ddublk_nq_inflight{backend="ns",qid="[0-9]*"} ' prom.txt || fail "no NQ gauges"
grep -Eq '^ddublk_sched_target_met\{backend="ns",mode="daredevil"\} [01]$' prom.txt ||
	fail "no scheduler gauges: $(grep sched prom.txt)"
# The scheduler of ns: s (latency) did I/O in (1), so its p99 was measured.
echo "  scheduler: $(jq -c '.schedulers' all.json)"
jq -e '.schedulers | length == 1 and (.[0] | .backend == "ns" and .mode == "daredevil" and
	.latency_target_us == 1000 and .latency_p99_us > 0 and
	(.target == "met" or .target == "unmet-cutting" or .target == "unmet-alone" or
	 .target == "unmet-throttle") and
	(.cap == "on" or .cap == "off") and .throughput_cap >= 1048576)' all.json >/dev/null ||
	fail "stats --json: schedulers $(jq -c .schedulers all.json)"
echo "  $samples samples, $(grep -c '^# TYPE' prom.txt) families"

ublk-ctl stats >stats.txt || fail "ublk-ctl stats failed"
head -3 stats.txt
grep -Eq '^NAME +CLASS +READS' stats.txt && grep -Eq '^s +latency ' stats.txt || fail "stats table: $(head -3 stats.txt)"
grep -Eq '^ns +daredevil +(yes|no) +[0-9.]+(us|ms|s) +1\.0ms +(met|unmet-cutting|unmet-alone|unmet-throttle) ' stats.txt ||
	fail "stats: no scheduler row for ns: $(tail -3 stats.txt)"
ublk-ctl nq >nq.txt || fail "ublk-ctl nq failed"
[ "$(grep -cE '^ns +[0-9]+ +(default|poll) ' nq.txt)" = "$nr_nq" ] || fail "nq table: $(cat nq.txt)"

# top while s reads (fio may take a while to start: wait until the daemon sees it)
fio --name=top --filename="$dev" --direct=1 --ioengine=io_uring --rw=randread --bs=4k \
	--iodepth=4 --time_based --runtime=120 >fio-top.log 2>&1 &
fio_pid=$!
base=$(jqn all.json '.tenants[] | select(.name == "s") | .completed')
for ((i = 0; i < 120; i++)); do
	snap now.json s
	[ "$(jqn now.json "$T.completed")" -gt $((base + 50)) ] && break
	sleep 1
done
ublk-ctl top -n 2 --interval 1 --sort name >top.txt || fail "ublk-ctl top -n 2 failed"
kill -INT "$fio_pid" 2>/dev/null || true
wait "$fio_pid" || true
cat top.txt
[ "$(grep -c '^ddublk top ' top.txt)" = 2 ] || fail "top -n 2 printed $(grep -c '^ddublk top ' top.txt) frames"
! grep -q $'\033' top.txt || fail "top wrote escape sequences into a file"
[ "$(grep -cE '^(s|q) ' top.txt)" = 4 ] || fail "top frames do not list both tenants twice"
[ "$(grep -cE '^s +latency +[1-9][0-9]* +0 ' top.txt)" = 2 ] || fail "top shows no reads of s in both frames"
# s is a latency tenant: some queue of the latency group (qid 1 with two
# DEFAULT queues on the stock kernel, polled ones with the series) is busy.
[ "$(grep -cE '^ns +[0-9]+ +(default|poll) +latency +[0-9,-]+ +[0-9]+ +[1-9]' top.txt)" -ge 1 ] ||
	fail "top shows no commands on any latency-group queue"

rc=0; ublk-ctl stats nosuch >/dev/null 2>err.txt || rc=$?
[ "$rc" = 1 ] && grep -q 'no tenant named "nosuch"' err.txt || fail "stats nosuch: exit $rc, '$(cat err.txt)'"
rc=0; ublk-ctl top --interval 0 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "top --interval 0: exit $rc, expected 2"
pass "(3) Prometheus ($samples samples) parses, tables, nq and top work"

stop_daemon
pass "stats_fio"
