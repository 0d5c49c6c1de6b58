/* SPDX-License-Identifier: MIT */
/* Placement of tenants on backends before anything is created (place.h). */
#include "store/place.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/units.h"

int conf_reserve_tenant(struct extent_map *m, uint64_t offset, uint64_t size)
{
	if (size == 0 || size > UINT64_MAX - (m->align - 1))
		return -EINVAL;
	return extent_reserve(m, offset, round_up_u64(size, m->align));
}

int conf_room_map(struct extent_map *m, uint64_t bytes, uint64_t reserved,
		  const struct table *tab, size_t *skipped)
{
	uint64_t end = round_down_u64(bytes, CONF_EXTENT_ALIGN);

	if (skipped)
		*skipped = 0;
	if (end <= reserved || extent_map_init(m, reserved, end, CONF_EXTENT_ALIGN) < 0)
		return -1;
	for (size_t i = 0; tab && i < tab->nr; i++) {
		int ret = conf_reserve_tenant(m, tab->e[i].offset, tab->e[i].spec.size);

		if (ret == -ENOMEM) {
			extent_map_free(m);
			return -1;
		}
		if (ret < 0 && skipped)
			(*skipped)++;
	}
	return 0;
}

void conf_explain_no_room(const char *name, uint64_t bytes, const struct extent_map *m,
			  uint64_t size, char *why, size_t len)
{
	char want[32], free_b[32], largest[32], usable[32];
	uint64_t capacity = m->capacity - m->base;

	if (size > capacity) {
		snprintf(why, len, "%s is larger than backend \"%s\" (%s usable of %s)",
			 format_size(size, want, sizeof(want)), name,
			 format_size(capacity, usable, sizeof(usable)),
			 format_size(bytes, largest, sizeof(largest)));
		return;
	}
	snprintf(why, len, "backend \"%s\" has no room for %s (free: %s, largest free "
		 "extent: %s)", name, format_size(size, want, sizeof(want)),
		 format_size(extent_free_bytes(m), free_b, sizeof(free_b)),
		 format_size(extent_largest_free(m), largest, sizeof(largest)));
}

struct placed {
	struct extent_map *map;
	uint64_t start;
};

/* Try tenant i on its backend: 0 (recorded in *p), 1 not checked, -1 with why. */
static int place_one(const struct conf *c, struct conf_room *rooms, size_t i,
		     struct placed *p, char *why, size_t len)
{
	const struct tenant_spec *ct = &c->tenants[i].spec;
	const struct conf_backend *cb = conf_find_backend(c, ct->backend);
	struct conf_room *r;

	if (!cb)
		return 1; /* the loader refuses such a policy */
	r = &rooms[cb - c->backends];
	if (r->refused) {
		snprintf(why, len, "backend \"%s\" is not in use: %s", cb->name, r->refused);
		return -1;
	}
	if (!r->map)
		return 1;
	if (extent_alloc(r->map, ct->size, &p->start) < 0) {
		conf_explain_no_room(cb->name, r->bytes, r->map, ct->size, why, len);
		return -1;
	}
	p->map = r->map;
	return 0;
}

int conf_place_new(const struct conf *c, struct conf_room *rooms,
		   bool (*known)(void *ctx, const char *name), void *ctx, size_t *bad,
		   char *why, size_t len)
{
	struct placed *done = calloc(c->nr_tenants ? c->nr_tenants : 1, sizeof(*done));
	size_t n = 0;
	int ret = 0;

	if (!done) {
		snprintf(why, len, "out of memory");
		*bad = 0;
		return -1;
	}
	for (size_t i = 0; i < c->nr_tenants && ret == 0; i++) {
		if (known && known(ctx, c->tenants[i].spec.name))
			continue;
		ret = place_one(c, rooms, i, &done[n], why, len);
		if (ret < 0)
			*bad = i;
		else if (ret == 0)
			n++;
		ret = ret < 0 ? -1 : 0;
	}
	while (n--)
		extent_release(done[n].map, done[n].start);
	free(done);
	return ret;
}
