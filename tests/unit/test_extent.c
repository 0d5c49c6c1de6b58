/* SPDX-License-Identifier: MIT */
/* First-fit extent allocator (store/extent.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "store/extent.h"

#define K4 4096ULL
#define MiB (1ULL << 20)

static uint64_t alloc_ok(struct extent_map *m, uint64_t len)
{
	uint64_t start = UINT64_MAX;

	assert_int_equal(extent_alloc(m, len, &start), 0);
	return start;
}

/* Every documented invariant, checked from the outside. */
static void check_invariants(const struct extent_map *m)
{
	uint64_t used = 0;

	for (size_t i = 0; i < m->nr; i++) {
		const struct extent *e = &m->ext[i];

		assert_true(e->len > 0);
		assert_true(e->start % m->align == 0);
		assert_true(e->len % m->align == 0);
		assert_true(e->start >= m->base);
		assert_true(e->start + e->len <= m->capacity);
		if (i)
			assert_true(m->ext[i - 1].start + m->ext[i - 1].len <= e->start);
		used += e->len;
	}
	assert_true(extent_free_bytes(m) == m->capacity - m->base - used);
}

static void test_init(void **state)
{
	struct extent_map m;

	(void)state;
	assert_int_equal(extent_map_init(&m, 0, MiB, 0), -EINVAL);
	assert_int_equal(extent_map_init(&m, 0, MiB, 256), -EINVAL);
	assert_int_equal(extent_map_init(&m, 0, MiB, 511), -EINVAL);
	assert_int_equal(extent_map_init(&m, 0, MiB, 1000), -EINVAL);
	assert_int_equal(extent_map_init(&m, 0, MiB, 4096 + 512), -EINVAL);
	assert_int_equal(extent_map_init(&m, 2 * MiB, MiB, 4096), -EINVAL);
	assert_int_equal(extent_map_init(&m, 0, MiB, 512), 0);
	extent_map_free(&m);
	assert_int_equal(extent_map_init(&m, 4096, MiB, 4096), 0);
	assert_true(m.base == 4096 && m.capacity == MiB && m.align == 4096);
	assert_int_equal(m.nr, 0);
	assert_true(extent_free_bytes(&m) == MiB - 4096);
	assert_true(extent_largest_free(&m) == MiB - 4096);
	extent_map_free(&m);
	assert_null(m.ext);
	assert_int_equal(m.nr, 0);
	extent_map_free(&m); /* idempotent */
}

static void test_first_fit_order(void **state)
{
	struct extent_map m;

	(void)state;
	assert_int_equal(extent_map_init(&m, 0, MiB, K4), 0);
	assert_true(alloc_ok(&m, K4) == 0);
	assert_true(alloc_ok(&m, 2 * K4) == K4);
	assert_true(alloc_ok(&m, K4) == 3 * K4);
	assert_true(alloc_ok(&m, 4 * K4) == 4 * K4);
	assert_int_equal(m.nr, 4);
	check_invariants(&m);

	/* holes: [K4, 3K4) of 2 blocks, and [4K4, 8K4) of 4 blocks */
	assert_int_equal(extent_release(&m, K4), 0);
	assert_int_equal(extent_release(&m, 4 * K4), 0);
	/* lowest address first, even when a later hole fits better */
	assert_true(alloc_ok(&m, K4) == K4);
	/* too big for what is left of the first hole: second hole */
	assert_true(alloc_ok(&m, 3 * K4) == 4 * K4);
	/* and the tail of the first hole is still found first */
	assert_true(alloc_ok(&m, K4) == 2 * K4);
	assert_true(alloc_ok(&m, K4) == 7 * K4);
	assert_true(alloc_ok(&m, K4) == 8 * K4);
	check_invariants(&m);
	extent_map_free(&m);
}

static void test_alignment_rounding(void **state)
{
	struct extent_map m;

	(void)state;
	assert_int_equal(extent_map_init(&m, 0, MiB, K4), 0);
	assert_true(alloc_ok(&m, 1) == 0);
	assert_true(m.ext[0].len == K4); /* 1 byte rounds up to a block */
	assert_true(alloc_ok(&m, K4 + 1) == K4);
	assert_true(m.ext[1].len == 2 * K4);
	assert_true(alloc_ok(&m, 512) == 3 * K4);
	assert_true(extent_free_bytes(&m) == MiB - 4 * K4);
	check_invariants(&m);
	extent_map_free(&m);

	/* unaligned base and capacity: only whole aligned blocks inside are used */
	assert_int_equal(extent_map_init(&m, 1000, 10 * K4 + 100, K4), 0);
	assert_true(extent_largest_free(&m) == 9 * K4);
	assert_true(alloc_ok(&m, K4) == K4);
	assert_true(extent_largest_free(&m) == 8 * K4);
	assert_true(alloc_ok(&m, 8 * K4) == 2 * K4);
	assert_true(extent_largest_free(&m) == 0);
	assert_true(extent_free_bytes(&m) == 10 * K4 + 100 - 1000 - 9 * K4);
	assert_int_equal(extent_alloc(&m, 1, &(uint64_t){ 0 }), -ENOSPC);
	check_invariants(&m);
	extent_map_free(&m);
}

