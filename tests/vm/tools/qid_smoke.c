/* SPDX-License-Identifier: MIT */
/*
 * qid_smoke: guest-side check of NVMe passthrough queue steering
 * (patches/linux-6.1/0004 and 0005, backend/nvme/nvme_qid.h). Run by the VM
 * scenarios tests/vm/scenarios/kernel_qid*.sh, as root, with debugfs on
 * /sys/kernel/debug, on a scratch namespace (it writes from byte offset
 * 1 MiB on: 4 KiB per hardware queue, then 8 KiB blocks from 5 MiB on).
 *
 *   qid_smoke probe /dev/ngXnY nvmeXnY   one steered read on queue 0
 *   qid_smoke check /dev/ngXnY nvmeXnY   everything below
 *
 * check: every hardware queue takes one steered write and one steered read
 * of a block of its own (data verified), first one at a time, then all
 * queues of a ring at once; NVME_URING_CMD_IO_VEC_QID works on the first
 * interrupt-driven and the last polled queue; nonexistent queues, polled queues on a
 * non-IOPOLL ring and data-less commands on polled queues are refused with
 * -EINVAL; filling a polled queue past its tag count gives -EAGAIN for the
 * surplus and nothing else, and the queue works afterwards; a command left
 * unpolled on the last polled queue is completed by the timeout handler
 * (the scenario checks the kernel log for it); no tag is leaked.
 *
 * Every line that starts with "EVIDENCE" is for the scenario to check
 * against the per-queue trace of the emulated controller.
 *
 * Exit status: 0 passed, 1 a check failed, 2 steering not supported (the
 * probe got -ENOTTY: a kernel without the patches), 3 setup error.
 */
#include "qid_common.h"

#include "backend/nvme/nvme_qid.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define BLK 4096u
#define BASE (1u << 20) /* byte offset of queue 0's block */
#define EXTRA_CMDS 16u /* commands beyond the tag count in the exhaustion test */
#define TIMEOUT_MS 1000u /* per-command timeout in the timeout test */

enum { EXIT_PASS, EXIT_FAIL, EXIT_ENOTTY, EXIT_SETUP };

static struct qid_dev dev;
static int failures;
static const char *phase = "setup";

static void on_alarm(int sig)
{
	static const char msg[] = "FAIL: no completion within the time limit (hang) in phase ";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0 || write(2, phase, strlen(phase)) < 0 ||
	    write(2, "\n", 1) < 0)
		_exit(EXIT_FAIL);
	_exit(EXIT_FAIL);
}

