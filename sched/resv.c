/* SPDX-License-Identifier: MIT */
/*
 * Reservations: a tenant's min_iops / min_bw, honoured in the T lane the
 * way mClock honours them (Gulati et al., OSDI 2010), charged by cost.
 *
 * A reserved tenant has a share of the device, `resv` device ns per
 * second (common/cost.h). Each of its requests, whichever way it went,
 * moves its tag on by cost / share: tag = max(tag, arrival) + cost * 1 s /
 * resv. While the tag is not in the future the tenant is behind its
 * reservation, and its oldest held request goes before any other T
 * request. Otherwise T requests go by arrival, its own among them: a
 * reservation never caps a tenant, and one left unused is simply not due
 * (work-conserving); a tag never runs more than an interval ahead, so a
 * tenant served well by arrival order finds its floor again within an
 * interval once others compete. max(tag, arrival) keeps an idle tenant from banking
 * a burst it could later take at everyone else's expense, and a request
 * that went late for want of a slot from costing its tenant the delay.
 *
 * Ordering helps only where requests wait: sched_resv_active() tells
 * daredevil's pick to hold T's in-flight device time (by the cost model)
 * to SCHED_RESV_INFLIGHT_NS while a reserved tenant is active, so that T
 * waits here rather than in the device's queues -- for small requests as
 * for large ones, which a byte cap would not do.
 */
#include "sched/sched_int.h"

static struct sched_tenant *tenant_of(struct sched *s, unsigned id)
{
	return id < s->nr_tenants ? &s->tenant[id] : NULL;
}

bool sched_resv_active(const struct sched *s, uint64_t now_ns)
{
	return s->nr_reserved && s->resv_seen && now_ns < s->resv_last_ns + s->interval_ns;
}

/* A reserved tenant queued T work: it counts as active for an interval. */
static void resv_touch(struct sched *s, uint64_t now_ns)
{
	s->resv_seen = true;
	if (now_ns > s->resv_last_ns)
		s->resv_last_ns = now_ns;
}

bool sched_resv_hold(struct sched *s, struct sched_req *r, uint64_t now_ns)
{
	struct sched_tenant *t = tenant_of(s, r->tenant);

	if (!t || !t->resv || !s->ops->resv_lane_fifo || sched_lane_of(s, r) != NQ_LANE_THROUGHPUT)
		return false;
	resv_touch(s, now_ns);
	sched_fifo_push(&t->held, r);
	return true;
}

void sched_resv_charge(struct sched *s, const struct sched_req *r, uint64_t arrival_ns)
{
	struct sched_tenant *t = tenant_of(s, r->tenant);
	uint64_t inc, lead;

	if (!t || !t->resv)
		return;
	/* cost * 1 s / resv without overflow (resv <= COST_NS_PER_SEC) */
	inc = r->cost / t->resv * COST_NS_PER_SEC + r->cost % t->resv * COST_NS_PER_SEC / t->resv;
	if (t->resv_tag < arrival_ns)
		t->resv_tag = arrival_ns;
	t->resv_tag += inc;
	/*
	 * A tenant served well beyond its reservation by arrival order would
	 * otherwise run its tag minutes ahead and lose the floor for as long
	 * once others compete: it may be ahead by an interval (or this one
	 * request) at most.
	 */
	lead = inc > s->interval_ns ? inc : s->interval_ns;
	if (t->resv_tag > arrival_ns + lead)
		t->resv_tag = arrival_ns + lead;
}

struct sched_fifo *sched_resv_next(struct sched *s, struct sched_fifo *lane_fifo, uint64_t now_ns,
				   bool *due)
{
	struct sched_tenant *first_due = NULL;
	struct sched_fifo *oldest = lane_fifo->head ? lane_fifo : NULL;

	*due = false;
	if (!s->nr_reserved)
		return oldest;
	for (unsigned i = 0; i < s->nr_tenants; i++) {
		struct sched_tenant *t = &s->tenant[i];

		if (!t->held.head)
			continue;
		if (t->resv_tag <= now_ns && (!first_due || t->resv_tag < first_due->resv_tag))
			first_due = t;
		if (!oldest || t->held.head->enqueue_ns < oldest->head->enqueue_ns)
			oldest = &t->held;
	}
	if (first_due) {
		*due = true;
		return &first_due->held;
	}
	return oldest;
}

void sched_resv_release(struct sched *s, struct sched_tenant *t, struct sched_fifo *lane_fifo)
{
	(void)s;
	while (t->held.head)
		sched_fifo_push(lane_fifo, sched_fifo_pop(&t->held));
}

void sched_resv_adopt(struct sched *s, unsigned id, struct sched_fifo *lane_fifo)
{
	struct sched_tenant *t = &s->tenant[id];
	struct sched_fifo keep = { .tail = &keep.head };

	if (t->held.head)
		return; /* already its own (a reservation changed, not new) */
	while (lane_fifo->head) {
		struct sched_req *r = sched_fifo_pop(lane_fifo);

		sched_fifo_push(r->tenant == id ? &t->held : &keep, r);
	}
	*lane_fifo = keep;
	if (!lane_fifo->head)
		lane_fifo->tail = &lane_fifo->head;
}
