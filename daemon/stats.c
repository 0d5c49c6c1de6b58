/* SPDX-License-Identifier: MIT */
/*
 * The "stats" request: a snapshot of every tenant's counters (summed over
 * the queues its workers keep), every NQ of every router, every worker.
 * Runs on the control thread, which also creates and deletes devices, so
 * nothing it reads can go away under it; the workers never wait for it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "ctl/stats_json.h"
#include "daemon/daemon.h"
#include "router/cpulist.h"
#include "sched/sched.h"
#include "stats/slo.h"

/* The tenant's NQ indexes as NVMe qids, ascending by index. */
static unsigned used_qids(const struct tenant *t, const struct stats_io_snap *s, unsigned *qids)
{
	struct router *r = t->pool ? t->pool->router : NULL;
	unsigned n = 0, nr = r ? router_nr_nqs(r) : 0;

	for (unsigned i = 0; i < nr && i < STATS_MAX_NQS; i++)
		if (stats_io_nq_test(s, i))
			qids[n++] = router_nq_hctx(r, i) + 1;
	return n;
}

/* The target a tenant is judged by: its own, else the scheduler's if it is a latency tenant. */
static uint64_t slo_target_ns(const struct daemon *d, const struct tenant *t)
{
	if (t->e.spec.qos.latency_target_us)
		return t->e.spec.qos.latency_target_us * 1000ULL;
	if (t->e.spec.cls == CONF_CLASS_LATENCY)
		return d->conf.sched.latency_target_us * 1000ULL;
	return 0;
}

int tenants_slo_tick(struct daemon *d)
{
	uint64_t now = monotonic_ns(), next = UINT64_MAX;
	struct stats_io_snap *s = NULL;

	for (size_t i = 0; i < d->nr_tenants; i++) {
		struct tenant *t = &d->tenants[i];

		if (!t->dev)
			continue;
		if (!t->slo)
			t->slo = calloc(1, sizeof(*t->slo));
		if (!t->slo)
			continue; /* out of memory: no SLO numbers for it, nothing else lost */
		if (slo_due(t->slo, now)) {
			if (!s)
				s = malloc(sizeof(*s)); /* three histograms: 12 KiB */
			if (!s)
				continue;
			memset(s, 0, sizeof(*s));
			ublk_dev_stats(t->dev, s);
			slo_update(t->slo, s, now, slo_target_ns(d, t), &d->conf.sched.cost);
		}
		if (t->slo->at_ns + SLO_INTERVAL_NS < next)
			next = t->slo->at_ns + SLO_INTERVAL_NS;
	}
	free(s);
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)((next - now + 999999) / 1000000);
}

static json_object *slo_json(const struct daemon *d, const struct tenant *t)
{
	const struct conf_qos *q = &t->e.spec.qos;
	const struct cost_model *m = &d->conf.sched.cost;
	struct ctl_slo_stats c = {
		.target_us = slo_target_ns(d, t) / 1000,
		.reserved_iops = q->min_iops,
		.reserved_bw = q->min_bw,
		.reserved_pct = 100.0 * (double)cost_reserved(m, q->min_iops, q->min_bw) /
				(double)COST_NS_PER_SEC,
	};

	if (t->slo) {
		c.p99_us = t->slo->p99_ns / 1000;
		c.intervals = t->slo->intervals;
		c.violations = t->slo->violations;
		c.used_iops = t->slo->iops;
		c.used_bw = t->slo->bytes_per_s;
		c.used_pct = 100.0 * (double)t->slo->used / (double)COST_NS_PER_SEC;
	}
	return ctl_slo_stats_to_json(&c);
}

static json_object *tenant_json(const struct daemon *d, const struct tenant *t)
{
	unsigned qids[STATS_MAX_NQS];
	struct ctl_tenant_info info;
	struct stats_io_snap *s = calloc(1, sizeof(*s)); /* three histograms: 12 KiB */
	json_object *obj;

	if (!s)
		return NULL;
	tenant_info(t, &info);
	if (t->dev)
		ublk_dev_stats(t->dev, s);
	obj = ctl_tenant_stats_to_json(&info, s, qids, used_qids(t, s, qids));
	free(s);
	if (obj)
		json_object_object_add(obj, "slo", slo_json(d, t));
	return obj;
}

