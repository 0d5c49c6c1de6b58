/* SPDX-License-Identifier: MIT */
/* The scheduler (sched/sched.h), driven with a fake clock. */
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
#define MAX_NQS 16

/* Tenant ids used throughout. */
enum { LAT = 1, THR = 2, BE = 3 };

/*
 * nr NQs of depth `depth`: the first nr - nr_poll DEFAULT, the rest POLL,
 * NQ i of each kind mapping CPU i. Tenants LAT, THR, BE registered.
 */
static struct sched *make(const struct sched_params *p, unsigned nr, unsigned nr_poll,
			  unsigned depth)
{
	struct nq_desc d[MAX_NQS];
	struct sched *s;

	for (unsigned i = 0; i < nr; i++) {
		bool poll = i >= nr - nr_poll;

		nq_desc_init(&d[i], poll ? NQ_POLL : NQ_DEFAULT, depth);
		nq_desc_add_cpu(&d[i], poll ? i - (nr - nr_poll) : i);
	}
	s = sched_new(p, d, nr, 0);
	assert_non_null(s);
	assert_int_equal(sched_tenant_set(s, LAT, CONF_CLASS_LATENCY), 0);
	assert_int_equal(sched_tenant_set(s, THR, CONF_CLASS_THROUGHPUT), 0);
	assert_int_equal(sched_tenant_set(s, BE, CONF_CLASS_BESTEFFORT), 0);
	return s;
}

static struct sched *make_mode(enum conf_sched_mode mode, unsigned nr, unsigned nr_poll,
			       unsigned depth)
{
	struct sched_params p;

	sched_params_init(&p);
	p.mode = mode;
	return make(&p, nr, nr_poll, depth);
}

static struct sched_req req(unsigned tenant, unsigned cpu, enum io_op op, uint32_t bytes)
{
	return (struct sched_req){ .tenant = tenant, .cpu = cpu, .op = op, .bytes = bytes };
}

/* Pick and submit r at now; returns its NQ (asserts there was one). */
static unsigned submit(struct sched *s, struct sched_req *r, uint64_t now)
{
	int q = sched_pick(s, r, now);

	assert_true(q >= 0);
	sched_submitted(s, r, (unsigned)q, now);
	assert_int_equal(r->nq, q);
	return (unsigned)q;
}

static enum nq_lane lane_of_nq(const struct sched *s, unsigned q)
{
	return sched_nq(s, q)->lane;
}

static struct sched_stats stats(const struct sched *s, uint64_t now)
{
	struct sched_stats st;

	sched_get_stats(s, now, &st);
	return st;
}

static void test_params(void **state)
{
	struct sched_params p;
	struct conf_sched c = { 0 };

	(void)state;
	sched_params_init(&p);
	assert_int_equal(p.mode, CONF_SCHED_STATIC);
	assert_int_equal(p.latency_target_us, 1000);
	assert_int_equal(p.latency_queues, 0);
	assert_int_equal(p.adapt_interval_ms, 100);
	assert_true(p.throughput_cap == 4ULL << 20);
	assert_false(p.promote_flush); /* a promoted flush puts L behind T: opt-in */
	assert_true(p.throughput_cap_min <= p.throughput_cap);
	assert_true(p.throughput_cap <= p.throughput_cap_max);
#ifdef CONF_DEFAULT_LATENCY_TARGET_US /* the policy's defaults, where conf/ defines them */
	assert_int_equal(p.latency_target_us, CONF_DEFAULT_LATENCY_TARGET_US);
	assert_int_equal(p.adapt_interval_ms, CONF_DEFAULT_ADAPT_INTERVAL_MS);
	assert_true(p.throughput_cap == CONF_DEFAULT_THROUGHPUT_CAP);
#endif
	/* Zero fields of the policy keep the defaults; the rest are copied. */
	c.mode = CONF_SCHED_DAREDEVIL;
	c.latency_queues = 3;
	c.promote_flush = true;
	sched_params_from_conf(&p, &c);
	assert_int_equal(p.mode, CONF_SCHED_DAREDEVIL);
	assert_int_equal(p.latency_queues, 3);
	assert_true(p.promote_flush);
	assert_int_equal(p.latency_target_us, 1000);
	assert_int_equal(p.adapt_interval_ms, 100);
	assert_true(p.throughput_cap == 4ULL << 20);
	c.latency_target_us = 250;
	c.adapt_interval_ms = 20;
	c.throughput_cap = 128 * KiB;
	sched_params_from_conf(&p, &c);
	assert_int_equal(p.latency_target_us, 250);
	assert_int_equal(p.adapt_interval_ms, 20);
	assert_true(p.throughput_cap == 128 * KiB);
}

