/* SPDX-License-Identifier: MIT */
/*
 * Synchronous backend I/O for the control thread: the tenant table in the
 * metadata region and the zeroing of a freed extent. Rare and small next
 * to the data path, so each call sets up a private ring and reuses the
 * backend's own queue/complete methods: the same code moves the bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

#define SYNC_RING_ENTRIES 8

/* One request, whole, on ring. */
static int run_one(struct backend *be, struct io_uring *ring, struct backend_io *io)
{
	int ret = be->ops->queue(be, ring, io, 1);

	while (ret == -EAGAIN) {
		io_uring_submit(ring);
		ret = be->ops->queue(be, ring, io, 1);
	}
	if (ret < 0)
		return ret;
	if (ret == BACKEND_DONE)
		return io->result;
	for (;;) {
		struct io_uring_cqe *cqe;
		int done;

		ret = io_uring_submit_and_wait(ring, 1);
		if (ret < 0 && ret != -EINTR)
			return ret;
		if (io_uring_peek_cqe(ring, &cqe) < 0)
			continue;
		done = be->ops->complete(be, ring, io, cqe, 1);
		io_uring_cqe_seen(ring, cqe);
		if (done)
			return io->result;
	}
}

static int sync_io(struct backend *be, enum io_op op, bool unmap, void *buf, uint64_t len,
		   uint64_t off)
{
	struct io_uring ring;
	uint64_t chunk_max = io_op_moves_data(op) ? be->max_io_bytes : len;
	void *dsm = NULL;
	uint64_t done = 0;
	int ret;

	ret = io_uring_queue_init(SYNC_RING_ENTRIES, &ring,
				  IORING_SETUP_SQE128 | IORING_SETUP_CQE32);
	if (ret < 0)
		return ret;
	/* A passthrough discard builds its range array in the request's buffer. */
	if (op == IO_OP_DISCARD && !buf) {
		if (posix_memalign(&dsm, 4096, be->max_io_bytes)) {
			io_uring_queue_exit(&ring);
			return -ENOMEM;
		}
		memset(dsm, 0, be->max_io_bytes);
	}
	do {
		uint64_t n = len - done < chunk_max ? len - done : chunk_max;
		struct backend_io io = {
			.op = op,
			.unmap = unmap,
			.off = off + done,
			.len = n,
			.buf = dsm ? dsm : buf ? (char *)buf + done : NULL,
			.buf_index = -1,
		};

		ret = run_one(be, &ring, &io);
		if (ret == 0 && io_op_moves_data(op) && io.done != n)
			ret = -EIO;
		done += n;
	} while (ret == 0 && done < len);
	free(dsm);
	io_uring_queue_exit(&ring);
	return ret;
}

int backend_sync(struct backend *be, enum io_op op, void *buf, uint64_t len, uint64_t off)
{
	return sync_io(be, op, false, buf, len, off);
}

/* The last resort: write zeroes, a buffer at a time. */
static int write_zeroes(struct backend *be, uint64_t len, uint64_t off)
{
	uint64_t chunk = be->max_io_bytes, done = 0;
	void *zeroes;
	int ret = 0;

	if (posix_memalign(&zeroes, 4096, chunk))
		return -ENOMEM;
	memset(zeroes, 0, chunk);
	while (ret == 0 && done < len) {
		uint64_t n = len - done < chunk ? len - done : chunk;

		ret = backend_sync(be, IO_OP_WRITE, zeroes, n, off + done);
		done += n;
	}
	free(zeroes);
	return ret;
}

static int zero_range(struct backend *be, uint64_t len, uint64_t off)
{
	int ret = sync_io(be, IO_OP_WRITE_ZEROES, true, NULL, len, off);

	/*
	 * Not supported (NVMe: invalid opcode or field; a file system without
	 * fallocate): zeroes are written. Never a bare deallocate, whatever
	 * DLFEAT says: it is advisory, a controller may skip any range of it,
	 * and a skipped range keeps the deleted tenant's bytes.
	 */
	if (ret != -EOPNOTSUPP)
		return ret;
	return write_zeroes(be, len, off);
}

int backend_zero(struct backend *be, uint64_t len, uint64_t off)
{
	int ret = zero_range(be, len, off);

	/* Durable before the caller records anything that relies on it. */
	return ret ? ret : backend_sync(be, IO_OP_FLUSH, NULL, 0, 0);
}
