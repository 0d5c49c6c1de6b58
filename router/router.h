/* SPDX-License-Identifier: MIT */
/*
 * The router of one NVMe passthrough backend: its reachable NQs (discover.h),
 * a handle per NQ (handle.h), and the scheduler (sched/) that decides which
 * NQ each request goes to and when.
 *
 * Locking: the scheduler is not thread-safe, and every worker and the
 * control thread call into it, so one mutex guards it. Each call holds it
 * for one scheduler step -- enqueue or complete, then sched_next() until it
 * says no -- and never while sending: the requests it released are sent
 * after the unlock (a few SQEs on the caller's ring, or a push into a
 * submitter's lock-free inbox). A scheduler thread of its own would have
 * cost every request two more thread hops.
 *
 * The workers:
 *   router_req_init(&io->rr, ...);      a request passed the QoS gate
 *   router_submit(r, &io->rr, port);    scheduled, sent when sched says so
 *   ...its commands complete on the owner's ring (sent directly) or on a
 *   submitter's (handed back through the owner's port)...
 *   router_done(r, &io->rr, port);      before committing it to ublk
 */
#ifndef DDUBLK_ROUTER_ROUTER_H
#define DDUBLK_ROUTER_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "backend/backend.h"
#include "router/discover.h"
#include "router/req.h"
#include "stats/hist.h"

struct sched_slo;
struct sched_tenant_stats;

struct router;

/*
 * The router for passthrough backend be on namespace ns ("nvme0n1"), with
 * the policy's scheduler section. daredevil with fewer than two reachable
 * NQs falls back to static (logged). Returns 0 with *out set, or -1 with
 * err set: the caller then serves the backend without a router (every
 * worker on its own CPU's queue, as before).
 */
int router_create(struct backend *be, const char *ns, const struct conf_sched *cs,
		  struct router **out, char *err, size_t errlen);
/* Every request must have been done. NULL is fine. */
void router_destroy(struct router *r);

/* The mode in force (static after a fallback). */
enum conf_sched_mode router_mode(const struct router *r);

/* A tenant and its class: its scheduler id (>= 0), or -errno. */
int router_tenant_add(struct router *r, enum conf_class cls);
void router_tenant_set(struct router *r, unsigned id, enum conf_class cls);
void router_tenant_del(struct router *r, unsigned id);
/* Its latency target and reservation (sched_tenant_slo()); 0 or -errno. */
int router_tenant_slo(struct router *r, unsigned id, const struct sched_slo *slo);
/* Its scheduler numbers (sched_tenant_stats()); zeroes for an unknown id. */
void router_tenant_stats(struct router *r, unsigned id, struct sched_tenant_stats *out);

/*
 * Fill rq for bio, owned by port `owner`, of tenant id `tenant`;
 * user_data is what owner's ring carries for bio's commands.
 */
void router_req_init(struct router_req *rq, unsigned tenant, struct backend_io *bio,
		     uint64_t user_data, struct router_port *owner);

/* A new request (from its owner, caller == rq->owner). */
void router_submit(struct router *r, struct router_req *rq, struct router_port *caller);
/* The same at a CLOCK_MONOTONIC time the caller already read. */
void router_submit_at(struct router *r, struct router_req *rq, struct router_port *caller,
		      uint64_t now);
/* rq's backend work is over: account it, send what that lets go. */
void router_done(struct router *r, struct router_req *rq, struct router_port *caller);
/* The same at a CLOCK_MONOTONIC time the caller already read (one clock read per completion). */
void router_done_at(struct router *r, struct router_req *rq, struct router_port *caller,
		    uint64_t now);
/* The same on NQs already discovered (l), for tests; l may be changed (QID probe). */
int router_create_on(struct backend *be, const char *ns, const struct conf_sched *cs,
		     struct nq_list *l, const cpu_set_t *allowed, struct router **out, char *err,
		     size_t errlen);

unsigned router_nr_nqs(const struct router *r);

/* How the router reaches the NVMe queues (for logs and `ublk-ctl features`). */
struct router_info {
	bool steering; /* queue steering (kernel series); false: pinned submitters */
	unsigned nr_hw; /* hardware queues of the namespace */
	unsigned nr_reachable; /* of them, the scheduler's NQs */
	unsigned nr_poll; /* of those, polled */
};

void router_get_info(const struct router *r, struct router_info *out);

/*
 * Static mode decides nothing a worker does not know already: a request
 * goes to the NQ its worker's CPU maps to, and a full queue holds it in
 * the kernel as stock blk-mq would. So the route (route.h) sends it
 * straight to the backend and only counts it here, without the lock.
 * router_static_nq(): that NQ for cpu, or -1 when the router schedules
 * (daredevil). Fixed at creation, no lock.
 */
int router_static_nq(const struct router *r, unsigned cpu);
/* A static-mode request (bytes of data) went to nq; router_static_done() when it is over. */
void router_static_sent(struct router *r, unsigned nq, uint64_t bytes);
void router_static_done(struct router *r, unsigned nq);

/* NQ nq's block-layer hardware queue (NVMe qid + 1): fixed at creation, no lock. */
unsigned router_nq_hctx(const struct router *r, unsigned nq);

/* The namespace it serves ("nvme0n1"). */
const char *router_ns(const struct router *r);

/* One NQ for live statistics: where it is, what it carries. */
struct router_nq_stats {
	unsigned index; /* the scheduler's NQ number */
	unsigned hctx; /* NVMe qid hctx + 1 */
	bool poll; /* a POLL queue (else DEFAULT) */
	cpu_set_t cpus; /* blk-mq's CPU map of it */
	int submitter_cpu;
	const char *group; /* "latency", "throughput" (daredevil), "none" (static) */
	unsigned depth; /* the scheduler's limit (tags minus the reserve) */
	unsigned inflight; /* commands in flight now */
	uint64_t inflight_bytes;
	uint64_t cmds; /* requests sent so far */
	uint64_t lane[NQ_NR_LANES]; /* of them, by the lane they were sent in */
	uint64_t bytes; /* their data bytes */
	uint64_t direct, hopped; /* sent on the owner's ring / through the submitter */
	struct stats_hist_snap lat; /* sent -> completion, as the owner worker sees it */
};

/* NQ nq's statistics (takes the router's lock briefly: the control thread). */
void router_nq_stats(struct router *r, unsigned nq, struct router_nq_stats *out);

struct sched_stats;

/* scheduler.poll from now on (sched_set_poll(); takes the lock). */
void router_set_poll(struct router *r, enum conf_poll poll);

/* The scheduler's state: groups, L's p99 against its target, the T cap (takes the lock). */
void router_sched_stats(struct router *r, struct sched_stats *out);

/* The scheduler's periodic adaptation, for an idle backend (control thread). */
void router_tick(struct router *r);
/* Per-NQ request counts so far, to the log. */
void router_log_counts(struct router *r);

#endif
