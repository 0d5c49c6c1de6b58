/* SPDX-License-Identifier: MIT */
/*
 * Where tenants go on the backends, before anything is created: the
 * extents a backend's table records are reserved (each rounded up to whole
 * MiB, as they were allocated), then the policy's tenants that no table has
 * yet are placed first fit, in policy order, exactly as tenant_add will
 * place them. ddublkd runs it at start on its real extent maps, and
 * `ddublkd --check-config` on maps it builds from the tables it reads, so
 * a check that passes means the start will not fail on space.
 *
 * Pure: extent maps in, a verdict out; every trial allocation is undone.
 */
#ifndef DDUBLK_STORE_PLACE_H
#define DDUBLK_STORE_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "store/extent.h"
#include "store/table.h"

/* One backend as the start will find it. */
struct conf_room {
	uint64_t bytes; /* its size, for messages; 0: unknown (nothing checked on it) */
	struct extent_map *map; /* free space: the table's tenants reserved; NULL: unknown */
	const char *refused; /* why the backend is not in use (its table is unreadable) */
};

/* Reserve a recorded tenant's extent: its size rounded up to the map's alignment. */
int conf_reserve_tenant(struct extent_map *m, uint64_t offset, uint64_t size);

/*
 * A map for a backend of `bytes` with `reserved` bytes of tenant table and
 * the extents of tab (NULL: none) reserved. Entries that do not fit the
 * map (the daemon does not serve them) are counted in *skipped (may be
 * NULL). 0, or -1 (out of memory, bytes too small).
 */
int conf_room_map(struct extent_map *m, uint64_t bytes, uint64_t reserved,
		  const struct table *tab, size_t *skipped);

/*
 * Place every tenant of c that `known` does not report (the tables have
 * it: it is served where it is), in policy order, first fit, on
 * rooms[i] for c->backends[i]; then undo. 0 if all fit; -1 with *bad the
 * index of the first tenant that does not, and why.
 */
int conf_place_new(const struct conf *c, struct conf_room *rooms,
		   bool (*known)(void *ctx, const char *name), void *ctx, size_t *bad,
		   char *why, size_t len);

/* Why size does not fit on backend `name` of `bytes` bytes whose free space is m. */
void conf_explain_no_room(const char *name, uint64_t bytes, const struct extent_map *m,
			  uint64_t size, char *why, size_t len);

#endif
