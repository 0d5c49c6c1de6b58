/* SPDX-License-Identifier: MIT */
/*
 * Worker set-up and teardown, apart from the loop (worker.c): the threads,
 * their rings and what is registered on them, handing queues to them, and
 * their counters.
 *
 * Each worker makes its own rings in its own thread: the main ring is
 * IORING_SETUP_SINGLE_ISSUER, so only the thread that made it may submit
 * to it or register anything on it (personality, buffers, io-wq affinity).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/log.h"
#include "ublk/fetch_creds.h"
#include "ublk/worker_priv.h"

void worker_signal_change(struct ublk_workers *pool, struct ublk_queue *q, bool attached)
{
	pthread_mutex_lock(&pool->lock);
	if (attached)
		q->attached = true;
	else
		q->detached = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

/* First run of n free slots, or -1. */
static int find_slots(const struct ublk_worker *w, unsigned n)
{
	unsigned run = 0;

	for (unsigned i = 0; i < RING_BUF_SLOTS; i++) {
		run = w->slot_used[i] ? 0 : run + 1;
		if (run == n)
			return (int)(i + 1 - n);
	}
	return -1;
}

/*
 * Register q's tag buffers so that the backend can name them by index
 * (IORING_URING_CMD_FIXED): the kernel then maps them once, not per I/O.
 * Failing that, the queue still works with plain buffers.
 */
void worker_register_buffers(struct ublk_worker *w, struct ublk_queue *q)
{
	struct iovec *iov;
	int slot, ret;

	q->buf_slot = -1;
	if (!q->be->wants_fixed_buffers || !w->buf_table)
		return;
	slot = find_slots(w, q->depth);
	iov = calloc(q->depth, sizeof(*iov));
	if (slot < 0 || !iov) {
		log_warn("tenant \"%s\" queue %u: no room to register its buffers; "
			 "using plain buffers", q->name, q->q_id);
		free(iov);
		return;
	}
	for (unsigned tag = 0; tag < q->depth; tag++)
		iov[tag] = (struct iovec){ q->ios[tag].buf, q->buf_bytes };
	ret = io_uring_register_buffers_update_tag(&w->ring, (unsigned)slot, iov, NULL, q->depth);
	free(iov);
	if (ret < 0) {
		log_warn("tenant \"%s\" queue %u: cannot register buffers: %s; using plain "
			 "buffers", q->name, q->q_id, strerror(-ret));
		return;
	}
	memset(&w->slot_used[slot], 1, q->depth);
	q->buf_slot = slot;
}

void worker_unregister_buffers(struct ublk_worker *w, struct ublk_queue *q)
{
	struct iovec *iov;

	if (q->buf_slot < 0)
		return;
	/* An empty iovec clears a slot of a sparse table. */
	iov = calloc(q->depth, sizeof(*iov));
	if (!iov || io_uring_register_buffers_update_tag(&w->ring, (unsigned)q->buf_slot, iov,
							 NULL, q->depth) < 0)
		log_warn("tenant \"%s\" queue %u: cannot unregister its buffers", q->name,
			 q->q_id);
	else
		memset(&w->slot_used[q->buf_slot], 0, q->depth);
	free(iov);
	q->buf_slot = -1;
}

static void pin_to_cpu(struct ublk_worker *w)
{
	cpu_set_t set;
	char name[16];

	snprintf(name, sizeof(name), "ddublk-w%u", w->index);
	prctl(PR_SET_NAME, name);
	/*
	 * Memory reclaim may write dirty pages through the devices this thread
	 * serves: let its own allocations dip into reserves instead of
	 * recursing into that writeback (what loop and nbd servers do).
	 */
	if (prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) < 0)
		log_warn("worker %u: PR_SET_IO_FLUSHER: %s", w->index, strerror(errno));
	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		log_warn("worker %u: cannot pin to CPU %d: %s", w->index, w->cpu, strerror(errno));
}

/*
 * A command the kernel punts to io-wq (no tag free at the moment) is
 * issued from an io-wq thread: keep those on this CPU too, so that it
 * still lands on this CPU's NVMe queue.
 */
static void pin_iowq(struct ublk_worker *w)
{
	cpu_set_t set;
	int ret;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	ret = io_uring_register_iowq_aff(&w->ring, sizeof(set), &set);
	if (ret < 0)
		log_warn("worker %u: cannot pin io-wq to CPU %d: %s", w->index, w->cpu,
			 strerror(-ret));
}

static void wake(struct ublk_worker *w)
{
	uint64_t one = 1;

	if (write(w->wake_fd, &one, sizeof(one)) < 0)
		log_err("worker %u: cannot wake: %s", w->index, strerror(errno));
}

