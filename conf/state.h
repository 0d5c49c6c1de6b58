/* SPDX-License-Identifier: MIT */
/*
 * The daemon's tenant table on disk (a JSON file), so that a restarted
 * daemon recreates every tenant on exactly the same extent.
 *
 *   {"version":1,"tenants":[{"name":"db","backend":"nvme0","offset":1048576,
 *     "size":1073741824,"dev_id":0,"queues":2,"depth":64}]}
 *
 * Saved atomically: written to FILE.tmp, fsync'd, renamed over FILE, and
 * the directory fsync'd; a crash leaves either the old or the new table.
 */
#ifndef DDUBLK_CONF_STATE_H
#define DDUBLK_CONF_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"

struct tenant_rec {
	char name[CONF_NAME_MAX];
	char backend[CONF_NAME_MAX];
	uint64_t offset; /* byte offset of the extent on the backend */
	uint64_t size; /* bytes */
	int dev_id; /* ublk device id, -1 if none yet */
	unsigned queues;
	unsigned depth;
};

/*
 * Load the table. A missing file is an empty table (returns 0, *nr = 0).
 * Malformed content returns -1 with "FILE: what is wrong" in err.
 * *recs is malloc'd (free() it), NULL when empty.
 */
int state_load(const char *path, struct tenant_rec **recs, size_t *nr,
	       char *err, size_t errlen);

/* Save atomically (creating the parent directory if needed). 0 or -1 + err. */
int state_save(const char *path, const struct tenant_rec *recs, size_t nr,
	       char *err, size_t errlen);

/* Decode/encode the JSON text itself (what state_load/save use). */
int state_decode(const char *text, struct tenant_rec **recs, size_t *nr,
		 char *err, size_t errlen);
char *state_encode(const struct tenant_rec *recs, size_t nr); /* malloc'd */

#endif
