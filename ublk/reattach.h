/* SPDX-License-Identifier: MIT */
/*
 * Whether a device left by a daemon that died can be taken over (ublk user
 * recovery) or has to be replaced: pure logic over what GET_DEV_INFO and
 * GET_PARAMS report and what the tenant table records, so that it can be
 * unit tested without a kernel.
 */
#ifndef DDUBLK_UBLK_REATTACH_H
#define DDUBLK_UBLK_REATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ublk/uapi.h"

enum ublk_reattach {
	UBLK_REATTACH_NONE, /* no such device: create one */
	UBLK_REATTACH_WAIT, /* still LIVE: the kernel has not noticed the death yet */
	UBLK_REATTACH_GO, /* QUIESCED and what the record says: recover it */
	UBLK_REATTACH_REPLACE, /* there, but not ours to recover: delete, create */
	UBLK_REATTACH_BUSY, /* LIVE, its server still running: never touch it */
};

/* What the tenant table says the device should be. */
struct ublk_reattach_want {
	bool recovery; /* the tenant asks for user recovery */
	unsigned queues;
	unsigned depth;
	uint64_t size; /* bytes */
	uint32_t block_size; /* the backend's logical block size */
	/*
	 * What the caller found of the device's server (info->ublksrv_pid):
	 * a process that is still running (kill(pid, 0) succeeds).
	 */
	bool server_alive;
};

/*
 * info_ret: GET_DEV_INFO's result (-ENODEV: no device); params: NULL if
 * GET_PARAMS failed. For REPLACE, WAIT and BUSY why says, for the
 * operator, what is in the way. A LIVE device whose server is alive is
 * BUSY whatever else is wrong with it: deleting it would pull it from
 * under a running process (another ddublkd, a stopped one).
 */
enum ublk_reattach ublk_reattach_decide(const struct ublk_reattach_want *want, int info_ret,
					const struct ublksrv_ctrl_dev_info *info,
					const struct ublk_params *params, char *why, size_t len);

const char *ublk_state_name(uint16_t state);

#endif
