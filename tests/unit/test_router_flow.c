/* SPDX-License-Identifier: MIT */
/*
 * The router end to end on the host, without NVMe: a fake backend whose
 * "commands" are io_uring NOPs, two DEFAULT NQs, real submitter threads.
 * A fake worker (a port with its own ring and eventfd) submits requests of
 * a latency and a throughput tenant and completes them the way
 * ublk/worker.c does: CQEs on its own ring for direct sends, its port's
 * inbox for hopped ones. Checks where each request went and that every
 * request comes back exactly once, also when a tiny tag depth makes the
 * scheduler hold requests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "router/route.h"
#include "router/router.h"

#define NR_REQ 300

/* ---- a backend of NOPs ---- */

static int nop_queue(struct backend *be, struct io_uring *ring, struct backend_io *io,
		     uint64_t user_data)
{
	struct io_uring_sqe *sqe;

	(void)be;
	if (io->steer)
		return -ENOTTY; /* a stock kernel: no queue ids */
	sqe = backend_get_sqe(ring);
	if (!sqe)
		return -EAGAIN;
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, user_data);
	io->pending++;
	return 0;
}

static int nop_complete(struct backend *be, struct io_uring *ring, struct backend_io *io,
			const struct io_uring_cqe *cqe, uint64_t user_data)
{
	(void)be;
	(void)ring;
	(void)user_data;
	if (cqe->res < 0 && !io->result)
		io->result = cqe->res;
	io->pending--;
	io->done = io->len;
	return io->pending == 0;
}

static void nop_close(struct backend *be)
{
	(void)be;
}

static const struct backend_ops nop_ops = {
	.kind = "nop", .queue = nop_queue, .complete = nop_complete, .close = nop_close,
};

static struct backend be = { .ops = &nop_ops, .name = "nop", .block_size = 512 };

/* ---- a worker ---- */

struct io {
	struct backend_io bio;
	struct router_req rr;
	int finished; /* times it came back */
};

static struct io ios[NR_REQ];
static struct io_uring ring;
static struct router_port port;
static int wake_fd, cpu_a, cpu_b;

static int setup(void **state)
{
	cpu_set_t allowed;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	cpu_a = cpu_b = -1;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &allowed))
			continue;
		if (cpu_a < 0)
			cpu_a = c;
		else if (cpu_b < 0)
			cpu_b = c;
	}
	if (cpu_b < 0)
		cpu_b = cpu_a; /* one CPU: NQ 1 still names another in its map */
	assert_int_equal(io_uring_queue_init(512, &ring, 0), 0);
	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(wake_fd >= 0);
	router_port_init(&port, wake_fd, (unsigned)cpu_a, &ring);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	io_uring_queue_exit(&ring);
	close(wake_fd);
	return 0;
}

/* Two DEFAULT NQs: hctx 0 mapped to cpu_a, hctx 1 to another CPU (its submitter on cpu_b). */
static void fake_list(struct nq_list *l, cpu_set_t *allowed, unsigned depth)
{
	static struct nq_found q[2];

	CPU_ZERO(allowed);
	CPU_SET(cpu_a, allowed);
	CPU_SET(cpu_b, allowed);
	for (unsigned i = 0; i < 2; i++) {
		q[i] = (struct nq_found){ .hctx = i, .type = HCTX_DEFAULT, .depth = depth };
		nq_desc_init(&q[i].desc, NQ_DEFAULT, depth);
	}
	nq_desc_add_cpu(&q[0].desc, (unsigned)cpu_a);
	q[0].cpu = cpu_a;
	nq_desc_add_cpu(&q[1].desc, cpu_b != cpu_a ? (unsigned)cpu_b : (unsigned)cpu_a + 1);
	q[1].cpu = cpu_b;
	*l = (struct nq_list){ .q = q, .nr = 2, .nr_reachable = 2, .types_from_debugfs = true };
}

static struct router *make(enum conf_sched_mode mode, unsigned depth)
{
	struct conf_sched cs = { .mode = mode, .promote_flush = true };
	struct router *r = NULL;
	cpu_set_t allowed;
	struct nq_list l;
	char err[256];

