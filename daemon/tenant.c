/* SPDX-License-Identifier: MIT */
/*
 * Tenants: a name, an extent on a backend, and the ublk device that serves
 * it. Every change is all-or-nothing: a request that cannot be honoured
 * leaves the table, the extents and the devices as they were.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/units.h"
#include "daemon/daemon.h"

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

int pools_open(struct daemon *d, char *err, size_t errlen)
{
	d->pools = calloc(d->conf.nr_backends ? d->conf.nr_backends : 1, sizeof(*d->pools));
	if (!d->pools) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < d->conf.nr_backends; i++) {
		const struct conf_backend *cb = &d->conf.backends[i];
		struct pool *p = &d->pools[i];
		uint64_t end;
		char sz[32];

		if (backend_open(cb, &p->be, err, errlen) < 0)
			return -1;
		d->nr_pools++;
		end = round_down_u64(p->be->size, POOL_ALIGN);
		if (end <= POOL_METADATA_BYTES) {
			snprintf(err, errlen, "backend \"%s\": %s is too small (%s; need more than "
				 "1 MiB)", cb->name, p->be->path, format_size(p->be->size, sz, sizeof(sz)));
			return -1;
		}
		extent_map_init(&p->map, POOL_METADATA_BYTES, end, POOL_ALIGN);
		log_backend(p->be);
	}
	return 0;
}

void pools_close(struct daemon *d)
{
	for (size_t i = 0; i < d->nr_pools; i++) {
		extent_map_free(&d->pools[i].map);
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

struct tenant *tenant_find(struct daemon *d, const char *name)
{
	for (size_t i = 0; i < d->nr_tenants; i++)
		if (strcmp(d->tenants[i].rec.name, name) == 0)
			return &d->tenants[i];
	return NULL;
}

void tenant_info(const struct tenant *t, struct ctl_tenant_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", t->rec.name);
	snprintf(info->backend, sizeof(info->backend), "%s", t->rec.backend);
	snprintf(info->state, sizeof(info->state), "%s", t->state);
	info->dev_id = t->dev ? ublk_dev_id(t->dev) : -1;
	if (t->dev)
		snprintf(info->device, sizeof(info->device), "/dev/ublkb%d", info->dev_id);
	info->offset = t->rec.offset;
	info->size = t->rec.size;
	info->queues = t->rec.queues;
	info->depth = t->rec.depth;
}

static int save_table(struct daemon *d, char *err, size_t errlen)
{
	struct tenant_rec *recs = calloc(d->nr_tenants ? d->nr_tenants : 1, sizeof(*recs));
	int ret;

	if (!recs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < d->nr_tenants; i++)
		recs[i] = d->tenants[i].rec;
	ret = state_save(d->conf.state_file, recs, d->nr_tenants, err, errlen);
	free(recs);
	return ret;
}

static struct tenant *append_tenant(struct daemon *d, const struct tenant_rec *rec)
{
	if (d->nr_tenants == d->cap_tenants) {
		size_t cap = d->cap_tenants ? 2 * d->cap_tenants : 16;
		struct tenant *grown = realloc(d->tenants, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		d->tenants = grown;
		d->cap_tenants = cap;
	}
	d->tenants[d->nr_tenants] = (struct tenant){ .rec = *rec, .state = "stopped" };
	return &d->tenants[d->nr_tenants++];
}

static void remove_tenant(struct daemon *d, struct tenant *t)
{
	size_t i = (size_t)(t - d->tenants);

	memmove(&d->tenants[i], &d->tenants[i + 1], (d->nr_tenants - i - 1) * sizeof(*t));
	d->nr_tenants--;
}

/* Bring up the ublk device of a tenant whose extent is already reserved. */
static int tenant_start(struct daemon *d, struct tenant *t, struct pool *p, char *err,
			size_t errlen)
{
	struct ublk_dev_config cfg = {
		.name = t->rec.name,
		.dev_id = t->rec.dev_id,
		.queues = t->rec.queues,
		.depth = t->rec.depth,
		.size = t->rec.size,
		.be = p->be,
		.be_offset = t->rec.offset,
	};
	char why[512];

	if (ublk_dev_create(&d->ctrl, d->workers, &cfg, &t->dev, why, sizeof(why)) < 0 &&
	    cfg.dev_id >= 0 && strstr(why, "already in use")) {
		/* The id it had before is taken: any id will do. */
		log_warn("tenant \"%s\": %s; trying another device id", t->rec.name, why);
		cfg.dev_id = -1;
		t->dev = NULL;
	}
	if (!t->dev && ublk_dev_create(&d->ctrl, d->workers, &cfg, &t->dev, why, sizeof(why)) < 0) {
		t->dev = NULL;
		t->state = "failed";
		snprintf(err, errlen, "tenant \"%s\": %s", t->rec.name, why);
		return -1;
	}
	t->rec.dev_id = ublk_dev_id(t->dev);
	t->state = "live";
	return 0;
}

