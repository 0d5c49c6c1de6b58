/* SPDX-License-Identifier: MIT */
/*
 * Pools: the backends tenants are carved from. The first `reserved` bytes
 * of each hold its tenant table (store/table.h), read at start-up and
 * rewritten, as a new generation, on every change of its tenants.
 *
 * An NVMe passthrough pool gets a router (router/): its tenants' requests
 * go to the NVMe queues the scheduler picks. File pools, and passthrough
 * pools whose router cannot be built, keep the plain path: each worker
 * submits on its own ring, to its own CPU's queue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/units.h"
#include "backend/backend_id.h"
#include "daemon/daemon.h"
#include "backend/identify.h"
#include "sched/sched.h"

static void log_backend(const struct backend *be)
{
	char what[PATH_MAX + 160];

	be->ops->describe(be, what, sizeof(what));
	log_info("backend \"%s\": %s %s", be->name, be->ops->kind, what);
}

/* struct table_io over the backend's own I/O path. */
static int meta_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	return backend_sync(ctx, IO_OP_READ, buf, len, off);
}

static int meta_write(void *ctx, const void *buf, size_t len, uint64_t off)
{
	return backend_sync(ctx, IO_OP_WRITE, (void *)buf, len, off);
}

static int meta_flush(void *ctx)
{
	return backend_sync(ctx, IO_OP_FLUSH, NULL, 0, 0);
}

static struct table_io pool_io(struct pool *p)
{
	return (struct table_io){ .ctx = p->be, .read = meta_read, .write = meta_write,
				  .flush = meta_flush };
}

static void pool_what(const struct pool *p, char *buf, size_t len)
{
	snprintf(buf, len, "backend \"%s\" (%s)", p->be->name, p->be->path);
}

int pool_load(struct pool *p, struct table *out, char *err, size_t errlen)
{
	struct table_io io = pool_io(p);
	char what[PATH_MAX + 96];

	/* pools_open read it already; what it found stands */
	if (p->broken[0]) {
		snprintf(err, errlen, "%s", p->broken);
		return -1;
	}
	if (p->have_loaded) {
		*out = p->loaded;
		p->loaded = (struct table){ .slot = -1 };
		p->have_loaded = false;
		return 0;
	}
	pool_what(p, what, sizeof(what));
	return table_load(&io, what, out, err, errlen);
}

