/* SPDX-License-Identifier: MIT */
/* The T cap's pieces: the latency histogram (sched/lathist.h) and the cap (sched/tcap.h). */
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

/* One window with T busy: L's p99 in us against a 1 ms target; the cap held T back or not. */
static void win(struct tcap *c, uint64_t p99_us, bool limited)
{
	const struct tcap_window w = { .p99_ns = p99_us * US, .target_ns = 1000 * US,
				       .limited = limited };

	tcap_adapt(c, &w);
}

static void win_t_idle(struct tcap *c, uint64_t p99_us)
{
	const struct tcap_window w = { .p99_ns = p99_us * US, .target_ns = 1000 * US,
				       .t_idle = true };

	tcap_adapt(c, &w);
}

/* Cuts that lower L's p99 go on; met, the cap grows by steps while it holds T back. */
static void test_cap_aimd(void **state)
{
	struct tcap c;

	(void)state;
	tcap_init(&c, 8 * MiB, 1 * MiB, 10 * MiB, 512 * KiB);
	/* Above target: halve; each cut that helped (p99 down 20 %) lets the next one go. */
	win(&c, 5000, true);
	assert_true(c.cap == 4 * MiB);
	assert_int_equal(c.verdict, TCAP_UNMET_CUTTING); /* missed: never "met" meanwhile */
	win(&c, 4000, false);
	assert_true(c.cap == 2 * MiB);
	win(&c, 3000, true);
	assert_true(c.cap == 1 * MiB);
	/* Helped, but at the bottom: no further, and no looser probe for TCAP_HOLD windows. */
	for (int i = 0; i < TCAP_HOLD; i++) {
		win(&c, 2000, true);
		assert_true(c.cap == 1 * MiB);
	}
	assert_int_equal(c.cuts, 3);
	assert_int_equal(c.verdict, TCAP_UNMET_THROTTLE);
	/* Well below target and the cap held T back: add a step. */
	win(&c, 300, true);
	assert_true(c.cap == 1 * MiB + 512 * KiB);
	assert_int_equal(c.verdict, TCAP_MET);
	/* Below target, but the cap refused nobody: an unused cap does not grow. */
	win(&c, 300, false);
	assert_true(c.cap == 1 * MiB + 512 * KiB);
	/* Between 3/4 of the target and the target: hold. */
	win(&c, 800, true);
	win(&c, 1000, true);
	assert_true(c.cap == 1 * MiB + 512 * KiB);
	/* Growth stops at the ceiling. */
	for (int i = 0; i < 100; i++)
		win(&c, 10, true);
	assert_true(c.cap == 10 * MiB);
	assert_false(c.off);
}

/* A cap that is no power-of-two multiple of the minimum still cuts, down to the minimum. */
static void test_cap_cuts_to_the_minimum(void **state)
{
	struct tcap c;

	(void)state;
	tcap_init(&c, 1 * MiB + 512 * KiB, 1 * MiB, 256 * MiB, 512 * KiB);
	win(&c, 3000, true);
	assert_true(c.cap == 1 * MiB); /* cut, not a looser probe */
	assert_int_equal(c.verdict, TCAP_UNMET_CUTTING);
	tcap_init(&c, 4 * MiB + 512 * KiB, 1 * MiB, 256 * MiB, 512 * KiB);
	win(&c, 4000, true);
	win(&c, 3000, true);
	assert_true(c.cap == 1 * MiB + 128 * KiB);
	win(&c, 2000, true);
	assert_true(c.cap == 1 * MiB);
	assert_int_equal(c.cuts, 3);
}

/*
 * A cut that does not lower L's p99 is taken back and not tried again at
 * that level; after TCAP_HOLD windows looser caps are probed, kept while
 * they do not hurt, up to the ceiling, where the cap goes off.
 */
