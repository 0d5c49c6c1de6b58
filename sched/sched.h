/* SPDX-License-Identifier: MIT */
/*
 * The NQ scheduler: which NVMe queue each tenant request goes to, and when.
 *
 * Pure logic: no I/O, no threads, no clock. Every call that needs the time
 * takes `now_ns` (any monotonic clock, the caller's), and the periodic
 * adaptation runs inside whichever call first sees an interval has passed.
 * Not thread-safe: one owner, or one lock around every call.
 *
 * Two modes (conf's enum conf_sched_mode), each an ops table (mode.h):
 *
 * - static: like stock blk-mq. A request goes to the NQ its submitting CPU
 *   maps to (DEFAULT queues first, then POLL; an unmapped CPU gets
 *   cpu % nr_nqs), no classes. The baseline every benchmark compares with.
 *
 * - daredevil: latency (L) tenants and throughput (T) tenants (besteffort
 *   rides with T) use disjoint groups of NQs, L on POLL queues when there
 *   are any. Inside a group the request joins the shortest queue (nq.h),
 *   never one at its tag depth. L requests are dispatched (and should be
 *   reaped) before T ones. While an L tenant is active (I/O within the
 *   last interval), T bytes in flight are capped; the cap follows L's p99
 *   against latency_target_us (tcap.h). Every adapt interval the L group
 *   is resized to L's peak in-flight count plus headroom, at most half the
 *   NQs while T is busy, one when idle; T takes the rest (groups.c). An NQ
 *   moving from T to L drains its T commands first, so an L request never
 *   queues behind a T one. Commands without data (FLUSH, DISCARD, WRITE
 *   ZEROES) cannot be polled: each group keeps a DEFAULT NQ for them (L
 *   whenever there is one, T too when there are two), so that the kernel
 *   never moves one to another group's queue. With promote_flush, a T
 *   tenant's FLUSH (never a FUA write: it carries data) takes the L lane,
 *   still counted against the T cap.
 *
 * Two ways to drive it:
 *
 * - sched_enqueue() + sched_next() (the usual one): the scheduler holds
 *   requests in FIFOs (in daredevil one per lane, in static one per NQ)
 *   and sched_next() hands out the next request that may go now, its NQ
 *   chosen and counted in flight: L before T. Call it until NULL after an
 *   enqueue and after each completion -- the kernel's "run the hw queue".
 * - sched_pick() + sched_submitted(): the bare decision, for a caller that
 *   holds requests itself.
 * Either way, every submitted request ends with sched_completed().
 */
#ifndef DDUBLK_SCHED_SCHED_H
#define DDUBLK_SCHED_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "common/cost.h"
#include "common/op.h"
#include "conf/config.h"
#include "sched/nq.h"
#include "sched/tcap.h"

/* Defaults; the policy keys' (conf/config.h) are the same. */
#define SCHED_DEFAULT_MODE CONF_SCHED_STATIC
#define SCHED_DEFAULT_LATENCY_TARGET_US 1000
#define SCHED_DEFAULT_LATENCY_QUEUES 0 /* auto: half the NQs, at least 1 each */
#define SCHED_DEFAULT_ADAPT_INTERVAL_MS 100
#define SCHED_DEFAULT_THROUGHPUT_CAP (4ULL << 20)
#define SCHED_DEFAULT_PROMOTE_FLUSH false
#define SCHED_DEFAULT_POLL CONF_POLL_AUTO
/* Not (yet) policy keys. */
#define SCHED_DEFAULT_THROUGHPUT_CAP_MIN (1ULL << 20)
#define SCHED_DEFAULT_THROUGHPUT_CAP_MAX (256ULL << 20)
#define SCHED_DEFAULT_THROUGHPUT_CAP_STEP (512ULL << 10)
#define SCHED_DEFAULT_MIN_SAMPLES 32
/*
 * While a reserved tenant is active, T's requests in flight may hold this
 * much device time (by the cost model): enough to keep a drive busy, few
 * enough that the rest wait here, where reservations set the order.
 */
