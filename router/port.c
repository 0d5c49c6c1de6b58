/* SPDX-License-Identifier: MIT */
/*
 * A worker's port (see req.h): finished requests handed back to it,
 * requests others let go for it to send, and -- steering -- its polled
 * commands and the requests parked for want of a tag.
 */
#include "router/req.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "router/handle.h"

struct router_req *router_port_take(struct router_port *p)
{
	return router_req_of(inbox_take(&p->done));
}

struct router_req *router_port_take_send(struct router_port *p)
{
	return router_req_of(inbox_take(&p->send));
}

/* Only the push that makes an inbox non-empty wakes: the worker takes all of it. */
static void push_and_wake(struct router_port *p, struct inbox *in, struct router_req *rq)
{
	uint64_t one = 1;

	if (inbox_push(in, &rq->link) && write(p->wake_fd, &one, sizeof(one)) < 0)
		log_err("router: cannot wake the worker on CPU %u: %s", p->cpu, strerror(errno));
}

void router_port_return(struct router_req *rq)
{
	push_and_wake(rq->owner, &rq->owner->done, rq);
}

void router_port_send(struct router_req *rq)
{
	push_and_wake(rq->owner, &rq->owner->send, rq);
}

/* Send each request of the list rq to the queue it was steered to. */
static void send_list(struct router_port *p, struct router_req *rq)
{
	while (rq) {
		struct router_req *next = router_req_next(rq);

		nq_handle_send(rq->via, rq, p);
		rq = next;
	}
}

void router_port_send_taken(struct router_port *p)
{
	send_list(p, router_port_take_send(p));
}

/* Sleeps between polls: no shorter than a poll's own cost, no longer than a timer tick. */
#define POLL_NAP_MIN_NS 2000ULL
#define POLL_NAP_MAX_NS 1000000ULL

static uint64_t at_most_nap(uint64_t ns)
{
	return ns < POLL_NAP_MAX_NS ? ns : POLL_NAP_MAX_NS;
}

static uint64_t clamp_nap(uint64_t ns)
{
	return ns < POLL_NAP_MIN_NS ? POLL_NAP_MIN_NS : at_most_nap(ns);
}

void router_port_set_hybrid(struct router_port *p, bool on)
{
	atomic_store_explicit(&p->hybrid, on, memory_order_relaxed);
}

void router_port_poll_sent(struct router_port *p, uint64_t sent_ns)
{
	/* The first on the ring: nothing can complete before about half the mean. */
	if (p->polled++ == 0)
		p->poll_next_ns = sent_ns + at_most_nap(p->poll_mean_ns / 2);
}

uint64_t router_port_poll_wait(const struct router_port *p, uint64_t now)
{
	if (!router_port_hybrid(p) || now >= p->poll_next_ns)
		return 0;
	return at_most_nap(p->poll_next_ns - now);
}

void router_port_poll_missed(struct router_port *p, uint64_t now)
{
	p->poll_next_ns = now + clamp_nap(p->poll_mean_ns / 8);
}

/*
 * A polled command's time to completion: a moving average over about 8,
 * a sample counting for at most 4x the mean (one stall must not make the
 * next commands wait for a poll).
 */
static void poll_learn(struct router_port *p, const struct router_req *rq, uint64_t now)
{
	uint64_t took = now > rq->sr.submit_ns ? now - rq->sr.submit_ns : 0;

	if (p->poll_mean_ns && took / 4 > p->poll_mean_ns)
		took = 4 * p->poll_mean_ns;
	p->poll_mean_ns = p->poll_mean_ns ? p->poll_mean_ns - p->poll_mean_ns / 8 + took / 8 : took;
}

bool router_port_completed(struct router_port *p, struct router_req *rq, int ret, uint64_t now)
{
	if (rq->polled) {
		p->polled--;
		if (ret != BACKEND_AGAIN)
			poll_learn(p, rq, now);
		p->poll_next_ns = now; /* more may be done: look again at once */
	}
	if (ret != BACKEND_AGAIN)
		return false;
	rq->link.next = p->again ? &p->again->link : NULL;
	p->again = rq;
	p->again_count++;
	return true;
}

void router_port_resend(struct router_port *p)
{
	struct router_req *rq = p->again;

	p->again = NULL;
	send_list(p, rq);
}
