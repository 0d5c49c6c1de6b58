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

/* ns to move `bytes` at bw bytes per second (the product in 128 bits: no overflow). */
static uint64_t xfer(uint64_t bw, uint64_t bytes)
{
	unsigned __int128 ns = (unsigned __int128)bytes * COST_NS_PER_SEC / (bw ? bw : 1);

	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

/* A 4 KiB request costs exactly 1/iops s: the fixed part is that less 4 KiB's transfer (>= 0). */
static uint64_t fixed(uint64_t iops, uint64_t bw)
{
	uint64_t per_io = COST_NS_PER_SEC / (iops ? iops : 1), ref = xfer(bw, COST_IOPS_REF_BYTES);

	return per_io > ref ? per_io - ref : 0;
}

static uint64_t linear(uint64_t iops, uint64_t bw, uint64_t bytes)
{
	uint64_t c = fixed(iops, bw) + xfer(bw, bytes);

	return c ? c : 1;
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

uint64_t cost_of_many(const struct cost_model *m, enum io_op op, uint64_t n, uint64_t bytes)
{
	bool rd = op == IO_OP_READ;
	uint64_t iops = rd ? m->read_iops : m->write_iops, bw = rd ? m->read_bw : m->write_bw;

	if (!io_op_moves_data(op))
		return n * cost_of(m, op, false, 0);
	if (!n)
		return 0;
	/* saturating: a tenant's counters over a long interval may be huge */
	{
		unsigned __int128 c = (unsigned __int128)n * fixed(iops, bw) + xfer(bw, bytes);

		return c > UINT64_MAX ? UINT64_MAX : (uint64_t)c;
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
