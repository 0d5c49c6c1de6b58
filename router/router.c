/* SPDX-License-Identifier: MIT */
/* The router of one passthrough backend (see router.h). */
#include "router/router.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "conf/diff.h"
#include "router/cpulist.h"
#include "router/discover.h"
#include "router/handle.h"
#include "router/qid.h"
#include "sched/sched.h"
#include "stats/hist.h"

/* Kept under the router's lock, which every send and completion takes anyway. */
struct router_nq_stat {
	uint64_t bytes;
	struct stats_hist lat; /* sent -> completion seen by the owner worker */
};

/* Static mode's requests, sent without the lock (router_static_sent()). */
struct router_nq_static {
	_Atomic uint64_t cmds, bytes;
	_Atomic unsigned inflight;
};

struct router {
	struct backend *be;
	char ns[64];
	enum conf_sched_mode mode;
	enum nq_route route;
	struct nq_handle *h; /* the scheduler's NQ i */
	unsigned nr;
	unsigned nr_hw; /* hardware queues the namespace has, reachable or not */
	pthread_mutex_t lock; /* guards everything below */
	struct sched *s;
	uint64_t (*count)[NQ_NR_LANES]; /* requests sent, per NQ and lane */
	struct router_nq_stat *st; /* per NQ: bytes sent, completion latency */
	struct router_nq_static *st_static; /* per NQ, static mode, no lock */
	uint64_t moves; /* the scheduler's group moves last logged */
	enum tcap_verdict verdict; /* L's target, as last logged */
	bool cap_off;
	bool *id_used; /* tenant ids */
	unsigned nr_ids;
};

static struct router_req *req_of_sched(struct sched_req *sr)
{
	return (struct router_req *)((char *)sr - offsetof(struct router_req, sr));
}

/* Under the lock: every request the scheduler lets go now, in order, linked. */
static struct inbox_link *release(struct router *r, uint64_t now)
{
	struct inbox_link *head = NULL, **tail = &head;
	struct sched_req *sr;

	while ((sr = sched_next(r->s, now))) {
		struct router_req *rq = req_of_sched(sr);

		r->count[sr->nq][sr->lane]++;
		if (io_op_moves_data(rq->bio->op))
			r->st[sr->nq].bytes += sr->bytes; /* data sent, not a discard's range */
		rq->link.next = NULL;
		*tail = &rq->link;
		tail = &rq->link.next;
	}
	return head;
}

static void send_all(struct router *r, struct inbox_link *l, struct router_port *caller)
{
	while (l) {
		struct router_req *rq = router_req_of(l);

		l = l->next; /* sending reuses the link */
		nq_handle_send(&r->h[rq->sr.nq], rq, caller);
	}
}

void router_req_init(struct router_req *rq, unsigned tenant, struct backend_io *bio,
		     uint64_t user_data, struct router_port *owner)
{
	/*
	 * What keeps the device busy; the T cap counts it: the data moved, or
	 * the range a DISCARD / WRITE ZEROES covers (the device unmaps or
	 * writes that much; ublk sends at most 1 GiB). A FLUSH: nothing.
	 */
	uint64_t bytes = bio->op == IO_OP_FLUSH ? 0 : bio->len;

	*rq = (struct router_req){
		.sr = {
			.tenant = tenant,
			.cpu = owner->cpu,
			.op = bio->op,
			.flags = bio->fua ? SCHED_REQ_FUA : 0,
			.bytes = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes,
		},
		.bio = bio,
		.user_data = user_data,
		.owner = owner,
	};
}

void router_submit(struct router *r, struct router_req *rq, struct router_port *caller)
{
	router_submit_at(r, rq, caller, monotonic_ns());
}

void router_submit_at(struct router *r, struct router_req *rq, struct router_port *caller,
		      uint64_t now)
{
	struct inbox_link *go;

	pthread_mutex_lock(&r->lock);
	sched_enqueue(r->s, &rq->sr, now);
	go = release(r, now);
	pthread_mutex_unlock(&r->lock);
	send_all(r, go, caller);
}