#define SCHED_RESV_INFLIGHT_NS 2000000ULL
/* ... but never fewer requests than this: a slow drive still gets some queue depth. */
#define SCHED_RESV_MIN_INFLIGHT 8
/* A window with fewer of one L tenant's completions leaves its own p99 out of the judging. */
#define SCHED_TENANT_MIN_SAMPLES 8

#define SCHED_NO_QUEUE (-1)
#define SCHED_MAX_TENANTS (1u << 20) /* tenant ids are below this */

struct sched_params {
	enum conf_sched_mode mode;
	unsigned latency_target_us; /* L p99 goal: the T cap shrinks above it */
	unsigned latency_queues; /* NQs in the L group at start; 0: half */
	unsigned adapt_interval_ms; /* how often group sizes and the cap adapt */
	uint64_t throughput_cap; /* T bytes in flight while L is active, at start */
	bool promote_flush; /* T tenants' FLUSHes take the L lane */
	enum conf_poll poll; /* which lanes use POLL NQs (sched_set_poll() changes it) */
	uint64_t throughput_cap_min; /* floor, enough to keep a device busy (<= throughput_cap) */
	uint64_t throughput_cap_max; /* ceiling (>= throughput_cap) */
	uint64_t throughput_cap_step; /* additive increase per window */
	unsigned min_samples; /* L completions a window needs before its p99 counts */
	struct cost_model cost; /* what a request costs the device: reservations are charged by it */
};

/* Every field at its default. */
void sched_params_init(struct sched_params *p);
/* The policy's scheduler section over the defaults (zero fields keep them). */
void sched_params_from_conf(struct sched_params *p, const struct conf_sched *c);

#define SCHED_REQ_FUA (1u << 0)

/*
 * One request, embedded in the caller's own (container_of). The caller
 * fills the first block; the scheduler owns the rest from enqueue (or
 * submitted) to completed.
 */
struct sched_req {
	unsigned tenant; /* sched_tenant_set()'s id; unknown ids count as besteffort */
	unsigned cpu; /* the submitting CPU: static mode's queue */
	enum io_op op;
	unsigned flags; /* SCHED_REQ_* */
	/*
	 * What it keeps the device busy with, counted against the T cap:
	 * the data a READ/WRITE moves, the range a DISCARD/WRITE ZEROES
	 * covers (the device writes or unmaps that much), 0 for a FLUSH.
	 */
	uint32_t bytes;

	int nq; /* the NQ it went to (after sched_next/sched_submitted) */
	enum nq_lane lane; /* the lane it went in */
	bool latency; /* from an L tenant: its completion feeds the p99 */
	bool capped; /* from a T or besteffort tenant: its bytes count against the T cap */
	uint64_t cost; /* device ns by the cost model (common/cost.h), set at submission */
	uint64_t enqueue_ns, submit_ns;
	struct sched_req *next; /* FIFO link while held */
};

struct sched;

/*
 * A scheduler over nr_nqs NQs (NQ i is descs[i]). NULL with errno: EINVAL
 * for bad parameters (no NQs, a depth of 0, daredevil with fewer than two
 * NQs, a zero target or interval), ENOMEM.
 */
struct sched *sched_new(const struct sched_params *p, const struct nq_desc *descs,
			unsigned nr_nqs, uint64_t now_ns);
/* Requests still held are forgotten (they are the caller's). NULL is fine. */
void sched_free(struct sched *s);

/*
 * Add a tenant or change its class (in-flight requests keep their lane).
 * Ids are the caller's, small and dense (a table is indexed by them).
 * 0, -EINVAL for an id >= SCHED_MAX_TENANTS, or -ENOMEM.
 */
int sched_tenant_set(struct sched *s, unsigned tenant, enum conf_class cls);
/* Forget a tenant: its id counts as besteffort again. */
void sched_tenant_del(struct sched *s, unsigned tenant);
enum conf_class sched_tenant_class(const struct sched *s, unsigned tenant);

/* A tenant's service objectives (from its tenant_spec's qos). */
struct sched_slo {
	unsigned latency_target_us; /* its p99 goal; 0: the scheduler's */
	uint64_t min_iops, min_bw; /* its reservation (common/cost.h); both 0: none */
};

