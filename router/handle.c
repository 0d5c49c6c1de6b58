/* SPDX-License-Identifier: MIT */
/* NQ handles and their send strategies (see handle.h). */
#include "router/handle.h"

static bool may_send_direct(const struct nq_handle *h, const struct router_req *rq,
			    const struct router_port *caller)
{
	if (!caller || caller != rq->owner || h->kind != NQ_DEFAULT)
		return false;
	return h->route == NQ_ROUTE_QID || CPU_ISSET(caller->cpu, &h->cpus);
}

/* On the owner's own ring: its CQEs come back through the owner's usual path. */
static void send_direct(struct nq_handle *h, struct router_req *rq, struct router_port *caller)
{
	struct backend_io *bio = rq->bio;
	int ret;

	bio->steer = h->route == NQ_ROUTE_QID;
	bio->hw_queue = h->hctx;
	rq->hopped = false;
	atomic_fetch_add_explicit(&h->direct, 1, memory_order_relaxed);
	ret = h->be->ops->queue(h->be, caller->ring, bio, rq->user_data);
	if (ret < 0) {
		bio->result = ret;
		router_port_return(rq);
	}
}

void nq_handle_send(struct nq_handle *h, struct router_req *rq, struct router_port *caller)
{
	if (may_send_direct(h, rq, caller))
		send_direct(h, rq, caller);
	else
		submitter_push(h->sub, rq);
}

const char *nq_route_name(enum nq_route r)
{
	return r == NQ_ROUTE_QID ? "queue id in the command" : "pinned submitters";
}
