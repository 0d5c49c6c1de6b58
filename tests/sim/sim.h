/* SPDX-License-Identifier: MIT */
/*
 * One run of Daredevil's single-namespace experiment, simulated: L jobs
 * (4 KiB reads at QD1) and T jobs (128 KiB writes at QD32), closed loop
 * like fio (a completion issues the next request at once), each job one
 * tenant pinned to a CPU among the first `cpus`, all driving the real
 * sched/ code in front of the model SSD (ssd.h).
 *
 * The device has `nqs` NQs of tag depth `depth`: the first nqs - poll_nqs
 * are DEFAULT queues, the rest POLL; NQ i of each kind maps CPU i, as on
 * a server with that many CPUs. A static scheduler thus reaches only the
 * queues of the jobs' CPUs; daredevil reaches all of them.
 *
 * Deterministic: integer time in ns, no randomness (random offsets do not
 * change a service time), every tie broken by index.
 */
#ifndef DDUBLK_TESTS_SIM_SIM_H
#define DDUBLK_TESTS_SIM_SIM_H

#include <stdint.h>

#include "sched/sched.h"
#include "tests/sim/ssd.h"

struct sim_cfg {
	struct sched_params sched; /* .mode: static or daredevil */
	struct ssd_cfg ssd; /* .nqs: the NQs */
	unsigned poll_nqs; /* the last poll_nqs NQs are POLL */
	unsigned depth; /* tags per NQ */
	unsigned cpus; /* jobs pinned round-robin to CPUs 0..cpus-1 */
	unsigned l_jobs, l_qd;
	uint32_t l_bytes;
	uint64_t l_start_ns; /* L jobs start then (T at 0): L arriving on a busy device */
	unsigned t_jobs, t_qd;
	uint32_t t_bytes;
	uint64_t warmup_ns; /* completions before this do not count */
	uint64_t measure_ns; /* then this long */
	/*
	 * Mix in commands beyond plain reads and writes: of every 8 requests
	 * of an L job one FLUSH, one 4 KiB FUA write and one DISCARD; of a T
	 * job one FLUSH, one FUA write and one DISCARD or WRITE ZEROES (each
	 * of the job's size). As on Linux, a command without data that the
	 * scheduler puts on a POLL NQ lands on the submitting CPU's DEFAULT
	 * queue (it cannot be polled).
	 */
	bool mix;
	/*
	 * A second mix, for T jobs only and independent of `mix`: of every
	 * 100 requests of a T job, exactly t_fua_pct are FUA writes (of the
	 * job's size) and t_flush_pct FLUSHes, each kind spread evenly over
	 * the 100 by a fixed pattern of the job's request count (10 and 1:
	 * FUA at requests 5, 15, ..., 95 and FLUSH at 50 of every hundred).
	 * Their sum must not pass 100. With `mix` on too, these slots come
	 * first and `mix` picks among the rest as before.
	 */
	unsigned t_fua_pct, t_flush_pct;
	/*
	 * The first T job's reservation (sched_tenant_slo(): min_iops in
	 * 4 KiB reads, min_bw in 128 KiB reads, charged by sched.cost, which
	 * sim_cfg_default() sets to the model SSD's own speeds), and whether
	 * it issues nothing at all (its reservation unused).
	 */
	uint64_t t0_min_iops, t0_min_bw;
	bool t0_idle;
};

struct sim_result {
	uint64_t l_ios; /* L completions measured */
	uint64_t l_p50_ns, l_p99_ns, l_p999_ns, l_max_ns; /* issue to completion, as fio's clat */
	uint64_t t_ios;
	uint64_t t_cmds, t_fua_cmds, t_flush_cmds; /* T requests issued, FUA writes, FLUSHes (whole run) */
	double t_mbps; /* T bandwidth, 10^6 bytes per second */
	double t0_mbps; /* of it, the first T job's */
	uint64_t latency_cmds; /* L commands the SSD received (whole run) */
	uint64_t latency_behind_t; /* ... that joined an SQ already holding a T command */
	uint64_t over_depth; /* submissions past an NQ's tag depth: must stay 0 */
	struct sched_stats sched; /* at the end */
};

/* 64 NQs (32 POLL) of depth 1023, the default SSD, 4 L jobs + t_jobs T jobs, 0.5 s + 4 s. */
void sim_cfg_default(struct sim_cfg *c, enum conf_sched_mode mode, unsigned cpus,
		     unsigned t_jobs);

/* 0, or a negative errno. */
int sim_run(const struct sim_cfg *c, struct sim_result *out);

#endif