static void start_phase(const char *name, unsigned int secs)
{
	phase = name;
	alarm(secs);
	printf("== %s\n", name);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;

	failures++;
	fprintf(stderr, "FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *res_str(int res)
{
	static char buf[64];

	return qid_res_str(res, buf, sizeof(buf));
}

static void prep(struct io_uring_sqe *sqe, unsigned int opcode, void *buf, uint32_t len,
		 uint64_t off, uint32_t hw_queue, uint64_t user_data)
{
	qid_prep(&dev, sqe, opcode, buf, len, off, hw_queue, user_data);
}

static int wait_one(struct io_uring *ring, uint64_t *user_data)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_wait_cqe(ring, &cqe);

	if (ret) {
		fprintf(stderr, "io_uring_wait_cqe: %s\n", strerror(-ret));
		exit(EXIT_SETUP);
	}
	ret = cqe->res;
	if (user_data)
		*user_data = cqe->user_data;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/* One steered command, synchronously: its cqe->res. */
static int one(struct io_uring *ring, unsigned int opcode, void *buf, uint32_t len, uint64_t off,
	       uint32_t hw_queue)
{
	int ret;

	prep(qid_get_sqe(ring), opcode, buf, len, off, hw_queue, 1);
	ret = io_uring_submit(ring);
	if (ret != 1) {
		fprintf(stderr, "io_uring_submit: %d\n", ret);
		exit(EXIT_SETUP);
	}
	return wait_one(ring, NULL);
}

static void expect_res(const char *what, unsigned int q, int got, int want)
{
	if (got != want)
		fail("%s on hw queue %u: got %s, want %s", what, q, res_str(got),
		     want ? strerror(-want) : "0");
}

/* The block of hw queue q, generation gen: 64-bit words naming both. */
static void fill(void *buf, unsigned int q, unsigned int gen)
{
	uint64_t *w = buf;
	size_t i;

	for (i = 0; i < BLK / sizeof(*w); i++)
		w[i] = 0x716964736d6f6b65ull ^ ((uint64_t)q << 40) ^ ((uint64_t)gen << 32) ^ i;
}

static uint64_t block_off(unsigned int q)
{
	return BASE + (uint64_t)q * BLK;
}

static struct io_uring *ring_for(unsigned int q, struct io_uring *irq, struct io_uring *poll)
{
	return qid_is_poll(&dev, q) ? poll : irq;
}

static int probe(struct io_uring *irq)
{
	void *buf = qid_alloc(BLK);
	int ret;

	ret = one(irq, OPC_READ, buf, BLK, block_off(0), 0);
	printf("probe: NVME_URING_CMD_IO_QID (0x%lx) read on hw queue 0: %s\n",
	       (unsigned long)NVME_URING_CMD_IO_QID, res_str(ret));
	free(buf);
	if (ret == -ENOTTY)
		return EXIT_ENOTTY;
	return ret ? EXIT_FAIL : EXIT_PASS;
}

/* One write and one read per queue, one command at a time, data verified. */
static void each_queue(struct io_uring *irq, struct io_uring *poll, unsigned int *writes)
{
	void *wbuf = qid_alloc(BLK), *rbuf = qid_alloc(BLK);
	unsigned int q;
	int ret;

	for (q = 0; q < dev.nr; q++) {
		struct io_uring *ring = ring_for(q, irq, poll);

		fill(wbuf, q, 1);
		ret = one(ring, OPC_WRITE, wbuf, BLK, block_off(q), q);
		expect_res("write", q, ret, 0);
		writes[q]++;
		memset(rbuf, 0, BLK);
		ret = one(ring, OPC_READ, rbuf, BLK, block_off(q), q);
		expect_res("read", q, ret, 0);
		if (memcmp(wbuf, rbuf, BLK))
			fail("hw queue %u: read back other data than written", q);
		printf("hw queue %2u (qid %2u, %-7s, cpus '%s', %u tags): write+read %s\n", q, q + 1,
		       dev.hctx[q].type, dev.hctx[q].cpus, dev.hctx[q].nr_tags,
		       ret ? "FAILED" : "ok, data verified");
	}
	free(wbuf);
	free(rbuf);
}

/* All queues of one ring at once: one write each in flight, then one read each. */
static void all_at_once(struct io_uring *irq, struct io_uring *poll, unsigned int *writes)
{
	char *bufs = qid_alloc((size_t)dev.nr * BLK), *rbufs = qid_alloc((size_t)dev.nr * BLK);
	unsigned int q, n[2] = { 0, 0 }, pass, i;
	struct io_uring *rings[2] = { irq, poll };
	uint64_t ud;
	int ret, r;

	for (pass = 0; pass < 2; pass++) {
		unsigned int opcode = pass ? OPC_READ : OPC_WRITE;

		n[0] = n[1] = 0;
		for (q = 0; q < dev.nr; q++) {
			r = qid_is_poll(&dev, q);
			if (!pass) {
				fill(bufs + (size_t)q * BLK, q, 2);
				writes[q]++;
			}
			prep(qid_get_sqe(rings[r]), opcode, (pass ? rbufs : bufs) + (size_t)q * BLK,
			     BLK, block_off(q), q, q);
			n[r]++;
		}
		for (r = 0; r < 2; r++) {
			if (!n[r])
				continue;
			ret = io_uring_submit(rings[r]);
			if (ret != (int)n[r])
				fail("submitting %u commands: %d", n[r], ret);
			for (i = 0; i < n[r]; i++) {
				ret = wait_one(rings[r], &ud);
				expect_res(pass ? "batched read" : "batched write", (unsigned int)ud,
					   ret, 0);
			}
		}
	}
	for (q = 0; q < dev.nr; q++)
		if (memcmp(bufs + (size_t)q * BLK, rbufs + (size_t)q * BLK, BLK))
			fail("hw queue %u: batched read returned other data than written", q);
	printf("%u interrupt-driven and %u polled queues with commands in flight together: ok\n",
	       n[0], n[1]);
	free(bufs);
	free(rbufs);
}

/* NVME_URING_CMD_IO_VEC_QID: a write from two iovecs, read back into two, on queue q. */
static void vectored(struct io_uring *irq, struct io_uring *poll, unsigned int q,
		     unsigned int *writes)
{
	char *wbuf = qid_alloc(2 * BLK), *rbuf = qid_alloc(2 * BLK);
	struct iovec wv[2] = { { wbuf + BLK, BLK }, { wbuf, BLK } };
	struct iovec rv[2] = { { rbuf, BLK }, { rbuf + BLK, BLK } };
	struct io_uring *ring = ring_for(q, irq, poll);
	struct io_uring_sqe *sqe;
	struct nvme_uring_cmd *cmd;
	int pass, ret;

	fill(wbuf, q, 3);
	fill(wbuf + BLK, q, 4);
	for (pass = 0; pass < 2; pass++) {
		sqe = qid_get_sqe(ring);
		prep(sqe, pass ? OPC_READ : OPC_WRITE, pass ? rbuf : wbuf, 2 * BLK,
		     block_off(QID_MAX_HCTX + 2 * q), q, 1);
		sqe->cmd_op = NVME_URING_CMD_IO_VEC_QID;
		cmd = (struct nvme_uring_cmd *)sqe->cmd;
		cmd->addr = (uint64_t)(uintptr_t)(pass ? rv : wv);
		cmd->data_len = 2; /* iovecs */
		if (io_uring_submit(ring) != 1) {
			fprintf(stderr, "io_uring_submit failed\n");
			exit(EXIT_SETUP);
		}
		ret = wait_one(ring, NULL);
		expect_res(pass ? "vectored read" : "vectored write", q, ret, 0);
		if (!pass)
			writes[q]++;
	}
	/* The write took its iovecs in the order second block, first block. */
	if (memcmp(rbuf, wbuf + BLK, BLK) || memcmp(rbuf + BLK, wbuf, BLK))
		fail("hw queue %u: vectored read returned other data than written", q);
	printf("hw queue %u (%s): NVME_URING_CMD_IO_VEC_QID write+read ok, data verified\n", q,
	       dev.hctx[q].type);
	free(wbuf);
	free(rbuf);
}

static void refusals(struct io_uring *irq, struct io_uring *poll, int first_irq, int last_poll)
{
	void *buf = qid_alloc(BLK);

	expect_res("read on nonexistent queue", dev.nr,
		   one(irq, OPC_READ, buf, BLK, block_off(0), dev.nr), -EINVAL);
	expect_res("read on nonexistent queue", dev.nr,
		   one(poll, OPC_READ, buf, BLK, block_off(0), dev.nr), -EINVAL);
	expect_res("read on nonexistent queue", 0xffffffffu,
		   one(irq, OPC_READ, buf, BLK, block_off(0), 0xffffffffu), -EINVAL);
	if (first_irq >= 0) {
		expect_res("flush on interrupt-driven queue", (unsigned int)first_irq,
			   one(irq, OPC_FLUSH, NULL, 0, 0, (unsigned int)first_irq), 0);
		expect_res("read on interrupt-driven queue from an IOPOLL ring",
			   (unsigned int)first_irq,
			   one(poll, OPC_READ, buf, BLK, block_off(0), (unsigned int)first_irq), 0);
	}
	if (last_poll >= 0) {
		expect_res("read on polled queue from a non-IOPOLL ring", (unsigned int)last_poll,
			   one(irq, OPC_READ, buf, BLK, block_off(0), (unsigned int)last_poll),
			   -EINVAL);
		expect_res("flush (no data) on polled queue", (unsigned int)last_poll,
			   one(poll, OPC_FLUSH, NULL, 0, 0, (unsigned int)last_poll), -EINVAL);
	}
	printf("refusals: nonexistent queue -EINVAL, polled queue without IOPOLL or data -EINVAL\n");
	free(buf);
}

/*
 * Fill polled queue q past its tag count before polling: nothing polls
 * while the ring submits, so every tag stays busy and the surplus must get
 * -EAGAIN (never wait, never another queue); everything else completes.
 */
static void exhaust(unsigned int q)
{
	unsigned int tags = dev.hctx[q].nr_tags, n = tags + EXTRA_CMDS, i, ok = 0, eagain = 0;
	struct io_uring ring;
	char *bufs;
	int ret;

	if (!tags || tags > 4096) {
		fail("hw queue %u: unusable tag count %u for the exhaustion test", q, tags);
		return;
	}
	qid_ring_init(&ring, n, true);
	bufs = qid_alloc((size_t)n * BLK);
	for (i = 0; i < n; i++)
		prep(qid_get_sqe(&ring), OPC_READ, bufs + (size_t)i * BLK, BLK, block_off(q), q, i);
	ret = io_uring_submit(&ring);
	if (ret != (int)n)
		fail("exhaustion: submitted %d of %u", ret, n);
	for (i = 0; i < n; i++) {
		ret = wait_one(&ring, NULL);
		if (ret == 0)
			ok++;
		else if (ret == -EAGAIN)
			eagain++;
		else
			fail("exhaustion on hw queue %u: a command got %s", q, res_str(ret));
	}
	printf("EVIDENCE exhaust qid=%u reads=%u: %u tags, %u commands: %u ok, %u -EAGAIN\n",
	       q + 1, ok, tags, n, ok, eagain);
	if (eagain < EXTRA_CMDS || ok + eagain != n)
		fail("exhaustion on hw queue %u: %u ok + %u -EAGAIN of %u, want >= %u -EAGAIN", q,
		     ok, eagain, n, EXTRA_CMDS);
	/* The queue is usable again. */
	expect_res("read after exhaustion", q, one(&ring, OPC_READ, bufs, BLK, block_off(q), q), 0);
	io_uring_queue_exit(&ring);
	free(bufs);
}

/*
 * Submit one read to polled queue q and do not poll: only the block layer's
 * timeout handler can find its completion (nvme_timeout polls the queue's
 * CQ). Then reap it.
 */
static void unpolled(unsigned int q)
{
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	void *buf = qid_alloc(BLK);
	int ret;

	qid_ring_init(&ring, 4, true);
	sqe = qid_get_sqe(&ring);
	prep(sqe, OPC_READ, buf, BLK, block_off(q), q, 7);
	((struct nvme_uring_cmd *)sqe->cmd)->timeout_ms = TIMEOUT_MS;
	/* io_uring_submit() would poll once on an IOPOLL ring: publish the SQE by hand. */
	ring.sq.sqe_head = ring.sq.sqe_tail;
	io_uring_smp_store_release(ring.sq.ktail, ring.sq.sqe_tail);
	ret = io_uring_enter(ring.ring_fd, 1, 0, 0, NULL);
	if (ret != 1)
		fail("unpolled submit: %d", ret);
	sleep(4);
	ret = wait_one(&ring, NULL);
	expect_res("unpolled read", q, ret, 0);
	printf("EVIDENCE timeout qid=%u: unpolled read with timeout_ms=%u completed: %s\n", q + 1,
	       TIMEOUT_MS, res_str(ret));
	io_uring_queue_exit(&ring);
	free(buf);
}

static void no_leaks(void)
{
	unsigned int q;
	int busy;

	for (q = 0; q < dev.nr; q++) {
		busy = qid_hctx_busy(&dev, q);
		if (busy != 0)
			fail("hw queue %u: %d tags still busy after all commands completed", q, busy);
	}
	printf("no tag busy on any of the %u queues\n", dev.nr);
}

static int check(struct io_uring *irq, struct io_uring *poll)
{
	static unsigned int writes[QID_MAX_HCTX];
	int first_irq = -1, last_poll = -1, first_poll = -1, npoll = 0, ret;
	unsigned int q;

	for (q = 0; q < dev.nr; q++) {
		if (qid_is_poll(&dev, q)) {
			npoll++;
			last_poll = (int)q;
			if (first_poll < 0)
				first_poll = (int)q;
		} else if (first_irq < 0) {
			first_irq = (int)q;
		}
	}
	printf("%s: %u hardware queues, %d polled (first %d, last %d), nsid %u, lba %u\n",
	       dev.disk, dev.nr, npoll, first_poll, last_poll, dev.nsid, dev.lbasz);

	start_phase("probe", 60);
	ret = probe(irq);
	if (ret != EXIT_PASS)
		return ret;

	start_phase("every queue, one command at a time", 300);
	each_queue(irq, poll, writes);
	start_phase("every queue, all in flight together", 300);
	all_at_once(irq, poll, writes);
	start_phase("vectored commands", 60);
	if (first_irq >= 0)
		vectored(irq, poll, (unsigned int)first_irq, writes);
	if (last_poll >= 0)
		vectored(irq, poll, (unsigned int)last_poll, writes);
	start_phase("refusals", 60);
	refusals(irq, poll, first_irq, last_poll);
	if (first_poll >= 0) {
		start_phase("tag exhaustion, first polled queue", 300);
		exhaust((unsigned int)first_poll);
		if (last_poll != first_poll) {
			start_phase("tag exhaustion, last polled queue", 300);
			exhaust((unsigned int)last_poll);
		}
		start_phase("timeout handler on the last polled queue", 60);
		unpolled((unsigned int)last_poll);
	}
	start_phase("tag leaks", 60);
	no_leaks();
	alarm(0);
	for (q = 0; q < dev.nr; q++)
		printf("EVIDENCE writes qid=%u n=%u\n", q + 1, writes[q]);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? EXIT_FAIL : EXIT_PASS;
}

int main(int argc, char **argv)
{
	struct io_uring irq, poll;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 4 || (strcmp(argv[1], "probe") && strcmp(argv[1], "check"))) {
		fprintf(stderr, "usage: %s probe|check /dev/ngXnY nvmeXnY\n", argv[0]);
		return EXIT_SETUP;
	}
	signal(SIGALRM, on_alarm);
	if (qid_open(&dev, argv[2], argv[3]))
		return EXIT_SETUP;
	qid_ring_init(&irq, 2 * QID_MAX_HCTX, false);
	qid_ring_init(&poll, 2 * QID_MAX_HCTX, true);
	if (strcmp(argv[1], "probe") == 0) {
		start_phase("probe", 60);
		return probe(&irq);
	}
	return check(&irq, &poll);
}
