/* SPDX-License-Identifier: MIT */
/*
 * backend/nvme/nvme_qid.h: the queue-steering cmd_ops have the values the kernel
 * patch (patches/linux-6.1/0005) gives them, and the hardware queue goes
 * into the last word of struct nvme_uring_cmd and nowhere else. Included
 * after <libnvme.h>, as the daemon does.
 */
#include <libnvme.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "backend/nvme/nvme_qid.h"

static void test_cmd_op_values(void **state)
{
	(void)state;
	/* _IOWR('N', 0xf0 / 0xf1, struct nvme_uring_cmd): dir 3, size 72. */
	assert_int_equal(NVME_URING_CMD_IO_QID, 0xc0484ef0u);
	assert_int_equal(NVME_URING_CMD_IO_VEC_QID, 0xc0484ef1u);
	assert_int_not_equal(NVME_URING_CMD_IO_QID, NVME_URING_CMD_IO);
	assert_int_not_equal(NVME_URING_CMD_IO_VEC_QID, NVME_URING_CMD_IO_VEC);
}

static void test_hw_queue_word(void **state)
{
	struct nvme_uring_cmd cmd, ref;
	const unsigned char *p = (const unsigned char *)&cmd, *r = (const unsigned char *)&ref;
	uint32_t v;
	size_t i;

	(void)state;
	memset(&cmd, 0x5a, sizeof(cmd));
	memcpy(&ref, &cmd, sizeof(cmd));
	nvme_uring_cmd_set_hw_queue(&cmd, 0x01020304u);
	assert_int_equal(nvme_uring_cmd_hw_queue(&cmd), 0x01020304u);
	memcpy(&v, p + 68, sizeof(v));
	assert_int_equal(v, 0x01020304u);
	for (i = 0; i < sizeof(cmd); i++)
		if (i < 68)
			assert_int_equal(p[i], r[i]);
	/* The other fields of the command stay where NVME_URING_CMD_IO has them. */
	assert_int_equal(offsetof(struct nvme_uring_cmd, timeout_ms), 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmd_op_values),
		cmocka_unit_test(test_hw_queue_word),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
