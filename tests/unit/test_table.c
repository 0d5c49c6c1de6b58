/* SPDX-License-Identifier: MIT */
/* The tenant table in the backend's metadata region (store/table.h). */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/crc32c.h"
#include "store/table.h"

/* The layout the on-disk format promises (store/table.c); pinned here on purpose. */
#define HDR 64
#define ENT 256
#define H_VERSION 8
#define H_COUNT 12
#define H_GENERATION 16
#define H_LENGTH 24
#define H_CRC 28
#define H_UUID 32
#define E_NAME 0
#define E_UUID 64
#define E_OFFSET 80
#define E_SIZE 88
#define E_CTIME 96
#define E_IOPS 104
#define E_BW 112
#define E_DEV_ID 120
#define E_QUEUES 124
#define E_DEPTH 128
#define E_CLASS 132
#define E_WEIGHT 136
#define E_FLAGS 140
#define E_MIN_IOPS 144
#define E_MIN_BW 152
#define E_LATENCY_TARGET 160
#define E_RESERVED 164

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define WHAT "backend \"pool\""
/* a backend uuid for every table the tests encode */
#define UUID { 0xb4, 0x7e, 0x21, 0x90, 0x0c, 0x5d, 0x4f, 0x13, 0xa2, 0x66, 0x8b, 0xe1, 0x3d, \
	       0x49, 0xf0, 0x07 }

static const struct table_entry base[] = {
	{ .spec = { .name = "web", .size = GiB, .queues = 2, .depth = 64,
		    .cls = CONF_CLASS_LATENCY,
		    .qos = { .iops_limit = 1000, .bw_limit = 100 * MiB, .weight = 100 },
		    .recovery = true },
	  .uuid = { 1, 2, 3 }, .offset = MiB, .ctime = 1700000000, .dev_id = 0,
	  .from_policy = true },
	{ .spec = { .name = "db", .size = GiB, .queues = 1, .depth = 1,
		    .cls = CONF_CLASS_BESTEFFORT, .qos = { .weight = 1 } },
	  .uuid = { 0xde, 0xad }, .offset = 2 * GiB, .ctime = 1, .dev_id = -1 },
	{ .spec = { .name = "ci", .size = 4 * MiB, .queues = 4, .depth = 128,
		    .cls = CONF_CLASS_THROUGHPUT, .qos = { .weight = 10 } },
	  .offset = 4 * GiB, .dev_id = 7, .from_policy = true },
};
#define NR_BASE (sizeof(base) / sizeof(base[0]))

static const struct table base_table = { .generation = 0, .slot = -1, .nr = NR_BASE,
					 .e = (struct table_entry *)base, .uuid = UUID };
static const uint8_t uuid[TABLE_UUID_BYTES] = UUID;

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void wr64(unsigned char *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

/* Make the CRC right again after patching an image (length from its header). */
static void fix_crc(unsigned char *img)
{
	uint32_t len = rd32(img + H_LENGTH);

	wr32(img + H_CRC, 0);
	wr32(img + H_CRC, crc32c(0, img, len));
}

static void *aligned(size_t len)
{
	void *p = NULL;

	assert_int_equal(posix_memalign(&p, TABLE_ALIGN, len), 0);
	memset(p, 0, len);
	return p;
}

static void assert_entry_equal(const struct table_entry *a, const struct table_entry *b)
{
	assert_string_equal(a->spec.name, b->spec.name);
	assert_memory_equal(a->uuid, b->uuid, sizeof(a->uuid));
	assert_true(a->offset == b->offset);
	assert_true(a->spec.size == b->spec.size);
	assert_true(a->ctime == b->ctime);
	assert_int_equal(a->dev_id, b->dev_id);
	assert_int_equal(a->spec.queues, b->spec.queues);
	assert_int_equal(a->spec.depth, b->spec.depth);
	assert_int_equal(a->spec.cls, b->spec.cls);
	assert_true(a->spec.qos.iops_limit == b->spec.qos.iops_limit);
	assert_true(a->spec.qos.bw_limit == b->spec.qos.bw_limit);
	assert_int_equal(a->spec.qos.weight, b->spec.qos.weight);
	assert_true(a->spec.qos.min_iops == b->spec.qos.min_iops);
	assert_true(a->spec.qos.min_bw == b->spec.qos.min_bw);
	assert_int_equal(a->spec.qos.latency_target_us, b->spec.qos.latency_target_us);
	assert_int_equal(a->spec.recovery, b->spec.recovery);
	assert_int_equal(a->from_policy, b->from_policy);
}

static void assert_entries_equal(const struct table *a, const struct table *b)
{
	assert_int_equal(a->nr, b->nr);
	for (size_t i = 0; i < a->nr; i++)
		assert_entry_equal(&a->e[i], &b->e[i]);
}

/* Encode t as generation gen into a fresh buffer of TABLE_COPY_BYTES. */
static unsigned char *encode(const struct table *t, uint64_t gen, long *len)
{
	unsigned char *img = aligned(TABLE_COPY_BYTES);
	char err[256] = "";

	*len = table_encode(t, gen, img, TABLE_COPY_BYTES, err, sizeof(err));
	assert_string_equal(err, "");
	assert_true(*len > 0);
	return img;
}

static void test_crc32c_known_answer(void **state)
{
	static const char s[] = "123456789";

	(void)state;
	assert_int_equal(crc32c(0, s, 9), 0xE3069283);
	/* pieces chain */
	assert_int_equal(crc32c(crc32c(crc32c(0, s, 2), s + 2, 0), s + 2, 7), 0xE3069283);
	assert_int_equal(crc32c(0, "", 0), 0);
	/* 32 zero bytes: the iSCSI (RFC 3720, B.4) test vector */
	{
		unsigned char z[32] = { 0 }, ff[32];

		memset(ff, 0xff, sizeof(ff));
		assert_int_equal(crc32c(0, z, sizeof(z)), 0x8A9136AA);
		assert_int_equal(crc32c(0, ff, sizeof(ff)), 0x62A8AB43);
	}
}

static void test_round_trip(void **state)
{
	struct table_entry ext[] = {
		base[0], base[1], base[2],
		/* every field at its edge */
		{ .spec = { .size = 1, .queues = CONF_MAX_QUEUES, .depth = CONF_MAX_DEPTH,
			    .cls = CONF_CLASS_THROUGHPUT,
			    .qos = { .iops_limit = UINT64_MAX, .bw_limit = UINT64_MAX,
				     .weight = CONF_MAX_WEIGHT, .min_iops = UINT64_MAX,
				     .min_bw = UINT64_MAX,
				     .latency_target_us = CONF_MAX_LATENCY_TARGET_US },
			    .recovery = true },
		  .offset = TABLE_REGION_BYTES, .ctime = UINT64_MAX, .dev_id = INT32_MAX },
		/* the last extent ends exactly at INT64_MAX */
		{ .spec = { .name = "z", .size = (uint64_t)INT64_MAX - (1ULL << 62), .queues = 1,
			    .depth = 1, .qos = { .weight = 1, .min_iops = 1, .min_bw = 1,
						 .latency_target_us = CONF_MIN_LATENCY_TARGET_US } },
		  .offset = 1ULL << 62, .dev_id = -1 },
	};
	struct table t = { .nr = 5, .e = ext, .uuid = UUID }, out = { .slot = 7 };
	unsigned char *img;
	char err[256] = "";
	long len;

	(void)state;
	ext[0].offset = 16 * GiB; /* make room for ext[3] right after the region */
	memset(ext[3].spec.name, 'n', CONF_NAME_MAX - 1); /* the longest name */
	memset(ext[3].uuid, 0xff, sizeof(ext[3].uuid));
	img = encode(&t, UINT64_MAX, &len);
	assert_int_equal(len, TABLE_ALIGN);
	assert_int_equal(table_decode(img, (size_t)len, &out, err, sizeof(err)), 1);
	assert_string_equal(err, "");
	assert_true(out.generation == UINT64_MAX);
	assert_int_equal(out.slot, -1);
	assert_int_equal(out.version, TABLE_FORMAT_VERSION);
	assert_memory_equal(out.uuid, uuid, sizeof(uuid));
	assert_entries_equal(&out, &t);
	/* decoding reads only the image, whatever follows it */
	table_free(&out);
	memset(img + len, 0xa5, TABLE_ALIGN);
	assert_int_equal(table_decode(img, TABLE_COPY_BYTES, &out, err, sizeof(err)), 1);
	assert_entries_equal(&out, &t);
	table_free(&out);
	free(img);
}

static void test_image_sizes(void **state)
{
	struct table_entry *e = calloc(TABLE_MAX_ENTRIES + 1, sizeof(*e));
	struct table t = { .e = e, .uuid = UUID }, out;
	char err[256] = "";
	static const struct { size_t nr; long len; } cases[] = {
		{ 0, 4096 }, { 15, 4096 }, { 16, 8192 }, { 100, 28672 },
		{ TABLE_MAX_ENTRIES, 266240 },
	};

	(void)state;
	assert_non_null(e);
	for (size_t i = 0; i <= TABLE_MAX_ENTRIES; i++) {
		snprintf(e[i].spec.name, sizeof(e[i].spec.name), "t%zu", i);
		e[i].offset = TABLE_REGION_BYTES + i * MiB;
		e[i].spec.size = MiB;
		e[i].dev_id = (int32_t)i;
		e[i].spec.queues = e[i].spec.depth = 1;
		e[i].spec.qos.weight = CONF_DEFAULT_WEIGHT;
	}
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		unsigned char *img;
		long len;

		t.nr = cases[c].nr;
		img = encode(&t, 3, &len);
		assert_int_equal(len, cases[c].len);
		assert_int_equal(rd32(img + H_LENGTH), cases[c].len);
		/* one byte short of its length: refused, not read past */
		assert_int_equal(table_decode(img, (size_t)len - 1, &out, err, sizeof(err)), -1);
		assert_int_equal(table_decode(img, (size_t)len, &out, err, sizeof(err)), 1);
		assert_entries_equal(&out, &t);
		table_free(&out);
		free(img);
	}
	/* one too many */
	t.nr = TABLE_MAX_ENTRIES + 1;
	{
		unsigned char *img = aligned(TABLE_COPY_BYTES);

		assert_int_equal(table_encode(&t, 1, img, TABLE_COPY_BYTES, err, sizeof(err)), -1);
		assert_string_equal(err, "too many entries (1025, at most 1024)");
		free(img);
	}
	free(e);
}

