/* SPDX-License-Identifier: MIT */
/*
 * Worker threads: each runs one io_uring event loop that serves one ublk
 * queue of every device, end to end.
 *
 * A tag cycles FETCH -> request arrives -> backend I/O -> COMMIT_AND_FETCH
 * -> next request. STOP_DEV makes the kernel complete every posted command
 * with UBLK_IO_RES_ABORT; once no tag of a queue is in the kernel or in the
 * backend, the worker drops the queue and tells the control thread.
 *
 * The loop only moves requests between the other layers. Each pass waits,
 * reads the clock once, and handles every CQE by its kind:
 *   ublk command:    on_ublk_cqe() -> start_request(): decode the descriptor,
 *                    admission (sched/admit.h: QoS gate, weighted sharing),
 *                    then the queue's route (router/route.h) submits it;
 *   backend command: on_backend_cqe() -> the backend's complete(), the port
 *                    accounts polling and steering retries (router/req.h),
 *                    backend_done() -> the route's done(), commit to ublk,
 *                    admission frees the request's slot.
 * Requests a submitter finished, or another thread let go for this worker
 * to send, come through the worker's port (an inbox plus the same eventfd
 * the mailbox uses): drain_port(). Which NVMe queue a request goes to, and
 * how it gets there, is the route's business (router/README.md).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "ublk/worker_priv.h"

/* user_data: a pointer with its kind in the low two bits (pointers are 8-aligned). */
enum ud_kind { UD_UBLK = 0, UD_BACKEND = 1, UD_WAKEUP = 2 };

static uint64_t ud_make(void *ptr, enum ud_kind kind)
{
	return (uint64_t)(uintptr_t)ptr | kind;
}

static enum ud_kind ud_kind(uint64_t ud)
{
	return (enum ud_kind)(ud & 3);
}

static void *ud_ptr(uint64_t ud)
{
	return (void *)(uintptr_t)(ud & ~3ULL);
}

static struct io_uring_sqe *get_sqe(struct ublk_worker *w)
{
	return backend_get_sqe(&w->ring);
}

static void arm_wakeup(struct ublk_worker *w)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_read(sqe, w->wake_fd, &w->wake_buf, sizeof(w->wake_buf), 0);
	io_uring_sqe_set_data64(sqe, ud_make(w, UD_WAKEUP));
}

static void post_ublk_cmd(struct ublk_worker *w, struct ublk_io *io, uint32_t legacy_op,
			  int32_t result)
{
	struct ublk_queue *q = io->q;
	struct io_uring_sqe *sqe = get_sqe(w);

	ublk_prep_io(sqe, q->char_fd, ublk_io_opcode(legacy_op, w->pool->form), (uint16_t)q->q_id,
		     io->tag, result, (uint64_t)(uintptr_t)io->buf);
	io_uring_sqe_set_data64(sqe, ud_make(io, UD_UBLK));
	if (legacy_op == UBLK_IO_FETCH_REQ)
		sqe->personality = (uint16_t)w->fetch_personality;
	io->state = IO_IN_KERNEL;
	q->in_kernel++;
}

static void attach_queue(struct ublk_worker *w, struct ublk_queue *q)
{
	if (w->nr_queues == w->cap_queues) {
		unsigned cap = w->cap_queues ? 2 * w->cap_queues : 16;
		struct ublk_queue **grown = realloc(w->queues, cap * sizeof(*grown));

		if (!grown) {
			log_err("worker %u: out of memory attaching %s queue %u", w->index,
				q->name, q->q_id);
			return; /* START_DEV times out and the device is rolled back */
		}
		w->queues = grown;
		w->cap_queues = cap;
	}
	w->queues[w->nr_queues++] = q;
	worker_register_buffers(w, q);
	for (unsigned tag = 0; tag < q->depth; tag++)
		post_ublk_cmd(w, &q->ios[tag], UBLK_IO_FETCH_REQ, -1);
	io_uring_submit(&w->ring);
	log_debug("worker %u: serving tenant \"%s\" queue %u (depth %u)", w->index, q->name,
		  q->q_id, q->depth);
	worker_signal_change(w->pool, q, true);
}

