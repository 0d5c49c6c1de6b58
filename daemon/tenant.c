/* SPDX-License-Identifier: MIT */
/*
 * Tenants: a name, an extent on a backend, and the ublk device that serves
 * it. The backend's tenant table (daemon/pool.c) is the record; every
 * change is written there first and is all-or-nothing: a request that
 * cannot be honoured leaves the tables, the extents and the devices as
 * they were.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/units.h"
#include "store/place.h"
#include "daemon/daemon.h"
#include "daemon/fault.h"

struct tenant *tenant_find(struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->nr_tenants; i++)
		if (strcmp(d->tenants[i].e.spec.name, name) == 0)
			return &d->tenants[i];
	return NULL;
}

static void format_uuid(const uint8_t u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

void tenant_info(const struct tenant *t, struct ctl_tenant_info *info)
{
	memset(info, 0, sizeof(*info));
	info->spec = t->e.spec;
	snprintf(info->state, sizeof(info->state), "%s", t->state);
	info->dev_id = t->dev ? ublk_dev_id(t->dev) : -1;
	if (t->dev)
		snprintf(info->device, sizeof(info->device), "/dev/ublkb%d", info->dev_id);
	info->offset = t->e.offset;
	format_uuid(t->e.uuid, info->uuid);
	info->created = t->e.ctime;
}

static struct tenant *append_tenant(struct daemon *d, const struct table_entry *e,
				    struct pool *p)
{
	if (d->nr_tenants == d->cap_tenants) {
		size_t cap = d->cap_tenants ? 2 * d->cap_tenants : 16;
		struct tenant *grown = realloc(d->tenants, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		d->tenants = grown;
		d->cap_tenants = cap;
	}
	d->tenants[d->nr_tenants] = (struct tenant){ .e = *e, .pool = p, .state = "stopped",
						     .route_id = -1 };
	/* A table does not record its own backend: the spec says where it lies. */
	snprintf(d->tenants[d->nr_tenants].e.spec.backend, CONF_NAME_MAX, "%s", p->be->name);
	return &d->tenants[d->nr_tenants++];
}

/* The tenant's scheduler id goes back (its device is gone). */
static void unroute(struct tenant *t)
{
	if (t->route_id >= 0 && t->pool->router)
		router_tenant_del(t->pool->router, (unsigned)t->route_id);
	t->route_id = -1;
}

/* The scheduler follows the tenant's latency target and reservation. */
static void slo_apply(struct tenant *t)
{
	const struct conf_qos *q = &t->e.spec.qos;
	const struct sched_slo slo = {
		.latency_target_us = q->latency_target_us,
		.min_iops = q->min_iops,
		.min_bw = q->min_bw,
	};

	if (t->route_id >= 0)
		router_tenant_slo(t->pool->router, (unsigned)t->route_id, &slo); /* its id: cannot fail */
}

/* Give the tenant a scheduler id with its class, if its pool routes. */
static int route(struct tenant *t, char *err, size_t errlen)
{
	int id;

	if (!t->pool->router || t->route_id >= 0)
		return 0;
	id = router_tenant_add(t->pool->router, t->e.spec.cls);
	if (id < 0) {
		snprintf(err, errlen, "tenant \"%s\": scheduler: %s", t->e.spec.name,
			 strerror(-id));
		return -1;
	}
	t->route_id = id;
	slo_apply(t);
	return 0;
}

static void remove_tenant(struct daemon *d, struct tenant *t)
{
	size_t i = (size_t)(t - d->tenants);

	unroute(t);
	gate_free(t->gate);
	free(t->slo);
	memmove(&d->tenants[i], &d->tenants[i + 1], (d->nr_tenants - i - 1) * sizeof(*t));
	d->nr_tenants--;
}

/*
 * The lowest ublk device id that no tenant records and no device holds.
 * Choosing it before ADD_DEV lets the table record it first: a daemon
 * killed in between finds (and replaces) the half-made device next start.
 */
static int pick_dev_id(struct daemon *d)
{
	for (int id = 0; id < 1 << 20; id++) {
		char node[64];
		bool taken = false;

		for (size_t i = 0; i < d->nr_tenants && !taken; i++)
			taken = d->tenants[i].e.dev_id == id;
		snprintf(node, sizeof(node), "/dev/ublkc%d", id);
		if (!taken && access(node, F_OK) != 0)
			return id;
	}
	return -1;
}

/* Recovery tenants outlive a daemon crash, their in-flight I/O reissued. */
static uint64_t tenant_ublk_flags(const struct daemon *d, const struct tenant *t)
{
	const uint64_t want = UBLK_F_USER_RECOVERY | UBLK_F_USER_RECOVERY_REISSUE;

	if (!t->e.spec.recovery || !(d->ublk_flags & UBLK_F_USER_RECOVERY))
		return 0;
	return d->ublk_flags & want;
}

