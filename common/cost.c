/* SPDX-License-Identifier: MIT */
/* The device cost model (see cost.h). */
#include "common/cost.h"

void cost_model_init(struct cost_model *m)
{
	*m = (struct cost_model){
		.read_iops = COST_DEFAULT_READ_IOPS,
		.read_bw = COST_DEFAULT_READ_BW,
		.write_iops = COST_DEFAULT_WRITE_IOPS,
		.write_bw = COST_DEFAULT_WRITE_BW,
	};
}

/*
 * One direction: a 4 KiB request costs exactly 1/iops s, so the fixed
 * part is that less 4 KiB's transfer (never below 0), plus the transfer.
 */
static uint64_t linear(uint64_t iops, uint64_t bw, uint64_t bytes)
{
	uint64_t per_io = COST_NS_PER_SEC / (iops ? iops : 1);
	uint64_t ref = COST_IOPS_REF_BYTES * COST_NS_PER_SEC / (bw ? bw : 1);
	uint64_t fixed = per_io > ref ? per_io - ref : 0;
	uint64_t xfer = bytes * COST_NS_PER_SEC / (bw ? bw : 1);

	return fixed + xfer ? fixed + xfer : 1;
}

uint64_t cost_of(const struct cost_model *m, enum io_op op, bool fua, uint64_t bytes)
{
	uint64_t one_write = linear(m->write_iops, m->write_bw, COST_IOPS_REF_BYTES);

	switch (op) {
	case IO_OP_READ:
		return linear(m->read_iops, m->read_bw, bytes);
	case IO_OP_WRITE:
		return linear(m->write_iops, m->write_bw, bytes) + (fua ? one_write : 0);
	case IO_OP_FLUSH:
		return COST_FLUSH_WRITES * one_write;
	default: /* DISCARD, WRITE ZEROES: metadata work, no transfer */
		return one_write;
	}
}

uint64_t cost_reserved(const struct cost_model *m, uint64_t min_iops, uint64_t min_bw)
{
	uint64_t io = cost_of(m, IO_OP_READ, false, COST_IOPS_REF_BYTES);
	uint64_t big = cost_of(m, IO_OP_READ, false, COST_BW_REF_BYTES);

	/* min_bw / 128 KiB reads per second, each `big`: in that order, exact for whole reads */
	return min_iops * io + min_bw / COST_BW_REF_BYTES * big +
	       min_bw % COST_BW_REF_BYTES * big / COST_BW_REF_BYTES;
}
