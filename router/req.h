/* SPDX-License-Identifier: MIT */
/*
 * What travels through the router: a request (struct router_req, embedded
 * in the worker's per-tag state) and the worker it belongs to (struct
 * router_port).
 *
 * A request is owned by the worker whose ublk queue received it: only that
 * worker may commit it to ublk. On a stock kernel it may be submitted
 * elsewhere (a submitter pinned to the chosen NQ's CPU), and comes back to
 * its owner's port when its backend work is over. With queue steering
 * (the kernel series) only the owner ever submits it: a request another
 * thread lets go travels to the owner's port to be sent from there.
 */
#ifndef DDUBLK_ROUTER_REQ_H
#define DDUBLK_ROUTER_REQ_H

#include <liburing.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "router/inbox.h"
#include "sched/sched.h"

struct router_port;
struct nq_handle;

struct router_req {
	struct sched_req sr; /* filled by the owner (tenant, cpu, op, flags, bytes) */
	struct backend_io *bio; /* the work; bio->result says how it went */
	uint64_t user_data; /* what the owner's ring carries for it (direct submission) */
	struct router_port *owner;
	struct inbox_link link; /* in a submitter's inbox, then in the owner's */
	struct nq_handle *via; /* the NQ it was last sent to (resent there after -EAGAIN) */
	bool hopped; /* submitted by a submitter, not on the owner's ring */
	bool polled; /* steered: on the owner's IOPOLL ring (port->poll_ring) */
};

/* A worker as the router sees it. */
struct router_port {
	struct inbox done; /* finished requests handed back by submitters */
	struct inbox send; /* steering: requests others let go, for the owner to send */
	int wake_fd; /* eventfd the worker's ring watches */
	unsigned cpu; /* the CPU the worker is pinned to */
	struct io_uring *ring; /* the worker's ring, for direct submission */
	/*
	 * Steering: an IOPOLL ring for commands steered to POLL queues (their
	 * completions only arrive when polled; NULL: none), and how many
	 * requests are on it -- the worker polls while that is not 0. Owner only.
	 */
	struct io_uring *poll_ring;
	unsigned polled;
	/*
	 * Hybrid polling (scheduler.poll = auto): instead of spinning on the
	 * IOPOLL ring, sleep until half the polled commands' mean time to
	 * completion has passed, and after a poll that found nothing for an
	 * eighth of it; never more than 1 ms before a poll. hybrid is the
	 * control thread's to set; the rest is the owner's.
	 */
	_Atomic bool hybrid;
	uint64_t poll_mean_ns; /* polled commands, sent -> completed, moving average */
	uint64_t poll_next_ns; /* hybrid: the next poll is worth it from then on */
	/* Steering: requests whose queue had no free tag, to send again. Owner only. */
	struct router_req *again;
	uint64_t again_count; /* how often that happened */
};

/* A request parked for want of a tag goes again after this at the latest. */
#define ROUTER_PORT_RESEND_NS 100000ULL

static inline void router_port_init(struct router_port *p, int wake_fd, unsigned cpu,
				    struct io_uring *ring)
{
	inbox_init(&p->done);
	inbox_init(&p->send);
	p->wake_fd = wake_fd;
	p->cpu = cpu;
	p->ring = ring;
	p->poll_ring = NULL;
	p->polled = 0;
	atomic_init(&p->hybrid, false);
	p->poll_mean_ns = 0;
	p->poll_next_ns = 0;
	p->again = NULL;
	p->again_count = 0;
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

/* Steering: have rq's owner send rq (to rq->via) from its own rings. Any thread. */
void router_port_send(struct router_req *rq);
/* The owner's side: the requests to send, oldest first (NULL: none). */
struct router_req *router_port_take_send(struct router_port *p);
/* The owner's side: send the requests others let go for it (router_port_send). */
void router_port_send_taken(struct router_port *p);

/*
 * The owner's side: the backend's complete() said ret (not 0) for rq, at
 * now. Accounts the IOPOLL ring; true when rq was steered to a queue out of
 * tags (BACKEND_AGAIN) and is parked, to go again to the same queue with
 * router_port_resend(); false when its backend work is over.
 */
bool router_port_completed(struct router_port *p, struct router_req *rq, int ret, uint64_t now);
/* The owner's side: send every parked request again. */
void router_port_resend(struct router_port *p);

/* Requests parked for want of a tag: call router_port_resend() within ROUTER_PORT_RESEND_NS. */
static inline bool router_port_parked(const struct router_port *p)
{
	return p->again != NULL;
}

/* Commands on the IOPOLL ring: the owner must poll it (hybrid: at router_port_poll_wait()). */
static inline bool router_port_polling(const struct router_port *p)
{
	return p->polled != 0;
}

/* Hybrid polling on or off (any thread; the owner sees it at its next poll). */
void router_port_set_hybrid(struct router_port *p, bool on);
static inline bool router_port_hybrid(const struct router_port *p)
{
	return atomic_load_explicit(&p->hybrid, memory_order_relaxed);
}
/* A data command went on the IOPOLL ring at sent_ns (send_steered()). */
void router_port_poll_sent(struct router_port *p, uint64_t sent_ns);
/* How long the owner may sleep before polling (0: poll now; always 0 without hybrid). */
uint64_t router_port_poll_wait(const struct router_port *p, uint64_t now);
/* A poll at now found nothing: hybrid sleeps an eighth of the mean before the next. */
void router_port_poll_missed(struct router_port *p, uint64_t now);

#endif
