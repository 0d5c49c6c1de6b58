/* SPDX-License-Identifier: MIT */
/*
 * NVMe passthrough queue steering: the userspace side of the kernel
 * interface added by patches/linux-6.1/0005 (not upstream). Values must
 * match the patch; see patches/linux-6.1/README.
 *
 * Submit IORING_OP_URING_CMD on a namespace's generic char device
 * (/dev/ngXnY), on a ring set up with IORING_SETUP_SQE128 |
 * IORING_SETUP_CQE32, with sqe->cmd_op = NVME_URING_CMD_IO_QID (or
 * NVME_URING_CMD_IO_VEC_QID) and struct nvme_uring_cmd in sqe->cmd exactly
 * as for NVME_URING_CMD_IO, plus the hardware queue in its last word
 * (nvme_uring_cmd_set_hw_queue()).
 *
 * The hardware queue is the block layer's index, N in
 * /sys/block/nvmeXnY/mq/N (and /sys/kernel/debug/block/nvmeXnY/hctxN); on
 * nvme-pci the NVMe queue id is N + 1.
 *
 * cqe->res:
 *   0 / > 0 (NVMe status)  as for NVME_URING_CMD_IO
 *   -ENOTTY      kernel without the patch (unknown cmd_op): the feature
 *                probe. Fall back to CPU-pinned submitters.
 *   -EINVAL      the queue does not exist; or it is a polled queue and the
 *                ring is not IORING_SETUP_IOPOLL, or the command transfers
 *                no data (nothing would poll for its completion)
 *   -EXDEV       the queue has no tags, or is interrupt driven and none of
 *                its CPUs is online (its interrupt would never fire)
 *   -EOPNOTSUPP  an I/O scheduler is set on the namespace (steering needs
 *                "none"), or the ring lacks SQE128/CQE32
 *   -EAGAIN      no free tag on that queue right now, or the queue is
 *                frozen: the command was not issued. It never waits and
 *                never goes to another queue; resubmit later (and give up
 *                if the device is going away).
 *
 * Which queues exist: the kernel log line "nvme nvmeX: D/R/P
 * default/read/poll queues"; queues [0, D) are interrupt driven, [D, D+R)
 * read, [D+R, D+R+P) polled (the order of the blk-mq queue maps). With
 * debugfs, /sys/kernel/debug/block/nvmeXnY/hctxN/type says "default",
 * "read" or "poll". Polled queues that no CPU maps to
 * (nvme.extra_poll_queues) have an empty /sys/block/nvmeXnY/mq/N/cpu_list.
 *
 * Include <libnvme.h> first if the file also uses it: it carries its own
 * copy of <linux/nvme_ioctl.h>.
 */
#ifndef DDUBLK_NVME_QID_H
#define DDUBLK_NVME_QID_H

#include <linux/ioctl.h>
#include <linux/nvme_ioctl.h>
#include <stddef.h>
#include <stdint.h>

/* Out of the range upstream uses (0x80..0x83), so that no future op collides. */
#ifndef NVME_URING_CMD_IO_QID
#define NVME_URING_CMD_IO_QID _IOWR('N', 0xf0, struct nvme_uring_cmd)
#endif
#ifndef NVME_URING_CMD_IO_VEC_QID
#define NVME_URING_CMD_IO_VEC_QID _IOWR('N', 0xf1, struct nvme_uring_cmd)
#endif
/* A header from elsewhere with other numbers would be talking to another patch. */
_Static_assert(NVME_URING_CMD_IO_QID == 0xc0484ef0u, "NVME_URING_CMD_IO_QID is not patch 0005's");
_Static_assert(NVME_URING_CMD_IO_VEC_QID == 0xc0484ef1u, "NVME_URING_CMD_IO_VEC_QID is not patch 0005's");

/*
 * The patched kernel header names the last word hw_queue (in a union with
 * rsvd2); the system headers only know rsvd2. Same word either way.
 */
_Static_assert(sizeof(struct nvme_uring_cmd) == 72, "struct nvme_uring_cmd layout changed");
_Static_assert(offsetof(struct nvme_uring_cmd, rsvd2) == 68, "struct nvme_uring_cmd layout changed");

static inline void nvme_uring_cmd_set_hw_queue(struct nvme_uring_cmd *cmd, uint32_t hw_queue)
{
	cmd->rsvd2 = hw_queue;
}

static inline uint32_t nvme_uring_cmd_hw_queue(const struct nvme_uring_cmd *cmd)
{
	return cmd->rsvd2;
}

#endif /* DDUBLK_NVME_QID_H */
