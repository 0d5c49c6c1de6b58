/* SPDX-License-Identifier: MIT */
/* Token buckets, the IOPS + bandwidth limiter and WFQ (sched/qos.h), on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sched/qos.h"

#define SEC NSEC_PER_SEC
#define MSEC 1000000ULL
#define T0 (5 * SEC) /* the fake clock does not start at 0 */
#define KiB 1024ULL
#define MiB (1024 * KiB)

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* floor(rate * ns / 1e9), computed independently of qos.c */
static uint64_t ideal_tokens(uint64_t rate, uint64_t ns)
{
	return (uint64_t)((unsigned __int128)rate * ns / SEC);
}

static uint64_t diff_u64(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* Ask once; take on admission. */
static bool ask(struct tbucket *b, uint64_t cost, uint64_t now)
{
	if (tbucket_wait(b, cost, now))
		return false;
	tbucket_take(b, cost);
	return true;
}

/*
 * A greedy client: from *now up to end, ask for `cost` again as soon as the
 * bucket allows. Returns the number admitted; *now ends at the last ask.
 */
static uint64_t greedy(struct tbucket *b, uint64_t cost, uint64_t *now, uint64_t end)
{
	uint64_t n = 0, t = *now;

	for (;;) {
		uint64_t w = tbucket_wait(b, cost, t);

		*now = t;
		if (!w) {
			tbucket_take(b, cost);
			n++;
			continue;
		}
		if (w > end - t)
			return n;
		t += w;
	}
}

/*
 * The wait is exact: asked again 1 ns before it ends, the answer is 1; at
 * its end the request goes. Asking refills, so each probe gets a copy.
 */
static uint64_t check_wait_exact(const struct tbucket *b, uint64_t cost, uint64_t now)
{
	struct tbucket probe = *b;
	uint64_t w = tbucket_wait(&probe, cost, now);

	if (!w)
		return 0;
	probe = *b;
	assert_true(tbucket_wait(&probe, cost, now + w - 1) == 1);
	probe = *b;
	assert_true(tbucket_wait(&probe, cost, now + w) == 0);
	if (w > 2) {
		probe = *b;
		assert_true(tbucket_wait(&probe, cost, now + w / 2) == w - w / 2);
	}
	return w;
}

static void test_tb_burst_then_throttle(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 1000, T0);
	for (int i = 0; i < 1000; i++)
		assert_true(ask(&b, 1, T0));
	assert_true(tbucket_wait(&b, 1, T0) == MSEC); /* one token per ms */
	assert_true(check_wait_exact(&b, 1, T0) == MSEC);
	assert_false(ask(&b, 1, T0 + MSEC - 1));
	assert_true(ask(&b, 1, T0 + MSEC));
	assert_false(ask(&b, 1, T0 + MSEC));

	/* the whole burst in one request, and a full bucket refills no further */
	tbucket_init(&b, 1000, T0);
	assert_true(ask(&b, 1000, T0 + 7 * SEC));
	assert_true(b.tokens == 0);
	assert_true(check_wait_exact(&b, 10, T0 + 7 * SEC) == 10 * MSEC);
}

static void test_tb_ten_seconds(void **state)
{
	static const struct {
		uint64_t rate, cost;
	} cases[] = {
		{ 1000, 1 }, { 777, 1 }, { 3, 1 }, { 10000000, 4096 }, { 1000000007, 1000 },
		{ 1000000000000ULL, 1000000000 }, { 123456789, 65536 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t rate = cases[i].rate, cost = cases[i].cost, now = T0;
		uint64_t want = rate * 11 / cost; /* the burst, then ten seconds' worth */
		struct tbucket b;
		uint64_t n;

		tbucket_init(&b, rate, T0);
		n = greedy(&b, cost, &now, T0 + 10 * SEC);
		assert_true(diff_u64(n, want) <= 1);
	}
}

/* Random states, rates from 1 to 1e12 and costs past the burst. */
static void test_tb_wait_exact(void **state)
{
	static const uint64_t rates[] = {
		1, 3, 7, 1000, 999983, 1000000000, 1000000007, 18446744073ULL, 123456789012ULL,
		1000000000000ULL,
	};
	uint64_t seed = 0x2545f4914f6cdd1dULL;

	(void)state;
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		uint64_t rate = rates[i], now = T0;
		struct tbucket b;

		tbucket_init(&b, rate, T0);
		for (int op = 0; op < 3000; op++) {
			uint64_t r = next_rand(&seed);
			uint64_t cost = r % 4 ? 1 + (r >> 8) % (rate / 16 + 1) : 1 + (r >> 8) % (2 * rate);
			uint64_t w = check_wait_exact(&b, cost, now);

			if (!w) {
				assert_true(ask(&b, cost, now));
				continue;
			}
			assert_false(ask(&b, cost, now));
			/* come back at the end of the wait, or part way */
			now += r & (1 << 5) ? w : 1 + (r >> 40) % w;
		}
	}
}

