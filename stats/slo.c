/* SPDX-License-Identifier: MIT */
/* Per-tenant service objectives over fixed intervals (see slo.h). */
#include "stats/slo.h"

#include <string.h>

bool slo_due(const struct slo_track *t, uint64_t now_ns)
{
	return !t->at_ns || now_ns >= t->at_ns + SLO_INTERVAL_NS;
}

static uint64_t per_s(uint64_t n, uint64_t dt_ns)
{
	double v = (double)n * 1e9 / (double)dt_ns;

	return v >= 1.8e19 ? UINT64_MAX : (uint64_t)v;
}

/* Counters only grow -- unless the device was made anew (reshape): then 0, not a wrap. */
static uint64_t minus(uint64_t now, uint64_t before)
{
	return now > before ? now - before : 0;
}

void slo_update(struct slo_track *t, const struct stats_io_snap *cur, uint64_t now_ns,
		uint64_t target_ns, const struct cost_model *m)
{
	uint64_t dt = now_ns - t->at_ns, ios = 0, bytes = 0, used = 0;
	struct stats_hist_snap d;

	if (t->at_ns && now_ns > t->at_ns) {
		stats_hist_snap_delta(&d, &cur->lat, &t->lat);
		for (unsigned op = 0; op < IO_NR_OPS; op++) {
			uint64_t n = minus(cur->ops[op], t->ops[op]);
			uint64_t b = minus(cur->bytes[op], t->bytes[op]);

			ios += n;
			bytes += io_op_moves_data(op) ? b : 0;
			used += cost_of_many(m, op, n, io_op_moves_data(op) ? b : 0);
		}
		t->p99_ns = stats_hist_quantile(&d, 0.99);
		t->iops = per_s(ios, dt);
		t->bytes_per_s = per_s(bytes, dt);
		t->used = per_s(used, dt);
		if (target_ns && stats_hist_total(&d)) {
			t->intervals++;
			t->violations += t->p99_ns > target_ns;
		}
	}
	t->at_ns = now_ns ? now_ns : 1;
	t->lat = cur->lat;
	memcpy(t->ops, cur->ops, sizeof(t->ops));
	memcpy(t->bytes, cur->bytes, sizeof(t->bytes));
}
