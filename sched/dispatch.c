/* SPDX-License-Identifier: MIT */
/*
 * Held requests and the dispatch order (see sched.h): L before T.
 *
 * Daredevil holds one FIFO per lane. A lane's head waits for its group (or
 * the T cap), and every request behind it would wait for the same thing,
 * so only heads are ever tried. Static mode holds one FIFO per NQ, as
 * blk-mq holds a CPU's submitter when its queue is out of tags: a full NQ
 * must not hold up requests bound for the others. Those FIFOs take turns.
 */
#include "sched/sched_int.h"

#include <errno.h>
#include <stdlib.h>

int sched_fifos_init(struct sched *s)
{
	s->nr_fifos = sched_daredevil(s) ? NQ_NR_LANES : s->nr_nqs;
	s->fifo = calloc(s->nr_fifos, sizeof(*s->fifo));
	if (!s->fifo)
		return -ENOMEM;
	for (unsigned f = 0; f < s->nr_fifos; f++)
		s->fifo[f].tail = &s->fifo[f].head;
	return 0;
}

static void fifo_push(struct sched_fifo *f, struct sched_req *r)
{
	r->next = NULL;
	*f->tail = r;
	f->tail = &r->next;
	f->nr++;
}

static struct sched_req *fifo_pop(struct sched_fifo *f)
{
	struct sched_req *r = f->head;

	f->head = r->next;
	if (!f->head)
		f->tail = &f->head;
	f->nr--;
	r->next = NULL;
	return r;
}

void sched_enqueue(struct sched *s, struct sched_req *r, uint64_t now_ns)
{
	unsigned f;

	sched_tick(s, now_ns);
	r->enqueue_ns = now_ns;
	r->nq = SCHED_NO_QUEUE;
	if (sched_tenant_class(s, r->tenant) == CONF_CLASS_LATENCY)
		sched_latency_touch(s, now_ns); /* the T cap applies from L's first request on */
	f = sched_daredevil(s) ? (unsigned)sched_lane_of(s, r) : sched_cpu_nq(s, r->cpu);
	fifo_push(&s->fifo[f], r);
	s->waiting++;
}

static struct sched_req *submit_head(struct sched *s, struct sched_fifo *f, unsigned nq,
				     uint64_t now_ns)
{
	struct sched_req *r = fifo_pop(f);

	s->waiting--;
	sched_submitted(s, r, nq, now_ns);
	return r;
}

static struct sched_req *next_daredevil(struct sched *s, uint64_t now_ns)
{
	for (int l = 0; l < NQ_NR_LANES; l++) { /* NQ_LANE_LATENCY first */
		struct sched_fifo *f = &s->fifo[l];
		int q;

		if (!f->head)
			continue;
		q = sched_pick(s, f->head, now_ns);
		if (q != SCHED_NO_QUEUE)
			return submit_head(s, f, (unsigned)q, now_ns);
	}
	return NULL;
}

static struct sched_req *next_static(struct sched *s, uint64_t now_ns)
{
	for (unsigned i = 0; i < s->nr_fifos; i++) {
		unsigned q = (s->fifo_rr + i) % s->nr_fifos;

		if (!s->fifo[q].head || !nq_usable(&s->nq[q]))
			continue;
		s->fifo_rr = (q + 1) % s->nr_fifos;
		return submit_head(s, &s->fifo[q], q, now_ns);
	}
	return NULL;
}

struct sched_req *sched_next(struct sched *s, uint64_t now_ns)
{
	sched_tick(s, now_ns);
	if (!s->waiting)
		return NULL;
	return sched_daredevil(s) ? next_daredevil(s, now_ns) : next_static(s, now_ns);
}

unsigned sched_waiting(const struct sched *s)
{
	return s->waiting;
}