void router_done(struct router *r, struct router_req *rq, struct router_port *caller)
{
	router_done_at(r, rq, caller, monotonic_ns());
}

void router_done_at(struct router *r, struct router_req *rq, struct router_port *caller,
		    uint64_t now)
{
	struct inbox_link *go;

	pthread_mutex_lock(&r->lock);
	if (rq->sr.nq >= 0 && (unsigned)rq->sr.nq < r->nr)
		stats_hist_record(&r->st[rq->sr.nq].lat,
				  now > rq->sr.submit_ns ? now - rq->sr.submit_ns : 0);
	sched_completed(r->s, &rq->sr, now);
	go = release(r, now);
	pthread_mutex_unlock(&r->lock);
	send_all(r, go, caller);
}

/* Under the lock: NQ numbers of a group as NVMe queue ids, "3 4". */
static void group_qids(struct router *r, enum nq_lane lane, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < r->nr && used + 8 < len; i++)
		if (sched_nq(r->s, i)->lane == lane)
			used += (size_t)snprintf(buf + used, len - used, "%s%u", used ? " " : "",
						 r->h[i].hctx + 1);
}

static void log_groups(struct router *r, enum log_level level)
{
	char l[512], t[512];

	group_qids(r, NQ_LANE_LATENCY, l, sizeof(l));
	group_qids(r, NQ_LANE_THROUGHPUT, t, sizeof(t));
	log_msg(level, "router %s: daredevil groups: latency qids %s; throughput qids %s", r->ns,
		l, t);
}

/*
 * Say when L's target stops or starts being met, and what the T cap does
 * about it. Cutting is the cap's ordinary work (AIMD around the target
 * moves in and out of it every few windows): not logged.
 */
static void log_verdict(struct router *r, const struct sched_stats *st)
{
	unsigned long long p99 = st->latency_p99_ns / 1000, target = st->latency_target_ns / 1000;

	if (st->target_verdict == TCAP_UNMET_CUTTING ||
	    (st->target_verdict == r->verdict && st->cap_off == r->cap_off))
		return;
	r->verdict = st->target_verdict;
	r->cap_off = st->cap_off;
	switch (st->target_verdict) {
	case TCAP_UNMET_ALONE:
		log_warn("router %s: latency tenants' p99 is %llu us with throughput tenants idle, "
			 "above the %llu us target: no throughput cap can help, so there is none "
			 "(a slow or busy drive, or a target set too low)", r->ns, p99, target);
		break;
	case TCAP_UNMET_THROTTLE:
		if (st->cap_off)
			log_warn("router %s: latency tenants' p99 %llu us misses the %llu us target, "
				 "and throttling throughput tenants does not lower it: throughput "
				 "cap off", r->ns, p99, target);
		else
			log_warn("router %s: latency tenants' p99 %llu us misses the %llu us target; "
				 "a throughput cap below %llu KiB does not lower it: trying looser "
				 "caps, up to none", r->ns, p99, target,
				 (unsigned long long)(st->throughput_cap >> 10));
		break;
	case TCAP_UNMET_CUTTING:
		break;
	case TCAP_MET:
		log_info("router %s: latency tenants' p99 %llu us meets the %llu us target; "
			 "throughput cap %llu KiB", r->ns, p99, target,
			 (unsigned long long)(st->throughput_cap >> 10));
		break;
	}
}

void router_set_poll(struct router *r, enum conf_poll poll)
{
	pthread_mutex_lock(&r->lock);
	sched_set_poll(r->s, poll);
	pthread_mutex_unlock(&r->lock);
}

void router_sched_stats(struct router *r, struct sched_stats *out)
{
	pthread_mutex_lock(&r->lock);
	sched_get_stats(r->s, monotonic_ns(), out);
	pthread_mutex_unlock(&r->lock);
}