void ublk_workers_attach(struct ublk_workers *pool, unsigned index, struct ublk_queue *q)
{
	struct ublk_worker *w = &pool->w[index % pool->nr];
	struct mailbox_msg *m = malloc(sizeof(*m));

	if (!m) {
		log_err("out of memory handing tenant \"%s\" queue %u to worker %u", q->name,
			q->q_id, w->index);
		return;
	}
	m->q = q;
	pthread_mutex_lock(&pool->lock);
	m->next = w->inbox;
	w->inbox = m;
	pthread_mutex_unlock(&pool->lock);
	wake(w);
}

static bool all_reached(struct ublk_queue **qs, unsigned n, bool want_attached)
{
	for (unsigned i = 0; i < n; i++)
		if (want_attached ? !qs[i]->attached : !qs[i]->detached)
			return false;
	return true;
}

int ublk_workers_wait(struct ublk_workers *pool, struct ublk_queue **qs, unsigned n,
		      bool want_attached, unsigned timeout_ms)
{
	struct timespec deadline;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&pool->lock);
	while (!all_reached(qs, n, want_attached) && ret == 0)
		ret = pthread_cond_timedwait(&pool->cond, &pool->lock, &deadline);
	if (all_reached(qs, n, want_attached))
		ret = 0;
	pthread_mutex_unlock(&pool->lock);
	return ret ? -ETIMEDOUT : 0;
}

/*
 * The IOPOLL ring for commands steered to polled NVMe queues (only used with
 * queue steering). Without it those commands go unsteered on the worker's
 * ring, to its CPU's queue: correct, just not where the scheduler wanted.
 */
static void setup_poll_ring(struct ublk_worker *w)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_IOPOLL | IORING_SETUP_SQE128 | IORING_SETUP_CQE32 |
			 IORING_SETUP_CQSIZE,
		.cq_entries = POLL_RING_CQ_ENTRIES,
	};
	int ret = io_uring_queue_init_params(POLL_RING_ENTRIES, &w->poll_ring, &p);

	if (ret < 0) {
		log_warn("worker %u: no IOPOLL ring (%s): commands for polled NVMe queues go to "
			 "this CPU's queue instead", w->index, strerror(-ret));
		return;
	}
	w->has_poll_ring = true;
	w->port.poll_ring = &w->poll_ring;
}

/*
 * The worker's main ring. Single issuer with deferred task work where the
 * kernel has it (6.1+): completions are then run only when this thread
 * asks for them, in one batch, instead of interrupting it one by one.
 */
static int setup_ring(struct ublk_worker *w)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQE32 | IORING_SETUP_CQSIZE |
			 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		.cq_entries = RING_CQ_ENTRIES,
	};
	int ret = io_uring_queue_init_params(RING_SQ_ENTRIES, &w->ring, &p);

	if (ret == -EINVAL) { /* before 6.1: no deferred task work */
		log_info("worker %u: io_uring without DEFER_TASKRUN (older kernel)", w->index);
		p = (struct io_uring_params){
			.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQE32 | IORING_SETUP_CQSIZE,
			.cq_entries = RING_CQ_ENTRIES,
		};
		ret = io_uring_queue_init_params(RING_SQ_ENTRIES, &w->ring, &p);
	} else if (ret == 0) {
		w->defer_taskrun = true;
	}
	if (ret < 0)
		return ret;
	/* Enter by index, not fd: no fdget/fdput on every io_uring_enter. */
	if (io_uring_register_ring_fd(&w->ring) < 0)
		log_debug("worker %u: cannot register its ring fd", w->index);
	return 0;
}

/* Everything but the loop, in the worker's thread; err says what failed. */
static int setup_in_thread(struct ublk_worker *w, char *err, size_t errlen)
{
	int ret;

	pin_to_cpu(w);
	ret = setup_ring(w);
	if (ret < 0) {
		snprintf(err, errlen, "worker %u: io_uring setup (SQE128|CQE32): %s", w->index,
			 strerror(-ret));
		return -1;
	}
	pin_iowq(w);
	setup_poll_ring(w);
	ret = ublk_fetch_personality(&w->ring);
	w->fetch_personality = ret > 0 ? ret : 0;
	if (ret < 0)
		log_warn("worker %u: cannot fetch without CAP_SYS_ADMIN (%s): the kernel will scan "
			 "new tenant devices for partitions, and a daemon killed during a scan "
			 "leaves that device stuck until reboot", w->index, strerror(-ret));
	ret = io_uring_register_buffers_sparse(&w->ring, RING_BUF_SLOTS);
	w->buf_table = ret == 0;
	if (ret < 0)
		log_warn("worker %u: no registered-buffer table (%s); backends get plain buffers",
			 w->index, strerror(-ret));
	return 0;
}

bool worker_setup_thread(struct ublk_worker *w)
{
	char err[sizeof(w->setup_err)] = "";
	int ret;

	atomic_store(&w->tid, (int)gettid());
	ret = setup_in_thread(w, err, sizeof(err));
	pthread_mutex_lock(&w->pool->lock);
	w->setup_done = true;
	memcpy(w->setup_err, err, sizeof(err));
	pthread_cond_broadcast(&w->pool->cond);
	pthread_mutex_unlock(&w->pool->lock);
	return ret == 0;
}