int tenant_dev_config(struct daemon *d, struct tenant *t, struct ublk_dev_config *cfg,
		      char *err, size_t errlen)
{
	if (!t->gate)
		t->gate = gate_new(t->e.spec.cls, &t->e.spec.qos, &d->conf.sched.cost);
	if (!t->gate) {
		snprintf(err, errlen, "tenant \"%s\": out of memory", t->e.spec.name);
		return -1;
	}
	if (route(t, err, errlen) < 0)
		return -1;
	*cfg = (struct ublk_dev_config){
		.name = t->e.spec.name,
		.dev_id = t->e.dev_id,
		.queues = t->e.spec.queues,
		.depth = t->e.spec.depth,
		.size = t->e.spec.size,
		.be = t->pool->be,
		.be_offset = t->e.offset,
		.gate = &t->gate->gate,
		.flags = tenant_ublk_flags(d, t),
		.router = t->pool->router,
		.route_tenant = t->route_id < 0 ? 0 : (unsigned)t->route_id,
	};
	return 0;
}

/*
 * Bring up the ublk device of a tenant whose extent is already reserved.
 * On failure t->dev is NULL, unless the half-made device could not be
 * deleted again: then t->dev is that device, and t keeps its extent, gate
 * and route for as long as it may use them.
 */
static int tenant_start(struct daemon *d, struct tenant *t, char *err, size_t errlen)
{
	struct ublk_dev_config cfg;
	char why[768];
	int ret;

	if (tenant_dev_config(d, t, &cfg, err, errlen) < 0)
		return -1;
	free(t->slo); /* a new device counts from zero: its SLO intervals start again */
	t->slo = NULL;
	ret = ublk_dev_create(&d->ctrl, d->workers, &cfg, &t->dev, why, sizeof(why));
	if (ret == -1 && cfg.dev_id >= 0 && strstr(why, "already in use")) {
		/* The id it had before is taken: any id will do. */
		log_warn("tenant \"%s\": %s; trying another device id", t->e.spec.name, why);
		cfg.dev_id = -1;
		ret = ublk_dev_create(&d->ctrl, d->workers, &cfg, &t->dev, why, sizeof(why));
	}
	if (ret == UBLK_DEV_STUCK) {
		t->e.dev_id = ublk_dev_id(t->dev);
		t->state = "failed";
		snprintf(err, errlen, "tenant \"%s\": %s; the tenant is kept (state failed) with "
			 "its extent while that device may exist", t->e.spec.name, why);
		return -1;
	}
	if (ret < 0) {
		t->dev = NULL;
		t->state = "failed";
		snprintf(err, errlen, "tenant \"%s\": %s", t->e.spec.name, why);
		return -1;
	}
	t->e.dev_id = ublk_dev_id(t->dev);
	t->state = "live";
	return 0;
}

static void describe_qos(const struct table_entry *e, char *buf, size_t len)
{
	char bw[32];

	const struct conf_qos *q = &e->spec.qos;
	int n;

	n = snprintf(buf, len, "class %s, iops_limit %llu, bw_limit %s/s, weight %u",
		     conf_class_name(e->spec.cls), (unsigned long long)q->iops_limit,
		     q->bw_limit ? format_size(q->bw_limit, bw, sizeof(bw)) : "0", q->weight);
	if (n > 0 && (size_t)n < len && (q->min_iops || q->min_bw))
		n += snprintf(buf + n, len - (size_t)n, ", reserved %llu IOPS + %s/s",
			      (unsigned long long)q->min_iops,
			      q->min_bw ? format_size(q->min_bw, bw, sizeof(bw)) : "0");
	if (n > 0 && (size_t)n < len && q->latency_target_us)
		snprintf(buf + n, len - (size_t)n, ", latency target %u us", q->latency_target_us);
}

/* how: "live" for a new device, or how an existing one came back. */
void log_tenant_up(const struct tenant *t, const char *how)
{
	char sz[32], off[32], qos[256];

	describe_qos(&t->e, qos, sizeof(qos));
	log_info("tenant \"%s\": /dev/ublkb%d %s, %s on backend \"%s\" at offset %s, "
		 "%u queue(s) x depth %u, %s, recovery %s", t->e.spec.name, t->e.dev_id, how,
		 format_size(t->e.spec.size, sz, sizeof(sz)), t->pool->be->name,
		 format_size(t->e.offset, off, sizeof(off)), t->e.spec.queues, t->e.spec.depth, qos,
		 !t->e.spec.recovery ? "off" : t->dev && !ublk_dev_recoverable(t->dev) ?
		 "not supported by this kernel" : "on");
}

/* Why p's scheduler cannot honour a reservation (into err, true), or false. */
static bool resv_unsupported(const struct pool *p, char *err, size_t errlen)
{
	if (p->router && router_mode(p->router) == CONF_SCHED_DAREDEVIL)
		return false;
	snprintf(err, errlen, "min_iops/min_bw need a backend the scheduler orders: an NVMe "
		 "passthrough backend with scheduler.mode = \"daredevil\"; backend \"%s\" is %s",
		 p->be->name, !p->router ? "not one (no scheduler)" :
		 "scheduled in static mode (the kernel's queues decide the order)");
	return true;
}

