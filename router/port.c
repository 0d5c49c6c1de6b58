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

void router_port_return(struct router_req *rq)
{
	struct router_port *p = rq->owner;
	uint64_t one = 1;

	/* Only the push that makes the inbox non-empty wakes: the worker takes all of it. */
	if (inbox_push(&p->done, &rq->link) && write(p->wake_fd, &one, sizeof(one)) < 0)
		log_err("router: cannot wake the worker on CPU %u: %s", p->cpu, strerror(errno));
}
