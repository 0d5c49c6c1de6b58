/* SPDX-License-Identifier: MIT */
/*
 * First-fit extent allocator (see extent.h).
 *
 * A sorted array: a backend carries tens of tenants, not millions, and a
 * flat array keeps every invariant checkable by reading it in order.
 */
#include "store/extent.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/units.h"

int extent_map_init(struct extent_map *m, uint64_t base, uint64_t capacity, uint64_t align)
{
	if (align < 512 || (align & (align - 1)))
		return -EINVAL;
	if (base > capacity)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->base = base;
	m->capacity = capacity;
	m->align = align;
	return 0;
}

void extent_map_free(struct extent_map *m)
{
	free(m->ext);
	m->ext = NULL;
	m->nr = 0;
	m->cap = 0;
}

/*
 * The aligned free run before extent i (i == nr: the tail). base and
 * capacity need not be aligned; extents always are, so only the edges
 * shrink. Returns false when no aligned byte is free there.
 */
static bool gap_before(const struct extent_map *m, size_t i, uint64_t *start, uint64_t *len)
{
	uint64_t lo = i ? m->ext[i - 1].start + m->ext[i - 1].len : m->base;
	uint64_t hi = i < m->nr ? m->ext[i].start : m->capacity;

	if (lo > UINT64_MAX - (m->align - 1))
		return false;
	lo = round_up_u64(lo, m->align);
	hi = round_down_u64(hi, m->align);
	if (lo >= hi)
		return false;
	*start = lo;
	*len = hi - lo;
	return true;
}

static int insert_at(struct extent_map *m, size_t i, uint64_t start, uint64_t len)
{
	if (m->nr == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		struct extent *grown = realloc(m->ext, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		m->ext = grown;
		m->cap = cap;
	}
	memmove(&m->ext[i + 1], &m->ext[i], (m->nr - i) * sizeof(*m->ext));
	m->ext[i] = (struct extent){ .start = start, .len = len };
	m->nr++;
	return 0;
}

/* Index of the first extent starting at or after `start`. */
static size_t lower_bound(const struct extent_map *m, uint64_t start)
{
	size_t lo = 0, hi = m->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->ext[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int extent_alloc(struct extent_map *m, uint64_t len, uint64_t *start)
{
	uint64_t gap_start, gap_len;

	if (len == 0)
		return -EINVAL;
	if (len > UINT64_MAX - (m->align - 1))
		return -ENOSPC;
	len = round_up_u64(len, m->align);
	for (size_t i = 0; i <= m->nr; i++) {
		int rc;

		if (!gap_before(m, i, &gap_start, &gap_len) || gap_len < len)
			continue;
		rc = insert_at(m, i, gap_start, len);
		if (rc)
			return rc;
		*start = gap_start;
		return 0;
	}
	return -ENOSPC;
}

int extent_reserve(struct extent_map *m, uint64_t start, uint64_t len)
{
	size_t i;

	if (len == 0 || start % m->align || len % m->align)
		return -EINVAL;
	if (start < m->base || start > m->capacity || len > m->capacity - start)
		return -EINVAL;
	i = lower_bound(m, start);
	if (i > 0 && m->ext[i - 1].start + m->ext[i - 1].len > start)
		return -EEXIST;
	if (i < m->nr && m->ext[i].start < start + len)
		return -EEXIST;
	return insert_at(m, i, start, len);
}

int extent_release(struct extent_map *m, uint64_t start)
{
	size_t i = lower_bound(m, start);

	if (i == m->nr || m->ext[i].start != start)
		return -ENOENT;
	memmove(&m->ext[i], &m->ext[i + 1], (m->nr - i - 1) * sizeof(*m->ext));
	m->nr--;
	return 0;
}

uint64_t extent_free_bytes(const struct extent_map *m)
{
	uint64_t used = 0;

	for (size_t i = 0; i < m->nr; i++)
		used += m->ext[i].len;
	return m->capacity - m->base - used;
}

/* The largest len extent_alloc() would accept right now. */
uint64_t extent_largest_free(const struct extent_map *m)
{
	uint64_t best = 0, start, len;

	for (size_t i = 0; i <= m->nr; i++)
		if (gap_before(m, i, &start, &len) && len > best)
			best = len;
	return best;
}