static void test_tb_oversized_debt(void **state)
{
	uint64_t now = T0, n;
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 1000, T0);
	assert_true(ask(&b, 2500, T0)); /* dearer than the burst: goes when full */
	assert_true(b.tokens == -1500);
	assert_true(check_wait_exact(&b, 1, T0) == 1501 * MSEC); /* the debt first */
	assert_true(check_wait_exact(&b, 2500, T0) == 2500 * MSEC); /* then a full bucket */
	assert_false(ask(&b, 2500, T0 + 2500 * MSEC - 1));
	assert_true(ask(&b, 2500, T0 + 2500 * MSEC));

	/* not full: an oversized request waits for full, even with most of a burst */
	tbucket_init(&b, 1000, T0);
	assert_true(ask(&b, 1, T0));
	assert_true(check_wait_exact(&b, 5000, T0) == MSEC);

	/* the long-run rate holds: one every 2.5 s after the first */
	tbucket_init(&b, 1000, T0);
	n = greedy(&b, 2500, &now, T0 + 100 * SEC);
	assert_true(n == 41);
	assert_true(now == T0 + 100 * SEC);
}

static void test_tb_set_rate(void **state)
{
	uint64_t now = T0, n;
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 1000, T0);
	n = greedy(&b, 1, &now, T0 + 2 * SEC);
	assert_true(n == 3000); /* the burst, then one per ms, the last at 2 s */

	/* raised: the new rate from that moment on */
	tbucket_set_rate(&b, 5000, T0 + 2 * SEC);
	now = T0 + 2 * SEC;
	n = greedy(&b, 1, &now, T0 + 5 * SEC);
	assert_true(diff_u64(n, 15000) <= 1);

	/* lowered */
	tbucket_set_rate(&b, 200, T0 + 5 * SEC);
	now = T0 + 5 * SEC;
	n = greedy(&b, 1, &now, T0 + 8 * SEC);
	assert_true(diff_u64(n, 600) <= 1);

	/* lowering clamps a full bucket to the new burst */
	tbucket_init(&b, 1000, T0);
	tbucket_set_rate(&b, 10, T0 + SEC);
	assert_true(b.tokens == 10 && b.burst == 10);
	for (int i = 0; i < 10; i++)
		assert_true(ask(&b, 1, T0 + SEC));
	assert_true(check_wait_exact(&b, 1, T0 + SEC) == 100 * MSEC);

	/* raising does not hand out the bigger burst at once */
	tbucket_init(&b, 1000, T0);
	tbucket_set_rate(&b, 5000, T0);
	assert_true(b.tokens == 1000);
	assert_true(check_wait_exact(&b, 5000, T0) == 800 * MSEC);

	/* tokens are brought up to date at the old rate first */
	tbucket_init(&b, 1000, T0);
	assert_true(ask(&b, 1000, T0));
	tbucket_set_rate(&b, 1, T0 + 500 * MSEC); /* 500 tokens, clamped to 1 */
	assert_true(b.tokens == 1);
	tbucket_set_rate(&b, 1000, T0 + 500 * MSEC);
	assert_true(check_wait_exact(&b, 11, T0 + 500 * MSEC) == 10 * MSEC);

	/* a debt survives a change of rate */
	tbucket_init(&b, 1000, T0);
	assert_true(ask(&b, 3000, T0));
	tbucket_set_rate(&b, 2000, T0);
	assert_true(b.tokens == -2000);
	assert_true(check_wait_exact(&b, 1, T0) == 1000500 * 1000ULL);
}

static void test_tb_unlimited(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 0, T0);
	for (int i = 0; i < 1000; i++)
		assert_true(ask(&b, UINT64_MAX, T0));
	assert_true(tbucket_wait(&b, UINT64_MAX, 0) == 0); /* even from the past */

	/* a limit set on an unlimited bucket starts full */
	tbucket_set_rate(&b, 100, T0 + SEC);
	assert_true(b.tokens == 100);
	assert_true(ask(&b, 100, T0 + SEC));
	assert_false(ask(&b, 1, T0 + SEC));

	/* lifting the limit lifts a debt too */
	assert_true(ask(&b, 1000, T0 + 2 * SEC));
	assert_false(ask(&b, 1, T0 + 2 * SEC));
	tbucket_set_rate(&b, 0, T0 + 2 * SEC);
	assert_true(ask(&b, 1, T0 + 2 * SEC));
	tbucket_set_rate(&b, 100, T0 + 2 * SEC);
	assert_true(b.tokens == 100);
}

