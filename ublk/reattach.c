/* SPDX-License-Identifier: MIT */
#include "ublk/reattach.h"
#include "common/bits.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *ublk_state_name(uint16_t state)
{
	switch (state) {
	case UBLK_S_DEV_DEAD: return "DEAD";
	case UBLK_S_DEV_LIVE: return "LIVE";
	case UBLK_S_DEV_QUIESCED: return "QUIESCED";
	default: return "unknown";
	}
}

/* The device's shape differs from the record: describe how, return true. */
static bool shape_differs(const struct ublk_reattach_want *want,
			  const struct ublksrv_ctrl_dev_info *info,
			  const struct ublk_params *params, char *why, size_t len)
{
	if (info->nr_hw_queues != want->queues || info->queue_depth != want->depth) {
		snprintf(why, len, "it has %u queue(s) x depth %u, the tenant table %u x %u",
			 info->nr_hw_queues, info->queue_depth, want->queues, want->depth);
		return true;
	}
	if (!params || !(params->types & UBLK_PARAM_TYPE_BASIC)) {
		snprintf(why, len, "its parameters cannot be read");
		return true;
	}
	if ((uint64_t)params->basic.dev_sectors << 9 != want->size) {
		snprintf(why, len, "it has %llu bytes, the tenant table %llu",
			 (unsigned long long)params->basic.dev_sectors << 9,
			 (unsigned long long)want->size);
		return true;
	}
	if (params->basic.logical_bs_shift != ilog2_u32(want->block_size)) {
		snprintf(why, len, "its logical block is %u bytes, the backend's %u",
			 1u << params->basic.logical_bs_shift, want->block_size);
		return true;
	}
	return false;
}

enum ublk_reattach ublk_reattach_decide(const struct ublk_reattach_want *want, int info_ret,
					const struct ublksrv_ctrl_dev_info *info,
					const struct ublk_params *params, char *why, size_t len)
{
	snprintf(why, len, "%s", "");
	if (info_ret == -ENODEV)
		return UBLK_REATTACH_NONE;
	if (info_ret < 0) {
		snprintf(why, len, "GET_DEV_INFO: %s", strerror(-info_ret));
		return UBLK_REATTACH_REPLACE;
	}
	if (info->state == UBLK_S_DEV_LIVE && want->server_alive) {
		snprintf(why, len, "LIVE, served by pid %d, which is still running",
			 info->ublksrv_pid);
		return UBLK_REATTACH_BUSY;
	}
	if (!want->recovery) {
		snprintf(why, len, "the tenant has recovery off");
		return UBLK_REATTACH_REPLACE;
	}
	if (!(info->flags & UBLK_F_USER_RECOVERY)) {
		snprintf(why, len, "it was created without user recovery");
		return UBLK_REATTACH_REPLACE;
	}
	if (shape_differs(want, info, params, why, len))
		return UBLK_REATTACH_REPLACE;
	switch (info->state) {
	case UBLK_S_DEV_QUIESCED:
		return UBLK_REATTACH_GO;
	case UBLK_S_DEV_LIVE:
		/* Its server is gone: the kernel quiesces it within seconds. */
		snprintf(why, len, "still LIVE (served by pid %d, which has exited)",
			 info->ublksrv_pid);
		return UBLK_REATTACH_WAIT;
	default:
		snprintf(why, len, "it is %s, not QUIESCED", ublk_state_name(info->state));
		return UBLK_REATTACH_REPLACE;
	}
}
