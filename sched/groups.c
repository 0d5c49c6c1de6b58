/* SPDX-License-Identifier: MIT */
/*
 * Daredevil's NQ groups: the first split, and resizing every interval.
 *
 * The L group wants one NQ per L request in flight (an L command alone in
 * its queue waits for nobody), plus a quarter for bursts; T takes the
 * rest. While T is busy too, L gets at most half -- Daredevil's static
 * split is the ceiling, not the rule. An idle class keeps one NQ, so its
 * first request finds a queue at once. Growth is immediate (latency is at
 * stake), shrinking goes halfway per interval, unless T is starved of
 * tags: then L gives back all it does not need at once.
 *
 * An NQ that moves from T to L may still hold T commands: it drains before
 * L uses it, or an L request would queue behind them. The other way needs
 * no wait: T behind L is what we want anyway.
 *
 * Commands without data (FLUSH, DISCARD, WRITE ZEROES) cannot be polled:
 * on a POLL NQ the kernel sends them to the CPU's DEFAULT queue, whichever
 * group that is in. So L always holds a DEFAULT NQ (and then one POLL NQ
 * at least, for its data), and T holds one too when there are two: moves
 * never take a group's last one, and the first split leaves them there.
 */
#include "sched/sched_int.h"

static unsigned latency_start(const struct sched *s)
{
	unsigned n = s->p.latency_queues ? s->p.latency_queues : s->nr_nqs / 2;

	if (n < 1)
		n = 1;
	return n < s->nr_nqs ? n : s->nr_nqs - 1;
}

/* DEFAULT NQs a group must hold for its commands without data: L 1, T 1 if there are 2. */
static unsigned defaults_owed(const struct sched *s, enum nq_lane l)
{
	unsigned nd = s->nr_kind[NQ_DEFAULT];

	return l == NQ_LANE_LATENCY ? nd >= 1 : nd >= 2;
}

/* The group's one DEFAULT NQ if it owes it (a move must not take it), else -1. */
static int kept_default(const struct sched *s, enum nq_lane l)
{
	const struct nq_group *g = &s->group[l];

	if (!defaults_owed(s, l) || nq_group_count_kind(g, s->nq, NQ_DEFAULT) != 1)
		return -1;
	for (unsigned i = 0; i < g->nr; i++)
		if (s->nq[g->member[i]].kind == NQ_DEFAULT)
			return (int)g->member[i];
	return -1;
}

static void join_latency(struct sched *s, unsigned i)
{
	s->nq[i].lane = NQ_LANE_LATENCY;
	nq_group_add(&s->group[NQ_LANE_LATENCY], i);
}

/* The first split, into the groups sched_new() allocated empty. */
void sched_groups_split(struct sched *s)
{
	unsigned nl, polls, defaults = 0;

	/*
	 * L on POLL queues first: reaped by polling, no interrupt in its path;
	 * then DEFAULT ones, its owed one at least, leaving T its own.
	 */
	nl = latency_start(s);
	if (nl < 2 && defaults_owed(s, NQ_LANE_LATENCY) && s->nr_kind[NQ_POLL] && s->nr_nqs > 2)
		nl = 2; /* its DEFAULT NQ and a POLL one */
	polls = nl - defaults_owed(s, NQ_LANE_LATENCY);
	for (unsigned i = 0; i < s->nr_nqs && s->group[NQ_LANE_LATENCY].nr < polls; i++)
		if (s->nq[i].kind == NQ_POLL)
			join_latency(s, i);
	for (unsigned i = 0; i < s->nr_nqs; i++) {
		bool owed = !defaults && defaults_owed(s, NQ_LANE_LATENCY);

		if (s->nq[i].kind != NQ_DEFAULT)
			continue;
		if ((s->group[NQ_LANE_LATENCY].nr >= nl && !owed) ||
		    s->nr_kind[NQ_DEFAULT] - defaults <= defaults_owed(s, NQ_LANE_THROUGHPUT))
			break;
		join_latency(s, i);
		defaults++;
	}
	for (unsigned i = 0; i < s->nr_nqs; i++)
		if (s->nq[i].lane == NQ_LANE_THROUGHPUT)
			nq_group_add(&s->group[NQ_LANE_THROUGHPUT], i);
}

static void move(struct sched *s, unsigned i, enum nq_lane to)
{
	struct nq *q = &s->nq[i];

	nq_group_remove(&s->group[q->lane], i);
	nq_group_add(&s->group[to], i);
	q->lane = to;
	q->draining = to == NQ_LANE_LATENCY && q->inflight > 0;
	s->moves++;
}

static bool lane_idle(const struct sched *s, enum nq_lane l)
{
	return !s->win.requests[l] && !s->win.stalled[l] && !s->inflight[l];
}

/* How many NQs L should have, from what the last interval saw. */
static unsigned latency_want(const struct sched *s)
{
	const struct sched_window *w = &s->win;
	unsigned cur = s->group[NQ_LANE_LATENCY].nr, most = s->nr_nqs - 1, want;
	/* its owed DEFAULT NQ, and a POLL one for its data if there are any */
	unsigned least = 1 + (defaults_owed(s, NQ_LANE_LATENCY) && s->nr_kind[NQ_POLL]);

	if (lane_idle(s, NQ_LANE_LATENCY))
		return least < most ? least : most;
	want = w->peak[NQ_LANE_LATENCY] + w->peak[NQ_LANE_LATENCY] / 4 + 1;
	if (w->stalled[NQ_LANE_LATENCY] && want < 2 * cur)
		want = 2 * cur; /* L waited for a usable NQ: more, fast */
	if (!lane_idle(s, NQ_LANE_THROUGHPUT))
		most = s->nr_nqs / 2; /* >= 1: daredevil has two NQs at least */
	return want < least ? least : want > most ? most : want;
}

/*
 * The L member to give back: one still draining (it serves nobody), else a
 * DEFAULT one; never its owed DEFAULT NQ. -1 if there is none to give.
 */
static int shrink_victim(const struct sched *s)
{
	const struct nq_group *g = &s->group[NQ_LANE_LATENCY];
	int keep = kept_default(s, NQ_LANE_LATENCY);

	for (unsigned i = g->nr; i-- > 0;)
		if (s->nq[g->member[i]].draining && (int)g->member[i] != keep)
			return (int)g->member[i];
	return nq_group_victim_except(g, s->nq, NQ_DEFAULT, keep);
}

void sched_groups_resize(struct sched *s)
{
	unsigned cur = s->group[NQ_LANE_LATENCY].nr, want = latency_want(s);

	if (want > cur) {
		for (unsigned n = want - cur; n; n--) {
			int v = nq_group_victim_except(&s->group[NQ_LANE_THROUGHPUT], s->nq, NQ_POLL,
						       kept_default(s, NQ_LANE_THROUGHPUT));

			if (v < 0 || s->group[NQ_LANE_THROUGHPUT].nr <= 1)
				break;
			move(s, (unsigned)v, NQ_LANE_LATENCY);
		}
	} else if (want < cur) {
		unsigned n = s->win.stalled[NQ_LANE_THROUGHPUT] ? cur - want : (cur - want + 1) / 2;

		for (; n; n--) {
			int v = shrink_victim(s);

			if (v < 0)
				break;
			move(s, (unsigned)v, NQ_LANE_THROUGHPUT);
		}
	}
}