static int worker_init(struct ublk_workers *pool, unsigned i, int cpu, char *err, size_t errlen)
{
	struct ublk_worker *w = &pool->w[i];
	int ret;

	w->pool = pool;
	w->index = i;
	w->cpu = cpu;
	router_port_init(&w->port, -1, (unsigned)cpu, &w->ring);
	worker_admit_init(w);
	w->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (w->wake_fd < 0) {
		snprintf(err, errlen, "worker %u: eventfd: %s", i, strerror(errno));
		return -1;
	}
	w->port.wake_fd = w->wake_fd;
	ret = pthread_create(&w->thread, NULL, worker_main, w);
	if (ret) {
		snprintf(err, errlen, "worker %u: cannot start thread: %s", i, strerror(ret));
		close(w->wake_fd);
		return -1;
	}
	pthread_mutex_lock(&pool->lock);
	while (!w->setup_done)
		pthread_cond_wait(&pool->cond, &pool->lock);
	pthread_mutex_unlock(&pool->lock);
	if (w->setup_err[0]) { /* the thread has returned */
		snprintf(err, errlen, "%s", w->setup_err);
		pthread_join(w->thread, NULL);
		close(w->wake_fd);
		return -1;
	}
	return 0;
}

static void worker_fini(struct ublk_worker *w)
{
	pthread_mutex_lock(&w->pool->lock);
	w->quit = true;
	pthread_mutex_unlock(&w->pool->lock);
	wake(w);
	pthread_join(w->thread, NULL);
	if (w->port.again_count)
		log_info("worker %u: %llu steered request(s) found their NVMe queue out of tags and "
			 "went again", w->index, (unsigned long long)w->port.again_count);
	if (w->has_poll_ring)
		io_uring_queue_exit(&w->poll_ring);
	io_uring_queue_exit(&w->ring);
	close(w->wake_fd);
	free(w->queues);
	admit_free(&w->adm);
	while (w->inbox) {
		struct mailbox_msg *m = w->inbox;

		w->inbox = m->next;
		free(m);
	}
}

/* The CPUs this process may run on, in order: workers are pinned round-robin. */
static int nth_allowed_cpu(unsigned n)
{
	cpu_set_t set;
	int count;

	if (sched_getaffinity(0, sizeof(set), &set) < 0 || !(count = CPU_COUNT(&set)))
		return 0;
	n %= (unsigned)count;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set) && n-- == 0)
			return cpu;
	return 0;
}

int ublk_workers_create(unsigned nr, enum ublk_opcode_form form, struct ublk_workers **out,
			char *err, size_t errlen)
{
	struct ublk_workers *pool = calloc(1, sizeof(*pool) + nr * sizeof(pool->w[0]));
	unsigned i;

	if (!pool) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->form = form;
	for (i = 0; i < nr; i++) {
		if (worker_init(pool, i, nth_allowed_cpu(i), err, errlen) < 0)
			break;
		pool->nr = i + 1;
	}
	if (i < nr) {
		ublk_workers_destroy(pool);
		return -1;
	}
	*out = pool;
	return 0;
}

void ublk_workers_set_hybrid_poll(struct ublk_workers *pool, bool on)
{
	for (unsigned i = 0; i < pool->nr; i++)
		router_port_set_hybrid(&pool->w[i].port, on);
}

void ublk_workers_crash_on_read(struct ublk_workers *pool)
{
	/* Workers first look once a queue reaches them through pool->lock. */
	pthread_mutex_lock(&pool->lock);
	pool->crash_on_read = true;
	pthread_mutex_unlock(&pool->lock);
}

void ublk_workers_destroy(struct ublk_workers *pool)
{
	if (!pool)
		return;
	for (unsigned i = 0; i < pool->nr; i++)
		worker_fini(&pool->w[i]);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

unsigned ublk_workers_count(const struct ublk_workers *pool)
{
	return pool->nr;
}

int ublk_workers_stats(struct ublk_workers *pool, unsigned i, struct ublk_worker_stats *out)
{
	struct ublk_worker *w;
	struct timespec ts;
	clockid_t cid;

	if (i >= pool->nr)
		return -EINVAL;
	w = &pool->w[i];
	*out = (struct ublk_worker_stats){
		.index = i,
		.cpu = w->cpu,
		.tid = atomic_load(&w->tid),
		.ublk_reqs = stats_read(&w->st_ublk),
		.backend_cqes = stats_read(&w->st_backend),
		.ring_enters = stats_read(&w->st_enters),
		.returned = stats_read(&w->st_returned),
	};
	/* The thread's CPU clock: user + system time, in ns, from any thread. */
	if (pthread_getcpuclockid(w->thread, &cid) == 0 && clock_gettime(cid, &ts) == 0)
		out->cpu_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	return 0;
}