static void test_cap_fruitless_cut_backs_off(void **state)
{
	struct tcap c;
	int i;

	(void)state;
	tcap_init(&c, 4 * MiB, 1 * MiB, 16 * MiB, 512 * KiB);
	win(&c, 3000, true);
	assert_true(c.cap == 2 * MiB);
	win(&c, 2900, true); /* only 3 % better */
	assert_true(c.cap == 4 * MiB);
	assert_int_equal(c.fruitless, 1);
	assert_int_equal(c.verdict, TCAP_UNMET_THROTTLE);
	for (i = 0; i < TCAP_HOLD; i++) {
		win(&c, 3000, true); /* no cut below the floor, no probe yet */
		assert_true(c.cap == 4 * MiB);
	}
	win(&c, 3000, true);
	assert_true(c.cap == 8 * MiB); /* probing looser */
	win(&c, 3100, true); /* no worse: kept, and the next probe at once */
	assert_true(c.cap == 16 * MiB);
	assert_false(c.off);
	win(&c, 3000, true); /* the ceiling no worse either: nothing tighter helps */
	assert_true(c.off); /* no cap at all */
	assert_true(tcap_allows(&c, 1ULL << 40, 1 * MiB));
	assert_int_equal(c.cuts, 1);
	/* Met again: the cap is back on, where it was. */
	win(&c, 500, false);
	assert_false(c.off);
	assert_int_equal(c.verdict, TCAP_MET);
	assert_true(c.cap == 16 * MiB);
	assert_false(tcap_allows(&c, 16 * MiB, 1 * MiB));
}

/* A looser cap that makes L's p99 worse is taken back. */
static void test_cap_looser_that_hurts_goes_back(void **state)
{
	struct tcap c;
	int i;

	(void)state;
	tcap_init(&c, 2 * MiB, 1 * MiB, 16 * MiB, 512 * KiB);
	win(&c, 2000, true);
	win(&c, 2000, true); /* fruitless: back to 2 MiB, floor 2 MiB */
	assert_true(c.cap == 2 * MiB);
	for (i = 0; i < TCAP_HOLD; i++)
		win(&c, 2000, true);
	win(&c, 2000, true);
	assert_true(c.cap == 4 * MiB);
	win(&c, 2600, true); /* 30 % worse: T does hurt L at 4 MiB */
	assert_true(c.cap == 2 * MiB);
	for (i = 0; i < TCAP_HOLD; i++) {
		win(&c, 2000, true);
		assert_true(c.cap == 2 * MiB);
	}
	assert_false(c.off);
	assert_int_equal(c.verdict, TCAP_UNMET_THROTTLE);
}

/* L alone misses the target: no cap can help; off until a window meets it. */
static void test_cap_off_when_l_alone_misses(void **state)
{
	struct tcap c;
	int i;

	(void)state;
	tcap_init(&c, 4 * MiB, 1 * MiB, 256 * MiB, 512 * KiB);
	win_t_idle(&c, 5000);
	assert_true(c.off);
	assert_int_equal(c.verdict, TCAP_UNMET_ALONE);
	assert_true(c.cap == 4 * MiB); /* no cut */
	assert_true(tcap_allows(&c, 300 * MiB, 1 * MiB));
	/* T busy again, L still slow: stays off, a cut is tried every TCAP_REPROBE windows. */
	for (i = 0; i < TCAP_REPROBE - 1; i++)
		win(&c, 5000, true);
	assert_true(c.off);
	assert_int_equal(c.cuts, 0);
	win(&c, 5000, true);
	assert_false(c.off);
	assert_int_equal(c.cuts, 1);
	assert_true(c.cap == 128 * MiB); /* from the ceiling */
	win(&c, 2000, true); /* it helped this time (the drive got busier with T) */
	assert_true(c.cap == 64 * MiB);
	/* L alone meets it: the cap is on; no verdict against it. */
	win_t_idle(&c, 500);
	assert_false(c.off);
	assert_int_equal(c.verdict, TCAP_MET);
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
		cmocka_unit_test(test_cap_cuts_to_the_minimum),
		cmocka_unit_test(test_cap_fruitless_cut_backs_off),
		cmocka_unit_test(test_cap_looser_that_hurts_goes_back),
		cmocka_unit_test(test_cap_off_when_l_alone_misses),
		cmocka_unit_test(test_cap_allows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
