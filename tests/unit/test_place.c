/* SPDX-License-Identifier: MIT */
/*
 * Placement before a start (store/place.h): the tenants a backend's table
 * records take their extents, rounded up to whole MiB, before the policy's
 * new tenants are placed first fit; what does not fit is named.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "store/place.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)
#define KiB (1ULL << 10)

static const char policy[] =
	"backends = (\n"
	"  { name = \"ns\"; path = \"/dev/ng0n1\"; },\n"
	"  { name = \"img\"; path = \"/srv/img\"; size = \"64M\"; }\n"
	");\n"
	"tenants = (\n"
	"  { name = \"old\"; backend = \"ns\"; size = \"4K\"; },\n"
	"  { name = \"a\"; backend = \"ns\"; size = \"3M\"; },\n"
	"  { name = \"b\"; backend = \"ns\"; size = \"1M\"; },\n"
	"  { name = \"i\"; backend = \"img\"; size = \"8M\"; }\n"
	");\n";

static struct table_entry entry(const char *name, uint64_t offset, uint64_t size)
{
	struct table_entry e = { .offset = offset, .spec.size = size, .dev_id = -1 };

	snprintf(e.spec.name, sizeof(e.spec.name), "%s", name);
	return e;
}

/* The table of backend "ns": names are what `known` reports. */
static bool in_table(void *ctx, const char *name)
{
	const struct table *t = ctx;

	return table_find(t, name) >= 0;
}

/* A 4 KiB tenant took 1 MiB when it was added: it takes 1 MiB back at start. */
static void test_recorded_extents_are_whole_mib(void **state)
{
	struct extent_map m;
	uint64_t start;

	(void)state;
	assert_int_equal(extent_map_init(&m, MiB, 8 * MiB, MiB), 0);
	assert_int_equal(conf_reserve_tenant(&m, MiB, 4 * KiB), 0);
	assert_int_equal(conf_reserve_tenant(&m, 2 * MiB, MiB + 512), 0);
	assert_int_equal(extent_free_bytes(&m), 4 * MiB);
	assert_int_equal(extent_alloc(&m, 4 * KiB, &start), 0);
	assert_int_equal(start, 4 * MiB);
	assert_int_equal(conf_reserve_tenant(&m, 5 * MiB, 0), -EINVAL);
	assert_int_equal(conf_reserve_tenant(&m, 5 * MiB, UINT64_MAX), -EINVAL);
	extent_map_free(&m);
}

static void test_room_map_reserves_the_table(void **state)
{
	struct table tab = { 0 };
	struct table_entry e[] = {
		entry("x", MiB, 4 * KiB), entry("y", 3 * MiB, 2 * MiB),
		entry("far", 100 * MiB, MiB), /* outside the backend: not served */
	};
	struct extent_map m;
	size_t skipped;

	(void)state;
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(table_append(&tab, &e[i]), 0);
	/* 16 MiB + 512 bytes: the tail that is not a whole MiB is not usable */
	assert_int_equal(conf_room_map(&m, 16 * MiB + 512, MiB, &tab, &skipped), 0);
	assert_int_equal(skipped, 1);
	assert_int_equal(m.capacity, 16 * MiB);
	assert_int_equal(extent_free_bytes(&m), 15 * MiB - 3 * MiB);
	extent_map_free(&m);
	assert_int_equal(conf_room_map(&m, MiB, MiB, NULL, NULL), -1);
	table_free(&tab);
}

/*
 * ns holds 8 MiB: 1 reserved, the table's "old" (4 KiB: 1 MiB) and "x"
 * (ublk-ctl add, 2 MiB) leave 4 MiB; the policy's "a" (3 MiB) fits, "b"
 * (1 MiB) fits exactly; one more MiB would not. "old" is served from the
 * table, not placed again.
 */
static void test_policy_counts_table_tenants(void **state)
{
	struct table tab = { 0 };
	struct table_entry e[] = { entry("old", MiB, 4 * KiB), entry("x", 2 * MiB, 2 * MiB) };
	struct extent_map m;
	struct conf_room rooms[2] = { { 0 } };
	char err[512] = "", why[512] = "";
	size_t bad = 99;
	struct conf c;

	(void)state;
	assert_int_equal(conf_load_string(policy, "p", &c, err, sizeof(err)), 0);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(table_append(&tab, &e[i]), 0);
	assert_int_equal(conf_room_map(&m, 8 * MiB, MiB, &tab, NULL), 0);
	rooms[0] = (struct conf_room){ .bytes = 8 * MiB, .map = &m };
	assert_int_equal(conf_place_new(&c, rooms, in_table, &tab, &bad, why, sizeof(why)), 0);
	assert_int_equal(extent_free_bytes(&m), 4 * MiB); /* the trial is undone */
	/* ublk-ctl add took one MiB more: "b" no longer fits, and is named */
	assert_int_equal(conf_reserve_tenant(&m, 7 * MiB, 4 * KiB), 0);
	assert_int_equal(conf_place_new(&c, rooms, in_table, &tab, &bad, why, sizeof(why)), -1);
	assert_int_equal(bad, 2);
	assert_string_equal(why, "backend \"ns\" has no room for 1 MiB (free: 0 B, largest "
			    "free extent: 0 B)");
	assert_int_equal(extent_free_bytes(&m), 3 * MiB);
	/* without the table, "old" is placed too, and "a" is the first that fails */
	assert_int_equal(extent_release(&m, 7 * MiB), 0);
	assert_int_equal(conf_place_new(&c, rooms, NULL, NULL, &bad, why, sizeof(why)), -1);
	assert_int_equal(bad, 2);
	extent_map_free(&m);
	table_free(&tab);
	conf_free(&c);
}

