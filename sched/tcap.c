/* SPDX-License-Identifier: MIT */
/* AIMD cap on T bytes in flight (see tcap.h). */
#include "sched/tcap.h"

void tcap_init(struct tcap *c, uint64_t initial, uint64_t min, uint64_t max, uint64_t step)
{
	c->min = min ? min : 1;
	c->max = max < c->min ? c->min : max;
	c->step = step;
	c->cap = initial < c->min ? c->min : initial > c->max ? c->max : initial;
}

void tcap_adapt(struct tcap *c, uint64_t p99_ns, uint64_t target_ns, bool limited)
{
	if (p99_ns > target_ns) {
		c->cap /= 2;
		if (c->cap < c->min)
			c->cap = c->min;
	} else if (limited && p99_ns < target_ns / 4 * 3) {
		c->cap = c->max - c->cap < c->step ? c->max : c->cap + c->step;
	}
}