/*
 * Steps of any size, each token taken as it comes: at every step the
 * bucket has handed out exactly floor(rate * elapsed / 1e9).
 */
static void check_no_loss(struct tbucket *b, uint64_t rate, uint64_t start, uint64_t *now,
			  uint64_t *taken, uint64_t step)
{
	*now += step;
	assert_true(tbucket_wait(b, 0, *now) == 0);
	assert_true(b->tokens >= 0);
	*taken += (uint64_t)b->tokens;
	tbucket_take(b, (uint64_t)b->tokens);
	assert_true(*taken == ideal_tokens(rate, *now - start));
}

static void test_tb_no_rounding_loss(void **state)
{
	static const uint64_t rates[] = { 1000000007, 999999999999ULL, 1000000000000ULL, 7919 };
	uint64_t seed = 0x853c49e6748fea9bULL;
	uint64_t now = T0, taken = 0;
	struct tbucket b;

	(void)state;
	/* rate 3: a token every 333333333.3 ns, approached 1 ns at a time */
	tbucket_init(&b, 3, T0);
	tbucket_take(&b, 3);
	for (uint64_t k = 1; k <= 30; k++) {
		uint64_t due = T0 + (k * SEC + 2) / 3; /* ceil(k * 1e9 / 3) */

		check_no_loss(&b, 3, T0, &now, &taken, due - 200000 - now);
		for (int i = 0; i < 400000; i++)
			check_no_loss(&b, 3, T0, &now, &taken, 1);
	}
	assert_true(taken == 30);

	/* odd steps, with the remainder in every digit */
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		uint64_t rate = rates[i];

		now = T0;
		taken = 0;
		tbucket_init(&b, rate, T0);
		tbucket_take(&b, rate);
		for (int op = 0; op < 200000; op++) {
			uint64_t r = next_rand(&seed);
			/* never a whole second: a full bucket would rightly drop the rest */
			uint64_t step = r % 64 ? (r >> 8) % 2000000 | 1 : 499999999;

			check_no_loss(&b, rate, T0, &now, &taken, step);
		}
	}
}

static void test_tb_extremes(void **state)
{
	struct tbucket b, copy;

	(void)state;
	/* 1e12/s idle for three days: just full */
	tbucket_init(&b, 1000000000000ULL, T0);
	tbucket_take(&b, 1000000000000ULL);
	assert_true(tbucket_wait(&b, 1, T0 + 3 * 86400 * SEC) == 0);
	assert_true(b.tokens == 1000000000000LL && b.frac == 0);

	/* a debt of five seconds at 1e12/s: waits are exact far past 2^64 / 1e9 */
	assert_true(ask(&b, 6000000000000ULL, T0 + 3 * 86400 * SEC));
	assert_true(check_wait_exact(&b, 1, T0 + 3 * 86400 * SEC) == 5 * SEC + 1);
	assert_true(check_wait_exact(&b, 1000000000000ULL, T0 + 3 * 86400 * SEC) == 6 * SEC);
	assert_true(check_wait_exact(&b, 999999999999ULL, T0 + 3 * 86400 * SEC + 7) ==
		    6 * SEC - 7);

	/* the largest deficit the direct formula takes: deficit * 1e9 just fits */
	tbucket_init(&b, UINT64_MAX / SEC, T0);
	tbucket_take(&b, UINT64_MAX / SEC);
	assert_true(check_wait_exact(&b, UINT64_MAX / SEC, T0) == SEC);
	assert_true(check_wait_exact(&b, UINT64_MAX / SEC, T0 + 1) == SEC - 1);
	tbucket_init(&b, UINT64_MAX / SEC + 1, T0);
	tbucket_take(&b, UINT64_MAX / SEC + 1);
	assert_true(check_wait_exact(&b, UINT64_MAX / SEC + 1, T0) == SEC);

	/* nonsense rates and costs are clamped, not overflowed */
	tbucket_init(&b, UINT64_MAX, T0);
	assert_true(b.rate > 1000000000000000000ULL && b.rate == b.burst);
	assert_true(ask(&b, UINT64_MAX, T0));
	assert_true(b.tokens < 0);
	/* half a second in, a debt as deep as the burst plus half of it to go */
	assert_true(check_wait_exact(&b, UINT64_MAX, T0 + SEC / 2) == 1500 * MSEC);
	assert_true(ask(&b, UINT64_MAX, T0 + 86400 * SEC));

	/* a wait beyond 2^64 ns saturates */
	tbucket_init(&b, 1, T0);
	tbucket_take(&b, UINT64_MAX);
	assert_true(tbucket_wait(&b, 1, T0) == UINT64_MAX);

	/* a clock near its end */
	tbucket_init(&b, 1000, UINT64_MAX - 10 * SEC);
	assert_true(ask(&b, 1000, UINT64_MAX - 10 * SEC));
	assert_true(check_wait_exact(&b, 1000, UINT64_MAX - 10 * SEC) == SEC);
	assert_true(ask(&b, 1000, UINT64_MAX));

	/* a stale now refills nothing and counts the wait from the bucket's time */
	tbucket_init(&b, 1000, T0);
	assert_true(ask(&b, 1000, T0));
	copy = b;
	assert_true(tbucket_wait(&b, 1, T0 - 300 * MSEC) == 301 * MSEC);
	assert_true(memcmp(&b, &copy, sizeof(b)) == 0);
	assert_true(check_wait_exact(&b, 1, T0 - 300 * MSEC) == 301 * MSEC);
}

