/* SPDX-License-Identifier: MIT */
/*
 * QoS arithmetic (see qos.h), all in exact 64-bit integers.
 *
 * A bucket gains rate * dt / 1e9 tokens over dt ns; the remainder stays in
 * frac (in 1e-9 tokens), so a thousand 1 ns steps add exactly what one
 * 1000 ns step does. rate * dt itself would overflow (1e12/s times a day),
 * so dt is split into seconds and nanoseconds, and rate into giga-units and
 * the rest: every partial product then stays below 2^63.
 */
#include "sched/qos.h"

#include <stdlib.h>

/*
 * Limits that keep every sum below in range: no real limit comes near
 * 2^61 per second, and only a nonsensical cost digs a deeper debt.
 */
#define TB_RATE_MAX (1ULL << 61)
#define TB_DEBT_MAX (1LL << 61)

/* Above this a cost counts as this much: keeps a tag's lead far below 2^63. */
#define WFQ_COST_MAX (1ULL << 40)

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * Whole tokens that dt ns bring at `rate`, on top of the remainder *frac,
 * which keeps what is left. The caller keeps rate * (dt / 1e9) in range.
 */
static uint64_t gain(uint64_t rate, uint64_t dt, uint64_t *frac)
{
	uint64_t sec = dt / NSEC_PER_SEC, ns = dt % NSEC_PER_SEC;
	uint64_t sub = rate % NSEC_PER_SEC * ns + *frac; /* < 1e18 + 1e9 */

	*frac = sub % NSEC_PER_SEC;
	return rate * sec + rate / NSEC_PER_SEC * ns + sub / NSEC_PER_SEC;
}

static void fill(struct tbucket *b)
{
	b->tokens = (int64_t)b->burst;
	b->frac = 0; /* what would spill over a full bucket is lost, remainder too */
}

static void refill(struct tbucket *b, uint64_t now_ns)
{
	uint64_t dt, need, frac, add;

	/* a stale now adds nothing, and time never runs backwards */
	if (now_ns <= b->last_ns)
		return;
	dt = now_ns - b->last_ns;
	b->last_ns = now_ns;
	if (!b->rate)
		return;
	need = (uint64_t)((int64_t)b->burst - b->tokens); /* <= 2^62 */
	/* a long idle just fills it: checked first, so rate * seconds <= need */
	if (dt / NSEC_PER_SEC > need / b->rate) {
		fill(b);
		return;
	}
	frac = b->frac;
	add = gain(b->rate, dt, &frac); /* <= need + rate + 1 */
	if (add >= need) {
		fill(b);
		return;
	}
	b->tokens += (int64_t)add;
	b->frac = frac;
}

/*
 * Least ns, within one second, for which gain(rate, ns, frac) >= rem, for
 * 1 <= rem <= rate. Directly while rem * 1e9 fits in 64 bits (any deficit
 * under 18e9 tokens); beyond, by bisection on gain() itself.
 */
static uint64_t ns_to_gain(uint64_t rate, uint64_t frac, uint64_t rem)
{
	uint64_t lo = 0, hi = NSEC_PER_SEC; /* gain(lo) < rem <= gain(hi) */

	if (rem <= UINT64_MAX / NSEC_PER_SEC) {
		uint64_t x = rem * NSEC_PER_SEC - frac; /* rate * ns + frac >= rem * 1e9 */

		return x / rate + (x % rate != 0);
	}
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2, f = frac;

		if (gain(rate, mid, &f) >= rem)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/* Least dt after which the bucket has gained deficit (>= 1) more tokens. */
static uint64_t ns_to_deficit(const struct tbucket *b, uint64_t deficit)
{
	/* whole seconds bring exactly rate each and leave frac alone */
	uint64_t sec = (deficit - 1) / b->rate;
	uint64_t rem = deficit - b->rate * sec; /* 1..rate */

	if (sec >= UINT64_MAX / NSEC_PER_SEC)
		return UINT64_MAX;
	return sec * NSEC_PER_SEC + ns_to_gain(b->rate, b->frac, rem);
}

void tbucket_init(struct tbucket *b, uint64_t rate, uint64_t now_ns)
{
	b->rate = min_u64(rate, TB_RATE_MAX);
	b->burst = b->rate;
	b->last_ns = now_ns;
	fill(b);
}

void tbucket_set_rate(struct tbucket *b, uint64_t rate, uint64_t now_ns)
{
	bool was_unlimited = !b->rate;

	refill(b, now_ns);
	b->rate = min_u64(rate, TB_RATE_MAX);
	b->burst = b->rate;
	/* an unlimited bucket counted nothing: a new limit starts full, as at init */
	if (was_unlimited || b->tokens >= (int64_t)b->burst)
		fill(b);
}

uint64_t tbucket_wait(struct tbucket *b, uint64_t cost, uint64_t now_ns)
{
	uint64_t want, dt;

	refill(b, now_ns);
	if (!b->rate)
		return 0;
	/* a request dearer than the burst waits for a full bucket, then runs into debt */
	want = min_u64(cost, b->burst);
	if (b->tokens >= (int64_t)want)
		return 0;
	dt = ns_to_deficit(b, (uint64_t)((int64_t)want - b->tokens));
	/* the bucket is up to date at last_ns, which a stale now_ns lies behind */
	if (now_ns < b->last_ns)
		dt += min_u64(b->last_ns - now_ns, UINT64_MAX - dt);
	return dt;
}

void tbucket_take(struct tbucket *b, uint64_t cost)
{
	if (!b->rate)
		return;
	if (cost >= (uint64_t)(b->tokens + TB_DEBT_MAX))
		b->tokens = -TB_DEBT_MAX;
	else
		b->tokens -= (int64_t)cost;
}

void qos_limiter_init(struct qos_limiter *q, uint64_t iops_limit, uint64_t bw_limit,
		      uint64_t now_ns)
{
	tbucket_init(&q->iops, iops_limit, now_ns);
	tbucket_init(&q->bw, bw_limit, now_ns);
}

void qos_limiter_set(struct qos_limiter *q, uint64_t iops_limit, uint64_t bw_limit,
		     uint64_t now_ns)
{
	tbucket_set_rate(&q->iops, iops_limit, now_ns);
	tbucket_set_rate(&q->bw, bw_limit, now_ns);
}

bool qos_limiter_unlimited(const struct qos_limiter *q)
{
	return !q->iops.rate && !q->bw.rate;
}

uint64_t qos_admit(struct qos_limiter *q, uint64_t bytes, uint64_t now_ns)
{
	uint64_t wait_iops = tbucket_wait(&q->iops, 1, now_ns);
	uint64_t wait_bw = tbucket_wait(&q->bw, bytes, now_ns);

	/* buckets only fill while waiting: after the longer wait both admit */
	if (wait_iops || wait_bw)
		return wait_iops > wait_bw ? wait_iops : wait_bw;
	tbucket_take(&q->iops, 1);
	tbucket_take(&q->bw, bytes);
	return 0;
}

/* Virtual time order modulo 2^64: live tags are never 2^63 apart. */
static bool vt_before(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b) < 0;
}

