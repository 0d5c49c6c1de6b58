/* SPDX-License-Identifier: MIT */
/* The T cap's pieces: the latency histogram (sched/lathist.h) and the AIMD cap (sched/tcap.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sched/lathist.h"
#include "sched/tcap.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define US 1000ULL

static struct lathist h;

static void test_hist_small_values_exact(void **state)
{
	(void)state;
	lathist_reset(&h);
	assert_true(lathist_quantile(&h, 0.99) == 0); /* empty */
	for (uint64_t v = 1; v <= 10; v++)
		lathist_add(&h, v);
	assert_true(h.total == 10);
	assert_true(lathist_quantile(&h, 0.5) == 5);
	assert_true(lathist_quantile(&h, 0.99) == 10);
	assert_true(lathist_quantile(&h, 0.01) == 1);
	lathist_add(&h, 0);
	assert_true(lathist_quantile(&h, 0.01) == 0);
}

/* Every quantile is an upper bound within 1/16 of the exact nearest-rank value. */
static void test_hist_precision(void **state)
{
	static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };

	(void)state;
	lathist_reset(&h);
	for (uint64_t i = 1; i <= 10000; i++)
		lathist_add(&h, i * 37 * US / 10); /* 3.7 us .. 37 ms */
	for (unsigned k = 0; k < sizeof(qs) / sizeof(qs[0]); k++) {
		uint64_t rank = (uint64_t)(qs[k] * 10000 + 0.5);
		uint64_t exact = rank * 37 * US / 10, got = lathist_quantile(&h, qs[k]);

		assert_true(got >= exact);
		assert_true(got - exact <= exact / 16);
	}
	lathist_reset(&h);
	assert_true(h.total == 0);
	assert_true(lathist_quantile(&h, 0.5) == 0);
}

static void test_hist_extremes(void **state)
{
	(void)state;
	lathist_reset(&h);
	lathist_add(&h, UINT64_MAX);
	lathist_add(&h, 1ULL << 63);
	assert_true(lathist_quantile(&h, 1.0) == UINT64_MAX);
	assert_true(lathist_quantile(&h, 0.5) >= 1ULL << 63);
}

/* A tail of 1%: the p99 sees the body, the p99.9 the tail. */
static void test_hist_tail(void **state)
{
	(void)state;
	lathist_reset(&h);
	for (int i = 0; i < 990; i++)
		lathist_add(&h, 100 * US);
	for (int i = 0; i < 10; i++)
		lathist_add(&h, 5000 * US);
	assert_true(lathist_quantile(&h, 0.99) < 107 * US);
	assert_true(lathist_quantile(&h, 0.999) >= 5000 * US);
}

static void test_cap_init_clamps(void **state)
{
	struct tcap c;

	(void)state;
	tcap_init(&c, 4 * MiB, 1 * MiB, 256 * MiB, 512 * KiB);
	assert_true(c.cap == 4 * MiB);
	tcap_init(&c, 64 * KiB, 1 * MiB, 256 * MiB, 512 * KiB);
	assert_true(c.cap == 1 * MiB);
	tcap_init(&c, 1ULL << 40, 1 * MiB, 256 * MiB, 512 * KiB);
	assert_true(c.cap == 256 * MiB);
	tcap_init(&c, 0, 0, 0, 0);
	assert_true(c.min == 1 && c.max == 1 && c.cap == 1);
}

static void test_cap_aimd(void **state)
{
	struct tcap c;
	const uint64_t target = 1000 * US;

	(void)state;
	tcap_init(&c, 8 * MiB, 1 * MiB, 10 * MiB, 512 * KiB);
	/* Above target: halve, down to the floor and no further. */
	tcap_adapt(&c, 1200 * US, target, true);
	assert_true(c.cap == 4 * MiB);
	tcap_adapt(&c, 1001 * US, target, false);
	assert_true(c.cap == 2 * MiB);
	tcap_adapt(&c, 5000 * US, target, true);
	tcap_adapt(&c, 5000 * US, target, true);
	assert_true(c.cap == 1 * MiB);
	/* Well below target and the cap held T back: add a step. */
	tcap_adapt(&c, 300 * US, target, true);
	assert_true(c.cap == 1 * MiB + 512 * KiB);
	/* Below target, but the cap refused nobody: an unused cap does not grow. */
	tcap_adapt(&c, 300 * US, target, false);
	assert_true(c.cap == 1 * MiB + 512 * KiB);
	/* Between 3/4 of the target and the target: hold. */
	tcap_adapt(&c, 800 * US, target, true);
	assert_true(c.cap == 1 * MiB + 512 * KiB);
	tcap_adapt(&c, 1000 * US, target, true);
	assert_true(c.cap == 1 * MiB + 512 * KiB);
	/* Growth stops at the ceiling. */
	for (int i = 0; i < 100; i++)
		tcap_adapt(&c, 10 * US, target, true);
	assert_true(c.cap == 10 * MiB);
}

static void test_cap_allows(void **state)
{
	struct tcap c;

	(void)state;
	tcap_init(&c, 1 * MiB, 1 * MiB, 1 * MiB, 0);
	assert_true(tcap_allows(&c, 0, 128 * KiB));
	assert_true(tcap_allows(&c, 896 * KiB, 128 * KiB)); /* exactly the cap */
	assert_false(tcap_allows(&c, 1 * MiB - 4 * KiB, 128 * KiB));
	/* A request larger than the whole cap still goes, alone. */
	assert_true(tcap_allows(&c, 0, 4 * MiB));
	assert_false(tcap_allows(&c, 4 * KiB, 4 * MiB));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_small_values_exact),
		cmocka_unit_test(test_hist_precision),
		cmocka_unit_test(test_hist_extremes),
		cmocka_unit_test(test_hist_tail),
		cmocka_unit_test(test_cap_init_clamps),
		cmocka_unit_test(test_cap_aimd),
		cmocka_unit_test(test_cap_allows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
