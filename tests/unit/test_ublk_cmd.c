/* SPDX-License-Identifier: MIT */
/* ublk command encoding and io descriptor decoding (ublk/cmd.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ublk/cmd.h"

static void test_ctrl_opcode_forms(void **state)
{
	(void)state;
	assert_int_equal(ublk_ctrl_opcode(UBLK_CMD_ADD_DEV, UBLK_FORM_LEGACY), 0x04);
	assert_int_equal(ublk_ctrl_opcode(UBLK_CMD_ADD_DEV, UBLK_FORM_UNKNOWN), 0x04);
	/* ioctl form: _IOWR('u', 0x04, 32-byte struct) */
	assert_int_equal(ublk_ctrl_opcode(UBLK_CMD_ADD_DEV, UBLK_FORM_IOCTL), 0xc0207504);
	assert_int_equal(ublk_ctrl_opcode(UBLK_CMD_GET_DEV_INFO, UBLK_FORM_IOCTL), 0x80207502);
	assert_int_equal(ublk_ctrl_opcode(UBLK_CMD_DEL_DEV, UBLK_FORM_IOCTL), 0xc0207505);
	assert_int_equal(ublk_ctrl_opcode(UBLK_CMD_STOP_DEV, UBLK_FORM_IOCTL), 0xc0207507);
	assert_int_equal(UBLK_U_CMD_GET_FEATURES, 0x80207513);
	assert_string_equal(ublk_ctrl_name(UBLK_CMD_START_DEV), "START_DEV");
	assert_string_equal(ublk_form_name(UBLK_FORM_LEGACY), "legacy");
}

static void test_io_opcode_forms(void **state)
{
	(void)state;
	assert_int_equal(ublk_io_opcode(UBLK_IO_FETCH_REQ, UBLK_FORM_LEGACY), 0x20);
	assert_int_equal(ublk_io_opcode(UBLK_IO_COMMIT_AND_FETCH_REQ, UBLK_FORM_LEGACY), 0x21);
	/* _IOWR('u', 0x20, 16-byte struct ublksrv_io_cmd) */
	assert_int_equal(ublk_io_opcode(UBLK_IO_FETCH_REQ, UBLK_FORM_IOCTL), 0xc0107520);
	assert_int_equal(ublk_io_opcode(UBLK_IO_COMMIT_AND_FETCH_REQ, UBLK_FORM_IOCTL),
			 0xc0107521);
}

static void test_prep_ctrl_fills_128_byte_sqe(void **state)
{
	struct io_uring_sqe sqe[2];
	struct ublksrv_ctrl_cmd cmd = {
		.dev_id = 7, .queue_id = 0xffff, .len = 64, .addr = 0x1234, .data = { 99, 0 },
	};
	const struct ublksrv_ctrl_cmd *got;

	(void)state;
	memset(sqe, 0xaa, sizeof(sqe));
	ublk_prep_ctrl(sqe, 5, UBLK_CMD_START_DEV, &cmd);
	assert_int_equal(sqe[0].opcode, IORING_OP_URING_CMD);
	assert_int_equal(sqe[0].fd, 5);
	assert_int_equal(sqe[0].cmd_op, UBLK_CMD_START_DEV);
	assert_int_equal(sqe[0].flags, 0);
	assert_int_equal(sqe[0].user_data, 0);
	got = (const struct ublksrv_ctrl_cmd *)sqe[0].cmd;
	assert_int_equal(got->dev_id, 7);
	assert_int_equal(got->queue_id, 0xffff);
	assert_int_equal(got->len, 64);
	assert_int_equal(got->addr, 0x1234);
	assert_int_equal(got->data[0], 99);
	/* Nothing stale may remain in the second half of the big SQE. */
	{
		const unsigned char *area = (const unsigned char *)&sqe[0] +
					    offsetof(struct io_uring_sqe, cmd);

		for (size_t i = sizeof(cmd); i < 80; i++)
			assert_int_equal(area[i], 0);
	}
}

static void test_prep_io(void **state)
{
	struct io_uring_sqe sqe;
	const struct ublksrv_io_cmd *io;

	(void)state;
	memset(&sqe, 0xaa, sizeof(sqe));
	ublk_prep_io(&sqe, 9, UBLK_IO_COMMIT_AND_FETCH_REQ, 3, 17, -5, 0xdead000);
	io = (const struct ublksrv_io_cmd *)sqe.cmd;
	assert_int_equal(sqe.opcode, IORING_OP_URING_CMD);
	assert_int_equal(sqe.fd, 9);
	assert_int_equal(sqe.cmd_op, UBLK_IO_COMMIT_AND_FETCH_REQ);
	assert_int_equal(io->q_id, 3);
	assert_int_equal(io->tag, 17);
	assert_int_equal(io->result, -5);
	assert_int_equal(io->addr, 0xdead000);
}

static struct ublksrv_io_desc desc(uint8_t op, uint32_t flags, uint64_t sector, uint32_t nr)
{
	return (struct ublksrv_io_desc){
		.op_flags = op | flags, .start_sector = sector, .nr_sectors = nr,
	};
}

#define DEV (1ULL << 30) /* 1 GiB device */
#define BUF (512u << 10)

static void test_decode_read_write(void **state)
{
	struct ublksrv_io_desc d = desc(UBLK_IO_OP_WRITE, UBLK_IO_F_FUA, 8, 16);
	struct ublk_req r;

	(void)state;
	assert_int_equal(ublk_req_decode(&d, DEV, BUF, &r), 0);
	assert_int_equal(r.op, UBLK_IO_OP_WRITE);
	assert_true(r.flags & UBLK_IO_F_FUA);
	assert_int_equal(r.offset, 4096);
	assert_int_equal(r.len, 8192);
	d = desc(UBLK_IO_OP_READ, 0, 0, 1);
	assert_int_equal(ublk_req_decode(&d, DEV, BUF, &r), 0);
	assert_int_equal(r.offset, 0);
	assert_int_equal(r.len, 512);
	assert_int_equal(r.flags, 0);
}

