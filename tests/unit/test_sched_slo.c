/* SPDX-License-Identifier: MIT */
/*
 * Per-tenant objectives in the scheduler (sched_tenant_slo()): a tenant's
 * own latency target judging the T cap, and reservations ordering the T
 * lane, charged by the cost model. Driven with a fake clock and a fake
 * device that serves one request at a time.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sched/sched.h"

#define KiB 1024U
#define US 1000ULL
#define MS 1000000ULL

enum { LAT = 1, LAT2 = 2, RES = 3, THR = 4, NR_IDS = 5 };

/* Daredevil over 2 NQs of depth `depth`: one per group, so T has `depth` slots. */
static struct sched *make(unsigned depth)
{
	struct sched_params p;
	struct nq_desc d[2];
	struct sched *s;

	sched_params_init(&p);
	p.mode = CONF_SCHED_DAREDEVIL;
	for (unsigned i = 0; i < 2; i++) {
		nq_desc_init(&d[i], NQ_DEFAULT, depth);
		nq_desc_add_cpu(&d[i], i);
	}
	s = sched_new(&p, d, 2, 0);
	assert_non_null(s);
	assert_int_equal(sched_tenant_set(s, LAT, CONF_CLASS_LATENCY), 0);
	assert_int_equal(sched_tenant_set(s, LAT2, CONF_CLASS_LATENCY), 0);
	assert_int_equal(sched_tenant_set(s, RES, CONF_CLASS_THROUGHPUT), 0);
	assert_int_equal(sched_tenant_set(s, THR, CONF_CLASS_THROUGHPUT), 0);
	return s;
}

static void reserve(struct sched *s, unsigned id, uint64_t min_iops, uint64_t min_bw)
{
	const struct sched_slo slo = { .min_iops = min_iops, .min_bw = min_bw };

	assert_int_equal(sched_tenant_slo(s, id, &slo), 0);
}

/*
 * A closed loop: RES keeps res_qd requests of res_bytes outstanding, THR
 * keeps 64 4 KiB reads; the device serves what the scheduler lets go one
 * at a time, 100 us each (10,000 IOPS). Counts each tenant's completions
 * over `dur` ns.
 */
struct loop {
	struct sched_req r[128];
	unsigned nr;
	uint64_t done[NR_IDS];
};

static void issue(struct sched *s, struct sched_req *r, unsigned id, enum io_op op, uint32_t bytes,
		  uint64_t now)
{
	*r = (struct sched_req){ .tenant = id, .cpu = 1, .op = op, .bytes = bytes };
	sched_enqueue(s, r, now);
}

static void run(struct sched *s, struct loop *lp, unsigned res_qd, enum io_op res_op,
		uint32_t res_bytes, uint64_t dur)
{
	struct sched_req *fifo[128];
	unsigned head = 0, tail = 0;
	uint64_t now = 1 * MS;
	struct sched_req *r;

	memset(lp, 0, sizeof(*lp));
	for (unsigned i = 0; i < 64; i++)
		issue(s, &lp->r[lp->nr++], THR, IO_OP_READ, 4 * KiB, now);
	for (unsigned i = 0; i < res_qd; i++)
		issue(s, &lp->r[lp->nr++], RES, res_op, res_bytes, now);
	while ((r = sched_next(s, now)))
		fifo[tail++ % 128] = r;
	for (uint64_t end = now + dur; now < end;) {
		now += 100 * US;
		assert_true(head != tail); /* the device is never idle: work-conserving */
		r = fifo[head++ % 128];
		sched_completed(s, r, now);
		lp->done[r->tenant]++;
		issue(s, r, r->tenant, r->op, r->bytes, now);
		while ((r = sched_next(s, now)))
			fifo[tail++ % 128] = r;
	}
}

/*
 * RES keeps 2 requests outstanding against THR's 64: by arrival it gets
 * 2/66 of 10,000 IOPS (~300). Reserving 1,000 IOPS of 4 KiB reads gives
 * it 1,000, and the device stays busy.
 */
static void test_reservation_holds(void **state)
{
	struct sched *s = make(4);
	struct loop lp;

	(void)state;
	run(s, &lp, 2, IO_OP_READ, 4 * KiB, 1000 * MS);
	assert_true(lp.done[RES] < 400);
	assert_true(lp.done[RES] + lp.done[THR] >= 9990);
	sched_free(s);

	s = make(4);
	reserve(s, RES, 1000, 0);
	run(s, &lp, 2, IO_OP_READ, 4 * KiB, 1000 * MS);
	assert_true(lp.done[RES] >= 990 && lp.done[RES] <= 1010);
	assert_true(lp.done[RES] + lp.done[THR] >= 9990);
	{
		struct sched_tenant_stats ts;

		sched_tenant_stats(s, RES, &ts);
		assert_true(ts.reserved == 1000 * cost_of(&(struct cost_model){ COST_DEFAULT_READ_IOPS,
				COST_DEFAULT_READ_BW, COST_DEFAULT_WRITE_IOPS, COST_DEFAULT_WRITE_BW },
				IO_OP_READ, false, 4096));
		assert_true(ts.resv_sent > 600); /* most went because they were due */
	}
	sched_free(s);
}

