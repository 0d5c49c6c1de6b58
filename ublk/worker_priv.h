/* SPDX-License-Identifier: MIT */
/*
 * Internal to ublk/: a worker thread's state, shared by its event loop
 * (worker.c) and its set-up and teardown (worker_setup.c).
 */
#ifndef DDUBLK_UBLK_WORKER_PRIV_H
#define DDUBLK_UBLK_WORKER_PRIV_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ublk/queue.h" /* router_port, admit, ublk_queue */

#define RING_SQ_ENTRIES 512
#define RING_CQ_ENTRIES 8192
/* Registered-buffer slots per worker ring (the kernel allows 16384). */
#define RING_BUF_SLOTS 4096
/* The IOPOLL ring for steered commands to polled NVMe queues. */
#define POLL_RING_ENTRIES 256
#define POLL_RING_CQ_ENTRIES 4096

struct mailbox_msg {
	struct mailbox_msg *next;
	struct ublk_queue *q;
};

struct ublk_worker {
	struct ublk_workers *pool;
	unsigned index;
	int cpu;
	pthread_t thread;
	struct io_uring ring;
	struct io_uring poll_ring; /* IOPOLL: steered commands to polled queues */
	bool has_poll_ring;
	/*
	 * The ring is single-issuer with deferred task work: completions are
	 * only posted when this thread enters with GETEVENTS (see wait_for_work).
	 */
	bool defer_taskrun;
	int fetch_personality; /* for FETCH on ring, or 0 (see fetch_creds.h) */
	int wake_fd;
	uint64_t wake_buf;
	/* Queues this worker serves; only the worker touches this array. */
	struct ublk_queue **queues;
	unsigned nr_queues, cap_queues;
	/* Registered-buffer slots in use (a sparse table made at ring setup). */
	bool buf_table;
	uint8_t slot_used[RING_BUF_SLOTS];
	struct admit adm; /* admission of this worker's requests (sched/admit.h) */
	struct router_port port; /* where routed requests come back */
	/* Statistics, written by this worker only (ublk_workers_stats() reads them). */
	_Atomic uint64_t st_ublk; /* requests received from ublk */
	_Atomic uint64_t st_backend; /* backend CQEs reaped on this ring */
	_Atomic uint64_t st_returned; /* routed requests handed back by submitters */
	_Atomic uint64_t st_enters; /* io_uring_enter calls of this thread (see count_enter) */
	_Atomic int tid;
	/* Guarded by pool->lock: */
	struct mailbox_msg *inbox;
	bool quit;
	bool setup_done; /* the thread has made its rings (setup_err says if not) */
	char setup_err[160];
};

struct ublk_workers {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* queue attached/detached, worker set up */
	enum ublk_opcode_form form;
	bool crash_on_read; /* test hook: see ublk_workers_crash_on_read() */
	unsigned nr;
	struct ublk_worker w[];
};

/* w's admission, calling back into the loop (worker.c). */
void worker_admit_init(struct ublk_worker *w);

/* The thread: sets itself up (worker_setup_thread), then runs the loop. */
void *worker_main(void *arg);

/*
 * In the worker's own thread, before its loop: pin it, make its rings and
 * register what they need (a single-issuer ring only takes registrations
 * from the thread that made it); tell worker_init how it went. false: the
 * thread must exit.
 */
bool worker_setup_thread(struct ublk_worker *w);

/* Mark q attached or detached and wake the control thread waiting for it. */
void worker_signal_change(struct ublk_workers *pool, struct ublk_queue *q, bool attached);

/* q's tag buffers into / out of the ring's registered-buffer table. */
void worker_register_buffers(struct ublk_worker *w, struct ublk_queue *q);
void worker_unregister_buffers(struct ublk_worker *w, struct ublk_queue *q);

#endif