static void test_qos_iops_bound(void **state)
{
	struct qos_limiter q;
	struct tbucket bw;
	uint64_t now, n = 0;

	(void)state;
	qos_limiter_init(&q, 100, 100 * MiB, T0);
	assert_false(qos_limiter_unlimited(&q));
	for (int i = 0; i < 100; i++)
		assert_true(qos_admit(&q, 4 * KiB, T0) == 0);
	bw = q.bw;
	assert_true(qos_admit(&q, 4 * KiB, T0) == 10 * MSEC);
	assert_true(memcmp(&bw, &q.bw, sizeof(bw)) == 0); /* nothing taken */
	assert_true(qos_admit(&q, 4 * KiB, T0 + 10 * MSEC - 1) == 1);
	assert_true(qos_admit(&q, 4 * KiB, T0 + 10 * MSEC) == 0);

	/* ten seconds of a greedy client: the tighter limit wins */
	qos_limiter_init(&q, 100, 100 * MiB, T0);
	for (now = T0; now <= T0 + 10 * SEC;) {
		uint64_t w = qos_admit(&q, 4 * KiB, now);

		n += !w;
		now += w;
	}
	assert_true(diff_u64(n, 1100) <= 1);
}

static void test_qos_bw_bound(void **state)
{
	struct qos_limiter q;
	struct tbucket iops;
	uint64_t now, n = 0;

	(void)state;
	qos_limiter_init(&q, 10000, MiB, T0);
	for (int i = 0; i < 16; i++)
		assert_true(qos_admit(&q, 64 * KiB, T0) == 0);
	iops = q.iops;
	assert_true(qos_admit(&q, 64 * KiB, T0) == 62500 * 1000ULL); /* 1/16 s */
	assert_true(memcmp(&iops, &q.iops, sizeof(iops)) == 0); /* nothing taken */
	assert_true(qos_admit(&q, 64 * KiB, T0 + 62500 * 1000ULL - 1) == 1);
	assert_true(qos_admit(&q, 64 * KiB, T0 + 62500 * 1000ULL) == 0);

	qos_limiter_init(&q, 10000, MiB, T0);
	for (now = T0; now <= T0 + 10 * SEC;) {
		uint64_t w = qos_admit(&q, 64 * KiB, now);

		n += !w;
		now += w;
	}
	assert_true(diff_u64(n, 176) <= 1);
}

static void test_qos_both_limits(void **state)
{
	struct qos_limiter q;

	(void)state;
	/* both refuse: the longer wait, after which both admit */
	qos_limiter_init(&q, 1, 800, T0);
	assert_true(qos_admit(&q, 800, T0) == 0);
	assert_true(qos_admit(&q, 400, T0) == SEC); /* bandwidth alone: 0.5 s */
	assert_true(qos_admit(&q, 400, T0 + SEC - 1) != 0);
	assert_true(qos_admit(&q, 400, T0 + SEC) == 0);
	assert_true(q.bw.tokens == 400 && q.iops.tokens == 0);

	/* bandwidth refuses alone: the IOPS token is not taken */
	qos_limiter_init(&q, 2, 800, T0);
	assert_true(qos_admit(&q, 800, T0) == 0);
	assert_true(qos_admit(&q, 800, T0) == SEC);
	assert_true(q.iops.tokens == 1 && q.bw.tokens == 0);

	/* one limit only; none */
	qos_limiter_init(&q, 0, 1000, T0);
	assert_false(qos_limiter_unlimited(&q));
	assert_true(qos_admit(&q, 1000, T0) == 0);
	assert_true(qos_admit(&q, 1, T0) == MSEC);
	qos_limiter_init(&q, 5, 0, T0);
	assert_false(qos_limiter_unlimited(&q));
	for (int i = 0; i < 5; i++)
		assert_true(qos_admit(&q, UINT64_MAX, T0) == 0);
	assert_true(qos_admit(&q, 0, T0) == 200 * MSEC);
	qos_limiter_set(&q, 0, 0, T0);
	assert_true(qos_limiter_unlimited(&q));
	for (int i = 0; i < 1000; i++)
		assert_true(qos_admit(&q, 1 * MiB, T0) == 0);

	/* limits changed mid-stream */
	qos_limiter_init(&q, 100, 0, T0);
	for (int i = 0; i < 100; i++)
		assert_true(qos_admit(&q, 512, T0) == 0);
	qos_limiter_set(&q, 1000, 512 * 10, T0);
	assert_true(qos_admit(&q, 512, T0) == MSEC); /* IOPS emptied; new bandwidth full */
	assert_true(qos_admit(&q, 512, T0 + MSEC) == 0);
	assert_true(q.bw.tokens == 512 * 9);
}

