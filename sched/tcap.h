/* SPDX-License-Identifier: MIT */
/*
 * The cap on throughput (T) bytes in flight while latency (L) tenants are
 * active. A device fetches and serves queues in turn, so every T command
 * waiting in it delays an L command; the cap bounds how many wait.
 *
 * The cap follows L's measured p99 against the policy's target, AIMD like
 * TCP's congestion window: halve when the p99 is above the target, add
 * `step` when it is below 3/4 of the target and the cap actually held T
 * back in that window (growing an unused cap only makes the next cut
 * slower), always within [min, max].
 */
#ifndef DDUBLK_SCHED_TCAP_H
#define DDUBLK_SCHED_TCAP_H

#include <stdbool.h>
#include <stdint.h>

struct tcap {
	uint64_t cap; /* bytes: T may have this much in flight */
	uint64_t min, max; /* bounds, min <= cap <= max */
	uint64_t step; /* additive increase per window */
};

/* initial is clamped into [min, max]; min 0 counts as 1. */
void tcap_init(struct tcap *c, uint64_t initial, uint64_t min, uint64_t max, uint64_t step);

/* One window's verdict: L's p99 in it, the target, whether the cap refused T in it. */
void tcap_adapt(struct tcap *c, uint64_t p99_ns, uint64_t target_ns, bool limited);

/*
 * May a T request of `bytes` go with `inflight` T bytes already out? One
 * request always may, however large, so T never stalls outright.
 */
static inline bool tcap_allows(const struct tcap *c, uint64_t inflight, uint64_t bytes)
{
	return inflight == 0 || inflight + bytes <= c->cap;
}

#endif
