/* SPDX-License-Identifier: MIT */
/*
 * A latency histogram cheap enough to feed on every completion: log-linear
 * buckets (HdrHistogram's layout), 16 per power of two, so a quantile is
 * off by at most 1/16 (6%). Adding is a count-leading-zeros and an
 * increment; a quantile is one pass over under a thousand counters.
 *
 * The scheduler keeps one per window (an adapt interval holding enough
 * samples): it reads the p99, then resets.
 */
#ifndef DDUBLK_SCHED_LATHIST_H
#define DDUBLK_SCHED_LATHIST_H

#include <stdint.h>

#define LATHIST_SUB_BITS 4 /* 2^4 = 16 buckets per power of two */
#define LATHIST_SUB (1u << LATHIST_SUB_BITS)
#define LATHIST_BUCKETS ((64 - LATHIST_SUB_BITS + 1) * LATHIST_SUB) /* every uint64_t */

struct lathist {
	uint64_t total; /* samples since the last reset */
	uint32_t count[LATHIST_BUCKETS];
};

void lathist_reset(struct lathist *h);
/* The bucket v falls in, and the largest value bucket b holds (shared with stats/hist.h). */
unsigned lathist_bucket(uint64_t v);
uint64_t lathist_bucket_top(unsigned b);
void lathist_add(struct lathist *h, uint64_t ns);

/*
 * The smallest bucket bound b such that at least q of the samples are <= b
 * (0 < q <= 1): an upper estimate of the q-quantile, within 6%. 0 when empty.
 */
uint64_t lathist_quantile(const struct lathist *h, double q);

#endif