/* A reservation is a floor, not a cap: a tenant that gets more by arrival keeps it. */
static void test_reservation_is_no_cap(void **state)
{
	struct sched *s = make(4);
	struct loop lp;

	(void)state;
	reserve(s, RES, 100, 0);
	run(s, &lp, 64, IO_OP_READ, 4 * KiB, 1000 * MS); /* half of the queue is RES's */
	assert_true(lp.done[RES] >= 4500);
	assert_true(lp.done[RES] + lp.done[THR] >= 9990);
	sched_free(s);
}

/* Unused, it is everybody's: THR alone gets the whole device with RES reserved and idle. */
static void test_unused_reservation_lent(void **state)
{
	struct sched *s = make(4);
	struct loop lp;

	(void)state;
	reserve(s, RES, 5000, 0); /* half the fake device */
	run(s, &lp, 0, IO_OP_READ, 4 * KiB, 1000 * MS);
	assert_int_equal(lp.done[RES], 0);
	assert_true(lp.done[THR] >= 9990);
	sched_free(s);
}

/*
 * Charged by cost, not by count: min_iops counts 4 KiB reads, so 1,000 of
 * them reserve 1,000 x cost(4 KiB read) of device time; 128 KiB writes
 * are dearer and the same reservation is fewer of them.
 */
static void test_reservation_charged_by_cost(void **state)
{
	struct cost_model m;
	struct sched *s = make(4);
	struct loop lp;
	uint64_t want;

	(void)state;
	cost_model_init(&m);
	/* 10,000 4 KiB reads' worth: as 128 KiB writes, ~360 a second */
	want = 10000 * cost_of(&m, IO_OP_READ, false, 4096) /
	       cost_of(&m, IO_OP_WRITE, false, 128 * KiB);
	assert_true(want >= 300 && want < 400);
	reserve(s, RES, 10000, 0);
	/* RES 1 of 65 outstanding: ~150 a second by arrival, fewer than it reserved */
	run(s, &lp, 1, IO_OP_WRITE, 128 * KiB, 10000 * MS);
	assert_true(lp.done[RES] >= 10 * want * 95 / 100 && lp.done[RES] <= 10 * want * 110 / 100);
	sched_free(s);

	/* min_bw: 64 MiB/s of 128 KiB reads is 512 of them a second */
	s = make(4);
	reserve(s, RES, 0, 64 << 20);
	run(s, &lp, 1, IO_OP_READ, 128 * KiB, 10000 * MS);
	assert_true(lp.done[RES] >= 5120 * 95 / 100 && lp.done[RES] <= 5120 * 110 / 100);
	sched_free(s);
}

/*
 * A tenant served far beyond its reservation (alone, 2 s at the whole
 * device) must not have banked a lead: when THR's 64 arrive, RES gets its
 * 1000 IOPS again from the next interval on, not minutes later.
 */
static void test_floor_after_running_alone(void **state)
{
	static struct sched_req rq[65];
	struct sched_req *fifo[128], *r;
	struct sched *s = make(4);
	unsigned head = 0, tail = 0, n = 0, res_done = 0;
	uint64_t now = 1 * MS;

	(void)state;
	reserve(s, RES, 1000, 0);
	issue(s, &rq[n++], RES, IO_OP_READ, 4 * KiB, now); /* QD1: ~150 IOPS by arrival among 65 */
	while ((r = sched_next(s, now)))
		fifo[tail++ % 128] = r;
	for (; now < 3100 * MS;) {
		if (now >= 2000 * MS && n == 1) { /* THR joins */
			for (unsigned i = 0; i < 64; i++)
				issue(s, &rq[n++], THR, IO_OP_READ, 4 * KiB, now);
			while ((r = sched_next(s, now)))
				fifo[tail++ % 128] = r;
		}
		now += 100 * US;
		r = fifo[head++ % 128];
		sched_completed(s, r, now);
		res_done += r->tenant == RES && now > 2100 * MS;
		issue(s, r, r->tenant, r->op, r->bytes, now);
		while ((r = sched_next(s, now)))
			fifo[tail++ % 128] = r;
	}
	assert_true(res_done >= 950); /* 1 s from 100 ms after THR came */
	sched_free(s);
}

