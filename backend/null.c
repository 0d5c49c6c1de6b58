/* SPDX-License-Identifier: MIT */
/*
 * The null backend: no storage behind it. Tenant reads return zeroes;
 * writes, flushes, discards and write-zeroes succeed at once. Nothing goes
 * to the kernel, so a null tenant measures ddublkd's own cost per request
 * (as null_blk does the block layer's), and lets an operator try a policy
 * without a disk.
 *
 * Only the reserved region, where the tenant table lives, keeps what is
 * written to it, in memory: the table works while the daemon runs and is
 * gone when it stops, like every byte of a null backend.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "common/units.h"

/* As large as a file backend's: the tenant's max_sectors follows it. */
#define NULL_MAX_IO_BYTES (512u << 10)
#define NULL_BLOCK_SIZE 512u

struct null_be {
	uint64_t meta_bytes; /* the reserved region, kept in meta */
	unsigned char *meta;
};

static struct null_be *nb_of(const struct backend *be)
{
	return be->priv;
}

/* Copy a READ or WRITE to or from the kept region; zeroes past it. */
static void move_bytes(const struct null_be *nb, struct backend_io *io)
{
	uint64_t kept = io->off < nb->meta_bytes ? nb->meta_bytes - io->off : 0;

	if (kept > io->len)
		kept = io->len;
	if (io->op == IO_OP_WRITE) {
		if (kept)
			memcpy(nb->meta + io->off, io->buf, kept);
		return;
	}
	if (kept)
		memcpy(io->buf, nb->meta + io->off, kept);
	memset((char *)io->buf + kept, 0, io->len - kept);
}

static int null_queue(struct backend *be, struct io_uring *ring, struct backend_io *io,
		      uint64_t user_data)
{
	if (io->off > be->size || io->len > be->size - io->off) {
		io->result = -EIO; /* the caller keeps requests inside; never trust it */
		return BACKEND_DONE;
	}
	switch (io->op) {
	case IO_OP_READ:
	case IO_OP_WRITE:
		move_bytes(nb_of(be), io);
		break;
	case IO_OP_FLUSH:
	case IO_OP_DISCARD:
	case IO_OP_WRITE_ZEROES:
		if (io->off < nb_of(be)->meta_bytes && io->op != IO_OP_FLUSH) {
			uint64_t end = io->off + io->len;
			uint64_t stop = end < nb_of(be)->meta_bytes ? end : nb_of(be)->meta_bytes;

			memset(nb_of(be)->meta + io->off, 0, stop - io->off);
		}
		break;
	default:
		return -EOPNOTSUPP;
	}
	io->done = io->len;
	io->result = 0;
	return BACKEND_DONE;
}

/* Never called: null_queue() finishes every request itself. */
static int null_complete(struct backend *be, struct io_uring *ring, struct backend_io *io,
			 const struct io_uring_cqe *cqe, uint64_t user_data)
{
	io->result = -EIO;
	return 1;
}

static void null_close(struct backend *be)
{
	free(nb_of(be)->meta);
	free(be->priv);
	free(be);
}

static void null_describe(const struct backend *be, char *buf, size_t len)
{
	char sz[32];

	snprintf(buf, len, "(no storage: reads return zeroes, writes are dropped), %s, "
		 "block size %u", format_size(be->size, sz, sizeof(sz)), be->block_size);
}

static const struct backend_ops null_ops = {
	.kind = "null",
	.queue = null_queue,
	.complete = null_complete,
	.close = null_close,
	.describe = null_describe,
};

int null_backend_open(const struct conf_backend *cb, struct backend **out, char *err,
		      size_t errlen)
{
	struct backend *be = calloc(1, sizeof(*be));
	struct null_be *nb = calloc(1, sizeof(*nb));

	if (be && nb) {
		nb->meta_bytes = cb->reserved < cb->size ? cb->reserved : cb->size;
		nb->meta = calloc(1, nb->meta_bytes ? nb->meta_bytes : 1);
	}
	if (!be || !nb || !nb->meta) {
		snprintf(err, errlen, "backend \"%s\": out of memory", cb->name);
		if (nb)
			free(nb->meta);
		free(nb);
		free(be);
		return -1;
	}
	be->ops = &null_ops;
	be->fd = -1;
	be->priv = nb;
	be->size = cb->size;
	be->block_size = NULL_BLOCK_SIZE;
	be->max_io_bytes = NULL_MAX_IO_BYTES;
	be->can_discard = true;
	be->direct = true;
	snprintf(be->name, sizeof(be->name), "%s", cb->name);
	snprintf(be->path, sizeof(be->path), "null");
	*out = be;
	return 0;
}