void router_tick(struct router *r)
{
	uint64_t now = monotonic_ns();
	struct sched_stats st;
	struct inbox_link *go;

	pthread_mutex_lock(&r->lock);
	sched_tick(r->s, now);
	go = release(r, now); /* the T cap may have lifted */
	sched_get_stats(r->s, now, &st);
	if (st.moves != r->moves && r->mode == CONF_SCHED_DAREDEVIL && log_get_level() >= LOG_DEBUG)
		log_groups(r, LOG_DEBUG);
	r->moves = st.moves;
	pthread_mutex_unlock(&r->lock);
	if (r->mode == CONF_SCHED_DAREDEVIL)
		log_verdict(r, &st); /* verdict and cap_off: the control thread's own */
	send_all(r, go, NULL);
}

enum conf_sched_mode router_mode(const struct router *r)
{
	return r->mode;
}

int router_tenant_add(struct router *r, enum conf_class cls)
{
	unsigned id;
	int ret;

	pthread_mutex_lock(&r->lock);
	for (id = 0; id < r->nr_ids && r->id_used[id]; id++)
		;
	if (id == r->nr_ids) {
		unsigned nr = r->nr_ids ? 2 * r->nr_ids : 64;
		bool *grown = realloc(r->id_used, nr * sizeof(*grown));

		if (!grown) {
			pthread_mutex_unlock(&r->lock);
			return -ENOMEM;
		}
		memset(grown + r->nr_ids, 0, (nr - r->nr_ids) * sizeof(*grown));
		r->id_used = grown;
		r->nr_ids = nr;
	}
	ret = sched_tenant_set(r->s, id, cls);
	if (ret == 0)
		r->id_used[id] = true;
	pthread_mutex_unlock(&r->lock);
	return ret < 0 ? ret : (int)id;
}

void router_tenant_set(struct router *r, unsigned id, enum conf_class cls)
{
	pthread_mutex_lock(&r->lock);
	if (id < r->nr_ids && r->id_used[id])
		sched_tenant_set(r->s, id, cls); /* the id has its slot: cannot fail */
	pthread_mutex_unlock(&r->lock);
}

void router_tenant_del(struct router *r, unsigned id)
{
	pthread_mutex_lock(&r->lock);
	if (id < r->nr_ids && r->id_used[id]) {
		sched_tenant_del(r->s, id);
		r->id_used[id] = false;
	}
	pthread_mutex_unlock(&r->lock);
}

int router_tenant_slo(struct router *r, unsigned id, const struct sched_slo *slo)
{
	int ret = -EINVAL;

	pthread_mutex_lock(&r->lock);
	if (id < r->nr_ids && r->id_used[id])
		ret = sched_tenant_slo(r->s, id, slo);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void router_tenant_stats(struct router *r, unsigned id, struct sched_tenant_stats *out)
{
	pthread_mutex_lock(&r->lock);
	sched_tenant_stats(r->s, id, out);
	pthread_mutex_unlock(&r->lock);
}

void router_log_counts(struct router *r)
{
	pthread_mutex_lock(&r->lock);
	for (unsigned i = 0; i < r->nr; i++) {
		struct nq_handle *h = &r->h[i];

		log_info("router %s: qid %u (%s): %llu latency-lane and %llu throughput-lane "
			 "requests, %llu sent by their own worker, %llu by the submitter", r->ns,
			 h->hctx + 1, h->kind == NQ_POLL ? "poll" : "default",
			 (unsigned long long)r->count[i][NQ_LANE_LATENCY],
			 (unsigned long long)(r->count[i][NQ_LANE_THROUGHPUT] +
					      atomic_load(&r->st_static[i].cmds)),
			 (unsigned long long)atomic_load(&h->direct),
			 (unsigned long long)submitter_count(h->sub));
	}
	pthread_mutex_unlock(&r->lock);
}

void router_destroy(struct router *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->nr; i++)
		submitter_stop(r->h[i].sub);
	sched_free(r->s);
	pthread_mutex_destroy(&r->lock);
	free(r->h);
	free(r->count);
	free(r->st);
	free(r->st_static);
	free(r->id_used);
	free(r);
}

