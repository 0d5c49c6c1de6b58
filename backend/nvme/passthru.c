/* SPDX-License-Identifier: MIT */
/*
 * The NVMe passthrough backend: tenant requests become NVMe I/O commands,
 * sent as IORING_OP_URING_CMD on the namespace's generic char device
 * (/dev/ngXnY), past the block layer's scheduling and splitting.
 *
 * A request larger than one command allows (a big WRITE ZEROES or
 * DISCARD: reads and writes never are, the ublk device's max_sectors is
 * the transfer limit) is split, and its commands go one at a time (see
 * nvme_split_complete()): they share the request's user_data, so a CQE
 * names its command only while it is the only one out. A command answered
 * -EAGAIN goes again alone. A request steered to a queue (io->steer, the
 * kernel series' NVME_URING_CMD_IO_QID) goes back to the caller instead
 * (BACKEND_AGAIN): resubmitting at once would spin on a queue that stays
 * full until its commands complete, and the caller knows when that may
 * be; queued again, it resumes with the command that failed.
 */
#include "backend/nvme/cmd.h"
#include "backend/nvme/discover.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bits.h"
#include "common/log.h"
#include "common/units.h"
#include "backend/backend.h"

#define PASSTHRU_MAX_IO_BYTES (512u << 10)

/*
 * A DSM command's range array lives in the request's own (otherwise unused)
 * data buffer: one command is in flight at a time.
 */

/* io->stage bit: the request has been queued once; io->done is its progress. */
#define STAGE_STARTED 1

struct passthru {
	struct nvme_cmd_ns ns;
	uint32_t max_transfer; /* the device's largest command in bytes */
	unsigned nr_io_queues; /* I/O queues the block layer shows; 0: unknown */
	char ns_name[NVME_NAME_MAX]; /* "nvme0n1" */
	bool wz_deac; /* WRITE ZEROES with io->unmap sets DEAC (DLFEAT) */
};

static const struct passthru *pt_of(const struct backend *be)
{
	return be->priv;
}

/* Queue the command for [off, off + len) of io. */
static int queue_cmd(struct backend *be, struct io_uring *ring, struct backend_io *io,
		     uint64_t user_data, uint64_t off, uint64_t len)
{
	const struct passthru *pt = pt_of(be);
	char *base = io->buf;
	void *buf = io_op_moves_data(io->op) ? base + (off - io->off) : base;
	struct nvme_uring_cmd cmd;
	struct io_uring_sqe *sqe;
	int ret;

	ret = nvme_cmd_encode(&cmd, &pt->ns, io->op, io->fua, off, len, buf);
	if (ret)
		return ret;
	if (io->op == IO_OP_WRITE_ZEROES && io->unmap && pt->wz_deac)
		cmd.cdw12 |= NVME_CMD_WZ_DEAC;
	if (nvme_cmd_check(&cmd, &pt->ns)) {
		log_err("backend \"%s\": command opcode 0x%02x at %llu: data_len %u does not "
			"match its block count; refusing it", be->name, cmd.opcode,
			(unsigned long long)off, cmd.data_len);
		return -EIO;
	}
	sqe = backend_get_sqe(ring);
	if (!sqe)
		return -EAGAIN;
	/* Every byte of the 128-byte SQE: stale fields would reach the driver. */
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = be->fd;
	sqe->cmd_op = NVME_URING_CMD_IO;
	if (io->steer) {
		sqe->cmd_op = NVME_URING_CMD_IO_QID;
		nvme_uring_cmd_set_hw_queue(&cmd, io->hw_queue);
	}
	if (io_op_moves_data(io->op) && io->buf_index >= 0) {
		sqe->uring_cmd_flags = IORING_URING_CMD_FIXED;
		sqe->buf_index = (uint16_t)io->buf_index;
	}
	memcpy(sqe->cmd, &cmd, sizeof(cmd));
	io_uring_sqe_set_data64(sqe, user_data);
	io->pending++;
	return 0;
}

static uint64_t max_chunk(const struct backend *be, const struct backend_io *io)
{
	const struct passthru *pt = pt_of(be);

	return nvme_cmd_max_chunk(io->op, &pt->ns, pt->max_transfer);
}

/* Queue the command in flight: the one at io->done (see nvme_split_complete()). */
static int issue(struct backend *be, struct io_uring *ring, struct backend_io *io,
		 uint64_t user_data)
{
	uint64_t len = io->op == IO_OP_FLUSH ? 0 : nvme_cmd_chunk(io->len, io->done, max_chunk(be, io));

	return queue_cmd(be, ring, io, user_data, io->off + io->done, len);
}

/* A new request, or (STAGE_STARTED) one back after BACKEND_AGAIN: it resumes. */
static int pt_queue(struct backend *be, struct io_uring *ring, struct backend_io *io,
		    uint64_t user_data)
{
	if (!(io->stage & STAGE_STARTED)) {
		io->done = 0;
		io->stage = STAGE_STARTED;
	}
	return issue(be, ring, io, user_data);
}

