/* SPDX-License-Identifier: MIT */
/*
 * Encoding and decoding of ublk commands: pure functions over SQEs and io
 * descriptors, no system calls, so they can be unit tested without a
 * kernel.
 */
#ifndef DDUBLK_UBLK_CMD_H
#define DDUBLK_UBLK_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <liburing.h>

#include "backend/backend.h"
#include "ublk/uapi.h"

/* Which opcode encoding the kernel speaks (6.1: legacy only). */
enum ublk_opcode_form {
	UBLK_FORM_UNKNOWN = 0,
	UBLK_FORM_IOCTL,
	UBLK_FORM_LEGACY,
};

const char *ublk_form_name(enum ublk_opcode_form form);

/* Legacy control opcode (UBLK_CMD_*) -> the opcode to send in `form`. */
uint32_t ublk_ctrl_opcode(uint32_t legacy_op, enum ublk_opcode_form form);
/* Legacy io opcode (UBLK_IO_*) -> the opcode to send in `form`. */
uint32_t ublk_io_opcode(uint32_t legacy_op, enum ublk_opcode_form form);

/* Map a UBLK_IO_OP_* to an enum io_op; -EOPNOTSUPP for anything else. */
int ublk_backend_op(unsigned ublk_op);

/* Short name of a control opcode for messages ("ADD_DEV"). */
const char *ublk_ctrl_name(uint32_t legacy_op);

/*
 * Fill a 128-byte SQE with a control command for /dev/ublk-control.
 * The ring must have been set up with IORING_SETUP_SQE128.
 */
void ublk_prep_ctrl(struct io_uring_sqe *sqe, int ctrl_fd, uint32_t opcode,
		    const struct ublksrv_ctrl_cmd *cmd);

/* Fill an SQE with an io command (FETCH / COMMIT_AND_FETCH) for /dev/ublkcN. */
void ublk_prep_io(struct io_uring_sqe *sqe, int char_fd, uint32_t opcode,
		  uint16_t q_id, uint16_t tag, int32_t result, uint64_t buf_addr);

/* A decoded request: what the block layer asks of us. */
struct ublk_req {
	uint8_t op; /* UBLK_IO_OP_* */
	uint32_t flags; /* UBLK_IO_F_* */
	uint64_t offset; /* bytes from the start of the device */
	uint64_t len; /* bytes (0 for FLUSH) */
};

/*
 * Decode a descriptor and check it against the device: a request that
 * reaches past dev_bytes, or data longer than the tag's buffer, or an
 * unknown op, returns -EIO (or -EOPNOTSUPP for an op we do not serve):
 * the caller completes it with that error and touches nothing.
 */
int ublk_req_decode(const struct ublksrv_io_desc *desc, uint64_t dev_bytes,
		    uint32_t max_buf_bytes, struct ublk_req *req);

/* Offset and length of queue q's descriptor array in the char dev mmap. */
uint64_t ublk_desc_mmap_offset(unsigned q_id, size_t page_size);
size_t ublk_desc_mmap_len(unsigned depth, size_t page_size);

/*
 * Feature flags <-> names ("USER_RECOVERY"). ublk_flags_describe writes the
 * names of the set bits, space-separated, into buf; unknown bits as
 * "bit42". Returns buf.
 */
const char *ublk_flag_name(unsigned bit);
char *ublk_flags_describe(uint64_t flags, char *buf, size_t len);

#endif
