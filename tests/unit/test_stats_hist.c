/* SPDX-License-Identifier: MIT */
/* Live-statistics histograms (stats/hist.h): bucket edges, percentiles, merging per-worker ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stats/hist.h"

#define US 1000ULL
#define MS (1000 * US)

/* Big structs: static, zeroed by each test. */
static struct stats_hist h1, h2, all;
static struct stats_hist_snap s1, s2, sall, tmp;

static void reset(void)
{
	memset(&h1, 0, sizeof(h1));
	memset(&h2, 0, sizeof(h2));
	memset(&all, 0, sizeof(all));
	memset(&s1, 0, sizeof(s1));
	memset(&s2, 0, sizeof(s2));
	memset(&sall, 0, sizeof(sall));
	memset(&tmp, 0, sizeof(tmp));
}

/* Each bucket's top is its last value: top + 1 starts the next one; widths double per row. */
static void test_bucket_edges(void **state)
{
	(void)state;
	for (uint64_t v = 0; v < 16; v++) {
		assert_int_equal(stats_hist_bucket(v), v);
		assert_int_equal(stats_hist_bucket_top((unsigned)v), v);
	}
	for (unsigned b = 0; b + 1 < STATS_HIST_BUCKETS; b++) {
		uint64_t top = stats_hist_bucket_top(b);

		assert_int_equal(stats_hist_bucket(top), b);
		assert_int_equal(stats_hist_bucket(top + 1), b + 1);
		assert_true(stats_hist_bucket_top(b + 1) > top);
	}
	/* 16 buckets per power of two: 1024..1087 is one bucket (width 64). */
	assert_int_equal(stats_hist_bucket(1024), stats_hist_bucket(1087));
	assert_int_equal(stats_hist_bucket(1088), stats_hist_bucket(1024) + 1);
	/* The last bucket takes everything from its low edge up, without overflow. */
	assert_int_equal(stats_hist_bucket(STATS_HIST_MAX_NS), STATS_HIST_BUCKETS - 1);
	assert_int_equal(stats_hist_bucket(UINT64_MAX), STATS_HIST_BUCKETS - 1);
	assert_true(stats_hist_bucket_top(STATS_HIST_BUCKETS - 1) == STATS_HIST_MAX_NS);
	assert_true(stats_hist_bucket_top(100000) == STATS_HIST_MAX_NS); /* out of range: clamped */
}

static void test_empty(void **state)
{
	(void)state;
	reset();
	stats_hist_snap_add(&s1, &h1);
	assert_true(stats_hist_quantile(&s1, 0.5) == 0);
	assert_true(stats_hist_quantile(&s1, 1.0) == 0);
	assert_true(stats_hist_total(&s1) == 0);
	assert_true(stats_hist_count_le(&s1, UINT64_MAX) == 0);
}

/* 1..10000 µs, each once: the exact nearest-rank p is p * 10000 µs. */
static void test_percentiles_uniform(void **state)
{
	static const double qs[] = { 0.5, 0.9, 0.99, 0.999 };

	(void)state;
	reset();
	for (uint64_t i = 1; i <= 10000; i++)
		stats_hist_record(&h1, i * US);
	stats_hist_snap_add(&s1, &h1);
	assert_true(s1.count == 10000);
	assert_true(s1.sum_ns == 10000ULL * 10001 / 2 * US);
	assert_true(s1.max_ns == 10 * MS);
	for (unsigned i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t exact = (uint64_t)(qs[i] * 10000 + 0.5) * US;
		uint64_t got = stats_hist_quantile(&s1, qs[i]);

		assert_true(got >= exact);
		assert_true(got <= exact + exact / 16);
	}
	assert_true(stats_hist_quantile(&s1, 1.0) == 10 * MS); /* max, not the bucket's top */
	assert_true(stats_hist_quantile(&s1, 0.0001) >= 1 * US);
	assert_true(stats_hist_quantile(&s1, 0.0001) <= 1 * US + US / 16);
}

