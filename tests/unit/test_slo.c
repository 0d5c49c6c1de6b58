/* SPDX-License-Identifier: MIT */
/* A tenant's objectives judged per interval (stats/slo.h), from its counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stats/slo.h"

#define US 1000ULL
#define MS 1000000ULL
#define S 1000000000ULL

struct fixture {
	struct stats_io io; /* what a worker writes */
	struct stats_io_snap snap;
	struct slo_track t;
	struct cost_model m;
};

/* n requests of op, bytes each, each `lat` from arrival to answer. */
static void io(struct fixture *f, enum io_op op, unsigned n, uint64_t bytes, uint64_t lat)
{
	for (unsigned i = 0; i < n; i++) {
		stats_hist_record(&f->io.lat, lat);
		atomic_fetch_add(&f->io.ops[op], 1);
		atomic_fetch_add(&f->io.bytes[op], bytes);
	}
}

static void close_at(struct fixture *f, uint64_t now, uint64_t target)
{
	memset(&f->snap, 0, sizeof(f->snap));
	stats_io_snap_add(&f->snap, &f->io);
	slo_update(&f->t, &f->snap, now, target, &f->m);
}

static void test_judged_per_second(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	(void)state;
	assert_non_null(f);
	cost_model_init(&f->m);
	assert_true(slo_due(&f->t, 5 * S)); /* not started: due at once */
	io(f, IO_OP_READ, 50, 4096, 20 * MS); /* before the first interval: never judged */
	close_at(f, 5 * S, 1 * MS);
	assert_int_equal(f->t.intervals, 0);
	assert_int_equal(f->t.p99_ns, 0);
	assert_false(slo_due(&f->t, 5 * S + 999 * MS));
	assert_true(slo_due(&f->t, 6 * S));

	/* 100 fast and 2 slow: the p99 is slow, above 1 ms: one violation */
	io(f, IO_OP_READ, 100, 4096, 100 * US);
	io(f, IO_OP_READ, 2, 4096, 5 * MS);
	close_at(f, 6 * S, 1 * MS);
	assert_int_equal(f->t.intervals, 1);
	assert_int_equal(f->t.violations, 1);
	assert_true(f->t.p99_ns >= 5 * MS && f->t.p99_ns < 6 * MS);

	/* 1000 fast 4 KiB reads in 1 s: met; what it used, by count, bytes and cost */
	io(f, IO_OP_READ, 1000, 4096, 100 * US);
	close_at(f, 7 * S, 1 * MS);
	assert_int_equal(f->t.intervals, 2);
	assert_int_equal(f->t.violations, 1);
	assert_true(f->t.p99_ns >= 100 * US && f->t.p99_ns < 110 * US);
	assert_int_equal(f->t.iops, 1000);
	assert_int_equal(f->t.bytes_per_s, 4096000);
	/* cost_of() rounds each request down to a ns; the sum is exact */
	assert_true(f->t.used >= 1000 * cost_of(&f->m, IO_OP_READ, false, 4096) &&
		    f->t.used <= 1000 * cost_of(&f->m, IO_OP_READ, false, 4096) + 1000);

	/* a second without I/O is not judged; nor is one without a target */
	close_at(f, 8 * S, 1 * MS);
	assert_int_equal(f->t.intervals, 2);
	assert_int_equal(f->t.p99_ns, 0);
	assert_int_equal(f->t.iops, 0);
	io(f, IO_OP_WRITE, 10, 131072, 50 * MS);
	close_at(f, 9 * S, 0);
	assert_int_equal(f->t.intervals, 2);
	assert_int_equal(f->t.violations, 1);
	assert_true(f->t.p99_ns >= 50 * MS); /* still reported */
	/* an interval of 2 s: rates per second */
	io(f, IO_OP_READ, 1000, 4096, 100 * US);
	close_at(f, 11 * S, 0);
	assert_int_equal(f->t.iops, 500);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judged_per_second),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