/* First fit, as the daemon places: free space in pieces is not enough. */
static void test_fragmented_free_space(void **state)
{
	struct extent_map m;
	struct conf_room rooms[2] = { { 0 } };
	char err[512] = "", why[512] = "";
	size_t bad = 99;
	struct conf c;

	(void)state;
	assert_int_equal(conf_load_string(policy, "p", &c, err, sizeof(err)), 0);
	/* 16 MiB: tenants at 2, 5, 8, 11 MiB leave holes of 1 and 2 MiB */
	assert_int_equal(extent_map_init(&m, MiB, 16 * MiB, MiB), 0);
	for (uint64_t at = 2; at <= 11; at += 3)
		assert_int_equal(conf_reserve_tenant(&m, at * MiB, MiB), 0);
	assert_int_equal(conf_reserve_tenant(&m, 12 * MiB, 4 * MiB), 0);
	rooms[0] = (struct conf_room){ .bytes = 16 * MiB, .map = &m };
	/* 7 MiB free; "old" takes the first hole, and "a" (3 MiB) fits in none */
	assert_int_equal(conf_place_new(&c, rooms, NULL, NULL, &bad, why, sizeof(why)), -1);
	assert_int_equal(bad, 1);
	assert_string_equal(why, "backend \"ns\" has no room for 3 MiB (free: 6 MiB, largest "
			    "free extent: 2 MiB)");
	assert_int_equal(extent_free_bytes(&m), 7 * MiB);
	extent_map_free(&m);
	conf_free(&c);
}

/* The 99T tenant on a 2 GiB namespace is refused as larger than the backend. */
static void test_tenant_larger_than_backend(void **state)
{
	static const char big[] =
		"backends = ( { name = \"ns\"; path = \"/dev/ng0n1\"; } );\n"
		"tenants = ( { name = \"huge\"; backend = \"ns\"; size = \"99T\"; } );\n";
	struct extent_map m;
	struct conf_room rooms[1];
	char err[512] = "", why[512] = "";
	size_t bad = 99;
	struct conf c;

	(void)state;
	assert_int_equal(conf_load_string(big, "p", &c, err, sizeof(err)), 0);
	assert_int_equal(conf_room_map(&m, 2 * GiB, MiB, NULL, NULL), 0);
	rooms[0] = (struct conf_room){ .bytes = 2 * GiB, .map = &m };
	assert_int_equal(conf_place_new(&c, rooms, NULL, NULL, &bad, why, sizeof(why)), -1);
	assert_int_equal(bad, 0);
	assert_string_equal(why, "99 TiB is larger than backend \"ns\" (1.9 GiB usable of "
			    "2 GiB)");
	extent_map_free(&m);
	conf_free(&c);
}

/* Unknown backends are skipped; a refused one fails its tenants. */
static void test_unknown_and_refused_backends(void **state)
{
	struct conf_room rooms[2] = { { 0 } };
	char err[512] = "", why[512] = "";
	size_t bad = 99;
	struct conf c;

	(void)state;
	assert_int_equal(conf_load_string(policy, "p", &c, err, sizeof(err)), 0);
	assert_int_equal(conf_place_new(&c, rooms, NULL, NULL, &bad, why, sizeof(why)), 0);
	rooms[1].refused = "its tenant table is damaged";
	assert_int_equal(conf_place_new(&c, rooms, NULL, NULL, &bad, why, sizeof(why)), -1);
	assert_int_equal(bad, 3);
	assert_string_equal(why, "backend \"img\" is not in use: its tenant table is damaged");
	conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded_extents_are_whole_mib),
		cmocka_unit_test(test_room_map_reserves_the_table),
		cmocka_unit_test(test_policy_counts_table_tenants),
		cmocka_unit_test(test_fragmented_free_space),
		cmocka_unit_test(test_tenant_larger_than_backend),
		cmocka_unit_test(test_unknown_and_refused_backends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
