/* SPDX-License-Identifier: MIT */
/* Re-attach or replace a device left by a dead daemon (ublk/reattach.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ublk/reattach.h"

struct fixture {
	struct ublk_reattach_want want;
	struct ublksrv_ctrl_dev_info info;
	struct ublk_params params;
	char why[256];
};

static struct fixture matching(void)
{
	struct fixture f = {
		.want = { .recovery = true, .queues = 2, .depth = 64, .size = 256 << 20,
			  .block_size = 512 },
		.info = { .nr_hw_queues = 2, .queue_depth = 64, .state = UBLK_S_DEV_QUIESCED,
			  .flags = UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE,
			  .ublksrv_pid = 1234, .dev_id = 3 },
	};

	f.params.types = UBLK_PARAM_TYPE_BASIC;
	f.params.basic.dev_sectors = (256 << 20) >> 9;
	f.params.basic.logical_bs_shift = 9;
	return f;
}

static enum ublk_reattach decide(struct fixture *f, int info_ret, bool have_params)
{
	return ublk_reattach_decide(&f->want, info_ret, &f->info,
				    have_params ? &f->params : NULL, f->why, sizeof(f->why));
}

static void test_quiesced_matching_device_is_recovered(void **state)
{
	struct fixture f = matching();

	(void)state;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_GO);
}

static void test_no_device_means_create(void **state)
{
	struct fixture f = matching();

	(void)state;
	assert_int_equal(decide(&f, -ENODEV, false), UBLK_REATTACH_NONE);
}

static void test_live_device_is_waited_for(void **state)
{
	struct fixture f = matching();

	(void)state;
	f.info.state = UBLK_S_DEV_LIVE;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_WAIT);
	assert_non_null(strstr(f.why, "1234"));
}

static void test_dead_device_is_replaced(void **state)
{
	struct fixture f = matching();

	(void)state;
	f.info.state = UBLK_S_DEV_DEAD;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_REPLACE);
	assert_non_null(strstr(f.why, "DEAD"));
}

static void test_recovery_off_is_replaced_even_if_quiesced(void **state)
{
	struct fixture f = matching();

	(void)state;
	f.want.recovery = false;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_REPLACE);
	assert_non_null(strstr(f.why, "recovery off"));
}

static void test_device_without_recovery_flag_is_replaced(void **state)
{
	struct fixture f = matching();

	(void)state;
	f.info.flags = 0;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_REPLACE);
	assert_non_null(strstr(f.why, "without user recovery"));
}

static void test_other_shape_is_replaced(void **state)
{
	struct fixture f = matching();

	(void)state;
	f.info.queue_depth = 128;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_REPLACE);
	assert_non_null(strstr(f.why, "depth 128"));
	f = matching();
	f.info.nr_hw_queues = 1;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_REPLACE);
}

static void test_other_size_is_replaced(void **state)
{
	struct fixture f = matching();

	(void)state;
	f.params.basic.dev_sectors++;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_REPLACE);
	assert_non_null(strstr(f.why, "bytes"));
}

static void test_other_block_size_is_replaced(void **state)
{
	struct fixture f = matching();

	(void)state;
	f.want.block_size = 4096;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_REPLACE);
	assert_non_null(strstr(f.why, "logical block"));
}

static void test_unreadable_params_are_replaced(void **state)
{
	struct fixture f = matching();

	(void)state;
	assert_int_equal(decide(&f, 0, false), UBLK_REATTACH_REPLACE);
	f.params.types = 0;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_REPLACE);
}

static void test_info_error_is_replaced(void **state)
{
	struct fixture f = matching();

	(void)state;
	assert_int_equal(decide(&f, -ETIMEDOUT, false), UBLK_REATTACH_REPLACE);
	assert_non_null(strstr(f.why, "GET_DEV_INFO"));
}

/*
 * A device LIVE under a server that still runs belongs to that process:
 * whatever the table says of it, it is never stopped or deleted.
 */
static void test_live_device_of_running_server_is_left_alone(void **state)
{
	struct fixture f = matching();

	(void)state;
	f.info.state = UBLK_S_DEV_LIVE;
	f.want.server_alive = true;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_BUSY);
	assert_non_null(strstr(f.why, "pid 1234"));
	assert_non_null(strstr(f.why, "still running"));
	/* recovery off: a new daemon would replace it; not while it is served */
	f.want.recovery = false;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_BUSY);
	f = matching();
	f.info.state = UBLK_S_DEV_LIVE;
	f.want.server_alive = true;
	f.info.flags = 0;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_BUSY);
	f = matching();
	f.info.state = UBLK_S_DEV_LIVE;
	f.want.server_alive = true;
	f.info.queue_depth = 128;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_BUSY);
	assert_int_equal(decide(&f, 0, false), UBLK_REATTACH_BUSY);
}

/* Its server gone, a LIVE device is what a crash left: the usual rules. */
static void test_live_device_of_dead_server(void **state)
{
	struct fixture f = matching();

	(void)state;
	f.info.state = UBLK_S_DEV_LIVE;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_WAIT);
	f.want.recovery = false;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_REPLACE);
	/* not LIVE: no process serves it, whatever runs under that pid now */
	f = matching();
	f.want.server_alive = true;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_GO);
	f.info.state = UBLK_S_DEV_DEAD;
	assert_int_equal(decide(&f, 0, true), UBLK_REATTACH_REPLACE);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(ublk_state_name(UBLK_S_DEV_QUIESCED), "QUIESCED");
	assert_string_equal(ublk_state_name(UBLK_S_DEV_LIVE), "LIVE");
	assert_string_equal(ublk_state_name(UBLK_S_DEV_DEAD), "DEAD");
	assert_string_equal(ublk_state_name(77), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiesced_matching_device_is_recovered),
		cmocka_unit_test(test_no_device_means_create),
		cmocka_unit_test(test_live_device_is_waited_for),
		cmocka_unit_test(test_dead_device_is_replaced),
		cmocka_unit_test(test_recovery_off_is_replaced_even_if_quiesced),
		cmocka_unit_test(test_device_without_recovery_flag_is_replaced),
		cmocka_unit_test(test_other_shape_is_replaced),
		cmocka_unit_test(test_other_size_is_replaced),
		cmocka_unit_test(test_other_block_size_is_replaced),
		cmocka_unit_test(test_unreadable_params_are_replaced),
		cmocka_unit_test(test_info_error_is_replaced),
		cmocka_unit_test(test_live_device_of_running_server_is_left_alone),
		cmocka_unit_test(test_live_device_of_dead_server),
		cmocka_unit_test(test_state_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
