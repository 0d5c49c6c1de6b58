/* SPDX-License-Identifier: MIT */
/* Handing finished requests back to the worker that owns them (see req.h). */
#include "router/req.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

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