static void log_tenant_up(const struct tenant *t)
{
	char sz[32], off[32];

	log_info("tenant \"%s\": /dev/ublkb%d live, %s on backend \"%s\" at offset %s, "
		 "%u queue(s) x depth %u", t->rec.name, t->rec.dev_id,
		 format_size(t->rec.size, sz, sizeof(sz)), t->rec.backend,
		 format_size(t->rec.offset, off, sizeof(off)), t->rec.queues, t->rec.depth);
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

static void explain_no_room(struct pool *p, uint64_t size, char *err, size_t errlen)
{
	char want[32], free_b[32], largest[32], usable[32];
	uint64_t capacity = p->map.capacity - p->map.base;

	if (size > capacity) {
		snprintf(err, errlen, "%s is larger than backend \"%s\" (%s usable of %s)",
			 format_size(size, want, sizeof(want)), p->be->name,
			 format_size(capacity, usable, sizeof(usable)),
			 format_size(p->be->size, largest, sizeof(largest)));
		return;
	}
	snprintf(err, errlen, "backend \"%s\" has no room for %s (free: %s, largest free "
		 "extent: %s)", p->be->name, format_size(size, want, sizeof(want)),
		 format_size(extent_free_bytes(&p->map), free_b, sizeof(free_b)),
		 format_size(extent_largest_free(&p->map), largest, sizeof(largest)));
}

int tenant_add(struct daemon *d, const struct ctl_request *req, struct tenant **out,
	       char *err, size_t errlen)
{
	struct tenant_rec rec = { .dev_id = -1 };
	struct pool *p = pool_find(d, req->backend);
	struct tenant *t;
	char why[512];

	if (tenant_find(d, req->name)) {
		snprintf(err, errlen, "tenant \"%s\" already exists", req->name);
		return -1;
	}
	if (!p) {
		snprintf(err, errlen, "unknown backend \"%s\"", req->backend);
		return -1;
	}
	snprintf(rec.name, sizeof(rec.name), "%s", req->name);
	snprintf(rec.backend, sizeof(rec.backend), "%s", req->backend);
	rec.size = req->size;
	rec.queues = req->queues ? req->queues : CONF_DEFAULT_QUEUES;
	rec.depth = req->depth ? req->depth : CONF_DEFAULT_DEPTH;
	if (check_shape(d, rec.queues, rec.depth, err, errlen) < 0)
		return -1;
	if (rec.size % p->be->block_size) {
		snprintf(err, errlen, "size must be a multiple of backend \"%s\"'s block size "
			 "(%u)", p->be->name, p->be->block_size);
		return -1;
	}
	if (extent_alloc(&p->map, rec.size, &rec.offset) < 0) {
		explain_no_room(p, rec.size, err, errlen);
		return -1;
	}
	t = append_tenant(d, &rec);
	if (!t) {
		extent_release(&p->map, rec.offset);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (tenant_start(d, t, p, err, errlen) < 0) {
		remove_tenant(d, t);
		extent_release(&p->map, rec.offset);
		return -1;
	}
	if (save_table(d, why, sizeof(why)) < 0) {
		/* Unsaved, the tenant would vanish at the next start: undo it. */
		snprintf(err, errlen, "cannot record tenant \"%s\": %s", rec.name, why);
		if (ublk_dev_destroy(&d->ctrl, t->dev, why, sizeof(why)) < 0)
			log_err("tenant \"%s\": rollback: %s", rec.name, why);
		remove_tenant(d, t);
		extent_release(&p->map, rec.offset);
		return -1;
	}
	log_tenant_up(t);
	*out = t;
	return 0;
}

int tenant_del(struct daemon *d, const char *name, char *err, size_t errlen)
{
	struct tenant *t = tenant_find(d, name);
	struct pool *p;
	char why[512];

	if (!t) {
		snprintf(err, errlen, "no tenant \"%s\"", name);
		return -1;
	}
	if (t->dev && ublk_dev_destroy(&d->ctrl, t->dev, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "tenant \"%s\": %s", name, why);
		return -1;
	}
	t->dev = NULL;
	p = pool_find(d, t->rec.backend);
	if (p)
		extent_release(&p->map, t->rec.offset);
	log_info("tenant \"%s\": deleted; its extent on backend \"%s\" is free", name,
		 t->rec.backend);
	remove_tenant(d, t);
	if (save_table(d, why, sizeof(why)) < 0) {
		/* The device is gone already; the stale record comes back as "failed". */
		snprintf(err, errlen, "tenant \"%s\" deleted but the table was not saved: %s",
			 name, why);
		return -1;
	}
	return 0;
}

void tenants_stop_all(struct daemon *d)
{
	for (size_t i = 0; i < d->nr_tenants; i++) {
		struct tenant *t = &d->tenants[i];
		char why[512];

		if (!t->dev)
			continue;
		if (ublk_dev_destroy(&d->ctrl, t->dev, why, sizeof(why)) < 0) {
			log_err("tenant \"%s\": %s", t->rec.name, why);
			continue;
		}
		t->dev = NULL;
		t->state = "stopped";
		log_info("tenant \"%s\": stopped", t->rec.name);
	}
}

/* Bring back one tenant of the saved table on exactly its old extent. */
static int restore_one(struct daemon *d, const struct tenant_rec *rec, char *err,
		       size_t errlen)
{
	struct pool *p = pool_find(d, rec->backend);
	struct tenant *t;

	if (!p) {
		log_err("tenant \"%s\": its backend \"%s\" is not in the policy; not served "
			"(its extent is kept)", rec->name, rec->backend);
		t = append_tenant(d, rec);
		if (t)
			t->state = "failed";
		return t ? 0 : -1;
	}
	if (extent_reserve(&p->map, rec->offset, rec->size) < 0) {
		snprintf(err, errlen, "%s: tenant \"%s\": extent %llu+%llu overlaps another "
			 "tenant or lies outside backend \"%s\"", d->conf.state_file, rec->name,
			 (unsigned long long)rec->offset, (unsigned long long)rec->size,
			 rec->backend);
		return -1;
	}
	t = append_tenant(d, rec);
	if (!t)
		return -1;
	if (rec->dev_id >= 0)
		ublk_dev_remove_stale(&d->ctrl, (uint32_t)rec->dev_id);
	if (tenant_start(d, t, p, err, errlen) < 0) {
		/* Keep it in the table: its data is there; the operator decides. */
		log_err("%s", err);
		return 0;
	}
	log_tenant_up(t);
	return 0;
}

static int restore_from_policy(struct daemon *d, const struct conf_tenant *ct, char *err,
			       size_t errlen)
{
	struct tenant *t = tenant_find(d, ct->name);
	struct ctl_request req = {
		.cmd = CTL_CMD_ADD,
		.size = ct->size,
		.queues = ct->queues,
		.depth = ct->depth,
	};
	char why[512];

	if (t) {
		if (strcmp(t->rec.backend, ct->backend) || t->rec.size != ct->size)
			log_warn("tenant \"%s\": the policy asks for %llu bytes on \"%s\" but the "
				 "tenant table has %llu bytes on \"%s\"; keeping the table's "
				 "(moving or resizing a tenant is not supported)", ct->name,
				 (unsigned long long)ct->size, ct->backend,
				 (unsigned long long)t->rec.size, t->rec.backend);
		return 0;
	}
	snprintf(req.name, sizeof(req.name), "%s", ct->name);
	snprintf(req.backend, sizeof(req.backend), "%s", ct->backend);
	if (tenant_add(d, &req, &t, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "tenant \"%s\" (policy line %d): %s", ct->name, ct->line, why);
		return -1;
	}
	return 0;
}

/*
 * Place every policy tenant the table does not have yet, then give the
 * space back: if one does not fit, the policy is refused before any tenant
 * is created (first-fit places them the same way again for real).
 */
static int policy_fits(struct daemon *d, char *err, size_t errlen)
{
	struct { struct pool *p; uint64_t start; } *placed;
	size_t n = 0;
	int ret = 0;

	placed = calloc(d->conf.nr_tenants ? d->conf.nr_tenants : 1, sizeof(*placed));
	if (!placed) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < d->conf.nr_tenants && ret == 0; i++) {
		const struct conf_tenant *ct = &d->conf.tenants[i];
		struct pool *p = pool_find(d, ct->backend);
		char why[512];

		if (tenant_find(d, ct->name) || !p)
			continue; /* kept from the table / reported by tenant_add */
		if (extent_alloc(&p->map, ct->size, &placed[n].start) < 0) {
			explain_no_room(p, ct->size, why, sizeof(why));
			snprintf(err, errlen, "tenant \"%s\" (policy line %d): %s; no tenant "
				 "was created", ct->name, ct->line, why);
			ret = -1;
			break;
		}
		placed[n++].p = p;
	}
	while (n--)
		extent_release(&placed[n].p->map, placed[n].start);
	free(placed);
	return ret;
}

int tenants_restore(struct daemon *d, char *err, size_t errlen)
{
	struct tenant_rec *recs = NULL;
	size_t nr = 0;
	int ret = 0;

	if (state_load(d->conf.state_file, &recs, &nr, err, errlen) < 0)
		return -1;
	if (nr)
		log_info("tenant table %s: %zu tenant(s)", d->conf.state_file, nr);
	for (size_t i = 0; i < nr && ret == 0; i++)
		ret = restore_one(d, &recs[i], err, errlen);
	free(recs);
	if (ret == 0)
		ret = policy_fits(d, err, errlen);
	for (size_t i = 0; i < d->conf.nr_tenants && ret == 0; i++)
		ret = restore_from_policy(d, &d->conf.tenants[i], err, errlen);
	return ret;
}
