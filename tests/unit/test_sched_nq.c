/* SPDX-License-Identifier: MIT */
/* NQ descriptions and groups: join-shortest-queue and the victim choice (sched/nq.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sched/nq.h"

#define NR 6

static struct nq nqs[NR];

static void reset_nqs(unsigned depth)
{
	for (unsigned i = 0; i < NR; i++) {
		enum nq_kind kind = i % 2 ? NQ_POLL : NQ_DEFAULT;

		nqs[i] = (struct nq){ .index = i, .kind = kind, .depth = depth };
	}
}

/* A group of members[] in that order. */
static void group_of(struct nq_group *g, const unsigned *members, unsigned nr)
{
	assert_int_equal(nq_group_init(g, NR), 0);
	for (unsigned i = 0; i < nr; i++)
		nq_group_add(g, members[i]);
}

static void test_desc_cpus(void **state)
{
	struct nq_desc d;

	(void)state;
	nq_desc_init(&d, NQ_POLL, 32);
	assert_int_equal(d.kind, NQ_POLL);
	assert_int_equal(d.depth, 32);
	assert_false(nq_desc_has_cpu(&d, 0));
	nq_desc_add_cpu(&d, 0);
	nq_desc_add_cpu(&d, 65);
	nq_desc_add_cpu(&d, 255);
	assert_true(nq_desc_has_cpu(&d, 0));
	assert_true(nq_desc_has_cpu(&d, 65));
	assert_true(nq_desc_has_cpu(&d, 255));
	assert_false(nq_desc_has_cpu(&d, 1));
	assert_false(nq_desc_has_cpu(&d, 64));
	assert_true(nq_desc_has_cpu(&d, NQ_MAX_CPUS + 65)); /* folds modulo */
}

static void test_group_membership(void **state)
{
	static const unsigned m[] = { 4, 1, 3, 0 };
	struct nq_group g;

	(void)state;
	group_of(&g, m, 4);
	assert_int_equal(g.nr, 4);
	nq_group_remove(&g, 1);
	nq_group_remove(&g, 5); /* not a member: nothing happens */
	assert_int_equal(g.nr, 3);
	assert_int_equal(g.member[0], 4);
	assert_int_equal(g.member[1], 3); /* the others keep their order */
	assert_int_equal(g.member[2], 0);
	nq_group_add(&g, 1);
	assert_int_equal(g.member[3], 1);
	nq_group_free(&g);
	assert_null(g.member);
}

static void test_pick_shortest(void **state)
{
	static const unsigned m[] = { 0, 1, 2, 3 };
	struct nq_group g;

	(void)state;
	reset_nqs(8);
	group_of(&g, m, 4);
	nqs[0].inflight = 3;
	nqs[1].inflight = 1;
	nqs[2].inflight = 2;
	nqs[3].inflight = 4;
	assert_int_equal(nq_group_pick(&g, nqs), 1);
	nqs[1].inflight = 5;
	assert_int_equal(nq_group_pick(&g, nqs), 2);
	nqs[4].inflight = 0; /* not a member: never picked */
	assert_int_equal(nq_group_pick(&g, nqs), 2);
	nq_group_free(&g);
}

static void test_pick_ties(void **state)
{
	static const unsigned m[] = { 3, 0, 2 };
	struct nq_group g;

	(void)state;
	reset_nqs(8);
	group_of(&g, m, 3);
	/* Equal counts: fewer bytes wins. */
	for (unsigned i = 0; i < NR; i++)
		nqs[i].inflight = 2;
	nqs[3].inflight_bytes = 256 << 10;
	nqs[0].inflight_bytes = 8 << 10;
	nqs[2].inflight_bytes = 128 << 10;
	assert_int_equal(nq_group_pick(&g, nqs), 0);
	/* Equal counts and bytes: the earliest member, in group order, not index order. */
	nqs[3].inflight_bytes = nqs[0].inflight_bytes = nqs[2].inflight_bytes = 4096;
	assert_int_equal(nq_group_pick(&g, nqs), 3);
	assert_int_equal(nq_group_pick(&g, nqs), 3); /* the same again: no rotation */
	/* Idle queues: the earliest idle one. */
	nqs[0].inflight = nqs[2].inflight = 0;
	nqs[0].inflight_bytes = nqs[2].inflight_bytes = 0;
	assert_int_equal(nq_group_pick(&g, nqs), 0);
	nq_group_free(&g);
}

static void test_pick_respects_depth_and_draining(void **state)
{
	static const unsigned m[] = { 0, 1, 2 };
	struct nq_group g;

	(void)state;
	reset_nqs(4);
	group_of(&g, m, 3);
	nqs[0].inflight = 4; /* full: at its tag depth */
	nqs[1].inflight = 3;
	nqs[2].inflight = 0;
	nqs[2].draining = true; /* idle-looking, but not usable yet */
	assert_int_equal(nq_group_pick(&g, nqs), 1);
	nqs[1].inflight = 4;
	assert_int_equal(nq_group_pick(&g, nqs), -1);
	nqs[2].draining = false;
	assert_int_equal(nq_group_pick(&g, nqs), 2);
	nq_group_free(&g);

	assert_int_equal(nq_group_init(&g, NR), 0);
	assert_int_equal(nq_group_pick(&g, nqs), -1); /* empty group */
	nq_group_free(&g);
}

static void test_victim(void **state)
{
	static const unsigned m[] = { 0, 1, 2, 3 }; /* kinds: D P D P */
	struct nq_group g;

	(void)state;
	reset_nqs(8);
	group_of(&g, m, 4);
	/* Of the preferred kind, the latest to join among the least loaded. */
	assert_int_equal(nq_group_victim(&g, nqs, NQ_DEFAULT), 2);
	assert_int_equal(nq_group_victim(&g, nqs, NQ_POLL), 3);
	nqs[3].inflight = 1;
	assert_int_equal(nq_group_victim(&g, nqs, NQ_POLL), 1);
	/* Kind beats load. */
	nqs[1].inflight = 7;
	assert_int_equal(nq_group_victim(&g, nqs, NQ_POLL), 3);
	nq_group_remove(&g, 1);
	nq_group_remove(&g, 3);
	/* No member of the preferred kind: any, least loaded. */
	nqs[2].inflight = 2;
	assert_int_equal(nq_group_victim(&g, nqs, NQ_POLL), 0);
	nq_group_free(&g);
	assert_int_equal(nq_group_init(&g, NR), 0);
	assert_int_equal(nq_group_victim(&g, nqs, NQ_POLL), -1);
	nq_group_free(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_desc_cpus),
		cmocka_unit_test(test_group_membership),
		cmocka_unit_test(test_pick_shortest),
		cmocka_unit_test(test_pick_ties),
		cmocka_unit_test(test_pick_respects_depth_and_draining),
		cmocka_unit_test(test_victim),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
