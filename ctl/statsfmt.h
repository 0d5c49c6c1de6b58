/* SPDX-License-Identifier: MIT */
/*
 * ublk-ctl's views of a "stats" reply (ctl/stats_json.h): the snapshot
 * table, the NQ map, Prometheus text, and top's interval frames.
 *
 * A reply is parsed once into a struct sf_snap; rates come from two
 * snapshots and the daemon's time stamps, never from the client's clock.
 */
#ifndef DDUBLK_CTL_STATSFMT_H
#define DDUBLK_CTL_STATSFMT_H

#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "stats/io.h"

struct sf_snap;

/* Parse the "stats" payload: a snapshot (sf_free it), or NULL with err. */
struct sf_snap *sf_parse(json_object *stats, char *err, size_t errlen);
void sf_free(struct sf_snap *s);

/* The snapshot as tables: tenants, NQs, workers (cumulative counts), schedulers. */
void sf_print_stats(FILE *f, const struct sf_snap *s);
/* The NQ map: queue, kind, group, CPUs, load. */
void sf_print_nqs(FILE *f, const struct sf_snap *s);
/* Prometheus text exposition format 0.0.4. */
void sf_print_prometheus(FILE *f, const struct sf_snap *s);

/* top's columns to sort tenants by (descending; "name" ascending). */
int sf_sort_column(const char *name); /* an index, or -1 */
const char *sf_sort_columns(void); /* "iops, riops, ..." for messages */

struct sf_frame_opts {
	int sort; /* sf_sort_column() */
	bool tty; /* clear the screen first, cut to max_lines */
	unsigned max_lines; /* 0: no limit */
	const char *when; /* wall-clock time of the frame, for the header */
};

/* One top frame: the interval between prev and cur. */
void sf_print_top(FILE *f, const struct sf_snap *prev, const struct sf_snap *cur,
		  const struct sf_frame_opts *o);

#endif