/*
 * What each op is charged (the workers' decision, qos_charged_bytes()):
 * one I/O always, its length only if it moves data. A tenant limited to
 * 200 IOPS gets 200 FLUSHes or DISCARDs a second, not unlimited ones; a
 * bandwidth limit alone does not hold them back, however long their range.
 */
static void test_qos_charge_every_op(void **state)
{
	struct qos_limiter q;
	uint64_t now, n = 0;

	(void)state;
	assert_true(qos_charged_bytes(true, 128 * KiB) == 128 * KiB); /* READ, WRITE */
	assert_true(qos_charged_bytes(false, 0) == 0); /* FLUSH */
	assert_true(qos_charged_bytes(false, 1ULL << 30) == 0); /* DISCARD, WRITE ZEROES */

	/* flushes alone: the burst, then one every 5 ms */
	qos_limiter_init(&q, 200, 0, T0);
	for (int i = 0; i < 200; i++)
		assert_true(qos_admit(&q, qos_charged_bytes(false, 0), T0) == 0);
	assert_true(qos_admit(&q, qos_charged_bytes(false, 0), T0) == 5 * MSEC);
	/* a greedy mix for 10 s (write, flush, 1 GiB discard): 200/s plus the burst */
	qos_limiter_init(&q, 200, 0, T0);
	for (now = T0; now <= T0 + 10 * SEC;) {
		bool data = n % 3 == 0;
		uint64_t w = qos_admit(&q, qos_charged_bytes(data, data ? 4 * KiB : 1ULL << 30), now);

		n += !w;
		now += w;
	}
	assert_true(diff_u64(n, 2200) <= 1);

	/* bandwidth limit only: discards of any length pass, the data still waits */
	qos_limiter_init(&q, 0, MiB, T0);
	for (int i = 0; i < 10000; i++)
		assert_true(qos_admit(&q, qos_charged_bytes(false, 1ULL << 30), T0) == 0);
	assert_true(qos_admit(&q, qos_charged_bytes(true, MiB), T0) == 0);
	assert_true(qos_admit(&q, qos_charged_bytes(true, 4 * KiB), T0) != 0);
}

/* WFQ: a flow of the test and the items it keeps queued */
struct tflow {
	struct wfq_flow f;
	uint64_t cost;
	uint64_t pops, bytes;
	bool active;
	struct wfq_item items[2];
};

static void tflow_init(struct tflow *t, unsigned weight, uint64_t cost)
{
	memset(t, 0, sizeof(*t));
	t->f.weight = weight;
	t->cost = cost;
	t->active = true;
	for (int i = 0; i < 2; i++)
		t->items[i].data = t;
}

static void tflow_push(struct wfq *q, struct tflow *t, struct wfq_item *it)
{
	assert_int_equal(wfq_push(q, &t->f, t->cost, it), 0);
}

/* Pop one; its flow, still backlogged, queues the same item again. */
static struct tflow *pop_repush(struct wfq *q)
{
	struct wfq_item *it = wfq_pop(q);
	struct tflow *t;

	assert_non_null(it);
	t = it->data;
	t->pops++;
	t->bytes += t->cost;
	if (t->active)
		tflow_push(q, t, it);
	return t;
}

