/* SPDX-License-Identifier: MIT */
/*
 * The "stats" reply on the wire: {"ok":true,"stats":{STATS}}. Field names
 * are stable (README "Statistics"); new fields may be added, none renamed.
 *
 *   STATS  = {"version":1,"time_ns":N,"tenants":[TENANT...],"nqs":[NQ...],
 *             "workers":[WORKER...],"schedulers":[SCHED...]}
 *   TENANT = {"name","device","backend","class","state",
 *             "read_ops","write_ops","flush_ops","discard_ops","write_zeroes_ops",
 *             "read_bytes","write_bytes","discard_bytes","write_zeroes_bytes",
 *             "arrived","completed","inflight",
 *             "errors":{"out_of_range","unsupported","io","timeout","other"},
 *             "throttled","throttled_ns","nqs":[QID...],
 *             "queue_lat":HIST,"dev_lat":HIST,"slo":SLO}
 *   SLO    = {"target_us","p99_us","intervals","violations","reserved_iops",
 *             "reserved_bw","reserved_pct","used_iops","used_bw","used_pct"}
 *             over the last whole second (stats/slo.h): p99 arrival -> answer,
 *             target_us 0 = none; intervals judged and violations (p99 above
 *             the target) since the device started; the device's share
 *             reserved and used by the cost model, in % (floating point)
 *   NQ     = {"backend","namespace","index","qid","kind","group","cpus",
 *             "submitter_cpu","depth","inflight","inflight_bytes","cmds","bytes",
 *             "direct","hopped","lat":HIST}
 *   WORKER = {"index","cpu","tid","cpu_ns","ublk_ops","backend_ops","returned","ring_enters"}
 *   SCHED  = {"backend","namespace","mode","latency_active","latency_target_us",
 *             "latency_p99_us","target","throughput_cap","cap","cap_cuts",
 *             "cap_fruitless","cap_raises"}   one per router (NVMe passthrough backend);
 *             target "met", "unmet-cutting", "unmet-alone" or "unmet-throttle";
 *             cap "on" or "off"
 *   HIST   = {"count","sum_ns","max_ns","p50_ns","p90_ns","p99_ns","p999_ns",
 *             "buckets":[[UPPER_NS,COUNT]...]}   non-empty buckets, ascending
 *
 * Counters are cumulative since the device (tenants) or the daemon (NQs,
 * workers) started; time_ns is CLOCK_MONOTONIC at the snapshot, so a rate
 * is (b.x - a.x) / (b.time_ns - a.time_ns).
 */
#ifndef DDUBLK_CTL_STATS_JSON_H
#define DDUBLK_CTL_STATS_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "ctl/proto.h"
#include "stats/io.h"

#define CTL_STATS_VERSION 1

struct ctl_nq_stats {
	char backend[CONF_NAME_MAX];
	char ns[64]; /* "nvme0n1" */
	unsigned index; /* the scheduler's NQ number */
	unsigned qid; /* NVMe queue id */
	bool poll;
	const char *group; /* "latency", "throughput", "none" */
	char cpus[256]; /* "0-1" */
	int submitter_cpu;
	unsigned depth, inflight;
	uint64_t inflight_bytes, cmds, bytes, direct, hopped;
	struct stats_hist_snap lat;
};

struct ctl_worker_stats {
	unsigned index;
	int cpu, tid;
	uint64_t cpu_ns, ublk_ops, backend_ops, returned, ring_enters;
};

/* A router's scheduler: L's p99 against its target and what the T cap does (sched/tcap.h). */
struct ctl_sched_stats {
	char backend[CONF_NAME_MAX];
	char ns[64];
	const char *mode; /* "static", "daredevil" */
	bool latency_active;
	uint64_t latency_target_us, latency_p99_us; /* p99: the last full window's */
	const char *target; /* "met", "unmet-cutting", "unmet-alone", "unmet-throttle" */
	uint64_t throughput_cap; /* bytes */
	bool cap_on;
	uint64_t cap_cuts, cap_fruitless, cap_raises;
};

/* A tenant's objectives against what it saw in the last interval (stats/slo.h). */
struct ctl_slo_stats {
	uint64_t target_us; /* 0: no target */
	uint64_t p99_us; /* the last interval's, 0: no I/O in it */
	uint64_t intervals, violations;
	uint64_t reserved_iops, reserved_bw; /* min_iops, min_bw */
	double reserved_pct; /* of the device, by the cost model */
	uint64_t used_iops, used_bw; /* the last interval's */
	double used_pct;
};

json_object *ctl_slo_stats_to_json(const struct ctl_slo_stats *s);

json_object *ctl_hist_to_json(const struct stats_hist_snap *s);
/* Back from the wire (buckets, count, sum, max): 0, or -1 if malformed. */
int ctl_hist_from_json(json_object *obj, struct stats_hist_snap *s);

/* qids: the NVMe queue ids the tenant's requests used. */
json_object *ctl_tenant_stats_to_json(const struct ctl_tenant_info *t,
				      const struct stats_io_snap *s, const unsigned *qids,
				      unsigned nr_qids);
json_object *ctl_nq_stats_to_json(const struct ctl_nq_stats *n);
json_object *ctl_worker_stats_to_json(const struct ctl_worker_stats *w);
json_object *ctl_sched_stats_to_json(const struct ctl_sched_stats *s);

/* A uint64 field of obj, or 0 when absent or mistyped (readers tolerate older daemons). */
uint64_t ctl_json_u64(json_object *obj, const char *key);
/* A string field, or "" / fallback when absent. */
const char *ctl_json_str(json_object *obj, const char *key, const char *fallback);

#endif