/*
 * Requests the scheduler may keep in flight on a queue of `tags` tags: a few
 * tags stay free for what it does not count -- the control thread's own
 * I/O (tenant tables, discards) and the extra commands of a split discard
 * or write-zeroes -- so that the kernel never runs out and punts.
 */
static unsigned sched_depth(unsigned tags)
{
	unsigned reserve = tags / 16 < 8 ? tags / 16 : 8;

	return tags - reserve;
}

/* The reachable queues of l as handles and scheduler descriptions. */
static int take_reachable(struct router *r, const struct nq_list *l, struct nq_desc **descs)
{
	unsigned n = 0;

	r->h = calloc(l->nr_reachable, sizeof(*r->h));
	r->count = calloc(l->nr_reachable, sizeof(*r->count));
	r->st = calloc(l->nr_reachable, sizeof(*r->st));
	r->st_static = calloc(l->nr_reachable, sizeof(*r->st_static));
	*descs = calloc(l->nr_reachable, sizeof(**descs));
	if (!r->h || !r->count || !r->st || !r->st_static || !*descs)
		return -1;
	for (unsigned i = 0; i < l->nr; i++) {
		const struct nq_found *f = &l->q[i];
		struct nq_handle *h = &r->h[n];

		if (f->cpu < 0)
			continue;
		h->hctx = f->hctx;
		h->kind = f->desc.kind;
		h->cpu = f->cpu;
		h->be = r->be;
		CPU_ZERO(&h->cpus);
		for (int cpu = 0; cpu < NQ_MAX_CPUS && cpu < CPU_SETSIZE; cpu++)
			if (nq_desc_has_cpu(&f->desc, (unsigned)cpu))
				CPU_SET(cpu, &h->cpus);
		(*descs)[n] = f->desc;
		(*descs)[n++].depth = sched_depth(f->depth);
	}
	r->nr = n;
	return 0;
}

/* Pinned: a thread per NQ. Steering needs none: every worker reaches every NQ itself. */
static int start_submitters(struct router *r, char *err, size_t errlen)
{
	for (unsigned i = 0; i < r->nr; i++) {
		struct nq_handle *h = &r->h[i];

		h->route = r->route;
		if (r->route == NQ_ROUTE_QID)
			continue;
		h->sub = submitter_start(r->be, h->hctx, h->kind, h->cpu, err, errlen);
		if (!h->sub)
			return -1;
	}
	return 0;
}

static void log_router(struct router *r, const struct nq_list *l)
{
	char qids[1024] = "";
	size_t used = 0;

	log_info("router %s: %u hardware queue(s) (types from %s), %u reachable; scheduler %s",
		 r->ns, l->nr, l->types_from_debugfs ? "block debugfs" : "nvme module parameters",
		 r->nr, conf_sched_mode_name(r->mode));
	if (r->route == NQ_ROUTE_QID)
		log_info("backend \"%s\": queue steering: every command names its NVMe queue "
			 "(NVME_URING_CMD_IO_QID); workers submit to all %u reachable queues "
			 "themselves, POLL queues on their own IOPOLL rings; no submitter threads",
			 r->be->name, r->nr);
	else
		log_info("backend \"%s\": pinned submitters: the kernel has no queue steering, "
			 "so each reachable queue gets a thread pinned to one of its CPUs",
			 r->be->name);
	for (unsigned i = 0; i < r->nr; i++) {
		struct nq_handle *h = &r->h[i];
		char cpus[256];

		cpulist_format(&h->cpus, cpus, sizeof(cpus));
		if (r->route == NQ_ROUTE_QID)
			log_info("router %s: NQ %u = hctx %u (NVMe qid %u), %s, depth %u, CPUs %s, "
				 "steered by every worker", r->ns, i, h->hctx, h->hctx + 1,
				 h->kind == NQ_POLL ? "poll" : "default", sched_nq(r->s, i)->depth,
				 cpus[0] ? cpus : "none");
		else
			log_info("router %s: NQ %u = hctx %u (NVMe qid %u), %s, depth %u, CPUs %s, "
				 "submitter on CPU %d", r->ns, i, h->hctx, h->hctx + 1,
				 h->kind == NQ_POLL ? "poll" : "default", sched_nq(r->s, i)->depth,
				 cpus, h->cpu);
		if (used + 8 < sizeof(qids))
			used += (size_t)snprintf(qids + used, sizeof(qids) - used, "%s%u",
						 used ? " " : "", h->hctx + 1);
	}
	/* One line with everything reachable: what tests compare with the controller's view. */
	log_info("router %s: reachable qids: %s", r->ns, qids);
	log_info("router %s: %u of %u hardware queues reachable (%s)", r->ns, r->nr, l->nr,
		 nq_route_name(r->route));
	if (r->mode == CONF_SCHED_DAREDEVIL)
		log_groups(r, LOG_INFO);
}