static void maybe_detach(struct ublk_worker *w, struct ublk_queue *q)
{
	if (q->in_kernel || q->in_backend)
		return;
	for (unsigned i = 0; i < w->nr_queues; i++) {
		if (w->queues[i] != q)
			continue;
		w->queues[i] = w->queues[--w->nr_queues];
		break;
	}
	worker_unregister_buffers(w, q);
	log_debug("worker %u: dropped tenant \"%s\" queue %u", w->index, q->name, q->q_id);
	worker_signal_change(w->pool, q, false);
}

static void commit(struct ublk_worker *w, struct ublk_io *io, int result)
{
	post_ublk_cmd(w, io, UBLK_IO_COMMIT_AND_FETCH_REQ, result);
}

static void backend_done(struct ublk_worker *w, struct ublk_io *io, uint64_t now);

/* A request answered to ublk without reaching the backend. */
static void count_refused(struct ublk_queue *q, enum stats_err why)
{
	stats_add(&q->st.errors[why], 1);
	stats_add_release(&q->st.completed, 1);
}

/* io's backend work is over at now: its latencies, its outcome, its NQ. */
static void count_done(struct ublk_queue *q, struct ublk_io *io, uint64_t now)
{
	struct backend_io *bio = &io->bio;
	uint64_t submit = io->rr.sr.submit_ns;

	if (submit < io->adm.arrive_ns || submit > now) /* never sent (failed at once) */
		submit = now;
	stats_hist_record(&q->st.queue_lat, submit - io->adm.arrive_ns);
	stats_hist_record(&q->st.dev_lat, now - submit);
	stats_hist_record(&q->st.lat, now > io->adm.arrive_ns ? now - io->adm.arrive_ns : 0);
	if (bio->result < 0) {
		stats_add(&q->st.errors[stats_err_of_errno(bio->result)], 1);
	} else {
		stats_add(&q->st.ops[bio->op], 1);
		stats_add(&q->st.bytes[bio->op], io_op_moves_data(bio->op) ? bio->done : bio->len);
	}
	if (io->rr.sr.nq >= 0)
		stats_io_nq_used(&q->st, (unsigned)io->rr.sr.nq);
	stats_add_release(&q->st.completed, 1);
}

/* Admission let io go at now: along its queue's route. */
static void submit_to_backend(struct ublk_worker *w, struct ublk_io *io, uint64_t now)
{
	struct ublk_queue *q = io->q;

	io->state = IO_IN_BACKEND;
	route_req_init(&io->rr, &io->bio, ud_make(io, UD_BACKEND), &w->port);
	if (q->route.ops->submit(&q->route, &io->rr, &w->port, now) == ROUTE_DONE)
		backend_done(w, io, now); /* failed, or done already (null) */
}

static struct ublk_io *io_of_admit(struct admit_item *it)
{
	return (struct ublk_io *)((char *)it - offsetof(struct ublk_io, adm));
}

static struct ublk_io *io_of_rr(struct router_req *rq)
{
	return (struct ublk_io *)((char *)rq - offsetof(struct ublk_io, rr));
}

/* Admission let a request go at now: to the backend. */
static void admit_go(struct admit *a, struct admit_item *it, uint64_t now)
{
	submit_to_backend(a->ctx, io_of_admit(it), now);
}

/* Its gate let a held request go at now: it was held since it arrived. */
static void admit_released(struct admit *a, struct admit_item *it, uint64_t now)
{
	stats_add(&io_of_admit(it)->q->st.throttled_ns, now - it->arrive_ns);
}

static const struct admit_ops worker_admit_ops = {
	.go = admit_go,
	.released = admit_released,
};

void worker_admit_init(struct ublk_worker *w)
{
	admit_init(&w->adm, &worker_admit_ops, w);
}

