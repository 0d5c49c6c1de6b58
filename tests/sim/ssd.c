/* SPDX-License-Identifier: MIT */
/* The model SSD (see ssd.h). */
#include "tests/sim/ssd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ssd_cfg_default(struct ssd_cfg *c, unsigned nqs)
{
	*c = (struct ssd_cfg){
		.nqs = nqs,
		.units = SSD_DEFAULT_UNITS,
		.base_ns = SSD_DEFAULT_BASE_NS,
		.ns_per_kib = SSD_DEFAULT_NS_PER_KIB,
		.jitter_pct = SSD_DEFAULT_JITTER_PCT,
		.seed = 1,
	};
}

uint64_t ssd_service_ns(const struct ssd_cfg *c, uint32_t bytes)
{
	return c->base_ns + c->ns_per_kib * bytes / 1024;
}

/* Marsaglia's xorshift64: plenty for jitter, and the same on every machine. */
static uint64_t next_random(struct ssd *d)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return d->rng;
}

static uint64_t jittered(struct ssd *d, uint64_t ns)
{
	uint64_t span = ns * d->cfg.jitter_pct / 100; /* +-span */

	if (!span)
		return ns;
	return ns - span + next_random(d) % (2 * span + 1);
}

int ssd_init(struct ssd *d, const struct ssd_cfg *cfg)
{
	memset(d, 0, sizeof(*d));
	if (!cfg->nqs || !cfg->units || cfg->jitter_pct >= 100)
		return -EINVAL;
	d->cfg = *cfg;
	d->rng = cfg->seed ? cfg->seed : 1; /* xorshift's state must not be 0 */
	d->sq = calloc(cfg->nqs, sizeof(*d->sq));
	d->unit = calloc(cfg->units, sizeof(*d->unit));
	if (!d->sq || !d->unit) {
		ssd_free(d);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < cfg->nqs; i++)
		d->sq[i].tail = &d->sq[i].head;
	return 0;
}

void ssd_free(struct ssd *d)
{
	free(d->sq);
	free(d->unit);
	memset(d, 0, sizeof(*d));
}

void ssd_submit(struct ssd *d, unsigned sq, struct ssd_cmd *cmd)
{
	struct ssd_sq *q = &d->sq[sq];

	if (cmd->latency) {
		d->latency_cmds++;
		d->latency_behind_t += q->throughput > 0;
	}
	cmd->next = NULL;
	*q->tail = cmd;
	q->tail = &cmd->next;
	q->nr++;
	q->throughput += !cmd->latency;
	d->queued++;
}

/* The head of the next non-empty SQ in round-robin order. */
static struct ssd_cmd *arbitrate(struct ssd *d)
{
	for (unsigned i = 0; i < d->cfg.nqs; i++) {
		unsigned s = (d->rr + i) % d->cfg.nqs;
		struct ssd_sq *q = &d->sq[s];
		struct ssd_cmd *cmd = q->head;

		if (!cmd)
			continue;
		q->head = cmd->next;
		if (!q->head)
			q->tail = &q->head;
		q->nr--;
		q->throughput -= !cmd->latency;
		d->queued--;
		d->rr = (s + 1) % d->cfg.nqs;
		return cmd;
	}
	return NULL;
}

void ssd_fetch(struct ssd *d, uint64_t now_ns)
{
	for (unsigned u = 0; u < d->cfg.units && d->queued; u++) {
		struct ssd_cmd *cmd;

		if (d->unit[u])
			continue;
		cmd = arbitrate(d);
		cmd->done_ns = now_ns + jittered(d, ssd_service_ns(&d->cfg, cmd->bytes));
		d->unit[u] = cmd;
		d->busy++;
	}
}

/* The unit that finishes first, ties to the lowest; -1 when all are idle. */
static int first_unit(const struct ssd *d)
{
	int first = -1;

	for (unsigned u = 0; u < d->cfg.units; u++) {
		const struct ssd_cmd *cmd = d->unit[u];

		if (cmd && (first < 0 || cmd->done_ns < d->unit[first]->done_ns))
			first = (int)u;
	}
	return first;
}

uint64_t ssd_next_done_ns(const struct ssd *d)
{
	int u = first_unit(d);

	return u < 0 ? UINT64_MAX : d->unit[u]->done_ns;
}

struct ssd_cmd *ssd_pop_done(struct ssd *d)
{
	int u = first_unit(d);
	struct ssd_cmd *cmd;

	if (u < 0)
		return NULL;
	cmd = d->unit[u];
	d->unit[u] = NULL;
	d->busy--;
	return cmd;
}
