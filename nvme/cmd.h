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

#include "nvme/backend.h"
#include "nvme/nvme_qid.h" /* queue steering: the kernel series of patches/linux-6.1 */

/* NLB is a 16-bit field (0's based): one command moves at most this many blocks. */
#define NVME_CMD_MAX_BLOCKS 65536u
/* One Dataset Management range holds a 32-bit block count. */
#define NVME_CMD_DSM_RANGE_MAX_BLOCKS 0xffffffffu
/* Ranges in one DSM command; their array must fit in one page. */
#define NVME_CMD_DSM_MAX_RANGES 256u
#define NVME_CMD_DSM_AD (1u << 2) /* cdw11: Attribute Deallocate */
#define NVME_CMD_FUA (1u << 30) /* cdw12 */

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
		    enum backend_op op, bool fua, uint64_t off, uint64_t len, void *buf);

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
uint64_t nvme_cmd_max_chunk(enum backend_op op, const struct nvme_cmd_ns *ns,
			    uint32_t max_transfer);

/* Bytes of the next command of a len-byte request of which done are issued. */
static inline uint64_t nvme_cmd_chunk(uint64_t len, uint64_t done, uint64_t max_chunk)
{
	uint64_t left = len - done;

	return left < max_chunk ? left : max_chunk;
}

/* Commands a len-byte request takes at max_chunk bytes each (1 for len 0). */
unsigned nvme_cmd_nr_chunks(uint64_t len, uint64_t max_chunk);

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
