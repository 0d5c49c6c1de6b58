/* SPDX-License-Identifier: MIT */
#include "ublk/ctrl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

#define CMD_TAG 1
#define CANCEL_TAG 2

static int ring_init(struct ublk_ctrl *c)
{
	return io_uring_queue_init(4, &c->ring, IORING_SETUP_SQE128);
}

int ublk_ctrl_open(struct ublk_ctrl *c, unsigned timeout_ms, char *err, size_t errlen)
{
	int ret;

	memset(c, 0, sizeof(*c));
	c->timeout_ms = timeout_ms ? timeout_ms : UBLK_CTRL_DEFAULT_TIMEOUT_MS;
	c->fd = open(UBLK_CTRL_DEV, O_RDWR | O_CLOEXEC);
	if (c->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s (%s)", UBLK_CTRL_DEV, strerror(-ret),
			 ret == -ENOENT ? "this kernel has no ublk driver: load ublk_drv "
					  "or use a kernel with CONFIG_BLK_DEV_UBLK" :
			 ret == -EACCES || ret == -EPERM ? "ddublkd must run as root" :
			 "cannot use the ublk driver");
		return ret;
	}
	ret = ring_init(c);
	if (ret < 0) {
		snprintf(err, errlen, "io_uring setup (SQE128): %s (kernel too old?)",
			 strerror(-ret));
		close(c->fd);
		c->fd = -1;
		return ret;
	}
	return 0;
}

void ublk_ctrl_close(struct ublk_ctrl *c)
{
	if (c->fd < 0)
		return;
	io_uring_queue_exit(&c->ring);
	close(c->fd);
	c->fd = -1;
}

/*
 * The command timed out: cancel it (this interrupts the kernel's
 * interruptible wait) and collect its completion. If even that does not
 * come back (an uninterruptible wait), abandon the ring: the kernel
 * finishes the command on its own when it can, and we start afresh.
 */
static void cancel_stuck(struct ublk_ctrl *c)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);
	struct __kernel_timespec ts = { .tv_sec = 2 };
	struct io_uring_cqe *cqe;
	int seen_cmd = 0;

	if (sqe) {
		io_uring_prep_cancel64(sqe, CMD_TAG, 0);
		sqe->user_data = CANCEL_TAG;
		io_uring_submit(&c->ring);
	}
	for (int i = 0; i < 2 && !seen_cmd; i++) {
		if (io_uring_wait_cqe_timeout(&c->ring, &cqe, &ts))
			break;
		seen_cmd = cqe->user_data == CMD_TAG;
		io_uring_cqe_seen(&c->ring, cqe);
	}
	if (!seen_cmd) {
		log_warn("ublk control command could not be cancelled; "
			 "abandoning its ring");
		io_uring_queue_exit(&c->ring);
		if (ring_init(c) < 0)
			log_err("cannot re-create the ublk control ring");
	}
}

static int submit_wait(struct ublk_ctrl *c, uint32_t opcode, struct ublksrv_ctrl_cmd *cmd)
{
	struct __kernel_timespec ts = {
		.tv_sec = c->timeout_ms / 1000,
		.tv_nsec = (long long)(c->timeout_ms % 1000) * 1000000,
	};
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	ublk_prep_ctrl(sqe, c->fd, opcode, cmd);
	sqe->user_data = CMD_TAG;
	ret = io_uring_submit(&c->ring);
	if (ret < 0)
		return ret;
	for (;;) {
		ret = io_uring_wait_cqe_timeout(&c->ring, &cqe, &ts);
		if (ret == -ETIME) {
			cancel_stuck(c);
			return -ETIMEDOUT;
		}
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			return ret;
		if (cqe->user_data != CMD_TAG) { /* a late cancel completion */
			io_uring_cqe_seen(&c->ring, cqe);
			continue;
		}
		ret = cqe->res;
		io_uring_cqe_seen(&c->ring, cqe);
		return ret;
	}
}

/* Errors with which a kernel says "I do not know this opcode". */
static int opcode_unknown(uint32_t legacy_op, int ret)
{
	if (ret == -EOPNOTSUPP || ret == -ENOTTY || ret == -EINVAL)
		return 1;
	/* 6.1 looks up the device of anything that is not ADD_DEV first. */
	return legacy_op == UBLK_CMD_ADD_DEV && ret == -ENODEV;
}

static int ctrl_exec(struct ublk_ctrl *c, uint32_t legacy_op, struct ublksrv_ctrl_cmd *cmd)
{
	const char *name = ublk_ctrl_name(legacy_op);
	int ret;

	if (c->form != UBLK_FORM_UNKNOWN) {
		ret = submit_wait(c, ublk_ctrl_opcode(legacy_op, c->form), cmd);
		goto out;
	}
	ret = submit_wait(c, ublk_ctrl_opcode(legacy_op, UBLK_FORM_IOCTL), cmd);
	if (ret >= 0 || !opcode_unknown(legacy_op, ret)) {
		if (ret >= 0)
			c->form = UBLK_FORM_IOCTL;
		goto out;
	}
	ret = submit_wait(c, legacy_op, cmd);
	if (ret >= 0) {
		c->form = UBLK_FORM_LEGACY;
		log_info("ublk driver speaks legacy opcodes (Linux < 6.4)");
	}
out:
	if (ret < 0)
		log_debug("ublk %s dev %d: %s", name, (int)cmd->dev_id, strerror(-ret));
	return ret;
}

