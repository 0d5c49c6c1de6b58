/* SPDX-License-Identifier: MIT */
/*
 * A submitter: the thread that puts commands on one NQ for everyone else.
 *
 * On a stock kernel a passthrough command lands on the hardware queue of
 * the CPU that submits it (docs/ARCHITECTURE.md section 5), so every reachable NQ
 * gets a thread pinned to one of its CPUs, with its own ring:
 * - DEFAULT NQ: SQE128|CQE32, interrupt completions; the thread sleeps in
 *   io_uring_enter with an eventfd read armed for new work;
 * - POLL NQ: IOPOLL|SQE128|CQE32. Its completions arrive only when the
 *   ring is polled, so while commands are in flight the thread polls
 *   (yielding the CPU between empty passes); with none in flight it
 *   sleeps on its eventfd.
 * io-wq is pinned to the same CPU: a command the kernel punts (no tag at
 * the moment) still lands on the same queue.
 *
 * Work arrives in a lock-free inbox. The backend's queue and complete
 * methods run here, so a request split into several commands keeps all of
 * them on this NQ. A finished request goes back to its owner's port.
 */
#ifndef DDUBLK_ROUTER_SUBMITTER_H
#define DDUBLK_ROUTER_SUBMITTER_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "router/req.h"
#include "sched/nq.h"

struct submitter;

/*
 * Start the submitter of hardware queue hctx: a thread pinned to cpu, which
 * blk-mq maps to hctx (the stock-kernel route; with queue steering the
 * workers name the queue themselves and need no submitter). NULL with err
 * set on failure.
 */
struct submitter *submitter_start(struct backend *be, unsigned hctx, enum nq_kind kind, int cpu,
				  char *err, size_t errlen);
/* Stop and free it; every request handed to it must have come back. NULL is fine. */
void submitter_stop(struct submitter *s);
/* Queue rq (its NQ chosen) for submission. Any thread. */
void submitter_push(struct submitter *s, struct router_req *rq);
/* Requests it has submitted so far (0 for NULL). */
uint64_t submitter_count(const struct submitter *s);

#endif
