/* SPDX-License-Identifier: MIT */
/*
 * DRAFT userspace view of the NVMe passthrough queue-steering interface
 * added by patches/linux-6.1/wip/0004-nvme-let-io_uring-passthrough-commands-choose-their-.patch
 * (not upstream; the values may change until the series is final).
 *
 * Usage: submit IORING_OP_URING_CMD on /dev/ngXnY (ring set up with
 * IORING_SETUP_SQE128 | IORING_SETUP_CQE32, as for NVME_URING_CMD_IO) with
 * sqe->cmd_op = NVME_URING_CMD_IO_QID and the struct nvme_uring_cmd in
 * sqe->cmd exactly as for NVME_URING_CMD_IO, plus the hardware queue index
 * in the last word (rsvd2 in <linux/nvme_ioctl.h>, hw_queue in the patched
 * kernel header).
 *
 * hw_queue is the block layer hardware queue index, i.e. N in
 * /sys/block/nvmeXnY/mq/N; on nvme-pci, NVMe queue id = hw_queue + 1.
 *
 * Results (cqe->res):
 *   >= 0 / NVMe status   as for NVME_URING_CMD_IO
 *   -ENOTTY              kernel without the patch (unknown cmd_op): fall
 *                        back to CPU-pinned submitters
 *   -EINVAL              hw_queue does not exist; or the queue is a polled
 *                        queue and the ring is not IORING_SETUP_IOPOLL or
 *                        the command transfers no data
 *   -EXDEV               queue has no tags, or is interrupt driven with no
 *                        online CPU
 *   -EOPNOTSUPP          an I/O scheduler is set on the namespace queue
 *                        (scheduler must be "none"), or the ring lacks
 *                        SQE128/CQE32
 *   -EAGAIN              no free tag on that queue right now (never waits,
 *                        never goes to another queue): resubmit later
 *
 * Which queues are polled: the kernel log line
 * "nvme nvmeX: D/R/P default/read/poll queues" gives the counts; hardware
 * queues [0, D) are interrupt driven, [D, D+R) read, [D+R, D+R+P) polled
 * (the order of the blk-mq queue maps, see nvme_pci_map_queues()).
 * Polled queues beyond the CPU count (nvme.extra_poll_queues) appear in
 * /sys/block/nvmeXnY/mq/ with an empty cpu_list.
 */
#ifndef DDUBLK_NVME_QID_UAPI_H
#define DDUBLK_NVME_QID_UAPI_H

#include <linux/ioctl.h>
#include <linux/nvme_ioctl.h>
#include <stdint.h>

#ifndef NVME_URING_CMD_IO_QID
#define NVME_URING_CMD_IO_QID _IOWR('N', 0x84, struct nvme_uring_cmd)
#endif
#ifndef NVME_URING_CMD_IO_VEC_QID
#define NVME_URING_CMD_IO_VEC_QID _IOWR('N', 0x85, struct nvme_uring_cmd)
#endif

/*
 * The patched <linux/nvme_ioctl.h> names the last word hw_queue (in a union
 * with rsvd2); system headers only know rsvd2.  Same offset either way.
 */
_Static_assert(sizeof(struct nvme_uring_cmd) == 72,
	       "struct nvme_uring_cmd layout changed");

static inline void nvme_uring_cmd_set_hw_queue(struct nvme_uring_cmd *cmd,
					       uint32_t hw_queue)
{
	cmd->rsvd2 = hw_queue;
}

#endif /* DDUBLK_NVME_QID_UAPI_H */