	fake_list(&l, &allowed, depth);
	assert_int_equal(router_create_on(&be, "fake0n1", &cs, &l, &allowed, &r, err, sizeof(err)),
			 0);
	assert_int_equal(router_mode(r), mode);
	return r;
}

static void finish(struct router *r, struct io *io)
{
	io->finished++;
	router_done(r, &io->rr, &port);
}

/* Reap the worker's ring and port until `want` requests are back. */
static void run_until(struct router *r, unsigned want)
{
	unsigned back = 0;

	while (back < want) {
		struct pollfd p[2] = { { .fd = wake_fd, .events = POLLIN },
				       { .fd = ring.ring_fd, .events = POLLIN } };
		struct io_uring_cqe *cqe;
		struct router_req *rq;
		uint64_t v;

		io_uring_submit(&ring);
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			struct io *io = (struct io *)(uintptr_t)io_uring_cqe_get_data64(cqe);
			bool done = be.ops->complete(&be, &ring, &io->bio, cqe, 0);

			io_uring_cqe_seen(&ring, cqe);
			if (done) {
				finish(r, io);
				back++;
			}
		}
		if (read(wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			fail_msg("eventfd: %s", strerror(errno));
		for (rq = router_port_take(&port); rq;) {
			struct router_req *next = router_req_next(rq);

			finish(r, (struct io *)((char *)rq - offsetof(struct io, rr)));
			back++;
			rq = next;
		}
		if (back < want)
			assert_true(poll(p, 2, 5000) > 0); /* a lost wakeup would hang here */
	}
}

/* n requests, alternately of tenant lat and tput. */
static void submit_all(struct router *r, unsigned n, int lat, int tput)
{
	memset(ios, 0, sizeof(ios));
	for (unsigned i = 0; i < n; i++) {
		struct io *io = &ios[i];

		io->bio = (struct backend_io){ .op = i % 3 ? IO_OP_READ : IO_OP_WRITE, .len = 4096,
					       .buf_index = 7 };
		router_req_init(&io->rr, (unsigned)(i % 2 ? tput : lat), &io->bio,
				(uint64_t)(uintptr_t)io, &port);
		router_submit(r, &io->rr, &port);
	}
}

static void check_all_back(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(ios[i].finished, 1);
		assert_int_equal(ios[i].bio.result, 0);
		assert_int_equal(ios[i].bio.done, 4096);
	}
}

/*
 * What the scheduler is told about each op: READ/WRITE their data,
 * DISCARD and WRITE ZEROES their range (the T cap counts it; it was 0),
 * FLUSH nothing; FUA kept as a flag.
 */
static void test_req_bytes(void **state)
{
	static const struct {
		enum io_op op;
		bool fua;
		uint64_t len;
		enum io_op sop;
		uint32_t bytes;
	} c[] = {
		{ IO_OP_READ, false, 4096, IO_OP_READ, 4096 },
		{ IO_OP_WRITE, true, 65536, IO_OP_WRITE, 65536 },
		{ IO_OP_FLUSH, false, 0, IO_OP_FLUSH, 0 },
		{ IO_OP_DISCARD, false, 1 << 20, IO_OP_DISCARD, 1 << 20 },
		{ IO_OP_WRITE_ZEROES, false, 1 << 30, IO_OP_WRITE_ZEROES, 1 << 30 },
		{ IO_OP_DISCARD, false, 1ULL << 33, IO_OP_DISCARD, UINT32_MAX },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct backend_io bio = { .op = c[i].op, .fua = c[i].fua, .len = c[i].len };
		struct router_req rq;

		router_req_init(&rq, 3, &bio, 0, &port);
		assert_int_equal(rq.sr.op, c[i].sop);
		assert_true(rq.sr.bytes == c[i].bytes);
		assert_int_equal(rq.sr.flags, c[i].fua ? SCHED_REQ_FUA : 0);
	}
}