/*
 * A reservation set while the tenant has requests waiting in the T FIFO
 * takes them along, in order: none overtakes an older one of its own.
 */
static void test_new_reservation_keeps_order(void **state)
{
	struct sched *s = make(1);
	struct sched_req busy, r[4], *got;
	unsigned n = 0;

	(void)state;
	issue(s, &busy, THR, IO_OP_READ, 4 * KiB, 0);
	assert_ptr_equal(sched_next(s, 0), &busy); /* T's one slot taken */
	for (unsigned i = 0; i < 3; i++)
		issue(s, &r[i], RES, IO_OP_READ, 4 * KiB, 1);
	reserve(s, RES, 1000, 0);
	issue(s, &r[3], RES, IO_OP_READ, 4 * KiB, 2);
	assert_int_equal(sched_waiting(s), 4);
	sched_completed(s, &busy, 10 * MS);
	while ((got = sched_next(s, 10 * MS))) {
		assert_ptr_equal(got, &r[n]);
		n++;
		sched_completed(s, got, 10 * MS);
	}
	assert_int_equal(n, 4);
	sched_free(s);
}

/*
 * Small requests too wait here while a reservation is active: T's device
 * time in flight is bounded (SCHED_RESV_INFLIGHT_NS), not its bytes, so
 * 4 KiB reads from THR leave the queue to the scheduler, and RES's due
 * request goes at the next free slot, ahead of all of THR's.
 */
static void test_small_requests_wait_here(void **state)
{
	static struct sched_req thr[1000];
	struct sched *s = make(1023);
	struct sched_req res, *got;
	struct cost_model m;
	unsigned sent = 0;

	(void)state;
	cost_model_init(&m);
	reserve(s, RES, 1000, 0);
	issue(s, &res, RES, IO_OP_READ, 4 * KiB, 0); /* RES active */
	assert_ptr_equal(sched_next(s, 0), &res);
	for (unsigned i = 0; i < 1000; i++)
		issue(s, &thr[i], THR, IO_OP_READ, 4 * KiB, 1);
	while ((got = sched_next(s, 1)))
		sent++;
	/* RES's own read is in flight too */
	assert_int_equal(sent + 1, SCHED_RESV_INFLIGHT_NS / cost_of(&m, IO_OP_READ, false, 4096));
	sched_completed(s, &res, 2 * MS);
	issue(s, &res, RES, IO_OP_READ, 4 * KiB, 2 * MS); /* due: 1 ms after the last */
	sched_completed(s, &thr[0], 2 * MS);
	assert_ptr_equal(sched_next(s, 2 * MS), &res);
	assert_ptr_equal(sched_next(s, 2 * MS), &thr[sent]); /* the slot res's completion freed */
	assert_null(sched_next(s, 2 * MS));
	sched_free(s);
}

/* On a drive the model calls slow (2 ms per read), T still keeps SCHED_RESV_MIN_INFLIGHT going. */
static void test_slow_drive_keeps_depth(void **state)
{
	struct sched_req thr[20], res, *got;
	struct sched_params p;
	struct nq_desc d[2];
	struct sched *s;
	unsigned sent = 0;

	(void)state;
	sched_params_init(&p);
	p.mode = CONF_SCHED_DAREDEVIL;
	p.cost.read_iops = 500;
	for (unsigned i = 0; i < 2; i++) {
		nq_desc_init(&d[i], NQ_DEFAULT, 64);
		nq_desc_add_cpu(&d[i], i);
	}
	s = sched_new(&p, d, 2, 0);
	assert_non_null(s);
	assert_int_equal(sched_tenant_set(s, RES, CONF_CLASS_THROUGHPUT), 0);
	assert_int_equal(sched_tenant_set(s, THR, CONF_CLASS_THROUGHPUT), 0);
	reserve(s, RES, 100, 0);
	issue(s, &res, RES, IO_OP_READ, 4 * KiB, 0);
	assert_ptr_equal(sched_next(s, 0), &res);
	for (unsigned i = 0; i < 20; i++)
		issue(s, &thr[i], THR, IO_OP_READ, 4 * KiB, 1);
	while ((got = sched_next(s, 1)))
		sent++;
	assert_int_equal(sent + 1, SCHED_RESV_MIN_INFLIGHT);
	sched_free(s);
}