static void test_decode_last_sector_ok(void **state)
{
	struct ublksrv_io_desc d = desc(UBLK_IO_OP_READ, 0, (DEV >> 9) - 8, 8);
	struct ublk_req r;

	(void)state;
	assert_int_equal(ublk_req_decode(&d, DEV, BUF, &r), 0);
	assert_int_equal(r.offset + r.len, DEV);
}

/* Anything reaching past the device must fail, never touch a neighbour. */
static void test_decode_outside_device_is_eio(void **state)
{
	struct ublk_req r;
	struct ublksrv_io_desc cases[] = {
		desc(UBLK_IO_OP_WRITE, 0, (DEV >> 9) - 7, 8), /* straddles the end */
		desc(UBLK_IO_OP_WRITE, 0, DEV >> 9, 1), /* starts at the end */
		desc(UBLK_IO_OP_READ, 0, UINT64_MAX >> 9, 8), /* offset wraps */
		desc(UBLK_IO_OP_READ, 0, UINT64_MAX, 8), /* sector << 9 overflows */
		desc(UBLK_IO_OP_DISCARD, 0, 0, (uint32_t)((DEV >> 9) + 1)),
		desc(UBLK_IO_OP_WRITE_ZEROES, 0, 1ULL << 40, 8),
		desc(UBLK_IO_OP_READ, 0, 0, 0), /* empty */
		desc(UBLK_IO_OP_READ, 0, 0, (BUF >> 9) + 1), /* larger than the buffer */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(ublk_req_decode(&cases[i], DEV, BUF, &r), -EIO);
}

static void test_decode_flush_and_unknown(void **state)
{
	struct ublksrv_io_desc d = desc(UBLK_IO_OP_FLUSH, 0, 12345, 0);
	struct ublk_req r;

	(void)state;
	assert_int_equal(ublk_req_decode(&d, DEV, BUF, &r), 0);
	assert_int_equal(r.len, 0);
	d = desc(UBLK_IO_OP_WRITE_SAME, 0, 0, 8);
	assert_int_equal(ublk_req_decode(&d, DEV, BUF, &r), -EOPNOTSUPP);
	d = desc(0x7f, 0, 0, 8);
	assert_int_equal(ublk_req_decode(&d, DEV, BUF, &r), -EOPNOTSUPP);
	/* discard larger than the data buffer is fine: it carries no data */
	d = desc(UBLK_IO_OP_DISCARD, 0, 0, 1u << 20);
	assert_int_equal(ublk_req_decode(&d, DEV, BUF, &r), 0);
	assert_int_equal(r.len, 512ULL << 20);
}

static void test_desc_mmap_layout(void **state)
{
	(void)state;
	/* 6.1: queue q at q * round_up(4096 * 24, PAGE_SIZE) */
	assert_int_equal(ublk_desc_mmap_offset(0, 4096), 0);
	assert_int_equal(ublk_desc_mmap_offset(1, 4096), 4096 * 24);
	assert_int_equal(ublk_desc_mmap_offset(3, 4096), 3 * 4096 * 24);
	assert_int_equal(ublk_desc_mmap_offset(1, 65536), 131072);
	assert_int_equal(ublk_desc_mmap_len(64, 4096), 4096);
	assert_int_equal(ublk_desc_mmap_len(171, 4096), 8192);
	assert_int_equal(ublk_desc_mmap_len(1, 4096), 4096);
}

static void test_flags_describe(void **state)
{
	char buf[256];

	(void)state;
	assert_string_equal(ublk_flags_describe(0, buf, sizeof(buf)), "");
	assert_string_equal(ublk_flags_describe(UBLK_F_USER_RECOVERY |
						UBLK_F_USER_RECOVERY_REISSUE, buf, sizeof(buf)),
			    "USER_RECOVERY USER_RECOVERY_REISSUE");
	assert_string_equal(ublk_flags_describe(UBLK_F_URING_CMD_COMP_IN_TASK | (1ULL << 42),
						buf, sizeof(buf)),
			    "URING_CMD_COMP_IN_TASK bit42");
	assert_null(ublk_flag_name(63));
}

static void test_op_mapping(void **state)
{
	(void)state;
	assert_int_equal(ublk_backend_op(UBLK_IO_OP_READ), IO_OP_READ);
	assert_int_equal(ublk_backend_op(UBLK_IO_OP_WRITE), IO_OP_WRITE);
	assert_int_equal(ublk_backend_op(UBLK_IO_OP_FLUSH), IO_OP_FLUSH);
	assert_int_equal(ublk_backend_op(UBLK_IO_OP_DISCARD), IO_OP_DISCARD);
	assert_int_equal(ublk_backend_op(UBLK_IO_OP_WRITE_ZEROES), IO_OP_WRITE_ZEROES);
	assert_int_equal(ublk_backend_op(UBLK_IO_OP_WRITE_SAME), -EOPNOTSUPP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctrl_opcode_forms),
		cmocka_unit_test(test_io_opcode_forms),
		cmocka_unit_test(test_prep_ctrl_fills_128_byte_sqe),
		cmocka_unit_test(test_prep_io),
		cmocka_unit_test(test_decode_read_write),
		cmocka_unit_test(test_decode_last_sector_ok),
		cmocka_unit_test(test_decode_outside_device_is_eio),
		cmocka_unit_test(test_decode_flush_and_unknown),
		cmocka_unit_test(test_desc_mmap_layout),
		cmocka_unit_test(test_flags_describe),
		cmocka_unit_test(test_op_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
