/* SPDX-License-Identifier: MIT */
#include "ublk/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *ublk_form_name(enum ublk_opcode_form form)
{
	switch (form) {
	case UBLK_FORM_IOCTL: return "ioctl";
	case UBLK_FORM_LEGACY: return "legacy";
	default: return "unknown";
	}
}

uint32_t ublk_ctrl_opcode(uint32_t legacy_op, enum ublk_opcode_form form)
{
	if (form != UBLK_FORM_IOCTL)
		return legacy_op;
	switch (legacy_op) {
	case UBLK_CMD_GET_QUEUE_AFFINITY: return UBLK_U_CMD_GET_QUEUE_AFFINITY;
	case UBLK_CMD_GET_DEV_INFO: return UBLK_U_CMD_GET_DEV_INFO;
	case UBLK_CMD_ADD_DEV: return UBLK_U_CMD_ADD_DEV;
	case UBLK_CMD_DEL_DEV: return UBLK_U_CMD_DEL_DEV;
	case UBLK_CMD_START_DEV: return UBLK_U_CMD_START_DEV;
	case UBLK_CMD_STOP_DEV: return UBLK_U_CMD_STOP_DEV;
	case UBLK_CMD_SET_PARAMS: return UBLK_U_CMD_SET_PARAMS;
	case UBLK_CMD_GET_PARAMS: return UBLK_U_CMD_GET_PARAMS;
	case UBLK_CMD_START_USER_RECOVERY: return UBLK_U_CMD_START_USER_RECOVERY;
	case UBLK_CMD_END_USER_RECOVERY: return UBLK_U_CMD_END_USER_RECOVERY;
	default: return legacy_op;
	}
}

uint32_t ublk_io_opcode(uint32_t legacy_op, enum ublk_opcode_form form)
{
	if (form != UBLK_FORM_IOCTL)
		return legacy_op;
	switch (legacy_op) {
	case UBLK_IO_FETCH_REQ: return UBLK_U_IO_FETCH_REQ;
	case UBLK_IO_COMMIT_AND_FETCH_REQ: return UBLK_U_IO_COMMIT_AND_FETCH_REQ;
	case UBLK_IO_NEED_GET_DATA: return UBLK_U_IO_NEED_GET_DATA;
	default: return legacy_op;
	}
}

const char *ublk_ctrl_name(uint32_t legacy_op)
{
	switch (legacy_op) {
	case UBLK_CMD_GET_QUEUE_AFFINITY: return "GET_QUEUE_AFFINITY";
	case UBLK_CMD_GET_DEV_INFO: return "GET_DEV_INFO";
	case UBLK_CMD_ADD_DEV: return "ADD_DEV";
	case UBLK_CMD_DEL_DEV: return "DEL_DEV";
	case UBLK_CMD_START_DEV: return "START_DEV";
	case UBLK_CMD_STOP_DEV: return "STOP_DEV";
	case UBLK_CMD_SET_PARAMS: return "SET_PARAMS";
	case UBLK_CMD_GET_PARAMS: return "GET_PARAMS";
	case UBLK_CMD_START_USER_RECOVERY: return "START_USER_RECOVERY";
	case UBLK_CMD_END_USER_RECOVERY: return "END_USER_RECOVERY";
	case 0x13: return "GET_FEATURES";
	default: return "UNKNOWN";
	}
}

