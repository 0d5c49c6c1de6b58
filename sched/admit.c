/* SPDX-License-Identifier: MIT */
/* Admission: a QoS gate, then weighted sharing per class (see admit.h). */
#include "sched/admit.h"

#include <stddef.h>

static struct admit_item *item_of_turn(struct wfq_item *t)
{
	return t->data;
}

void admit_init(struct admit *a, const struct admit_ops *ops, void *ctx)
{
	*a = (struct admit){ .ops = ops, .ctx = ctx };
	for (unsigned c = 0; c < ADMIT_NR_CLASSES; c++)
		wfq_init(&a->share[c]);
}

void admit_free(struct admit *a)
{
	for (unsigned c = 0; c < ADMIT_NR_CLASSES; c++)
		wfq_free(&a->share[c]);
}

void admit_item_init(struct admit_item *it, struct admit_flow *f, enum io_op op, uint64_t len,
		     bool fua, uint64_t now)
{
	bool data = io_op_moves_data(op);

	it->flow = f;
	it->next_held = NULL;
	/* Its gate charges one I/O always, its bytes only if it moves data. */
	it->bytes = qos_charged_bytes(data, len);
	if (f->gate)
		it->cost = cost_of(&f->gate->cost, op, fua, data ? len : 0);
	else
		it->cost = data ? len : ADMIT_NODATA_COST;
	it->arrive_ns = now;
	it->cls = 0;
}

static unsigned class_of(const struct admit_flow *f)
{
	unsigned cls = f->gate ? atomic_load_explicit(&f->gate->cls, memory_order_relaxed) : 0;

	return cls < ADMIT_NR_CLASSES ? cls : 0;
}

/*
 * A slot of its class now, or -- when the class has them all -- its
 * weighted turn; a request within its tenant's reservation goes at once.
 */
static enum admit_verdict share(struct admit *a, struct admit_item *it, uint64_t now)
{
	struct admit_flow *f = it->flow;

	it->cls = (uint8_t)class_of(f);
	if (a->inflight[it->cls] < ADMIT_SHARE_INFLIGHT ||
	    (f->gate && f->gate->reserved && f->gate->reserved(f->gate, it->cost, now))) {
		a->inflight[it->cls]++;
		return ADMIT_GO;
	}
	f->share.weight = f->gate ? atomic_load_explicit(&f->gate->weight, memory_order_relaxed) : 1;
	if (!f->share.weight)
		f->share.weight = 1;
	it->turn.data = it;
	if (wfq_push(&a->share[it->cls], &f->share, it->cost, &it->turn) < 0) {
		a->inflight[it->cls]++; /* out of memory: no fairness, but no stall */
		return ADMIT_GO;
	}
	return ADMIT_WAITING;
}

/* When a request its gate told to wait `wait` ns at now asks again. */
static uint64_t recheck_at(uint64_t now, uint64_t wait)
{
	return now + (wait < ADMIT_RECHECK_NS ? wait : ADMIT_RECHECK_NS);
}

/* Hold it until its gate lets it go, asking again at at_ns. */
static void hold(struct admit *a, struct admit_item *it, uint64_t at_ns)
{
	it->next_held = NULL;
	if (a->held_tail)
		a->held_tail->next_held = it;
	else
		a->held_head = it;
	a->held_tail = it;
	it->flow->held++;
	if (!a->next_retry_ns || at_ns < a->next_retry_ns)
		a->next_retry_ns = at_ns;
}

enum admit_verdict admit_request(struct admit *a, struct admit_item *it, uint64_t now)
{
	struct admit_flow *f = it->flow;

	if (f->gate) { /* every op: a FLUSH or DISCARD is no free pass */
		/* Behind earlier held requests of this flow: keep the order. */
		uint64_t wait = f->held ? 1 : f->gate->admit(f->gate, it->bytes, now);

		if (wait) {
			hold(a, it, recheck_at(now, wait));
			return ADMIT_HELD;
		}
	}
	return share(a, it, now);
}

/* Slots of class cls came free: the next in weighted order go. */
static void next_turns(struct admit *a, unsigned cls, uint64_t now)
{
	while (a->inflight[cls] < ADMIT_SHARE_INFLIGHT) {
		struct wfq_item *t = wfq_pop(&a->share[cls]);

		if (!t)
			return;
		a->inflight[cls]++;
		a->ops->go(a, item_of_turn(t), now);
	}
}

void admit_done(struct admit *a, struct admit_item *it, uint64_t now)
{
	a->inflight[it->cls]--;
	next_turns(a, it->cls, now);
}

/* Take it (after prev) out of the held list. */
static void unhold(struct admit *a, struct admit_item *prev, struct admit_item *it)
{
	if (prev)
		prev->next_held = it->next_held;
	else
		a->held_head = it->next_held;
	if (a->held_tail == it)
		a->held_tail = prev;
	it->flow->held--;
}

void admit_retry(struct admit *a, uint64_t now)
{
	struct admit_item *it = a->held_head, *prev = NULL;
	uint64_t next = 0;

	a->pass++;
	a->next_retry_ns = 0;
	while (it) {
		struct admit_item *following = it->next_held;
		struct admit_flow *f = it->flow;
		/* Once refused in this pass, the flow's later requests wait too. */
		uint64_t wait = f->refused_pass == a->pass ? 0 :
				f->gate->admit(f->gate, it->bytes, now);

		if (wait || f->refused_pass == a->pass) {
			if (wait && (!next || recheck_at(now, wait) < next))
				next = recheck_at(now, wait);
			f->refused_pass = a->pass;
			prev = it;
			it = following;
			continue;
		}
		unhold(a, prev, it);
		if (a->ops->released)
			a->ops->released(a, it, now);
		if (share(a, it, now) == ADMIT_GO)
			a->ops->go(a, it, now);
		it = following;
	}
	a->next_retry_ns = a->held_head ? next : 0;
}
