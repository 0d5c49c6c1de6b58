/* SPDX-License-Identifier: MIT */
/*
 * Static mode: stock blk-mq, the baseline every benchmark compares with.
 * A request goes to the NQ its submitting CPU maps to, with no classes
 * (an L tenant's requests are only counted in L's lane).
 *
 * It holds one FIFO per NQ, as blk-mq holds a CPU's submitter when its
 * queue is out of tags: a full NQ must not hold up requests bound for the
 * others. Those FIFOs take turns.
 */
#include "sched/sched_int.h"

/* The NQ that mapped CPU i first, DEFAULT before POLL, as blk-mq's default map would. */
static unsigned cpu_queue(const struct nq_desc *descs, unsigned nr_nqs, unsigned cpu)
{
	for (int pass = 0; pass < 2; pass++)
		for (unsigned i = 0; i < nr_nqs; i++)
			if (descs[i].kind == (pass ? NQ_POLL : NQ_DEFAULT) &&
			    nq_desc_has_cpu(&descs[i], cpu))
				return i;
	return cpu % nr_nqs;
}

static unsigned cpu_nq(const struct sched *s, unsigned cpu)
{
	return s->cpu_nq[cpu % NQ_MAX_CPUS];
}

/* Every NQ stays in THROUGHPUT's lane; the groups stay empty. */
static int static_init(struct sched *s, const struct nq_desc *descs)
{
	for (unsigned c = 0; c < NQ_MAX_CPUS; c++)
		s->cpu_nq[c] = cpu_queue(descs, s->nr_nqs, c);
	return 0;
}

static unsigned static_nr_fifos(const struct sched *s)
{
	return s->nr_nqs;
}

static unsigned static_fifo_of(const struct sched *s, const struct sched_req *r)
{
	return cpu_nq(s, r->cpu);
}

static enum nq_lane static_fifo_lane(const struct sched *s, unsigned f)
{
	(void)s;
	(void)f;
	return NQ_LANE_THROUGHPUT;
}

/* The submitting CPU's queue or nothing (the submitter waits for a tag). */
static int static_pick(struct sched *s, const struct sched_req *r, uint64_t now_ns)
{
	unsigned q = cpu_nq(s, r->cpu);

	(void)now_ns;
	return nq_usable(&s->nq[q]) ? (int)q : SCHED_NO_QUEUE;
}

/* FIFO q feeds NQ q; the first usable one after the last that went. */
static struct sched_req *static_next(struct sched *s, uint64_t now_ns)
{
	for (unsigned i = 0; i < s->nr_fifos; i++) {
		unsigned q = (s->fifo_rr + i) % s->nr_fifos;

		if (!s->fifo[q].head || !nq_usable(&s->nq[q]))
			continue;
		s->fifo_rr = (q + 1) % s->nr_fifos;
		return sched_fifo_submit_head(s, q, q, now_ns);
	}
	return NULL;
}

const struct sched_mode_ops sched_mode_static = {
	.min_nqs = 1,
	.init = static_init,
	.nr_fifos = static_nr_fifos,
	.fifo_of = static_fifo_of,
	.fifo_lane = static_fifo_lane,
	.lane_of = sched_class_lane,
	.pick = static_pick,
	.next = static_next,
};
