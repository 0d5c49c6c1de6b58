/* SPDX-License-Identifier: MIT */
/*
 * A tenant's QoS gate (struct admit_gate, sched/admit.h): IOPS and
 * bandwidth token buckets from sched/qos.h, shared by the workers serving
 * the tenant's queues, plus the class and weight the workers share the
 * backend by.
 * Limits change live (reload) under the same lock the workers take; a
 * tenant without limits never takes it. Every request is charged, whatever
 * its op (the workers pass qos_charged_bytes()).
 *
 * A reservation (min_iops, min_bw) is a token bucket too, in device ns
 * by the cost model: a request it covers skips its class's weighted
 * queue in the workers (sched/admit.h), so that weights never hold a
 * tenant below its reservation; the scheduler then sends it first.
 */
#include <stdlib.h>

#include "common/clock.h"
#include "daemon/daemon.h"

static uint64_t gate_admit(struct admit_gate *ug, uint64_t bytes, uint64_t now_ns)
{
	struct tenant_gate *g = (struct tenant_gate *)ug;
	uint64_t wait;

	if (!atomic_load_explicit(&g->limited, memory_order_acquire))
		return 0;
	pthread_mutex_lock(&g->lock);
	wait = qos_admit(&g->lim, bytes, now_ns);
	pthread_mutex_unlock(&g->lock);
	return wait;
}

static bool gate_reserved(struct admit_gate *ug, uint64_t cost, uint64_t now_ns)
{
	struct tenant_gate *g = (struct tenant_gate *)ug;
	bool ok;

	if (!atomic_load_explicit(&g->reserving, memory_order_acquire))
		return false;
	pthread_mutex_lock(&g->lock);
	ok = tbucket_wait(&g->resv, cost, now_ns) == 0;
	if (ok)
		tbucket_take(&g->resv, cost);
	pthread_mutex_unlock(&g->lock);
	return ok;
}

/* The reservation's rate: device ns per second (0: none). */
static uint64_t resv_rate(const struct tenant_gate *g, const struct conf_qos *qos)
{
	return conf_reservation_ns(&g->gate.cost, qos);
}

struct tenant_gate *gate_new(enum conf_class cls, const struct conf_qos *qos,
			     const struct cost_model *cost)
{
	struct tenant_gate *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->gate.admit = gate_admit;
	g->gate.reserved = gate_reserved;
	atomic_init(&g->gate.cls, cls);
	atomic_init(&g->gate.weight, qos->weight);
	g->gate.cost = *cost;
	pthread_mutex_init(&g->lock, NULL);
	qos_limiter_init(&g->lim, qos->iops_limit, qos->bw_limit, monotonic_ns());
	atomic_init(&g->limited, qos->iops_limit || qos->bw_limit);
	tbucket_init(&g->resv, resv_rate(g, qos), monotonic_ns());
	atomic_init(&g->reserving, resv_rate(g, qos) > 0);
	return g;
}

void gate_set(struct tenant_gate *g, enum conf_class cls, const struct conf_qos *qos)
{
	atomic_store_explicit(&g->gate.cls, cls, memory_order_relaxed);
	atomic_store_explicit(&g->gate.weight, qos->weight, memory_order_relaxed);
	pthread_mutex_lock(&g->lock);
	qos_limiter_set(&g->lim, qos->iops_limit, qos->bw_limit, monotonic_ns());
	atomic_store_explicit(&g->limited, qos->iops_limit || qos->bw_limit,
			      memory_order_release);
	tbucket_set_rate(&g->resv, resv_rate(g, qos), monotonic_ns());
	atomic_store_explicit(&g->reserving, resv_rate(g, qos) > 0, memory_order_release);
	pthread_mutex_unlock(&g->lock);
}

/*
 * Let every request through from now on, held ones at their next look
 * (within the workers' ADMIT_RECHECK_NS). For a device about to be stopped:
 * STOP_DEV waits for every request the kernel has handed us, and drained
 * at the limit a backlog (the dirty pages a stop writes back first) would
 * outlast the stop's timeout. gate_set() puts limits back.
 */
void gate_lift(struct tenant_gate *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	qos_limiter_set(&g->lim, 0, 0, monotonic_ns());
	atomic_store_explicit(&g->limited, false, memory_order_release);
	pthread_mutex_unlock(&g->lock);
}

void gate_free(struct tenant_gate *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->lock);
	free(g);
}
