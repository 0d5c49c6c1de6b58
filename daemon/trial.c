// SPDX-License-Identifier: MIT
/*
 * Trial placements: before a policy (at start) or a reload changes
 * anything, its frees and first-fit allocations are tried on the real
 * extent maps and undone, so a tenant that would not fit is refused while
 * every tenant is still as it was.
 */
#include <stdlib.h>

#include "common/units.h"
#include "daemon/daemon.h"

int trial_init(struct trial *t, size_t steps)
{
	*t = (struct trial){ .v = calloc(steps ? steps : 1, sizeof(*t->v)), .cap = steps };
	return t->v ? 0 : -1;
}

bool trial_release(struct trial *t, struct pool *p, uint64_t start, uint64_t len)
{
	if (t->n == t->cap || extent_release(&p->map, start) < 0)
		return false;
	/* The extent was allocated in whole map units: undo reserves all of it. */
	len = round_up_u64(len, p->map.align);
	t->v[t->n++] = (struct trial_step){ .p = p, .start = start, .len = len, .freed = true };
	return true;
}

int trial_alloc(struct trial *t, struct pool *p, uint64_t size, char *why, size_t whylen)
{
	uint64_t start;

	if (t->n == t->cap || extent_alloc(&p->map, size, &start) < 0) {
		explain_no_room(p, size, why, whylen);
		return -1;
	}
	t->v[t->n++] = (struct trial_step){ .p = p, .start = start };
	return 0;
}

void trial_undo(struct trial *t)
{
	while (t->n--) {
		struct trial_step *s = &t->v[t->n];

		if (s->freed)
			extent_reserve(&s->p->map, s->start, s->len);
		else
			extent_release(&s->p->map, s->start);
	}
	free(t->v);
	*t = (struct trial){ 0 };
}
