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

bool router_port_completed(struct router_port *p, struct router_req *rq, int ret)
{
	if (rq->polled)
		p->polled--;
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