static void test_wfq_weights(void **state)
{
	struct tflow a, b;
	struct wfq q;

	(void)state;
	wfq_init(&q);
	tflow_init(&a, 1, 1);
	tflow_init(&b, 3, 1);
	for (int i = 0; i < 2; i++) {
		tflow_push(&q, &a, &a.items[i]);
		tflow_push(&q, &b, &b.items[i]);
	}
	for (int i = 0; i < 4000; i++)
		pop_repush(&q);
	assert_true(diff_u64(a.pops, 1000) <= 1);
	assert_true(diff_u64(b.pops, 3000) <= 1);
	assert_true(wfq_len(&q) == 4);
	wfq_free(&q);
}

static void test_wfq_unequal_costs(void **state)
{
	struct tflow fl[3];
	struct wfq q;

	(void)state;
	wfq_init(&q);
	tflow_init(&fl[0], 1, 4 * KiB);
	tflow_init(&fl[1], 2, 512);
	tflow_init(&fl[2], 1, 64 * KiB);
	for (int i = 0; i < 2; i++)
		for (int f = 0; f < 3; f++)
			tflow_push(&q, &fl[f], &fl[f].items[i]);
	for (int i = 0; i < 200000; i++) {
		pop_repush(&q);
		/* bytes per weight stay within a request or so of each other */
		for (int f = 0; f < 3; f++)
			for (int g = 0; g < 3; g++) {
				uint64_t slack = 2 * (fl[f].cost / fl[f].f.weight +
						      fl[g].cost / fl[g].f.weight);

				assert_true(diff_u64(fl[f].bytes / fl[f].f.weight,
						     fl[g].bytes / fl[g].f.weight) <= slack);
			}
	}
	assert_true(fl[1].bytes > 64 * MiB); /* and it ran long enough to mean it */
	wfq_free(&q);
}

static void test_wfq_idle_no_credit(void **state)
{
	struct tflow fl[3];
	struct wfq q;
	uint64_t before[3];

	(void)state;
	wfq_init(&q);
	for (int f = 0; f < 3; f++) {
		tflow_init(&fl[f], 1, 4 * KiB);
		for (int i = 0; i < 2; i++)
			tflow_push(&q, &fl[f], &fl[f].items[i]);
	}
	for (int i = 0; i < 300; i++)
		pop_repush(&q);
	assert_true(fl[2].pops == 100);

	/* the third flow goes idle while the others run on */
	fl[2].active = false;
	for (int i = 0; i < 2000; i++)
		pop_repush(&q);
	assert_true(fl[2].pops == 102);
	assert_true(fl[2].f.finish < q.vtime);

	/* back: it starts at virtual time, not at its old finish tag */
	fl[2].active = true;
	for (int i = 0; i < 2; i++) {
		tflow_push(&q, &fl[2], &fl[2].items[i]);
		assert_true(fl[2].items[i].start == (i ? fl[2].items[0].tag : q.vtime));
	}
	for (int f = 0; f < 3; f++)
		before[f] = fl[f].pops;
	for (int i = 0; i < 300; i++)
		pop_repush(&q);
	for (int f = 0; f < 3; f++)
		assert_true(diff_u64(fl[f].pops - before[f], 100) <= 1);
	wfq_free(&q);
}

static void test_wfq_ahead_keeps_place(void **state)
{
	struct wfq_item it[3];
	struct wfq_flow a = { .weight = 1 }, b = { .weight = 1 };
	struct wfq q;

	(void)state;
	/* a flow that just had a dear request served is not let in again at vtime */
	wfq_init(&q);
	assert_int_equal(wfq_push(&q, &a, 100, &it[0]), 0);
	assert_int_equal(wfq_push(&q, &b, 1, &it[1]), 0);
	assert_ptr_equal(wfq_pop(&q), &it[1]);
	assert_ptr_equal(wfq_pop(&q), &it[0]);
	assert_true(q.vtime == 0 && a.finish == 100 * WFQ_SCALE);
	assert_int_equal(wfq_push(&q, &a, 1, &it[2]), 0);
	assert_true(it[2].start == 100 * WFQ_SCALE);
	wfq_free(&q);
}

static void test_wfq_fifo_ties(void **state)
{
	struct wfq_flow fl[12];
	struct wfq_item it[24];
	struct wfq q;

	(void)state;
	wfq_init(&q);
	/* cost / weight is the same for all: one tag, dispatched in arrival order */
	for (int i = 0; i < 12; i++) {
		fl[i] = (struct wfq_flow){ .weight = 1u << (i % 4) };
		assert_int_equal(wfq_push(&q, &fl[i], 1u << (i % 4), &it[i]), 0);
		assert_true(it[i].tag == WFQ_SCALE);
	}
	for (int i = 0; i < 12; i++) {
		assert_ptr_equal(wfq_pop(&q), &it[i]);
		/* late arrivals with the same tag queue behind */
		assert_int_equal(wfq_push(&q, &fl[i], 1u << (i % 4), &it[12 + i]), 0);
	}
	for (int i = 0; i < 12; i++)
		assert_ptr_equal(wfq_pop(&q), &it[12 + i]);
	assert_null(wfq_pop(&q));
	wfq_free(&q);
}

