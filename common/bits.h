/* SPDX-License-Identifier: MIT */
/* Bit arithmetic on block and sector sizes. */
#ifndef DDUBLK_COMMON_BITS_H
#define DDUBLK_COMMON_BITS_H

#include <stdint.h>

/* floor(log2(v)), 0 for v = 0 or 1: the shift of a power-of-two size. */
static inline unsigned ilog2_u32(uint32_t v)
{
	unsigned r = 0;

	while (v >>= 1)
		r++;
	return r;
}

#endif
