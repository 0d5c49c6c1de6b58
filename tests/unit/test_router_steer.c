/* SPDX-License-Identifier: MIT */
/*
 * NQ handles with queue steering (NQ_ROUTE_QID, the kernel series in
 * patches/linux-6.1): where nq_handle_send() puts a request; the port's
 * steering retries and poll accounting; the direct route (route.h), as
 * ublk/worker.c uses them. A recording backend notes the ring and the
 * steering fields of every queue() call; no ring is ever entered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "router/handle.h"
#include "router/route.h"

static struct {
	int calls;
	struct io_uring *ring;
	uint64_t user_data;
	bool steer;
	unsigned hw_queue;
	int buf_index;
	int ret; /* what queue() answers */
} rec;

static int rec_queue(struct backend *be, struct io_uring *ring, struct backend_io *io,
		     uint64_t user_data)
{
	(void)be;
	rec.calls++;
	rec.ring = ring;
	rec.user_data = user_data;
	rec.steer = io->steer;
	rec.hw_queue = io->hw_queue;
	rec.buf_index = io->buf_index;
	if (rec.ret == BACKEND_DONE)
		io->done = io->len;
	return rec.ret;
}

static const struct backend_ops rec_ops = { .kind = "rec", .queue = rec_queue };
static struct backend be = { .ops = &rec_ops, .name = "rec" };

/* Two distinct ring objects; only their addresses matter. */
static struct io_uring main_ring, poll_ring;
static struct router_port owner;
static int wake_fd;

static int setup(void **state)
{
	(void)state;
	memset(&rec, 0, sizeof(rec));
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(wake_fd >= 0);
	router_port_init(&owner, wake_fd, 0, &main_ring);
	owner.poll_ring = &poll_ring;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(wake_fd);
	return 0;
}

static struct nq_handle handle(unsigned hctx, enum nq_kind kind)
{
	return (struct nq_handle){ .hctx = hctx, .kind = kind, .cpu = 0,
				   .route = NQ_ROUTE_QID, .be = &be };
}

static void req(struct router_req *rq, struct backend_io *bio, enum io_op op)
{
	*bio = (struct backend_io){ .op = op, .len = 4096, .buf_index = 7 };
	*rq = (struct router_req){ .bio = bio, .user_data = 42, .owner = &owner };
}