static bool item_before(const struct wfq_item *a, const struct wfq_item *b)
{
	if (a->tag != b->tag)
		return vt_before(a->tag, b->tag);
	return a->seq < b->seq;
}

void wfq_init(struct wfq *q)
{
	*q = (struct wfq){ 0 };
}

void wfq_free(struct wfq *q)
{
	free(q->heap);
	q->heap = NULL;
	q->nr = 0;
	q->cap = 0;
}

static int heap_reserve(struct wfq *q)
{
	size_t cap = q->cap ? q->cap * 2 : 16;
	struct wfq_item **grown;

	if (q->nr < q->cap)
		return 0;
	if (cap > SIZE_MAX / sizeof(*grown))
		return -1;
	grown = realloc(q->heap, cap * sizeof(*grown));
	if (!grown)
		return -1;
	q->heap = grown;
	q->cap = cap;
	return 0;
}

static void sift_up(struct wfq *q, size_t i)
{
	struct wfq_item *it = q->heap[i];

	while (i && item_before(it, q->heap[(i - 1) / 2])) {
		q->heap[i] = q->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	q->heap[i] = it;
}

static void sift_down(struct wfq *q, size_t i)
{
	struct wfq_item *it = q->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= q->nr)
			break;
		if (c + 1 < q->nr && item_before(q->heap[c + 1], q->heap[c]))
			c++;
		if (!item_before(q->heap[c], it))
			break;
		q->heap[i] = q->heap[c];
		i = c;
	}
	q->heap[i] = it;
}

/*
 * Where the flow's next request starts: after its last one if that is
 * still ahead of virtual time (it is backlogged, or just got more than its
 * share), else now -- an idle flow gets no credit for the time it idled. A
 * finish tag beyond max_finish was left behind by a wrap of virtual time.
 */
static uint64_t flow_start(const struct wfq *q, const struct wfq_flow *flow)
{
	if (vt_before(q->vtime, flow->finish) && !vt_before(q->max_finish, flow->finish))
		return flow->finish;
	return q->vtime;
}

int wfq_push(struct wfq *q, struct wfq_flow *flow, uint64_t cost, struct wfq_item *item)
{
	unsigned weight = flow->weight ? flow->weight : 1;

	if (heap_reserve(q))
		return -1;
	item->start = flow_start(q, flow);
	item->tag = item->start + min_u64(cost, WFQ_COST_MAX) * WFQ_SCALE / weight;
	item->seq = q->seq++;
	flow->finish = item->tag;
	if (vt_before(q->max_finish, item->tag))
		q->max_finish = item->tag;
	q->heap[q->nr++] = item;
	sift_up(q, q->nr - 1);
	return 0;
}

struct wfq_item *wfq_pop(struct wfq *q)
{
	struct wfq_item *top;

	if (!q->nr)
		return NULL;
	top = q->heap[0];
	q->heap[0] = q->heap[--q->nr];
	if (q->nr)
		sift_down(q, 0);
	/*
	 * Finish order can dispatch a later start before an earlier one (a
	 * cheap request overtakes a dear one); virtual time still only advances.
	 */
	if (vt_before(q->vtime, top->start))
		q->vtime = top->start;
	return top;
}
