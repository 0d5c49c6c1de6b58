/* SPDX-License-Identifier: MIT */
/*
 * /dev/ublk-control: adding, configuring, starting, stopping and deleting
 * ublk devices.
 *
 * Every command is a uring_cmd on a private SQE128 ring. The kernel runs
 * control commands in an io-wq worker, so a command that blocks (START_DEV
 * waits for every tag to be fetched, DEL_DEV for the last reference to the
 * char device) can be timed out: after timeout_ms the command is cancelled,
 * which interrupts the kernel's wait, and the call returns -ETIMEDOUT.
 *
 * The opcode form (ioctl-encoded on 6.4+, legacy on 6.1) is detected on the
 * first command that tells them apart and remembered.
 *
 * Not thread-safe: one control thread owns a struct ublk_ctrl.
 */
#ifndef DDUBLK_UBLK_CTRL_H
#define DDUBLK_UBLK_CTRL_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

#include "ublk/cmd.h"

#define UBLK_CTRL_DEV "/dev/ublk-control"
#define UBLK_CTRL_DEFAULT_TIMEOUT_MS 10000

struct ublk_ctrl {
	int fd;
	struct io_uring ring;
	enum ublk_opcode_form form;
	unsigned timeout_ms;
};

/* Open /dev/ublk-control. -errno, with a hint for the operator in err. */
int ublk_ctrl_open(struct ublk_ctrl *c, unsigned timeout_ms, char *err, size_t errlen);
void ublk_ctrl_close(struct ublk_ctrl *c);

/*
 * ADD_DEV. info->dev_id: wanted id or -1 for any; nr_hw_queues,
 * queue_depth, max_io_buf_bytes, flags as wanted. On success *info holds
 * what the kernel granted (flags it does not know are cleared).
 */
int ublk_ctrl_add_dev(struct ublk_ctrl *c, struct ublksrv_ctrl_dev_info *info);
int ublk_ctrl_del_dev(struct ublk_ctrl *c, uint32_t dev_id);
int ublk_ctrl_set_params(struct ublk_ctrl *c, uint32_t dev_id, struct ublk_params *p);
/* START_DEV returns once every tag of every queue has a FETCH posted. */
int ublk_ctrl_start_dev(struct ublk_ctrl *c, uint32_t dev_id, pid_t pid);
int ublk_ctrl_stop_dev(struct ublk_ctrl *c, uint32_t dev_id);
int ublk_ctrl_get_dev_info(struct ublk_ctrl *c, uint32_t dev_id,
			   struct ublksrv_ctrl_dev_info *info);
int ublk_ctrl_get_queue_affinity(struct ublk_ctrl *c, uint32_t dev_id, uint16_t q_id,
				 cpu_set_t *cpus);
int ublk_ctrl_get_params(struct ublk_ctrl *c, uint32_t dev_id, struct ublk_params *p);
/*
 * User recovery of a device whose daemon died (it is QUIESCED): START
 * forgets the old daemon (-EBUSY while its /dev/ublkcN is still open or
 * the kernel has not quiesced the device yet); END returns once every tag
 * has a FETCH posted again and lets the queued requests go to pid.
 */
int ublk_ctrl_start_user_recovery(struct ublk_ctrl *c, uint32_t dev_id);
int ublk_ctrl_end_user_recovery(struct ublk_ctrl *c, uint32_t dev_id, pid_t pid);
/* GET_FEATURES (6.5+); -EOPNOTSUPP on kernels without it. */
int ublk_ctrl_get_features(struct ublk_ctrl *c, uint64_t *features);

#endif