static void test_empty_table(void **state)
{
	struct table t = { .slot = -1, .uuid = UUID }, out = { .slot = 5, .nr = 9 };
	unsigned char *img;
	char err[256] = "";
	long len;

	(void)state;
	img = encode(&t, 1, &len);
	assert_int_equal(len, TABLE_ALIGN);
	assert_int_equal(table_decode(img, (size_t)len, &out, err, sizeof(err)), 1);
	assert_true(out.generation == 1);
	assert_int_equal(out.slot, -1);
	assert_int_equal(out.nr, 0);
	assert_null(out.e);
	free(img);
}

/* The format is a contract with every later daemon: check the bytes themselves. */
static void test_layout(void **state)
{
	const unsigned char *e0, *e2;
	unsigned char *img;
	long len;

	(void)state;
	img = encode(&base_table, 0x0102030405060708ULL, &len);
	assert_memory_equal(img, "DDUBLKTB", 8);
	assert_int_equal(rd32(img + H_VERSION), 2);
	assert_int_equal(rd32(img + H_COUNT), 3);
	assert_true(rd64(img + H_GENERATION) == 0x0102030405060708ULL);
	assert_int_equal(img[H_GENERATION], 0x08); /* little-endian */
	assert_int_equal(rd32(img + H_LENGTH), 4096);
	assert_memory_equal(img + H_UUID, uuid, sizeof(uuid));
	for (int i = 48; i < HDR; i++)
		assert_int_equal(img[i], 0);
	{
		uint32_t stored = rd32(img + H_CRC);

		fix_crc(img);
		assert_int_equal(rd32(img + H_CRC), stored);
	}
	e0 = img + HDR;
	assert_string_equal((const char *)e0 + E_NAME, "web");
	for (int i = 3; i < 64; i++)
		assert_int_equal(e0[i], 0);
	assert_int_equal(e0[E_UUID], 1);
	assert_int_equal(e0[E_UUID + 2], 3);
	assert_true(rd64(e0 + E_OFFSET) == MiB);
	assert_true(rd64(e0 + E_SIZE) == GiB);
	assert_true(rd64(e0 + E_CTIME) == 1700000000);
	assert_true(rd64(e0 + E_IOPS) == 1000);
	assert_true(rd64(e0 + E_BW) == 100 * MiB);
	assert_int_equal(rd32(e0 + E_DEV_ID), 0);
	assert_int_equal(rd32(e0 + E_QUEUES), 2);
	assert_int_equal(rd32(e0 + E_DEPTH), 64);
	assert_int_equal(rd32(e0 + E_CLASS), 1);
	assert_int_equal(rd32(e0 + E_WEIGHT), 100);
	assert_int_equal(rd32(e0 + E_FLAGS), 3);
	assert_int_equal(rd32(img + HDR + ENT + E_DEV_ID), 0xffffffff); /* -1 */
	assert_int_equal(rd32(img + HDR + ENT + E_FLAGS), 0);
	e2 = img + HDR + 2 * ENT;
	assert_string_equal((const char *)e2, "ci");
	assert_int_equal(rd32(e2 + E_CLASS), 2);
	assert_int_equal(rd32(e2 + E_FLAGS), 2);
	/* everything after the last entry's fields is zero */
	for (size_t i = HDR + 2 * ENT + E_RESERVED; i < (size_t)len; i++)
		assert_int_equal(img[i], 0);
	free(img);
}

static void test_fresh_region(void **state)
{
	unsigned char *zero = aligned(TABLE_COPY_BYTES);
	struct table out = { .generation = 42, .slot = 1 };
	char err[256] = "";

	(void)state;
	assert_int_equal(table_decode(zero, TABLE_COPY_BYTES, &out, err, sizeof(err)), 0);
	assert_true(out.generation == 42); /* untouched */
	assert_int_equal(table_decode(zero, 0, &out, err, sizeof(err)), 0);
	assert_int_equal(table_decode("DDUBLKT", 7, &out, err, sizeof(err)), 0);
	/* something else's data is not a table either */
	memset(zero, 0xff, TABLE_ALIGN);
	assert_int_equal(table_decode(zero, TABLE_COPY_BYTES, &out, err, sizeof(err)), 0);
	assert_true(out.generation == 42);
	free(zero);
}

