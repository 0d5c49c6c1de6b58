/* SPDX-License-Identifier: MIT */
#include "router/qid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

bool qid_supported(struct backend *be, unsigned hctx)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct backend_io io = { .op = IO_OP_READ, .len = be->block_size, .buf_index = -1,
				 .steer = true, .hw_queue = hctx };
	int res = -1;

	if (posix_memalign(&io.buf, 4096, be->block_size))
		return false;
	if (io_uring_queue_init(4, &ring, IORING_SETUP_SQE128 | IORING_SETUP_CQE32) < 0) {
		free(io.buf);
		return false;
	}
	/* Not through be->ops->complete: a stock kernel's -ENOTTY is no failure to log. */
	if (be->ops->queue(be, &ring, &io, 1) == 0 && io_uring_submit_and_wait(&ring, 1) >= 0 &&
	    io_uring_peek_cqe(&ring, &cqe) == 0)
		res = cqe->res;
	io_uring_queue_exit(&ring);
	free(io.buf);
	log_info("backend \"%s\": queue steering probe: a read naming hardware queue %u answered "
		 "%d (%s)", be->name, hctx, res, res == 0 ? "supported" :
		 res == -ENOTTY || res == -EINVAL ? "not supported by this kernel" :
		 strerror(res < 0 ? -res : EIO));
	return res == 0;
}
