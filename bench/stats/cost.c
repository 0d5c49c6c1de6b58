/* SPDX-License-Identifier: MIT */
/*
 * What the live statistics add to one request, measured on the host: the
 * exact sequence ublk/worker.c runs (arrival clock read and counters,
 * completion clock read, two histogram samples, op/byte counters, the NQ
 * bit, the release store), against an empty loop. Varying latencies so the
 * histogram buckets move as they would.
 *
 *   cc -O2 -D_GNU_SOURCE -I. bench/stats/cost.c stats/hist.c stats/io.c \
 *      sched/lathist.c -o /tmp/stats-cost && /tmp/stats-cost
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "stats/io.h"

#define N 20000000ULL

static struct stats_io st; /* one tenant queue */
static _Atomic uint64_t w_ublk; /* the worker's own counter */

/* Per request, as the worker does it; clock() is the worker's clock read or a fake one. */
static inline void one_request(uint64_t i, uint64_t (*clock)(uint64_t))
{
	uint64_t arrive = clock(i), now, submit;

	stats_add(&w_ublk, 1);
	stats_add(&st.arrived, 1);
	now = clock(i);
	submit = arrive + (i & 7);
	stats_hist_record(&st.queue_lat, submit - arrive);
	stats_hist_record(&st.dev_lat, (now - submit) + ((i * 2654435761u) & 0xfffff));
	stats_add(&st.ops[IO_OP_READ], 1);
	stats_add(&st.bytes[IO_OP_READ], 4096);
	stats_io_nq_used(&st, (unsigned)(i & 1));
	stats_add_release(&st.completed, 1);
}

static uint64_t real_clock(uint64_t i)
{
	(void)i;
	return monotonic_ns();
}

static uint64_t fake_clock(uint64_t i)
{
	return i * 1000; /* the counters alone */
}

int main(void)
{
	uint64_t t0, t1, t2, t3, t4;
	volatile uint64_t sink = 0;

	t0 = monotonic_ns();
	for (uint64_t i = 0; i < N; i++)
		one_request(i, real_clock);
	t1 = monotonic_ns();
	for (uint64_t i = 0; i < N; i++)
		sink += monotonic_ns() + monotonic_ns(); /* the two clock reads alone */
	t2 = monotonic_ns();
	for (uint64_t i = 0; i < N; i++)
		sink += i; /* loop overhead */
	t3 = monotonic_ns();
	for (uint64_t i = 0; i < N; i++)
		one_request(i, fake_clock);
	t4 = monotonic_ns();
	printf("per request: statistics with clock reads %.1f ns; the 2 clock reads alone %.1f ns; "
	       "the counters alone %.1f ns (empty loop %.2f ns)\n", (double)(t1 - t0) / N,
	       (double)(t2 - t1) / N, (double)(t4 - t3) / N, (double)(t3 - t2) / N);
	printf("counted %llu requests; sizeof(struct stats_io) = %zu bytes per tenant queue\n",
	       (unsigned long long)stats_read(&st.completed) / 2, sizeof(struct stats_io));
	return sink == 42;
}
