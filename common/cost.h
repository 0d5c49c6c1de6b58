/* SPDX-License-Identifier: MIT */
/*
 * What a request costs the device, in the spirit of the kernel's io.cost:
 * a linear model of device time, from four numbers that describe the
 * drive (the policy's scheduler.cost_* keys, or the defaults below, those
 * of a mid-range datacenter NVMe SSD). A 4 KiB read costs 1/read_iops of a
 * second; every further byte 1/read_bw; writes likewise with their own
 * pair. So a 128 KiB write is charged as what it is -- many 4 KiB reads'
 * worth of the device -- and not as "one request".
 *
 * The costs are "device nanoseconds": a device busy with requests whose
 * costs add up to one second per second is saturated. Reservations
 * (tenants[].min_iops, min_bw) are turned into a share of that second.
 *
 * Pure arithmetic; the model is copied by value wherever it is used.
 */
#ifndef DDUBLK_COMMON_COST_H
#define DDUBLK_COMMON_COST_H

#include <stdbool.h>
#include <stdint.h>

#include "common/op.h"

#define COST_DEFAULT_READ_IOPS 400000ULL /* 4 KiB random reads per second */
#define COST_DEFAULT_READ_BW 3000000000ULL /* bytes per second of large reads */
#define COST_DEFAULT_WRITE_IOPS 150000ULL
#define COST_DEFAULT_WRITE_BW 2000000000ULL
#define COST_MAX_RATE 1000000000000ULL /* bound for each of the four: 10^12 */

/* A FLUSH empties the write cache: charged as this many 4 KiB writes. */
#define COST_FLUSH_WRITES 16
/* The I/O sizes a reservation is expressed in: min_iops in 4 KiB reads, min_bw in 128 KiB ones. */
#define COST_IOPS_REF_BYTES 4096ULL
#define COST_BW_REF_BYTES 131072ULL
/* Reservations may add up to this % of the device (the model is an estimate). */
#define COST_MAX_RESERVED_PCT 90

#define COST_NS_PER_SEC 1000000000ULL

struct cost_model {
	uint64_t read_iops, read_bw; /* > 0 */
	uint64_t write_iops, write_bw; /* > 0 */
};

void cost_model_init(struct cost_model *m);

/*
 * Device ns for one request: op, bytes it moves or covers, fua (a write
 * that goes through the cache: charged one more write). A DISCARD or
 * WRITE ZEROES is charged as one 4 KiB write, a FLUSH as
 * COST_FLUSH_WRITES of them. Never 0.
 */
uint64_t cost_of(const struct cost_model *m, enum io_op op, bool fua, uint64_t bytes);

/*
 * n requests of op moving `bytes` in all (READ, WRITE; others: n of
 * them): what cost_of() charges them, summed, FUA not known. What a
 * tenant's counters say it used.
 */
uint64_t cost_of_many(const struct cost_model *m, enum io_op op, uint64_t n, uint64_t bytes);

/*
 * The share of the device a reservation takes: device ns per second
 * (COST_NS_PER_SEC = all of it). min_iops counts 4 KiB reads, min_bw
 * bytes of 128 KiB reads; both may be set (the shares add up).
 */
uint64_t cost_reserved(const struct cost_model *m, uint64_t min_iops, uint64_t min_bw);

#endif