static const char *op_name(enum io_op op)
{
	static const char *const names[] = {
		[IO_OP_READ] = "read", [IO_OP_WRITE] = "write", [IO_OP_FLUSH] = "flush",
		[IO_OP_DISCARD] = "discard", [IO_OP_WRITE_ZEROES] = "write zeroes",
	};

	return (unsigned)op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

/* cqe->res of a failed command as -errno, logged once per request. */
static int failure(const struct backend *be, const struct backend_io *io, int res)
{
	uint16_t status = (uint16_t)res;
	int err;

	if (res < 0) {
		/* The driver cancelled it: a timeout or a controller reset. */
		err = res == -EINTR ? -ETIMEDOUT : res;
		log_warn("backend \"%s\": %s at backend offset %llu+%llu failed: %s",
			 be->name, op_name(io->op), (unsigned long long)io->off,
			 (unsigned long long)io->len,
			 res == -EINTR ? "cancelled by the driver (timeout or reset)" :
					 strerror(-res));
		return err;
	}
	err = nvme_status_errno(status);
	log_warn("backend \"%s\": %s at backend offset %llu+%llu failed: NVMe status SCT 0x%x "
		 "SC 0x%02x%s (%s): %s", be->name, op_name(io->op), (unsigned long long)io->off,
		 (unsigned long long)io->len, nvme_status_sct(status), nvme_status_sc(status),
		 nvme_status_dnr(status) ? " DNR" : "", nvme_status_name(status),
		 strerror(err ? -err : EIO));
	return err ? err : -EIO;
}

static int pt_complete(struct backend *be, struct io_uring *ring, struct backend_io *io,
		       const struct io_uring_cqe *cqe, uint64_t user_data)
{
	int res = cqe->res, ret;

	io->pending--;
	/* -EAGAIN: out of tags, never a failure. */
	switch (nvme_split_complete(io, max_chunk(be, io),
				    res == -EAGAIN ? -EAGAIN : res ? failure(be, io, res) : 0)) {
	case NVME_SPLIT_DONE:
		return 1;
	case NVME_SPLIT_AGAIN:
		if (io->steer)
			return BACKEND_AGAIN;
		break;
	case NVME_SPLIT_NEXT:
		break;
	}
	ret = issue(be, ring, io, user_data);
	if (ret < 0) {
		io->result = ret;
		io->done = 0;
		return 1;
	}
	return 0;
}

static void pt_close(struct backend *be)
{
	if (be->fd >= 0)
		close(be->fd);
	free(be->priv);
	free(be);
}

static void pt_describe(const struct backend *be, char *buf, size_t len)
{
	const struct passthru *pt = pt_of(be);
	char sz[32], xfer[32], queues[32] = "unknown";

	if (pt->nr_io_queues)
		snprintf(queues, sizeof(queues), "%u", pt->nr_io_queues);
	snprintf(buf, len, "on %s, %s, LBA size %u, max transfer %s, %s I/O queues", be->path,
		 format_size(be->size, sz, sizeof(sz)), be->block_size,
		 format_size(pt->max_transfer, xfer, sizeof(xfer)), queues);
}

static const char *pt_route_ns(const struct backend *be)
{
	return pt_of(be)->ns_name;
}

static const struct backend_ops passthru_ops = {
	.kind = "nvme passthrough",
	.queue = pt_queue,
	.complete = pt_complete,
	.close = pt_close,
	.describe = pt_describe,
	.route_ns = pt_route_ns,
};

/* The largest DSM range the controller takes, in blocks (0: no deallocate). */
static uint32_t dsm_range_blocks(const struct nvme_ns_info *ns)
{
	uint64_t blocks = ns->max_discard_bytes / ns->lba_size;

	return blocks > NVME_CMD_DSM_RANGE_MAX_BLOCKS ? NVME_CMD_DSM_RANGE_MAX_BLOCKS :
						     (uint32_t)blocks;
}

struct backend *nvme_backend_make(const struct nvme_ns_info *ns, const char *name, int fd)
{
	struct backend *be = calloc(1, sizeof(*be));
	struct passthru *pt = calloc(1, sizeof(*pt));

	if (!be || !pt) {
		free(be);
		free(pt);
		return NULL;
	}
	pt->ns = (struct nvme_cmd_ns){
		.nsid = ns->nsid,
		.lba_shift = ilog2_u32(ns->lba_size),
		.dsm_range_blocks = dsm_range_blocks(ns),
		.dsm_ranges = ns->max_discard_ranges,
	};
	pt->max_transfer = ns->max_transfer;
	pt->nr_io_queues = ns->nr_io_queues;
	snprintf(pt->ns_name, sizeof(pt->ns_name), "%s", ns->ns);
	pt->wz_deac = nvme_dlfeat_wz_deac(ns->dlfeat);
	be->ops = &passthru_ops;
	be->fd = fd;
	be->priv = pt;
	be->size = ns->lba_count * ns->lba_size;
	be->block_size = ns->lba_size;
	be->max_io_bytes = ns->max_transfer < PASSTHRU_MAX_IO_BYTES ? ns->max_transfer :
								       PASSTHRU_MAX_IO_BYTES;
	be->direct = true;
	be->can_discard = ns->max_discard_bytes >= ns->lba_size;
	be->wants_fixed_buffers = true;
	snprintf(be->name, sizeof(be->name), "%s", name);
	snprintf(be->path, sizeof(be->path), "%s", ns->generic_path);
	return be;
}

int nvme_backend_open(const struct conf_backend *cb, struct backend **out, char *err,
		      size_t errlen)
{
	struct nvme_ns_info ns;
	struct backend *be;
	int fd;

	if (nvme_discover(cb, &ns, err, errlen) < 0)
		return -1;
	fd = open(ns.generic_path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "backend \"%s\": cannot open %s: %s (passthrough needs root; "
			 "type = \"file\" uses the block device instead)", cb->name,
			 ns.generic_path, strerror(errno));
		return -1;
	}
	be = nvme_backend_make(&ns, cb->name, fd);
	if (!be) {
		snprintf(err, errlen, "backend \"%s\": out of memory", cb->name);
		close(fd);
		return -1;
	}
	log_debug("backend \"%s\": namespace %s (controller %s, nsid %u), %llu blocks, "
		  "DLFEAT 0x%02x", cb->name, ns.ns, ns.ctrl, ns.nsid,
		  (unsigned long long)ns.lba_count, ns.dlfeat);
	*out = be;
	return 0;
}
