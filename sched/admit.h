/* SPDX-License-Identifier: MIT */
/*
 * Admission: whether a tenant request may go to the backend now, as one
 * worker decides it for the flows (ublk queues) it serves. Two steps:
 *
 * - the flow's QoS gate (struct admit_gate: token buckets behind it, see
 *   daemon/gate.c) says "go" or "wait this long". A refused request is
 *   held, in arrival order: once a flow's request is held, its later
 *   requests are held behind it (the flow's order is kept), and each held
 *   request asks its gate again when its wait is over -- within
 *   ADMIT_RECHECK_NS at the latest, so that a limit lifted or raised
 *   (reload, del) lets it go now, not when the wait it was given under
 *   the old limit is over (a large request's debt can be long);
 * - weighted sharing among the flows of one class (a request within its
 *   tenant's reservation, admit_gate.reserved, skips it): while fewer than
 *   ADMIT_SHARE_INFLIGHT requests of the class are at the backend, a
 *   request goes at once; past that it waits in the class's weighted fair
 *   queue (sched/qos.h) and goes when a slot of its class comes free, so
 *   that tenants that compete share the backend by weight, not by how
 *   many requests they send. Out of memory for the queue, it goes at
 *   once: no fairness, but no stall.
 *
 * Pure: no I/O, no threads, no clock reads (every call takes `now`), no
 * allocation per request (struct admit_item is embedded in the caller's
 * request). One struct admit belongs to one thread.
 */
#ifndef DDUBLK_SCHED_ADMIT_H
#define DDUBLK_SCHED_ADMIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/cost.h"
#include "common/op.h"
#include "sched/qos.h"

/* Requests of one class a worker keeps at the backend before weights decide. */
#define ADMIT_SHARE_INFLIGHT 64
/* Classes (enum conf_class); a gate naming another shares in class 0. */
#define ADMIT_NR_CLASSES 3
/* A held request asks its gate again after this at the latest. */
#define ADMIT_RECHECK_NS 50000000ULL
/* Without a gate (no cost model), what a request that moves no data costs in its class's queue. */
#define ADMIT_NODATA_COST 4096

/*
 * A tenant's admission control (QoS). Asked before every request goes to
 * the backend, whatever its op, with the bytes it moves
 * (qos_charged_bytes(): 0 for FLUSH, DISCARD, WRITE ZEROES): 0 = go now,
 * else the ns to wait before asking again. Called by every worker serving
 * one of the tenant's queues: thread-safe.
 */
struct admit_gate {
	uint64_t (*admit)(struct admit_gate *g, uint64_t bytes, uint64_t now_ns);
	/*
	 * Optional: whether a request of `cost` (device ns) is within the
	 * tenant's reservation now (taking it from the reservation if so).
	 * Such a request skips its class's weighted queue: a reservation is
	 * honoured before weights share what is left. Thread-safe.
	 */
	bool (*reserved)(struct admit_gate *g, uint64_t cost, uint64_t now_ns);
	/*
	 * Sharing among tenants of one class (enum conf_class) when they
	 * compete: read at each request, changed live by the control thread.
	 */
	atomic_uint cls;
	atomic_uint weight;
	/*
	 * What its requests cost in the weighted queue: device time by this
	 * model (common/cost.h), so a 128 KiB write weighs what it costs the
	 * drive, a FLUSH too. Fixed for the gate's life.
	 */
	struct cost_model cost;
};

/* One flow: a tenant's ublk queue, as the one worker serving it sees it. */
struct admit_flow {
	struct admit_gate *gate; /* NULL: no limits, class 0, weight 1 */
	unsigned held; /* its requests held for the gate */
	uint64_t refused_pass; /* admit_retry() pass in which its gate last said "wait" */
	struct wfq_flow share; /* its place among its class */
};

/* One request, embedded in the caller's own (container_of). */
struct admit_item {
	struct admit_flow *flow;
	struct admit_item *next_held;
	struct wfq_item turn; /* in its class's weighted queue */
	uint64_t bytes; /* what its gate charges */
	uint64_t cost; /* what it costs in the weighted queue: its gate's cost_of(), or its bytes */
	uint64_t arrive_ns;
	uint8_t cls; /* the class it took a slot of (its gate's at the time) */
};

struct admit;

struct admit_ops {
	/* it goes to the backend now: a slot of it->cls is taken for it. */
	void (*go)(struct admit *a, struct admit_item *it, uint64_t now);
	/* The gate let it go at now; it was held since it->arrive_ns. */
	void (*released)(struct admit *a, struct admit_item *it, uint64_t now);
};

struct admit {
	const struct admit_ops *ops;
	void *ctx; /* the caller's */
	struct admit_item *held_head, *held_tail; /* in arrival order */
	uint64_t next_retry_ns; /* when admit_retry() is due; 0: nothing held */
	uint64_t pass; /* admit_retry() passes, to ask each flow's gate once per pass */
	unsigned inflight[ADMIT_NR_CLASSES]; /* slots taken, per class */
	struct wfq share[ADMIT_NR_CLASSES]; /* requests waiting for a slot */
};

enum admit_verdict {
	ADMIT_GO = 0, /* to the backend now (its slot taken): the caller sends it */
	ADMIT_HELD, /* waiting for its gate: admit_retry() lets it go */
	ADMIT_WAITING, /* waiting for a slot of its class: admit_done() lets it go */
};

void admit_init(struct admit *a, const struct admit_ops *ops, void *ctx);
void admit_free(struct admit *a); /* frees the queues' arrays, not the items */

static inline void admit_flow_init(struct admit_flow *f, struct admit_gate *gate)
{
	*f = (struct admit_flow){ .gate = gate, .share = { .weight = 1 } };
}

/* Fill it for a request of flow f: op, len bytes, fua, arrived at now. */
void admit_item_init(struct admit_item *it, struct admit_flow *f, enum io_op op, uint64_t len,
		     bool fua, uint64_t now);

/* A new request: go now, held for its gate, or waiting for its turn. */
enum admit_verdict admit_request(struct admit *a, struct admit_item *it, uint64_t now);

/* it is over at the backend: its slot is free, the next of its class go (ops->go). */
void admit_done(struct admit *a, struct admit_item *it, uint64_t now);

/* When admit_retry() is due; 0: nothing is held. */
static inline uint64_t admit_retry_at(const struct admit *a)
{
	return a->held_head ? a->next_retry_ns : 0;
}

/*
 * Ask the gates of the held requests again, in order: those let go go on
 * to sharing (ops->released, then ops->go or their class's queue); once a
 * flow's gate says "wait", its later requests wait too.
 */
void admit_retry(struct admit *a, uint64_t now);

#endif
