/* SPDX-License-Identifier: MIT */
/*
 * ublk devices served by a pool of worker threads.
 *
 * Worker w serves ublk queue w of every device (a ublk queue must be
 * fetched and committed by one task; one task may serve queues of many
 * devices). Each worker owns one io_uring (SQE128|CQE32) that carries both
 * the ublk commands and the backend's I/O, so a request goes from FETCH to
 * the backend and back to COMMIT_AND_FETCH without leaving the thread.
 *
 * Devices are created and destroyed by one control thread; the workers
 * take queues on and drop them through a small mailbox.
 */
#ifndef DDUBLK_UBLK_DEV_H
#define DDUBLK_UBLK_DEV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"
#include "router/router.h"
#include "sched/admit.h" /* struct admit_gate */
#include "stats/io.h"
#include "ublk/ctrl.h"

struct ublk_workers;
struct ublk_dev;

struct ublk_dev_config {
	const char *name; /* tenant name, for logs */
	int dev_id; /* wanted ublk device id, -1 for any */
	unsigned queues; /* <= number of workers */
	unsigned depth;
	uint64_t size; /* bytes the device exposes */
	struct backend *be;
	uint64_t be_offset; /* where the device's extent starts on be */
	struct admit_gate *gate; /* NULL: no admission control; must outlive the device */
	/* NULL: the workers submit to be on their own rings; else through it (router/). */
	struct router *router;
	unsigned route_tenant; /* router_tenant_add()'s id */
	/*
	 * UBLK_F_* asked of ADD_DEV: USER_RECOVERY|USER_RECOVERY_REISSUE keep
	 * the device (quiesced, its I/O queued) when the daemon dies.
	 */
	uint64_t flags;
};

/*
 * Test hook (DDUBLKD_FAULT=stuck-create:NAME): the next ublk_dev_create for
 * tenant NAME fails at START_DEV and its rollback fails at STOP_DEV, as a
 * kernel that will not let go would: UBLK_DEV_STUCK with the device (added,
 * its queues served, never started) left. Fires once; a later
 * ublk_dev_destroy of that device works.
 */
void ublk_dev_fault_stuck_create(const char *name);

/* Start nr workers, worker i pinned to online CPU i % nr_cpus. */
int ublk_workers_create(unsigned nr, enum ublk_opcode_form form, struct ublk_workers **out,
			char *err, size_t errlen);
/*
 * Test hook (DDUBLKD_CRASH_AT=first-read): the first READ any worker
 * receives kills the process, as a crash with a request in hand would.
 * Call before any device is created.
 */
void ublk_workers_crash_on_read(struct ublk_workers *w);
/*
 * Hybrid polling (scheduler.poll = auto) or spinning (always) for commands
 * on the workers' IOPOLL rings; takes effect at each worker's next poll.
 */
void ublk_workers_set_hybrid_poll(struct ublk_workers *w, bool on);
/* Stop the workers. Devices should have been destroyed first. */
void ublk_workers_destroy(struct ublk_workers *w);
unsigned ublk_workers_count(const struct ublk_workers *w);

/*
 * A create or re-attach failed and so did deleting the device again: it
 * may still exist, its queues still served, reading and writing cfg's
 * extent through cfg's gate and router. *out is set to it: keep the
 * extent, the gate and the route as long as it exists, and call
 * ublk_dev_destroy to try again.
 */
#define UBLK_DEV_STUCK (-2)

/*
 * ADD_DEV, SET_PARAMS, open and map /dev/ublkcN, hand the queues to the
 * workers, START_DEV. All or nothing: on failure (-1) the device is gone
 * again and err says which step failed and why -- unless deleting it again
 * failed too: UBLK_DEV_STUCK, err says both.
 */
int ublk_dev_create(struct ublk_ctrl *ctrl, struct ublk_workers *w,
		    const struct ublk_dev_config *cfg, struct ublk_dev **out,
		    char *err, size_t errlen);

/*
 * Take over a device whose daemon died (QUIESCED, with USER_RECOVERY):
 * START_USER_RECOVERY (retried while the old daemon's /dev/ublkcN is still
 * open), open and map /dev/ublkcN, hand the queues to the workers (they
 * FETCH every tag), END_USER_RECOVERY. info is the device's GET_DEV_INFO;
 * cfg must match it. On failure the device is stopped and deleted (err
 * says why, -1), so the caller can create a new one -- except when
 * START_USER_RECOVERY is refused (something still holds the device):
 * then it is left alone and the result is -EBUSY; or when deleting it
 * failed: UBLK_DEV_STUCK, as for ublk_dev_create.
 */
int ublk_dev_reattach(struct ublk_ctrl *ctrl, struct ublk_workers *w,
		      const struct ublk_dev_config *cfg, const struct ublksrv_ctrl_dev_info *info,
		      struct ublk_dev **out, char *err, size_t errlen);

/*
 * STOP_DEV (in-flight requests finish, new ones fail), wait for the workers
 * to drop the queues, unmap, close, DEL_DEV. Returns 0, or -1 with err set;
 * on failure the device may still exist and d stays valid.
 */
int ublk_dev_destroy(struct ublk_ctrl *ctrl, struct ublk_dev *d, char *err, size_t errlen);

int ublk_dev_id(const struct ublk_dev *d);
unsigned ublk_dev_queues(const struct ublk_dev *d);
unsigned ublk_dev_depth(const struct ublk_dev *d);
/* Created with USER_RECOVERY: it outlives a daemon crash. */
bool ublk_dev_recoverable(const struct ublk_dev *d);

/* Add the device's statistics (every queue's) to out. Control thread. */
void ublk_dev_stats(const struct ublk_dev *d, struct stats_io_snap *out);

struct ublk_worker_stats {
	unsigned index;
	int cpu; /* pinned to */
	int tid; /* 0 until the thread runs */
	uint64_t cpu_ns; /* user + system CPU time of the thread */
	uint64_t ublk_reqs; /* requests received from ublk */
	uint64_t backend_cqes; /* backend (NVMe or file) completions reaped on its ring */
	uint64_t returned; /* routed requests completed by a submitter and handed back */
	uint64_t ring_enters; /* io_uring_enter system calls the thread made */
};

/* Worker i's counters (cumulative): 0, or -EINVAL past the last worker. */
int ublk_workers_stats(struct ublk_workers *w, unsigned i, struct ublk_worker_stats *out);

/*
 * Delete a device left over by an earlier daemon (found by id): STOP_DEV
 * then DEL_DEV. -ENODEV if there is none.
 */
int ublk_dev_remove_stale(struct ublk_ctrl *ctrl, uint32_t dev_id);

#endif
