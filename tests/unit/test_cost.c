/* SPDX-License-Identifier: MIT */
/* The device cost model (common/cost.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/cost.h"

static void test_defaults_mean_what_they_say(void **state)
{
	struct cost_model m;

	(void)state;
	cost_model_init(&m);
	/* a 4 KiB read is 1/read_iops of a second, a 4 KiB write 1/write_iops */
	assert_int_equal(cost_of(&m, IO_OP_READ, false, 4096), 1000000000 / COST_DEFAULT_READ_IOPS);
	assert_int_equal(cost_of(&m, IO_OP_WRITE, false, 4096),
			 1000000000 / COST_DEFAULT_WRITE_IOPS);
	/* large transfers approach the bandwidth: 1 GiB of reads ~ 1 GiB / read_bw */
	assert_true(cost_of(&m, IO_OP_READ, false, 1ULL << 30) >= (1ULL << 30) * 1000000000ULL /
									 COST_DEFAULT_READ_BW);
	/* size and op matter: a 128 KiB write is many 4 KiB reads */
	assert_true(cost_of(&m, IO_OP_WRITE, false, 131072) > 20 * cost_of(&m, IO_OP_READ, false, 4096));
	assert_true(cost_of(&m, IO_OP_WRITE, true, 4096) == 2 * cost_of(&m, IO_OP_WRITE, false, 4096));
	assert_true(cost_of(&m, IO_OP_FLUSH, false, 0) ==
		    COST_FLUSH_WRITES * cost_of(&m, IO_OP_WRITE, false, 4096));
	assert_true(cost_of(&m, IO_OP_DISCARD, false, 1ULL << 30) ==
		    cost_of(&m, IO_OP_WRITE, false, 4096));
}

/* What counters say was used adds up to the requests' own costs. */
static void test_many_is_the_sum(void **state)
{
	struct cost_model m;
	const enum io_op ops[] = { IO_OP_READ, IO_OP_WRITE, IO_OP_FLUSH, IO_OP_DISCARD };

	(void)state;
	cost_model_init(&m);
	m.read_bw = 1000000007; /* rounding shows */
	for (unsigned i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		uint64_t one = cost_of(&m, ops[i], false, 65536);
		uint64_t many = cost_of_many(&m, ops[i], 1000,
					     io_op_moves_data(ops[i]) ? 1000 * 65536ULL : 0);

		assert_true(many >= 1000 * one - 1000 && many <= 1000 * one + 1000);
	}
	assert_int_equal(cost_of_many(&m, IO_OP_READ, 0, 0), 0);
}

static void test_reserved_share(void **state)
{
	struct cost_model m;

	(void)state;
	cost_model_init(&m);
	assert_int_equal(cost_reserved(&m, 0, 0), 0);
	/* all of read_iops is all of the device */
	assert_int_equal(cost_reserved(&m, COST_DEFAULT_READ_IOPS, 0), COST_NS_PER_SEC);
	/* min_bw in 128 KiB reads: 10 of them a second */
	assert_int_equal(cost_reserved(&m, 0, 10 * 131072), 10 * cost_of(&m, IO_OP_READ, false, 131072));
	/* both add up; no overflow at the largest values the policy takes */
	assert_int_equal(cost_reserved(&m, 1000, 10 * 131072),
			 cost_reserved(&m, 1000, 0) + cost_reserved(&m, 0, 10 * 131072));
	assert_true(cost_reserved(&m, 100000000, 1ULL << 40) > COST_NS_PER_SEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_mean_what_they_say),
		cmocka_unit_test(test_many_is_the_sum),
		cmocka_unit_test(test_reserved_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
