/* SPDX-License-Identifier: MIT */
/* NQ handles and their send strategies (see handle.h). */
#include "router/handle.h"

static bool may_send_direct(const struct nq_handle *h, const struct router_req *rq,
			    const struct router_port *caller)
{
	if (!caller || caller != rq->owner || h->kind != NQ_DEFAULT)
		return false;
	return CPU_ISSET(caller->cpu, &h->cpus);
}

/* Queue rq's commands on ring; a failure finishes it at once. */
static void queue_on(struct nq_handle *h, struct router_req *rq, struct io_uring *ring)
{
	int ret;

	atomic_fetch_add_explicit(&h->direct, 1, memory_order_relaxed);
	ret = h->be->ops->queue(h->be, ring, rq->bio, rq->user_data);
	if (ret < 0) {
		/* Nothing of it is on the IOPOLL ring: the owner must not poll for it. */
		if (rq->polled)
			rq->owner->polled--;
		rq->polled = false;
		rq->bio->result = ret;
		router_port_return(rq);
	}
}

/* Pinned: on the owner's own ring; its CQEs come back through the owner's usual path. */
static void send_direct(struct nq_handle *h, struct router_req *rq, struct router_port *caller)
{
	rq->bio->steer = false;
	rq->hopped = false;
	rq->polled = false;
	queue_on(h, rq, caller->ring);
}

/*
 * Steering, by the owner: the command names h's queue. A POLL queue only
 * completes what is polled, so data commands for it go on the owner's
 * IOPOLL ring (plain buffers: the registered ones belong to the other
 * ring). Commands without data cannot be polled (the kernel refuses them
 * with -EINVAL): the scheduler gives them a DEFAULT NQ of their group, so
 * they only meet a POLL one where the group has no DEFAULT NQ (a backend
 * with a single one, which L holds); then they go unsteered, to the
 * owner's CPU's DEFAULT queue, as on a stock kernel.
 */
static void send_steered(struct nq_handle *h, struct router_req *rq, struct router_port *owner)
{
	struct backend_io *bio = rq->bio;
	bool poll = h->kind == NQ_POLL;
	bool polled = poll && io_op_moves_data(bio->op) && owner->poll_ring;

	bio->steer = !poll || polled;
	bio->hw_queue = h->hctx;
	rq->hopped = false;
	rq->polled = polled;
	if (polled) {
		bio->buf_index = -1;
		router_port_poll_sent(owner, rq->sr.submit_ns);
	}
	queue_on(h, rq, polled ? owner->poll_ring : owner->ring);
}

void nq_handle_send(struct nq_handle *h, struct router_req *rq, struct router_port *caller)
{
	rq->via = h;
	if (h->route == NQ_ROUTE_QID) {
		/* Only the owner's rings see the owner's completions: no submitter needed. */
		if (caller == rq->owner)
			send_steered(h, rq, caller);
		else
			router_port_send(rq);
		return;
	}
	if (may_send_direct(h, rq, caller))
		send_direct(h, rq, caller);
	else
		submitter_push(h->sub, rq);
}

const char *nq_route_name(enum nq_route r)
{
	return r == NQ_ROUTE_QID ? "queue steering" : "pinned submitters";
}
