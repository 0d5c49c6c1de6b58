/* SPDX-License-Identifier: MIT */
/* Cumulative latency histograms (see hist.h). */
#include "stats/hist.h"

#include "sched/lathist.h"

_Static_assert(LATHIST_SUB_BITS == 4 && STATS_HIST_BUCKETS == (36 - LATHIST_SUB_BITS) * LATHIST_SUB + LATHIST_SUB,
	       "STATS_HIST_BUCKETS must be lathist_bucket(STATS_HIST_MAX_NS) + 1");

unsigned stats_hist_bucket(uint64_t ns)
{
	return lathist_bucket(ns > STATS_HIST_MAX_NS ? STATS_HIST_MAX_NS : ns);
}

uint64_t stats_hist_bucket_top(unsigned b)
{
	return lathist_bucket_top(b < STATS_HIST_BUCKETS ? b : STATS_HIST_BUCKETS - 1);
}

void stats_hist_record(struct stats_hist *h, uint64_t ns)
{
	if (!STATS_ENABLED)
		return;
	stats_add(&h->bucket[stats_hist_bucket(ns)], 1);
	stats_add(&h->count, 1);
	stats_add(&h->sum_ns, ns);
	if (ns > stats_read(&h->max_ns))
		atomic_store_explicit(&h->max_ns, ns, memory_order_relaxed);
}

void stats_hist_snap_add(struct stats_hist_snap *s, const struct stats_hist *h)
{
	uint64_t max = stats_read(&h->max_ns);

	s->count += stats_read(&h->count);
	s->sum_ns += stats_read(&h->sum_ns);
	if (max > s->max_ns)
		s->max_ns = max;
	for (unsigned b = 0; b < STATS_HIST_BUCKETS; b++)
		s->bucket[b] += stats_read(&h->bucket[b]);
}

void stats_hist_snap_merge(struct stats_hist_snap *dst, const struct stats_hist_snap *src)
{
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
	for (unsigned b = 0; b < STATS_HIST_BUCKETS; b++)
		dst->bucket[b] += src->bucket[b];
}

static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0; /* a counter reset in between (device recreated) reads as 0 */
}

void stats_hist_snap_delta(struct stats_hist_snap *dst, const struct stats_hist_snap *now,
			   const struct stats_hist_snap *before)
{
	dst->count = minus(now->count, before->count);
	dst->sum_ns = minus(now->sum_ns, before->sum_ns);
	dst->max_ns = now->max_ns;
	for (unsigned b = 0; b < STATS_HIST_BUCKETS; b++)
		dst->bucket[b] = minus(now->bucket[b], before->bucket[b]);
}

uint64_t stats_hist_total(const struct stats_hist_snap *s)
{
	uint64_t total = 0;

	for (unsigned b = 0; b < STATS_HIST_BUCKETS; b++)
		total += s->bucket[b];
	return total;
}

uint64_t stats_hist_quantile(const struct stats_hist_snap *s, double q)
{
	uint64_t total = stats_hist_total(s), rank, seen = 0;

	if (!total)
		return 0;
	/* The ceil(q * total)-th smallest sample, at least the first. */
	rank = (uint64_t)(q * (double)total);
	if ((double)rank < q * (double)total)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > total)
		rank = total;
	for (unsigned b = 0; b < STATS_HIST_BUCKETS; b++) {
		seen += s->bucket[b];
		if (seen >= rank) {
			uint64_t top = stats_hist_bucket_top(b);

			return s->max_ns && top > s->max_ns ? s->max_ns : top;
		}
	}
	return s->max_ns;
}

uint64_t stats_hist_count_le(const struct stats_hist_snap *s, uint64_t le_ns)
{
	uint64_t n = 0;

	for (unsigned b = 0; b < STATS_HIST_BUCKETS && stats_hist_bucket_top(b) <= le_ns; b++)
		n += s->bucket[b];
	return n;
}