/* Dropping a reservation (or the tenant) gives its held requests back: none lost. */
static void test_reservation_release(void **state)
{
	struct sched *s = make(1);
	struct sched_req busy, r[8], *got;
	const struct sched_slo none = { 0 };
	unsigned n = 0;

	(void)state;
	reserve(s, RES, 1000, 0);
	issue(s, &busy, THR, IO_OP_READ, 4 * KiB, 0);
	assert_ptr_equal(sched_next(s, 0), &busy); /* T's one slot taken */
	for (unsigned i = 0; i < 8; i++)
		issue(s, &r[i], RES, IO_OP_READ, 4 * KiB, 0);
	assert_int_equal(sched_waiting(s), 8);
	assert_null(sched_next(s, 0));
	assert_int_equal(sched_tenant_slo(s, RES, &none), 0);
	assert_int_equal(sched_waiting(s), 8);
	sched_completed(s, &busy, 1 * MS);
	while ((got = sched_next(s, 1 * MS))) {
		assert_ptr_equal(got, &r[n]); /* in order */
		n++;
		sched_completed(s, got, 1 * MS);
	}
	assert_int_equal(n, 8);
	assert_int_equal(sched_tenant_slo(s, 99, &none), -EINVAL);
	sched_free(s);
}

/* L requests of `id` completing `lat` after submission, n of them, from *now. */
static void feed(struct sched *s, unsigned id, unsigned n, uint64_t lat, uint64_t *now)
{
	for (unsigned i = 0; i < n; i++) {
		struct sched_req r = { .tenant = id, .cpu = 0, .op = IO_OP_READ, .bytes = 4096 };
		int q = sched_pick(s, &r, *now);

		assert_true(q >= 0);
		sched_submitted(s, &r, (unsigned)q, *now);
		*now += 10 * US;
		sched_completed(s, &r, *now - 10 * US + lat);
	}
}

/*
 * LAT's own target is 5 ms, LAT2 has the scheduler's 1 ms. LAT at 3 ms
 * and LAT2 at 0.5 ms both meet theirs: no cut, though all of L's p99 is
 * 3 ms. LAT2 at 2 ms misses its 1 ms: the cap is cut, judged by LAT2.
 */
static void test_own_target_judges_cap(void **state)
{
	struct sched *s = make(64);
	const struct sched_slo loose = { .latency_target_us = 5000 };
	struct sched_req busy = { .tenant = THR, .cpu = 1, .op = IO_OP_WRITE, .bytes = 128 * KiB };
	struct sched_tenant_stats ts;
	struct sched_stats st;
	uint64_t now = 1 * MS;

	(void)state;
	assert_int_equal(sched_tenant_slo(s, LAT, &loose), 0);
	assert_true(sched_pick(s, &busy, now) >= 0);
	sched_submitted(s, &busy, (unsigned)sched_pick(s, &busy, now), now); /* T busy */
	feed(s, LAT, 40, 3 * MS, &now);
	feed(s, LAT2, 40, 500 * US, &now);
	sched_tick(s, 100 * MS);
	sched_get_stats(s, 100 * MS, &st);
	assert_int_equal(st.cap_cuts, 0);
	assert_int_equal(st.target_verdict, TCAP_MET);
	assert_true(st.latency_target_ns == 5 * MS); /* judged by LAT: 3/5 > 0.5/1 */
	assert_true(st.latency_p99_ns >= 3 * MS && st.latency_p99_ns < 4 * MS);
	sched_tenant_stats(s, LAT, &ts);
	assert_true(ts.target_ns == 5 * MS && ts.p99_ns >= 3 * MS);
	sched_tenant_stats(s, LAT2, &ts);
	assert_true(ts.target_ns == 1 * MS && ts.p99_ns < 1 * MS);

	now = 101 * MS;
	feed(s, LAT, 40, 3 * MS, &now);
	feed(s, LAT2, 40, 2 * MS, &now);
	sched_tick(s, 200 * MS);
	sched_get_stats(s, 200 * MS, &st);
	assert_int_equal(st.cap_cuts, 1);
	assert_true(st.latency_target_ns == 1 * MS);
	assert_true(st.latency_p99_ns >= 2 * MS);

	sched_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reservation_holds),
		cmocka_unit_test(test_reservation_is_no_cap),
		cmocka_unit_test(test_unused_reservation_lent),
		cmocka_unit_test(test_reservation_charged_by_cost),
		cmocka_unit_test(test_floor_after_running_alone),
		cmocka_unit_test(test_new_reservation_keeps_order),
		cmocka_unit_test(test_small_requests_wait_here),
		cmocka_unit_test(test_slow_drive_keeps_depth),
		cmocka_unit_test(test_reservation_release),
		cmocka_unit_test(test_own_target_judges_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