/*
 * A reservation needs a pool whose scheduler orders requests (daredevil
 * on a passthrough backend), and room: all of the pool's reservations,
 * `self`'s as `want` and not as it was, within COST_MAX_RESERVED_PCT % of
 * the device as the cost model sees it.
 */
static int check_reservation(struct daemon *d, struct pool *p, const struct tenant *self,
			     const struct conf_qos *want, char *err, size_t errlen)
{
	const struct cost_model *m = &d->conf.sched.cost;
	uint64_t sum;

	if ((!want->min_iops && !want->min_bw) || d->resv_prechecked)
		return 0; /* none, or a reload checked where all of its changes end */
	if (resv_unsupported(p, err, errlen))
		return -1;
	sum = conf_reservation_ns(m, want); /* saturating: no wrap past the check */
	for (size_t i = 0; i < d->nr_tenants; i++) {
		const struct tenant *o = &d->tenants[i];

		if (o != self && o->pool == p)
			sum = conf_add_sat(sum, conf_reservation_ns(m, &o->e.spec.qos));
	}
	if (sum > CONF_MAX_RESERVED_NS) {
		snprintf(err, errlen, "reservations on backend \"%s\" would add up to %llu%% of the "
			 "device as the cost model (scheduler.cost_*) sees it; at most %d%% may be "
			 "reserved", p->be->name,
			 (unsigned long long)(sum / (COST_NS_PER_SEC / 100) +
					      (sum % (COST_NS_PER_SEC / 100) != 0)),
			 COST_MAX_RESERVED_PCT);
		return -1;
	}
	return 0;
}

int reservations_fit(struct daemon *d, const struct conf *next, const char *path, char *err,
		     size_t errlen)
{
	const struct cost_model *m = &d->conf.sched.cost;

	for (size_t i = 0; i < d->nr_pools; i++) {
		struct pool *p = &d->pools[i];
		const struct conf_tenant *over = NULL;
		uint64_t sum = 0;

		for (size_t k = 0; k < next->nr_tenants; k++) {
			const struct conf_tenant *ct = &next->tenants[k];
			uint64_t r = conf_reservation_ns(m, &ct->spec.qos);

			if (!r || strcmp(ct->spec.backend, p->be->name))
				continue;
			if (resv_unsupported(p, err, errlen)) {
				char why[512];

				snprintf(why, sizeof(why), "%s", err);
				snprintf(err, errlen, "%s:%d: tenants: tenant \"%s\": %s", path, ct->line,
					 ct->spec.name, why);
				return -1;
			}
			sum = conf_add_sat(sum, r);
			if (!over && sum > CONF_MAX_RESERVED_NS)
				over = ct;
		}
		/* Tenants the policy does not name stay as they are -- unless the reload removes them. */
		for (size_t k = 0; k < d->nr_tenants; k++) {
			const struct tenant *t = &d->tenants[k];
			bool named = false;

			for (size_t j = 0; j < next->nr_tenants && !named; j++)
				named = !strcmp(next->tenants[j].spec.name, t->e.spec.name);
			if (t->pool == p && !named && !t->e.from_policy)
				sum = conf_add_sat(sum, conf_reservation_ns(m, &t->e.spec.qos));
		}
		if (sum > CONF_MAX_RESERVED_NS) {
			snprintf(err, errlen, "%s:%d: tenants: reservations on backend \"%s\" would add up "
				 "to %llu%% of the device as the cost model (scheduler.cost_*) sees it, "
				 "with the tenants added by ublk-ctl; at most %d%% may be reserved", path,
				 over ? over->line : 0, p->be->name,
				 (unsigned long long)(sum / (COST_NS_PER_SEC / 100) +
						      (sum % (COST_NS_PER_SEC / 100) != 0)),
				 COST_MAX_RESERVED_PCT);
			return -1;
		}
	}
	return 0;
}

static int check_shape(struct daemon *d, unsigned queues, unsigned depth, char *err,
		       size_t errlen)
{
	unsigned nr_workers = ublk_workers_count(d->workers);

	if (queues < 1 || queues > nr_workers) {
		snprintf(err, errlen, "queues must be 1..%u (the daemon runs %u worker%s)",
			 nr_workers, nr_workers, nr_workers == 1 ? "" : "s");
		return -1;
	}
	if (depth < 1 || depth > CONF_MAX_DEPTH) {
		snprintf(err, errlen, "depth must be 1..%d", CONF_MAX_DEPTH);
		return -1;
	}
	return 0;
}

void explain_no_room(struct pool *p, uint64_t size, char *err, size_t errlen)
{
	conf_explain_no_room(p->be->name, p->be->size, &p->map, size, err, errlen);
}

static struct pool *usable_pool(struct daemon *d, const char *name, char *err, size_t errlen)
{
	struct pool *p = pool_find(d, name);