void ublk_prep_ctrl(struct io_uring_sqe *sqe, int ctrl_fd, uint32_t opcode,
		    const struct ublksrv_ctrl_cmd *cmd)
{
	/* 128-byte SQE: the control header lives in sqe->cmd (80 bytes). */
	memset(sqe, 0, 2 * sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = ctrl_fd;
	sqe->cmd_op = opcode;
	memcpy(sqe->cmd, cmd, sizeof(*cmd));
}

void ublk_prep_io(struct io_uring_sqe *sqe, int char_fd, uint32_t opcode,
		  uint16_t q_id, uint16_t tag, int32_t result, uint64_t buf_addr)
{
	struct ublksrv_io_cmd io = {
		.q_id = q_id,
		.tag = tag,
		.result = result,
		.addr = buf_addr,
	};

	/* ublksrv_io_cmd is 16 bytes: it fits a 64-byte SQE's cmd area. */
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = char_fd;
	sqe->cmd_op = opcode;
	memcpy(sqe->cmd, &io, sizeof(io));
}

int ublk_req_decode(const struct ublksrv_io_desc *desc, uint64_t dev_bytes,
		    uint32_t max_buf_bytes, struct ublk_req *req)
{
	/* The descriptor is shared memory: read each field exactly once. */
	uint32_t op_flags = __atomic_load_n(&desc->op_flags, __ATOMIC_RELAXED);
	uint64_t sector = __atomic_load_n(&desc->start_sector, __ATOMIC_RELAXED);
	uint32_t nr = __atomic_load_n(&desc->nr_sectors, __ATOMIC_RELAXED);

	req->op = op_flags & 0xff;
	req->flags = op_flags >> 8 << 8;
	req->offset = sector << 9;
	req->len = (uint64_t)nr << 9;

	switch (req->op) {
	case UBLK_IO_OP_FLUSH:
		req->offset = 0;
		req->len = 0;
		return 0;
	case UBLK_IO_OP_READ:
	case UBLK_IO_OP_WRITE:
		if (req->len > max_buf_bytes)
			return -EIO;
		break;
	case UBLK_IO_OP_DISCARD:
	case UBLK_IO_OP_WRITE_ZEROES:
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (req->len == 0 || sector > (UINT64_MAX >> 9) ||
	    req->offset > dev_bytes || req->len > dev_bytes - req->offset)
		return -EIO;
	return 0;
}

uint64_t ublk_desc_mmap_offset(unsigned q_id, size_t page_size)
{
	uint64_t per_queue = UBLK_DESC_AREA_MAX;

	per_queue = (per_queue + page_size - 1) / page_size * page_size;
	return (uint64_t)q_id * per_queue;
}

size_t ublk_desc_mmap_len(unsigned depth, size_t page_size)
{
	size_t len = depth * sizeof(struct ublksrv_io_desc);

	return (len + page_size - 1) / page_size * page_size;
}

const char *ublk_flag_name(unsigned bit)
{
	static const char *const names[] = {
		"SUPPORT_ZERO_COPY", "URING_CMD_COMP_IN_TASK", "NEED_GET_DATA",
		"USER_RECOVERY", "USER_RECOVERY_REISSUE", "UNPRIVILEGED_DEV",
		"CMD_IOCTL_ENCODE", "USER_COPY", "ZONED", "USER_RECOVERY_FAIL_IO",
		"UPDATE_SIZE", "AUTO_BUF_REG", "QUIESCE", "PER_IO_DAEMON",
	};

	return bit < sizeof(names) / sizeof(names[0]) ? names[bit] : NULL;
}

char *ublk_flags_describe(uint64_t flags, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = 0;
	for (unsigned bit = 0; bit < 64 && used < len; bit++) {
		const char *name;
		int n;

		if (!(flags & (1ULL << bit)))
			continue;
		name = ublk_flag_name(bit);
		if (name)
			n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", name);
		else
			n = snprintf(buf + used, len - used, "%sbit%u", used ? " " : "", bit);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

int ublk_backend_op(unsigned ublk_op)
{
	switch (ublk_op) {
	case UBLK_IO_OP_READ: return IO_OP_READ;
	case UBLK_IO_OP_WRITE: return IO_OP_WRITE;
	case UBLK_IO_OP_FLUSH: return IO_OP_FLUSH;
	case UBLK_IO_OP_DISCARD: return IO_OP_DISCARD;
	case UBLK_IO_OP_WRITE_ZEROES: return IO_OP_WRITE_ZEROES;
	default: return -EOPNOTSUPP;
	}
}
