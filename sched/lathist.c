/* SPDX-License-Identifier: MIT */
/*
 * Log-linear latency histogram (see lathist.h).
 *
 * Values below LATHIST_SUB have a bucket each. Above, a value whose top
 * bit is bit m lands in row m - SUB_BITS + 1, column given by the SUB_BITS
 * bits below the top one: the row's buckets are 2^(m - SUB_BITS) wide.
 */
#include "sched/lathist.h"

#include <string.h>

unsigned lathist_bucket(uint64_t v)
{
	unsigned shift;

	if (v < LATHIST_SUB)
		return (unsigned)v;
	shift = 63 - (unsigned)__builtin_clzll(v) - LATHIST_SUB_BITS;
	return ((shift + 1) << LATHIST_SUB_BITS) + (unsigned)(v >> shift) - LATHIST_SUB;
}

/* The largest value that lands in bucket b. */
uint64_t lathist_bucket_top(unsigned b)
{
	unsigned shift;
	uint64_t low;

	if (b < LATHIST_SUB)
		return b;
	shift = (b >> LATHIST_SUB_BITS) - 1;
	low = (uint64_t)(LATHIST_SUB + (b & (LATHIST_SUB - 1))) << shift;
	return low + ((1ULL << shift) - 1);
}

void lathist_reset(struct lathist *h)
{
	memset(h, 0, sizeof(*h));
}

void lathist_add(struct lathist *h, uint64_t ns)
{
	unsigned b = lathist_bucket(ns);

	if (h->count[b] == UINT32_MAX)
		return; /* a window never holds 4G samples; stay consistent if one does */
	h->count[b]++;
	h->total++;
}

uint64_t lathist_quantile(const struct lathist *h, double q)
{
	uint64_t rank, seen = 0;

	if (!h->total)
		return 0;
	/* The nearest-rank sample: the ceil(q * total)-th smallest, at least the first. */
	rank = (uint64_t)(q * (double)h->total);
	if ((double)rank < q * (double)h->total)
		rank++;
	if (rank < 1)
		rank = 1;
	for (unsigned b = 0; b < LATHIST_BUCKETS; b++) {
		seen += h->count[b];
		if (seen >= rank)
			return lathist_bucket_top(b);
	}
	return UINT64_MAX;
}