static void test_daredevil_routes_by_class(void **state)
{
	struct router *r = make(CONF_SCHED_DAREDEVIL, 1023);
	struct router_nq_stats c0, c1;
	int lat, tput;

	(void)state;
	assert_int_equal(router_nr_nqs(r), 2);
	lat = router_tenant_add(r, CONF_CLASS_LATENCY);
	tput = router_tenant_add(r, CONF_CLASS_THROUGHPUT);
	assert_true(lat >= 0 && tput >= 0 && lat != tput);
	submit_all(r, NR_REQ, lat, tput);
	run_until(r, NR_REQ);
	check_all_back(NR_REQ);
	router_nq_stats(r, 0, &c0);
	router_nq_stats(r, 1, &c1);
	/* L on NQ 0, the worker's own CPU's: sent on its ring. T on NQ 1: through its submitter. */
	assert_int_equal(c0.lane[NQ_LANE_LATENCY], NR_REQ / 2);
	assert_int_equal(c0.lane[NQ_LANE_THROUGHPUT], 0);
	assert_int_equal(c0.direct, NR_REQ / 2);
	assert_int_equal(c0.hopped, 0);
	assert_int_equal(c1.lane[NQ_LANE_THROUGHPUT], NR_REQ / 2);
	assert_int_equal(c1.lane[NQ_LANE_LATENCY], 0);
	assert_int_equal(c1.direct, 0);
	assert_int_equal(c1.hopped, NR_REQ / 2);
	/* Hopped requests lose the owner's registered buffer; direct ones keep it. */
	assert_int_equal(ios[0].bio.buf_index, 7);
	assert_int_equal(ios[1].bio.buf_index, -1);
	/* Reclassified: the latency tenant's requests now go the throughput way. */
	router_tenant_set(r, (unsigned)lat, CONF_CLASS_THROUGHPUT);
	submit_all(r, 10, lat, tput);
	run_until(r, 10);
	check_all_back(10);
	router_nq_stats(r, 1, &c1);
	assert_int_equal(c1.lane[NQ_LANE_THROUGHPUT], NR_REQ / 2 + 10);
	router_tenant_del(r, (unsigned)lat);
	router_tenant_del(r, (unsigned)tput);
	assert_int_equal(router_tenant_add(r, CONF_CLASS_BESTEFFORT), 0); /* ids are reused */
	router_destroy(r);
}

static void test_static_stays_on_own_cpu(void **state)
{
	struct router *r = make(CONF_SCHED_STATIC, 1023);
	struct router_nq_stats c0, c1;
	int lat = router_tenant_add(r, CONF_CLASS_LATENCY);
	int tput = router_tenant_add(r, CONF_CLASS_THROUGHPUT);

	(void)state;
	submit_all(r, NR_REQ, lat, tput);
	run_until(r, NR_REQ);
	check_all_back(NR_REQ);
	router_nq_stats(r, 0, &c0);
	router_nq_stats(r, 1, &c1);
	assert_int_equal(c0.direct, NR_REQ);
	assert_int_equal(c0.hopped, 0);
	assert_int_equal(c1.lane[NQ_LANE_LATENCY] + c1.lane[NQ_LANE_THROUGHPUT], 0);
	router_destroy(r);
}

/*
 * Static mode's route: every request on the worker's ring, unsteered, with
 * no scheduler step (the scheduler sees none), counted on the worker CPU's
 * NQ -- in flight until the route's done(), even at a tag depth of 2,
 * where the scheduler would have held them (the kernel holds them now).
 */
