/* SPDX-License-Identifier: MIT */
/*
 * What a tenant request asks for, one enum from ublk to the NVMe command:
 * the backend executes it, the scheduler steers by it, the statistics
 * count by it. ublk's own opcodes (UBLK_IO_OP_*, kernel uapi) are mapped
 * to it once, by ublk_backend_op() (ublk/cmd.c).
 */
#ifndef DDUBLK_COMMON_OP_H
#define DDUBLK_COMMON_OP_H

#include <stdbool.h>

enum io_op {
	IO_OP_READ = 0,
	IO_OP_WRITE,
	IO_OP_FLUSH,
	IO_OP_DISCARD,
	IO_OP_WRITE_ZEROES,
	IO_NR_OPS,
};

/*
 * READ and WRITE move data through the request's buffer; FLUSH, DISCARD
 * and WRITE ZEROES do not (and so cannot be polled, nor be charged bytes).
 */
static inline bool io_op_moves_data(enum io_op op)
{
	return op == IO_OP_READ || op == IO_OP_WRITE;
}

#endif