static uint64_t wakeups(void)
{
	uint64_t v = 0;

	return read(wake_fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

/* A DEFAULT queue: the owner's ring, naming the queue, registered buffer kept. */
static void test_default_on_owner_ring(void **state)
{
	struct nq_handle h = handle(1, NQ_DEFAULT);
	struct backend_io bio;
	struct router_req rq;

	(void)state;
	req(&rq, &bio, IO_OP_WRITE);
	nq_handle_send(&h, &rq, &owner);
	assert_int_equal(rec.calls, 1);
	assert_ptr_equal(rec.ring, &main_ring);
	assert_true(rec.steer);
	assert_int_equal(rec.hw_queue, 1);
	assert_int_equal(rec.buf_index, 7);
	assert_false(rq.polled);
	assert_ptr_equal(rq.via, &h);
	assert_int_equal(owner.polled, 0);
	assert_int_equal(atomic_load(&h.direct), 1);
}

/* A POLL queue: the owner's IOPOLL ring, plain buffer, counted as polled. */
static void test_poll_on_iopoll_ring(void **state)
{
	struct nq_handle h = handle(40, NQ_POLL);
	struct backend_io bio;
	struct router_req rq;

	(void)state;
	req(&rq, &bio, IO_OP_READ);
	nq_handle_send(&h, &rq, &owner);
	assert_ptr_equal(rec.ring, &poll_ring);
	assert_true(rec.steer);
	assert_int_equal(rec.hw_queue, 40);
	assert_int_equal(rec.buf_index, -1);
	assert_true(rq.polled);
	assert_int_equal(owner.polled, 1);
}

/* No data, nothing to poll: the kernel would refuse it on a POLL queue; unsteered instead. */
static void test_flush_on_poll_queue_goes_unsteered(void **state)
{
	struct nq_handle h = handle(40, NQ_POLL);
	struct backend_io bio;
	struct router_req rq;

	(void)state;
	req(&rq, &bio, IO_OP_FLUSH);
	nq_handle_send(&h, &rq, &owner);
	assert_ptr_equal(rec.ring, &main_ring);
	assert_false(rec.steer);
	assert_false(rq.polled);
	assert_int_equal(owner.polled, 0);
}

/* A worker without an IOPOLL ring: its CPU's queue, never an unpolled POLL queue. */
static void test_poll_without_iopoll_ring(void **state)
{
	struct nq_handle h = handle(40, NQ_POLL);
	struct backend_io bio;
	struct router_req rq;

	(void)state;
	owner.poll_ring = NULL;
	req(&rq, &bio, IO_OP_WRITE);
	nq_handle_send(&h, &rq, &owner);
	assert_ptr_equal(rec.ring, &main_ring);
	assert_false(rec.steer);
	assert_false(rq.polled);
}

/* Another thread let it go: it travels to the owner's port, nothing is queued here. */
static void test_other_thread_hands_to_owner(void **state)
{
	struct nq_handle h = handle(3, NQ_DEFAULT), h2 = handle(50, NQ_POLL);
	struct backend_io bio, bio2;
	struct router_req rq, rq2, *got;

	(void)state;
	req(&rq, &bio, IO_OP_WRITE);
	req(&rq2, &bio2, IO_OP_READ);
	nq_handle_send(&h, &rq, NULL);
	nq_handle_send(&h2, &rq2, NULL);
	assert_int_equal(rec.calls, 0);
	assert_int_equal(wakeups(), 1); /* only the push that made the inbox non-empty */
	assert_null(router_port_take(&owner)); /* not a finished request */
	got = router_port_take_send(&owner);
	assert_ptr_equal(got, &rq);
	assert_ptr_equal(router_req_next(got), &rq2);
	assert_null(router_req_next(router_req_next(got)));
	assert_ptr_equal(rq.via, &h);
	assert_ptr_equal(rq2.via, &h2);
	/* The owner then sends them itself, where they were meant to go. */
	nq_handle_send(rq2.via, &rq2, &owner);
	assert_ptr_equal(rec.ring, &poll_ring);
	assert_int_equal(rec.hw_queue, 50);
}

/* queue() refusing: the request comes back finished, with the error. */
static void test_queue_error_finishes(void **state)
{
	struct nq_handle h = handle(0, NQ_DEFAULT);
	struct backend_io bio;
	struct router_req rq;

	(void)state;
	rec.ret = -EIO;
	req(&rq, &bio, IO_OP_READ);
	nq_handle_send(&h, &rq, &owner);
	assert_int_equal(bio.result, -EIO);
	assert_ptr_equal(router_port_take(&owner), &rq);
	assert_int_equal(wakeups(), 1);
}

/* The same for a POLL queue: the owner must not keep polling for it. */
static void test_queue_error_on_poll_queue_uncounts(void **state)
{
	struct nq_handle h = handle(40, NQ_POLL);
	struct backend_io bio;
	struct router_req rq;

	(void)state;
	rec.ret = -EIO;
	req(&rq, &bio, IO_OP_WRITE);
	nq_handle_send(&h, &rq, &owner);
	assert_ptr_equal(rec.ring, &poll_ring);
	assert_int_equal(bio.result, -EIO);
	assert_false(rq.polled);
	assert_int_equal(owner.polled, 0);
	assert_ptr_equal(router_port_take(&owner), &rq);
}

/* The direct route to be, and rq for bio (op, len bytes) on it. */
static void direct(struct route *r, struct router_req *rq, struct backend_io *bio, enum io_op op,
		   uint64_t len)
{
	route_init(r, &be, NULL, 0);
	*bio = (struct backend_io){ .op = op, .len = len, .buf_index = -1 };
	route_req_init(rq, bio, 77, &owner);
}

/* Queued on the worker's ring: stamped for the statistics, no NQ. */
static void test_direct_queues_on_worker_ring(void **state)
{
	struct route r;
	struct backend_io bio;
	struct router_req rq;

	(void)state;
	direct(&r, &rq, &bio, IO_OP_READ, 4096);
	assert_int_equal(r.ops->submit(&r, &rq, &owner, 1234), 0);
	assert_int_equal(rec.calls, 1);
	assert_ptr_equal(rec.ring, &main_ring);
	assert_int_equal(rec.user_data, 77);
	assert_false(rec.steer);
	assert_int_equal(rq.sr.submit_ns, 1234);
	assert_int_equal(rq.sr.nq, -1);
	assert_false(rq.polled);
	r.ops->done(&r, &rq, &owner, 2000);
	assert_int_equal(rec.calls, 1);
	assert_null(router_port_take(&owner)); /* nothing travels through the port */
}

/* Finished inside queue() (null backend), or refused: done at once. */
static void test_direct_done_at_once(void **state)
{
	struct route r;
	struct backend_io bio;
	struct router_req rq;

	(void)state;
	rec.ret = BACKEND_DONE;
	direct(&r, &rq, &bio, IO_OP_WRITE, 8192);
	assert_int_equal(r.ops->submit(&r, &rq, &owner, 10), ROUTE_DONE);
	assert_int_equal(bio.result, 0);
	assert_int_equal(bio.done, 8192);
	rec.ret = -EIO;
	direct(&r, &rq, &bio, IO_OP_FLUSH, 0);
	assert_int_equal(r.ops->submit(&r, &rq, &owner, 20), ROUTE_DONE);
	assert_int_equal(bio.result, -EIO);
	assert_int_equal(rq.sr.submit_ns, 20);
}

/*
 * A steered command whose queue had no tag: the port stops counting it as
 * polled, parks it, and sends it again to the same queue; a finished one
 * is over.
 */
static void test_port_parks_and_resends(void **state)
{
	struct nq_handle h = handle(9, NQ_POLL);
	struct backend_io bio = { .op = IO_OP_READ, .len = 4096, .buf_index = 3 };
	struct router_req rq;

	(void)state;
	route_req_init(&rq, &bio, 5, &owner);
	nq_handle_send(&h, &rq, &owner);
	assert_true(router_port_polling(&owner));
	assert_false(router_port_parked(&owner));
	assert_true(router_port_completed(&owner, &rq, BACKEND_AGAIN, 0));
	assert_false(router_port_polling(&owner));
	assert_true(router_port_parked(&owner));
	assert_int_equal(owner.again_count, 1);
	router_port_resend(&owner);
	assert_false(router_port_parked(&owner));
	assert_int_equal(rec.calls, 2);
	assert_ptr_equal(rec.ring, &poll_ring);
	assert_int_equal(rec.hw_queue, 9);
	assert_true(router_port_polling(&owner));
	assert_false(router_port_completed(&owner, &rq, 1, 0));
	assert_false(router_port_polling(&owner));
	assert_false(router_port_parked(&owner));
	router_port_resend(&owner); /* nothing parked: nothing sent */
	assert_int_equal(rec.calls, 2);
}

/*
 * Hybrid polling: the first polled command is not polled for before half
 * the mean completion time has passed; a poll that finds nothing waits an
 * eighth of the mean (at least 2 us); a completion teaches the mean and
 * makes the next poll due at once. Without hybrid: always poll now.
 */
static void test_port_hybrid_poll(void **state)
{
	struct nq_handle h = handle(40, NQ_POLL);
	struct backend_io bio = { .op = IO_OP_READ, .len = 4096 }, bio2 = bio;
	struct router_req rq, rq2;
	const uint64_t us = 1000;

	(void)state;
	route_req_init(&rq, &bio, 5, &owner);
	rq.sr.submit_ns = 1000 * us;
	nq_handle_send(&h, &rq, &owner);
	assert_true(router_port_polling(&owner));
	assert_int_equal(router_port_poll_wait(&owner, 1000 * us), 0); /* spinning: no wait */
	router_port_set_hybrid(&owner, true);
	assert_int_equal(router_port_poll_wait(&owner, 1000 * us), 0); /* no mean learned yet */
	assert_false(router_port_completed(&owner, &rq, 1, 1800 * us));
	assert_int_equal(owner.poll_mean_ns, 800 * us);
	/* The next one: asleep until half the mean (400 us) after it went. */
	route_req_init(&rq2, &bio2, 6, &owner);
	rq2.sr.submit_ns = 2000 * us;
	nq_handle_send(&h, &rq2, &owner);
	assert_int_equal(router_port_poll_wait(&owner, 2000 * us), 400 * us);
	assert_int_equal(router_port_poll_wait(&owner, 2300 * us), 100 * us);
	assert_int_equal(router_port_poll_wait(&owner, 2400 * us), 0);
	router_port_poll_missed(&owner, 2400 * us); /* nothing yet: an eighth of the mean */
	assert_int_equal(router_port_poll_wait(&owner, 2400 * us), 100 * us);
	assert_false(router_port_completed(&owner, &rq2, 1, 2600 * us));
	assert_int_equal(owner.poll_mean_ns, 800 * us - 100 * us + 75 * us); /* 600 us in */
	assert_false(router_port_polling(&owner));
	router_port_set_hybrid(&owner, false);
	router_port_poll_missed(&owner, 3000 * us);
	assert_int_equal(router_port_poll_wait(&owner, 3000 * us), 0);
}

/*
 * One stalled command (5 s) must not make the worker sleep for seconds
 * before polling the next: a sample counts for at most 4x the mean, and no
 * sleep before a poll is longer than 1 ms.
 */
static void test_port_hybrid_poll_after_a_stall(void **state)
{
	struct nq_handle h = handle(40, NQ_POLL);
	struct backend_io bio = { .op = IO_OP_READ, .len = 4096 }, bio2 = bio, bio3 = bio;
	struct router_req rq, rq2, rq3;
	const uint64_t us = 1000;

	(void)state;
	router_port_set_hybrid(&owner, true);
	route_req_init(&rq, &bio, 5, &owner);
	rq.sr.submit_ns = 1000 * us;
	nq_handle_send(&h, &rq, &owner);
	router_port_completed(&owner, &rq, 1, 1400 * us); /* 400 us: the mean */
	route_req_init(&rq2, &bio2, 6, &owner);
	rq2.sr.submit_ns = 2000 * us;
	nq_handle_send(&h, &rq2, &owner);
	router_port_completed(&owner, &rq2, 1, 2000 * us + 5000000 * us); /* stalled 5 s */
	assert_int_equal(owner.poll_mean_ns, 400 * us - 50 * us + 200 * us); /* 1600 us counted */
	route_req_init(&rq3, &bio3, 7, &owner);
	rq3.sr.submit_ns = 6000000 * us;
	nq_handle_send(&h, &rq3, &owner);
	assert_int_equal(router_port_poll_wait(&owner, 6000000 * us), 275 * us);
	owner.poll_mean_ns = 20000 * us; /* however large the mean: 1 ms at most */
	router_port_poll_missed(&owner, 6000000 * us);
	assert_int_equal(router_port_poll_wait(&owner, 6000000 * us), 1000 * us);
	router_port_completed(&owner, &rq3, 1, 6001000 * us);
	route_req_init(&rq, &bio, 8, &owner);
	rq.sr.submit_ns = 7000000 * us;
	nq_handle_send(&h, &rq, &owner);
	assert_int_equal(router_port_poll_wait(&owner, 7000000 * us), 1000 * us);
	router_port_completed(&owner, &rq, 1, 7001000 * us);
}

/* Requests another thread let go: the owner sends them where they were meant to go. */
static void test_port_sends_taken(void **state)
{
	struct nq_handle h = handle(2, NQ_DEFAULT);
	struct backend_io bio = { .op = IO_OP_WRITE, .len = 4096, .buf_index = -1 };
	struct router_req rq;

	(void)state;
	route_req_init(&rq, &bio, 6, &owner);
	nq_handle_send(&h, &rq, NULL);
	assert_int_equal(rec.calls, 0);
	router_port_send_taken(&owner);
	assert_int_equal(rec.calls, 1);
	assert_ptr_equal(rec.ring, &main_ring);
	assert_true(rec.steer);
	assert_int_equal(rec.hw_queue, 2);
	assert_false(router_port_polling(&owner));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_on_owner_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_on_iopoll_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_on_poll_queue_goes_unsteered, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_poll_without_iopoll_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_thread_hands_to_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_error_finishes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_error_on_poll_queue_uncounts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_direct_queues_on_worker_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_done_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_parks_and_resends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_sends_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_hybrid_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_hybrid_poll_after_a_stall, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
