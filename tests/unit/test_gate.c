/* SPDX-License-Identifier: MIT */
/*
 * A tenant's QoS gate (daemon/gate.c) as the workers see it: every op
 * charged, and lifted before its device is stopped (tenant_del), so that
 * requests held at the limit go at once instead of timing the stop out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/clock.h"
#include "daemon/daemon.h"

#define MSEC 1000000ULL

/* As a worker asks: the op's charged bytes, the real clock (the gate's own). */
static uint64_t ask(struct tenant_gate *g, bool data, uint64_t len)
{
	return g->gate.admit(&g->gate, qos_charged_bytes(data, len), monotonic_ns());
}

static const struct cost_model cost = { COST_DEFAULT_READ_IOPS, COST_DEFAULT_READ_BW,
					COST_DEFAULT_WRITE_IOPS, COST_DEFAULT_WRITE_BW };

/* 50 IOPS: after the burst a FLUSH waits like a write does. */
static void test_gate_limits_flush(void **state)
{
	struct conf_qos qos = { .iops_limit = 50, .weight = 100 };
	struct tenant_gate *g = gate_new(CONF_CLASS_BESTEFFORT, &qos, &cost);
	unsigned admitted = 0;

	(void)state;
	assert_non_null(g);
	for (int i = 0; i < 100; i++)
		admitted += ask(g, false, 0) == 0;
	/* the burst (50), and at most a token or two the clock added meanwhile */
	assert_in_range(admitted, 50, 52);
	assert_true(ask(g, false, 0) > 0);
	assert_true(ask(g, true, 4096) > 0);
	gate_free(g);
}

/* Lifted: everything goes, held or new, data or not; gate_set limits again. */
static void test_gate_lift(void **state)
{
	struct conf_qos qos = { .iops_limit = 50, .bw_limit = 4096, .weight = 100 };
	struct tenant_gate *g = gate_new(CONF_CLASS_BESTEFFORT, &qos, &cost);

	(void)state;
	assert_non_null(g);
	assert_true(ask(g, true, 1 << 20) == 0); /* into a debt of 255 s */
	assert_true(ask(g, true, 4096) > 100 * 1000 * MSEC);
	gate_lift(g);
	for (int i = 0; i < 10000; i++) {
		assert_true(ask(g, true, 1 << 20) == 0);
		assert_true(ask(g, false, 0) == 0);
	}
	gate_set(g, CONF_CLASS_BESTEFFORT, &qos);
	for (int i = 0; i < 60 && ask(g, false, 0) == 0; i++)
		;
	assert_true(ask(g, false, 0) > 0); /* the limit is back, from a full bucket */
	gate_lift(NULL); /* a tenant without a gate yet */
	gate_free(g);
}

/*
 * A reservation of 100 IOPS covers a second's worth of 4 KiB reads at
 * once (its bucket's burst), then about 100 a second; a 128 KiB write
 * takes more of it than a read. Removed, it covers nothing.
 */
static void test_gate_reservation(void **state)
{
	struct conf_qos qos = { .weight = 100, .min_iops = 100 };
	struct tenant_gate *g = gate_new(CONF_CLASS_THROUGHPUT, &qos, &cost);
	uint64_t rd = cost_of(&cost, IO_OP_READ, false, 4096), now = monotonic_ns();
	unsigned covered = 0;

	(void)state;
	assert_non_null(g);
	for (int i = 0; i < 200; i++)
		covered += g->gate.reserved(&g->gate, rd, now);
	assert_int_equal(covered, 100);
	/* half a second later: 50 more reads' worth, or one 128 KiB write (~28 reads) and 22 reads */
	now += 500 * MSEC;
	assert_true(g->gate.reserved(&g->gate, cost_of(&cost, IO_OP_WRITE, false, 131072), now));
	for (covered = 0; g->gate.reserved(&g->gate, rd, now); covered++)
		assert_true(covered < 50);
	assert_true(covered > 15 && covered < 28);
	qos.min_iops = 0;
	gate_set(g, CONF_CLASS_THROUGHPUT, &qos);
	now += 1000 * MSEC;
	assert_false(g->gate.reserved(&g->gate, rd, now));
	gate_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gate_limits_flush),
		cmocka_unit_test(test_gate_lift),
		cmocka_unit_test(test_gate_reservation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
