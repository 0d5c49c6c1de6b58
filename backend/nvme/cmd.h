/* SPDX-License-Identifier: MIT */
/*
 * NVMe I/O command encoding for passthrough (struct nvme_uring_cmd), kept
 * free of any ring or device so that it can be tested without hardware:
 * one command per call, the splitting arithmetic, and NVMe status -> errno.
 */
#ifndef DDUBLK_NVME_CMD_H
#define DDUBLK_NVME_CMD_H

/*
 * The kernel's header, not <libnvme.h>: libnvme drags in <syslog.h>, whose
 * LOG_* macros clash with common/log.h. A file that wants both includes
 * <libnvme.h> first (it carries its own copy of this header).
 */
#include <linux/nvme_ioctl.h>

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "backend/nvme/nvme_qid.h" /* queue steering: the kernel series of patches/linux-6.1 */

/* NLB is a 16-bit field (0's based): one command moves at most this many blocks. */
#define NVME_CMD_MAX_BLOCKS 65536u
/* One Dataset Management range holds a 32-bit block count. */
#define NVME_CMD_DSM_RANGE_MAX_BLOCKS 0xffffffffu
/* Ranges in one DSM command; their array must fit in one page. */
#define NVME_CMD_DSM_MAX_RANGES 256u
#define NVME_CMD_DSM_AD (1u << 2) /* cdw11: Attribute Deallocate */
#define NVME_CMD_FUA (1u << 30) /* cdw12 */
#define NVME_CMD_WZ_DEAC (1u << 25) /* cdw12 of WRITE ZEROES: the blocks may be deallocated */

/* Identify Namespace DLFEAT: what reading a deallocated block returns. */
#define NVME_DLFEAT_READ_MASK 0x7u
#define NVME_DLFEAT_READ_ZEROES 0x1u /* all bytes 0 */
#define NVME_DLFEAT_WZ_DEAC (1u << 3) /* WRITE ZEROES takes the Deallocate bit */

/* A deallocated block of the namespace reads back as zeroes. */
static inline bool nvme_dlfeat_reads_zeroes(uint8_t dlfeat)
{
	return (dlfeat & NVME_DLFEAT_READ_MASK) == NVME_DLFEAT_READ_ZEROES;
}

/* WRITE ZEROES may set DEAC: the controller deallocates where it can, reads stay zero. */
static inline bool nvme_dlfeat_wz_deac(uint8_t dlfeat)
{
	return nvme_dlfeat_reads_zeroes(dlfeat) && (dlfeat & NVME_DLFEAT_WZ_DEAC);
}

/* What encoding needs to know about a namespace. */
struct nvme_cmd_ns {
	uint32_t nsid;
	unsigned lba_shift; /* log2 of the LBA size */
	/* The controller's DSM limits (DMRSL, DMRL); 0: the protocol's. */
	uint32_t dsm_range_blocks;
	unsigned dsm_ranges;
};

/*
 * Encode one command for bytes [off, off + len) of the namespace. buf holds
 * the data (READ/WRITE) or receives the DSM range array (DISCARD: room for
 * NVME_CMD_DSM_MAX_RANGES ranges); unused otherwise. Returns 0, -EINVAL if
 * off/len are not whole blocks or exceed one command (nvme_cmd_max_chunk),
 * -EOPNOTSUPP for an unknown op.
 */
int nvme_cmd_encode(struct nvme_uring_cmd *cmd, const struct nvme_cmd_ns *ns,
		    enum io_op op, bool fua, uint64_t off, uint64_t len, void *buf);

/*
 * The kernel does not check that data_len matches the command's block
 * count: 0 if it does (or the command carries no data), else -EIO.
 */
int nvme_cmd_check(const struct nvme_uring_cmd *cmd, const struct nvme_cmd_ns *ns);

/*
 * The most bytes one command of op may cover: max_transfer (bytes, a
 * multiple of the block size) for READ/WRITE, 65536 blocks for WRITE
 * ZEROES, as many full ranges as one DSM command takes for DISCARD,
 * everything for FLUSH.
 */
uint64_t nvme_cmd_max_chunk(enum io_op op, const struct nvme_cmd_ns *ns,
			    uint32_t max_transfer);

/* Bytes of the next command of a len-byte request of which done are issued. */
static inline uint64_t nvme_cmd_chunk(uint64_t len, uint64_t done, uint64_t max_chunk)
{
	uint64_t left = len - done;

	return left < max_chunk ? left : max_chunk;
}

/* Commands a len-byte request takes at max_chunk bytes each (1 for len 0). */
unsigned nvme_cmd_nr_chunks(uint64_t len, uint64_t max_chunk);

/*
 * A request split into commands goes one command at a time: io->done
 * counts the bytes of the commands that succeeded, in order, and the one
 * in flight is always [io->done, + nvme_cmd_chunk()). The commands of a
 * request share its user_data, so only then does a CQE say which command
 * it answers: a -EAGAIN (a steered queue out of tags) retries that
 * command alone, never those already done, and a request never holds more
 * than one tag of a queue it shares with other tenants.
 */
enum nvme_split_step {
	NVME_SPLIT_NEXT, /* issue the next command (at io->done) */
	NVME_SPLIT_AGAIN, /* issue the same command again, when its queue has room */
	NVME_SPLIT_DONE, /* finished: io->result, io->done */
};

/*
 * Fold the outcome of the command in flight (0, -EAGAIN, or another -errno:
 * the request fails, io->done = 0) into io's progress.
 */
enum nvme_split_step nvme_split_complete(struct backend_io *io, uint64_t max_chunk, int err);

/* NVMe status fields of a passthrough cqe->res > 0 (the CQE's status >> 1). */
static inline unsigned nvme_status_sct(uint16_t status)
{
	return (status >> 8) & 0x7;
}

static inline unsigned nvme_status_sc(uint16_t status)
{
	return status & 0xff;
}

static inline bool nvme_status_dnr(uint16_t status)
{
	return status & 0x4000;
}

/*
 * The errno the kernel's block layer would report for an NVMe status
 * (nvme_error_status() and blk_status_to_errno() in Linux 6.1): 0 for
 * success, -EIO for anything it does not single out. CRD/More/DNR are
 * ignored.
 */
int nvme_status_errno(uint16_t status);

/* A human-readable name for an NVMe status (libnvme's table). */
const char *nvme_status_name(uint16_t status);

#endif
