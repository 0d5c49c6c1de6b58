/* SPDX-License-Identifier: MIT */
/* Admission (sched/admit.h): QoS gate, held order, weighted turns, on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sched/admit.h"

#define MSEC 1000000ULL
#define T0 (7 * NSEC_PER_SEC) /* the fake clock does not start at 0 */
#define MAX_GONE 1024

/* A gate closed until open_at; it counts its calls. */
struct fake_gate {
	struct admit_gate g;
	uint64_t open_at;
	unsigned calls;
};

static uint64_t fake_admit(struct admit_gate *g, uint64_t bytes, uint64_t now)
{
	struct fake_gate *f = (struct fake_gate *)g;

	(void)bytes;
	f->calls++;
	return now >= f->open_at ? 0 : f->open_at - now;
}

static void gate_init(struct fake_gate *f, unsigned cls, unsigned weight, uint64_t open_at)
{
	memset(f, 0, sizeof(*f));
	f->g.admit = fake_admit;
	atomic_init(&f->g.cls, cls);
	atomic_init(&f->g.weight, weight);
	cost_model_init(&f->g.cost);
	f->open_at = open_at;
}

/* What the callbacks saw: requests gone (in order, and when), releases. */
struct seen {
	struct admit_item *gone[MAX_GONE];
	uint64_t gone_at[MAX_GONE];
	unsigned nr_gone;
	unsigned released;
	uint64_t held_ns;
};

static void on_go(struct admit *a, struct admit_item *it, uint64_t now)
{
	struct seen *s = a->ctx;

	assert_true(s->nr_gone < MAX_GONE);
	s->gone_at[s->nr_gone] = now;
	s->gone[s->nr_gone++] = it;
}

static void on_released(struct admit *a, struct admit_item *it, uint64_t now)
{
	struct seen *s = a->ctx;

	s->released++;
	s->held_ns += now - it->arrive_ns;
}

static const struct admit_ops ops = { .go = on_go, .released = on_released };

static enum admit_verdict ask(struct admit *a, struct admit_item *it, struct admit_flow *f,
			      enum io_op op, uint64_t len, uint64_t now)
{
	admit_item_init(it, f, op, len, false, now);
	return admit_request(a, it, now);
}

/* A held request goes when its gate opens, through ops->go, its wait counted. */
static void test_held_goes_when_due(void **state)
{
	struct admit a;
	struct seen s = { 0 };
	struct fake_gate g;
	struct admit_flow f;
	struct admit_item it;

	(void)state;
	admit_init(&a, &ops, &s);
	gate_init(&g, 0, 1, T0 + 3 * MSEC);
	admit_flow_init(&f, &g.g);
	assert_int_equal(admit_retry_at(&a), 0);
	assert_int_equal(ask(&a, &it, &f, IO_OP_READ, 4096, T0), ADMIT_HELD);
	assert_int_equal(f.held, 1);
	assert_int_equal(admit_retry_at(&a), T0 + 3 * MSEC);
	admit_retry(&a, T0 + 1 * MSEC); /* early: still closed, asks again when it opens */
	assert_int_equal(s.nr_gone, 0);
	assert_int_equal(admit_retry_at(&a), T0 + 3 * MSEC);
	admit_retry(&a, T0 + 3 * MSEC);
	assert_int_equal(s.nr_gone, 1);
	assert_ptr_equal(s.gone[0], &it);
	assert_int_equal(s.gone_at[0], T0 + 3 * MSEC);
	assert_int_equal(s.released, 1);
	assert_int_equal(s.held_ns, 3 * MSEC);
	assert_int_equal(f.held, 0);
	assert_int_equal(admit_retry_at(&a), 0);
	assert_int_equal(a.inflight[0], 1);
	admit_done(&a, &it, T0 + 4 * MSEC);
	assert_int_equal(a.inflight[0], 0);
	admit_free(&a);
}

/*
 * Once a flow is refused, its later requests wait behind the first, even
 * those the gate would let go, and even within one retry pass; another
 * flow's requests are not held up.
 */
