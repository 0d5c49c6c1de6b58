/* SPDX-License-Identifier: MIT */
/*
 * Per-tenant I/O statistics, kept per ublk queue: exactly one worker serves
 * a queue, so each struct stats_io has one writer and needs no lock. The
 * control thread sums a tenant's queues into a struct stats_io_snap.
 *
 * Everything is cumulative since the device was created; rates are the
 * client's business (two snapshots and their time stamps).
 */
#ifndef DDUBLK_STATS_IO_H
#define DDUBLK_STATS_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "common/op.h" /* counted per enum io_op */
#include "stats/hist.h"

/* Why a request failed. */
enum stats_err {
	STATS_ERR_RANGE = 0, /* outside the tenant's extent (EIO without touching the backend) */
	STATS_ERR_UNSUPPORTED, /* an op ublk sent that the daemon does not serve */
	STATS_ERR_IO, /* the backend answered EIO (media, NVMe status) */
	STATS_ERR_TIMEOUT, /* the backend timed out or aborted it */
	STATS_ERR_OTHER, /* any other backend errno */
	STATS_NR_ERRS,
};

#define STATS_MAX_NQS 1024 /* NQs a tenant's "which NQs" set can name */

struct stats_io {
	_Atomic uint64_t arrived; /* requests received from ublk */
	_Atomic uint64_t completed; /* answered to ublk, ok or not */
	_Atomic uint64_t ops[IO_NR_OPS]; /* completed without error */
	_Atomic uint64_t bytes[IO_NR_OPS]; /* of them: bytes moved or covered */
	_Atomic uint64_t errors[STATS_NR_ERRS];
	_Atomic uint64_t throttled; /* requests QoS held back */
	_Atomic uint64_t throttled_ns; /* how long, summed */
	_Atomic uint64_t nqs[STATS_MAX_NQS / 64]; /* router NQ indexes used, a bitmap */
	struct stats_hist queue_lat; /* arrival -> submitted to the backend (QoS, sharing, NQ wait) */
	struct stats_hist dev_lat; /* submitted -> backend completion */
	struct stats_hist lat; /* arrival -> backend completion: what the tenant waited (stats/slo.h) */
};

struct stats_io_snap {
	uint64_t arrived, completed;
	uint64_t ops[IO_NR_OPS];
	uint64_t bytes[IO_NR_OPS];
	uint64_t errors[STATS_NR_ERRS];
	uint64_t throttled, throttled_ns;
	uint64_t nqs[STATS_MAX_NQS / 64];
	struct stats_hist_snap queue_lat, dev_lat, lat;
};

/* The writer's side. */
static inline void stats_io_nq_used(struct stats_io *s, unsigned nq)
{
	_Atomic uint64_t *w = &s->nqs[nq / 64];
	uint64_t bit = 1ULL << (nq % 64);
	uint64_t old;

	if (nq >= STATS_MAX_NQS) /* not named rather than named wrong */
		return;
	old = stats_read(w);
	if (STATS_ENABLED && !(old & bit)) /* after the first request: a load and a branch */
		atomic_store_explicit(w, old | bit, memory_order_relaxed);
}

/* A request failed with -errno `err` from the backend: its kind. */
enum stats_err stats_err_of_errno(int err);

/* Any thread: add s's counters to out (zero it first for a copy). */
void stats_io_snap_add(struct stats_io_snap *out, const struct stats_io *s);

/* Requests between arrival and answer (never negative on a torn read). */
static inline uint64_t stats_io_inflight(const struct stats_io_snap *s)
{
	return s->arrived > s->completed ? s->arrived - s->completed : 0;
}

static inline bool stats_io_nq_test(const struct stats_io_snap *s, unsigned nq)
{
	return nq < STATS_MAX_NQS && (s->nqs[nq / 64] >> (nq % 64)) & 1;
}

const char *stats_op_name(enum io_op op);
const char *stats_err_name(enum stats_err e);

#endif
