/* SPDX-License-Identifier: MIT */
/*
 * The scheduler object: parameters, tenants, the in-flight accounting and
 * the periodic adaptation's clock (see sched.h). What differs between
 * modes -- the queue decision, the FIFOs, the adaptation -- is the mode's
 * ops (mode.h), called through s->ops.
 */
#include "sched/sched_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_US 1000ULL
#define NS_PER_MS 1000000ULL

void sched_params_init(struct sched_params *p)
{
	*p = (struct sched_params){
		.mode = SCHED_DEFAULT_MODE,
		.latency_target_us = SCHED_DEFAULT_LATENCY_TARGET_US,
		.latency_queues = SCHED_DEFAULT_LATENCY_QUEUES,
		.adapt_interval_ms = SCHED_DEFAULT_ADAPT_INTERVAL_MS,
		.throughput_cap = SCHED_DEFAULT_THROUGHPUT_CAP,
		.promote_flush = SCHED_DEFAULT_PROMOTE_FLUSH,
		.poll = SCHED_DEFAULT_POLL,
		.throughput_cap_min = SCHED_DEFAULT_THROUGHPUT_CAP_MIN,
		.throughput_cap_max = SCHED_DEFAULT_THROUGHPUT_CAP_MAX,
		.throughput_cap_step = SCHED_DEFAULT_THROUGHPUT_CAP_STEP,
		.min_samples = SCHED_DEFAULT_MIN_SAMPLES,
	};
	cost_model_init(&p->cost);
}

void sched_params_from_conf(struct sched_params *p, const struct conf_sched *c)
{
	p->mode = c->mode;
	p->latency_queues = c->latency_queues;
	p->promote_flush = c->promote_flush;
	p->poll = c->poll;
	p->cost = c->cost;
	if (c->latency_target_us)
		p->latency_target_us = c->latency_target_us;
	if (c->adapt_interval_ms)
		p->adapt_interval_ms = c->adapt_interval_ms;
	if (c->throughput_cap)
		p->throughput_cap = c->throughput_cap;
}

/* Every mode, by enum conf_sched_mode: a new mode adds its line here. */
static const struct sched_mode_ops *const modes[] = {
	[CONF_SCHED_STATIC] = &sched_mode_static,
	[CONF_SCHED_DAREDEVIL] = &sched_mode_daredevil,
};

static const struct sched_mode_ops *mode_ops(enum conf_sched_mode mode)
{
	return (size_t)mode < sizeof(modes) / sizeof(modes[0]) ? modes[mode] : NULL;
}

static bool params_valid(const struct sched_params *p, const struct nq_desc *descs,
			 unsigned nr_nqs)
{
	const struct sched_mode_ops *ops = mode_ops(p->mode);

	if (!nr_nqs || !p->latency_target_us || !p->adapt_interval_ms || !p->throughput_cap)
		return false;
	if (!ops || nr_nqs < ops->min_nqs)
		return false;
	for (unsigned i = 0; i < nr_nqs; i++)
		if (!descs[i].depth)
			return false;
	return true;
}

/* The bounds stretch to take in the starting cap: the policy's value is never overruled. */
static void cap_init(struct sched *s)
{
	const struct sched_params *p = &s->p;
	uint64_t start = p->throughput_cap;

	tcap_init(&s->cap, start, p->throughput_cap_min < start ? p->throughput_cap_min : start,
		  p->throughput_cap_max > start ? p->throughput_cap_max : start,
		  p->throughput_cap_step);
}

static void window_reset(struct sched *s)
{
	memset(&s->win, 0, sizeof(s->win));
	for (int l = 0; l < NQ_NR_LANES; l++)
		s->win.peak[l] = s->inflight[l];
}

/* Both lanes' groups, empty: a mode that has groups fills them. */
static int groups_init(struct sched *s)
{
	for (int l = 0; l < NQ_NR_LANES; l++)
		if (nq_group_init(&s->group[l], s->nr_nqs))
			return -ENOMEM;
	return 0;
}

