/* SPDX-License-Identifier: MIT */
/*
 * Backends: where tenant data lives. A backend turns a tenant request,
 * already translated to an absolute byte range on the backend, into SQEs
 * on the calling worker's io_uring, and folds their CQEs back into one
 * result.
 *
 * Every worker ring is created with IORING_SETUP_SQE128 | CQE32, so a
 * backend may queue plain read/write SQEs (file) or NVMe passthrough
 * uring_cmds (nvme). A request may need several SQEs (splitting at the
 * device's maximum transfer, resubmitting a short read): the backend counts
 * them in io->pending and reports completion only when all are back.
 *
 * The backend object is shared by every worker; its methods must not keep
 * per-call state outside struct backend_io.
 */
#ifndef DDUBLK_BACKEND_BACKEND_H
#define DDUBLK_BACKEND_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

#include "common/op.h"
#include "conf/config.h"

/* One tenant request in flight on a backend. Owned by the worker. */
struct backend_io {
	enum io_op op;
	bool fua; /* WRITE: durable before completion */
	/*
	 * WRITE_ZEROES: the blocks may be deallocated rather than written,
	 * where that still reads back zeroes (a file's hole, NVMe DEAC).
	 */
	bool unmap;
	uint64_t off; /* absolute byte offset on the backend */
	uint64_t len; /* bytes */
	void *buf; /* READ/WRITE data, page aligned */
	int buf_index; /* buf's slot in the ring's registered buffers, -1: none */
	/*
	 * NVMe passthrough on a kernel with the queue-id patch (issue 6): name
	 * hardware queue hw_queue in every command. Otherwise (false) the
	 * command goes wherever the submitting CPU maps.
	 */
	bool steer;
	unsigned hw_queue;
	/* Backend bookkeeping: */
	uint64_t done; /* bytes completed so far */
	int pending; /* SQEs queued and not yet completed */
	int result; /* first error (-errno), else 0 */
	int stage; /* backend-private progress marker (fallbacks) */
};

struct backend;

/* queue(): the request is finished already; no CQE will come for it. */
#define BACKEND_DONE 1
/* complete(): a steered request to queue again (its queue had no free tag). */
#define BACKEND_AGAIN 2

struct backend_ops {
	const char *kind;
	/*
	 * Queue the SQEs for io on ring (not submitted). user_data is stored
	 * in every SQE. Returns 0, BACKEND_DONE when io finished without any
	 * SQE (io->result and io->done say how; only a backend without
	 * route_ns may), -EAGAIN when the SQ is full (flush and retry), or
	 * another -errno to fail the request.
	 */
	int (*queue)(struct backend *be, struct io_uring *ring, struct backend_io *io,
		     uint64_t user_data);
	/*
	 * Account one CQE of io. Returns 1 when io is finished (io->result
	 * is 0 or -errno, io->done the bytes moved), 0 while SQEs are
	 * outstanding (it may have queued more, e.g. the rest of a short
	 * read), BACKEND_AGAIN when a steered io (io->steer) found its
	 * hardware queue out of tags: nothing of it is in flight any more,
	 * and the caller queues it again later, on the same queue.
	 */
	int (*complete)(struct backend *be, struct io_uring *ring, struct backend_io *io,
			const struct io_uring_cqe *cqe, uint64_t user_data);
	void (*close)(struct backend *be);
	/* What the backend is, for the log: "on /dev/ng0n1, LBA size 4096, ...". */
	void (*describe)(const struct backend *be, char *buf, size_t len);
	/*
	 * The NVMe namespace ("nvme0n1") whose hardware queues a router may
	 * schedule requests onto; NULL (or no method): none, every worker
	 * submits to the backend directly.
	 */
	const char *(*route_ns)(const struct backend *be);
};

struct backend {
	const struct backend_ops *ops;
	char name[CONF_NAME_MAX];
	char path[PATH_MAX];
	uint64_t size; /* usable bytes */
	uint32_t block_size; /* logical block size: I/O granularity */
	uint32_t max_io_bytes; /* largest single request it wants */
	bool direct; /* O_DIRECT in use */
	bool is_blockdev;
	bool can_discard;
	/* Register the tag buffers with the ring (pins them; passthrough wants it). */
	bool wants_fixed_buffers;
	int fd;
	void *priv;
};

/* An SQE from ring, flushing the SQ to the kernel first if it is full. */
static inline struct io_uring_sqe *backend_get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

/*
 * Whether cb is served by NVMe passthrough: type "nvme", or "auto" naming
 * a controller + nsid or a path that is an NVMe namespace. Everything else
 * goes through the file backend.
 */
bool backend_is_nvme(const struct conf_backend *cb);
/*
 * Open the backend a policy entry describes: its type, or for "auto" the
 * nvme backend for an NVMe namespace and the file backend for the rest.
 */
int backend_open(const struct conf_backend *cb, struct backend **out, char *err, size_t errlen);
void backend_close(struct backend *be);
/* be->ops->route_ns(be), or NULL for a backend without routable queues. */
const char *backend_route_ns(const struct backend *be);

/*
 * Run one request to completion on a private ring (backend/sync.c): for the
 * control thread's rare I/O (the tenant table, discarding a freed extent),
 * never for tenant requests. buf: page aligned (READ/WRITE), else NULL.
 * 0 or -errno.
 */
int backend_sync(struct backend *be, enum io_op op, void *buf, uint64_t len, uint64_t off);

/*
 * Make bytes [off, off + len) read back as zeroes, whatever the backend
 * (backend/sync.c, for the control thread): WRITE ZEROES that may deallocate
 * (NVMe DEAC where DLFEAT allows it; a file's punched hole; a block
 * device's unmapping zero-out), else writing zeroes. Never a bare
 * deallocate: it is advisory even where DLFEAT promises zeroes for what it
 * deallocates. Then a FLUSH, so that the zeroes are durable before
 * anything that relies on them is recorded. 0 or -errno (then the range
 * may be partly zeroed).
 */
int backend_zero(struct backend *be, uint64_t len, uint64_t off);

/* The file backend (regular file or block device, io_uring read/write). */
int file_backend_open(const struct conf_backend *cb, struct backend **out, char *err,
		      size_t errlen);

/* The null backend: reads return zeroes, everything else succeeds at once. */
int null_backend_open(const struct conf_backend *cb, struct backend **out, char *err,
		      size_t errlen);

/* The NVMe passthrough backend (uring_cmd on the namespace's /dev/ngXnY). */
int nvme_backend_open(const struct conf_backend *cb, struct backend **out, char *err,
		      size_t errlen);

#endif
