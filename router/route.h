/* SPDX-License-Identifier: MIT */
/*
 * A route: how a tenant's requests reach its backend, one interface for
 * every backend, so that a worker sends and finishes every request the
 * same way.
 *
 * - the direct route (file and null backends, and a passthrough backend
 *   without a router): the backend's queue() on the worker's own ring;
 * - the static route (a router in `static` mode): the same, counted on
 *   the worker's CPU's NQ (router_static_sent()), with no scheduler step
 *   and no lock;
 * - the scheduled route (a router in `daredevil` mode, router.h): the
 *   scheduler picks the NVMe queue and when; router_submit_at() and
 *   router_done_at().
 *
 * A request travels as a struct router_req (req.h) whatever its route;
 * the route stamps what the statistics need in it: sr.submit_ns (when it
 * went to the device) and sr.nq (the NQ it went to, -1: none).
 *
 *   route_req_init(&io->rr, &io->bio, user_data, port);
 *   if (q->route.ops->submit(&q->route, &io->rr, port, now) == ROUTE_DONE)
 *           ...finished at once (bio->result says how)...
 *   ...its CQEs on the port's rings, or handed back through the port...
 *   q->route.ops->done(&q->route, &io->rr, port, now);  before the commit
 */
#ifndef DDUBLK_ROUTER_ROUTE_H
#define DDUBLK_ROUTER_ROUTE_H

#include <stdint.h>

#include "backend/backend.h"
#include "router/req.h"
#include "router/router.h"

/* submit(): the request finished without reaching the device (null backend, or failed). */
#define ROUTE_DONE 1

struct route;

struct route_ops {
	/*
	 * rq goes to the backend at now, from its owner port. 0: its
	 * completion comes on port's rings or through port; ROUTE_DONE: it
	 * is finished already (rq->bio->result and done say how).
	 */
	int (*submit)(struct route *r, struct router_req *rq, struct router_port *port,
		      uint64_t now);
	/* rq's backend work is over at now: account it, send what that lets go. */
	void (*done)(struct route *r, struct router_req *rq, struct router_port *port,
		     uint64_t now);
};

struct route {
	const struct route_ops *ops;
	struct backend *be;
	struct router *router; /* scheduled route */
	unsigned tenant; /* the tenant's id in the router */
};

/* The direct route to be, or with a router the static or scheduled one for tenant. */
void route_init(struct route *r, struct backend *be, struct router *router, unsigned tenant);

/* rq for bio, owned by port; user_data is what port's rings carry for its commands. */
void route_req_init(struct router_req *rq, struct backend_io *bio, uint64_t user_data,
		    struct router_port *port);

#endif
