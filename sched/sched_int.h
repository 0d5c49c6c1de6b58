/* SPDX-License-Identifier: MIT */
/* The scheduler's insides, shared by sched.c, dispatch.c and the modes (mode.h) only. */
#ifndef DDUBLK_SCHED_SCHED_INT_H
#define DDUBLK_SCHED_SCHED_INT_H

#include "sched/lathist.h"
#include "sched/mode.h"
#include "sched/sched.h"
#include "sched/tcap.h"

/* Held requests, oldest first. */
struct sched_fifo {
	struct sched_req *head;
	struct sched_req **tail;
	unsigned nr;
};

/* What one adapt interval saw, per lane: the group sizing's input. */
struct sched_window {
	unsigned peak[NQ_NR_LANES]; /* most requests in flight at once */
	uint64_t requests[NQ_NR_LANES]; /* submitted */
	uint64_t stalled[NQ_NR_LANES]; /* picks that found every NQ of the group full */
};

static inline void sched_fifo_push(struct sched_fifo *f, struct sched_req *r)
{
	r->next = NULL;
	*f->tail = r;
	f->tail = &r->next;
	f->nr++;
}

static inline struct sched_req *sched_fifo_pop(struct sched_fifo *f)
{
	struct sched_req *r = f->head;

	f->head = r->next;
	if (!f->head)
		f->tail = &f->head;
	f->nr--;
	r->next = NULL;
	return r;
}

/* One tenant, by id. calloc's zeroes: besteffort, no objectives. */
struct sched_tenant {
	enum conf_class cls;
	uint64_t target_ns; /* its own L p99 goal; 0: the scheduler's */
	uint64_t resv; /* reserved device ns per second (cost.h); 0: none */
	uint64_t resv_tag; /* its next request is due for the reservation at this time */
	uint64_t resv_sent; /* requests that went ahead because they were due */
	struct sched_fifo held; /* its T-lane requests while it has a reservation */
	struct lathist *hist; /* L tenants: this window's latencies (allocated at the first) */
	uint64_t p99_ns; /* the last window's */
};

struct sched {
	struct sched_params p;
	const struct sched_mode_ops *ops; /* p.mode's, chosen by sched_new() */
	uint64_t target_ns, interval_ns;

	struct nq *nq;
	unsigned nr_nqs;
	unsigned nr_kind[2]; /* NQs by enum nq_kind */
	unsigned cpu_nq[NQ_MAX_CPUS]; /* static mode's map */
	struct nq_group group[NQ_NR_LANES]; /* daredevil */

	struct sched_tenant *tenant; /* by id */
	unsigned nr_tenants;
	unsigned nr_reserved; /* tenants with a reservation */
	uint64_t resv_last_ns; /* a reserved tenant's last enqueue or submission */
	bool resv_seen;

	struct sched_fifo *fifo; /* daredevil: one per lane; static: one per NQ */
	unsigned nr_fifos;
	unsigned fifo_rr; /* static: the NQ whose FIFO goes first next time */
	unsigned waiting;

	unsigned inflight[NQ_NR_LANES];
	uint64_t inflight_bytes[NQ_NR_LANES];
	unsigned latency_inflight; /* from L tenants (promoted flushes are not) */
	uint64_t capped_bytes; /* in flight from T and besteffort tenants, either lane: the cap's */
	uint64_t capped_cost; /* the same requests' device time (cost model): reservations' bound */
	bool latency_seen;
	uint64_t latency_last_ns; /* an L tenant's last enqueue, submission or completion */

	struct tcap cap;
	struct lathist hist; /* L latencies of the current p99 window */
	bool cap_limited; /* the cap refused T in the current p99 window */
	bool cap_t_busy; /* T had bytes in flight in the current p99 window */
	uint64_t latency_p99_ns; /* the judged tenant's (or all L's) */
	uint64_t judged_target_ns; /* and the target it was judged against */

	struct sched_window win;
	uint64_t next_adapt_ns;
	uint64_t moves;
};

/* L for an L tenant's request, T for everybody else's: the lane unless a mode moves it. */
enum nq_lane sched_class_lane(const struct sched *s, const struct sched_req *r);
static inline enum nq_lane sched_lane_of(const struct sched *s, const struct sched_req *r)
{
	return s->ops->lane_of(s, r);
}
/* READ and WRITE carry data; FLUSH, DISCARD, WRITE ZEROES do not (and cannot be polled). */
static inline bool sched_req_has_data(const struct sched_req *r)
{
	return io_op_moves_data(r->op);
}
bool sched_latency_active(const struct sched *s, uint64_t now_ns);
/* An L tenant did I/O now: L counts as active for an interval. */
void sched_latency_touch(struct sched *s, uint64_t now_ns);

/* groups.c (daredevil) */
void sched_groups_split(struct sched *s);
void sched_groups_resize(struct sched *s);

/* sched_submitted(), for a request that arrived (was enqueued) at arrival_ns. */
void sched_submit_at(struct sched *s, struct sched_req *r, unsigned nq, uint64_t now_ns,
		     uint64_t arrival_ns);

/* resv.c: reservations (see sched.h) */
bool sched_resv_active(const struct sched *s, uint64_t now_ns);
/* Hold r in its tenant's FIFO if the tenant has a reservation and r goes in T: true if held. */
bool sched_resv_hold(struct sched *s, struct sched_req *r, uint64_t now_ns);
/*
 * r is submitted: charge its cost to its tenant's reservation, from its
 * arrival (mClock's tag: max(tag, arrival) + cost / share), so that a
 * request sent late for want of a slot does not cost the tenant the delay.
 */
void sched_resv_charge(struct sched *s, const struct sched_req *r, uint64_t arrival_ns);
/*
 * The FIFO whose head goes next in T: a reserved tenant's whose turn has
 * come (*due), else the oldest head of lane_fifo and the reserved
 * tenants' FIFOs. NULL if all are empty.
 */
struct sched_fifo *sched_resv_next(struct sched *s, struct sched_fifo *lane_fifo, uint64_t now_ns,
				   bool *due);
/* A new reservation: tenant id's requests waiting in lane_fifo move to its own FIFO, in order. */
void sched_resv_adopt(struct sched *s, unsigned id, struct sched_fifo *lane_fifo);
/* Give t's held requests back to lane_fifo (its reservation is gone). */
void sched_resv_release(struct sched *s, struct sched_tenant *t, struct sched_fifo *lane_fifo);

/* dispatch.c */
int sched_fifos_init(struct sched *s);
/* Pop FIFO f's head and submit it to NQ nq: what a mode's next() hands out. */
struct sched_req *sched_fifo_submit_head(struct sched *s, unsigned f, unsigned nq,
					 uint64_t now_ns);
/* The same for any FIFO of held requests (a reserved tenant's). */
struct sched_req *sched_held_submit(struct sched *s, struct sched_fifo *f, unsigned nq,
				    uint64_t now_ns);

#endif
