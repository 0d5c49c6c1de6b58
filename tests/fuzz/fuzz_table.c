/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: table_decode() on arbitrary bytes (store/table.h).
 *
 * Whatever decodes must encode back to exactly the bytes it came from (a
 * table has one image: every byte is checked or must be zero) and decode
 * again to the same table. A version 1 image (no backend uuid) encodes,
 * given a uuid, as the current version with the same entries.
 *
 * Each input is tried twice: as it is, and with its CRC made right for the
 * length its header claims. A mutation almost never keeps the CRC, and the
 * entry checks all sit behind it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_check.h"

#include "common/crc32c.h"
#include "store/table.h"

#define H_LENGTH 24
#define H_CRC 28
#define HDR 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool spec_equal(const struct tenant_spec *a, const struct tenant_spec *b)
{
	return strcmp(a->name, b->name) == 0 && a->size == b->size && a->queues == b->queues &&
	       a->depth == b->depth && a->cls == b->cls &&
	       a->qos.iops_limit == b->qos.iops_limit && a->qos.bw_limit == b->qos.bw_limit &&
	       a->qos.weight == b->qos.weight && a->qos.min_iops == b->qos.min_iops &&
	       a->qos.min_bw == b->qos.min_bw &&
	       a->qos.latency_target_us == b->qos.latency_target_us && a->recovery == b->recovery;
}

static bool entry_equal(const struct table_entry *a, const struct table_entry *b)
{
	return spec_equal(&a->spec, &b->spec) && memcmp(a->uuid, b->uuid, sizeof(a->uuid)) == 0 &&
	       a->offset == b->offset && a->ctime == b->ctime && a->dev_id == b->dev_id &&
	       a->from_policy == b->from_policy;
}

static void round_trip(const uint8_t *img, size_t size)
{
	static uint8_t buf[TABLE_COPY_BYTES];
	struct table t, u;
	char err[512] = "";
	long n;
	int rc;

	rc = table_decode(img, size, &t, err, sizeof(err));
	CHECK(rc >= TABLE_DECODE_UNKNOWN_VERSION && rc <= 1);
	CHECK(err[0] || rc == 1); /* 0 and -1 both say why */
	if (rc != 1)
		return;
	CHECK(t.generation != 0 && t.slot == -1 && t.nr <= TABLE_MAX_ENTRIES);
	CHECK((t.nr == 0) == (t.e == NULL));
	CHECK(t.version >= 1 && t.version <= TABLE_FORMAT_VERSION);
	if (t.version != TABLE_FORMAT_VERSION)
		memset(t.uuid, 0x5a, sizeof(t.uuid));

	n = table_encode(&t, t.generation, buf, sizeof(buf), err, sizeof(err));
	if (n < 0)
		fprintf(stderr, "decoded, but encode says: %s\n", err);
	CHECK(n > 0 && n % TABLE_ALIGN == 0 && (size_t)n <= size);
	if (t.version == TABLE_FORMAT_VERSION)
		CHECK(memcmp(buf, img, (size_t)n) == 0);
	else
		CHECK(memcmp(buf + HDR, img + HDR, (size_t)n - HDR) == 0);

	CHECK(table_decode(buf, (size_t)n, &u, err, sizeof(err)) == 1);
	CHECK(u.generation == t.generation && u.nr == t.nr);
	CHECK(u.version == TABLE_FORMAT_VERSION && !memcmp(u.uuid, t.uuid, sizeof(u.uuid)));
	for (size_t i = 0; i < t.nr; i++) {
		CHECK(entry_equal(&t.e[i], &u.e[i]));
		CHECK(table_find(&t, t.e[i].spec.name) == (long)i);
	}
	table_free(&t);
	table_free(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t length, crc;
	uint8_t *fixed;

	round_trip(data, size);

	if (size < H_CRC + 4)
		return 0;
	length = (uint32_t)data[H_LENGTH] | (uint32_t)data[H_LENGTH + 1] << 8 |
		 (uint32_t)data[H_LENGTH + 2] << 16 | (uint32_t)data[H_LENGTH + 3] << 24;
	if (length < H_CRC + 4 || length > size)
		return 0;
	fixed = malloc(size);
	if (!fixed)
		return 0;
	memcpy(fixed, data, size);
	memset(fixed + H_CRC, 0, 4);
	crc = crc32c(0, fixed, length);
	for (int i = 0; i < 4; i++)
		fixed[H_CRC + i] = (uint8_t)(crc >> (8 * i));
	round_trip(fixed, size);
	free(fixed);
	return 0;
}
