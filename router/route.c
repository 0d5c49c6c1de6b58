/* SPDX-License-Identifier: MIT */
/* The direct and the scheduled route (see route.h). */
#include "router/route.h"

/* Straight to the backend on the worker's own ring. */
static int direct_submit(struct route *r, struct router_req *rq, struct router_port *port,
			 uint64_t now)
{
	int ret;

	rq->sr.submit_ns = now;
	ret = r->be->ops->queue(r->be, port->ring, rq->bio, rq->user_data);
	if (ret < 0)
		rq->bio->result = ret;
	return ret < 0 || ret == BACKEND_DONE ? ROUTE_DONE : 0;
}

static void direct_done(struct route *r, struct router_req *rq, struct router_port *port,
			uint64_t now)
{
	(void)r;
	(void)rq;
	(void)port;
	(void)now;
}

static const struct route_ops direct_ops = {
	.submit = direct_submit,
	.done = direct_done,
};

/*
 * Static mode: no scheduler step and no lock. Unsteered, the kernel puts
 * the command on the worker's CPU's queue, the NQ the static scheduler
 * would have picked; a full queue waits in the kernel (io-wq, pinned to
 * the worker's CPU), as under stock blk-mq. Only the NQ's counters move.
 */
static int static_submit(struct route *r, struct router_req *rq, struct router_port *port,
			 uint64_t now)
{
	int nq = router_static_nq(r->router, port->cpu);
	const struct backend_io *bio = rq->bio;

	rq->sr.nq = nq;
	router_static_sent(r->router, (unsigned)nq, io_op_moves_data(bio->op) ? bio->len : 0);
	return direct_submit(r, rq, port, now);
}

static void static_done(struct route *r, struct router_req *rq, struct router_port *port,
			uint64_t now)
{
	(void)port;
	(void)now;
	router_static_done(r->router, (unsigned)rq->sr.nq);
}

static const struct route_ops static_ops = {
	.submit = static_submit,
	.done = static_done,
};

/* The scheduler stamps sr.submit_ns and sr.nq when it lets rq go. */
static int scheduled_submit(struct route *r, struct router_req *rq, struct router_port *port,
			    uint64_t now)
{
	router_req_init(rq, r->tenant, rq->bio, rq->user_data, port);
	router_submit_at(r->router, rq, port, now);
	return 0; /* even a failure comes back through the port */
}

/* May send requests the scheduler held. */
static void scheduled_done(struct route *r, struct router_req *rq, struct router_port *port,
			   uint64_t now)
{
	router_done_at(r->router, rq, port, now);
}

static const struct route_ops scheduled_ops = {
	.submit = scheduled_submit,
	.done = scheduled_done,
};

void route_init(struct route *r, struct backend *be, struct router *router, unsigned tenant)
{
	const struct route_ops *ops = &direct_ops;

	if (router)
		ops = router_mode(router) == CONF_SCHED_STATIC ? &static_ops : &scheduled_ops;
	*r = (struct route){
		.ops = ops,
		.be = be,
		.router = router,
		.tenant = tenant,
	};
}

void route_req_init(struct router_req *rq, struct backend_io *bio, uint64_t user_data,
		    struct router_port *port)
{
	*rq = (struct router_req){
		.sr = { .nq = -1 },
		.bio = bio,
		.user_data = user_data,
		.owner = port,
	};
}
