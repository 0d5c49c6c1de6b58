/* SPDX-License-Identifier: MIT */
/* A submitter thread per NQ (see submitter.h). */
#include "router/submitter.h"

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

#define SUB_SQ_ENTRIES 256
#define SUB_CQ_ENTRIES 4096

/* user_data: a request pointer, or the wakeup (pointers are 8-aligned). */
#define UD_WAKE 1ULL

struct submitter {
	struct backend *be;
	unsigned hctx;
	enum nq_kind kind;
	int cpu;
	pthread_t thread;
	struct io_uring ring;
	int wake_fd;
	uint64_t wake_buf;
	struct inbox in;
	atomic_bool sleeping; /* POLL: blocked on wake_fd, wants a write */
	atomic_bool quit;
	unsigned inflight; /* requests on the ring, thread-owned */
	_Atomic uint64_t submitted;
};

static void pin(struct submitter *s)
{
	char name[16];
	cpu_set_t set;

	snprintf(name, sizeof(name), "ddublk-q%u", s->hctx);
	prctl(PR_SET_NAME, name);
	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		log_warn("submitter of hctx %u: cannot pin to CPU %d: %s; its commands may land "
			 "on other queues", s->hctx, s->cpu, strerror(errno));
}

static void finish(struct submitter *s, struct router_req *rq)
{
	s->inflight--;
	router_port_return(rq);
}

/* Put rq's commands on the ring (not yet submitted). */
static void start(struct submitter *s, struct router_req *rq)
{
	struct backend_io *bio = rq->bio;
	int ret;

	/* The owner's registered buffers belong to the owner's ring, not this one. */
	bio->buf_index = -1;
	bio->steer = false; /* the CPU picks the queue */
	bio->hw_queue = s->hctx;
	rq->hopped = true;
	s->inflight++;
	atomic_fetch_add_explicit(&s->submitted, 1, memory_order_relaxed);
	ret = s->be->ops->queue(s->be, &s->ring, bio, (uint64_t)(uintptr_t)rq);
	if (ret < 0) {
		bio->result = ret;
		finish(s, rq);
	}
}

static void start_all(struct submitter *s)
{
	struct router_req *rq = router_req_of(inbox_take(&s->in));

	while (rq) {
		struct router_req *next = router_req_next(rq);

		start(s, rq);
		rq = next;
	}
}

static void arm_wakeup(struct submitter *s)
{
	struct io_uring_sqe *sqe = backend_get_sqe(&s->ring);

	io_uring_prep_read(sqe, s->wake_fd, &s->wake_buf, sizeof(s->wake_buf), 0);
	io_uring_sqe_set_data64(sqe, UD_WAKE);
}

/* Every CQE there is; true if one was the wakeup. */
static bool reap(struct submitter *s, unsigned *reaped)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	bool woken = false;

	io_uring_for_each_cqe(&s->ring, head, cqe) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		struct router_req *rq = (struct router_req *)(uintptr_t)ud;

		seen++;
		if (ud == UD_WAKE) {
			woken = true;
			continue;
		}
		switch (s->be->ops->complete(s->be, &s->ring, rq->bio, cqe, ud)) {
		case 0:
			break;
		default:
			finish(s, rq);
		}
	}
	io_uring_cq_advance(&s->ring, seen);
	*reaped = seen;
	return woken;
}

static void *irq_main(void *arg)
{
	struct submitter *s = arg;

	pin(s);
	arm_wakeup(s);
	for (;;) {
		unsigned reaped;
		int ret = io_uring_submit_and_wait(&s->ring, 1);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			log_err("submitter of hctx %u: io_uring_enter: %s", s->hctx, strerror(-ret));
			break;
		}
		if (!reap(s, &reaped))
			continue;
		arm_wakeup(s);
		start_all(s);
		if (atomic_load(&s->quit) && !s->inflight)
			break;
	}
	return NULL;
}

