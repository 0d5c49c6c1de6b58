/* SPDX-License-Identifier: MIT */
/* The T cap: AIMD on L's p99, each cut judged by the next window (see tcap.h). */
#include "sched/tcap.h"

void tcap_init(struct tcap *c, uint64_t initial, uint64_t min, uint64_t max, uint64_t step)
{
	*c = (struct tcap){ .min = min ? min : 1, .step = step };
	c->max = max < c->min ? c->min : max;
	c->cap = initial < c->min ? c->min : initial > c->max ? c->max : initial;
	c->floor = c->min;
}

const char *tcap_verdict_name(enum tcap_verdict v)
{
	switch (v) {
	case TCAP_MET:
		return "met";
	case TCAP_UNMET_ALONE:
		return "unmet-alone";
	case TCAP_UNMET_CUTTING:
		return "unmet-cutting";
	case TCAP_UNMET_THROTTLE:
		return "unmet-throttle";
	}
	return "?";
}

/* Try a looser or tighter cap; the next window judges it against p99. */
static void try_cap(struct tcap *c, uint64_t cap, enum tcap_step step, uint64_t p99)
{
	c->prev_cap = c->cap;
	c->ref_p99 = p99;
	c->cap = cap;
	c->last = step;
}

/* Halve the cap, to no less than its minimum or the floor cuts stop helping at. */
static void cut(struct tcap *c, uint64_t p99)
{
	uint64_t to = c->cap / 2;

	if (to < c->min)
		to = c->min;
	if (to < c->floor)
		to = c->floor;
	try_cap(c, to, TCAP_CUT, p99);
	c->cuts++;
	c->verdict = TCAP_UNMET_CUTTING;
}

static void raise_cap(struct tcap *c)
{
	c->cap = c->max - c->cap < c->step ? c->max : c->cap + c->step;
	c->raises++;
}

/*
 * Judge last window's step by this window's p99. true: that verdict is
 * this window's action; false: go on by the usual rules.
 */
static bool judge(struct tcap *c, enum tcap_step last, const struct tcap_window *w)
{
	switch (last) {
	case TCAP_CUT:
		if (w->p99_ns * 100 <= c->ref_p99 * TCAP_HELPED_PCT) {
			c->hold = TCAP_HOLD; /* it helped: a looser cap would not, for a while */
			return false;
		}
		c->cap = c->prev_cap; /* it did not: back, and no lower while the target is missed */
		c->floor = c->prev_cap;
		c->hold = TCAP_HOLD;
		c->fruitless++;
		if (w->p99_ns > w->target_ns)
			c->verdict = TCAP_UNMET_THROTTLE;
		return true;
	case TCAP_LOOSENED:
		if (w->p99_ns > w->target_ns && w->p99_ns * 100 > c->ref_p99 * TCAP_HURT_PCT) {
			c->cap = c->prev_cap; /* T did hurt L there: back */
			c->hold = TCAP_HOLD;
			return true;
		}
		c->floor = c->cap; /* as good as the tighter cap */
		return false;
	case TCAP_STEADY:
		break;
	}
	return false;
}

/* Above the target with T busy: cut if cutting may still help, else probe looser. */
static void missed(struct tcap *c, uint64_t p99)
{
	if (c->off) {
		if (++c->quiet < TCAP_REPROBE)
			return;
		c->off = false; /* look again: from the ceiling, every cut judged */
		c->cap = c->max;
		c->floor = c->min;
	}
	if (c->cap > c->min && c->cap > c->floor) {
		cut(c, p99);
		return;
	}
	c->verdict = TCAP_UNMET_THROTTLE;
	if (c->hold) {
		c->hold--;
		return;
	}
	if (c->cap >= c->max) {
		c->off = true; /* even the ceiling is no worse: no cap at all */
		c->quiet = 0;
		return;
	}
	try_cap(c, c->max / 2 < c->cap ? c->max : c->cap * 2, TCAP_LOOSENED, p99);
}

void tcap_adapt(struct tcap *c, const struct tcap_window *w)
{
	enum tcap_step last = c->last;

	c->last = TCAP_STEADY;
	if (w->t_idle) {
		/* The cap held nobody back: L's p99 is its own. */
		if (w->p99_ns > w->target_ns) {
			c->verdict = TCAP_UNMET_ALONE;
			c->off = true;
			c->quiet = 0;
		} else {
			c->verdict = TCAP_MET;
			c->off = false;
			c->floor = c->min;
		}
		return;
	}
	if (judge(c, last, w))
		return;
	if (w->p99_ns > w->target_ns) {
		missed(c, w->p99_ns);
		return;
	}
	c->verdict = TCAP_MET;
	c->off = false;
	c->floor = c->min;
	c->hold = 0;
	if (w->limited && w->p99_ns < w->target_ns / 4 * 3)
		raise_cap(c);
}