static void test_alloc_errors(void **state)
{
	uint64_t start = 777;
	struct extent_map m;

	(void)state;
	assert_int_equal(extent_map_init(&m, 0, MiB, K4), 0);
	assert_int_equal(extent_alloc(&m, 0, &start), -EINVAL);
	assert_int_equal(extent_alloc(&m, MiB + 1, &start), -ENOSPC);
	assert_int_equal(extent_alloc(&m, UINT64_MAX, &start), -ENOSPC); /* no wrap */
	assert_int_equal(extent_alloc(&m, UINT64_MAX - K4 + 2, &start), -ENOSPC);
	assert_true(start == 777);
	assert_int_equal(m.nr, 0);
	assert_true(alloc_ok(&m, MiB) == 0); /* exactly all of it */
	assert_int_equal(extent_alloc(&m, 1, &start), -ENOSPC);
	assert_true(start == 777);
	extent_map_free(&m);

	/* an empty map (base == capacity) */
	assert_int_equal(extent_map_init(&m, MiB, MiB, K4), 0);
	assert_int_equal(extent_alloc(&m, 1, &start), -ENOSPC);
	assert_true(extent_largest_free(&m) == 0);
	assert_true(extent_free_bytes(&m) == 0);
	extent_map_free(&m);
}

static void test_reserve(void **state)
{
	struct extent_map m;

	(void)state;
	assert_int_equal(extent_map_init(&m, K4, 64 * K4, K4), 0);
	assert_int_equal(extent_reserve(&m, 10 * K4, 4 * K4), 0); /* [10, 14) */
	assert_int_equal(extent_reserve(&m, 20 * K4, 2 * K4), 0); /* [20, 22) */

	/* every way of overlapping [10, 14) */
	assert_int_equal(extent_reserve(&m, 10 * K4, 4 * K4), -EEXIST); /* same */
	assert_int_equal(extent_reserve(&m, 8 * K4, 3 * K4), -EEXIST); /* left edge */
	assert_int_equal(extent_reserve(&m, 13 * K4, 2 * K4), -EEXIST); /* right edge */
	assert_int_equal(extent_reserve(&m, 11 * K4, K4), -EEXIST); /* inside */
	assert_int_equal(extent_reserve(&m, 9 * K4, 6 * K4), -EEXIST); /* around */
	assert_int_equal(extent_reserve(&m, 12 * K4, 10 * K4), -EEXIST); /* spans both */
	assert_int_equal(m.nr, 2);

	/* adjacent on both sides is fine */
	assert_int_equal(extent_reserve(&m, 14 * K4, 6 * K4), 0); /* [14, 20) */
	assert_int_equal(extent_reserve(&m, 9 * K4, K4), 0);
	assert_int_equal(m.nr, 4);
	check_invariants(&m);

	/* malformed ranges */
	assert_int_equal(extent_reserve(&m, 30 * K4, 0), -EINVAL);
	assert_int_equal(extent_reserve(&m, 30 * K4 + 512, K4), -EINVAL);
	assert_int_equal(extent_reserve(&m, 30 * K4, K4 + 512), -EINVAL);
	assert_int_equal(extent_reserve(&m, 0, K4), -EINVAL); /* below base */
	assert_int_equal(extent_reserve(&m, 63 * K4, 2 * K4), -EINVAL); /* past capacity */
	assert_int_equal(extent_reserve(&m, 64 * K4, K4), -EINVAL);
	assert_int_equal(extent_reserve(&m, UINT64_MAX - K4 + 1, K4), -EINVAL);
	assert_int_equal(extent_reserve(&m, 32 * K4, UINT64_MAX - K4 + 1), -EINVAL);
	assert_int_equal(extent_reserve(&m, 63 * K4, K4), 0); /* the last block */
	assert_int_equal(m.nr, 5);

	/* allocation skips reserved ranges and fills the hole below them */
	assert_true(alloc_ok(&m, 8 * K4) == K4); /* [1, 9) */
	assert_true(alloc_ok(&m, K4) == 22 * K4);
	check_invariants(&m);
	extent_map_free(&m);
}

