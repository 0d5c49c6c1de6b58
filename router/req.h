/* SPDX-License-Identifier: MIT */
/*
 * What travels through the router: a request (struct router_req, embedded
 * in the worker's per-tag state) and the worker it belongs to (struct
 * router_port).
 *
 * A request is owned by the worker whose ublk queue received it: only that
 * worker may commit it to ublk. It may be submitted elsewhere (a
 * submitter pinned to the chosen NQ's CPU), and comes back to its owner's
 * port when its backend work is over.
 */
#ifndef DDUBLK_ROUTER_REQ_H
#define DDUBLK_ROUTER_REQ_H

#include <liburing.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nvme/backend.h"
#include "router/inbox.h"
#include "sched/sched.h"

struct router_port;

struct router_req {
	struct sched_req sr; /* filled by the owner (tenant, cpu, op, flags, bytes) */
	struct backend_io *bio; /* the work; bio->result says how it went */
	uint64_t user_data; /* what the owner's ring carries for it (direct submission) */
	struct router_port *owner;
	struct inbox_link link; /* in a submitter's inbox, then in the owner's */
	bool hopped; /* submitted by a submitter, not on the owner's ring */
};

/* A worker as the router sees it. */
struct router_port {
	struct inbox done; /* finished requests handed back by submitters */
	int wake_fd; /* eventfd the worker's ring watches */
	unsigned cpu; /* the CPU the worker is pinned to */
	struct io_uring *ring; /* the worker's ring, for direct submission */
};

static inline void router_port_init(struct router_port *p, int wake_fd, unsigned cpu,
				    struct io_uring *ring)
{
	inbox_init(&p->done);
	p->wake_fd = wake_fd;
	p->cpu = cpu;
	p->ring = ring;
}

/* The owner's side: the finished requests handed back, oldest first (NULL: none). */
struct router_req *router_port_take(struct router_port *p);
static inline struct router_req *router_req_of(struct inbox_link *l)
{
	return l ? (struct router_req *)((char *)l - offsetof(struct router_req, link)) : NULL;
}

/* The next of a list router_port_take() returned. */
static inline struct router_req *router_req_next(const struct router_req *rq)
{
	return router_req_of(rq->link.next);
}

/* Hand rq back to its owner and wake the owner if needed. Any thread. */
void router_port_return(struct router_req *rq);

#endif