static void test_wfq_scale(void **state)
{
	struct wfq_flow heavy = { .weight = 1000 }, light = { .weight = 1 };
	struct wfq_item it[2];
	struct wfq q;

	(void)state;
	wfq_init(&q);
	/* a cost of 1 at weight 1000 still moves the tag */
	assert_int_equal(wfq_push(&q, &heavy, 1, &it[0]), 0);
	assert_true(it[0].tag == WFQ_SCALE / 1000 && it[0].tag > it[0].start);
	assert_int_equal(wfq_push(&q, &light, 1, &it[1]), 0);
	assert_true(it[1].tag == WFQ_SCALE);
	assert_ptr_equal(wfq_pop(&q), &it[0]);
	assert_ptr_equal(wfq_pop(&q), &it[1]);

	/* an absurd cost is capped, not wrapped round to the front */
	assert_int_equal(wfq_push(&q, &light, UINT64_MAX, &it[0]), 0);
	assert_int_equal(wfq_push(&q, &heavy, 1, &it[1]), 0);
	assert_true(it[0].tag > it[1].tag);
	assert_ptr_equal(wfq_pop(&q), &it[1]);
	assert_ptr_equal(wfq_pop(&q), &it[0]);

	/* weight 0 is taken as 1 rather than divided by */
	light.weight = 0;
	assert_int_equal(wfq_push(&q, &light, 1, &it[0]), 0);
	assert_true(it[0].tag - it[0].start == WFQ_SCALE);
	wfq_free(&q);
}

static void test_wfq_empty_and_free(void **state)
{
	struct wfq_flow f = { .weight = 1 };
	struct wfq_item it;
	struct wfq q;

	(void)state;
	wfq_init(&q);
	assert_null(wfq_pop(&q));
	assert_true(wfq_len(&q) == 0);
	wfq_free(&q);
	wfq_free(&q); /* idempotent */
	assert_int_equal(wfq_push(&q, &f, 1, &it), 0); /* usable again */
	assert_true(wfq_len(&q) == 1);
	assert_ptr_equal(wfq_pop(&q), &it);
	assert_null(wfq_pop(&q));
	wfq_free(&q);
	assert_null(q.heap);
}

static void test_wfq_wrap(void **state)
{
	struct tflow a, b;
	struct wfq_flow c = { .weight = 1 };
	struct wfq_item it[4];
	struct wfq q;
	uint64_t base = UINT64_MAX - 5 * WFQ_SCALE / 2;

	(void)state;
	/* virtual time crosses 2^64 with requests queued on both sides */
	wfq_init(&q);
	q.vtime = q.max_finish = base;
	tflow_init(&a, 1, 1);
	tflow_init(&b, 2, 1);
	a.f.finish = b.f.finish = base;
	for (int i = 0; i < 2; i++) {
		tflow_push(&q, &a, &a.items[i]);
		tflow_push(&q, &b, &b.items[i]);
	}
	for (int i = 0; i < 3000; i++)
		pop_repush(&q);
	assert_true(q.vtime < base); /* wrapped */
	assert_true(diff_u64(a.pops, 1000) <= 1 && diff_u64(b.pops, 2000) <= 1);

	/* finish tags behind vtime, or stale from a wrap ago: rejoin at vtime */
	c.finish = q.vtime - 5;
	assert_int_equal(wfq_push(&q, &c, 1, &it[0]), 0);
	assert_true(it[0].start == q.vtime);
	c.finish = q.vtime + (1ULL << 63) + 7;
	assert_int_equal(wfq_push(&q, &c, 1, &it[1]), 0);
	assert_true(it[1].start == q.vtime);
	c.finish = q.max_finish + 1;
	assert_int_equal(wfq_push(&q, &c, 1, &it[2]), 0);
	assert_true(it[2].start == q.vtime);
	/* ahead but within what was given out: keeps its place */
	c.finish = q.vtime + 1;
	assert_int_equal(wfq_push(&q, &c, 1, &it[3]), 0);
	assert_true(it[3].start == q.vtime + 1);
	wfq_free(&q);
}

/*
 * 100k random pushes and pops against a plain array scanned for the
 * smallest (tag, seq), with tags computed here without wrapping: the
 * queue starts near 2^64 so its own virtual time wraps on the way.
 */
#define MODEL_FLOWS 6
#define MODEL_OPS 100000
#define MODEL_BASE (UINT64_MAX - (1ULL << 38))