static struct ublksrv_ctrl_cmd ctrl_cmd(uint32_t dev_id, void *buf, uint16_t len)
{
	return (struct ublksrv_ctrl_cmd){
		.dev_id = dev_id,
		.queue_id = (uint16_t)-1,
		.addr = (uint64_t)(uintptr_t)buf,
		.len = len,
	};
}

int ublk_ctrl_add_dev(struct ublk_ctrl *c, struct ublksrv_ctrl_dev_info *info)
{
	struct ublksrv_ctrl_cmd cmd = ctrl_cmd(info->dev_id, info, sizeof(*info));

	return ctrl_exec(c, UBLK_CMD_ADD_DEV, &cmd);
}

int ublk_ctrl_del_dev(struct ublk_ctrl *c, uint32_t dev_id)
{
	struct ublksrv_ctrl_cmd cmd = ctrl_cmd(dev_id, NULL, 0);

	return ctrl_exec(c, UBLK_CMD_DEL_DEV, &cmd);
}

int ublk_ctrl_set_params(struct ublk_ctrl *c, uint32_t dev_id, struct ublk_params *p)
{
	struct ublksrv_ctrl_cmd cmd = ctrl_cmd(dev_id, p, sizeof(*p));

	p->len = sizeof(*p);
	return ctrl_exec(c, UBLK_CMD_SET_PARAMS, &cmd);
}

int ublk_ctrl_start_dev(struct ublk_ctrl *c, uint32_t dev_id, pid_t pid)
{
	struct ublksrv_ctrl_cmd cmd = ctrl_cmd(dev_id, NULL, 0);

	cmd.data[0] = (uint64_t)pid;
	return ctrl_exec(c, UBLK_CMD_START_DEV, &cmd);
}

int ublk_ctrl_stop_dev(struct ublk_ctrl *c, uint32_t dev_id)
{
	struct ublksrv_ctrl_cmd cmd = ctrl_cmd(dev_id, NULL, 0);

	return ctrl_exec(c, UBLK_CMD_STOP_DEV, &cmd);
}

int ublk_ctrl_get_dev_info(struct ublk_ctrl *c, uint32_t dev_id,
			   struct ublksrv_ctrl_dev_info *info)
{
	struct ublksrv_ctrl_cmd cmd = ctrl_cmd(dev_id, info, sizeof(*info));

	memset(info, 0, sizeof(*info));
	return ctrl_exec(c, UBLK_CMD_GET_DEV_INFO, &cmd);
}

int ublk_ctrl_get_params(struct ublk_ctrl *c, uint32_t dev_id, struct ublk_params *p)
{
	struct ublksrv_ctrl_cmd cmd = ctrl_cmd(dev_id, p, sizeof(*p));

	memset(p, 0, sizeof(*p));
	p->len = sizeof(*p);
	return ctrl_exec(c, UBLK_CMD_GET_PARAMS, &cmd);
}

int ublk_ctrl_start_user_recovery(struct ublk_ctrl *c, uint32_t dev_id)
{
	struct ublksrv_ctrl_cmd cmd = ctrl_cmd(dev_id, NULL, 0);

	return ctrl_exec(c, UBLK_CMD_START_USER_RECOVERY, &cmd);
}

int ublk_ctrl_end_user_recovery(struct ublk_ctrl *c, uint32_t dev_id, pid_t pid)
{
	struct ublksrv_ctrl_cmd cmd = ctrl_cmd(dev_id, NULL, 0);

	cmd.data[0] = (uint64_t)pid;
	return ctrl_exec(c, UBLK_CMD_END_USER_RECOVERY, &cmd);
}

int ublk_ctrl_get_queue_affinity(struct ublk_ctrl *c, uint32_t dev_id, uint16_t q_id,
				 cpu_set_t *cpus)
{
	struct ublksrv_ctrl_cmd cmd = ctrl_cmd(dev_id, cpus, sizeof(*cpus));

	CPU_ZERO(cpus);
	cmd.data[0] = q_id;
	return ctrl_exec(c, UBLK_CMD_GET_QUEUE_AFFINITY, &cmd);
}

int ublk_ctrl_get_features(struct ublk_ctrl *c, uint64_t *features)
{
	struct ublksrv_ctrl_cmd cmd = ctrl_cmd((uint32_t)-1, features, sizeof(*features));
	int ret;

	/* Only ever ioctl-encoded; do not let it decide the form on failure. */
	ret = submit_wait(c, UBLK_U_CMD_GET_FEATURES, &cmd);
	if (ret >= 0) {
		c->form = UBLK_FORM_IOCTL;
		return 0;
	}
	return -EOPNOTSUPP;
}