/*
 * With the queue-id patch a command names its queue, so a POLL queue that
 * no online CPU maps to (the patch's extra poll queues) is reachable too,
 * from a submitter on any CPU of ours. A DEFAULT queue without an online
 * CPU stays out: its interrupt would never fire.
 */
static enum nq_route probe_route(struct backend *be, struct nq_list *l, const cpu_set_t *allowed)
{
	unsigned first = 0;
	int any_cpu = -1;

	/*
	 * Probe a reachable DEFAULT queue: the probe's ring is not IOPOLL, so a
	 * polled queue would refuse it (-EINVAL) even on a patched kernel.
	 */
	while (first < l->nr && (l->q[first].cpu < 0 || l->q[first].type != HCTX_DEFAULT))
		first++;
	if (first == l->nr)
		for (first = 0; l->q[first].cpu < 0; first++)
			; /* none: the first reachable one (the caller made sure there is one) */
	if (!qid_supported(be, l->q[first].hctx))
		return NQ_ROUTE_PINNED;
	for (int cpu = 0; cpu < CPU_SETSIZE && any_cpu < 0; cpu++)
		if (CPU_ISSET(cpu, allowed))
			any_cpu = cpu;
	for (unsigned i = 0; i < l->nr; i++) {
		if (l->q[i].cpu >= 0 || l->q[i].type != HCTX_POLL)
			continue;
		l->q[i].cpu = any_cpu;
		l->nr_reachable++;
	}
	return NQ_ROUTE_QID;
}

/* The scheduler over descs, daredevil falling back to static when it cannot be. */
static int make_sched(struct router *r, const struct conf_sched *cs, const struct nq_desc *descs,
		      char *err, size_t errlen)
{
	struct sched_params p;

	sched_params_init(&p);
	sched_params_from_conf(&p, cs);
	if (p.mode == CONF_SCHED_DAREDEVIL && r->nr < 2) {
		log_warn("router %s: daredevil needs two reachable NVMe queues for its latency and "
			 "throughput groups, and only %u is reachable from the CPUs ddublkd may run "
			 "on; falling back to static (more queues: nvme.poll_queues, or more CPUs)",
			 r->ns, r->nr);
		p.mode = CONF_SCHED_STATIC;
	}
	r->s = sched_new(&p, descs, r->nr, monotonic_ns());
	if (!r->s) {
		snprintf(err, errlen, "scheduler: %s", strerror(errno));
		return -1;
	}
	r->mode = p.mode;
	return 0;
}