static void test_static_route_skips_the_scheduler(void **state)
{
	struct router *r = make(CONF_SCHED_STATIC, 2);
	int t = router_tenant_add(r, CONF_CLASS_THROUGHPUT);
	struct router_nq_stats c0, c1;
	struct route rt;
	unsigned back = 0;

	(void)state;
	assert_true(t >= 0);
	assert_int_equal(router_static_nq(r, (unsigned)cpu_a), 0);
	route_init(&rt, &be, r, (unsigned)t);
	memset(ios, 0, sizeof(ios));
	for (unsigned i = 0; i < 20; i++) {
		struct io *io = &ios[i];

		io->bio = (struct backend_io){ .op = i % 2 ? IO_OP_READ : IO_OP_FLUSH,
					       .len = i % 2 ? 4096 : 0, .buf_index = 7 };
		route_req_init(&io->rr, &io->bio, (uint64_t)(uintptr_t)io, &port);
		assert_int_equal(rt.ops->submit(&rt, &io->rr, &port, 1000 + i), 0);
		assert_int_equal(io->rr.sr.nq, 0);
		assert_int_equal(io->rr.sr.submit_ns, 1000 + i);
	}
	router_nq_stats(r, 0, &c0);
	assert_int_equal(c0.cmds, 20);
	assert_int_equal(c0.inflight, 20); /* past a depth of 2: nothing held in the daemon */
	assert_int_equal(c0.direct, 20);
	assert_int_equal(c0.bytes, 10 * 4096);
	while (back < 20) {
		struct io_uring_cqe *cqe;

		assert_int_equal(io_uring_submit_and_wait(&ring, 1) >= 0, true);
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			struct io *io = (struct io *)(uintptr_t)io_uring_cqe_get_data64(cqe);

			assert_true(be.ops->complete(&be, &ring, &io->bio, cqe, 0));
			io_uring_cqe_seen(&ring, cqe);
			rt.ops->done(&rt, &io->rr, &port, 5000);
			io->finished++;
			back++;
		}
	}
	assert_null(router_port_take(&port)); /* nothing came back through the router */
	for (unsigned i = 0; i < 20; i++)
		assert_int_equal(ios[i].finished, 1);
	router_nq_stats(r, 0, &c0);
	router_nq_stats(r, 1, &c1);
	assert_int_equal(c0.inflight, 0);
	assert_int_equal(c0.cmds, 20);
	assert_int_equal(c1.cmds + c1.inflight, 0);
	router_destroy(r);
}

/* Depth 2: the scheduler holds most requests, completions let them go. */
static void test_held_requests_all_come_back(void **state)
{
	struct router *r = make(CONF_SCHED_DAREDEVIL, 2);
	struct router_nq_stats c0, c1;
	int lat = router_tenant_add(r, CONF_CLASS_LATENCY);
	int tput = router_tenant_add(r, CONF_CLASS_THROUGHPUT);

	(void)state;
	submit_all(r, NR_REQ, lat, tput);
	run_until(r, NR_REQ);
	check_all_back(NR_REQ);
	router_nq_stats(r, 0, &c0);
	router_nq_stats(r, 1, &c1);
	assert_int_equal(c0.lane[NQ_LANE_LATENCY], NR_REQ / 2);
	assert_int_equal(c1.lane[NQ_LANE_THROUGHPUT], NR_REQ / 2);
	router_destroy(r);
}

static void test_daredevil_needs_two_queues(void **state)
{
	struct conf_sched cs = { .mode = CONF_SCHED_DAREDEVIL };
	struct router *r = NULL;
	cpu_set_t allowed;
	struct nq_list l;
	char err[256];

	(void)state;
	fake_list(&l, &allowed, 64);
	l.nr = 1;
	l.nr_reachable = 1;
	assert_int_equal(router_create_on(&be, "fake0n1", &cs, &l, &allowed, &r, err, sizeof(err)),
			 0);
	assert_int_equal(router_mode(r), CONF_SCHED_STATIC); /* fell back, logged */
	router_destroy(r);
	l.nr_reachable = 0;
	assert_int_equal(router_create_on(&be, "fake0n1", &cs, &l, &allowed, &r, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "none of fake0n1's"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_req_bytes),
		cmocka_unit_test(test_daredevil_routes_by_class),
		cmocka_unit_test(test_static_stays_on_own_cpu),
		cmocka_unit_test(test_static_route_skips_the_scheduler),
		cmocka_unit_test(test_held_requests_all_come_back),
		cmocka_unit_test(test_daredevil_needs_two_queues),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