/* POLL with nothing in flight: sleep until someone pushes (or quit). */
static void poll_sleep(struct submitter *s)
{
	uint64_t v;

	atomic_store(&s->sleeping, true);
	/* Pairs with submitter_push(): it pushes, then reads sleeping (both seq_cst). */
	if (!inbox_empty(&s->in) || atomic_load(&s->quit)) {
		atomic_store(&s->sleeping, false);
		return;
	}
	if (read(s->wake_fd, &v, sizeof(v)) < 0 && errno != EINTR)
		log_err("submitter of hctx %u: eventfd: %s", s->hctx, strerror(errno));
	atomic_store(&s->sleeping, false);
}

static void *poll_main(void *arg)
{
	struct submitter *s = arg;

	pin(s);
	for (;;) {
		unsigned reaped;
		int ret;

		start_all(s);
		if (!s->inflight) {
			if (atomic_load(&s->quit))
				break;
			poll_sleep(s);
			continue;
		}
		/* On an IOPOLL ring, entering with GETEVENTS polls the queue once. */
		ret = io_uring_submit_and_get_events(&s->ring);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			log_err("submitter of hctx %u: io_uring_enter: %s", s->hctx, strerror(-ret));
			break;
		}
		reap(s, &reaped);
		if (!reaped)
			sched_yield(); /* the worker and the tenant share this CPU */
	}
	return NULL;
}

static int setup_ring(struct submitter *s, char *err, size_t errlen)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQE32 | IORING_SETUP_CQSIZE,
		.cq_entries = SUB_CQ_ENTRIES,
	};
	cpu_set_t set;
	int ret;

	if (s->kind == NQ_POLL)
		p.flags |= IORING_SETUP_IOPOLL;
	ret = io_uring_queue_init_params(SUB_SQ_ENTRIES, &s->ring, &p);
	if (ret < 0) {
		snprintf(err, errlen, "submitter of hctx %u: io_uring setup (%sSQE128|CQE32): %s",
			 s->hctx, s->kind == NQ_POLL ? "IOPOLL|" : "", strerror(-ret));
		return -1;
	}
	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	ret = io_uring_register_iowq_aff(&s->ring, sizeof(set), &set);
	if (ret < 0)
		log_warn("submitter of hctx %u: cannot pin io-wq to CPU %d: %s; a command "
			 "punted for want of a tag may land on another queue", s->hctx, s->cpu,
			 strerror(-ret));
	return 0;
}

struct submitter *submitter_start(struct backend *be, unsigned hctx, enum nq_kind kind, int cpu,
				  char *err, size_t errlen)
{
	struct submitter *s = calloc(1, sizeof(*s));
	int ret;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	*s = (struct submitter){ .be = be, .hctx = hctx, .kind = kind, .cpu = cpu };
	inbox_init(&s->in);
	s->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (s->wake_fd < 0) {
		snprintf(err, errlen, "submitter of hctx %u: eventfd: %s", hctx, strerror(errno));
		free(s);
		return NULL;
	}
	if (setup_ring(s, err, errlen) < 0) {
		close(s->wake_fd);
		free(s);
		return NULL;
	}
	ret = pthread_create(&s->thread, NULL, kind == NQ_POLL ? poll_main : irq_main, s);
	if (ret) {
		snprintf(err, errlen, "submitter of hctx %u: cannot start thread: %s", hctx,
			 strerror(ret));
		io_uring_queue_exit(&s->ring);
		close(s->wake_fd);
		free(s);
		return NULL;
	}
	return s;
}

static void wake(struct submitter *s)
{
	uint64_t one = 1;

	if (write(s->wake_fd, &one, sizeof(one)) < 0)
		log_err("submitter of hctx %u: cannot wake: %s", s->hctx, strerror(errno));
}

void submitter_push(struct submitter *s, struct router_req *rq)
{
	bool was_empty = inbox_push(&s->in, &rq->link);

	/* A polling submitter looks at its inbox on every pass: wake it only if it sleeps. */
	if (was_empty && (s->kind != NQ_POLL || atomic_load(&s->sleeping)))
		wake(s);
}

void submitter_stop(struct submitter *s)
{
	if (!s)
		return;
	atomic_store(&s->quit, true);
	wake(s);
	pthread_join(s->thread, NULL);
	io_uring_queue_exit(&s->ring);
	close(s->wake_fd);
	free(s);
}

uint64_t submitter_count(const struct submitter *s)
{
	if (!s)
		return 0;
	return atomic_load_explicit(&s->submitted, memory_order_relaxed);
}
