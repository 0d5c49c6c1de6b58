/* SPDX-License-Identifier: MIT */
/*
 * Writes a tenant table into a backend image, as ddublkd would, for the
 * tests of ddublkd --check-config without a kernel:
 *
 *   write_table IMAGE NAME:OFFSET:SIZE...   (bytes; the image must exist)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/table.h"

static int img_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	ssize_t n = pread(*(int *)ctx, buf, len, (off_t)off);

	if (n < 0)
		return -errno;
	memset((char *)buf + n, 0, len - (size_t)n);
	return 0;
}

static int img_write(void *ctx, const void *buf, size_t len, uint64_t off)
{
	return pwrite(*(int *)ctx, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

static int img_flush(void *ctx)
{
	return fsync(*(int *)ctx) < 0 ? -errno : 0;
}

int main(int argc, char **argv)
{
	struct table t = { .slot = -1 };
	char err[512];
	int fd;
	struct table_io io = { .ctx = &fd, .read = img_read, .write = img_write,
			       .flush = img_flush };

	if (argc < 2) {
		fprintf(stderr, "usage: write_table IMAGE NAME:OFFSET:SIZE...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		struct table_entry e = { .spec = { .queues = 1, .depth = 64,
						   .qos = { .weight = 100 }, .recovery = true },
					 .dev_id = -1 };
		char name[CONF_NAME_MAX];

		if (sscanf(argv[i], "%63[^:]:%" SCNu64 ":%" SCNu64, name, &e.offset,
			   &e.spec.size) != 3) {
			fprintf(stderr, "write_table: bad entry '%s'\n", argv[i]);
			return 2;
		}
		snprintf(e.spec.name, sizeof(e.spec.name), "%s", name);
		e.uuid[0] = (uint8_t)i;
		if (table_append(&t, &e) < 0)
			return 1;
	}
	memset(t.uuid, 0xdd, sizeof(t.uuid)); /* any backend uuid that is not "none" */
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || table_save(&io, argv[1], &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "write_table: %s: %s\n", argv[1], fd < 0 ? strerror(errno) : err);
		table_free(&t);
		return 1;
	}
	close(fd);
	table_free(&t);
	return 0;
}
