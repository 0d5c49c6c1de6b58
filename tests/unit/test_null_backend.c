/* SPDX-License-Identifier: MIT */
/*
 * The null backend: what a tenant on it reads is zeroes whatever was
 * written, every op succeeds at once without a CQE, a request outside the
 * backend fails with EIO, and the reserved region (the tenant table) keeps
 * its bytes while the backend is open.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend/backend.h"

#define MiB (1ULL << 20)
#define SIZE (64 * MiB)
#define RESERVED (2 * MiB)

struct fixture {
	struct backend *be;
	struct io_uring ring;
	void *buf;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct conf_backend cb = { .type = CONF_BACKEND_NULL, .size = SIZE,
				   .reserved = RESERVED };
	char err[256] = "";

	snprintf(cb.name, sizeof(cb.name), "z");
	assert_non_null(f);
	assert_int_equal(backend_open(&cb, &f->be, err, sizeof(err)), 0);
	assert_int_equal(io_uring_queue_init(8, &f->ring, 0), 0);
	assert_int_equal(posix_memalign(&f->buf, 4096, MiB), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	io_uring_queue_exit(&f->ring);
	backend_close(f->be);
	free(f->buf);
	free(f);
	return 0;
}

/* queue() one request: it must finish at once, with nothing on the ring. */
static int run(struct fixture *f, enum io_op op, uint64_t off, uint64_t len)
{
	struct backend_io io = { .op = op, .off = off, .len = len, .buf = f->buf,
				 .buf_index = -1 };
	int ret = f->be->ops->queue(f->be, &f->ring, &io, 7);

	if (ret < 0)
		return ret;
	assert_int_equal(ret, BACKEND_DONE);
	assert_int_equal(io_uring_sq_ready(&f->ring), 0);
	assert_int_equal(io.pending, 0);
	if (io.result == 0)
		assert_true(io.done == len);
	return io.result;
}

static void test_open_sizes(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(f->be->ops->kind, "null");
	assert_true(f->be->size == SIZE);
	assert_int_equal(f->be->block_size, 512);
	assert_true(f->be->max_io_bytes >= 128 * 1024);
	assert_null(backend_route_ns(f->be)); /* nothing to route: workers go direct */
	assert_false(backend_is_nvme(&(struct conf_backend){ .type = CONF_BACKEND_NULL }));
}

/* A tenant's write is dropped: reading it back gives zeroes, not the bytes. */
static void test_reads_are_zero(void **state)
{
	struct fixture *f = *state;
	unsigned char *b = f->buf;

	memset(b, 0xa5, MiB);
	assert_int_equal(run(f, IO_OP_WRITE, 8 * MiB, 128 * 1024), 0);
	assert_int_equal(run(f, IO_OP_READ, 8 * MiB, 128 * 1024), 0);
	for (size_t i = 0; i < 128 * 1024; i++)
		assert_int_equal(b[i], 0);
	memset(b, 0xa5, 4096);
	assert_int_equal(run(f, IO_OP_READ, SIZE - 4096, 4096), 0); /* the last block */
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(b[i], 0);
}

static void test_other_ops_succeed(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, IO_OP_FLUSH, 0, 0), 0);
	assert_int_equal(run(f, IO_OP_DISCARD, 4 * MiB, 4 * MiB), 0);
	assert_int_equal(run(f, IO_OP_WRITE_ZEROES, 4 * MiB, 60 * MiB), 0);
}

/* Outside the backend: EIO, as on every other backend, and no crash. */
static void test_out_of_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, IO_OP_READ, SIZE - 2048, 4096), -EIO);
	assert_int_equal(run(f, IO_OP_WRITE, SIZE, 4096), -EIO);
	assert_int_equal(run(f, IO_OP_READ, UINT64_MAX - 4095, 4096), -EIO);
	assert_int_equal(run(f, IO_OP_DISCARD, SIZE - MiB, 2 * MiB), -EIO);
	assert_int_equal(run(f, IO_OP_WRITE_ZEROES, 2 * SIZE, MiB), -EIO);
}

/*
 * The reserved region holds the tenant table: what the control thread
 * writes there reads back (backend_sync, the table's path), and zeroing
 * it clears it.
 */
static void test_reserved_region_kept(void **state)
{
	struct fixture *f = *state;
	unsigned char *b = f->buf;

	for (size_t i = 0; i < 8192; i++)
		b[i] = (unsigned char)(i * 7 + 1);
	assert_int_equal(backend_sync(f->be, IO_OP_WRITE, b, 8192, RESERVED - 4096), 0);
	memset(b, 0, 8192);
	assert_int_equal(backend_sync(f->be, IO_OP_READ, b, 8192, RESERVED - 4096), 0);
	for (size_t i = 0; i < 4096; i++) /* inside the region: kept */
		assert_int_equal(b[i], (unsigned char)(i * 7 + 1));
	for (size_t i = 4096; i < 8192; i++) /* past it: tenant space, zeroes */
		assert_int_equal(b[i], 0);
	assert_int_equal(backend_zero(f->be, 4096, RESERVED - 4096), 0);
	memset(b, 0xff, 4096);
	assert_int_equal(backend_sync(f->be, IO_OP_READ, b, 4096, RESERVED - 4096), 0);
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(b[i], 0);
}

/* Each backend open starts empty: nothing survives a close. */
static void test_nothing_survives_close(void **state)
{
	struct fixture *f = *state;
	struct conf_backend cb = { .type = CONF_BACKEND_NULL, .size = SIZE,
				   .reserved = RESERVED };
	unsigned char *b = f->buf;
	char err[256];

	snprintf(cb.name, sizeof(cb.name), "z");
	memset(b, 0x5a, 4096);
	assert_int_equal(backend_sync(f->be, IO_OP_WRITE, b, 4096, 0), 0);
	backend_close(f->be);
	assert_int_equal(backend_open(&cb, &f->be, err, sizeof(err)), 0);
	assert_int_equal(backend_sync(f->be, IO_OP_READ, b, 4096, 0), 0);
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(b[i], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_are_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_ops_succeed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserved_region_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_survives_close, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
