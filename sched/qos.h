/* SPDX-License-Identifier: MIT */
/*
 * Per-tenant QoS, as pure arithmetic on an injected clock (nanoseconds):
 *
 * - token buckets for IOPS and bandwidth limits: a bucket holds at most one
 *   second's worth of tokens (the burst), refills at `rate` per second, and
 *   admits a request when it holds at least its cost -- or, for a request
 *   dearer than the whole burst, when it is full (the bucket then goes into
 *   debt, so the long-run rate still equals the limit);
 * - weighted fair queueing among tenants that compete for one resource:
 *   start-time fair queueing with virtual finish tags, cost / weight.
 *
 * Nothing here sleeps, locks or reads a clock; the caller passes `now`.
 */
#ifndef DDUBLK_SCHED_QOS_H
#define DDUBLK_SCHED_QOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NSEC_PER_SEC 1000000000ULL

struct tbucket {
	uint64_t rate; /* tokens per second; 0 = unlimited */
	uint64_t burst; /* capacity: == rate (one second's worth) */
	int64_t tokens; /* may go negative (debt) after an oversized request */
	uint64_t last_ns; /* time tokens was last brought up to date */
	uint64_t frac; /* sub-token remainder of the refill, in rate*ns units */
};

/* A full bucket at now_ns; rate 0 = unlimited. */
void tbucket_init(struct tbucket *b, uint64_t rate, uint64_t now_ns);
/* New rate from now on; tokens refilled to now at the old rate, then clamped to the new burst. */
void tbucket_set_rate(struct tbucket *b, uint64_t rate, uint64_t now_ns);
/* Refill to now_ns and return 0 if `cost` may go now (without taking it), else ns to wait. */
uint64_t tbucket_wait(struct tbucket *b, uint64_t cost, uint64_t now_ns);
/* Take cost (after tbucket_wait said 0). */
void tbucket_take(struct tbucket *b, uint64_t cost);

/* IOPS + bandwidth for one tenant. */
struct qos_limiter {
	struct tbucket iops;
	struct tbucket bw;
};

void qos_limiter_init(struct qos_limiter *q, uint64_t iops_limit, uint64_t bw_limit,
		      uint64_t now_ns);
void qos_limiter_set(struct qos_limiter *q, uint64_t iops_limit, uint64_t bw_limit,
		     uint64_t now_ns);
/* True if neither limit is set (the fast path skips the limiter). */
bool qos_limiter_unlimited(const struct qos_limiter *q);
/*
 * One request of `bytes`: 0 = admitted (tokens taken from both buckets),
 * else the ns to wait before asking again (nothing taken).
 */
uint64_t qos_admit(struct qos_limiter *q, uint64_t bytes, uint64_t now_ns);

/*
 * What a request is charged: every request, of every op, takes one IOPS
 * token (a FLUSH empties the shared write cache, a DISCARD or WRITE ZEROES
 * keeps the device busy: none of them is free); only the bytes a READ or
 * WRITE moves through its buffer count against the bandwidth limit. A
 * DISCARD or WRITE ZEROES moves no data over the bus, so its length is
 * not charged: it counts as one I/O.
 */
static inline uint64_t qos_charged_bytes(bool moves_data, uint64_t len)
{
	return moves_data ? len : 0;
}

/*
 * Weighted fair queueing. A flow is one tenant; a wfq orders requests of
 * many flows by virtual finish tag. Items are caller-owned; the queue
 * stores pointers in a binary min-heap (ties: FIFO by arrival).
 *
 * A request's tag advances cost * WFQ_SCALE / weight past its start, so
 * small costs and large weights do not round to nothing. Virtual time wraps
 * (2^48 bytes at weight 1 is a few hours of a fast device): tags are
 * compared modulo 2^64, and a flow's finish tag outside (vtime, max_finish]
 * is stale, so the flow rejoins at vtime.
 */
#define WFQ_SCALE (1ULL << 16)

struct wfq_flow {
	unsigned weight; /* 1.. */
	uint64_t finish; /* last finish tag given to this flow */
};

struct wfq_item {
	uint64_t tag; /* virtual finish tag */
	uint64_t seq; /* arrival order, breaks ties */
	uint64_t start; /* virtual start tag */
	void *data;
};

struct wfq {
	uint64_t vtime; /* virtual time: latest start tag dispatched */
	uint64_t max_finish; /* latest finish tag given out: no flow is further ahead */
	uint64_t seq;
	struct wfq_item **heap;
	size_t nr, cap;
};

void wfq_init(struct wfq *q);
void wfq_free(struct wfq *q); /* frees the heap array, not the items */
/* Tag item for flow with cost (bytes or 1) and queue it. 0, or -1 out of memory. */
int wfq_push(struct wfq *q, struct wfq_flow *flow, uint64_t cost, struct wfq_item *item);
/* The item with the smallest tag (advancing vtime), or NULL when empty. */
struct wfq_item *wfq_pop(struct wfq *q);
static inline size_t wfq_len(const struct wfq *q) { return q->nr; }

#endif
