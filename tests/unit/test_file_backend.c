/* SPDX-License-Identifier: MIT */
/*
 * The file backend driven through a real SQE128|CQE32 io_uring, the way a
 * worker drives it, against a temporary file: bytes written are the bytes
 * read back, discard and write-zeroes read back as zeroes, and a read past
 * the end fails instead of returning garbage. Then backend_zero(), which
 * scrubs a freed extent: on a file, and its fallbacks on a scripted
 * backend.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend/backend.h"

struct fixture {
	char dir[64];
	char path[96];
	struct backend *be;
	struct io_uring ring;
	void *buf;
};

#define SIZE (8u << 20)
#define UD 0x1000

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct io_uring_params p = { .flags = IORING_SETUP_SQE128 | IORING_SETUP_CQE32 };
	struct conf_backend cb = { .name = "t", .size = SIZE };
	char err[512];

	snprintf(f->dir, sizeof(f->dir), "/var/tmp/ddublk-fb-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/pool.img", f->dir);
	snprintf(cb.path, sizeof(cb.path), "%s", f->path);
	assert_int_equal(file_backend_open(&cb, &f->be, err, sizeof(err)), 0);
	assert_int_equal(io_uring_queue_init_params(8, &f->ring, &p), 0);
	assert_int_equal(posix_memalign(&f->buf, 4096, 1 << 20), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	backend_close(f->be);
	io_uring_queue_exit(&f->ring);
	free(f->buf);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Run one request to completion the way a worker does; returns io->result. */
static int run_io(struct fixture *f, struct backend_io *io)
{
	int ret = f->be->ops->queue(f->be, &f->ring, io, UD);

	if (ret < 0)
		return ret;
	for (;;) {
		struct io_uring_cqe *cqe;
		int done;

		io_uring_submit(&f->ring);
		assert_int_equal(io_uring_wait_cqe(&f->ring, &cqe), 0);
		assert_int_equal(io_uring_cqe_get_data64(cqe), UD);
		done = f->be->ops->complete(f->be, &f->ring, io, cqe, UD);
		io_uring_cqe_seen(&f->ring, cqe);
		if (done)
			return io->result;
	}
}

static int do_io(struct fixture *f, enum io_op op, uint64_t off, uint64_t len, bool fua)
{
	struct backend_io io = { .op = op, .off = off, .len = len, .buf = f->buf, .fua = fua };
	int ret = run_io(f, &io);

	if (ret == 0 && (op == IO_OP_READ || op == IO_OP_WRITE))
		assert_int_equal(io.done, len);
	return ret;
}

static void fill(void *buf, size_t len, unsigned seed)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)((i * 31 + seed) ^ (i >> 9));
}

static void test_open_creates_sized_file(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, SIZE);
	assert_int_equal(f->be->size, SIZE);
	assert_false(f->be->is_blockdev);
	assert_true(f->be->block_size == 512 || f->be->block_size == 4096);
	assert_string_equal(f->be->ops->kind, "file");
}

static void test_write_read_back(void **state)
{
	struct fixture *f = *state;
	void *expect = malloc(256 << 10);

	fill(expect, 256 << 10, 7);
	memcpy(f->buf, expect, 256 << 10);
	assert_int_equal(do_io(f, IO_OP_WRITE, 1 << 20, 256 << 10, false), 0);
	memset(f->buf, 0, 256 << 10);
	assert_int_equal(do_io(f, IO_OP_READ, 1 << 20, 256 << 10, false), 0);
	assert_memory_equal(f->buf, expect, 256 << 10);
	/* Neighbouring bytes were not touched. */
	assert_int_equal(do_io(f, IO_OP_READ, (1 << 20) - 4096, 4096, false), 0);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(((unsigned char *)f->buf)[i], 0);
	free(expect);
}

static void test_fua_write_and_flush(void **state)
{
	struct fixture *f = *state;

	fill(f->buf, 4096, 3);
	assert_int_equal(do_io(f, IO_OP_WRITE, 0, 4096, true), 0);
	assert_int_equal(do_io(f, IO_OP_FLUSH, 0, 0, false), 0);
	memset(f->buf, 0, 4096);
	assert_int_equal(do_io(f, IO_OP_READ, 0, 4096, false), 0);
	assert_int_equal(((unsigned char *)f->buf)[100], (unsigned char)((100 * 31 + 3) ^ 0));
}

static void assert_zeroes(struct fixture *f, uint64_t off, uint64_t len)
{
	assert_int_equal(do_io(f, IO_OP_READ, off, len, false), 0);
	for (uint64_t i = 0; i < len; i++)
		if (((unsigned char *)f->buf)[i])
			fail_msg("byte %llu of the range is not zero", (unsigned long long)i);
}