/*
 * Decode io's descriptor into io->bio, in backend offsets. <0: the
 * request is refused (counted), with the -errno to answer ublk.
 */
static int decode(struct ublk_worker *w, struct ublk_io *io)
{
	struct ublk_queue *q = io->q;
	struct ublk_req req;
	int op, ret;

	ret = ublk_req_decode(&q->descs[io->tag], q->dev_bytes, q->buf_bytes, &req);
	if (ret == -EIO)
		log_warn("tenant \"%s\": request op %u at %llu+%llu lies outside the device "
			 "(%llu bytes): failed with EIO", q->name, req.op,
			 (unsigned long long)req.offset, (unsigned long long)req.len,
			 (unsigned long long)q->dev_bytes);
	if (w->pool->crash_on_read && req.op == UBLK_IO_OP_READ) {
		log_warn("DDUBLKD_CRASH_AT=first-read: killing myself with a read of tenant "
			 "\"%s\" in hand (test hook)", q->name);
		raise(SIGKILL);
	}
	op = ret ? ret : ublk_backend_op(req.op);
	if (op < 0) {
		count_refused(q, ret == -EIO ? STATS_ERR_RANGE : STATS_ERR_UNSUPPORTED);
		return op;
	}
	io->bio = (struct backend_io){
		.op = (enum io_op)op,
		.fua = (req.flags & UBLK_IO_F_FUA) != 0,
		.off = q->be_offset + req.offset,
		.len = req.len,
		.buf = io->buf,
		.buf_index = q->buf_slot < 0 ? -1 : q->buf_slot + io->tag,
	};
	return 0;
}

/* A request arrived on io's tag (seen at now): decode it, admit it, send it. */
static void start_request(struct ublk_worker *w, struct ublk_io *io, uint64_t now)
{
	struct ublk_queue *q = io->q;
	int ret;

	stats_add(&w->st_ublk, 1);
	stats_add(&q->st.arrived, 1);
	ret = decode(w, io);
	if (ret < 0) {
		commit(w, io, ret);
		return;
	}
	q->in_backend++;
	admit_item_init(&io->adm, &q->flow, io->bio.op, io->bio.len, io->bio.fua, now);
	switch (admit_request(&w->adm, &io->adm, now)) {
	case ADMIT_GO:
		submit_to_backend(w, io, now);
		break;
	case ADMIT_HELD:
		stats_add(&q->st.throttled, 1);
		io->state = IO_ADMITTING;
		break;
	case ADMIT_WAITING:
		io->state = IO_ADMITTING;
		break;
	}
}

static void on_ublk_cqe(struct ublk_worker *w, struct ublk_io *io, int res, uint64_t now)
{
	struct ublk_queue *q = io->q;

	q->in_kernel--;
	if (res == UBLK_IO_RES_OK) {
		start_request(w, io, now);
		return;
	}
	io->state = IO_FREE;
	if (res != UBLK_IO_RES_ABORT)
		log_err("tenant \"%s\" queue %u tag %u: ublk io command failed: %s", q->name,
			q->q_id, io->tag, res < 0 ? strerror(-res) : "unexpected result");
	maybe_detach(w, q);
}

/* io's backend work is over at now (io->bio.result says how): commit it, free its slot. */
static void backend_done(struct ublk_worker *w, struct ublk_io *io, uint64_t now)
{
	struct ublk_queue *q = io->q;
	struct backend_io *bio = &io->bio;
	int result;

	q->in_backend--;
	count_done(q, io, now);
	q->route.ops->done(&q->route, &io->rr, &w->port, now); /* may send held requests */
	if (bio->result < 0) {
		result = bio->result;
		log_warn("tenant \"%s\": backend \"%s\" op %d at tenant offset %llu+%llu "
			 "(backend offset %llu) failed: %s", q->name, q->be->name, bio->op,
			 (unsigned long long)(bio->off - q->be_offset),
			 (unsigned long long)bio->len, (unsigned long long)bio->off,
			 strerror(-result));
	} else {
		/* ublk wants the bytes moved for data ops, 0 for the others. */
		result = io_op_moves_data(bio->op) ? (int)bio->done : 0;
	}
	commit(w, io, result);
	admit_done(&w->adm, &io->adm, now); /* may send requests waiting for their turn */
}