static void test_release_and_reuse(void **state)
{
	struct extent_map m;
	uint64_t a, b, c;

	(void)state;
	assert_int_equal(extent_map_init(&m, 0, 16 * K4, K4), 0);
	a = alloc_ok(&m, 4 * K4);
	b = alloc_ok(&m, 4 * K4);
	c = alloc_ok(&m, 4 * K4);
	assert_int_equal(extent_release(&m, b + K4), -ENOENT); /* not a start */
	assert_int_equal(extent_release(&m, 15 * K4), -ENOENT); /* free space */
	assert_int_equal(extent_release(&m, b), 0);
	assert_int_equal(extent_release(&m, b), -ENOENT); /* already gone */
	assert_int_equal(m.nr, 2);
	assert_true(m.ext[0].start == a && m.ext[1].start == c);
	assert_true(alloc_ok(&m, 2 * K4) == b);
	assert_true(alloc_ok(&m, 2 * K4) == b + 2 * K4);
	assert_int_equal(extent_release(&m, a), 0);
	assert_int_equal(extent_release(&m, c), 0);
	assert_true(alloc_ok(&m, 4 * K4) == a);
	assert_true(alloc_ok(&m, 8 * K4) == c); /* c's range and the tail merge */
	assert_true(extent_free_bytes(&m) == 0);
	check_invariants(&m);
	extent_map_free(&m);
}

static void test_fragmentation(void **state)
{
	uint64_t start = 1;
	struct extent_map m;

	(void)state;
	assert_int_equal(extent_map_init(&m, 0, 8 * K4, K4), 0);
	for (int i = 0; i < 8; i++)
		assert_true(alloc_ok(&m, K4) == (uint64_t)i * K4);
	for (int i = 0; i < 8; i += 2)
		assert_int_equal(extent_release(&m, (uint64_t)i * K4), 0);
	/* half the space is free, but never two blocks in a row */
	assert_true(extent_free_bytes(&m) == 4 * K4);
	assert_true(extent_largest_free(&m) == K4);
	assert_int_equal(extent_alloc(&m, 2 * K4, &start), -ENOSPC);
	assert_true(start == 1);
	assert_int_equal(m.nr, 4);
	/* freeing a neighbour joins two holes */
	assert_int_equal(extent_release(&m, 3 * K4), 0);
	assert_true(extent_largest_free(&m) == 3 * K4);
	assert_true(extent_free_bytes(&m) == 5 * K4);
	assert_true(alloc_ok(&m, 3 * K4) == 2 * K4);
	assert_true(extent_largest_free(&m) == K4);
	check_invariants(&m);
	extent_map_free(&m);
}

/*
 * Random operations against a block bitmap model: the allocator must give
 * the lowest fitting run every time and keep its array consistent.
 */
#define MODEL_BLOCKS 256

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static long model_first_fit(const bool *used, unsigned n)
{
	for (unsigned i = 0; i + n <= MODEL_BLOCKS; i++) {
		unsigned j = 0;

		while (j < n && !used[i + j])
			j++;
		if (j == n)
			return i;
	}
	return -1;
}

static void test_against_model(void **state)
{
	bool used[MODEL_BLOCKS] = { false };
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	struct extent_map m;

	(void)state;
	assert_int_equal(extent_map_init(&m, 0, MODEL_BLOCKS * 512, 512), 0);
	for (int op = 0; op < 20000; op++) {
		uint64_t r = next_rand(&seed);

		if (r % 3 != 0 || m.nr == 0) {
			unsigned n = 1 + (unsigned)(r >> 8) % 12;
			long want = model_first_fit(used, n);
			uint64_t start = 0;
			int rc = extent_alloc(&m, (uint64_t)n * 512 - (r >> 20) % 512, &start);

			if (want < 0) {
				assert_int_equal(rc, -ENOSPC);
				continue;
			}
			assert_int_equal(rc, 0);
			assert_true(start == (uint64_t)want * 512);
			memset(&used[want], true, n);
		} else {
			const struct extent *e = &m.ext[(r >> 8) % m.nr];
			uint64_t start = e->start, len = e->len;

			assert_int_equal(extent_release(&m, start), 0);
			memset(&used[start / 512], false, len / 512);
		}
		check_invariants(&m);
	}
	extent_map_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_first_fit_order),
		cmocka_unit_test(test_alignment_rounding),
		cmocka_unit_test(test_alloc_errors),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_release_and_reuse),
		cmocka_unit_test(test_fragmentation),
		cmocka_unit_test(test_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
