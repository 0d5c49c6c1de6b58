/* SPDX-License-Identifier: MIT */
/*
 * Trial placements (daemon/trial.c): whatever a trial frees and allocates
 * on a pool's extent map, undoing it leaves the map exactly as it was,
 * tenants whose size is not a whole MiB included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/daemon.h"

#define MiB (1ULL << 20)

/* tenant.c's, without a backend. */
void explain_no_room(struct pool *p, uint64_t size, char *err, size_t errlen)
{
	(void)p;
	snprintf(err, errlen, "no room for %llu", (unsigned long long)size);
}

static void test_undo_restores_unaligned_tenants(void **state)
{
	struct pool p = { 0 };
	struct trial t;
	char why[64];
	uint64_t start;

	(void)state;
	assert_int_equal(extent_map_init(&p.map, MiB, 8 * MiB, MiB), 0);
	/* a 4 KiB tenant at 1 MiB and a 1 MiB + 4 KiB one at 2 MiB: 3 MiB taken */
	assert_int_equal(extent_alloc(&p.map, 4096, &start), 0);
	assert_int_equal(start, MiB);
	assert_int_equal(extent_alloc(&p.map, MiB + 4096, &start), 0);
	assert_int_equal(start, 2 * MiB);
	assert_int_equal(trial_init(&t, 4), 0);
	assert_true(trial_release(&t, &p, MiB, 4096));
	assert_true(trial_release(&t, &p, 2 * MiB, MiB + 4096));
	assert_int_equal(trial_alloc(&t, &p, 5 * MiB, why, sizeof(why)), 0);
	assert_int_equal(trial_alloc(&t, &p, 3 * MiB, why, sizeof(why)), -1);
	assert_string_equal(why, "no room for 3145728");
	trial_undo(&t);
	/* both tenants hold their whole extents again: 4 MiB free, from 4 MiB */
	assert_int_equal(extent_free_bytes(&p.map), 4 * MiB);
	assert_int_equal(extent_alloc(&p.map, MiB, &start), 0);
	assert_int_equal(start, 4 * MiB);
	extent_map_free(&p.map);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_undo_restores_unaligned_tenants),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