/* A long tail: 99% at 100 µs, 1% at 50 ms. p99 sits at the edge, p99.9 in the tail. */
static void test_percentiles_tail(void **state)
{
	uint64_t p50, p90, p99, p999;

	(void)state;
	reset();
	for (int i = 0; i < 9900; i++)
		stats_hist_record(&h1, 100 * US);
	for (int i = 0; i < 100; i++)
		stats_hist_record(&h1, 50 * MS);
	stats_hist_snap_add(&s1, &h1);
	p50 = stats_hist_quantile(&s1, 0.5);
	p90 = stats_hist_quantile(&s1, 0.9);
	p99 = stats_hist_quantile(&s1, 0.99);
	p999 = stats_hist_quantile(&s1, 0.999);
	assert_true(p50 >= 100 * US && p50 <= 100 * US + 100 * US / 16);
	assert_true(p90 == p50);
	assert_true(p99 == p50); /* rank 9900 is the last fast one */
	assert_true(p999 == 50 * MS); /* capped at the max, which lies inside its bucket */
	assert_true(p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= s1.max_ns);
}

/* Per-worker histograms merged equal one histogram that saw every sample. */
static void test_merge(void **state)
{
	(void)state;
	reset();
	srand(7);
	for (int i = 0; i < 20000; i++) {
		uint64_t v = (uint64_t)rand() % (20 * MS);

		stats_hist_record(i % 3 ? &h1 : &h2, v);
		stats_hist_record(&all, v);
	}
	stats_hist_snap_add(&s1, &h1);
	stats_hist_snap_add(&s2, &h2);
	stats_hist_snap_add(&sall, &all);
	stats_hist_snap_merge(&s1, &s2);
	assert_memory_equal(&s1, &sall, sizeof(s1));
	/* snap_add accumulates too: both workers straight into one snapshot. */
	stats_hist_snap_add(&tmp, &h1);
	stats_hist_snap_add(&tmp, &h2);
	assert_memory_equal(&tmp, &sall, sizeof(tmp));
	assert_true(stats_hist_quantile(&s1, 0.99) == stats_hist_quantile(&sall, 0.99));
}

/* An interval's histogram: the later snapshot minus the earlier one. */
static void test_delta(void **state)
{
	(void)state;
	reset();
	for (int i = 0; i < 100; i++)
		stats_hist_record(&h1, 10 * MS);
	stats_hist_snap_add(&s1, &h1);
	for (int i = 0; i < 100; i++)
		stats_hist_record(&h1, 10 * US);
	stats_hist_snap_add(&s2, &h1);
	stats_hist_snap_delta(&tmp, &s2, &s1);
	assert_true(tmp.count == 100);
	assert_true(stats_hist_total(&tmp) == 100);
	assert_true(stats_hist_quantile(&tmp, 0.999) < 11 * US); /* the old slow ones are gone */
	/* A reset in between (smaller counters) reads as an empty interval, not a wrap. */
	stats_hist_snap_delta(&tmp, &s1, &s2);
	assert_true(tmp.count == 0 && stats_hist_total(&tmp) == 0);
}

/* Prometheus buckets: cumulative counts at chosen bounds. */
static void test_count_le(void **state)
{
	(void)state;
	reset();
	stats_hist_record(&h1, 50 * US);
	stats_hist_record(&h1, 200 * US);
	stats_hist_record(&h1, 3 * MS);
	stats_hist_record(&h1, 100 * 1000 * MS); /* 100 s: past the last bucket */
	stats_hist_snap_add(&s1, &h1);
	assert_true(stats_hist_count_le(&s1, 10 * US) == 0);
	assert_true(stats_hist_count_le(&s1, 100 * US) == 1);
	assert_true(stats_hist_count_le(&s1, 1 * MS) == 2);
	assert_true(stats_hist_count_le(&s1, 10 * MS) == 3);
	assert_true(stats_hist_count_le(&s1, UINT64_MAX) == 4);
	assert_true(s1.max_ns == 100 * 1000 * MS);
	assert_true(stats_hist_quantile(&s1, 1.0) == STATS_HIST_MAX_NS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_edges),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_percentiles_uniform),
		cmocka_unit_test(test_percentiles_tail),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_count_le),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