/* A CQE of io's backend commands, on ring (the worker's, or its IOPOLL ring). */
static void on_backend_cqe(struct ublk_worker *w, struct io_uring *ring, struct ublk_io *io,
			   const struct io_uring_cqe *cqe, uint64_t now)
{
	struct ublk_queue *q = io->q;
	int ret = q->be->ops->complete(q->be, ring, &io->bio, cqe, ud_make(io, UD_BACKEND));

	stats_add(&w->st_backend, 1);
	if (ret && !router_port_completed(&w->port, &io->rr, ret, now)) /* else parked, to go again */
		backend_done(w, io, now);
}

static void drain_inbox(struct ublk_worker *w)
{
	struct mailbox_msg *m;

	pthread_mutex_lock(&w->pool->lock);
	m = w->inbox;
	w->inbox = NULL;
	pthread_mutex_unlock(&w->pool->lock);
	/* The list is LIFO; order does not matter for attaching queues. */
	while (m) {
		struct mailbox_msg *next = m->next;

		attach_queue(w, m->q);
		free(m);
		m = next;
	}
}

/*
 * Routed requests a submitter finished for us (their backend work is
 * over), then -- queue steering -- those another thread let go for us to
 * send.
 */
static void drain_port(struct ublk_worker *w, uint64_t now)
{
	struct router_req *rq = router_port_take(&w->port);

	while (rq) {
		struct router_req *next = router_req_next(rq);

		stats_add(&w->st_returned, 1);
		backend_done(w, io_of_rr(rq), now);
		rq = next;
	}
	router_port_send_taken(&w->port);
}

static bool should_quit(struct ublk_worker *w)
{
	bool quit;

	pthread_mutex_lock(&w->pool->lock);
	quit = w->quit;
	pthread_mutex_unlock(&w->pool->lock);
	return quit;
}

static void handle_cqe(struct ublk_worker *w, struct io_uring *ring,
		       const struct io_uring_cqe *cqe, uint64_t now, bool *woken)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);

	switch (ud_kind(ud)) {
	case UD_UBLK:
		on_ublk_cqe(w, ud_ptr(ud), cqe->res, now);
		break;
	case UD_BACKEND:
		on_backend_cqe(w, ring, ud_ptr(ud), cqe, now);
		break;
	case UD_WAKEUP:
		*woken = true;
		break;
	}
}

/*
 * Count the io_uring_enter() the next liburing call on ring makes: it
 * enters to submit, to wait, or to reap when no CQE is there yet; with
 * neither it returns without a system call. (bench/overhead cross-checks
 * the count with strace.)
 */
static void count_enter(struct ublk_worker *w, struct io_uring *ring, bool waits)
{
	if (waits || io_uring_sq_ready(ring))
		stats_add(&w->st_enters, 1);
}

/*
 * Submit what is queued and take the completions that are ready, without
 * waiting. With deferred task work the kernel only posts completions when
 * asked to (GETEVENTS), so that asking costs an io_uring_enter() even with
 * nothing to submit.
 */
static int submit_nowait(struct ublk_worker *w)
{
	if (w->defer_taskrun) {
		count_enter(w, &w->ring, true);
		return io_uring_submit_and_get_events(&w->ring);
	}
	count_enter(w, &w->ring, false);
	return io_uring_submit(&w->ring);
}

/*
 * Submit and wait for a CQE, or until the first held request may go, or a
 * request the port parked for want of a tag should try again. While
 * commands sit on the IOPOLL ring, wait only as long as hybrid polling
 * says nothing will be done there (without it, never: the loop polls).
 */