static void test_refused_flow_keeps_order(void **state)
{
	struct admit a;
	struct seen s = { 0 };
	struct fake_gate g1, g2;
	struct admit_flow f1, f2;
	struct admit_item it[4], other;

	(void)state;
	admit_init(&a, &ops, &s);
	gate_init(&g1, 0, 1, T0 + 2 * MSEC);
	gate_init(&g2, 0, 1, 0);
	admit_flow_init(&f1, &g1.g);
	admit_flow_init(&f2, &g2.g);
	assert_int_equal(ask(&a, &it[0], &f1, IO_OP_WRITE, 8192, T0), ADMIT_HELD);
	g1.open_at = 0; /* the gate would let the next one go: it waits behind the first */
	g1.calls = 0;
	assert_int_equal(ask(&a, &it[1], &f1, IO_OP_FLUSH, 0, T0), ADMIT_HELD);
	assert_int_equal(g1.calls, 0);
	assert_int_equal(admit_retry_at(&a), T0 + 1); /* behind a held one: due at once */
	assert_int_equal(ask(&a, &other, &f2, IO_OP_READ, 4096, T0), ADMIT_GO);
	/* Closed again for it[0]: the pass asks once, and it[1] stays behind it. */
	g1.open_at = T0 + 2 * MSEC;
	admit_retry(&a, T0 + 1);
	assert_int_equal(g1.calls, 1);
	assert_int_equal(s.nr_gone, 0);
	assert_int_equal(f1.held, 2);
	assert_int_equal(admit_retry_at(&a), T0 + 2 * MSEC);
	assert_int_equal(ask(&a, &it[2], &f1, IO_OP_READ, 4096, T0 + MSEC), ADMIT_HELD);
	admit_retry(&a, T0 + 2 * MSEC);
	assert_int_equal(s.nr_gone, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_ptr_equal(s.gone[i], &it[i]);
	assert_int_equal(s.released, 3);
	assert_int_equal(admit_retry_at(&a), 0);
	admit_free(&a);
}

/* A flow without a gate, or with a class out of range, shares in class 0. */
static void test_no_gate_class_zero(void **state)
{
	struct admit a;
	struct seen s = { 0 };
	struct fake_gate g;
	struct admit_flow f, fg;
	struct admit_item it, jt;

	(void)state;
	admit_init(&a, &ops, &s);
	admit_flow_init(&f, NULL);
	gate_init(&g, 7, 1, 0);
	admit_flow_init(&fg, &g.g);
	assert_int_equal(ask(&a, &it, &f, IO_OP_DISCARD, 1 << 20, T0), ADMIT_GO);
	assert_int_equal(it.cls, 0);
	assert_int_equal(it.bytes, 0); /* moves no data: one I/O, no bytes */
	assert_int_equal(it.cost, ADMIT_NODATA_COST);
	assert_int_equal(ask(&a, &jt, &fg, IO_OP_WRITE, 65536, T0), ADMIT_GO);
	assert_int_equal(jt.cls, 0);
	assert_int_equal(jt.bytes, 65536);
	assert_int_equal(jt.cost, cost_of(&g.g.cost, IO_OP_WRITE, false, 65536)); /* its gate's model */
	assert_int_equal(a.inflight[0], 2);
	assert_int_equal(s.nr_gone, 0); /* ADMIT_GO: the caller sends it, not ops->go */
	admit_free(&a);
}

/*
 * With every slot of a class taken, requests wait for their turn; each
 * freed slot lets the next go, in weighted fair order: a flow of weight 3
 * gets three turns for each of a weight-1 flow's. Other classes are not
 * affected.
 */
static void test_weighted_turns(void **state)
{
	static struct admit_item busy[ADMIT_SHARE_INFLIGHT], heavy[60], light[60];
	struct admit a;
	struct seen s = { 0 };
	struct fake_gate gh, gl, gx;
	struct admit_flow fh, fl, fx;
	struct admit_item x;
	unsigned nh = 0, nl = 0;

	(void)state;
	admit_init(&a, &ops, &s);
	gate_init(&gh, 1, 3, 0);
	gate_init(&gl, 1, 1, 0);
	gate_init(&gx, 2, 1, 0);
	admit_flow_init(&fh, &gh.g);
	admit_flow_init(&fl, &gl.g);
	admit_flow_init(&fx, &gx.g);
	for (unsigned i = 0; i < ADMIT_SHARE_INFLIGHT; i++)
		assert_int_equal(ask(&a, &busy[i], &fl, IO_OP_READ, 4096, T0), ADMIT_GO);
	for (unsigned i = 0; i < 60; i++) {
		assert_int_equal(ask(&a, &heavy[i], &fh, IO_OP_READ, 4096, T0), ADMIT_WAITING);
		assert_int_equal(ask(&a, &light[i], &fl, IO_OP_READ, 4096, T0), ADMIT_WAITING);
	}
	assert_int_equal(ask(&a, &x, &fx, IO_OP_READ, 4096, T0), ADMIT_GO); /* class 2 is free */
	/* One slot freed: exactly one goes. */
	admit_done(&a, &busy[0], T0 + 1);
	assert_int_equal(s.nr_gone, 1);
	assert_int_equal(s.gone_at[0], T0 + 1);
	assert_int_equal(a.inflight[1], ADMIT_SHARE_INFLIGHT);
	/* 39 more: 40 turns in all, 3 heavy to 1 light. */
	for (unsigned i = 1; i < 40; i++)
		admit_done(&a, &busy[i], T0 + 1 + i);
	assert_int_equal(s.nr_gone, 40);
	for (unsigned i = 0; i < s.nr_gone; i++) {
		bool is_heavy = s.gone[i] >= heavy && s.gone[i] < heavy + 60;

		nh += is_heavy;
		nl += !is_heavy;
	}
	assert_int_equal(nh, 30);
	assert_int_equal(nl, 10);
	/* Each flow's requests in their order. */
	assert_ptr_equal(s.gone[0], &heavy[0]);
	for (unsigned i = 0, h = 0, l = 0; i < s.nr_gone; i++) {
		if (s.gone[i] >= heavy && s.gone[i] < heavy + 60)
			assert_ptr_equal(s.gone[i], &heavy[h++]);
		else
			assert_ptr_equal(s.gone[i], &light[l++]);
	}
	admit_free(&a);
}

/*
 * Turns go by what requests cost the device (common/cost.h), not by
 * count or bytes: at equal weights, a flow of FLUSHes (each 16 4 KiB
 * writes' worth) gets one turn to the 4 KiB readers' ~40, where counting
 * requests would split the turns evenly.
 */
static void test_turns_by_cost(void **state)
{
	static struct admit_item busy[ADMIT_SHARE_INFLIGHT], flush[60], rd[60];
	struct admit a;
	struct seen s = { 0 };
	struct fake_gate gf, gr;
	struct admit_flow ff, fr;
	struct cost_model m;
	unsigned nf = 0, want_reads;

	(void)state;
	cost_model_init(&m);
	want_reads = (unsigned)(cost_of(&m, IO_OP_FLUSH, false, 0) / cost_of(&m, IO_OP_READ, false, 4096));
	assert_true(want_reads > 20 && want_reads < 59);
	admit_init(&a, &ops, &s);
	gate_init(&gf, 1, 1, 0);
	gate_init(&gr, 1, 1, 0);
	admit_flow_init(&ff, &gf.g);
	admit_flow_init(&fr, &gr.g);
	for (unsigned i = 0; i < ADMIT_SHARE_INFLIGHT; i++)
		assert_int_equal(ask(&a, &busy[i], &fr, IO_OP_READ, 4096, T0), ADMIT_GO);
	for (unsigned i = 0; i < 60; i++) {
		assert_int_equal(ask(&a, &flush[i], &ff, IO_OP_FLUSH, 0, T0), ADMIT_WAITING);
		assert_int_equal(ask(&a, &rd[i], &fr, IO_OP_READ, 4096, T0), ADMIT_WAITING);
	}
	for (unsigned i = 0; i < want_reads + 2; i++)
		admit_done(&a, &busy[i], T0 + 1 + i);
	for (unsigned i = 0; i < s.nr_gone; i++)
		nf += s.gone[i] >= flush && s.gone[i] < flush + 60;
	assert_true(nf >= 1 && nf <= 2);
	admit_free(&a);
}

/* A reserved gate covering n requests, then none. */
static unsigned reserve_left;
static bool fake_reserved(struct admit_gate *g, uint64_t cost, uint64_t now)
{
	(void)g, (void)cost, (void)now;
	if (!reserve_left)
		return false;
	reserve_left--;
	return true;
}

/*
 * A request within its tenant's reservation skips the full class's
 * weighted queue; past the reservation it waits its turn like the others.
 */
static void test_reserved_skips_the_queue(void **state)
{
	static struct admit_item busy[ADMIT_SHARE_INFLIGHT], mine[5];
	struct admit a;
	struct seen s = { 0 };
	struct fake_gate gb, gr;
	struct admit_flow fb, fr;

	(void)state;
	admit_init(&a, &ops, &s);
	gate_init(&gb, 1, 1, 0);
	gate_init(&gr, 1, 1, 0);
	gr.g.reserved = fake_reserved;
	admit_flow_init(&fb, &gb.g);
	admit_flow_init(&fr, &gr.g);
	for (unsigned i = 0; i < ADMIT_SHARE_INFLIGHT; i++)
		assert_int_equal(ask(&a, &busy[i], &fb, IO_OP_READ, 4096, T0), ADMIT_GO);
	reserve_left = 3;
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(ask(&a, &mine[i], &fr, IO_OP_READ, 4096, T0),
				 i < 3 ? ADMIT_GO : ADMIT_WAITING);
	assert_int_equal(a.inflight[1], ADMIT_SHARE_INFLIGHT + 3);
	/* the slots come back as they complete; the waiting two go once below the limit */
	for (unsigned i = 0; i < 3; i++)
		admit_done(&a, &mine[i], T0 + 1);
	assert_int_equal(s.nr_gone, 0);
	admit_done(&a, &busy[0], T0 + 2);
	admit_done(&a, &busy[1], T0 + 2);
	assert_int_equal(s.nr_gone, 2);
	admit_free(&a);
}

/*
 * A request held at a long wait asks again within ADMIT_RECHECK_NS: a gate
 * lifted meanwhile lets it (and those behind it) go then, not at the end
 * of the old wait; still refused, it keeps waiting.
 */
static void test_gate_lifted_mid_wait(void **state)
{
	struct admit a;
	struct seen s = { 0 };
	struct fake_gate g;
	struct admit_flow f;
	struct admit_item it[2];

	(void)state;
	admit_init(&a, &ops, &s);
	gate_init(&g, 0, 1, T0 + 10 * NSEC_PER_SEC);
	admit_flow_init(&f, &g.g);
	assert_int_equal(ask(&a, &it[0], &f, IO_OP_WRITE, 1 << 20, T0), ADMIT_HELD);
	assert_int_equal(ask(&a, &it[1], &f, IO_OP_WRITE, 1 << 20, T0), ADMIT_HELD);
	assert_int_equal(admit_retry_at(&a), T0 + 1);
	admit_retry(&a, T0 + 1);
	assert_int_equal(admit_retry_at(&a), T0 + 1 + ADMIT_RECHECK_NS);
	admit_retry(&a, T0 + 1 + ADMIT_RECHECK_NS); /* still closed */
	assert_int_equal(s.nr_gone, 0);
	assert_int_equal(admit_retry_at(&a), T0 + 1 + 2 * ADMIT_RECHECK_NS);
	g.open_at = 0; /* lifted (reload, del) */
	admit_retry(&a, T0 + 1 + 2 * ADMIT_RECHECK_NS);
	assert_int_equal(s.nr_gone, 2);
	assert_ptr_equal(s.gone[0], &it[0]);
	assert_ptr_equal(s.gone[1], &it[1]);
	assert_int_equal(s.held_ns, 2 * (1 + 2 * ADMIT_RECHECK_NS));
	assert_int_equal(f.held, 0);
	assert_int_equal(admit_retry_at(&a), 0);
	admit_free(&a);
}

/* Released from its gate into a full class: it waits for its turn, then goes. */
static void test_released_into_full_class(void **state)
{
	static struct admit_item busy[ADMIT_SHARE_INFLIGHT];
	struct admit a;
	struct seen s = { 0 };
	struct fake_gate g;
	struct admit_flow f, free_flow;
	struct admit_item it;

	(void)state;
	admit_init(&a, &ops, &s);
	admit_flow_init(&free_flow, NULL);
	gate_init(&g, 0, 2, T0 + MSEC);
	admit_flow_init(&f, &g.g);
	for (unsigned i = 0; i < ADMIT_SHARE_INFLIGHT; i++)
		assert_int_equal(ask(&a, &busy[i], &free_flow, IO_OP_READ, 4096, T0), ADMIT_GO);
	assert_int_equal(ask(&a, &it, &f, IO_OP_READ, 4096, T0), ADMIT_HELD);
	admit_retry(&a, T0 + MSEC);
	assert_int_equal(s.released, 1);
	assert_int_equal(s.nr_gone, 0);
	assert_int_equal(admit_retry_at(&a), 0);
	admit_done(&a, &busy[5], T0 + 2 * MSEC);
	assert_int_equal(s.nr_gone, 1);
	assert_ptr_equal(s.gone[0], &it);
	assert_int_equal(s.gone_at[0], T0 + 2 * MSEC);
	admit_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_held_goes_when_due),
		cmocka_unit_test(test_refused_flow_keeps_order),
		cmocka_unit_test(test_no_gate_class_zero),
		cmocka_unit_test(test_weighted_turns),
		cmocka_unit_test(test_turns_by_cost),
		cmocka_unit_test(test_reserved_skips_the_queue),
		cmocka_unit_test(test_gate_lifted_mid_wait),
		cmocka_unit_test(test_released_into_full_class),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