/* Decode img (len bytes) must fail with exactly want, *out untouched. */
static void expect_decode_error(const unsigned char *img, size_t len, const char *want)
{
	struct table out = { .generation = 99, .slot = 1, .nr = 77,
			     .e = (struct table_entry *)base };
	char err[512] = "";

	assert_int_equal(table_decode(img, len, &out, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_true(out.generation == 99);
	assert_int_equal(out.slot, 1);
	assert_int_equal(out.nr, 77);
	assert_ptr_equal(out.e, base);
}

/* img with version v (CRC made right) is a version this daemon cannot read. */
static void expect_unknown_version(unsigned char *img, uint32_t v, const char *want)
{
	struct table out = { .generation = 99 };
	char err[512] = "";

	wr32(img + H_VERSION, v);
	fix_crc(img);
	assert_int_equal(table_decode(img, TABLE_COPY_BYTES, &out, err, sizeof(err)),
			 TABLE_DECODE_UNKNOWN_VERSION);
	assert_string_equal(err, want);
	assert_true(out.generation == 99);
}

static void test_decode_header_errors(void **state)
{
	unsigned char *good, *img;
	long len;

	(void)state;
	good = encode(&base_table, 5, &len);
	img = aligned(TABLE_COPY_BYTES);
#define RESET() memcpy(img, good, TABLE_COPY_BYTES)
	RESET();
	expect_decode_error(img, 8, "truncated: 8 bytes, the header alone is 64");
	expect_decode_error(img, 63, "truncated: 63 bytes, the header alone is 64");
	expect_decode_error(img, 64, "truncated: the image is 4096 bytes, only 64 available");
	expect_decode_error(img, 4095, "truncated: the image is 4096 bytes, only 4095 available");

	expect_unknown_version(img, 3, "format version 3 is not supported (this ddublkd reads 1..2)");
	expect_unknown_version(img, 0, "format version 0 is not supported (this ddublkd reads 1..2)");
	expect_unknown_version(img, UINT32_MAX,
			       "format version 4294967295 is not supported (this ddublkd reads 1..2)");

	RESET();
	wr32(img + H_COUNT, TABLE_MAX_ENTRIES + 1);
	expect_decode_error(img, TABLE_COPY_BYTES, "entry count 1025 exceeds the maximum 1024");
	wr32(img + H_COUNT, UINT32_MAX);
	expect_decode_error(img, TABLE_COPY_BYTES,
			    "entry count 4294967295 exceeds the maximum 1024");
	/* a count that needs more than the length says */
	wr32(img + H_COUNT, 16);
	expect_decode_error(img, TABLE_COPY_BYTES,
			    "image length 4096 does not match 16 entries (expected 8192)");

	RESET();
	wr32(img + H_LENGTH, 8192);
	expect_decode_error(img, TABLE_COPY_BYTES,
			    "image length 8192 does not match 3 entries (expected 4096)");
	wr32(img + H_LENGTH, UINT32_MAX);
	expect_decode_error(img, TABLE_COPY_BYTES,
			    "image length 4294967295 does not match 3 entries (expected 4096)");
	wr32(img + H_LENGTH, 0);
	expect_decode_error(img, TABLE_COPY_BYTES,
			    "image length 0 does not match 3 entries (expected 4096)");

	/* any flipped bit, anywhere in the image, the CRC field included */
	RESET();
	img[4000] ^= 0x10;
	{
		uint32_t stored = rd32(img + H_CRC), computed;
		char want[128];

		wr32(img + H_CRC, 0);
		computed = crc32c(0, img, 4096);
		wr32(img + H_CRC, stored);
		snprintf(want, sizeof(want), "CRC32C mismatch (stored 0x%08x, computed 0x%08x)",
			 stored, computed);
		expect_decode_error(img, TABLE_COPY_BYTES, want);
		assert_int_not_equal(stored, computed);
		img[4000] ^= 0x10;
		img[H_CRC] ^= 1;
		snprintf(want, sizeof(want), "CRC32C mismatch (stored 0x%08x, computed 0x%08x)",
			 stored ^ 1, stored);
		expect_decode_error(img, TABLE_COPY_BYTES, want);
	}

	/* the rest only matter with a right CRC: what a bug, not a torn write, would write */
	RESET();
	wr64(img + H_GENERATION, 0);
	fix_crc(img);
	expect_decode_error(img, TABLE_COPY_BYTES, "generation 0 is invalid");
	RESET();
	img[63] = 1;
	fix_crc(img);
	expect_decode_error(img, TABLE_COPY_BYTES, "header reserved bytes are not zero");
	RESET();
	img[48] = 0x80;
	fix_crc(img);
	expect_decode_error(img, TABLE_COPY_BYTES, "header reserved bytes are not zero");
	/* version 2 has a uuid; version 1 had none, its bytes reserved */
	RESET();
	memset(img + H_UUID, 0, 16);
	fix_crc(img);
	expect_decode_error(img, TABLE_COPY_BYTES, "the backend uuid is zero");
	RESET();
	wr32(img + H_VERSION, 1);
	fix_crc(img);
	expect_decode_error(img, TABLE_COPY_BYTES, "header reserved bytes are not zero");
	RESET();
	img[HDR + 3 * ENT] = 1;
	fix_crc(img);
	expect_decode_error(img, TABLE_COPY_BYTES, "padding after the last entry is not zero");
	RESET();
	img[4095] = 1;
	fix_crc(img);
	expect_decode_error(img, TABLE_COPY_BYTES, "padding after the last entry is not zero");
	/* a byte past the image is not part of it */
	RESET();
	img[4096] = 1;
	{
		struct table out;
		char err[256];

		assert_int_equal(table_decode(img, TABLE_COPY_BYTES, &out, err, sizeof(err)), 1);
		table_free(&out);
	}
#undef RESET
	free(img);
	free(good);
}

/*
 * One validation rule: entry idx of the base table changed by `edit` must be
 * refused by table_encode and, written anyway, by table_decode, both with
 * exactly want.
 */
struct rule {
	const char *want;
	size_t idx;
	void (*edit)(struct table_entry *e);
};

static void name_space(struct table_entry *e) { strcpy(e->spec.name, "a b"); }
static void name_empty(struct table_entry *e) { memset(e->spec.name, 0, sizeof(e->spec.name)); }
static void name_dotdot(struct table_entry *e) { strcpy(e->spec.name, ".."); }
static void name_ctrl(struct table_entry *e) { strcpy(e->spec.name, "x\n\"y"); }
static void name_full(struct table_entry *e) { memset(e->spec.name, 'a', sizeof(e->spec.name)); }
static void name_dup(struct table_entry *e) { strcpy(e->spec.name, "web"); }
static void size_zero(struct table_entry *e) { e->spec.size = 0; }
static void off_zero(struct table_entry *e) { e->offset = 0; }
static void off_region(struct table_entry *e) { e->offset = TABLE_REGION_BYTES - 4096; }
static void end_overflow(struct table_entry *e) { e->offset = INT64_MAX; e->spec.size = 1; }
static void off_huge(struct table_entry *e) { e->offset = UINT64_MAX; }
static void size_huge(struct table_entry *e) { e->spec.size = UINT64_MAX; }
static void overlap_db(struct table_entry *e) { e->offset = 2 * GiB + 512 * MiB; }
static void overlap_end(struct table_entry *e) { e->offset = 3 * GiB - 4096; }
static void covers_all(struct table_entry *e) { e->offset = MiB; e->spec.size = 8 * GiB; }
static void overlap_start(struct table_entry *e) { e->offset = MiB + GiB - 1; e->spec.size = 1; }
static void queues_zero(struct table_entry *e) { e->spec.queues = 0; }
static void queues_big(struct table_entry *e) { e->spec.queues = CONF_MAX_QUEUES + 1; }
static void depth_zero(struct table_entry *e) { e->spec.depth = 0; }
static void depth_big(struct table_entry *e) { e->spec.depth = CONF_MAX_DEPTH + 1; }
static void class_3(struct table_entry *e) { e->spec.cls = (enum conf_class)3; }
static void weight_zero(struct table_entry *e) { e->spec.qos.weight = 0; }
static void weight_big(struct table_entry *e) { e->spec.qos.weight = CONF_MAX_WEIGHT + 1; }
static void dev_id_neg(struct table_entry *e) { e->dev_id = -2; }
static void dev_id_min(struct table_entry *e) { e->dev_id = INT32_MIN; }

static const struct rule rules[] = {
	{ "entry 2: name \"a b\" is not a valid name", 2, name_space },
	{ "entry 2: name \"\" is not a valid name", 2, name_empty },
	{ "entry 0: name \"..\" is not a valid name", 0, name_dotdot },
	{ "entry 1: name \"x\\x0a\\\"y\" is not a valid name", 1, name_ctrl },
	{ "entry 2: name is not NUL-terminated", 2, name_full },
	{ "entry 2 (\"web\"): duplicate name (also entry 0)", 2, name_dup },
	{ "entry 1 (\"db\"): size is 0", 1, size_zero },
	{ "entry 0 (\"web\"): offset 0 is inside the table region (the first 1048576 bytes)", 0,
	  off_zero },
	{ "entry 2 (\"ci\"): offset 1044480 is inside the table region (the first 1048576 bytes)",
	  2, off_region },
	{ "entry 2 (\"ci\"): extent 9223372036854775807 + 1 ends beyond the largest offset "
	  "9223372036854775807", 2, end_overflow },
	{ "entry 2 (\"ci\"): extent 18446744073709551615 + 4194304 ends beyond the largest offset "
	  "9223372036854775807", 2, off_huge },
	{ "entry 1 (\"db\"): extent 2147483648 + 18446744073709551615 ends beyond the largest "
	  "offset 9223372036854775807", 1, size_huge },
	{ "entry 2 (\"ci\"): extent overlaps entry 1 (\"db\")", 2, overlap_db },
	{ "entry 2 (\"ci\"): extent overlaps entry 1 (\"db\")", 2, overlap_end },
	{ "entry 2 (\"ci\"): extent overlaps entry 0 (\"web\")", 2, covers_all },
	{ "entry 1 (\"db\"): extent overlaps entry 0 (\"web\")", 1, overlap_start },
	{ "entry 0 (\"web\"): queues 0 is out of range (1..64)", 0, queues_zero },
	{ "entry 0 (\"web\"): queues 65 is out of range (1..64)", 0, queues_big },
	{ "entry 1 (\"db\"): depth 0 is out of range (1..1024)", 1, depth_zero },
	{ "entry 1 (\"db\"): depth 1025 is out of range (1..1024)", 1, depth_big },
	{ "entry 2 (\"ci\"): class 3 is unknown", 2, class_3 },
	{ "entry 2 (\"ci\"): weight 0 is out of range (1..10000)", 2, weight_zero },
	{ "entry 2 (\"ci\"): weight 10001 is out of range (1..10000)", 2, weight_big },
	{ "entry 1 (\"db\"): dev_id -2 is invalid (-1: none)", 1, dev_id_neg },
	{ "entry 1 (\"db\"): dev_id -2147483648 is invalid (-1: none)", 1, dev_id_min },
};

/* Patch field values of entry idx straight into an image (bypassing table_encode). */
static void write_entry_raw(unsigned char *img, size_t idx, const struct table_entry *x)
{
	unsigned char *p = img + HDR + idx * ENT;

	memcpy(p + E_NAME, x->spec.name, CONF_NAME_MAX);
	wr64(p + E_OFFSET, x->offset);
	wr64(p + E_SIZE, x->spec.size);
	wr32(p + E_DEV_ID, (uint32_t)x->dev_id);
	wr32(p + E_QUEUES, x->spec.queues);
	wr32(p + E_DEPTH, x->spec.depth);
	wr32(p + E_CLASS, (uint32_t)x->spec.cls);
	wr32(p + E_WEIGHT, x->spec.qos.weight);
	fix_crc(img);
}

static void test_validation_rules(void **state)
{
	unsigned char *good, *img = aligned(TABLE_COPY_BYTES);
	long len;

	(void)state;
	good = encode(&base_table, 9, &len);
	for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
		struct table_entry e[NR_BASE];
		struct table t = { .nr = NR_BASE, .e = e, .uuid = UUID };
		char err[512] = "";

		memcpy(e, base, sizeof(e));
		rules[r].edit(&e[rules[r].idx]);
		memset(img, 0xee, TABLE_ALIGN);
		if (table_encode(&t, 1, img, TABLE_COPY_BYTES, err, sizeof(err)) != -1)
			fail_msg("rule %zu (%s): encoded", r, rules[r].want);
		assert_string_equal(err, rules[r].want);
		memcpy(img, good, (size_t)len);
		write_entry_raw(img, rules[r].idx, &e[rules[r].idx]);
		expect_decode_error(img, (size_t)len, rules[r].want);
	}
	free(img);
	free(good);
}

/* What only the bytes can get wrong (a struct table_entry cannot hold it). */
static void test_validation_raw_bytes(void **state)
{
	unsigned char *good, *img = aligned(TABLE_COPY_BYTES);
	long len;

	(void)state;
	good = encode(&base_table, 9, &len);
#define RESET() memcpy(img, good, (size_t)len)
	RESET();
	img[HDR + ENT + E_NAME + 5] = 'x'; /* "db\0\0\0x" */
	fix_crc(img);
	expect_decode_error(img, (size_t)len, "entry 1 (\"db\"): name padding is not zero");
	RESET();
	img[HDR + ENT + E_NAME + 63] = 0xff;
	fix_crc(img);
	expect_decode_error(img, (size_t)len, "entry 1 (\"db\"): name padding is not zero");
	RESET();
	wr32(img + HDR + 2 * ENT + E_CLASS, UINT32_MAX);
	fix_crc(img);
	expect_decode_error(img, (size_t)len, "entry 2 (\"ci\"): class 4294967295 is unknown");
	RESET();
	wr32(img + HDR + E_FLAGS, 0x7);
	fix_crc(img);
	expect_decode_error(img, (size_t)len, "entry 0 (\"web\"): unknown flags 0x4");
	RESET();
	wr32(img + HDR + E_FLAGS, 0x80000001);
	fix_crc(img);
	expect_decode_error(img, (size_t)len, "entry 0 (\"web\"): unknown flags 0x80000000");
	RESET();
	img[HDR + 2 * ENT + E_RESERVED] = 1;
	fix_crc(img);
	expect_decode_error(img, (size_t)len, "entry 2 (\"ci\"): reserved bytes are not zero");
	RESET();
	img[HDR + 2 * ENT + ENT - 1] = 0x40;
	fix_crc(img);
	expect_decode_error(img, (size_t)len, "entry 2 (\"ci\"): reserved bytes are not zero");
	/* an invalid name comes first, whatever else is wrong with the entry */
	RESET();
	img[HDR + ENT + E_NAME] = '/';
	img[HDR + ENT + E_RESERVED] = 1;
	fix_crc(img);
	expect_decode_error(img, (size_t)len, "entry 1: name \"/b\" is not a valid name");
#undef RESET
	free(img);
	free(good);
}

static void test_extents_may_touch(void **state)
{
	struct table_entry e[2] = { base[0], base[1] };
	struct table t = { .nr = 2, .e = e, .uuid = UUID }, out;
	unsigned char *img;
	char err[256] = "";
	long len;

	(void)state;
	e[0].offset = TABLE_REGION_BYTES; /* first byte after the region */
	e[1].offset = e[0].offset + e[0].spec.size; /* first byte after entry 0 */
	img = encode(&t, 1, &len);
	assert_int_equal(table_decode(img, (size_t)len, &out, err, sizeof(err)), 1);
	assert_entries_equal(&out, &t);
	table_free(&out);
	free(img);
}

static void test_encode_errors(void **state)
{
	unsigned char *img = aligned(TABLE_COPY_BYTES);
	char err[256] = "";

	(void)state;
	assert_int_equal(table_encode(&base_table, 0, img, TABLE_COPY_BYTES, err, sizeof(err)), -1);
	assert_string_equal(err, "generation 0 is reserved for a table never saved");
	{
		struct table no_uuid = base_table;

		memset(no_uuid.uuid, 0, sizeof(no_uuid.uuid));
		assert_int_equal(table_encode(&no_uuid, 1, img, TABLE_COPY_BYTES, err, sizeof(err)),
				 -1);
		assert_string_equal(err, "the backend uuid is not set");
	}
	assert_int_equal(table_encode(&base_table, 1, img, 4095, err, sizeof(err)), -1);
	assert_string_equal(err, "buffer too small (4095 bytes, need 4096)");
	assert_int_equal(table_encode(&base_table, 1, img, 4096, err, sizeof(err)), 4096);
	/* messages are cut to the buffer, and no buffer is fine */
	assert_int_equal(table_encode(&base_table, 0, img, TABLE_COPY_BYTES, err, 11), -1);
	assert_string_equal(err, "generation");
	assert_int_equal(table_encode(&base_table, 0, img, TABLE_COPY_BYTES, NULL, 0), -1);
	free(img);
}

static void test_decode_error_buffer_edges(void **state)
{
	unsigned char *img;
	struct table out;
	char err[16];
	long len;

	(void)state;
	img = encode(&base_table, 1, &len);
	img[100] ^= 1;
	assert_int_equal(table_decode(img, (size_t)len, &out, err, sizeof(err)), -1);
	assert_string_equal(err, "CRC32C mismatch");
	assert_int_equal(table_decode(img, (size_t)len, &out, NULL, 0), -1);
	assert_int_equal(table_decode(img, 0, &out, NULL, 0), 0);
	free(img);
}

/* ---- load / save over an in-memory metadata region ---- */

struct fake {
	unsigned char *disk; /* TABLE_REGION_BYTES */
	unsigned reads, writes, flushes;
	uint64_t last_write_off;
	int read_fail_slot; /* -1: none; else the copy whose read fails with -EIO */
	int write_rc, flush_rc; /* returned instead of doing the job (write: after tearing) */
	size_t tear_keep; /* nonzero: a write lands only its first tear_keep bytes */
	size_t tear_skip; /* nonzero: a write lands all but its first tear_skip bytes */
	unsigned fail_write_nr; /* nonzero: only write number fail_write_nr (1-based) fails */
};

static void check_io_args(const void *buf, size_t len, uint64_t off)
{
	assert_int_equal((uintptr_t)buf % TABLE_ALIGN, 0);
	assert_int_equal(len % TABLE_ALIGN, 0);
	assert_true(len > 0);
	assert_int_equal(off % TABLE_COPY_BYTES, 0);
	assert_true(off + len <= TABLE_REGION_BYTES);
	/* a copy never spills into the other */
	assert_true(len <= TABLE_COPY_BYTES);
}

static int fake_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct fake *f = ctx;

	check_io_args(buf, len, off);
	f->reads++;
	if (f->read_fail_slot >= 0 && off == (uint64_t)f->read_fail_slot * TABLE_COPY_BYTES)
		return -EIO;
	memcpy(buf, f->disk + off, len);
	return 0;
}

