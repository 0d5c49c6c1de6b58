/* SPDX-License-Identifier: MIT */
/*
 * Extent allocation on one backend: which byte ranges belong to which
 * tenant. Pure data structure, no I/O.
 *
 * Extents never overlap, are aligned to `align` (start and length), and lie
 * inside [base, capacity). Allocation is first-fit, lowest address first.
 */
#ifndef DDUBLK_STORE_EXTENT_H
#define DDUBLK_STORE_EXTENT_H

#include <stddef.h>
#include <stdint.h>

struct extent {
	uint64_t start;
	uint64_t len;
};

struct extent_map {
	uint64_t base; /* first usable byte (after any metadata) */
	uint64_t capacity; /* one past the last usable byte */
	uint64_t align; /* power of two, >= 512 */
	struct extent *ext; /* sorted by start */
	size_t nr, cap;
};

/* Returns 0, or -EINVAL if align is not a power of two >= 512. */
int extent_map_init(struct extent_map *m, uint64_t base, uint64_t capacity, uint64_t align);
void extent_map_free(struct extent_map *m);

/*
 * First-fit: len is rounded up to align. Returns 0 and sets *start, -EINVAL
 * for len 0, or -ENOSPC when no free range is large enough.
 */
int extent_alloc(struct extent_map *m, uint64_t len, uint64_t *start);

/*
 * Claim a specific range (restoring a saved table). -EINVAL if misaligned,
 * empty, or outside [base, capacity); -EEXIST if it overlaps an extent.
 */
int extent_reserve(struct extent_map *m, uint64_t start, uint64_t len);

/* Release the extent that starts at `start`; -ENOENT if there is none. */
int extent_release(struct extent_map *m, uint64_t start);

/* Bytes not covered by any extent, and the largest free run. */
uint64_t extent_free_bytes(const struct extent_map *m);
uint64_t extent_largest_free(const struct extent_map *m);

#endif
