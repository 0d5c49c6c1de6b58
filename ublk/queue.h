/* SPDX-License-Identifier: MIT */
/* Internal to ublk/: the per-queue and per-tag state shared by dev.c and worker.c. */
#ifndef DDUBLK_UBLK_QUEUE_H
#define DDUBLK_UBLK_QUEUE_H

#include <pthread.h>
#include <stdbool.h>

#include "router/req.h"
#include "router/route.h"
#include "sched/admit.h"
#include "stats/io.h"
#include "ublk/dev.h"

enum ublk_io_state {
	IO_FREE = 0, /* no command in the kernel (before FETCH, after ABORT) */
	IO_IN_KERNEL, /* FETCH or COMMIT_AND_FETCH posted: waiting for a request */
	IO_IN_BACKEND, /* a request is ours: backend I/O in flight */
	IO_ADMITTING, /* a request is ours, held by admission (QoS gate, weighted turn) */
};

struct ublk_queue;

struct ublk_io {
	struct ublk_queue *q;
	uint16_t tag;
	uint8_t state;
	void *buf;
	struct admit_item adm; /* its admission (arrive_ns: the request came from ublk) */
	struct backend_io bio;
	struct router_req rr; /* its trip along its queue's route (rr.sr: submit_ns, nq) */
};

struct ublk_queue {
	const char *name; /* tenant name */
	int dev_id;
	unsigned q_id;
	unsigned depth;
	int char_fd;
	const struct ublksrv_io_desc *descs;
	size_t descs_len;
	void *bufs;
	size_t bufs_len;
	uint32_t buf_bytes; /* per tag */
	uint64_t dev_bytes;
	struct backend *be;
	uint64_t be_offset;
	struct route route; /* how its requests reach be: direct, or through a router */
	/* Worker-owned counters: tags by state (in_backend includes held ones). */
	unsigned in_kernel;
	unsigned in_backend;
	struct admit_flow flow; /* its gate, held requests, share of its class (worker-owned) */
	struct stats_io st; /* the tenant's statistics for this queue; written by the worker only */
	int buf_slot; /* first registered-buffer slot of tag 0, -1: not registered */
	/* Set by the worker under the pool lock; the control thread waits on them. */
	bool attached;
	bool detached;
	struct ublk_io ios[];
};

/* Hand q to worker `index`; the worker posts a FETCH for every tag. */
void ublk_workers_attach(struct ublk_workers *w, unsigned index, struct ublk_queue *q);

/*
 * Wait until every queue in qs has been attached (want_attached) or
 * detached; 0, or -ETIMEDOUT after timeout_ms.
 */
int ublk_workers_wait(struct ublk_workers *w, struct ublk_queue **qs, unsigned n,
		      bool want_attached, unsigned timeout_ms);

#endif
