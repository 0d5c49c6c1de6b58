/* SPDX-License-Identifier: MIT */
/*
 * Daredevil mode: L and T tenants in disjoint groups of NQs (groups.c),
 * join-shortest-queue inside a group, L dispatched before T, and T's bytes
 * in flight capped while L is active, the cap following L's p99 (tcap.h).
 *
 * It holds one FIFO per lane, and reserved tenants' T requests in FIFOs of
 * their own (resv.c). A lane's head waits for its group (or the T cap),
 * and every request behind it would wait for the same thing, so only
 * heads are ever tried: in T, a due reservation's head, else the oldest.
 */
#include "sched/sched_int.h"

/* Both groups need a queue of their own. */
#define DAREDEVIL_MIN_NQS 2

static int daredevil_init(struct sched *s, const struct nq_desc *descs)
{
	(void)descs;
	sched_groups_split(s);
	return 0;
}

static unsigned daredevil_nr_fifos(const struct sched *s)
{
	(void)s;
	return NQ_NR_LANES;
}

/*
 * A T tenant's fsync waits on its flush: promote_flush lets it jump ahead,
 * at the price of an L request queueing behind it. Never a FUA write: its
 * data would sit in L's queues.
 */
static enum nq_lane daredevil_lane_of(const struct sched *s, const struct sched_req *r)
{
	if (s->p.promote_flush && r->op == IO_OP_FLUSH)
		return NQ_LANE_LATENCY;
	return sched_class_lane(s, r);
}

static unsigned daredevil_fifo_of(const struct sched *s, const struct sched_req *r)
{
	return (unsigned)daredevil_lane_of(s, r);
}

static enum nq_lane daredevil_fifo_lane(const struct sched *s, unsigned f)
{
	(void)s;
	return (enum nq_lane)f;
}

/* Whether lane's data requests may go to POLL NQs (scheduler.poll). */
static bool lane_polls(const struct sched *s, enum nq_lane lane)
{
	switch (s->p.poll) {
	case CONF_POLL_ALWAYS:
		return true;
	case CONF_POLL_NEVER:
		return false;
	case CONF_POLL_AUTO:
		break;
	}
	/* A polled command costs its worker CPU until it completes: L's worth it, T's not. */
	return lane == NQ_LANE_LATENCY;
}

/*
 * The NQ of r's group: join-shortest-queue, but a command without data
 * only on a DEFAULT member (on a POLL queue the kernel would send it to the
 * CPU's DEFAULT queue, maybe the other group's), a data request of a lane
 * that does not poll only on a DEFAULT member too (if the group has one),
 * and an L data request on an idle POLL member rather than an idle DEFAULT
 * one.
 */
static int group_pick(const struct sched *s, enum nq_lane lane, const struct sched_req *r)
{
	const struct nq_group *g = &s->group[lane];
	int q;

	if (!sched_req_has_data(r) || !lane_polls(s, lane)) {
		/* None only where the backend has a single DEFAULT NQ, for T: L has it. */
		if (nq_group_count_kind(g, s->nq, NQ_DEFAULT))
			return nq_group_pick_kind(g, s->nq, NQ_DEFAULT);
		return nq_group_pick(g, s->nq);
	}
	if (lane == NQ_LANE_LATENCY) {
		q = nq_group_pick_kind(g, s->nq, NQ_POLL);
		if (q >= 0 && !s->nq[q].inflight)
			return q;
	}
	return nq_group_pick(g, s->nq);
}

static int daredevil_pick(struct sched *s, const struct sched_req *r, uint64_t now_ns)
{
	enum nq_lane lane = daredevil_lane_of(s, r);
	int q;

	/* T bytes in either lane count; a promoted flush is not held (it heads L's FIFO). */
	if (lane == NQ_LANE_THROUGHPUT && sched_latency_active(s, now_ns) &&
	    !tcap_allows(&s->cap, s->capped_bytes, r->bytes)) {
		s->cap_limited = true;
		return SCHED_NO_QUEUE;
	}
	/* A reservation orders only what waits here: keep T's waiting here. */
	if (lane == NQ_LANE_THROUGHPUT && sched_resv_active(s, now_ns) &&
	    s->inflight[NQ_LANE_THROUGHPUT] >= SCHED_RESV_MIN_INFLIGHT &&
	    s->capped_cost + cost_of(&s->p.cost, r->op, r->flags & SCHED_REQ_FUA, r->bytes) >
		    SCHED_RESV_INFLIGHT_NS)
		return SCHED_NO_QUEUE;
	q = group_pick(s, lane, r);
	if (q < 0)
		s->win.stalled[lane]++;
	return q < 0 ? SCHED_NO_QUEUE : q;
}

static struct sched_fifo *daredevil_resv_lane_fifo(struct sched *s)
{
	return &s->fifo[NQ_LANE_THROUGHPUT];
}

/* L's FIFO first, then T's next head (a due reservation's, else the oldest). */
static struct sched_req *daredevil_next(struct sched *s, uint64_t now_ns)
{
	struct sched_fifo *f = &s->fifo[NQ_LANE_LATENCY];
	struct sched_req *r;
	bool due;
	int q;

	if (f->head) {
		q = sched_pick(s, f->head, now_ns);
		if (q != SCHED_NO_QUEUE)
			return sched_held_submit(s, f, (unsigned)q, now_ns);
	}
	f = sched_resv_next(s, &s->fifo[NQ_LANE_THROUGHPUT], now_ns, &due);
	if (!f)
		return NULL;
	q = sched_pick(s, f->head, now_ns);
	if (q == SCHED_NO_QUEUE)
		return NULL;
	if (due)
		s->tenant[f->head->tenant].resv_sent++;
	r = sched_held_submit(s, f, (unsigned)q, now_ns);
	return r;
}

/* The T cap follows L's p99 (AIMD, each cut judged: tcap.h). */
static void daredevil_p99_closed(struct sched *s)
{
	const struct tcap_window w = {
		.p99_ns = s->latency_p99_ns,
		.target_ns = s->judged_target_ns,
		.limited = s->cap_limited,
		.t_idle = !s->cap_t_busy,
	};

	tcap_adapt(&s->cap, &w);
}

const struct sched_mode_ops sched_mode_daredevil = {
	.min_nqs = DAREDEVIL_MIN_NQS,
	.init = daredevil_init,
	.nr_fifos = daredevil_nr_fifos,
	.fifo_of = daredevil_fifo_of,
	.fifo_lane = daredevil_fifo_lane,
	.lane_of = daredevil_lane_of,
	.pick = daredevil_pick,
	.next = daredevil_next,
	.p99_closed = daredevil_p99_closed,
	.resv_lane_fifo = daredevil_resv_lane_fifo,
	.adapt = sched_groups_resize,
};