static void format_uuid(const uint8_t u[TABLE_UUID_BYTES], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

static bool uuid_set(const uint8_t u[TABLE_UUID_BYTES])
{
	for (int i = 0; i < TABLE_UUID_BYTES; i++)
		if (u[i])
			return true;
	return false;
}

/*
 * Read p's table for tenants_restore. A table that cannot be read leaves
 * the backend refused (p->broken): nothing is placed on it.
 */
static void pool_read_table(struct pool *p)
{
	char uuid[37], err[1024];

	p->have_loaded = false;
	if (pool_load(p, &p->loaded, err, sizeof(err)) < 0) {
		snprintf(p->broken, sizeof(p->broken), "%s", err);
		return;
	}
	p->have_loaded = true;
	p->table_version = p->loaded.version;
	memcpy(p->uuid, p->loaded.uuid, sizeof(p->uuid));
	if (uuid_set(p->uuid)) {
		format_uuid(p->uuid, uuid);
		log_info("backend \"%s\": uuid %s (tenant table generation %llu)", p->be->name,
			 uuid, (unsigned long long)p->loaded.generation);
		return;
	}
	/* a fresh backend, or a version 1 table: its next save records this one */
	if (getrandom(p->uuid, sizeof(p->uuid), 0) != (ssize_t)sizeof(p->uuid)) {
		snprintf(p->broken, sizeof(p->broken), "backend \"%s\": no random uuid: %s",
			 p->be->name, strerror(errno));
		return;
	}
	p->uuid[6] = (uint8_t)((p->uuid[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
	p->uuid[8] = (uint8_t)((p->uuid[8] & 0x3f) | 0x80);
	format_uuid(p->uuid, uuid);
	log_info("backend \"%s\": %s; uuid %s from its next table save", p->be->name,
		 p->loaded.generation ? "tenant table without a uuid (format 1)" :
					"no tenant table yet", uuid);
}

int pool_save(struct daemon *d, struct pool *p, char *err, size_t errlen)
{
	struct table t = { .generation = p->generation, .slot = p->slot,
			   .version = p->table_version };
	struct table_io io = pool_io(p);
	char what[PATH_MAX + 96];
	int ret = 0;

	for (size_t i = 0; i < d->nr_tenants && ret == 0; i++)
		if (d->tenants[i].pool == p && table_append(&t, &d->tenants[i].e) < 0) {
			snprintf(err, errlen, "backend \"%s\": more than %d tenants", p->be->name,
				 TABLE_MAX_ENTRIES);
			ret = -1;
		}
	memcpy(t.uuid, p->uuid, sizeof(t.uuid));
	pool_what(p, what, sizeof(what));
	if (ret == 0)
		ret = table_save(&io, what, &t, err, errlen);
	if (ret == 0) {
		p->generation = t.generation;
		p->slot = t.slot;
		p->table_version = t.version;
		log_debug("backend \"%s\": tenant table generation %llu (%zu tenants) in copy %c",
			  p->be->name, (unsigned long long)t.generation, t.nr, "AB"[t.slot]);
	}
	table_free(&t);
	return ret;
}

int pool_scrub(struct pool *p, uint64_t offset, uint64_t size, char *err, size_t errlen)
{
	char off[32], sz[32];
	uint64_t t0 = monotonic_ns();
	int ret = backend_zero(p->be, size, offset);

	format_size(offset, off, sizeof(off));
	format_size(size, sz, sizeof(sz));
	if (ret < 0) {
		snprintf(err, errlen, "backend \"%s\": cannot zero the extent %s+%s: %s",
			 p->be->name, off, sz, strerror(-ret));
		return -1;
	}
	log_info("backend \"%s\": extent %s+%s zeroed in %llu ms", p->be->name, off, sz,
		 (unsigned long long)((monotonic_ns() - t0) / 1000000));
	return 0;
}

static void pool_route(struct pool *p, const struct conf_sched *cs)
{
	const char *ns = backend_route_ns(p->be);
	char why[512];

	if (!ns) {
		if (cs->mode == CONF_SCHED_DAREDEVIL)
			log_info("backend \"%s\": not NVMe passthrough, so no NVMe queues to "
				 "schedule: every worker submits to it directly", p->be->name);
		return;
	}
	if (router_create(p->be, ns, cs, &p->router, why, sizeof(why)) < 0) {
		p->router = NULL;
		log_warn("backend \"%s\": no queue routing (%s); every worker submits to its own "
			 "CPU's NVMe queue", p->be->name, why);
	}
}

static int pool_open(const struct conf_backend *cb, const struct backend_id *id,
		     const struct conf_sched *cs, struct pool *p, char *err, size_t errlen)
{
	uint64_t end;
	char sz[32], res[32];

	p->loaded.slot = -1;
	if (backend_claim(cb, id, p->claim, err, errlen) < 0)
		return -1;
	if (backend_open(cb, &p->be, err, errlen) < 0) {
		backend_unclaim(p->claim);
		return -1;
	}
	p->reserved = cb->reserved > TABLE_REGION_BYTES ? cb->reserved : TABLE_REGION_BYTES;
	p->slot = -1;
	end = round_down_u64(p->be->size, POOL_ALIGN);
	if (end <= p->reserved) {
		snprintf(err, errlen, "backend \"%s\": %s is too small (%s; the tenant table "
			 "alone takes %s)", cb->name, p->be->path,
			 format_size(p->be->size, sz, sizeof(sz)),
			 format_size(p->reserved, res, sizeof(res)));
		backend_unclaim(p->claim);
		return -1;
	}
	extent_map_init(&p->map, p->reserved, end, POOL_ALIGN);
	log_backend(p->be);
	pool_route(p, cs);
	return 0;
}

/* The policy's backends are distinct and fit to serve: "FILE:LINE: backends[N]: ..." */
static int backends_check(const struct daemon *d, struct backend_id *ids, char *err,
			  size_t errlen)
{
	char why[PATH_MAX + 1024];

	backends_identify(&d->conf, ids);
	if (conf_check_backend_ids(&d->conf, ids, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s:%s", d->policy_path ? d->policy_path : "policy", why);
		return -1;
	}
	return 0;
}

/*
 * Two tables with one uuid: one device under two names that the checks
 * above could not see (device-mapper, multipath, a copy of an image).
 */
static int uuids_distinct(const struct daemon *d, char *err, size_t errlen)
{
	char uuid[37];

	for (size_t i = 0; i < d->nr_pools; i++) {
		const struct pool *a = &d->pools[i];

		if (a->broken[0] || !a->have_loaded || !uuid_set(a->loaded.uuid))
			continue;
		for (size_t j = 0; j < i; j++) {
			const struct pool *b = &d->pools[j];

			if (b->broken[0] || !b->have_loaded ||
			    memcmp(a->loaded.uuid, b->loaded.uuid, sizeof(a->uuid)))
				continue;
			format_uuid(a->uuid, uuid);
			snprintf(err, errlen, "%s:%d: backends[%zu]: its tenant table has uuid %s, "
				 "the same as backends[%zu] (line %d): one device under two names, "
				 "or a copy of it", d->policy_path ?
				 d->policy_path : "policy", d->conf.backends[i].line, i, uuid, j,
				 d->conf.backends[j].line);
			return -1;
		}
	}
	return 0;
}

int pools_open(struct daemon *d, char *err, size_t errlen)
{
	struct backend_id *ids = calloc(d->conf.nr_backends ? d->conf.nr_backends : 1,
					sizeof(*ids));
	int ret = -1;

	d->pools = calloc(d->conf.nr_backends ? d->conf.nr_backends : 1, sizeof(*d->pools));
	if (!d->pools || !ids) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (backends_check(d, ids, err, errlen) < 0)
		goto out;
	for (size_t i = 0; i < d->conf.nr_backends; i++) {
		if (pool_open(&d->conf.backends[i], &ids[i], &d->conf.sched, &d->pools[i], err,
			      errlen) < 0) {
			backend_close(d->pools[i].be);
			goto out;
		}
		d->nr_pools++;
	}
	/* every backend claimed: only now is any table read */
	for (size_t i = 0; i < d->nr_pools; i++)
		pool_read_table(&d->pools[i]);
	ret = uuids_distinct(d, err, errlen);
out:
	free(ids);
	return ret;
}

void pools_close(struct daemon *d)
{
	for (size_t i = 0; i < d->nr_pools; i++) {
		extent_map_free(&d->pools[i].map);
		if (d->pools[i].router)
			router_log_counts(d->pools[i].router);
		router_destroy(d->pools[i].router);
		backend_close(d->pools[i].be);
		table_free(&d->pools[i].loaded);
		backend_unclaim(d->pools[i].claim);
	}
	free(d->pools);
	d->pools = NULL;
	d->nr_pools = 0;
}

struct pool *pool_find(struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->nr_pools; i++)
		if (strcmp(d->pools[i].be->name, name) == 0)
			return &d->pools[i];
	return NULL;
}

void pools_set_poll(struct daemon *d, enum conf_poll poll)
{
	static const char *const how[] = {
		[CONF_POLL_AUTO] = "latency tenants on polled NVMe queues, polled hybrid (sleeping "
				   "half their mean completion time first); throughput tenants on "
				   "interrupts",
		[CONF_POLL_ALWAYS] = "every group on polled NVMe queues, polled without pause",
		[CONF_POLL_NEVER] = "interrupts only (polled NVMe queues only for a group that has "
				    "no other queue)",
	};
	bool any = false;

	ublk_workers_set_hybrid_poll(d->workers, poll != CONF_POLL_ALWAYS);
	for (size_t i = 0; i < d->nr_pools; i++) {
		if (!d->pools[i].router)
			continue;
		router_set_poll(d->pools[i].router, poll);
		any = true;
	}
	if (any)
		log_info("scheduler.poll = \"%s\": %s", conf_poll_name(poll), how[poll]);
}

int pools_tick(struct daemon *d)
{
	int next = -1;

	for (size_t i = 0; i < d->nr_pools; i++) {
		if (!d->pools[i].router)
			continue;
		router_tick(d->pools[i].router);
		/* I/O runs the adaptation too; this is for a backend gone quiet. */
		next = d->conf.sched.adapt_interval_ms ? (int)d->conf.sched.adapt_interval_ms :
							   SCHED_DEFAULT_ADAPT_INTERVAL_MS;
	}
	return next;
}