static void test_new_rejects(void **state)
{
	struct sched_params p;
	struct nq_desc d[2];
	struct sched *s;

	(void)state;
	sched_params_init(&p);
	nq_desc_init(&d[0], NQ_DEFAULT, 32);
	nq_desc_init(&d[1], NQ_DEFAULT, 0);
	errno = 0;
	assert_null(sched_new(&p, d, 0, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(sched_new(&p, d, 2, 0)); /* a depth of 0 */
	s = sched_new(&p, d, 1, 0); /* static on one NQ is fine */
	assert_non_null(s);
	sched_free(s);
	p.mode = CONF_SCHED_DAREDEVIL;
	errno = 0;
	assert_null(sched_new(&p, d, 1, 0)); /* two disjoint groups need two NQs */
	assert_int_equal(errno, EINVAL);
	p.mode = CONF_SCHED_STATIC;
	p.latency_target_us = 0;
	assert_null(sched_new(&p, d, 1, 0));
	sched_free(NULL);
}

static void test_tenants(void **state)
{
	struct sched *s = make_mode(CONF_SCHED_DAREDEVIL, 4, 0, 8);

	(void)state;
	assert_int_equal(sched_tenant_class(s, LAT), CONF_CLASS_LATENCY);
	assert_int_equal(sched_tenant_class(s, 0), CONF_CLASS_BESTEFFORT);
	assert_int_equal(sched_tenant_class(s, 12345), CONF_CLASS_BESTEFFORT); /* unknown */
	assert_int_equal(sched_tenant_set(s, 1000, CONF_CLASS_LATENCY), 0);
	assert_int_equal(sched_tenant_class(s, 1000), CONF_CLASS_LATENCY);
	assert_int_equal(sched_tenant_class(s, LAT), CONF_CLASS_LATENCY); /* kept across growth */
	assert_int_equal(sched_tenant_set(s, LAT, CONF_CLASS_THROUGHPUT), 0);
	assert_int_equal(sched_tenant_class(s, LAT), CONF_CLASS_THROUGHPUT);
	sched_tenant_del(s, 1000);
	assert_int_equal(sched_tenant_class(s, 1000), CONF_CLASS_BESTEFFORT);
	assert_int_equal(sched_tenant_set(s, SCHED_MAX_TENANTS, CONF_CLASS_LATENCY), -EINVAL);
	assert_int_equal(sched_tenant_set(s, UINT32_MAX, CONF_CLASS_LATENCY), -EINVAL);
	sched_free(s);
}

/* Completing what is not in flight changes nothing: no wrapped counters. */
static void test_complete_not_in_flight(void **state)
{
	struct sched *s = make_mode(CONF_SCHED_DAREDEVIL, 4, 2, 8);
	struct sched_req never = req(THR, 0, IO_OP_WRITE, 4 * KiB), r = never;
	struct sched_stats st;

	(void)state;
	never.nq = SCHED_NO_QUEUE;
	sched_completed(s, &never, 1);
	submit(s, &r, 1);
	sched_completed(s, &r, 2);
	sched_completed(s, &r, 3); /* twice */
	st = stats(s, 3);
	assert_int_equal(st.inflight[NQ_LANE_THROUGHPUT], 0);
	assert_true(st.inflight_bytes[NQ_LANE_THROUGHPUT] == 0);
	for (unsigned i = 0; i < sched_nr_nqs(s); i++)
		assert_int_equal(sched_nq(s, i)->inflight, 0);
	assert_null(sched_nq(s, sched_nr_nqs(s)));
	sched_free(s);
}

/* Static: the submitting CPU's queue, DEFAULT map first, whatever the class. */
static void test_static_mapping(void **state)
{
	struct sched_params p;
	struct nq_desc d[5];
	struct sched *s;
	struct sched_req r;

	(void)state;
	sched_params_init(&p);
	for (unsigned i = 0; i < 3; i++) {
		nq_desc_init(&d[i], NQ_DEFAULT, 8);
		nq_desc_add_cpu(&d[i], i);
	}
	nq_desc_init(&d[3], NQ_POLL, 8);
	nq_desc_add_cpu(&d[3], 0); /* CPU 0 is on a DEFAULT queue too: that one wins */
	nq_desc_add_cpu(&d[3], 4); /* CPU 4 only has a POLL queue */
	nq_desc_init(&d[4], NQ_POLL, 8);
	s = sched_new(&p, d, 5, 0);
	assert_non_null(s);
	assert_int_equal(sched_tenant_set(s, LAT, CONF_CLASS_LATENCY), 0);
	r = req(LAT, 0, IO_OP_READ, 4 * KiB);
	assert_int_equal(sched_pick(s, &r, 0), 0);
	r = req(THR, 0, IO_OP_WRITE, 128 * KiB);
	assert_int_equal(sched_pick(s, &r, 0), 0); /* no classes: L and T share it */
	r = req(LAT, 2, IO_OP_FLUSH, 0);
	assert_int_equal(sched_pick(s, &r, 0), 2); /* no promotion either */
	r = req(THR, 4, IO_OP_WRITE, 4 * KiB);
	assert_int_equal(sched_pick(s, &r, 0), 3);
	r = req(THR, 7, IO_OP_WRITE, 4 * KiB);
	assert_int_equal(sched_pick(s, &r, 0), 7 % 5); /* unmapped CPU */
	for (unsigned i = 0; i < 5; i++) /* no groups: one lane */
		assert_int_equal(sched_nq(s, i)->lane, NQ_LANE_THROUGHPUT);
	assert_int_equal(stats(s, 0).group_nqs[NQ_LANE_LATENCY], 0);
	sched_free(s);
}

/* Static: a full NQ holds its own requests only; never more than the depth in flight. */
static void test_static_depth_and_fifos(void **state)
{
	struct sched *s = make_mode(CONF_SCHED_STATIC, 2, 0, 2);
	struct sched_req r[4] = {
		req(THR, 0, IO_OP_WRITE, 4 * KiB), req(LAT, 0, IO_OP_READ, 4 * KiB),
		req(THR, 0, IO_OP_WRITE, 4 * KiB), req(THR, 1, IO_OP_WRITE, 4 * KiB),
	};
	struct sched_req *got[4];
	unsigned n = 0;

	(void)state;
	for (int i = 0; i < 4; i++)
		sched_enqueue(s, &r[i], 0);
	assert_int_equal(sched_waiting(s), 4);
	while ((got[n] = sched_next(s, 1)))
		n++;
	assert_int_equal(n, 3); /* two on NQ 0 (its depth), one on NQ 1 */
	assert_int_equal(sched_nq(s, 0)->inflight, 2);
	assert_int_equal(sched_nq(s, 1)->inflight, 1);
	assert_int_equal(sched_waiting(s), 1);
	assert_int_equal(sched_pick(s, &r[2], 1), SCHED_NO_QUEUE);
	/* FIFO per NQ, the NQs taking turns: L waits behind T, as in stock blk-mq. */
	assert_ptr_equal(got[0], &r[0]);
	assert_ptr_equal(got[1], &r[3]);
	assert_ptr_equal(got[2], &r[1]);
	assert_int_equal(r[3].nq, 1);
	sched_completed(s, &r[0], 2);
	assert_ptr_equal(sched_next(s, 2), &r[2]);
	assert_int_equal(r[2].nq, 0);
	assert_null(sched_next(s, 2));
	assert_int_equal(sched_nq(s, 0)->inflight, 2);
	sched_free(s);
}

/*
 * Daredevil's first split: L on POLL queues plus a DEFAULT one (for
 * commands without data), T keeping a DEFAULT one too when there are two;
 * the groups disjoint and covering every NQ.
 */
static void check_split(unsigned nr, unsigned nr_poll, unsigned latency_queues,
			unsigned want_l, unsigned want_l_poll)
{
	struct sched_params p;
	struct sched *s;
	struct sched_stats st;
	unsigned l = 0, l_poll = 0, t_default = 0;

	sched_params_init(&p);
	p.mode = CONF_SCHED_DAREDEVIL;
	p.latency_queues = latency_queues;
	s = make(&p, nr, nr_poll, 8);
	for (unsigned i = 0; i < nr; i++) {
		const struct nq *q = sched_nq(s, i);

		assert_true(q->lane == NQ_LANE_LATENCY || q->lane == NQ_LANE_THROUGHPUT);
		l += q->lane == NQ_LANE_LATENCY;
		l_poll += q->lane == NQ_LANE_LATENCY && q->kind == NQ_POLL;
		t_default += q->lane == NQ_LANE_THROUGHPUT && q->kind == NQ_DEFAULT;
	}
	if (nr > nr_poll)
		assert_true(l > l_poll); /* L has a DEFAULT NQ */
	if (nr >= nr_poll + 2)
		assert_true(t_default >= 1);
	st = stats(s, 0);
	assert_int_equal(l, want_l);
	assert_int_equal(l_poll, want_l_poll);
	assert_int_equal(st.group_nqs[NQ_LANE_LATENCY], want_l);
	assert_int_equal(st.group_nqs[NQ_LANE_THROUGHPUT], nr - want_l);
	sched_free(s);
}

static void test_daredevil_groups(void **state)
{
	(void)state;
	check_split(8, 4, 0, 4, 3); /* auto: half, POLL but for one DEFAULT */
	check_split(8, 4, 2, 2, 1);
	check_split(8, 4, 6, 6, 4); /* more than the POLL queues: DEFAULT ones join */
	check_split(8, 4, 100, 7, 4); /* T keeps one */
	check_split(8, 0, 0, 4, 0); /* no POLL queues */
	check_split(8, 8, 1, 1, 1);
	check_split(2, 0, 0, 1, 0);
	check_split(3, 2, 0, 2, 1); /* L: its DEFAULT and a POLL one; T: a POLL one */
	check_split(2, 1, 0, 1, 0); /* the only DEFAULT is L's */
}

/* Inside a group: the shortest queue; across groups: never the other class's. */
static void test_daredevil_choice(void **state)
{
	struct sched *s = make_mode(CONF_SCHED_DAREDEVIL, 8, 4, 4);
	struct sched_req l[5], t[6];
	bool used[8] = { false };

	(void)state;
	for (int i = 0; i < 4; i++) {
		unsigned q;

		l[i] = req(LAT, 0, IO_OP_READ, 4 * KiB);
		q = submit(s, &l[i], 1);
		assert_int_equal(lane_of_nq(s, q), NQ_LANE_LATENCY);
		/* its three POLL queues first, then its DEFAULT one */
		assert_int_equal(sched_nq(s, q)->kind, i < 3 ? NQ_POLL : NQ_DEFAULT);
		assert_false(used[q]); /* each L request its own queue while there are idle ones */
		used[q] = true;
	}
	for (int i = 0; i < 6; i++) {
		t[i] = req(i % 2 ? THR : BE, 0, IO_OP_WRITE, 128 * KiB);
		assert_int_equal(lane_of_nq(s, submit(s, &t[i], 1)), NQ_LANE_THROUGHPUT);
	}
	/* A fifth L request shares the least loaded L queue: the one with fewer bytes. */
	sched_completed(s, &l[2], 2);
	l[2] = req(LAT, 0, IO_OP_READ, 64 * KiB);
	submit(s, &l[2], 2);
	l[4] = req(LAT, 0, IO_OP_READ, 4 * KiB);
	assert_int_not_equal(submit(s, &l[4], 2), l[2].nq);
	assert_int_equal(lane_of_nq(s, (unsigned)l[4].nq), NQ_LANE_LATENCY);
	sched_free(s);
}

/* Never past a queue's tag depth: when every queue of the group is full, no queue. */
static void test_daredevil_depth(void **state)
{
	struct sched_params p;
	struct sched *s;
	struct sched_req l[3], t;

	(void)state;
	sched_params_init(&p);
	p.mode = CONF_SCHED_DAREDEVIL;
	p.latency_queues = 1;
	s = make(&p, 2, 1, 2); /* the DEFAULT NQ 0 is L's, the POLL NQ 1 T's */
	l[0] = req(LAT, 0, IO_OP_READ, 4 * KiB);
	l[1] = l[0];
	l[2] = l[0];
	submit(s, &l[0], 1);
	submit(s, &l[1], 1);
	assert_int_equal(sched_pick(s, &l[2], 1), SCHED_NO_QUEUE);
	t = req(THR, 0, IO_OP_WRITE, 4 * KiB);
	assert_int_equal(submit(s, &t, 1), 1); /* T's queue is not L's to borrow, nor the reverse */
	/* Through the FIFOs: held, then released by a completion. */
	sched_enqueue(s, &l[2], 1);
	assert_null(sched_next(s, 1));
	sched_completed(s, &l[0], 2);
	assert_ptr_equal(sched_next(s, 2), &l[2]);
	assert_int_equal(l[2].nq, 0);
	assert_int_equal(sched_nq(s, 0)->inflight, 2);
	sched_free(s);
}

/* L is dispatched before T, whatever the arrival order; FIFO within a lane. */
static void test_latency_first(void **state)
{
	struct sched *s = make_mode(CONF_SCHED_DAREDEVIL, 4, 2, 8);
	struct sched_req t1 = req(THR, 0, IO_OP_WRITE, 128 * KiB), t2 = t1;
	struct sched_req l1 = req(LAT, 1, IO_OP_READ, 4 * KiB), l2 = l1;

	(void)state;
	sched_enqueue(s, &t1, 0);
	sched_enqueue(s, &t2, 0);
	sched_enqueue(s, &l1, 0);
	sched_enqueue(s, &l2, 0);
	assert_ptr_equal(sched_next(s, 0), &l1);
	assert_ptr_equal(sched_next(s, 0), &l2);
	assert_ptr_equal(sched_next(s, 0), &t1);
	assert_ptr_equal(sched_next(s, 0), &t2);
	assert_null(sched_next(s, 0));
	assert_int_equal(sched_waiting(s), 0);
	assert_int_equal(l1.lane, NQ_LANE_LATENCY);
	assert_int_equal(t1.lane, NQ_LANE_THROUGHPUT);
	sched_free(s);
}

/*
 * With promote_flush a T tenant's FLUSH rides the L group (its DEFAULT
 * queue: a flush cannot be polled), counted against the T cap; a FUA write
 * never does: its data has no place in L's queues.
 */
static void test_promote_flush(void **state)
{
	struct sched_params p;
	struct sched *s;
	struct sched_req r;
	unsigned q;

	(void)state;
	sched_params_init(&p);
	p.mode = CONF_SCHED_DAREDEVIL;
	p.promote_flush = true;
	s = make(&p, 4, 2, 8);
	r = req(THR, 0, IO_OP_FLUSH, 0);
	q = submit(s, &r, 0);
	assert_int_equal(lane_of_nq(s, q), NQ_LANE_LATENCY);
	assert_int_equal(sched_nq(s, q)->kind, NQ_DEFAULT);
	assert_int_equal(r.lane, NQ_LANE_LATENCY);
	assert_false(r.latency); /* a promoted flush does not feed L's p99 */
	assert_true(r.capped); /* but T's cap counts it */
	sched_completed(s, &r, 1);
	r = req(BE, 0, IO_OP_WRITE, 16 * KiB);
	r.flags = SCHED_REQ_FUA;
	assert_int_equal(lane_of_nq(s, submit(s, &r, 1)), NQ_LANE_THROUGHPUT);
	sched_completed(s, &r, 2);
	r = req(THR, 0, IO_OP_WRITE, 16 * KiB);
	assert_int_equal(lane_of_nq(s, submit(s, &r, 2)), NQ_LANE_THROUGHPUT);
	sched_completed(s, &r, 3);
	sched_free(s);

	p.promote_flush = false;
	s = make(&p, 4, 2, 8);
	r = req(THR, 0, IO_OP_FLUSH, 0);
	assert_int_equal(lane_of_nq(s, submit(s, &r, 0)), NQ_LANE_THROUGHPUT);
	r = req(THR, 0, IO_OP_WRITE, 16 * KiB);
	r.flags = SCHED_REQ_FUA;
	assert_int_equal(lane_of_nq(s, submit(s, &r, 0)), NQ_LANE_THROUGHPUT);
	sched_free(s);
}

/*
 * Commands without data cannot be polled (on a POLL NQ the kernel would
 * put them on the CPU's DEFAULT queue, maybe T's): each class's go to a
 * DEFAULT NQ of its own group. L's data stays on its POLL queues.
 */
static void test_dataless_stay_in_group(void **state)
{
	static const enum io_op ops[] = { IO_OP_FLUSH, IO_OP_DISCARD,
					     IO_OP_WRITE_ZEROES };
	/* like the test VM's NQs (2 DEFAULT, 62 POLL), smaller: 2 DEFAULT, 6 POLL, 4 tags */
	struct sched *s = make_mode(CONF_SCHED_DAREDEVIL, 8, 6, 4);
	struct sched_req r[2][3], d, x;

	(void)state;
	for (unsigned t = 0; t < 2; t++)
		for (unsigned i = 0; i < 3; i++) {
			unsigned q;

			r[t][i] = req(t ? THR : LAT, 1, ops[i], i ? 64 * KiB : 0);
			q = submit(s, &r[t][i], 1);
			assert_int_equal(lane_of_nq(s, q), t ? NQ_LANE_THROUGHPUT : NQ_LANE_LATENCY);
			assert_int_equal(sched_nq(s, q)->kind, NQ_DEFAULT);
		}
	d = req(LAT, 1, IO_OP_READ, 4 * KiB);
	assert_int_equal(sched_nq(s, submit(s, &d, 1))->kind, NQ_POLL);
	/* L's one DEFAULT NQ full: held, never sent to a POLL NQ or to T's */
	x = req(LAT, 1, IO_OP_FLUSH, 0);
	assert_int_equal(submit(s, &x, 1), r[0][0].nq);
	x = req(LAT, 1, IO_OP_FLUSH, 0);
	assert_int_equal(sched_pick(s, &x, 1), SCHED_NO_QUEUE);
	sched_completed(s, &r[0][1], 2);
	assert_int_equal(submit(s, &x, 2), r[0][0].nq);
	sched_free(s);
}

/*
 * T's FUA writes stay in T's group; T's DISCARD and WRITE ZEROES count
 * their range against the T cap (they counted 0).
 */
static void test_cap_counts_fua_and_dataless(void **state)
{
	struct sched_params p;
	struct sched *s;
	struct sched_req l = req(LAT, 0, IO_OP_READ, 4 * KiB), fua, dis, wz, w;

	(void)state;
	sched_params_init(&p);
	p.mode = CONF_SCHED_DAREDEVIL;
	p.throughput_cap = 1 << 20;
	s = make(&p, 8, 4, 64);
	submit(s, &l, 1); /* L active: the cap applies */
	fua = req(THR, 0, IO_OP_WRITE, 512 * KiB);
	fua.flags = SCHED_REQ_FUA;
	assert_int_equal(lane_of_nq(s, submit(s, &fua, 1)), NQ_LANE_THROUGHPUT);
	assert_true(fua.capped);
	dis = req(BE, 0, IO_OP_DISCARD, 512 * KiB);
	submit(s, &dis, 1);
	assert_true(stats(s, 1).inflight_bytes[NQ_LANE_THROUGHPUT] == 1 << 20);
	wz = req(THR, 0, IO_OP_WRITE_ZEROES, 4 * KiB);
	assert_int_equal(sched_pick(s, &wz, 1), SCHED_NO_QUEUE); /* the cap is full */
	w = req(THR, 0, IO_OP_WRITE, 4 * KiB);
	assert_int_equal(sched_pick(s, &w, 1), SCHED_NO_QUEUE);
	sched_completed(s, &dis, 2);
	assert_int_equal(lane_of_nq(s, submit(s, &wz, 2)), NQ_LANE_THROUGHPUT);
	sched_free(s);
}

/* While L is active, T bytes in flight stay under the cap; when L goes quiet, the cap lifts. */
static void test_throughput_cap(void **state)
{
	struct sched_params p;
	struct sched *s;
	struct sched_req t[12], l = req(LAT, 0, IO_OP_READ, 4 * KiB), big;
	unsigned n = 0;

	(void)state;
	sched_params_init(&p);
	p.mode = CONF_SCHED_DAREDEVIL;
	p.throughput_cap = 1 << 20;
	s = make(&p, 8, 4, 64);
	/* No L yet: T is not capped. */
	for (int i = 0; i < 12; i++) {
		t[i] = req(THR, 0, IO_OP_WRITE, 128 * KiB);
		submit(s, &t[i], 1 * MS);
	}
	assert_true(stats(s, 1 * MS).inflight_bytes[NQ_LANE_THROUGHPUT] == 12 * 128 * KiB);
	for (int i = 0; i < 12; i++)
		sched_completed(s, &t[i], 2 * MS);
	/* L arrives: from its first enqueue on, at most 1 MiB of T. */
	sched_enqueue(s, &l, 3 * MS);
	assert_true(stats(s, 3 * MS).latency_active);
	for (int i = 0; i < 12; i++) {
		t[i] = req(THR, 0, IO_OP_WRITE, 128 * KiB);
		sched_enqueue(s, &t[i], 3 * MS);
	}
	assert_ptr_equal(sched_next(s, 3 * MS), &l);
	while (sched_next(s, 3 * MS))
		n++;
	assert_int_equal(n, 8);
	assert_int_equal(sched_waiting(s), 4);
	assert_true(stats(s, 3 * MS).inflight_bytes[NQ_LANE_THROUGHPUT] == 1 << 20);
	/* A T request larger than the whole cap still goes when no T is in flight. */
	for (int i = 0; i < 8; i++)
		sched_completed(s, &t[i], 4 * MS);
	big = req(THR, 0, IO_OP_WRITE, 4 << 20);
	assert_true(sched_pick(s, &big, 4 * MS) >= 0);
	/* L completes and stays quiet for an interval: T flows freely again. */
	sched_completed(s, &l, 4 * MS);
	assert_true(stats(s, 4 * MS + 99 * MS).latency_active);
	assert_false(stats(s, 4 * MS + 100 * MS).latency_active);
	while (sched_next(s, 4 * MS + 100 * MS))
		n++;
	assert_int_equal(n, 12);
	sched_free(s);
}

/* L completions of `lat` latency, one after the other from *now. */
static void feed_latency(struct sched *s, unsigned count, uint64_t lat, uint64_t *now)
{
	for (unsigned i = 0; i < count; i++) {
		struct sched_req r = req(LAT, 0, IO_OP_READ, 4 * KiB);

		submit(s, &r, *now);
		*now += lat;
		sched_completed(s, &r, *now);
	}
}

/* Fill T up to the cap and one more, refused: the cap held T back in this window. */
static unsigned press_cap(struct sched *s, struct sched_req *t, unsigned max, uint64_t now)
{
	unsigned n = 0;

	for (;;) {
		assert_true(n < max);
		t[n] = req(THR, 0, IO_OP_WRITE, 128 * KiB);
		if (sched_pick(s, &t[n], now) < 0)
			return n;
		submit(s, &t[n], now);
		n++;
	}
}

/*
 * The cap follows L's p99, once per interval, with a fake clock -- and
 * only tightens while that lowers L's p99 (sched/tcap.h).
 */
static void test_cap_follows_p99(void **state)
{
	struct sched_params p;
	struct sched *s;
	struct sched_req t[64], busy = req(THR, 0, IO_OP_WRITE, 128 * KiB);
	uint64_t now = 1 * MS;
	unsigned n;

	(void)state;
	sched_params_init(&p);
	p.mode = CONF_SCHED_DAREDEVIL;
	s = make(&p, 8, 4, 256);
	assert_true(stats(s, now).throughput_cap == 4 << 20);
	submit(s, &busy, now); /* T busy all along, until said otherwise */
	/* L's p99 2 ms against a 1 ms target: halve at the interval's end, not before. */
	feed_latency(s, 40, 2 * MS, &now);
	assert_true(now < 100 * MS);
	assert_true(stats(s, now).throughput_cap == 4 << 20);
	sched_tick(s, 100 * MS);
	assert_true(stats(s, 100 * MS).throughput_cap == 2 << 20);
	assert_true(stats(s, 100 * MS).latency_p99_ns >= 2 * MS);
	assert_int_equal(stats(s, 100 * MS).cap_cuts, 1);
	/* Too few samples: the window stays open, the cap untouched. */
	now = 101 * MS;
	feed_latency(s, SCHED_DEFAULT_MIN_SAMPLES - 1, 1500 * US, &now);
	sched_tick(s, 200 * MS);
	assert_true(stats(s, 200 * MS).throughput_cap == 2 << 20);
	/* More: p99 1.5 ms, down from 2 ms: the cut helped, still above target: cut again. */
	now = 201 * MS;
	feed_latency(s, 10, 1500 * US, &now);
	sched_tick(s, 300 * MS);
	assert_true(stats(s, 300 * MS).throughput_cap == 1 << 20);
	assert_int_equal(stats(s, 300 * MS).cap_cuts, 2);
	/* 1.4 ms: not 20 % lower than 1.5 ms: that cut only cost T; taken back. */
	now = 301 * MS;
	feed_latency(s, 40, 1400 * US, &now);
	sched_tick(s, 400 * MS);
	assert_true(stats(s, 400 * MS).throughput_cap == 2 << 20);
	assert_int_equal(stats(s, 400 * MS).cap_fruitless, 1);
	assert_int_equal(stats(s, 400 * MS).target_verdict, TCAP_UNMET_THROTTLE);
	/* Fast L, T held back by the cap: target met, add a step. */
	now = 401 * MS;
	feed_latency(s, 100, 100 * US, &now);
	n = press_cap(s, t, 64, now);
	assert_int_equal(n, 15); /* 2 MiB of 128 KiB writes, one of them `busy` */
	sched_tick(s, 500 * MS);
	assert_true(stats(s, 500 * MS).throughput_cap == (2 << 20) + (512 << 10));
	assert_int_equal(stats(s, 500 * MS).target_verdict, TCAP_MET);
	for (unsigned i = 0; i < n; i++)
		sched_completed(s, &t[i], 500 * MS);
	/* Fast L, but the cap refused nobody: no growth. */
	now = 501 * MS;
	feed_latency(s, 100, 100 * US, &now);
	sched_tick(s, 600 * MS);
	assert_true(stats(s, 600 * MS).throughput_cap == (2 << 20) + (512 << 10));
	assert_int_equal(stats(s, 600 * MS).cap_raises, 1);
	assert_false(stats(s, 600 * MS).cap_off);
	/* T idle, L slow: no cap can help L. The cap goes off; T is never held. */
	sched_completed(s, &busy, 600 * MS);
	sched_tick(s, 700 * MS); /* the window that still saw `busy` closes */
	now = 701 * MS;
	feed_latency(s, 40, 2 * MS, &now);
	sched_tick(s, 800 * MS);
	assert_true(stats(s, 800 * MS).cap_off);
	assert_int_equal(stats(s, 800 * MS).target_verdict, TCAP_UNMET_ALONE);
	assert_int_equal(stats(s, 800 * MS).cap_cuts, 2);
	for (n = 0; n < 40; n++) {
		t[n] = req(THR, 0, IO_OP_WRITE, 128 * KiB);
		assert_true(sched_pick(s, &t[n], 800 * MS) >= 0);
		submit(s, &t[n], 800 * MS);
	}
	for (unsigned i = 0; i < n; i++)
		sched_completed(s, &t[i], 800 * MS);
	sched_free(s);
}

static unsigned l_nqs(const struct sched *s)
{
	return stats(s, 0).group_nqs[NQ_LANE_LATENCY];
}

/* Group sizes follow load every interval: shrink halfway, grow at once, drain before use. */
static void test_groups_adapt(void **state)
{
	struct sched *s = make_mode(CONF_SCHED_DAREDEVIL, 8, 4, 64);
	struct sched_req l[8], t = req(THR, 0, IO_OP_WRITE, 128 * KiB), tp[4];
	unsigned polls[4], nr_polls = 0, drained[2], nr_drained = 0;
	uint64_t now = 1 * MS;

	(void)state;
	assert_int_equal(l_nqs(s), 4); /* NQs 4, 5, 6 (POLL) and 0 (DEFAULT) */
	/* One L and one T request in flight: L wants 1 + 1 NQs, gives back half the rest a time. */
	l[0] = req(LAT, 0, IO_OP_READ, 4 * KiB);
	submit(s, &l[0], now);
	submit(s, &t, now);
	sched_tick(s, 99 * MS);
	assert_int_equal(l_nqs(s), 4); /* not yet an interval */
	sched_tick(s, 100 * MS);
	assert_int_equal(l_nqs(s), 3);
	sched_tick(s, 200 * MS);
	assert_int_equal(l_nqs(s), 2);
	sched_tick(s, 300 * MS);
	assert_int_equal(l_nqs(s), 2);
	assert_int_equal(stats(s, 300 * MS).moves, 2);
	/* The busy one stayed. */
	assert_int_equal(lane_of_nq(s, (unsigned)l[0].nq), NQ_LANE_LATENCY);
	/* A T command on each POLL queue T holds: the ones L takes back must drain. */
	for (unsigned i = 0; i < 8; i++)
		if (lane_of_nq(s, i) == NQ_LANE_THROUGHPUT && sched_nq(s, i)->kind == NQ_POLL)
			polls[nr_polls++] = i;
	assert_int_equal(nr_polls, 3);
	for (unsigned k = 0; k < nr_polls; k++) {
		tp[k] = req(THR, 0, IO_OP_WRITE, 128 * KiB);
		sched_submitted(s, &tp[k], polls[k], 301 * MS);
	}
	/* Five L requests in flight: L grows at once, to half the NQs while T is busy. */
	for (int i = 1; i < 5; i++) {
		l[i] = req(LAT, 0, IO_OP_READ, 4 * KiB);
		submit(s, &l[i], 301 * MS);
	}
	sched_tick(s, 400 * MS);
	assert_int_equal(l_nqs(s), 4);
	for (unsigned k = 0; k < nr_polls; k++) {
		if (lane_of_nq(s, polls[k]) != NQ_LANE_LATENCY)
			continue;
		assert_true(sched_nq(s, polls[k])->draining);
		drained[nr_drained++] = polls[k];
	}
	assert_int_equal(nr_drained, 2); /* POLL ones: T keeps its DEFAULT NQs */
	assert_int_equal(stats(s, 400 * MS).draining, 2);
	/* L does not use them while T's commands are in them. */
	for (int i = 5; i < 8; i++) {
		l[i] = req(LAT, 0, IO_OP_READ, 4 * KiB);
		submit(s, &l[i], 401 * MS);
		assert_int_not_equal(l[i].nq, drained[0]);
		assert_int_not_equal(l[i].nq, drained[1]);
	}
	for (unsigned k = 0; k < nr_polls; k++)
		sched_completed(s, &tp[k], 402 * MS);
	assert_false(sched_nq(s, drained[0])->draining);
	assert_false(sched_nq(s, drained[1])->draining);
	for (int i = 5; i < 8; i++)
		sched_completed(s, &l[i], 402 * MS);
	/* drained: usable now, idle POLL queues before L's busy ones */
	submit(s, &l[5], 403 * MS);
	submit(s, &l[6], 403 * MS);
	assert_true((l[5].nq == (int)drained[0] && l[6].nq == (int)drained[1]) ||
		    (l[5].nq == (int)drained[1] && l[6].nq == (int)drained[0]));
	/* T submits nothing for an interval and has nothing in flight: L may take all but one. */
	sched_completed(s, &t, 404 * MS);
	sched_tick(s, 500 * MS);
	assert_int_equal(l_nqs(s), 7);
	assert_int_equal(stats(s, 500 * MS).group_nqs[NQ_LANE_THROUGHPUT], 1);
	/* L goes quiet too: halfway per interval, down to its DEFAULT NQ and a POLL one. */
	for (int i = 0; i < 7; i++)
		sched_completed(s, &l[i], 501 * MS);
	sched_tick(s, 600 * MS);
	assert_int_equal(l_nqs(s), 4);
	sched_tick(s, 700 * MS);
	assert_int_equal(l_nqs(s), 3);
	sched_tick(s, 800 * MS);
	assert_int_equal(l_nqs(s), 2);
	sched_tick(s, 900 * MS);
	assert_int_equal(l_nqs(s), 2); /* an idle class keeps what its first request needs */
	assert_int_equal(stats(s, 900 * MS).group_nqs[NQ_LANE_THROUGHPUT], 6);
	for (unsigned i = 0, d = 0, p = 0; i < 8; i++) {
		d += lane_of_nq(s, i) == NQ_LANE_LATENCY && sched_nq(s, i)->kind == NQ_DEFAULT;
		p += lane_of_nq(s, i) == NQ_LANE_LATENCY && sched_nq(s, i)->kind == NQ_POLL;
		if (i == 7) {
			assert_int_equal(d, 1);
			assert_int_equal(p, 1);
		}
	}
	sched_free(s);
}

/* T out of tags (on every queue, POLL ones too): L gives back everything it does not need at once. */
static void test_groups_t_starved(void **state)
{
	struct sched *s = make_mode(CONF_SCHED_DAREDEVIL, 8, 4, 1);
	struct sched_req l = req(LAT, 0, IO_OP_READ, 4 * KiB), t[5];

	(void)state;
	sched_set_poll(s, CONF_POLL_ALWAYS);
	submit(s, &l, 1 * MS);
	for (int i = 0; i < 4; i++) {
		t[i] = req(THR, 0, IO_OP_WRITE, 4 * KiB);
		submit(s, &t[i], 1 * MS);
	}
	t[4] = req(THR, 0, IO_OP_WRITE, 4 * KiB);
	assert_int_equal(sched_pick(s, &t[4], 1 * MS), SCHED_NO_QUEUE);
	sched_tick(s, 100 * MS);
	assert_int_equal(l_nqs(s), 2);
	assert_true(sched_pick(s, &t[4], 100 * MS) >= 0);
	sched_free(s);
}

/*
 * scheduler.poll: auto keeps T's data off POLL NQs (a polled command
 * costs its worker CPU until it completes) while L takes them; always
 * lets T poll too; never keeps L off them as well. Live: the next pick.
 */
static void test_poll_policy(void **state)
{
	struct sched *s = make_mode(CONF_SCHED_DAREDEVIL, 8, 4, 64);
	struct sched_req r[64];
	unsigned n = 0;

	(void)state;
	assert_int_equal(stats(s, 0).group_nqs[NQ_LANE_THROUGHPUT], 4);
	for (int i = 0; i < 16; i++, n++) {
		r[n] = req(THR, 0, IO_OP_WRITE, 4 * KiB);
		assert_int_equal(sched_nq(s, submit(s, &r[n], 0))->kind, NQ_DEFAULT);
	}
	r[n] = req(LAT, 0, IO_OP_READ, 4 * KiB);
	assert_int_equal(sched_nq(s, submit(s, &r[n++], 0))->kind, NQ_POLL);
	sched_set_poll(s, CONF_POLL_ALWAYS);
	{
		bool polled = false;

		for (int i = 0; i < 16; i++, n++) {
			r[n] = req(THR, 0, IO_OP_WRITE, 4 * KiB);
			polled |= sched_nq(s, submit(s, &r[n], 0))->kind == NQ_POLL;
		}
		assert_true(polled); /* the shortest queues are T's POLL members now */
	}
	sched_set_poll(s, CONF_POLL_NEVER);
	for (int i = 0; i < 4; i++, n++) {
		r[n] = req(LAT, 0, IO_OP_READ, 4 * KiB);
		assert_int_equal(sched_nq(s, submit(s, &r[n], 0))->kind, NQ_DEFAULT);
	}
	for (unsigned i = 0; i < n; i++)
		sched_completed(s, &r[i], 1 * MS);
	sched_free(s);
}

/* Reap L's queues first. */
static void test_reap_order(void **state)
{
	struct sched *s = make_mode(CONF_SCHED_DAREDEVIL, 4, 2, 8);
	struct sched_req t = req(THR, 0, IO_OP_WRITE, 128 * KiB);
	struct sched_req l = req(LAT, 0, IO_OP_READ, 4 * KiB);
	unsigned order[4], n;

	(void)state;
	assert_int_equal(sched_reap_order(s, order), 0);
	submit(s, &t, 0);
	submit(s, &l, 0);
	n = sched_reap_order(s, order);
	assert_int_equal(n, 2);
	assert_int_equal(order[0], l.nq);
	assert_int_equal(order[1], t.nq);
	sched_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_new_rejects),
		cmocka_unit_test(test_tenants),
		cmocka_unit_test(test_complete_not_in_flight),
		cmocka_unit_test(test_static_mapping),
		cmocka_unit_test(test_static_depth_and_fifos),
		cmocka_unit_test(test_daredevil_groups),
		cmocka_unit_test(test_daredevil_choice),
		cmocka_unit_test(test_daredevil_depth),
		cmocka_unit_test(test_latency_first),
		cmocka_unit_test(test_promote_flush),
		cmocka_unit_test(test_dataless_stay_in_group),
		cmocka_unit_test(test_cap_counts_fua_and_dataless),
		cmocka_unit_test(test_throughput_cap),
		cmocka_unit_test(test_cap_follows_p99),
		cmocka_unit_test(test_groups_adapt),
		cmocka_unit_test(test_groups_t_starved),
		cmocka_unit_test(test_poll_policy),
		cmocka_unit_test(test_reap_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
