/* SPDX-License-Identifier: MIT */
/* libnvme first: it carries its own copy of the kernel's nvme_ioctl.h. */
#include <libnvme.h>

#include "backend/nvme/cmd.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#define DSM_RANGE_BYTES sizeof(struct nvme_dsm_range)

static bool whole_blocks(const struct nvme_cmd_ns *ns, uint64_t v)
{
	return (v & ((1ULL << ns->lba_shift) - 1)) == 0;
}

static void set_slba(struct nvme_uring_cmd *cmd, uint64_t slba)
{
	cmd->cdw10 = (uint32_t)slba;
	cmd->cdw11 = (uint32_t)(slba >> 32);
}

/* READ, WRITE, WRITE ZEROES: SLBA in cdw10-11, NLB - 1 in cdw12 bits 15:0. */
static int encode_blocks(struct nvme_uring_cmd *cmd, const struct nvme_cmd_ns *ns,
			 uint64_t off, uint64_t len)
{
	uint64_t nlb = len >> ns->lba_shift;

	if (!len || nlb > NVME_CMD_MAX_BLOCKS)
		return -EINVAL;
	set_slba(cmd, off >> ns->lba_shift);
	cmd->cdw12 = (uint32_t)(nlb - 1);
	return 0;
}

static int encode_rw(struct nvme_uring_cmd *cmd, const struct nvme_cmd_ns *ns, bool write,
		     bool fua, uint64_t off, uint64_t len, void *buf)
{
	int ret = encode_blocks(cmd, ns, off, len);

	if (ret)
		return ret;
	cmd->opcode = write ? nvme_cmd_write : nvme_cmd_read;
	cmd->addr = (uint64_t)(uintptr_t)buf;
	cmd->data_len = (uint32_t)len;
	if (write && fua)
		cmd->cdw12 |= NVME_CMD_FUA;
	return 0;
}

static uint32_t dsm_range_blocks(const struct nvme_cmd_ns *ns)
{
	return ns->dsm_range_blocks ? ns->dsm_range_blocks : NVME_CMD_DSM_RANGE_MAX_BLOCKS;
}

static unsigned dsm_ranges(const struct nvme_cmd_ns *ns)
{
	unsigned nr = ns->dsm_ranges;

	return nr && nr < NVME_CMD_DSM_MAX_RANGES ? nr : NVME_CMD_DSM_MAX_RANGES;
}

/* Deallocate: ranges of at most dsm_range_blocks(), written into buf. */
static int encode_dsm(struct nvme_uring_cmd *cmd, const struct nvme_cmd_ns *ns, uint64_t off,
		      uint64_t len, void *buf)
{
	struct nvme_dsm_range *range = buf;
	uint64_t slba = off >> ns->lba_shift, left = len >> ns->lba_shift;
	uint32_t max = dsm_range_blocks(ns);
	unsigned nr = 0;

	if (!left || !buf)
		return -EINVAL;
	while (left) {
		uint32_t nlb = left < max ? (uint32_t)left : max;

		if (nr == dsm_ranges(ns))
			return -EINVAL;
		range[nr++] = (struct nvme_dsm_range){
			.cattr = 0,
			.nlb = htole32(nlb),
			.slba = htole64(slba),
		};
		slba += nlb;
		left -= nlb;
	}
	cmd->opcode = nvme_cmd_dsm;
	cmd->addr = (uint64_t)(uintptr_t)buf;
	cmd->data_len = (uint32_t)(nr * DSM_RANGE_BYTES);
	cmd->cdw10 = nr - 1;
	cmd->cdw11 = NVME_CMD_DSM_AD;
	return 0;
}

int nvme_cmd_encode(struct nvme_uring_cmd *cmd, const struct nvme_cmd_ns *ns,
		    enum io_op op, bool fua, uint64_t off, uint64_t len, void *buf)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->nsid = ns->nsid;
	if (op != IO_OP_FLUSH && (!whole_blocks(ns, off) || !whole_blocks(ns, len)))
		return -EINVAL;
	switch (op) {
	case IO_OP_READ:
	case IO_OP_WRITE:
		return encode_rw(cmd, ns, op == IO_OP_WRITE, fua, off, len, buf);
	case IO_OP_FLUSH:
		cmd->opcode = nvme_cmd_flush;
		return 0;
	case IO_OP_WRITE_ZEROES:
		cmd->opcode = nvme_cmd_write_zeroes;
		return encode_blocks(cmd, ns, off, len);
	case IO_OP_DISCARD:
		return encode_dsm(cmd, ns, off, len, buf);
	default:
		return -EOPNOTSUPP;
	}
}

int nvme_cmd_check(const struct nvme_uring_cmd *cmd, const struct nvme_cmd_ns *ns)
{
	uint64_t want;

	switch (cmd->opcode) {
	case nvme_cmd_read:
	case nvme_cmd_write:
		want = ((uint64_t)(cmd->cdw12 & 0xffff) + 1) << ns->lba_shift;
		break;
	case nvme_cmd_dsm:
		want = ((uint64_t)(cmd->cdw10 & 0xff) + 1) * DSM_RANGE_BYTES;
		break;
	default:
		want = 0;
		break;
	}
	return cmd->data_len == want ? 0 : -EIO;
}