struct sched *sched_new(const struct sched_params *p, const struct nq_desc *descs,
			unsigned nr_nqs, uint64_t now_ns)
{
	struct sched *s;

	if (!params_valid(p, descs, nr_nqs)) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->p = *p;
	s->ops = mode_ops(p->mode);
	s->target_ns = p->latency_target_us * NS_PER_US;
	s->interval_ns = p->adapt_interval_ms * NS_PER_MS;
	s->next_adapt_ns = now_ns + s->interval_ns;
	s->judged_target_ns = s->target_ns;
	s->nr_nqs = nr_nqs;
	s->nq = calloc(nr_nqs, sizeof(*s->nq));
	if (!s->nq)
		goto oom;
	for (unsigned i = 0; i < nr_nqs; i++) {
		const struct nq_desc *d = &descs[i];

		s->nq[i] = (struct nq){
			.index = i, .kind = d->kind, .depth = d->depth, .lane = NQ_LANE_THROUGHPUT
		};
		s->nr_kind[d->kind == NQ_POLL]++;
	}
	cap_init(s);
	if (groups_init(s) || s->ops->init(s, descs) || sched_fifos_init(s))
		goto oom;
	return s;
oom:
	sched_free(s);
	errno = ENOMEM;
	return NULL;
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	for (int l = 0; l < NQ_NR_LANES; l++)
		nq_group_free(&s->group[l]);
	free(s->fifo);
	for (unsigned i = 0; i < s->nr_tenants; i++)
		free(s->tenant[i].hist);
	free(s->tenant);
	free(s->nq);
	free(s);
}

int sched_tenant_set(struct sched *s, unsigned tenant, enum conf_class cls)
{
	if (tenant >= SCHED_MAX_TENANTS)
		return -EINVAL;
	if (tenant >= s->nr_tenants) {
		unsigned nr = tenant + 1 > 2 * s->nr_tenants ? tenant + 1 : 2 * s->nr_tenants;
		struct sched_tenant *t = realloc(s->tenant, nr * sizeof(*t));

		if (!t)
			return -ENOMEM;
		/* FIFO tails point into the array: set them again after it moved */
		for (unsigned i = 0; i < s->nr_tenants; i++)
			if (!t[i].held.head)
				t[i].held.tail = &t[i].held.head;
		for (unsigned i = s->nr_tenants; i < nr; i++) {
			t[i] = (struct sched_tenant){ .cls = CONF_CLASS_BESTEFFORT };
			t[i].held.tail = &t[i].held.head;
		}
		s->tenant = t;
		s->nr_tenants = nr;
	}
	s->tenant[tenant].cls = cls;
	return 0;
}

/* No reservation any more: its held requests go back to the T lane, in order. */
static void resv_drop(struct sched *s, struct sched_tenant *t)
{
	if (!t->resv)
		return;
	t->resv = 0;
	s->nr_reserved--;
	if (s->ops->resv_lane_fifo)
		sched_resv_release(s, t, s->ops->resv_lane_fifo(s));
}

int sched_tenant_slo(struct sched *s, unsigned tenant, const struct sched_slo *slo)
{
	struct sched_tenant *t;
	uint64_t resv;

	if (tenant >= s->nr_tenants)
		return -EINVAL;
	t = &s->tenant[tenant];
	resv = cost_reserved(&s->p.cost, slo->min_iops, slo->min_bw);
	if (resv > COST_NS_PER_SEC)
		resv = COST_NS_PER_SEC; /* all of the device, no more */
	t->target_ns = slo->latency_target_us * NS_PER_US;
	if (!resv) {
		resv_drop(s, t);
		return 0;
	}
	if (!t->resv) {
		s->nr_reserved++;
		if (s->ops->resv_lane_fifo) /* its waiting T requests keep their order */
			sched_resv_adopt(s, tenant, s->ops->resv_lane_fifo(s));
	}
	t->resv = resv;
	return 0;
}

void sched_tenant_del(struct sched *s, unsigned tenant)
{
	struct sched_tenant *t;

	if (tenant >= s->nr_tenants)
		return;
	t = &s->tenant[tenant];
	resv_drop(s, t);
	free(t->hist);
	*t = (struct sched_tenant){ .cls = CONF_CLASS_BESTEFFORT, .held.tail = &t->held.head };
}

enum conf_class sched_tenant_class(const struct sched *s, unsigned tenant)
{
	return tenant < s->nr_tenants ? s->tenant[tenant].cls : CONF_CLASS_BESTEFFORT;
}

void sched_tenant_stats(const struct sched *s, unsigned tenant, struct sched_tenant_stats *out)
{
	const struct sched_tenant *t = tenant < s->nr_tenants ? &s->tenant[tenant] : NULL;

	*out = (struct sched_tenant_stats){ .target_ns = s->target_ns };
	if (!t)
		return;
	if (t->target_ns)
		out->target_ns = t->target_ns;
	out->p99_ns = t->p99_ns;
	out->reserved = t->resv;
	out->resv_sent = t->resv_sent;
	out->held = t->held.nr;
}