static int wait_for_work(struct ublk_worker *w)
{
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;
	uint64_t now = 0, left = UINT64_MAX, retry_at = admit_retry_at(&w->adm);

	if (router_port_polling(&w->port)) {
		now = monotonic_ns();
		left = router_port_poll_wait(&w->port, now);
		/* Commands queued on the IOPOLL ring since poll_once() must reach the device first. */
		if (!left || io_uring_sq_ready(&w->poll_ring))
			return submit_nowait(w);
	}
	if (router_port_parked(&w->port) && ROUTER_PORT_RESEND_NS < left)
		left = ROUTER_PORT_RESEND_NS;
	if (retry_at) {
		if (!now)
			now = monotonic_ns();
		if (retry_at <= now)
			left = 0;
		else if (retry_at - now < left)
			left = retry_at - now;
	}
	if (left == UINT64_MAX) {
		count_enter(w, &w->ring, true);
		return io_uring_submit_and_wait(&w->ring, 1);
	}
	if (!left)
		return submit_nowait(w);
	count_enter(w, &w->ring, !io_uring_cq_ready(&w->ring));
	ts.tv_sec = (long long)(left / 1000000000ULL);
	ts.tv_nsec = (long long)(left % 1000000000ULL);
	return io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1, &ts, NULL);
}

/* Every CQE ring has now (the batch's time); how many. */
static unsigned reap_ring(struct ublk_worker *w, struct io_uring *ring, uint64_t now,
			  bool *woken)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	io_uring_for_each_cqe(ring, head, cqe) {
		handle_cqe(w, ring, cqe, now, woken);
		seen++;
	}
	io_uring_cq_advance(ring, seen);
	return seen;
}

/*
 * Steering: submit what is queued on the IOPOLL ring and poll its queues
 * once (entering an IOPOLL ring with GETEVENTS polls) -- with hybrid
 * polling only once that is worth it; how many CQEs.
 */
static unsigned poll_once(struct ublk_worker *w, uint64_t now)
{
	bool woken = false, submit;
	unsigned seen;
	int ret;

	if (!w->has_poll_ring)
		return 0;
	submit = io_uring_sq_ready(&w->poll_ring) != 0;
	if (!submit && (!router_port_polling(&w->port) || router_port_poll_wait(&w->port, now)))
		return 0;
	count_enter(w, &w->poll_ring, true); /* get_events always enters */
	ret = io_uring_submit_and_get_events(&w->poll_ring);
	if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
		log_err("worker %u: io_uring_enter (IOPOLL ring): %s", w->index, strerror(-ret));
	seen = reap_ring(w, &w->poll_ring, now, &woken);
	if (!seen && !submit)
		router_port_poll_missed(&w->port, now);
	return seen;
}

void *worker_main(void *arg)
{
	struct ublk_worker *w = arg;

	if (!worker_setup_thread(w))
		return NULL;
	arm_wakeup(w);
	for (;;) {
		bool woken = false;
		unsigned seen;
		uint64_t now, retry_at;
		int ret = wait_for_work(w);

		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY && ret != -ETIME) {
			log_err("worker %u: io_uring_enter: %s", w->index, strerror(-ret));
			break;
		}
		/* One clock read per batch: when the worker saw what it handles now. */
		now = monotonic_ns();
		seen = reap_ring(w, &w->ring, now, &woken);
		seen += poll_once(w, now);
		router_port_resend(&w->port);
		/* Spin-polling and nothing came: let the tenants and the other threads run. */
		if (!seen && router_port_polling(&w->port) && !router_port_hybrid(&w->port))
			sched_yield();
		retry_at = admit_retry_at(&w->adm);
		if (retry_at && now >= retry_at) /* held requests whose gate may say yes now */
			admit_retry(&w->adm, now);
		if (!woken)
			continue;
		arm_wakeup(w);
		drain_port(w, now);
		drain_inbox(w);
		if (should_quit(w)) {
			if (w->nr_queues)
				log_warn("worker %u: exiting with %u queue(s) still attached",
					 w->index, w->nr_queues);
			break;
		}
	}
	return NULL;
}