	if (!p)
		snprintf(err, errlen, "unknown backend \"%s\"", name);
	else if (p->broken[0])
		snprintf(err, errlen, "backend \"%s\" is not in use: %s", name, p->broken);
	return p && !p->broken[0] ? p : NULL;
}

/* A new tenant's record: everything but the extent and the device id. */
static int new_entry(struct daemon *d, const struct tenant_spec *want, bool from_policy,
		     struct table_entry *e, char *err, size_t errlen)
{
	*e = (struct table_entry){
		.spec = *want,
		.ctime = (uint64_t)time(NULL),
		.from_policy = from_policy,
	};
	if (!e->spec.queues)
		e->spec.queues = CONF_DEFAULT_QUEUES;
	if (!e->spec.depth)
		e->spec.depth = CONF_DEFAULT_DEPTH;
	if (!e->spec.qos.weight)
		e->spec.qos.weight = CONF_DEFAULT_WEIGHT;
	if (getrandom(e->uuid, sizeof(e->uuid), 0) != (ssize_t)sizeof(e->uuid)) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	e->uuid[6] = (uint8_t)((e->uuid[6] & 0x0f) | 0x40); /* version 4 */
	e->uuid[8] = (uint8_t)((e->uuid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	return check_shape(d, e->spec.queues, e->spec.depth, err, errlen);
}

/* Undo a tenant that never became live: record, extent, in that order. */
static void forget_new_tenant(struct daemon *d, struct tenant *t)
{
	struct pool *p = t->pool;
	uint64_t offset = t->e.offset;
	char name[CONF_NAME_MAX], why[512];

	snprintf(name, sizeof(name), "%s", t->e.spec.name);
	remove_tenant(d, t);
	if (pool_save(d, p, why, sizeof(why)) < 0) {
		/* The record comes back at the next start as a tenant; keep its extent. */
		log_err("tenant \"%s\": cannot take it out of the table again: %s", name, why);
		return;
	}
	extent_release(&p->map, offset);
}

int tenant_add(struct daemon *d, const struct tenant_spec *want, bool from_policy,
	       struct tenant **out, char *err, size_t errlen)
{
	struct table_entry e;
	struct pool *p;
	struct tenant *t;
	int recorded_id;
	char why[512];

	if (tenant_find(d, want->name)) {
		snprintf(err, errlen, "tenant \"%s\" already exists", want->name);
		return -1;
	}
	p = usable_pool(d, want->backend, err, errlen);
	if (!p || new_entry(d, want, from_policy, &e, err, errlen) < 0)
		return -1;
	if (check_reservation(d, p, NULL, &want->qos, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "tenant \"%s\": %s", want->name, why);
		return -1;
	}
	if (e.spec.size % p->be->block_size) {
		snprintf(err, errlen, "size must be a multiple of backend \"%s\"'s block size "
			 "(%u)", p->be->name, p->be->block_size);
		return -1;
	}
	if (extent_alloc(&p->map, e.spec.size, &e.offset) < 0) {
		explain_no_room(p, e.spec.size, err, errlen);
		return -1;
	}
	e.dev_id = pick_dev_id(d);
	t = append_tenant(d, &e, p);
	if (!t) {
		extent_release(&p->map, e.offset);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Recorded before the device exists: a crash from here on finds it at start-up. */
	if (pool_save(d, p, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "cannot record tenant \"%s\": %s", e.spec.name, why);
		remove_tenant(d, t);
		extent_release(&p->map, e.offset);
		return -1;
	}
	crash_point(d, "add-recorded");
	recorded_id = t->e.dev_id;
	if (tenant_start(d, t, err, errlen) < 0) {
		if (!t->dev) {
			forget_new_tenant(d, t);
			return -1;
		}
		/* Its device is stuck on the extent: keep the record, so nothing else goes there. */
		if (t->e.dev_id != recorded_id && pool_save(d, p, why, sizeof(why)) < 0)
			log_warn("tenant \"%s\": its device id %d is not recorded (%s)",
				 t->e.spec.name, t->e.dev_id, why);
		snprintf(err + strnlen(err, errlen), errlen - strnlen(err, errlen),
			 "; `ublk-ctl del %s` tries to delete it again", t->e.spec.name);
		return -1;
	}
	crash_point(d, "add-started");
	if (t->e.dev_id != recorded_id && pool_save(d, p, why, sizeof(why)) < 0)
		log_warn("tenant \"%s\": its new device id %d is not recorded (%s); the next "
			 "start picks one again", t->e.spec.name, t->e.dev_id, why);
	log_tenant_up(t, "live");
	*out = t;
	return 0;
}

bool tenant_held(const struct tenant *t, char *who, size_t len)
{
	return t->dev && ublk_disk_holders(ublk_dev_id(t->dev), who, len);
}

bool tenant_unserved(const struct tenant *t, char *why, size_t len)
{
	char node[64];

	if (t->dev || t->e.dev_id < 0)
		return false;
	snprintf(node, sizeof(node), "/dev/ublkc%d", t->e.dev_id);
	if (access(node, F_OK) != 0)
		return false;
	snprintf(why, len, "tenant \"%s\": its ublk device %d still exists but this ddublkd "
		 "does not serve it (start-up left it alone, see the log): whatever serves or "
		 "holds it may still use the extent; nothing was changed (stop that, then "
		 "restart ddublkd)", t->e.spec.name, t->e.dev_id);
	return true;
}

int tenant_del(struct daemon *d, const char *name, bool force, char *err, size_t errlen)
{
	struct tenant *t = tenant_find(d, name);
	struct pool *p;
	uint64_t offset, size;
	char why[512];

	if (!t) {
		snprintf(err, errlen, "no tenant \"%s\"", name);
		return -1;
	}
	/* Not even with --force: the extent may be another server's to use. */
	if (tenant_unserved(t, err, errlen))
		return -1;
	if (tenant_held(t, why, sizeof(why))) {
		if (!force) {
			snprintf(err, errlen, "tenant \"%s\": /dev/ublkb%d is in use: %s; nothing "
				 "was changed (unmount it and stop those processes first, or "
				 "`ublk-ctl del --force %s` to delete it under them: their I/O "
				 "fails)", name, ublk_dev_id(t->dev), why, name);
			return -1;
		}
		log_warn("tenant \"%s\": deleting /dev/ublkb%d although it is in use (--force): %s",
			 name, ublk_dev_id(t->dev), why);
	}
	/* Requests held at its limits would drain at them and time the stop out. */
	gate_lift(t->gate);
	if (t->dev && ublk_dev_destroy(&d->ctrl, t->dev, why, sizeof(why)) < 0) {
		/* It may still use its extent and gate: both stay, and so does the record. */
		gate_set(t->gate, t->e.spec.cls, &t->e.spec.qos);
		t->state = "failed";
		snprintf(err, errlen, "tenant \"%s\": %s; the tenant is kept (state failed) with "
			 "its extent; `ublk-ctl del %s` tries again", name, why, name);
		return -1;
	}
	t->dev = NULL;
	t->state = "stopped";
	crash_point(d, "del-stopped");
	p = t->pool;
	offset = t->e.offset;
	size = t->e.spec.size;
	/*
	 * Zeroed while still recorded: the next tenant there must never read
	 * this one's data, and a crash or a failure here leaves the tenant in
	 * the table, so the delete can be tried again.
	 */
	if (!p->broken[0] && pool_scrub(p, offset, size, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "tenant \"%s\" not deleted: %s; its device is stopped, its "
			 "extent stays recorded and taken (its data may be partly zeroed); "
			 "`ublk-ctl del %s` tries again", name, why, name);
		return -1;
	}
	crash_point(d, "del-zeroed");
	remove_tenant(d, t);
	if (pool_save(d, p, why, sizeof(why)) < 0) {
		/* Still recorded: it comes back next start, so its extent stays taken. */
		snprintf(err, errlen, "tenant \"%s\" deleted but the table was not saved: %s",
			 name, why);
		return -1;
	}
	extent_release(&p->map, offset);
	log_info("tenant \"%s\": deleted; its extent on backend \"%s\" is zeroed and free", name,
		 p->be->name);
	return 0;
}

/* The gate and the scheduler follow t->e's class and QoS. */
static void apply_service(struct tenant *t)
{
	if (t->gate)
		gate_set(t->gate, t->e.spec.cls, &t->e.spec.qos);
	if (t->route_id >= 0)
		router_tenant_set(t->pool->router, (unsigned)t->route_id, t->e.spec.cls);
	slo_apply(t);
}

int tenant_update(struct daemon *d, struct tenant *t, const struct tenant_spec *want, char *err,
		  size_t errlen)
{
	struct table_entry old = t->e;
	char why[512], qos[256];

	if (check_reservation(d, t->pool, t, &want->qos, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "tenant \"%s\": %s; it keeps its class and QoS", t->e.spec.name,
			 why);
		return -1;
	}
	t->e.spec.cls = want->cls;
	t->e.spec.qos = want->qos;
	t->e.from_policy = true;
	if (pool_save(d, t->pool, why, sizeof(why)) < 0) {
		t->e = old;
		snprintf(err, errlen, "tenant \"%s\": cannot record the change: %s",
			 t->e.spec.name, why);
		return -1;
	}
	apply_service(t);
	describe_qos(&t->e, qos, sizeof(qos));
	log_info("tenant \"%s\": now %s", t->e.spec.name, qos);
	return 0;
}

/* t runs with e again (a reshape failed): in memory at once, in the table if it can. */
static void revert_entry(struct daemon *d, struct tenant *t, const struct table_entry *e)
{
	char why[512];

	t->e = *e;
	apply_service(t);
	if (pool_save(d, t->pool, why, sizeof(why)) < 0)
		log_warn("tenant \"%s\": the table keeps the new shape (%s); the next start "
			 "uses it", t->e.spec.name, why);
}

/* The new device is up: keep its id if it changed, and say so. */
static void reshaped(struct daemon *d, struct tenant *t, int recorded_id)
{
	char why[512];

	if (t->e.dev_id != recorded_id && pool_save(d, t->pool, why, sizeof(why)) < 0)
		log_warn("tenant \"%s\": its new device id %d is not recorded (%s); the next "
			 "start picks one again", t->e.spec.name, t->e.dev_id, why);
	log_tenant_up(t, "recreated on the same extent, uuid and data kept");
}

int tenant_reshape(struct daemon *d, struct tenant *t, const struct tenant_spec *want, char *err,
		   size_t errlen)
{
	struct table_entry old = t->e, next = t->e;
	char why[768], again[768];

	/* want's shape and service on the same extent: name, backend and size stay. */
	next.spec = *want;
	next.spec.size = old.spec.size;
	memcpy(next.spec.name, old.spec.name, sizeof(next.spec.name));
	memcpy(next.spec.backend, old.spec.backend, sizeof(next.spec.backend));
	next.from_policy = true;
	if (check_shape(d, next.spec.queues, next.spec.depth, why, sizeof(why)) < 0 ||
	    check_reservation(d, t->pool, t, &next.spec.qos, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "tenant \"%s\": %s; nothing was changed", t->e.spec.name,
			 why);
		return -1;
	}
	if (tenant_held(t, why, sizeof(why))) {
		snprintf(err, errlen, "tenant \"%s\": /dev/ublkb%d is in use: %s; nothing was "
			 "changed (unmount it and stop those processes first)", t->e.spec.name,
			 ublk_dev_id(t->dev), why);
		return -1;
	}
	if (tenant_unserved(t, err, errlen))
		return -1;
	/* Recorded first: a crash from here on brings it back reshaped, on its extent. */
	t->e = next;
	if (pool_save(d, t->pool, why, sizeof(why)) < 0) {
		t->e = old;
		snprintf(err, errlen, "tenant \"%s\": cannot record the new shape: %s; nothing "
			 "was changed", t->e.spec.name, why);
		return -1;
	}
	gate_lift(t->gate); /* as in tenant_del: the stop must not wait on the limits */
	if (t->dev && ublk_dev_destroy(&d->ctrl, t->dev, why, sizeof(why)) < 0) {
		gate_set(t->gate, old.spec.cls, &old.spec.qos);
		revert_entry(d, t, &old);
		t->state = "failed";
		snprintf(err, errlen, "tenant \"%s\": cannot stop its device to recreate it: %s; "
			 "the tenant is kept (state failed) with its record, extent and data; retry "
			 "with `ublk-ctl reload --force`", t->e.spec.name, why);
		return -1;
	}
	t->dev = NULL;
	t->state = "stopped";
	apply_service(t);
	/* No discard, no new extent: the same bytes under a new device. */
	if (tenant_start(d, t, why, sizeof(why)) == 0) {
		reshaped(d, t, old.dev_id);
		return 0;
	}
	if (t->dev) {
		snprintf(err, errlen, "%s; its record and data are kept; restart ddublkd to retry",
			 why);
		return -1;
	}
	revert_entry(d, t, &old);
	if (tenant_start(d, t, again, sizeof(again)) == 0) {
		log_tenant_up(t, "back with its old shape (the new one failed)");
		snprintf(err, errlen, "%s; the tenant is back with its old shape (%u queue(s) x "
			 "depth %u), same extent and data; retry with `ublk-ctl reload --force`",
			 why, t->e.spec.queues, t->e.spec.depth);
		return -1;
	}
	snprintf(err, errlen, "%s; its old shape failed too (%s); the tenant is kept (state "
		 "failed) with its record, extent and data; retry with `ublk-ctl reload --force` "
		 "or by restarting ddublkd", why, again);
	return -1;
}

size_t tenants_stop_all(struct daemon *d, bool keep)
{
	size_t kept = 0;

	for (size_t i = 0; i < d->nr_tenants; i++) {
		struct tenant *t = &d->tenants[i];
		char why[512];

		if (!t->dev)
			continue;
		if (keep && t->e.spec.recovery && ublk_dev_recoverable(t->dev)) {
			log_info("tenant \"%s\": /dev/ublkb%d kept for the next ddublkd "
				 "(on_stop = keep); its I/O waits until then", t->e.spec.name,
				 t->e.dev_id);
			kept++;
			continue;
		}
		gate_lift(t->gate); /* as in tenant_del: the stop must not wait on the limits */
		if (ublk_dev_destroy(&d->ctrl, t->dev, why, sizeof(why)) < 0) {
			gate_set(t->gate, t->e.spec.cls, &t->e.spec.qos);
			log_err("tenant \"%s\": %s", t->e.spec.name, why);
			t->state = "failed";
			continue;
		}
		t->dev = NULL;
		t->state = "stopped";
		log_info("tenant \"%s\": stopped", t->e.spec.name);
	}
	for (size_t i = 0; i < d->nr_tenants; i++) {
		free(d->tenants[i].slo);
		d->tenants[i].slo = NULL;
		if (d->tenants[i].dev)
			continue; /* its device may still call the gate */
		gate_free(d->tenants[i].gate);
		d->tenants[i].gate = NULL;
		unroute(&d->tenants[i]);
	}
	return kept;
}

/*
 * Take one tenant of p's table back into the list, its extent reserved (as
 * allocated: whole MiB), its device not touched yet. "stopped" marks it to
 * be brought up; "failed" leaves it unserved, its extent still taken.
 */
static void record_one(struct daemon *d, struct pool *p, const struct table_entry *e)
{
	struct tenant *t;
	bool clash = tenant_find(d, e->spec.name) != NULL;

	t = append_tenant(d, e, p);
	if (!t) {
		/* Unlisted, its record would go with the next save: leave the backend alone. */
		snprintf(p->broken, sizeof(p->broken), "backend \"%s\": out of memory reading "
			 "its tenant table (tenant \"%s\")", p->be->name, e->spec.name);
		log_err("%s; the backend is left alone until ddublkd restarts", p->broken);
		return;
	}
	/* Kept in the list either way, so that saving p's table keeps its record. */
	t->state = "failed";
	if (conf_reserve_tenant(&p->map, e->offset, e->spec.size) < 0) {
		log_err("tenant \"%s\": its extent %llu+%llu lies outside backend \"%s\"'s "
			"usable space (reserved %llu bytes, %llu bytes); not served", e->spec.name,
			(unsigned long long)e->offset, (unsigned long long)e->spec.size,
			p->be->name, (unsigned long long)p->reserved,
			(unsigned long long)p->map.capacity);
		return;
	}
	/* Its extent stays reserved: no new tenant may be placed on its data. */
	if (clash) {
		log_err("tenant \"%s\" on backend \"%s\": another backend has a tenant of that "
			"name; not served (delete one of them)", e->spec.name, p->be->name);
		return;
	}
	t->state = "stopped";
}

/* Read p's table and take its tenants back (no device is touched). */
static void load_pool(struct daemon *d, struct pool *p)
{
	struct table tab = { 0 };
	char err[1024];

	if (pool_load(p, &tab, err, sizeof(err)) < 0) {
		snprintf(p->broken, sizeof(p->broken), "%s", err);
		log_err("%s; the backend is left alone until that is repaired", err);
		return;
	}
	p->generation = tab.generation;
	p->slot = tab.slot;
	if (tab.nr)
		log_info("backend \"%s\": tenant table generation %llu: %zu tenant(s)",
			 p->be->name, (unsigned long long)tab.generation, tab.nr);
	for (size_t i = 0; i < tab.nr; i++)
		record_one(d, p, &tab.e[i]);
	table_free(&tab);
}

/* Serve a recorded tenant: on the device the last daemon left, or a new one. */
static void bring_up(struct daemon *d, struct tenant *t)
{
	char err[512];

	/* Back on the device the last daemon left (1), or that device is held (-1). */
	if (t->e.dev_id >= 0 && tenant_reattach(d, t) != 0)
		return;
	if (tenant_start(d, t, err, sizeof(err)) < 0) {
		/* Keep it in the table: its data is there; the operator decides. */
		log_err("%s", err);
		return;
	}
	log_tenant_up(t, "live");
}

/* Bring up every tenant the tables recorded; record the device ids that changed. */
static void bring_up_recorded(struct daemon *d, size_t nr)
{
	bool *moved = calloc(d->nr_pools ? d->nr_pools : 1, sizeof(*moved));
	char err[1024];

	for (size_t i = 0; i < nr; i++) {
		struct tenant *t = &d->tenants[i];
		int id = t->e.dev_id;

		if (strcmp(t->state, "stopped") != 0)
			continue;
		bring_up(d, t);
		if (moved && t->e.dev_id != id)
			moved[t->pool - d->pools] = true;
	}
	for (size_t i = 0; i < d->nr_pools; i++)
		if ((moved ? moved[i] : !d->pools[i].broken[0]) &&
		    pool_save(d, &d->pools[i], err, sizeof(err)) < 0)
			log_warn("backend \"%s\": new device ids not recorded: %s",
				 d->pools[i].be->name, err);
	free(moved);
}

static bool qos_same(const struct conf_qos *a, const struct conf_qos *b)
{
	return a->iops_limit == b->iops_limit && a->bw_limit == b->bw_limit &&
	       a->weight == b->weight && a->min_iops == b->min_iops && a->min_bw == b->min_bw &&
	       a->latency_target_us == b->latency_target_us;
}

/* A policy tenant the tables already have: the policy's class and QoS win. */
static int adopt_from_policy(struct daemon *d, struct tenant *t, const struct conf_tenant *ct,
			     char *err, size_t errlen)
{
	const struct tenant_spec *want = &ct->spec, *have = &t->e.spec;

	if (strcmp(t->pool->be->name, want->backend) || have->size != want->size ||
	    have->queues != want->queues || have->depth != want->depth)
		log_warn("tenant \"%s\": the policy (line %d) asks for %llu bytes on \"%s\", %u "
			 "queue(s) x %u, but the tenant table has %llu bytes on \"%s\", %u x %u; "
			 "keeping the table's (ublk-ctl reload --force recreates it)", want->name,
			 ct->line, (unsigned long long)want->size, want->backend, want->queues,
			 want->depth, (unsigned long long)have->size, t->pool->be->name,
			 have->queues, have->depth);
	if (have->cls == want->cls && qos_same(&have->qos, &want->qos) && t->e.from_policy)
		return 0;
	return tenant_update(d, t, want, err, errlen);
}

static bool has_tenant(void *ctx, const char *name)
{
	return tenant_find(ctx, name) != NULL;
}

/* What tenant_add would refuse of a policy tenant, short of placing it. */
static int policy_tenant_ok(struct daemon *d, const struct conf_tenant *ct, char *why,
			    size_t len)
{
	struct pool *p = pool_find(d, ct->spec.backend);

	if (check_shape(d, ct->spec.queues ? ct->spec.queues : CONF_DEFAULT_QUEUES,
			ct->spec.depth ? ct->spec.depth : CONF_DEFAULT_DEPTH, why, len) < 0)
		return -1;
	if (p && !p->broken[0] && ct->spec.size % p->be->block_size) {
		snprintf(why, len, "size must be a multiple of backend \"%s\"'s block size (%u)",
			 p->be->name, p->be->block_size);
		return -1;
	}
	if (p && !p->broken[0] && check_reservation(d, p, NULL, &ct->spec.qos, why, len) < 0)
		return -1;
	return 0;
}

/*
 * Before any device is touched: every policy tenant the tables do not
 * have must be creatable, and fit where first fit will place it (on the
 * real extent maps, the tables' tenants reserved; then undone). If one
 * does not, the start is refused and no tenant is created or touched.
 */
static int policy_fits(struct daemon *d, char *err, size_t errlen)
{
	struct conf_room *rooms = calloc(d->conf.nr_backends ? d->conf.nr_backends : 1,
					 sizeof(*rooms));
	size_t bad = 0;
	char why[512];
	int ret = 0;

	if (!rooms) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < d->conf.nr_tenants && ret == 0; i++) {
		if (tenant_find(d, d->conf.tenants[i].spec.name))
			continue;
		ret = policy_tenant_ok(d, &d->conf.tenants[i], why, sizeof(why));
		bad = i;
	}
	for (size_t i = 0; i < d->conf.nr_backends && ret == 0; i++) {
		struct pool *p = pool_find(d, d->conf.backends[i].name);

		if (p)
			rooms[i] = (struct conf_room){ .bytes = p->be->size,
						       .map = p->broken[0] ? NULL : &p->map,
						       .refused = p->broken[0] ? p->broken : NULL };
	}
	if (ret == 0)
		ret = conf_place_new(&d->conf, rooms, has_tenant, d, &bad, why, sizeof(why));
	if (ret < 0)
		snprintf(err, errlen, "tenant \"%s\" (policy line %d): %s; no tenant was created "
			 "and no device touched", d->conf.tenants[bad].spec.name,
			 d->conf.tenants[bad].line, why);
	free(rooms);
	return ret;
}

int tenants_restore(struct daemon *d, char *err, size_t errlen)
{
	char why[512];
	int ret = 0;

	for (size_t i = 0; i < d->nr_pools; i++)
		load_pool(d, &d->pools[i]);
	if (policy_fits(d, err, errlen) < 0)
		return -1;
	if (reservations_fit(d, &d->conf, d->policy_path, why, sizeof(why)) < 0)
		log_warn("%s; the reservations are kept as recorded, and the scheduler serves the "
			 "reserved tenants first in turn: lower them (policy, or ublk-ctl del and "
			 "add) or the scheduler.cost_* keys", why);
	bring_up_recorded(d, d->nr_tenants);
	/* policy_fits() checked each new tenant's reservation, the policy its sums */
	d->resv_prechecked = true;
	for (size_t i = 0; i < d->conf.nr_tenants && ret == 0; i++) {
		const struct conf_tenant *ct = &d->conf.tenants[i];
		struct tenant *t = tenant_find(d, ct->spec.name);

		if (t) {
			if (adopt_from_policy(d, t, ct, why, sizeof(why)) < 0)
				log_err("%s", why);
			continue;
		}
		if (tenant_add(d, &ct->spec, true, &t, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "tenant \"%s\" (policy line %d): %s", ct->spec.name,
				 ct->line, why);
			ret = -1;
		}
	}
	d->resv_prechecked = false;
	return ret;
}