enum nq_lane sched_class_lane(const struct sched *s, const struct sched_req *r)
{
	if (sched_tenant_class(s, r->tenant) == CONF_CLASS_LATENCY)
		return NQ_LANE_LATENCY;
	return NQ_LANE_THROUGHPUT;
}

bool sched_latency_active(const struct sched *s, uint64_t now_ns)
{
	if (s->latency_inflight)
		return true;
	return s->latency_seen && now_ns < s->latency_last_ns + s->interval_ns;
}

void sched_latency_touch(struct sched *s, uint64_t now_ns)
{
	s->latency_seen = true;
	if (now_ns > s->latency_last_ns)
		s->latency_last_ns = now_ns;
}

/* A new p99 window: T is busy in it from the start if it has bytes in flight. */
static void p99_window_reset(struct sched *s)
{
	s->cap_limited = false;
	s->cap_t_busy = s->capped_bytes > 0;
}

/* Forget every L tenant's samples (a new window, or L went idle). */
static void tenant_hists_reset(struct sched *s)
{
	for (unsigned i = 0; i < s->nr_tenants; i++)
		if (s->tenant[i].hist)
			lathist_reset(s->tenant[i].hist);
}

/*
 * The p99 the cap is judged by: of the L tenant furthest from its own
 * target (largest p99 / target), among those with enough samples; all of
 * L's against the scheduler's target when none has.
 */
static void judge(struct sched *s)
{
	uint64_t p99 = s->latency_p99_ns, target = s->target_ns;
	bool own = false;

	for (unsigned i = 0; i < s->nr_tenants; i++) {
		struct sched_tenant *t = &s->tenant[i];
		uint64_t tp99, tt = t->target_ns ? t->target_ns : s->target_ns;

		if (!t->hist || t->hist->total < SCHED_TENANT_MIN_SAMPLES) {
			t->p99_ns = 0; /* too few samples: no p99 this window */
			continue;
		}
		tp99 = lathist_quantile(t->hist, 0.99);
		t->p99_ns = tp99;
		if (!own || (double)tp99 / (double)tt > (double)p99 / (double)target) {
			p99 = tp99;
			target = tt;
			own = true;
		}
	}
	s->latency_p99_ns = p99;
	s->judged_target_ns = target;
}

/* Close the p99 window if it holds enough samples, and tell the mode (daredevil's cap). */
static void p99_window(struct sched *s, uint64_t now_ns)
{
	if (!sched_latency_active(s, now_ns)) {
		lathist_reset(&s->hist); /* stale samples would judge the next busy period */
		tenant_hists_reset(s);
		p99_window_reset(s);
		return;
	}
	if (s->hist.total < s->p.min_samples)
		return; /* too few for a p99: let the window grow */
	s->latency_p99_ns = lathist_quantile(&s->hist, 0.99);
	judge(s);
	if (s->ops->p99_closed)
		s->ops->p99_closed(s);
	lathist_reset(&s->hist);
	tenant_hists_reset(s);
	p99_window_reset(s);
}

void sched_tick(struct sched *s, uint64_t now_ns)
{
	if (now_ns < s->next_adapt_ns)
		return;
	s->next_adapt_ns = now_ns + s->interval_ns;
	p99_window(s, now_ns);
	if (s->ops->adapt)
		s->ops->adapt(s);
	window_reset(s);
}

int sched_pick(struct sched *s, const struct sched_req *r, uint64_t now_ns)
{
	sched_tick(s, now_ns);
	return s->ops->pick(s, r, now_ns);
}

void sched_submitted(struct sched *s, struct sched_req *r, unsigned nq, uint64_t now_ns)
{
	sched_submit_at(s, r, nq, now_ns, now_ns);
}

void sched_submit_at(struct sched *s, struct sched_req *r, unsigned nq, uint64_t now_ns,
		     uint64_t arrival_ns)
{
	struct nq *q = &s->nq[nq];
	enum nq_lane lane = sched_lane_of(s, r);

	r->nq = (int)nq;
	r->lane = lane;
	r->latency = sched_tenant_class(s, r->tenant) == CONF_CLASS_LATENCY;
	r->capped = !r->latency;
	r->submit_ns = now_ns;
	r->cost = cost_of(&s->p.cost, r->op, r->flags & SCHED_REQ_FUA, r->bytes);
	sched_resv_charge(s, r, arrival_ns);
	if (r->capped) {
		s->capped_bytes += r->bytes;
		s->capped_cost += r->cost;
		s->cap_t_busy = true;
	}
	q->inflight++;
	q->inflight_bytes += r->bytes;
	s->inflight[lane]++;
	s->inflight_bytes[lane] += r->bytes;
	if (s->inflight[lane] > s->win.peak[lane])
		s->win.peak[lane] = s->inflight[lane];
	s->win.requests[lane]++;
	if (r->latency) {
		s->latency_inflight++;
		sched_latency_touch(s, now_ns);
	}
}

