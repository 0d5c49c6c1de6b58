/* SPDX-License-Identifier: MIT */
/*
 * Pools: the backends tenants are carved from. The first `reserved` bytes
 * of each hold its tenant table (conf/table.h), read at start-up and
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

#include "common/clock.h"
#include "common/log.h"
#include "common/units.h"
#include "daemon/daemon.h"
#include "sched/sched.h"

static void log_backend(const struct backend *be)
{
	char sz[32], xfer[32], queues[32] = "unknown";

	format_size(be->size, sz, sizeof(sz));
	if (!be->max_transfer) {
		log_info("backend \"%s\": %s on %s (%s), %s, block size %u", be->name,
			 be->ops->kind, be->path, be->is_blockdev ? "block device" : "file", sz,
			 be->block_size);
		return;
	}
	if (be->nr_io_queues)
		snprintf(queues, sizeof(queues), "%u", be->nr_io_queues);
	log_info("backend \"%s\": %s on %s, %s, LBA size %u, max transfer %s, %s I/O queues",
		 be->name, be->ops->kind, be->path, sz, be->block_size,
		 format_size(be->max_transfer, xfer, sizeof(xfer)), queues);
}

/* struct table_io over the backend's own I/O path. */
static int meta_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	return backend_sync(ctx, BIO_READ, buf, len, off);
}

static int meta_write(void *ctx, const void *buf, size_t len, uint64_t off)
{
	return backend_sync(ctx, BIO_WRITE, (void *)buf, len, off);
}

static int meta_flush(void *ctx)
{
	return backend_sync(ctx, BIO_FLUSH, NULL, 0, 0);
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

	pool_what(p, what, sizeof(what));
	return table_load(&io, what, out, err, errlen);
}

int pool_save(struct daemon *d, struct pool *p, char *err, size_t errlen)
{
	struct table t = { .generation = p->generation, .slot = p->slot };
	struct table_io io = pool_io(p);
	char what[PATH_MAX + 96];
	int ret = 0;

	for (size_t i = 0; i < d->nr_tenants && ret == 0; i++)
		if (d->tenants[i].pool == p && table_append(&t, &d->tenants[i].e) < 0) {
			snprintf(err, errlen, "backend \"%s\": more than %d tenants", p->be->name,
				 TABLE_MAX_ENTRIES);
			ret = -1;
		}
	pool_what(p, what, sizeof(what));
	if (ret == 0)
		ret = table_save(&io, what, &t, err, errlen);
	if (ret == 0) {
		p->generation = t.generation;
		p->slot = t.slot;
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
	char why[512];

	if (!p->be->nvme_ns[0]) {
		if (cs->mode == CONF_SCHED_DAREDEVIL)
			log_info("backend \"%s\": not NVMe passthrough, so no NVMe queues to "
				 "schedule: every worker submits to it directly", p->be->name);
		return;
	}
	if (router_create(p->be, p->be->nvme_ns, cs, &p->router, why, sizeof(why)) < 0) {
		p->router = NULL;
		log_warn("backend \"%s\": no queue routing (%s); every worker submits to its own "
			 "CPU's NVMe queue", p->be->name, why);
	}
}

static int pool_open(const struct conf_backend *cb, const struct conf_sched *cs, struct pool *p,
		     char *err, size_t errlen)
{
	uint64_t end;
	char sz[32], res[32];

	if (backend_open(cb, &p->be, err, errlen) < 0)
		return -1;
	p->reserved = cb->reserved > TABLE_REGION_BYTES ? cb->reserved : TABLE_REGION_BYTES;
	p->slot = -1;
	end = round_down_u64(p->be->size, POOL_ALIGN);
	if (end <= p->reserved) {
		snprintf(err, errlen, "backend \"%s\": %s is too small (%s; the tenant table "
			 "alone takes %s)", cb->name, p->be->path,
			 format_size(p->be->size, sz, sizeof(sz)),
			 format_size(p->reserved, res, sizeof(res)));
		return -1;
	}
	extent_map_init(&p->map, p->reserved, end, POOL_ALIGN);
	log_backend(p->be);
	pool_route(p, cs);
	return 0;
}

int pools_open(struct daemon *d, char *err, size_t errlen)
{
	d->pools = calloc(d->conf.nr_backends ? d->conf.nr_backends : 1, sizeof(*d->pools));
	if (!d->pools) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < d->conf.nr_backends; i++) {
		if (pool_open(&d->conf.backends[i], &d->conf.sched, &d->pools[i], err, errlen) < 0) {
			backend_close(d->pools[i].be);
			return -1;
		}
		d->nr_pools++;
	}
	return 0;
}

void pools_close(struct daemon *d)
{
	for (size_t i = 0; i < d->nr_pools; i++) {
		extent_map_free(&d->pools[i].map);
		if (d->pools[i].router)
			router_log_counts(d->pools[i].router);
		router_destroy(d->pools[i].router);
		backend_close(d->pools[i].be);
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