static void test_discard_and_write_zeroes_read_back_zero(void **state)
{
	struct fixture *f = *state;

	fill(f->buf, 1 << 20, 9);
	assert_int_equal(do_io(f, IO_OP_WRITE, 2 << 20, 1 << 20, false), 0);
	assert_int_equal(do_io(f, IO_OP_DISCARD, 2 << 20, 64 << 10, false), 0);
	assert_zeroes(f, 2 << 20, 64 << 10);
	assert_int_equal(do_io(f, IO_OP_WRITE_ZEROES, (2 << 20) + (512 << 10), 128 << 10, false), 0);
	assert_zeroes(f, (2 << 20) + (512 << 10), 128 << 10);
	/* Between the two ranges the data is intact. */
	assert_int_equal(do_io(f, IO_OP_READ, (2 << 20) + (64 << 10), 4096, false), 0);
	assert_int_equal(((unsigned char *)f->buf)[5],
			 (unsigned char)((((64 << 10) + 5) * 31 + 9) ^ (((64 << 10) + 5) >> 9)));
}

static void test_read_past_end_fails(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(do_io(f, IO_OP_READ, SIZE, 4096, false), -EIO);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	struct conf_backend cb = { .name = "x" };
	struct backend *be = NULL;
	char err[512];

	snprintf(cb.path, sizeof(cb.path), "%s/missing.img", f->dir);
	assert_int_equal(file_backend_open(&cb, &be, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "backend \"x\": cannot open"));
	assert_non_null(strstr(err, "No such file or directory (give the backend a size"));
	snprintf(cb.path, sizeof(cb.path), "%s", f->dir);
	assert_int_equal(file_backend_open(&cb, &be, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "backend \"x\":"));
	assert_null(be);
}

static void test_existing_file_is_extended_never_shrunk(void **state)
{
	struct fixture *f = *state;
	struct conf_backend cb = { .name = "y", .size = SIZE / 2 };
	struct backend *be;
	char err[512];

	snprintf(cb.path, sizeof(cb.path), "%s", f->path);
	assert_int_equal(file_backend_open(&cb, &be, err, sizeof(err)), 0);
	assert_int_equal(be->size, SIZE);
	backend_close(be);
	cb.size = SIZE * 2;
	assert_int_equal(file_backend_open(&cb, &be, err, sizeof(err)), 0);
	assert_int_equal(be->size, SIZE * 2);
	backend_close(be);
}

/* An unmapping WRITE ZEROES punches a hole first: zeroes, and the space goes back. */
static void test_write_zeroes_unmap_punches(void **state)
{
	struct fixture *f = *state;
	struct backend_io io = { .op = IO_OP_WRITE_ZEROES, .off = 3 << 20, .len = 2 << 20,
				 .unmap = true };
	struct stat before, after;

	for (unsigned i = 0; i < 4; i++) {
		fill(f->buf, 1 << 20, 20 + i);
		assert_int_equal(do_io(f, IO_OP_WRITE, (2u + i) << 20, 1 << 20, false), 0);
	}
	assert_int_equal(do_io(f, IO_OP_FLUSH, 0, 0, false), 0);
	assert_int_equal(stat(f->path, &before), 0);
	assert_int_equal(run_io(f, &io), 0);
	assert_zeroes(f, 3 << 20, 1 << 20);
	assert_zeroes(f, 4 << 20, 1 << 20);
	assert_int_equal(stat(f->path, &after), 0);
	assert_true(after.st_blocks + (2 << 20) / 512 <= before.st_blocks);
	assert_int_equal(after.st_size, SIZE);
	/* Around it the data is intact. */
	assert_int_equal(do_io(f, IO_OP_READ, 2 << 20, 1 << 20, false), 0);
	assert_int_equal(((unsigned char *)f->buf)[77], (unsigned char)((77 * 31 + 20) ^ (77 >> 9)));
	assert_int_equal(do_io(f, IO_OP_READ, 5 << 20, 1 << 20, false), 0);
	assert_int_equal(((unsigned char *)f->buf)[77], (unsigned char)((77 * 31 + 23) ^ (77 >> 9)));
}

static void test_zero_file(void **state)
{
	struct fixture *f = *state;

	fill(f->buf, 1 << 20, 31);
	for (unsigned i = 1; i < 8; i++)
		assert_int_equal(do_io(f, IO_OP_WRITE, (uint64_t)i << 20, 1 << 20, false), 0);
	assert_int_equal(backend_zero(f->be, 4 << 20, 2 << 20), 0);
	assert_zeroes(f, 2 << 20, 1 << 20);
	assert_zeroes(f, 5 << 20, 1 << 20);
	assert_int_equal(do_io(f, IO_OP_READ, 6 << 20, 1 << 20, false), 0);
	assert_int_equal(((unsigned char *)f->buf)[3], (unsigned char)((3 * 31 + 31) ^ 0));
}