static void add_nqs(json_object *arr, const struct pool *p, struct ctl_nq_stats *n,
		    struct router_nq_stats *rs)
{
	for (unsigned i = 0; i < router_nr_nqs(p->router); i++) {
		router_nq_stats(p->router, i, rs);
		*n = (struct ctl_nq_stats){
			.index = i,
			.qid = rs->hctx + 1,
			.poll = rs->poll,
			.group = rs->group,
			.submitter_cpu = rs->submitter_cpu,
			.depth = rs->depth,
			.inflight = rs->inflight,
			.inflight_bytes = rs->inflight_bytes,
			.cmds = rs->cmds,
			.bytes = rs->bytes,
			.direct = rs->direct,
			.hopped = rs->hopped,
		};
		snprintf(n->backend, sizeof(n->backend), "%s", p->be->name);
		snprintf(n->ns, sizeof(n->ns), "%s", router_ns(p->router));
		cpulist_format(&rs->cpus, n->cpus, sizeof(n->cpus));
		n->lat = rs->lat;
		json_object_array_add(arr, ctl_nq_stats_to_json(n));
	}
}

static json_object *nqs_json(const struct daemon *d)
{
	json_object *arr = json_object_new_array();
	struct ctl_nq_stats *n = malloc(sizeof(*n));
	struct router_nq_stats *rs = malloc(sizeof(*rs));

	if (arr && n && rs)
		for (size_t i = 0; i < d->nr_pools; i++)
			if (d->pools[i].router)
				add_nqs(arr, &d->pools[i], n, rs);
	free(n);
	free(rs);
	return arr;
}

static json_object *workers_json(const struct daemon *d)
{
	json_object *arr = json_object_new_array();
	struct ublk_worker_stats ws;

	for (unsigned i = 0; arr && d->workers && ublk_workers_stats(d->workers, i, &ws) == 0; i++) {
		struct ctl_worker_stats cw = {
			.index = ws.index,
			.cpu = ws.cpu,
			.tid = ws.tid,
			.cpu_ns = ws.cpu_ns,
			.ublk_ops = ws.ublk_reqs,
			.backend_ops = ws.backend_cqes,
			.returned = ws.returned,
			.ring_enters = ws.ring_enters,
		};

		json_object_array_add(arr, ctl_worker_stats_to_json(&cw));
	}
	return arr;
}

static json_object *schedulers_json(const struct daemon *d)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < d->nr_pools; i++) {
		const struct pool *p = &d->pools[i];
		struct sched_stats st;
		struct ctl_sched_stats cs;
		enum conf_sched_mode mode;

		if (!p->router)
			continue;
		router_sched_stats(p->router, &st);
		mode = router_mode(p->router);
		cs = (struct ctl_sched_stats){
			.mode = conf_sched_mode_name(mode),
			.latency_active = st.latency_active,
			.latency_target_us = st.latency_target_ns / 1000,
			.latency_p99_us = st.latency_p99_ns / 1000,
			.target = tcap_verdict_name(st.target_verdict),
			.throughput_cap = st.throughput_cap,
			.cap_on = mode == CONF_SCHED_DAREDEVIL && !st.cap_off, /* static caps nothing */
			.cap_cuts = st.cap_cuts,
			.cap_fruitless = st.cap_fruitless,
			.cap_raises = st.cap_raises,
		};
		snprintf(cs.backend, sizeof(cs.backend), "%s", p->be->name);
		snprintf(cs.ns, sizeof(cs.ns), "%s", router_ns(p->router));
		json_object_array_add(arr, ctl_sched_stats_to_json(&cs));
	}
	return arr;
}

json_object *daemon_stats(struct daemon *d, const char *name, char *err, size_t errlen)
{
	json_object *obj, *tenants;
	const struct tenant *only = NULL;

	if (name && name[0]) {
		only = tenant_find(d, name);
		if (!only) {
			snprintf(err, errlen, "no tenant named \"%s\"", name);
			return NULL;
		}
	}
	obj = json_object_new_object();
	tenants = json_object_new_array();
	if (!obj || !tenants) {
		json_object_put(obj);
		json_object_put(tenants);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_object_object_add(obj, "version", json_object_new_int(CTL_STATS_VERSION));
	json_object_object_add(obj, "time_ns", json_object_new_uint64(monotonic_ns()));
	for (size_t i = 0; i < d->nr_tenants; i++)
		if (!only || only == &d->tenants[i])
			json_object_array_add(tenants, tenant_json(d, &d->tenants[i]));
	json_object_object_add(obj, "tenants", tenants);
	json_object_object_add(obj, "nqs", nqs_json(d));
	json_object_object_add(obj, "workers", workers_json(d));
	json_object_object_add(obj, "schedulers", schedulers_json(d));
	return obj;
}
