/* SPDX-License-Identifier: MIT */
/*
 * Does the kernel let a passthrough command name its hardware queue?
 * (NVME_URING_CMD_IO_QID, the patch series of issue 6.) One block is read
 * with it on a private ring: a stock kernel answers -ENOTTY.
 */
#ifndef DDUBLK_ROUTER_QID_H
#define DDUBLK_ROUTER_QID_H

#include <stdbool.h>

#include "backend/backend.h"

/* true if be's kernel took a command steered to hardware queue hctx. */
bool qid_supported(struct backend *be, unsigned hctx);

#endif