/*
 * A scripted backend: each op completes at once (a NOP on the ring) with
 * the result the test gives it; what was asked is recorded.
 */
struct scripted {
	struct backend be;
	int res[IO_OP_WRITE_ZEROES + 1];
	unsigned calls[IO_OP_WRITE_ZEROES + 1];
	uint64_t bytes[IO_OP_WRITE_ZEROES + 1];
	bool wz_unmap, nonzero_write;
};

static int scripted_queue(struct backend *be, struct io_uring *ring, struct backend_io *io,
			  uint64_t user_data)
{
	struct scripted *s = (struct scripted *)be;
	struct io_uring_sqe *sqe = backend_get_sqe(ring);

	if (!sqe)
		return -EAGAIN;
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, user_data);
	io->pending++;
	s->calls[io->op]++;
	s->bytes[io->op] += io->len;
	if (io->op == IO_OP_WRITE_ZEROES)
		s->wz_unmap = io->unmap;
	if (io->op == IO_OP_WRITE)
		for (uint64_t i = 0; i < io->len; i++)
			s->nonzero_write |= ((const char *)io->buf)[i] != 0;
	return 0;
}

static int scripted_complete(struct backend *be, struct io_uring *ring, struct backend_io *io,
			     const struct io_uring_cqe *cqe, uint64_t user_data)
{
	struct scripted *s = (struct scripted *)be;

	(void)ring, (void)cqe, (void)user_data;
	io->pending--;
	io->result = s->res[io->op];
	io->done = io->result ? 0 : io->len;
	return 1;
}

static void scripted_close(struct backend *be)
{
	(void)be;
}

static const struct backend_ops scripted_ops = {
	.kind = "scripted",
	.queue = scripted_queue,
	.complete = scripted_complete,
	.close = scripted_close,
};

static struct scripted scripted(int wz, int discard, int write)
{
	struct scripted s = { .be = { .ops = &scripted_ops, .name = "s", .fd = -1,
				      .block_size = 512, .max_io_bytes = 512 << 10,
				      .can_discard = true } };

	s.res[IO_OP_WRITE_ZEROES] = wz;
	s.res[IO_OP_DISCARD] = discard;
	s.res[IO_OP_WRITE] = write;
	return s;
}

static void test_zero_fallbacks(void **state)
{
	const uint64_t len = (3 << 20) + 4096, off = 5 << 20;
	struct scripted s;

	(void)state;
	/* Write Zeroes that may unmap, then a flush: nothing else. */
	s = scripted(0, 0, 0);
	assert_int_equal(backend_zero(&s.be, len, off), 0);
	assert_int_equal(s.calls[IO_OP_WRITE_ZEROES], 1);
	assert_int_equal(s.bytes[IO_OP_WRITE_ZEROES], len);
	assert_true(s.wz_unmap);
	assert_int_equal(s.calls[IO_OP_DISCARD] + s.calls[IO_OP_WRITE], 0);
	assert_int_equal(s.calls[IO_OP_FLUSH], 1);

	/*
	 * No Write Zeroes: zeroes are written, never a bare deallocate, even
	 * where DLFEAT says deallocated blocks read zeroes. A deallocate is
	 * advisory: the controller may skip ranges (granularity, its own
	 * choice), and what it skips keeps the deleted tenant's bytes.
	 */
	s = scripted(-EOPNOTSUPP, 0, 0);
	assert_int_equal(backend_zero(&s.be, len, off), 0);
	assert_int_equal(s.calls[IO_OP_DISCARD], 0);
	assert_int_equal(s.bytes[IO_OP_WRITE], len);
	assert_false(s.nonzero_write);
	assert_int_equal(s.calls[IO_OP_FLUSH], 1);

	/* Failures are failures: no fallback hides them, nothing is flushed as done. */
	s = scripted(-EIO, 0, 0);
	assert_int_equal(backend_zero(&s.be, len, off), -EIO);
	assert_int_equal(s.calls[IO_OP_DISCARD] + s.calls[IO_OP_WRITE] + s.calls[IO_OP_FLUSH], 0);
	s = scripted(-EOPNOTSUPP, 0, -ENOSPC);
	assert_int_equal(backend_zero(&s.be, len, off), -ENOSPC);
	assert_int_equal(s.calls[IO_OP_FLUSH], 0);
	s = scripted(0, 0, 0);
	s.res[IO_OP_FLUSH] = -EIO;
	assert_int_equal(backend_zero(&s.be, len, off), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_sized_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fua_write_and_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_and_write_zeroes_read_back_zero,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_past_end_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_file_is_extended_never_shrunk, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_zeroes_unmap_punches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_file, setup, teardown),
		cmocka_unit_test(test_zero_fallbacks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
