/* SPDX-License-Identifier: MIT */
/*
 * NQ handles: whatever guarantees that a command lands on one particular
 * NVMe queue. The scheduler picks an NQ; its handle's send strategy gets
 * the request there.
 *
 * - NQ_ROUTE_PINNED (stock kernels): the command lands on the hctx of the
 *   submitting CPU. The owner worker submits on its own ring when it runs
 *   on one of the NQ's CPUs and the NQ is a DEFAULT one (worker rings are
 *   not IOPOLL); everything else goes to the NQ's pinned submitter.
 * - NQ_ROUTE_QID (kernels with the patch series, patches/linux-6.1): the
 *   command names its queue (NVME_URING_CMD_IO_QID, backend/nvme/nvme_qid.h), so
 *   the owner submits every request itself, from any CPU: DEFAULT NQs on
 *   its ring, POLL NQs on its IOPOLL ring (port->poll_ring), which it polls
 *   while they have commands. A request another thread lets go goes to the
 *   owner's port to be sent from there. There are no submitter threads,
 *   and every queue with tags is reachable, even those no CPU maps to.
 * With pinned submitters a request whose owner is not the caller goes
 * through the submitter: only the owner's ring may see the owner's
 * completions.
 */
#ifndef DDUBLK_ROUTER_HANDLE_H
#define DDUBLK_ROUTER_HANDLE_H

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "backend/backend.h"
#include "router/req.h"
#include "router/submitter.h"
#include "sched/nq.h"

enum nq_route {
	NQ_ROUTE_PINNED = 0,
	NQ_ROUTE_QID,
};

struct nq_handle {
	unsigned hctx; /* block-layer hardware queue; NVMe qid hctx + 1 */
	enum nq_kind kind;
	cpu_set_t cpus; /* blk-mq's map of it */
	int cpu; /* its submitter's */
	enum nq_route route;
	struct submitter *sub; /* NQ_ROUTE_PINNED only */
	struct backend *be;
	_Atomic uint64_t direct; /* requests sent on their owner's ring(s) */
};

/*
 * Send rq (sched chose this NQ) on its way. caller: the worker calling,
 * NULL for any other thread. A request that cannot be queued finishes at
 * once with bio->result set, back through its owner's port.
 */
void nq_handle_send(struct nq_handle *h, struct router_req *rq, struct router_port *caller);

const char *nq_route_name(enum nq_route r);

#endif
