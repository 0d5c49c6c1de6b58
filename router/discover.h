/* SPDX-License-Identifier: MIT */
/*
 * NQ discovery: the hardware queues (hctx) of an NVMe namespace's block
 * queue, as blk-mq shows them, and which of them this process can reach.
 *
 * For hctx N (N in /sys/block/<ns>/mq/N; NVMe queue id N + 1 on nvme-pci):
 * - its CPUs: mq/N/cpu_list -- on a stock kernel a command lands on hctx N
 *   only when submitted from one of them (docs/ARCHITECTURE.md section 5);
 * - its kind: block debugfs hctxN/type when debugfs is mounted; otherwise
 *   from the nvme module's poll_queues/write_queues and the queue count,
 *   in blk-mq's order: DEFAULT queues first, then READ, then POLL;
 * - its tag depth: mq/N/nr_tags, at most queue/nr_requests.
 * A DEFAULT or POLL queue is reachable when its cpu_list holds an online
 * CPU this process may run on. READ queues never are: passthrough
 * commands are DRV_IN/DRV_OUT, never READ, so blk-mq never picks that map.
 *
 * Every path is read below `root` ("" for the live system), so that unit
 * tests run it on a fake tree.
 */
#ifndef DDUBLK_ROUTER_DISCOVER_H
#define DDUBLK_ROUTER_DISCOVER_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

#include "sched/nq.h"

enum hctx_type {
	HCTX_DEFAULT = 0,
	HCTX_READ,
	HCTX_POLL,
};

struct nq_found {
	unsigned hctx; /* N of mq/N */
	enum hctx_type type;
	unsigned depth; /* tags */
	int cpu; /* the allowed online CPU to submit from, -1: unreachable */
	struct nq_desc desc; /* kind, depth and cpu_list, for sched/ */
};

struct nq_list {
	struct nq_found *q; /* every hctx, by index */
	unsigned nr;
	unsigned nr_reachable;
	bool types_from_debugfs; /* else from the module parameters */
};

/*
 * Discover namespace ns ("nvme0n1"). allowed: the CPUs this process may
 * run on (sched_getaffinity: online ones only). 0, or -1 with err set.
 */
int nq_discover(const char *root, const char *ns, const cpu_set_t *allowed,
		struct nq_list *out, char *err, size_t errlen);
void nq_list_free(struct nq_list *l);

/* "default", "read", "poll" (debugfs hctxN/type) -> type; -1 for anything else. */
int hctx_type_parse(const char *text);
const char *hctx_type_name(enum hctx_type t);

/*
 * The types of nr hctxs when debugfs is not there, the way nvme-pci 6.1
 * splits its queues (nvme_setup_io_queues, nvme_calc_irq_sets): poll
 * queues get what the poll_queues parameter asks for (one interrupt
 * queue always stays); write_queues > 0 splits the interrupt queues into
 * DEFAULT (the writes) and READ. Fills types[0..nr).
 */
void hctx_types_from_params(unsigned nr, unsigned poll_queues, unsigned write_queues,
			    enum hctx_type *types);

#endif