/*
 * Set a tenant's objectives (sched_tenant_set() first: -EINVAL for an
 * unknown id). A reservation takes effect with its next request; one
 * removed gives its held requests back to the T lane, in order.
 */
int sched_tenant_slo(struct sched *s, unsigned tenant, const struct sched_slo *slo);

struct sched_tenant_stats {
	uint64_t target_ns; /* its own target, else the scheduler's */
	uint64_t p99_ns; /* L tenants: the last window's p99 (0: too few samples) */
	uint64_t reserved; /* device ns per second (COST_NS_PER_SEC: all of it); 0: none */
	uint64_t resv_sent; /* requests sent ahead of others because their reservation was due */
	unsigned held; /* requests waiting for their turn */
};

void sched_tenant_stats(const struct sched *s, unsigned tenant, struct sched_tenant_stats *out);

/*
 * Which lanes may use POLL NQs, from now on: auto (L only), always (both),
 * never (neither). A lane whose group has no DEFAULT NQ still uses its
 * POLL ones. In-flight requests stay where they are.
 */
void sched_set_poll(struct sched *s, enum conf_poll poll);

/* Hold r (FIFO within its lane, or its NQ in static mode). */
void sched_enqueue(struct sched *s, struct sched_req *r, uint64_t now_ns);
/* The next held request that may go now, counted as submitted to r->nq; NULL if none. */
struct sched_req *sched_next(struct sched *s, uint64_t now_ns);
/* Held requests, all lanes. */
unsigned sched_waiting(const struct sched *s);

/* The NQ for r now, or SCHED_NO_QUEUE: every allowed NQ is full, or the T cap is reached. */
int sched_pick(struct sched *s, const struct sched_req *r, uint64_t now_ns);
/* r went to NQ nq (as sched_pick said): count it in flight. */
void sched_submitted(struct sched *s, struct sched_req *r, unsigned nq, uint64_t now_ns);
/*
 * r completed: uncount it, and feed its latency (from submission) to the
 * p99 if it came from an L tenant. A request not in flight is ignored.
 */
void sched_completed(struct sched *s, struct sched_req *r, uint64_t now_ns);

/* Run the periodic adaptation if an interval has passed (the other calls do too). */
void sched_tick(struct sched *s, uint64_t now_ns);

unsigned sched_nr_nqs(const struct sched *s);
const struct nq *sched_nq(const struct sched *s, unsigned nq);
/* Static mode: the NQ a request from cpu goes to (fixed at sched_new()). */
unsigned sched_static_nq(const struct sched *s, unsigned cpu);

/*
 * The order to reap completions in: NQs with commands in flight, the L
 * group's first. Fills out[] (room for sched_nr_nqs()), returns the count.
 */
unsigned sched_reap_order(const struct sched *s, unsigned *out);

struct sched_stats {
	unsigned group_nqs[NQ_NR_LANES]; /* daredevil: NQs per group (draining ones in L's) */
	unsigned draining; /* NQs moving to L, still holding T commands */
	unsigned inflight[NQ_NR_LANES];
	uint64_t inflight_bytes[NQ_NR_LANES];
	unsigned waiting[NQ_NR_LANES]; /* held (static mode: all in THROUGHPUT) */
	uint64_t throughput_cap; /* bytes, current (unless cap_off) */
	bool cap_off; /* throttling T does not help L: no cap (tcap.h) */
	enum tcap_verdict target_verdict; /* L's target: met, or why not */
	uint64_t latency_target_ns; /* the judged L tenant's target (the scheduler's before any) */
	uint64_t latency_p99_ns; /* the last full window's, of the L tenant furthest from its target */
	bool reserving; /* a tenant with a reservation is active: T held to SCHED_RESV_INFLIGHT_NS */
	bool latency_active; /* an L tenant had I/O within the last interval */
	uint64_t moves; /* NQs moved between groups so far */
	uint64_t cap_cuts, cap_raises; /* AIMD steps so far */
	uint64_t cap_fruitless; /* cuts taken back: they did not lower L's p99 */
};

void sched_get_stats(const struct sched *s, uint64_t now_ns, struct sched_stats *out);

#endif
