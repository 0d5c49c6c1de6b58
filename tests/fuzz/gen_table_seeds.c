/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed images of fuzz_table into a directory:
 *
 *   fuzz_table_seeds tests/fuzz/corpus/table
 *
 * corpus/table/ holds its output; run it again when the format changes
 * (the v1-*.bin seeds are what version 1, without a backend uuid, wrote).
 * Each image is only as long as table_encode() says (4 or 8 KiB).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/table.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static int write_image(const char *dir, const char *name, const struct table *t, uint64_t gen)
{
	static unsigned char buf[TABLE_COPY_BYTES];
	char path[4096], err[256];
	long n = table_encode(t, gen, buf, sizeof(buf), err, sizeof(err));
	FILE *f;

	if (n < 0) {
		fprintf(stderr, "%s: %s\n", name, err);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, (size_t)n, f) != (size_t)n || fclose(f) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct table_entry e[16] = {
		{ .spec = { .name = "web", .size = GiB, .queues = 2, .depth = 64,
			    .cls = CONF_CLASS_LATENCY,
			    .qos = { .iops_limit = 20000, .bw_limit = 200 * MiB, .weight = 100,
				     .min_iops = 5000, .min_bw = 50 * MiB,
				     .latency_target_us = 300 },
			    .recovery = true },
		  .uuid = { 0x6d, 0x1f, 0x02 }, .offset = MiB, .ctime = 1700000000, .dev_id = 0,
		  .from_policy = true },
		{ .spec = { .name = "db.primary-1", .size = 8 * GiB, .queues = 64, .depth = 1024,
			    .cls = CONF_CLASS_BESTEFFORT, .qos = { .weight = 10000 },
			    .recovery = true },
		  .uuid = { 0xff, 0xee }, .offset = 2 * GiB, .ctime = 1700000100, .dev_id = -1 },
		/* ends exactly at INT64_MAX, the largest end there is */
		{ .spec = { .name = "ci_scratch", .size = (uint64_t)INT64_MAX - (1ULL << 62),
			    .queues = 1, .depth = 1, .cls = CONF_CLASS_THROUGHPUT,
			    .qos = { .iops_limit = UINT64_MAX, .bw_limit = 1, .weight = 1 } },
		  .offset = 1ULL << 62, .ctime = UINT64_MAX, .dev_id = 2147483647 },
	};
	struct table t = { .slot = -1, .e = e,
			   .uuid = { 0x3b, 0x9c, 0x41, 0x07, 0xd2, 0x5e, 0x4a, 0x88, 0x91, 0x0f,
				     0x6c, 0x2a, 0xe4, 0x17, 0x5d, 0xb3 } };

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	/* 16 small tenants: the first image that needs a second 4 KiB block */
	for (int i = 3; i < 16; i++) {
		snprintf(e[i].spec.name, sizeof(e[i].spec.name), "t%02d", i);
		e[i].uuid[0] = (uint8_t)i;
		e[i].offset = 16 * GiB + (uint64_t)i * 64 * MiB;
		e[i].spec.size = 64 * MiB;
		e[i].dev_id = i;
		e[i].spec.queues = 1;
		e[i].spec.depth = 32;
		e[i].spec.cls = (enum conf_class)(i % 3);
		e[i].spec.qos.weight = CONF_DEFAULT_WEIGHT;
		e[i].spec.recovery = i & 1;
		e[i].from_policy = i & 2;
	}
	t.nr = 0;
	if (write_image(argv[1], "empty.bin", &t, 1) < 0)
		return 1;
	t.nr = 3;
	if (write_image(argv[1], "three.bin", &t, 41) < 0)
		return 1;
	t.nr = 16;
	if (write_image(argv[1], "sixteen.bin", &t, 0x0123456789abcdefULL) < 0)
		return 1;
	return 0;
}