static int fake_write(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct fake *f = ctx;

	check_io_args(buf, len, off);
	f->writes++;
	f->last_write_off = off;
	if (f->fail_write_nr && f->writes != f->fail_write_nr) {
		memcpy(f->disk + off, buf, len);
		return 0;
	}
	if (f->tear_keep)
		memcpy(f->disk + off, buf, f->tear_keep < len ? f->tear_keep : len);
	else if (f->tear_skip)
		memcpy(f->disk + off + f->tear_skip, (const unsigned char *)buf + f->tear_skip,
		       len - f->tear_skip);
	else if (!f->write_rc)
		memcpy(f->disk + off, buf, len);
	return f->write_rc;
}

static int fake_flush(void *ctx)
{
	struct fake *f = ctx;

	f->flushes++;
	return f->flush_rc;
}

static void fake_init(struct fake *f, struct table_io *io)
{
	memset(f, 0, sizeof(*f));
	f->disk = aligned(TABLE_REGION_BYTES);
	f->read_fail_slot = -1;
	*io = (struct table_io){ .ctx = f, .read = fake_read, .write = fake_write,
				 .flush = fake_flush };
}

/* Load must succeed with generation gen from slot, holding want's entries. */
static void expect_load(const struct table_io *io, uint64_t gen, int slot, const struct table *want)
{
	struct table out = { .generation = 1234, .slot = 9 };
	char err[512] = "";

	assert_int_equal(table_load(io, WHAT, &out, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_true(out.generation == gen);
	assert_int_equal(out.slot, slot);
	assert_entries_equal(&out, want);
	table_free(&out);
}

/* Load must fail with err starting with want_prefix and leave out alone. */
static void expect_load_error(const struct table_io *io, const char *want_prefix)
{
	struct table out = { .generation = 1234, .slot = 9, .nr = 5,
			     .e = (struct table_entry *)base };
	char err[1024] = "";

	assert_int_equal(table_load(io, WHAT, &out, err, sizeof(err)), -1);
	if (strncmp(err, want_prefix, strlen(want_prefix)) != 0)
		fail_msg("got \"%s\", want \"%s...\"", err, want_prefix);
	assert_true(out.generation == 1234);
	assert_int_equal(out.slot, 9);
	assert_int_equal(out.nr, 5);
	assert_ptr_equal(out.e, base);
}

static void save_ok(const struct table_io *io, struct table *t)
{
	char err[512] = "";

	assert_int_equal(table_save(io, WHAT, t, err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

static void test_load_fresh_region(void **state)
{
	struct table empty = { .slot = -1 };
	struct table_io io;
	struct fake f;

	(void)state;
	fake_init(&f, &io);
	expect_load(&io, 0, -1, &empty);
	assert_int_equal(f.reads, 2);
	assert_int_equal(f.writes, 0);
	free(f.disk);
}

static void test_load_save_sequence(void **state)
{
	struct table t = { .slot = -1 };
	struct table_io io;
	struct fake f;
	char err[256] = "";

	(void)state;
	fake_init(&f, &io);
	assert_int_equal(table_load(&io, WHAT, &t, err, sizeof(err)), 0);
	assert_int_equal(t.slot, -1);
	memcpy(t.uuid, uuid, sizeof(uuid));
	/*
	 * The first save writes both copies, B (1) then A (2); then they
	 * alternate, generations always rising.
	 */
	for (unsigned i = 0; i < 6; i++) {
		struct table_entry e = base[i % NR_BASE];

		snprintf(e.spec.name, sizeof(e.spec.name), "t%u", i);
		e.offset = 8 * GiB + i * GiB;
		assert_int_equal(table_append(&t, &e), 0);
		save_ok(&io, &t);
		assert_true(t.generation == i + 2);
		assert_int_equal(t.slot, (int)(i % 2));
		assert_int_equal(t.version, TABLE_FORMAT_VERSION);
		assert_true(f.last_write_off == (i % 2) * TABLE_COPY_BYTES);
		assert_int_equal(f.writes, i + 2);
		assert_int_equal(f.flushes, i + 2);
		expect_load(&io, i + 2, (int)(i % 2), &t);
	}
	/* a table emptied is saved like any other */
	while (t.nr)
		table_remove(&t, 0);
	save_ok(&io, &t);
	assert_true(t.generation == 8);
	assert_int_equal(t.slot, 0);
	expect_load(&io, 8, 0, &t);
	table_free(&t);
	free(f.disk);
}

/*
 * Leave the region holding generation 2 (base[0..1]) in A and 3 (base) in
 * B (the first save wrote base[0..1] to both, B as 1 and A as 2).
 */
static void two_generations(const struct table_io *io, struct table *t)
{
	*t = (struct table){ .slot = -1, .uuid = UUID };
	assert_int_equal(table_append(t, &base[0]), 0);
	assert_int_equal(table_append(t, &base[1]), 0);
	save_ok(io, t);
	assert_int_equal(table_append(t, &base[2]), 0);
	save_ok(io, t);
	assert_true(t->generation == 3);
	assert_int_equal(t->slot, 1);
}

static void test_torn_newest_copy(void **state)
{
	/* the new entry is bytes 832..1087, the last nonzero one 968: a later tear is whole */
	static const size_t keep[] = { 512, 800, 64, 1 };
	struct table t, gen2;
	struct table_io io;
	struct fake f;

	(void)state;
	for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]) + 1; k++) {
		char err[256] = "";

		fake_init(&f, &io);
		two_generations(&io, &t);
		assert_int_equal(table_copy(&gen2, &t), 0);
		/* generation 4 (a fourth tenant) into A, which the crash tears */
		assert_int_equal(table_append(&t, &(struct table_entry){ .spec.name = "late",
			.offset = 64 * GiB, .spec.size = GiB, .spec.queues = 1, .spec.depth = 1,
			.spec.qos = { .weight = 1 } }), 0);
		if (k < sizeof(keep) / sizeof(keep[0]))
			f.tear_keep = keep[k];
		else
			f.tear_skip = 512; /* the header sector did not make it */
		f.write_rc = -EIO;
		assert_int_equal(table_save(&io, WHAT, &t, err, sizeof(err)), -1);
		assert_string_equal(err,
				    WHAT ": cannot write tenant table copy A: Input/output error");
		assert_true(t.generation == 3);
		assert_int_equal(t.slot, 1);
		/* restart: generation 3 from B */
		expect_load(&io, 3, 1, &gen2);
		table_free(&t);
		table_free(&gen2);
		free(f.disk);
	}
}

/* Damage after the fact (a write that returned but did not stick, bit rot). */
static void test_damaged_newest_copy(void **state)
{
	struct table t, gen2;
	struct table_io io;
	struct fake f;

	(void)state;
	fake_init(&f, &io);
	two_generations(&io, &t);
	assert_int_equal(table_copy(&gen2, &t), 0);
	/* one byte of B's entries */
	f.disk[TABLE_COPY_BYTES + HDR + ENT + 7] ^= 0x20;
	table_free(&t);
	expect_load(&io, 2, 0, &(struct table){ .nr = 2, .e = (struct table_entry *)base });
	/* the daemon goes on from generation 2: its next save overwrites the damage */
	assert_int_equal(table_load(&io, WHAT, &t, NULL, 0), 0);
	assert_memory_equal(t.uuid, uuid, sizeof(uuid));
	assert_int_equal(table_append(&t, &base[2]), 0);
	save_ok(&io, &t);
	assert_true(t.generation == 3);
	assert_int_equal(t.slot, 1);
	expect_load(&io, 3, 1, &gen2);
	table_free(&gen2);
	table_free(&t);
	free(f.disk);
}

static void test_torn_older_copy(void **state)
{
	struct table t;
	struct table_io io;
	struct fake f;

	(void)state;
	fake_init(&f, &io);
	two_generations(&io, &t);
	/* A (generation 2) damaged: B, the newest, is all that is needed */
	f.disk[HDR + 3] ^= 1;
	expect_load(&io, 3, 1, &t);
	/* and A's magic gone entirely: the same */
	memset(f.disk, 0, TABLE_ALIGN);
	expect_load(&io, 3, 1, &t);
	/* saving again writes A, generation 4 */
	save_ok(&io, &t);
	assert_true(t.generation == 4);
	assert_int_equal(t.slot, 0);
	expect_load(&io, 4, 0, &t);
	table_free(&t);
	free(f.disk);
}

static void test_both_copies_damaged(void **state)
{
	unsigned char *before = malloc(TABLE_REGION_BYTES);
	struct table t;
	struct table_io io;
	struct fake f;

	(void)state;
	fake_init(&f, &io);
	two_generations(&io, &t);
	f.disk[HDR + 1] ^= 1;
	f.disk[TABLE_COPY_BYTES + HDR + 1] ^= 1;
	memcpy(before, f.disk, TABLE_REGION_BYTES);
	f.writes = 0;
	expect_load_error(&io, WHAT ": no valid tenant table: copy A: CRC32C mismatch (stored 0x");
	{
		struct table out;
		char err[1024];

		assert_int_equal(table_load(&io, WHAT, &out, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "; copy B: CRC32C mismatch (stored 0x"));
	}
	/* refusing touches nothing */
	assert_int_equal(f.writes, 0);
	assert_memory_equal(f.disk, before, TABLE_REGION_BYTES);
	table_free(&t);
	free(before);
	free(f.disk);
}

/*
 * The first save writes both copies: either one alone still holds the
 * tenants. (It used to write A only, so a damaged A forgot them all.)
 */
static void test_first_save_writes_both(void **state)
{
	struct table t = { .slot = -1, .uuid = UUID }, b_only;
	struct table_io io;
	struct fake f;

	(void)state;
	fake_init(&f, &io);
	assert_int_equal(table_append(&t, &base[0]), 0);
	save_ok(&io, &t);
	assert_int_equal(f.writes, 2);
	assert_int_equal(f.flushes, 2);
	assert_true(t.generation == 2);
	assert_int_equal(t.slot, 0);
	expect_load(&io, 2, 0, &t);
	assert_int_equal(table_copy(&b_only, &t), 0);

	/* B damaged after the fact: A */
	f.disk[TABLE_COPY_BYTES + HDR + E_SIZE] ^= 0x01;
	expect_load(&io, 2, 0, &t);
	f.disk[TABLE_COPY_BYTES + HDR + E_SIZE] ^= 0x01;
	/* A damaged: B (generation 1) has the same tenants */
	f.disk[HDR + E_SIZE] ^= 0x01;
	expect_load(&io, 1, 1, &b_only);
	/* A gone entirely (its magic too): still B */
	memset(f.disk, 0, TABLE_ALIGN);
	expect_load(&io, 1, 1, &b_only);
	table_free(&t);
	table_free(&b_only);
	free(f.disk);
}

/* A crash tears the first save: while A holds nothing, a torn B means "still empty". */
static void test_torn_first_save(void **state)
{
	struct table t = { .slot = -1, .uuid = UUID }, empty = { .slot = -1 };
	struct table_io io;
	struct fake f;
	char err[256] = "";

	(void)state;
	fake_init(&f, &io);
	assert_int_equal(table_append(&t, &base[0]), 0);
	/* B, written first, torn after its header (the entry did not make it) */
	f.tear_keep = HDR;
	f.write_rc = -EIO;
	assert_int_equal(table_save(&io, WHAT, &t, err, sizeof(err)), -1);
	assert_string_equal(err, WHAT ": cannot write tenant table copy B: Input/output error");
	assert_int_equal(f.last_write_off, TABLE_COPY_BYTES);
	assert_int_equal(f.writes, 1);
	assert_true(t.generation == 0);
	assert_int_equal(t.slot, -1);
	expect_load(&io, 0, -1, &empty);

	/* B lands, A (the second write) fails: B holds the table, t is unchanged */
	f.tear_keep = 0;
	f.write_rc = -EIO;
	f.fail_write_nr = f.writes + 2;
	assert_int_equal(table_save(&io, WHAT, &t, err, sizeof(err)), -1);
	assert_string_equal(err, WHAT ": cannot write tenant table copy A: Input/output error");
	assert_true(t.generation == 0);
	assert_int_equal(t.slot, -1);
	expect_load(&io, 1, 1, &t);
	/* the next save starts over and writes both */
	f.write_rc = 0;
	f.fail_write_nr = 0;
	save_ok(&io, &t);
	assert_true(t.generation == 2);
	assert_int_equal(t.slot, 0);
	expect_load(&io, 2, 0, &t);
	table_free(&t);
	free(f.disk);
}

/* The fields that came later within version 2, in what were reserved bytes. */
static void test_layout_later_fields(void **state)
{
	struct table_entry e[2] = { base[0], base[1] };
	struct table t = { .nr = 2, .e = e, .uuid = UUID }, out;
	const unsigned char *e0, *e1;
	unsigned char *img;
	char err[256] = "";
	long len;

	(void)state;
	e[0].spec.qos.min_iops = 1000; /* at its limit */
	e[0].spec.qos.min_bw = 100 * MiB - 1;
	e[0].spec.qos.latency_target_us = 0x00987654; /* 9991764 */
	e[1].spec.qos.min_iops = 0x0102030405060708ULL; /* no limit: any number */
	e[1].spec.qos.min_bw = 0x1112131415161718ULL;
	e[1].spec.qos.latency_target_us = CONF_MIN_LATENCY_TARGET_US;
	img = encode(&t, 5, &len);
	e0 = img + HDR;
	e1 = img + HDR + ENT;
	assert_true(rd64(e0 + E_MIN_IOPS) == 1000);
	assert_true(rd64(e0 + E_MIN_BW) == 100 * MiB - 1);
	assert_int_equal(rd32(e0 + E_LATENCY_TARGET), 0x00987654);
	assert_int_equal(e1[E_MIN_IOPS], 0x08); /* little-endian */
	assert_true(rd64(e1 + E_MIN_IOPS) == 0x0102030405060708ULL);
	assert_true(rd64(e1 + E_MIN_BW) == 0x1112131415161718ULL);
	assert_int_equal(rd32(e1 + E_LATENCY_TARGET), 10);
	for (size_t i = E_RESERVED; i < ENT; i++) {
		assert_int_equal(e0[i], 0);
		assert_int_equal(e1[i], 0);
	}
	assert_int_equal(table_decode(img, (size_t)len, &out, err, sizeof(err)), 1);
	assert_string_equal(err, "");
	assert_entries_equal(&out, &t);
	table_free(&out);
	free(img);
}

/*
 * What a daemon from before these fields wrote: entries whose bytes from
 * 144 on are all zero. They read as "none", "the scheduler's", and write
 * back byte for byte as they were.
 */
static void test_older_entries(void **state)
{
	unsigned char *img, *again;
	struct table out;
	char err[256] = "";
	long len, len2;

	(void)state;
	img = encode(&base_table, 4, &len);
	for (size_t i = 0; i < NR_BASE; i++) {
		unsigned char *p = img + HDR + i * ENT;

		/* an older daemon's image: fill in its fields, zero the rest */
		memset(p + 144, 0, ENT - 144);
	}
	fix_crc(img);
	assert_int_equal(table_decode(img, (size_t)len, &out, err, sizeof(err)), 1);
	for (size_t i = 0; i < out.nr; i++) {
		assert_true(out.e[i].spec.qos.min_iops == 0);
		assert_true(out.e[i].spec.qos.min_bw == 0);
		assert_int_equal(out.e[i].spec.qos.latency_target_us, 0);
	}
	assert_entries_equal(&out, &base_table);
	again = encode(&out, 4, &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(again, img, (size_t)len);
	table_free(&out);
	free(again);
	free(img);
}

static void test_later_fields_checked(void **state)
{
	unsigned char *good, *img = aligned(TABLE_COPY_BYTES);
	struct table_entry e[1] = { base[0] };
	struct table t = { .nr = 1, .e = e, .uuid = UUID };
	char err[256] = "";
	long len;

	(void)state;
	good = encode(&base_table, 9, &len);
#define RESET() memcpy(img, good, (size_t)len)
	RESET();
	wr32(img + HDR + E_LATENCY_TARGET, 9);
	fix_crc(img);
	expect_decode_error(img, (size_t)len, "entry 0 (\"web\"): latency_target_us 9 is out of "
			    "range (0 or 10..10000000)");
	RESET();
	img[HDR + ENT + E_LATENCY_TARGET + 3] = 1; /* 16 s */
	fix_crc(img);
	expect_decode_error(img, (size_t)len, "entry 1 (\"db\"): latency_target_us 16777216 is out "
			    "of range (0 or 10..10000000)");
	/* web: iops_limit 1000, bw_limit 100 MiB */
	RESET();
	wr64(img + HDR + E_MIN_IOPS, 1001);
	fix_crc(img);
	expect_decode_error(img, (size_t)len, "entry 0 (\"web\"): min_iops 1001 is above "
			    "iops_limit 1000");
	RESET();
	wr64(img + HDR + E_MIN_BW, 100 * MiB + 1);
	fix_crc(img);
	expect_decode_error(img, (size_t)len, "entry 0 (\"web\"): min_bw 104857601 is above "
			    "bw_limit 104857600");
	/* the reserved bytes start after them */
	RESET();
	img[HDR + E_RESERVED] = 1;
	fix_crc(img);
	expect_decode_error(img, (size_t)len, "entry 0 (\"web\"): reserved bytes are not zero");
	/* at the bounds: loads */
	RESET();
	wr64(img + HDR + E_MIN_IOPS, 1000);
	wr64(img + HDR + E_MIN_BW, 100 * MiB);
	wr32(img + HDR + E_LATENCY_TARGET, CONF_MAX_LATENCY_TARGET_US);
	fix_crc(img);
	{
		struct table out;

		assert_int_equal(table_decode(img, (size_t)len, &out, err, sizeof(err)), 1);
		assert_true(out.e[0].spec.qos.min_iops == 1000);
		assert_true(out.e[0].spec.qos.min_bw == 100 * MiB);
		assert_int_equal(out.e[0].spec.qos.latency_target_us, CONF_MAX_LATENCY_TARGET_US);
		table_free(&out);
	}
#undef RESET
	/* what is refused on reading is never written */
	e[0].spec.qos.latency_target_us = CONF_MAX_LATENCY_TARGET_US + 1;
	assert_int_equal(table_encode(&t, 1, img, TABLE_COPY_BYTES, err, sizeof(err)), -1);
	assert_string_equal(err, "entry 0 (\"web\"): latency_target_us 10000001 is out of range "
			    "(0 or 10..10000000)");
	e[0].spec.qos.latency_target_us = 0;
	e[0].spec.qos.min_iops = 1001;
	assert_int_equal(table_encode(&t, 1, img, TABLE_COPY_BYTES, err, sizeof(err)), -1);
	assert_string_equal(err, "entry 0 (\"web\"): min_iops 1001 is above iops_limit 1000");
	free(img);
	free(good);
}

/* Would a daemon from before the later fields accept this copy? Its check, as it was. */
static bool older_daemon_reads(const unsigned char *copy)
{
	uint32_t count = rd32(copy + H_COUNT);

	for (uint32_t i = 0; i < count; i++)
		for (size_t b = 144; b < ENT; b++)
			if (copy[HDR + i * ENT + b])
				return false;
	return true;
}

/*
 * While an entry sets a later field, every save writes both copies: an
 * older daemon then refuses the table rather than falling back to the
 * other copy, older and without them (a stale table).
 */
static void test_later_fields_save_both(void **state)
{
	struct table_entry slo = base[2];
	struct table t;
	struct table_io io;
	struct fake f;

	(void)state;
	fake_init(&f, &io);
	two_generations(&io, &t); /* generation 3 in B, 2 in A */
	f.writes = 0;
	assert_true(older_daemon_reads(f.disk) && older_daemon_reads(f.disk + TABLE_COPY_BYTES));
	slo.spec.qos.min_iops = 100;
	t.e[2] = slo;
	save_ok(&io, &t);
	/* A as 4, then B as 5 */
	assert_int_equal(f.writes, 2);
	assert_true(t.generation == 5);
	assert_int_equal(t.slot, 1);
	assert_false(older_daemon_reads(f.disk));
	assert_false(older_daemon_reads(f.disk + TABLE_COPY_BYTES));
	expect_load(&io, 5, 1, &t);
	/* so long as one is set */
	t.e[2].spec.qos.min_iops = 0;
	t.e[0].spec.qos.latency_target_us = 200;
	save_ok(&io, &t);
	assert_int_equal(f.writes, 4);
	assert_true(t.generation == 7);
	assert_false(older_daemon_reads(f.disk));
	assert_false(older_daemon_reads(f.disk + TABLE_COPY_BYTES));
	expect_load(&io, 7, 1, &t);
	/* none set: one copy again, the newest readable by any daemon */
	t.e[0].spec.qos.latency_target_us = 0;
	save_ok(&io, &t);
	assert_int_equal(f.writes, 5);
	assert_true(t.generation == 8);
	assert_int_equal(t.slot, 0);
	assert_true(older_daemon_reads(f.disk));
	expect_load(&io, 8, 0, &t);
	table_free(&t);
	free(f.disk);
}

/* Write t as a version 1 image (no uuid) with generation gen into copy slot. */
static void write_v1(struct fake *f, const struct table *t, uint64_t gen, int slot)
{
	struct table u = *t;
	unsigned char *img;
	long len;

	memcpy(u.uuid, uuid, sizeof(uuid));
	img = encode(&u, gen, &len);
	wr32(img + H_VERSION, 1);
	memset(img + H_UUID, 0, 16);
	fix_crc(img);
	memcpy(f->disk + (size_t)slot * TABLE_COPY_BYTES, img, (size_t)len);
	free(img);
}

/*
 * What the first ddublk wrote: one save, one copy (A, generation 1, format
 * 1). Read as it is; damaged, it is refused, not taken for an empty table
 * (whose first add would then reuse its tenants' extents).
 */
static void test_single_old_copy(void **state)
{
	unsigned char *before = malloc(TABLE_REGION_BYTES);
	struct table out = { .slot = -1 };
	struct table_io io;
	struct fake f;
	char err[1024] = "";

	(void)state;
	fake_init(&f, &io);
	write_v1(&f, &base_table, 1, 0);
	assert_int_equal(table_load(&io, WHAT, &out, err, sizeof(err)), 0);
	assert_true(out.generation == 1);
	assert_int_equal(out.slot, 0);
	assert_int_equal(out.version, 1);
	assert_true(out.uuid[0] == 0 && !memcmp(out.uuid, out.uuid + 1, 15));
	assert_entries_equal(&out, &base_table);
	table_free(&out);

	/* damaged: refused, nothing written */
	f.disk[HDR + ENT + E_OFFSET] ^= 0x40;
	memcpy(before, f.disk, TABLE_REGION_BYTES);
	expect_load_error(&io, WHAT ": no valid tenant table: copy A: CRC32C mismatch (stored 0x");
	assert_int_equal(table_load(&io, WHAT, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "; copy B: no table (no magic)"));
	/* torn within its header sector: refused too */
	memset(f.disk + 256, 0, TABLE_ALIGN - 256);
	expect_load_error(&io, WHAT ": no valid tenant table: copy A: ");
	assert_int_equal(f.writes, 0);
	free(before);
	free(f.disk);
}

/* A version 1 table is upgraded by its next save, which writes both copies. */
static void test_old_version_upgrade(void **state)
{
	struct table t, b;
	struct table_io io;
	struct fake f;
	char err[256] = "";

	(void)state;
	fake_init(&f, &io);
	write_v1(&f, &(struct table){ .nr = 2, .e = (struct table_entry *)base }, 7, 0);
	assert_int_equal(table_load(&io, WHAT, &t, err, sizeof(err)), 0);
	assert_int_equal(t.version, 1);
	assert_int_equal(table_append(&t, &base[2]), 0);
	/* encoding needs the uuid the caller gives it */
	assert_int_equal(table_save(&io, WHAT, &t, err, sizeof(err)), -1);
	assert_string_equal(err, WHAT ": cannot save the tenant table: the backend uuid is not set");
	assert_int_equal(f.writes, 0);
	memcpy(t.uuid, uuid, sizeof(uuid));
	save_ok(&io, &t);
	/* B as 8, then A (the old copy) as 9: no copy of the old format is left */
	assert_int_equal(f.writes, 2);
	assert_true(t.generation == 9);
	assert_int_equal(t.slot, 0);
	assert_int_equal(t.version, TABLE_FORMAT_VERSION);
	expect_load(&io, 9, 0, &t);
	assert_int_equal(table_decode(f.disk + TABLE_COPY_BYTES, TABLE_COPY_BYTES, &b, err,
				      sizeof(err)), 1);
	assert_true(b.generation == 8);
	assert_int_equal(b.version, TABLE_FORMAT_VERSION);
	assert_memory_equal(b.uuid, uuid, sizeof(uuid));
	assert_entries_equal(&b, &t);
	table_free(&b);
	/* later saves write one copy again */
	save_ok(&io, &t);
	assert_int_equal(f.writes, 3);
	assert_true(t.generation == 10);
	assert_int_equal(t.slot, 1);
	table_free(&t);
	free(f.disk);
}

/*
 * A copy in a version this daemon does not know (a newer ddublkd wrote
 * it) may be the newest table: the backend is refused whatever the other
 * copy holds, never served from the older one.
 */
static void test_unknown_version_refused(void **state)
{
	unsigned char *before = malloc(TABLE_REGION_BYTES);
	struct table t;
	struct table_io io;
	struct fake f;

	(void)state;
	fake_init(&f, &io);
	two_generations(&io, &t);
	wr32(f.disk + TABLE_COPY_BYTES + H_VERSION, 3);
	fix_crc(f.disk + TABLE_COPY_BYTES);
	memcpy(before, f.disk, TABLE_REGION_BYTES);
	f.writes = 0;
	expect_load_error(&io, WHAT ": tenant table copy B: format version 3 is not supported "
			  "(this ddublkd reads 1..2) (written by a newer ddublkd?)");
	assert_int_equal(f.writes, 0);
	assert_memory_equal(f.disk, before, TABLE_REGION_BYTES);
	/* the same in A, B valid */
	table_free(&t);
	memset(f.disk, 0, TABLE_REGION_BYTES);
	two_generations(&io, &t);
	wr32(f.disk + H_VERSION, 0x100);
	expect_load_error(&io, WHAT ": tenant table copy A: format version 256 is not supported");
	/* and alone: not a fresh backend */
	memset(f.disk + TABLE_COPY_BYTES, 0, TABLE_ALIGN);
	expect_load_error(&io, WHAT ": tenant table copy A: format version 256 is not supported");
	table_free(&t);
	free(before);
	free(f.disk);
}

static void test_equal_generations(void **state)
{
	struct table t;
	struct table_io io;
	struct fake f;

	(void)state;
	fake_init(&f, &io);
	two_generations(&io, &t);
	memcpy(f.disk, f.disk + TABLE_COPY_BYTES, TABLE_COPY_BYTES);
	expect_load_error(&io, WHAT ": tenant table copies A and B both hold generation 3");
	table_free(&t);
	free(f.disk);
}

static void test_read_error(void **state)
{
	struct table t;
	struct table_io io;
	struct fake f;

	(void)state;
	fake_init(&f, &io);
	two_generations(&io, &t);
	f.read_fail_slot = 1;
	expect_load_error(&io, WHAT ": cannot read tenant table copy B: Input/output error");
	f.read_fail_slot = 0;
	expect_load_error(&io, WHAT ": cannot read tenant table copy A: Input/output error");
	table_free(&t);
	free(f.disk);
}

static void test_failed_write_or_flush(void **state)
{
	struct table t, gen2, out;
	struct table_io io;
	struct fake f;
	char err[256] = "";

	(void)state;
	fake_init(&f, &io);
	two_generations(&io, &t);
	assert_int_equal(table_copy(&gen2, &t), 0);
	assert_int_equal(table_append(&t, &(struct table_entry){ .spec.name = "new",
		.offset = 100 * GiB, .spec.size = GiB, .spec.queues = 1, .spec.depth = 1,
		.spec.qos = { .weight = 1 } }), 0);

	/* the write fails outright */
	f.write_rc = -ENOSPC;
	assert_int_equal(table_save(&io, WHAT, &t, err, sizeof(err)), -1);
	assert_string_equal(err,
			    WHAT ": cannot write tenant table copy A: No space left on device");
	assert_true(t.generation == 3);
	assert_int_equal(t.slot, 1);
	assert_int_equal(t.nr, 4);
	assert_int_equal(f.flushes, 3); /* no flush after a failed write */
	expect_load(&io, 3, 1, &gen2);

	/* a callback that breaks the -errno promise is still an error */
	f.write_rc = 1;
	assert_int_equal(table_save(&io, WHAT, &t, err, sizeof(err)), -1);
	assert_string_equal(err, WHAT ": cannot write tenant table copy A: Input/output error");
	f.write_rc = 0;

	/* the write lands but the flush fails: t stays, B still holds generation 2 */
	f.flush_rc = -EIO;
	assert_int_equal(table_save(&io, WHAT, &t, err, sizeof(err)), -1);
	assert_string_equal(err, WHAT ": cannot flush tenant table copy A: Input/output error");
	assert_true(t.generation == 3);
	assert_int_equal(t.slot, 1);
	assert_int_equal(table_decode(f.disk + TABLE_COPY_BYTES, TABLE_COPY_BYTES, &out, err,
				      sizeof(err)), 1);
	assert_true(out.generation == 3);
	assert_entries_equal(&out, &gen2);
	table_free(&out);

	/* retrying writes the same copy with the same generation */
	f.flush_rc = 0;
	save_ok(&io, &t);
	assert_true(t.generation == 4);
	assert_int_equal(t.slot, 0);
	assert_true(f.last_write_off == 0);
	expect_load(&io, 4, 0, &t);
	table_free(&t);
	table_free(&gen2);
	free(f.disk);
}

static void test_save_invalid_table(void **state)
{
	struct table t;
	struct table_io io;
	struct fake f;
	char err[256] = "";

	(void)state;
	fake_init(&f, &io);
	two_generations(&io, &t);
	t.e[1].spec.size = 0;
	f.writes = 0;
	assert_int_equal(table_save(&io, WHAT, &t, err, sizeof(err)), -1);
	assert_string_equal(err,
			    WHAT ": cannot save the tenant table: entry 1 (\"db\"): size is 0");
	assert_int_equal(f.writes, 0);
	assert_true(t.generation == 3);
	assert_int_equal(t.slot, 1);

	t.e[1].spec.size = GiB;
	t.generation = UINT64_MAX;
	assert_int_equal(table_save(&io, WHAT, &t, err, sizeof(err)), -1);
	assert_string_equal(err, WHAT ": cannot save the tenant table: generations exhausted");
	assert_int_equal(f.writes, 0);
	assert_true(t.generation == UINT64_MAX);
	table_free(&t);
	free(f.disk);
}

static void test_append_remove_find_copy(void **state)
{
	struct table t = { .slot = -1 }, c;
	struct table_entry e = base[0];

	(void)state;
	assert_int_equal(table_find(&t, "web"), -1);
	for (unsigned i = 0; i < 5; i++) {
		snprintf(e.spec.name, sizeof(e.spec.name), "t%u", i);
		assert_int_equal(table_append(&t, &e), 0);
	}
	assert_int_equal(t.nr, 5);
	assert_int_equal(table_find(&t, "t3"), 3);
	assert_int_equal(table_find(&t, "t"), -1);
	assert_int_equal(table_find(&t, "t33"), -1);
	/* appending one of its own entries (realloc may move it) */
	assert_int_equal(table_append(&t, &t.e[0]), 0);
	assert_string_equal(t.e[5].spec.name, "t0");
	table_remove(&t, 5);

	/* a deep copy */
	t.generation = 8;
	t.slot = 1;
	assert_int_equal(table_copy(&c, &t), 0);
	assert_ptr_not_equal(c.e, t.e);
	assert_true(c.generation == 8);
	assert_int_equal(c.slot, 1);
	strcpy(c.e[0].spec.name, "changed");
	assert_string_equal(t.e[0].spec.name, "t0");

	table_remove(&t, 2); /* keeps the order of the others */
	assert_int_equal(t.nr, 4);
	assert_string_equal(t.e[0].spec.name, "t0");
	assert_string_equal(t.e[1].spec.name, "t1");
	assert_string_equal(t.e[2].spec.name, "t3");
	assert_string_equal(t.e[3].spec.name, "t4");
	assert_int_equal(table_find(&t, "t2"), -1);
	assert_int_equal(table_find(&t, "t4"), 3);
	table_remove(&t, 4); /* out of range: nothing */
	assert_int_equal(t.nr, 4);
	table_remove(&t, 3);
	table_remove(&t, 0);
	assert_string_equal(t.e[0].spec.name, "t1");
	table_remove(&t, 0);
	table_remove(&t, 0);
	assert_int_equal(t.nr, 0);
	assert_null(t.e);

	/* free keeps generation and slot: the next save must still go to the right copy */
	table_free(&c);
	assert_int_equal(c.nr, 0);
	assert_null(c.e);
	assert_true(c.generation == 8);
	assert_int_equal(c.slot, 1);

	/* copying an empty table */
	assert_int_equal(table_copy(&c, &t), 0);
	assert_null(c.e);
	assert_int_equal(c.nr, 0);

	/* the limit */
	for (unsigned i = 0; i < TABLE_MAX_ENTRIES; i++)
		assert_int_equal(table_append(&t, &e), 0);
	errno = 0;
	assert_int_equal(table_append(&t, &e), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(t.nr, TABLE_MAX_ENTRIES);
	table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_known_answer),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_image_sizes),
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_fresh_region),
		cmocka_unit_test(test_decode_header_errors),
		cmocka_unit_test(test_validation_rules),
		cmocka_unit_test(test_validation_raw_bytes),
		cmocka_unit_test(test_extents_may_touch),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_decode_error_buffer_edges),
		cmocka_unit_test(test_load_fresh_region),
		cmocka_unit_test(test_load_save_sequence),
		cmocka_unit_test(test_torn_newest_copy),
		cmocka_unit_test(test_damaged_newest_copy),
		cmocka_unit_test(test_torn_older_copy),
		cmocka_unit_test(test_both_copies_damaged),
		cmocka_unit_test(test_first_save_writes_both),
		cmocka_unit_test(test_torn_first_save),
		cmocka_unit_test(test_single_old_copy),
		cmocka_unit_test(test_old_version_upgrade),
		cmocka_unit_test(test_layout_later_fields),
		cmocka_unit_test(test_older_entries),
		cmocka_unit_test(test_later_fields_checked),
		cmocka_unit_test(test_later_fields_save_both),
		cmocka_unit_test(test_unknown_version_refused),
		cmocka_unit_test(test_equal_generations),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_failed_write_or_flush),
		cmocka_unit_test(test_save_invalid_table),
		cmocka_unit_test(test_append_remove_find_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
