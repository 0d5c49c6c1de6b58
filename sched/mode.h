/* SPDX-License-Identifier: MIT */
/*
 * A scheduler mode is an ops table: the parts of the scheduler that differ
 * between modes. sched_new() chooses one from the policy's mode, once, and
 * the mode-independent code (sched.c, dispatch.c) calls through s->ops.
 *
 * To add a mode: write sched/mode_NAME.c with its `const struct
 * sched_mode_ops sched_mode_NAME`, add its enum value and policy name to
 * conf/config.h's enum conf_sched_mode and conf/config.c's sched_modes[],
 * and its line to modes[] in sched/sched.c (and the file to CMakeLists.txt).
 */
#ifndef DDUBLK_SCHED_MODE_H
#define DDUBLK_SCHED_MODE_H

#include "sched/sched.h"

struct sched;

struct sched_mode_ops {
	unsigned min_nqs; /* sched_new() refuses fewer */
	/* After the NQs, the (empty) groups and the cap are set, before the FIFOs. */
	int (*init)(struct sched *s, const struct nq_desc *descs);
	/* The FIFOs of held requests: how many, and which one holds r. */
	unsigned (*nr_fifos)(const struct sched *s);
	unsigned (*fifo_of)(const struct sched *s, const struct sched_req *r);
	/* The lane whose requests FIFO f holds, for sched_get_stats()' waiting[]. */
	enum nq_lane (*fifo_lane)(const struct sched *s, unsigned f);
	/* The lane r is counted in (in flight, the window's peaks). */
	enum nq_lane (*lane_of)(const struct sched *s, const struct sched_req *r);
	/* r's NQ now, or SCHED_NO_QUEUE: sched_pick(). */
	int (*pick)(struct sched *s, const struct sched_req *r, uint64_t now_ns);
	/* The next held request that may go, submitted; NULL if none: sched_next(). */
	struct sched_req *(*next)(struct sched *s, uint64_t now_ns);
	/* Optional: a p99 window closed, s->latency_p99_ns is new. */
	void (*p99_closed)(struct sched *s);
	/* Optional: T requests of reserved tenants wait in their own FIFOs (resv.c). */
	struct sched_fifo *(*resv_lane_fifo)(struct sched *s);
	/* Optional: an adapt interval ended, s->win holds what it saw. */
	void (*adapt)(struct sched *s);
};

extern const struct sched_mode_ops sched_mode_static;
extern const struct sched_mode_ops sched_mode_daredevil;

#endif
