/* SPDX-License-Identifier: MIT */
/* Sizes as operators write them: "512", "4K", "64MiB", "1G", "2T". */
#ifndef DDUBLK_COMMON_UNITS_H
#define DDUBLK_COMMON_UNITS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse a size. Accepted: a decimal integer optionally followed by one of
 * K, M, G, T (binary multiples, case-insensitive), optionally followed by
 * "iB" or "B". No sign, no fraction, no spaces. Returns 0 and sets *out,
 * or -EINVAL (malformed) / -ERANGE (overflows 64 bits).
 */
int parse_size(const char *text, uint64_t *out);

/* Format bytes for humans: "64 MiB", "1.5 GiB", "512 B". Returns buf. */
char *format_size(uint64_t bytes, char *buf, size_t len);

/* Round up / down to a power-of-two or arbitrary alignment (align > 0). */
static inline uint64_t round_up_u64(uint64_t v, uint64_t align)
{
	return (v + align - 1) / align * align;
}

static inline uint64_t round_down_u64(uint64_t v, uint64_t align)
{
	return v / align * align;
}

#endif
