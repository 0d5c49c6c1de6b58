/* SPDX-License-Identifier: MIT */
/*
 * Cumulative latency histograms for live statistics, on sched/lathist.h's
 * log-linear buckets (16 per power of two: a percentile is an upper bound
 * within 6%).
 *
 * One thread writes a struct stats_hist (the worker that owns it); any
 * thread may read it at any time. Writes are relaxed atomic load+store
 * pairs, which compile to plain moves and increments on x86-64 and arm64:
 * no locked instruction, no fence on the I/O path. A reader gets each
 * counter whole, though not all of them at one instant; percentiles use
 * the buckets' own total, so a snapshot stays self-consistent.
 *
 * Readers sum histograms into a struct stats_hist_snap (plain counters):
 * one per worker, merged, then asked for percentiles.
 */
#ifndef DDUBLK_STATS_HIST_H
#define DDUBLK_STATS_HIST_H

#include <stdatomic.h>
#include <stdint.h>

/* Samples above this (about 68.7 s) count in the last bucket; max keeps the truth. */
#define STATS_HIST_MAX_NS ((1ULL << 36) - 1)
#define STATS_HIST_BUCKETS 528 /* lathist_bucket(STATS_HIST_MAX_NS) + 1 */

/*
 * cmake -DDDUBLK_STATS=OFF compiles the writers' side to nothing: only for
 * A/B benchmarks of what statistics cost (the readers then see zeros).
 */
#ifdef DDUBLK_NO_STATS
#define STATS_ENABLED 0
#else
#define STATS_ENABLED 1
#endif

/* A counter with one writer: add without a locked instruction. */
static inline void stats_add(_Atomic uint64_t *c, uint64_t by)
{
	if (!STATS_ENABLED)
		return;
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
			      memory_order_relaxed);
}

/* The same, ordered after the writer's earlier counters (a reader's acquire load pairs). */
static inline void stats_add_release(_Atomic uint64_t *c, uint64_t by)
{
	if (!STATS_ENABLED)
		return;
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
			      memory_order_release);
}

static inline uint64_t stats_read(const _Atomic uint64_t *c)
{
	return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_relaxed);
}

struct stats_hist {
	_Atomic uint64_t count;
	_Atomic uint64_t sum_ns;
	_Atomic uint64_t max_ns;
	_Atomic uint64_t bucket[STATS_HIST_BUCKETS];
};

struct stats_hist_snap {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t max_ns;
	uint64_t bucket[STATS_HIST_BUCKETS];
};

/* The writer: one sample. */
void stats_hist_record(struct stats_hist *h, uint64_t ns);

/* Any thread: add h's counters to s (s zeroed first for a plain copy). */
void stats_hist_snap_add(struct stats_hist_snap *s, const struct stats_hist *h);
/* Merge two snapshots (per-worker histograms into a tenant's). */
void stats_hist_snap_merge(struct stats_hist_snap *dst, const struct stats_hist_snap *src);
/*
 * dst = now - before, for a rate over an interval (counters only grow;
 * max is now's, the best a cumulative max can say).
 */
void stats_hist_snap_delta(struct stats_hist_snap *dst, const struct stats_hist_snap *now,
			   const struct stats_hist_snap *before);

/*
 * The q-quantile (0 < q <= 1) by nearest rank: the upper bound of the
 * bucket holding it, never above the largest sample. 0 when empty.
 */
uint64_t stats_hist_quantile(const struct stats_hist_snap *s, double q);
/* Samples in the buckets (count may lag or lead it by in-flight updates). */
uint64_t stats_hist_total(const struct stats_hist_snap *s);

/* The bucket a sample of ns lands in, and the largest value bucket b holds. */
unsigned stats_hist_bucket(uint64_t ns);
uint64_t stats_hist_bucket_top(unsigned b);

/* Samples <= le_ns, counting each bucket by its upper bound (Prometheus "le"). */
uint64_t stats_hist_count_le(const struct stats_hist_snap *s, uint64_t le_ns);

#endif