/* An L tenant's own histogram: allocated at its first sample (out of memory: left out). */
static void tenant_sample(struct sched *s, unsigned tenant, uint64_t lat)
{
	struct sched_tenant *t;

	if (tenant >= s->nr_tenants)
		return;
	t = &s->tenant[tenant];
	if (!t->hist) {
		t->hist = malloc(sizeof(*t->hist));
		if (!t->hist)
			return;
		lathist_reset(t->hist);
	}
	lathist_add(t->hist, lat);
}

void sched_completed(struct sched *s, struct sched_req *r, uint64_t now_ns)
{
	struct nq *q;

	if (r->nq < 0 || (unsigned)r->nq >= s->nr_nqs)
		return; /* never submitted, or completed twice */
	q = &s->nq[r->nq];
	if (q->inflight)
		q->inflight--;
	q->inflight_bytes -= q->inflight_bytes < r->bytes ? q->inflight_bytes : r->bytes;
	if (s->inflight[r->lane])
		s->inflight[r->lane]--;
	s->inflight_bytes[r->lane] -= s->inflight_bytes[r->lane] < r->bytes ?
					      s->inflight_bytes[r->lane] : r->bytes;
	if (r->capped) {
		s->capped_bytes -= s->capped_bytes < r->bytes ? s->capped_bytes : r->bytes;
		s->capped_cost -= s->capped_cost < r->cost ? s->capped_cost : r->cost;
	}
	if (q->draining && !q->inflight)
		q->draining = false; /* its last T command left: L may use it now */
	if (r->latency) {
		if (s->latency_inflight)
			s->latency_inflight--;
		sched_latency_touch(s, now_ns);
		uint64_t lat = now_ns > r->submit_ns ? now_ns - r->submit_ns : 0;

		lathist_add(&s->hist, lat);
		tenant_sample(s, r->tenant, lat);
	}
	r->nq = SCHED_NO_QUEUE;
	sched_tick(s, now_ns);
}

void sched_set_poll(struct sched *s, enum conf_poll poll)
{
	s->p.poll = poll;
}

unsigned sched_nr_nqs(const struct sched *s)
{
	return s->nr_nqs;
}

const struct nq *sched_nq(const struct sched *s, unsigned nq)
{
	return nq < s->nr_nqs ? &s->nq[nq] : NULL;
}

unsigned sched_static_nq(const struct sched *s, unsigned cpu)
{
	return s->cpu_nq[cpu % NQ_MAX_CPUS];
}

unsigned sched_reap_order(const struct sched *s, unsigned *out)
{
	unsigned n = 0;

	/* L's completions first: an L tenant waits on each, T on a batch. */
	for (int pass = 0; pass < 2; pass++) {
		enum nq_lane want = pass ? NQ_LANE_THROUGHPUT : NQ_LANE_LATENCY;

		for (unsigned i = 0; i < s->nr_nqs; i++)
			if (s->nq[i].inflight && s->nq[i].lane == want)
				out[n++] = i;
	}
	return n;
}

void sched_get_stats(const struct sched *s, uint64_t now_ns, struct sched_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (int l = 0; l < NQ_NR_LANES; l++) {
		out->group_nqs[l] = s->group[l].nr;
		out->inflight[l] = s->inflight[l];
		out->inflight_bytes[l] = s->inflight_bytes[l];
	}
	for (unsigned i = 0; i < s->nr_nqs; i++)
		out->draining += s->nq[i].draining;
	for (unsigned f = 0; f < s->nr_fifos; f++)
		out->waiting[s->ops->fifo_lane(s, f)] += s->fifo[f].nr;
	for (unsigned i = 0; i < s->nr_tenants; i++)
		out->waiting[NQ_LANE_THROUGHPUT] += s->tenant[i].held.nr;
	out->throughput_cap = s->cap.cap;
	out->latency_p99_ns = s->latency_p99_ns;
	out->latency_active = sched_latency_active(s, now_ns);
	out->moves = s->moves;
	out->cap_cuts = s->cap.cuts;
	out->cap_raises = s->cap.raises;
	out->cap_fruitless = s->cap.fruitless;
	out->cap_off = s->cap.off;
	out->target_verdict = s->cap.verdict;
	out->latency_target_ns = s->judged_target_ns;
	out->reserving = sched_resv_active(s, now_ns);
}
