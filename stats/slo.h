/* SPDX-License-Identifier: MIT */
/*
 * A tenant's service objectives as the tenant sees them, judged once per
 * interval (SLO_INTERVAL_NS) by the control thread from its cumulative
 * counters (stats/io.h): the p99 of its latency -- arrival to the
 * backend's answer -- over the last interval against its target, how many
 * intervals missed it (SLO violations), and how much of the device it
 * used (by the cost model, common/cost.h) against what it reserved.
 *
 * Pure: the caller passes the counters and the time.
 */
#ifndef DDUBLK_STATS_SLO_H
#define DDUBLK_STATS_SLO_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cost.h"
#include "stats/io.h"

#define SLO_INTERVAL_NS 1000000000ULL

struct slo_track {
	uint64_t at_ns; /* when the last interval closed; 0: not started */
	struct stats_hist_snap lat; /* the counters then */
	uint64_t ops[IO_NR_OPS], bytes[IO_NR_OPS];
	/* The last interval's (zero before the first closes): */
	uint64_t p99_ns; /* 0: no I/O in it */
	uint64_t iops, bytes_per_s;
	uint64_t used; /* device ns per second it took, by the cost model */
	/* Since the tracker started: */
	uint64_t intervals; /* closed with I/O and a target to judge it by */
	uint64_t violations; /* of them: p99 above the target */
};

/* Whether the interval is over at now (or the tracker has not started). */
bool slo_due(const struct slo_track *t, uint64_t now_ns);

/*
 * Close the interval at now with the counters `cur`: the first call only
 * starts the tracker. target_ns 0: no target, nothing judged (p99 and use
 * are still kept).
 */
void slo_update(struct slo_track *t, const struct stats_io_snap *cur, uint64_t now_ns,
		uint64_t target_ns, const struct cost_model *m);

#endif