int router_create_on(struct backend *be, const char *ns, const struct conf_sched *cs,
		     struct nq_list *l, const cpu_set_t *allowed, struct router **out, char *err,
		     size_t errlen)
{
	struct router *r;
	struct nq_desc *descs = NULL;

	if (!l->nr_reachable) {
		snprintf(err, errlen, "none of %s's %u hardware queues maps to a CPU ddublkd may "
			 "run on", ns, l->nr);
		return -1;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->be = be;
	snprintf(r->ns, sizeof(r->ns), "%s", ns);
	pthread_mutex_init(&r->lock, NULL);
	r->route = probe_route(be, l, allowed);
	r->nr_hw = l->nr;
	if (take_reachable(r, l, &descs) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (make_sched(r, cs, descs, err, errlen) < 0 || start_submitters(r, err, errlen) < 0)
		goto fail;
	free(descs);
	log_router(r, l);
	*out = r;
	return 0;
fail:
	free(descs);
	router_destroy(r);
	return -1;
}

int router_create(struct backend *be, const char *ns, const struct conf_sched *cs,
		  struct router **out, char *err, size_t errlen)
{
	struct nq_list l = { 0 };
	cpu_set_t allowed;
	int ret;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0) {
		snprintf(err, errlen, "sched_getaffinity: %s", strerror(errno));
		return -1;
	}
	if (nq_discover("", ns, &allowed, &l, err, errlen) < 0)
		return -1;
	ret = router_create_on(be, ns, cs, &l, &allowed, out, err, errlen);
	nq_list_free(&l);
	return ret;
}

unsigned router_nr_nqs(const struct router *r)
{
	return r->nr;
}

void router_get_info(const struct router *r, struct router_info *out)
{
	*out = (struct router_info){ .steering = r->route == NQ_ROUTE_QID, .nr_hw = r->nr_hw,
				     .nr_reachable = r->nr };
	for (unsigned i = 0; i < r->nr; i++)
		out->nr_poll += r->h[i].kind == NQ_POLL;
}

const char *router_ns(const struct router *r)
{
	return r->ns;
}

void router_nq_stats(struct router *r, unsigned nq, struct router_nq_stats *out)
{
	struct nq_handle *h = &r->h[nq];
	const struct nq *q;

	memset(out, 0, sizeof(*out));
	out->index = nq;
	out->hctx = h->hctx;
	out->poll = h->kind == NQ_POLL;
	out->cpus = h->cpus;
	out->submitter_cpu = h->cpu;
	out->direct = atomic_load(&h->direct);
	out->hopped = submitter_count(h->sub);
	pthread_mutex_lock(&r->lock);
	q = sched_nq(r->s, nq);
	out->group = r->mode != CONF_SCHED_DAREDEVIL ? "none" :
		     q->lane == NQ_LANE_LATENCY ? "latency" : "throughput";
	out->depth = q->depth;
	out->inflight = q->inflight;
	out->inflight_bytes = q->inflight_bytes;
	out->lane[NQ_LANE_LATENCY] = r->count[nq][NQ_LANE_LATENCY];
	out->lane[NQ_LANE_THROUGHPUT] = r->count[nq][NQ_LANE_THROUGHPUT];
	out->lane[NQ_LANE_THROUGHPUT] += atomic_load(&r->st_static[nq].cmds); /* static: one lane */
	out->cmds = out->lane[NQ_LANE_LATENCY] + out->lane[NQ_LANE_THROUGHPUT];
	out->inflight += atomic_load(&r->st_static[nq].inflight);
	out->bytes = r->st[nq].bytes + atomic_load(&r->st_static[nq].bytes);
	stats_hist_snap_add(&out->lat, &r->st[nq].lat);
	pthread_mutex_unlock(&r->lock);
}

int router_static_nq(const struct router *r, unsigned cpu)
{
	return r->mode == CONF_SCHED_STATIC ? (int)sched_static_nq(r->s, cpu) : -1;
}

void router_static_sent(struct router *r, unsigned nq, uint64_t bytes)
{
	atomic_fetch_add_explicit(&r->h[nq].direct, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->st_static[nq].cmds, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->st_static[nq].bytes, bytes, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->st_static[nq].inflight, 1, memory_order_relaxed);
}

void router_static_done(struct router *r, unsigned nq)
{
	atomic_fetch_sub_explicit(&r->st_static[nq].inflight, 1, memory_order_relaxed);
}

unsigned router_nq_hctx(const struct router *r, unsigned nq)
{
	return r->h[nq].hctx;
}
