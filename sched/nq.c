/* SPDX-License-Identifier: MIT */
/* NQ descriptions and groups (see nq.h). */
#include "sched/nq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void nq_desc_init(struct nq_desc *d, enum nq_kind kind, unsigned depth)
{
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->depth = depth;
}

void nq_desc_add_cpu(struct nq_desc *d, unsigned cpu)
{
	cpu %= NQ_MAX_CPUS;
	d->cpus[cpu / 64] |= 1ULL << (cpu % 64);
}

bool nq_desc_has_cpu(const struct nq_desc *d, unsigned cpu)
{
	cpu %= NQ_MAX_CPUS;
	return d->cpus[cpu / 64] >> (cpu % 64) & 1;
}

int nq_group_init(struct nq_group *g, unsigned capacity)
{
	memset(g, 0, sizeof(*g));
	g->member = calloc(capacity ? capacity : 1, sizeof(*g->member));
	return g->member ? 0 : -ENOMEM;
}

void nq_group_free(struct nq_group *g)
{
	free(g->member);
	memset(g, 0, sizeof(*g));
}

void nq_group_add(struct nq_group *g, unsigned nq)
{
	g->member[g->nr++] = nq;
}

void nq_group_remove(struct nq_group *g, unsigned nq)
{
	for (unsigned i = 0; i < g->nr; i++) {
		if (g->member[i] != nq)
			continue;
		memmove(&g->member[i], &g->member[i + 1], (g->nr - i - 1) * sizeof(*g->member));
		g->nr--;
		return;
	}
}

/* Strictly less loaded: fewer commands, then fewer bytes. */
static bool lighter(const struct nq *a, const struct nq *b)
{
	if (a->inflight != b->inflight)
		return a->inflight < b->inflight;
	return a->inflight_bytes < b->inflight_bytes;
}

/* JSQ over the usable members, of kind `kind` only if only_kind. */
static int pick(const struct nq_group *g, const struct nq *nqs, bool only_kind,
		enum nq_kind kind)
{
	const struct nq *best = NULL;

	for (unsigned i = 0; i < g->nr; i++) {
		const struct nq *q = &nqs[g->member[i]];

		if ((only_kind && q->kind != kind) || !nq_usable(q) || (best && !lighter(q, best)))
			continue;
		best = q;
		if (!q->inflight)
			break; /* nothing beats an idle queue, and the earliest wins ties */
	}
	return best ? (int)best->index : -1;
}

int nq_group_pick(const struct nq_group *g, const struct nq *nqs)
{
	return pick(g, nqs, false, NQ_DEFAULT);
}

int nq_group_pick_kind(const struct nq_group *g, const struct nq *nqs, enum nq_kind kind)
{
	return pick(g, nqs, true, kind);
}

unsigned nq_group_count_kind(const struct nq_group *g, const struct nq *nqs, enum nq_kind kind)
{
	unsigned n = 0;

	for (unsigned i = 0; i < g->nr; i++)
		n += nqs[g->member[i]].kind == kind;
	return n;
}

int nq_group_victim(const struct nq_group *g, const struct nq *nqs, enum nq_kind prefer)
{
	return nq_group_victim_except(g, nqs, prefer, -1);
}

int nq_group_victim_except(const struct nq_group *g, const struct nq *nqs, enum nq_kind prefer,
			   int keep)
{
	const struct nq *best = NULL;

	/* Latest first, so a tie goes to the NQ that joined last. */
	for (unsigned i = g->nr; i-- > 0;) {
		const struct nq *q = &nqs[g->member[i]];
		bool q_pref = q->kind == prefer;

		if ((int)q->index == keep)
			continue;
		if (best) {
			bool b_pref = best->kind == prefer;

			if (q_pref != b_pref ? !q_pref : q->inflight >= best->inflight)
				continue;
		}
		best = q;
	}
	return best ? (int)best->index : -1;
}