uint64_t nvme_cmd_max_chunk(enum io_op op, const struct nvme_cmd_ns *ns,
			    uint32_t max_transfer)
{
	uint64_t cmd_max = (uint64_t)NVME_CMD_MAX_BLOCKS << ns->lba_shift;

	switch (op) {
	case IO_OP_READ:
	case IO_OP_WRITE:
		return max_transfer < cmd_max ? max_transfer : cmd_max;
	case IO_OP_WRITE_ZEROES:
		return cmd_max;
	case IO_OP_DISCARD:
		return ((uint64_t)dsm_range_blocks(ns) * dsm_ranges(ns)) << ns->lba_shift;
	default:
		return UINT64_MAX;
	}
}

unsigned nvme_cmd_nr_chunks(uint64_t len, uint64_t max_chunk)
{
	if (!len)
		return 1;
	return (unsigned)((len - 1) / max_chunk + 1);
}

enum nvme_split_step nvme_split_complete(struct backend_io *io, uint64_t max_chunk, int err)
{
	if (err == -EAGAIN)
		return NVME_SPLIT_AGAIN;
	if (err) {
		io->result = err;
		io->done = 0;
		return NVME_SPLIT_DONE;
	}
	io->done += nvme_cmd_chunk(io->len, io->done, max_chunk);
	return io->done < io->len ? NVME_SPLIT_NEXT : NVME_SPLIT_DONE;
}

/* Status codes (SCT << 8 | SC) that Linux 6.1's nvme_error_status() singles out. */
enum {
	SC_INVALID_OPCODE = 0x001,
	SC_INVALID_FIELD = 0x002,
	SC_INVALID_NS = 0x00b,
	SC_CMD_INTERRUPTED = 0x021,
	SC_LBA_RANGE = 0x080,
	SC_CAP_EXCEEDED = 0x081,
	SC_NS_NOT_READY = 0x082,
	SC_RESERVATION_CONFLICT = 0x083,
	SC_BAD_ATTRIBUTES = 0x180,
	SC_INVALID_PI = 0x181,
	SC_READ_ONLY = 0x182,
	SC_ONCS_NOT_SUPPORTED = 0x183,
	SC_ZONE_TOO_MANY_ACTIVE = 0x1bd,
	SC_ZONE_TOO_MANY_OPEN = 0x1be,
	SC_WRITE_FAULT = 0x280,
	SC_READ_ERROR = 0x281,
	SC_GUARD_CHECK = 0x282,
	SC_APPTAG_CHECK = 0x283,
	SC_REFTAG_CHECK = 0x284,
	SC_COMPARE_FAILED = 0x285,
	SC_ACCESS_DENIED = 0x286,
	SC_UNWRITTEN_BLOCK = 0x287,
	SC_HOST_PATH_ERROR = 0x370,
};

/*
 * The errno values are those blk_status_to_errno() gives for the kernel's
 * choice of blk_status_t, so a ublk client sees what the block path shows.
 */
int nvme_status_errno(uint16_t status)
{
	switch (status & 0x7ff) {
	case 0:
		return 0;
	case SC_CAP_EXCEEDED:
		return -ENOSPC; /* BLK_STS_NOSPC */
	case SC_LBA_RANGE:
	case SC_CMD_INTERRUPTED:
	case SC_NS_NOT_READY:
		return -EREMOTEIO; /* BLK_STS_TARGET */
	case SC_BAD_ATTRIBUTES:
	case SC_ONCS_NOT_SUPPORTED:
	case SC_INVALID_OPCODE:
	case SC_INVALID_FIELD:
	case SC_INVALID_NS:
		return -EOPNOTSUPP; /* BLK_STS_NOTSUPP */
	case SC_WRITE_FAULT:
	case SC_READ_ERROR:
	case SC_UNWRITTEN_BLOCK:
	case SC_ACCESS_DENIED:
	case SC_READ_ONLY:
	case SC_COMPARE_FAILED:
		return -ENODATA; /* BLK_STS_MEDIUM */
	case SC_GUARD_CHECK:
	case SC_APPTAG_CHECK:
	case SC_REFTAG_CHECK:
	case SC_INVALID_PI:
		return -EILSEQ; /* BLK_STS_PROTECTION */
	case SC_RESERVATION_CONFLICT:
		return -EBADE; /* BLK_STS_NEXUS */
	case SC_HOST_PATH_ERROR:
		return -ENOLINK; /* BLK_STS_TRANSPORT */
	case SC_ZONE_TOO_MANY_ACTIVE:
		return -EOVERFLOW; /* BLK_STS_ZONE_ACTIVE_RESOURCE */
	case SC_ZONE_TOO_MANY_OPEN:
		return -ETOOMANYREFS; /* BLK_STS_ZONE_OPEN_RESOURCE */
	default:
		return -EIO;
	}
}

const char *nvme_status_name(uint16_t status)
{
	return nvme_status_to_string(status & 0x7ff, false);
}