struct mitem {
	struct wfq_item *it;
	uint64_t tag, start, seq;
};

static struct wfq_item model_pool[MODEL_OPS];
static struct mitem model_q[MODEL_OPS];

static size_t model_min(const struct mitem *m, size_t n)
{
	size_t best = 0;

	for (size_t i = 1; i < n; i++)
		if (m[i].tag < m[best].tag || (m[i].tag == m[best].tag && m[i].seq < m[best].seq))
			best = i;
	return best;
}

static uint64_t model_cost(uint64_t r)
{
	switch (r % 8) {
	case 0:
	case 1:
		return 1; /* IOPS-style */
	case 2:
		return 1 + (r >> 8) % 100000; /* anything */
	default:
		return 512 * (1 + (r >> 8) % 256); /* bytes, up to 128 KiB */
	}
}

static void test_wfq_model(void **state)
{
	static const unsigned weights[MODEL_FLOWS] = { 1, 2, 3, 10, 1000, 70000 };
	struct wfq_flow fl[MODEL_FLOWS];
	uint64_t mfinish[MODEL_FLOWS] = { 0 };
	uint64_t seed = 0x6a09e667f3bcc909ULL, mvtime = 0, mseq = 0;
	size_t n = 0, used = 0, max_n = 0;
	struct wfq q;

	(void)state;
	wfq_init(&q);
	q.vtime = q.max_finish = MODEL_BASE;
	for (int f = 0; f < MODEL_FLOWS; f++)
		fl[f] = (struct wfq_flow){ .weight = weights[f], .finish = MODEL_BASE };
	for (int op = 0; op < MODEL_OPS; op++) {
		uint64_t r = next_rand(&seed);
		/* drift between a near-empty and a deep queue */
		bool push = n == 0 || (r % 1000) < (op / 10000 % 2 ? 400u : 600u);

		if (push) {
			unsigned f = (unsigned)((r >> 16) % MODEL_FLOWS);
			uint64_t cost = model_cost(r >> 24);
			struct mitem *m = &model_q[n++];

			m->it = &model_pool[used++];
			m->start = mvtime > mfinish[f] ? mvtime : mfinish[f];
			m->tag = m->start + cost * WFQ_SCALE / weights[f];
			m->seq = mseq++;
			mfinish[f] = m->tag;
			assert_int_equal(wfq_push(&q, &fl[f], cost, m->it), 0);
			assert_true(m->it->start == m->start + MODEL_BASE);
			assert_true(m->it->tag == m->tag + MODEL_BASE);
			assert_true(m->it->seq == m->seq);
		} else {
			size_t i = model_min(model_q, n);
			struct wfq_item *got = wfq_pop(&q);

			assert_ptr_equal(got, model_q[i].it);
			if (model_q[i].start > mvtime)
				mvtime = model_q[i].start;
			model_q[i] = model_q[--n];
			assert_true(q.vtime == mvtime + MODEL_BASE);
		}
		assert_true(wfq_len(&q) == n);
		max_n = n > max_n ? n : max_n;
	}
	while (n) {
		size_t i = model_min(model_q, n);

		assert_ptr_equal(wfq_pop(&q), model_q[i].it);
		model_q[i] = model_q[--n];
	}
	assert_null(wfq_pop(&q));
	assert_true(mvtime > UINT64_MAX - MODEL_BASE); /* it did wrap */
	assert_true(max_n > 1000); /* and the heap grew deep */
	wfq_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tb_burst_then_throttle),
		cmocka_unit_test(test_tb_ten_seconds),
		cmocka_unit_test(test_tb_wait_exact),
		cmocka_unit_test(test_tb_oversized_debt),
		cmocka_unit_test(test_tb_set_rate),
		cmocka_unit_test(test_tb_unlimited),
		cmocka_unit_test(test_tb_no_rounding_loss),
		cmocka_unit_test(test_tb_extremes),
		cmocka_unit_test(test_qos_iops_bound),
		cmocka_unit_test(test_qos_bw_bound),
		cmocka_unit_test(test_qos_both_limits),
		cmocka_unit_test(test_qos_charge_every_op),
		cmocka_unit_test(test_wfq_weights),
		cmocka_unit_test(test_wfq_unequal_costs),
		cmocka_unit_test(test_wfq_idle_no_credit),
		cmocka_unit_test(test_wfq_ahead_keeps_place),
		cmocka_unit_test(test_wfq_fifo_ties),
		cmocka_unit_test(test_wfq_scale),
		cmocka_unit_test(test_wfq_empty_and_free),
		cmocka_unit_test(test_wfq_wrap),
		cmocka_unit_test(test_wfq_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
