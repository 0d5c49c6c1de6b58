/* SPDX-License-Identifier: MIT */
/*
 * Held requests and the dispatch order (see sched.h). Each mode says how
 * many FIFOs it holds, which one a request joins, and which head goes next
 * (mode.h): daredevil one per lane, L before T; static one per NQ, in turn.
 */
#include "sched/sched_int.h"

#include <errno.h>
#include <stdlib.h>

int sched_fifos_init(struct sched *s)
{
	s->nr_fifos = s->ops->nr_fifos(s);
	s->fifo = calloc(s->nr_fifos, sizeof(*s->fifo));
	if (!s->fifo)
		return -ENOMEM;
	for (unsigned f = 0; f < s->nr_fifos; f++)
		s->fifo[f].tail = &s->fifo[f].head;
	return 0;
}

void sched_enqueue(struct sched *s, struct sched_req *r, uint64_t now_ns)
{
	sched_tick(s, now_ns);
	r->enqueue_ns = now_ns;
	r->nq = SCHED_NO_QUEUE;
	if (sched_tenant_class(s, r->tenant) == CONF_CLASS_LATENCY)
		sched_latency_touch(s, now_ns); /* the T cap applies from L's first request on */
	if (!sched_resv_hold(s, r, now_ns))
		sched_fifo_push(&s->fifo[s->ops->fifo_of(s, r)], r);
	s->waiting++;
}

struct sched_req *sched_fifo_submit_head(struct sched *s, unsigned f, unsigned nq,
					 uint64_t now_ns)
{
	return sched_held_submit(s, &s->fifo[f], nq, now_ns);
}

struct sched_req *sched_held_submit(struct sched *s, struct sched_fifo *f, unsigned nq,
				    uint64_t now_ns)
{
	struct sched_req *r = sched_fifo_pop(f);

	s->waiting--;
	sched_submit_at(s, r, nq, now_ns, r->enqueue_ns);
	return r;
}

struct sched_req *sched_next(struct sched *s, uint64_t now_ns)
{
	sched_tick(s, now_ns);
	if (!s->waiting)
		return NULL;
	return s->ops->next(s, now_ns);
}

unsigned sched_waiting(const struct sched *s)
{
	return s->waiting;
}
