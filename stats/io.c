/* SPDX-License-Identifier: MIT */
/* Per-tenant I/O statistics (see io.h). */
#include "stats/io.h"

#include <errno.h>

/* Wire names: stable, documented in the README. */
static const char *const op_names[IO_NR_OPS] = {
	"read", "write", "flush", "discard", "write_zeroes",
};

static const char *const err_names[STATS_NR_ERRS] = {
	"out_of_range", "unsupported", "io", "timeout", "other",
};

const char *stats_op_name(enum io_op op)
{
	return (unsigned)op < IO_NR_OPS ? op_names[op] : "unknown";
}

const char *stats_err_name(enum stats_err e)
{
	return (unsigned)e < STATS_NR_ERRS ? err_names[e] : "unknown";
}

enum stats_err stats_err_of_errno(int err)
{
	switch (err < 0 ? -err : err) {
	case EIO:
	case ENODATA:
	case EILSEQ:
		return STATS_ERR_IO;
	case ETIMEDOUT:
	case ETIME:
	case EINTR:
	case ECANCELED:
		return STATS_ERR_TIMEOUT;
	case EOPNOTSUPP:
		return STATS_ERR_UNSUPPORTED;
	default:
		return STATS_ERR_OTHER;
	}
}

void stats_io_snap_add(struct stats_io_snap *out, const struct stats_io *s)
{
	/* completed before arrived: a request counted done is counted arrived too */
	uint64_t completed = atomic_load_explicit(&s->completed, memory_order_acquire);

	out->completed += completed;
	out->arrived += stats_read(&s->arrived);
	for (unsigned i = 0; i < IO_NR_OPS; i++) {
		out->ops[i] += stats_read(&s->ops[i]);
		out->bytes[i] += stats_read(&s->bytes[i]);
	}
	for (unsigned i = 0; i < STATS_NR_ERRS; i++)
		out->errors[i] += stats_read(&s->errors[i]);
	out->throttled += stats_read(&s->throttled);
	out->throttled_ns += stats_read(&s->throttled_ns);
	for (unsigned i = 0; i < STATS_MAX_NQS / 64; i++)
		out->nqs[i] |= stats_read(&s->nqs[i]);
	stats_hist_snap_add(&out->queue_lat, &s->queue_lat);
	stats_hist_snap_add(&out->dev_lat, &s->dev_lat);
	stats_hist_snap_add(&out->lat, &s->lat);
}
