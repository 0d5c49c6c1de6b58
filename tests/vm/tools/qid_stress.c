/* SPDX-License-Identifier: MIT */
/*
 * qid_stress: several "tenants" (threads) hammer every hardware queue of
 * an NVMe namespace with steered passthrough writes and reads
 * (NVME_URING_CMD_IO_QID, backend/nvme/nvme_qid.h) for a while, each tenant in its
 * own extent, each read checked against what the tenant last wrote there.
 * Every tenant sends a quarter of its commands to one hot queue of its own
 * and a quarter to a hot queue that all tenants share (the last polled
 * queue: one ring's poll finds other rings' completions there), more than
 * those queues have tags, so tag exhaustion (-EAGAIN, resubmitted later)
 * is the normal case there. Run by tests/vm/scenarios/kernel_qid_stress.sh.
 *
 *   qid_stress /dev/ngXnY nvmeXnY SECONDS TENANTS QD [BASE_MIB]
 *
 * Tenant t owns bytes [BASE + t * 32 MiB, +32 MiB) (BASE: 64 MiB unless
 * given; another user of the namespace, such as ddublkd, stays below it) and the queues q with
 * q % TENANTS == t (the shared queue aside); its own hot queue is the first
 * of those for an even t (with the queue layout of the test VM, an
 * interrupt-driven one for tenant 0: -EAGAIN on a non-IOPOLL ring), the
 * last polled one but the shared queue for an odd t.
 * Every 4 KiB block written carries (tenant, block, version) in every
 * 64-bit word; a block is never in flight twice at once, so a read must
 * show exactly the last version whose write completed (0: never written,
 * all zeros). At the end each tenant reads its whole extent back.
 *
 * Fails (exit 1) on any completion other than 0 or -EAGAIN (printed with
 * its errno or NVMe status), on any data mismatch, if a ring cannot be
 * entered, or if no command completes for 60 s (a hang); exit 3 on setup
 * errors. Prints per-queue command and -EAGAIN counts. Every thread reaps
 * every command it submitted before it ends (the polled ones by polling),
 * so none of the tool's commands holds a tag when it exits; it does not
 * read the tags itself: another user of the namespace (ddublkd in the
 * scenario) may still have commands in flight then, so the caller checks
 * them once every user is done (assert_tags_idle in tests/vm/lib.sh).
 */
#include "qid_common.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLK 4096u
#define DEFAULT_BASE_MIB 64ull
#define EXTENT (32ull << 20)
#define NBLK ((unsigned int)(EXTENT / BLK))
#define MAX_BLKS 16u /* blocks per command: 4..64 KiB */
#define MAX_TENANTS 16u
#define MAX_QD 256u
#define MAGIC 0x5354524553530000ull /* "STRESS\0\0" */

struct slot {
	bool busy;
	bool write;
	bool retry; /* got -EAGAIN: send again */
	unsigned int q, blk, nblk;
	uint32_t ver[MAX_BLKS]; /* versions written (write) */
	char *buf;
};

struct tenant {
	unsigned int id, qd, hot, nq;
	unsigned int queues[QID_MAX_HCTX];
	uint64_t base;
	uint32_t *ver; /* last completed version of each block */
	uint8_t *inflight; /* block is in flight */
	struct slot slot[MAX_QD];
	struct io_uring irq, poll;
	unsigned int pending[2]; /* in flight per ring */
	uint64_t rng;
	unsigned long done, eagain, writes, reads, mismatches, errors;
	pthread_t thread;
};

static struct qid_dev dev;
static unsigned int nr_tenants;
static struct tenant tenants[MAX_TENANTS];
static atomic_ulong progress; /* completions, for the hang watchdog */
static atomic_ulong q_cmds[QID_MAX_HCTX], q_eagain[QID_MAX_HCTX];
static unsigned int shared_q; /* the hot queue every tenant uses */
static uint64_t extent_base = DEFAULT_BASE_MIB << 20; /* tenant 0's extent */
static atomic_bool stop;
static atomic_uint finished; /* tenants whose thread is done */

static uint64_t rnd(struct tenant *t)
{
	/* xorshift64* */
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545f4914f6cdd1dull;
}

static uint64_t stamp(unsigned int tenant, unsigned int blk, uint32_t ver, size_t word)
{
	if (!ver)
		return 0;
	return MAGIC ^ ((uint64_t)tenant << 56) ^ ((uint64_t)blk << 32) ^ ver ^ (word << 20);
}

static void fill(char *buf, unsigned int tenant, unsigned int blk, uint32_t ver)
{
	uint64_t *w = (uint64_t *)buf;
	size_t i;

	for (i = 0; i < BLK / sizeof(*w); i++)
		w[i] = stamp(tenant, blk, ver, i);
}

/* 0 if buf is block blk at version ver. */
static int check_block(const char *buf, unsigned int tenant, unsigned int blk, uint32_t ver)
{
	const uint64_t *w = (const uint64_t *)buf;
	size_t i;

	for (i = 0; i < BLK / sizeof(*w); i++)
		if (w[i] != stamp(tenant, blk, ver, i))
			return -1;
	return 0;
}

static struct io_uring *ring_of(struct tenant *t, unsigned int q)
{
	return qid_is_poll(&dev, q) ? &t->poll : &t->irq;
}

static void submit_slot(struct tenant *t, unsigned int i)
{
	struct slot *s = &t->slot[i];
	unsigned int b;

	if (!s->retry) {
		s->write = rnd(t) & 1;
		for (b = 0; b < s->nblk; b++)
			if (s->write) {
				s->ver[b] = t->ver[s->blk + b] + 1;
				fill(s->buf + (size_t)b * BLK, t->id, s->blk + b, s->ver[b]);
			}
	}
	s->retry = false;
	qid_prep(&dev, qid_get_sqe(ring_of(t, s->q)), s->write ? OPC_WRITE : OPC_READ, s->buf,
		 s->nblk * BLK, t->base + (uint64_t)s->blk * BLK, s->q, i);
	t->pending[qid_is_poll(&dev, s->q)]++;
}

/* Pick a free extent of 1..MAX_BLKS blocks and a queue for slot i; false if none now. */
static bool start_slot(struct tenant *t, unsigned int i)
{
	struct slot *s = &t->slot[i];
	unsigned int tries, b, n, blk;

	for (tries = 0; tries < 8; tries++) {
		n = 1 + (unsigned int)(rnd(t) % MAX_BLKS);
		blk = (unsigned int)(rnd(t) % (NBLK - n + 1));
		for (b = 0; b < n && !t->inflight[blk + b]; b++)
			;
		if (b < n)
			continue;
		for (b = 0; b < n; b++)
			t->inflight[blk + b] = 1;
		s->busy = true;
		s->blk = blk;
		s->nblk = n;
		switch (rnd(t) & 3) {
		case 0:
			s->q = shared_q;
			break;
		case 1:
			s->q = t->hot;
			break;
		default:
			s->q = t->queues[rnd(t) % t->nq];
		}
		submit_slot(t, i);
		return true;
	}
	return false;
}

static void complete(struct tenant *t, unsigned int i, int res)
{
	struct slot *s = &t->slot[i];
	unsigned int b;

	atomic_fetch_add(&progress, 1);
	if (res == -EAGAIN) {
		t->eagain++;
		atomic_fetch_add(&q_eagain[s->q], 1);
		s->retry = true;
		return;
	}
	atomic_fetch_add(&q_cmds[s->q], 1);
	t->done++;
	if (res) {
		char rb[64];

		t->errors++;
		fprintf(stderr, "FAIL: tenant %u: %s of %u blocks at %u on hw queue %u: %s\n", t->id,
			s->write ? "write" : "read", s->nblk, s->blk, s->q,
			qid_res_str(res, rb, sizeof(rb)));
	} else if (s->write) {
		t->writes++;
		for (b = 0; b < s->nblk; b++)
			t->ver[s->blk + b] = s->ver[b];
	} else {
		t->reads++;
		for (b = 0; b < s->nblk; b++) {
			unsigned int blk = s->blk + b;

			if (check_block(s->buf + (size_t)b * BLK, t->id, blk, t->ver[blk])) {
				t->mismatches++;
				fprintf(stderr,
					"FAIL: tenant %u block %u (hw queue %u): data is not version %u\n",
					t->id, blk, s->q, t->ver[blk]);
			}
		}
	}
	for (b = 0; b < s->nblk; b++)
		t->inflight[s->blk + b] = 0;
	s->busy = false;
}

/*
 * Submit what ring has queued (on an IOPOLL ring: and poll once). A
 * signal or a momentary shortage is tried again; anything else ends the
 * tenant, printed with its errno.
 */
static int submit(struct tenant *t, struct io_uring *ring, int r)
{
	int ret = io_uring_submit(ring);

	if (ret >= 0 || ret == -EINTR || ret == -EAGAIN || ret == -EBUSY)
		return 0;
	t->errors++;
	fprintf(stderr, "FAIL: tenant %u: io_uring_enter on its %s ring: %d (%s)\n", t->id,
		r ? "IOPOLL" : "interrupt", ret, strerror(-ret));
	return -1;
}

static unsigned int reap(struct tenant *t, struct io_uring *ring, int r)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;

	while (t->pending[r] && io_uring_peek_cqe(ring, &cqe) == 0) {
		complete(t, (unsigned int)cqe->user_data, cqe->res);
		io_uring_cqe_seen(ring, cqe);
		t->pending[r]--;
		n++;
	}
	return n;
}

static void *tenant_main(void *arg)
{
	struct tenant *t = arg;
	struct io_uring_cqe *cqe;
	unsigned int i, got;
	bool draining = false;

	for (;;) {
		if (!draining && atomic_load(&stop))
			draining = true;
		for (i = 0; i < t->qd; i++) {
			if (t->slot[i].retry)
				submit_slot(t, i);
			else if (!draining && !t->slot[i].busy)
				start_slot(t, i);
		}
		if (!t->pending[0] && !t->pending[1]) {
			if (draining)
				break;
			continue;
		}
		/* On an IOPOLL ring this also polls for completions. */
		if (t->pending[1] && submit(t, &t->poll, 1))
			break;
		if (t->pending[0] && submit(t, &t->irq, 0))
			break;
		got = reap(t, &t->poll, 1) + reap(t, &t->irq, 0);
		if (!got && t->pending[0] && !t->pending[1] &&
		    io_uring_wait_cqe(&t->irq, &cqe) == 0)
			reap(t, &t->irq, 0);
	}
	/* Only after a failed io_uring_enter: what is left may hold tags. */
	if (t->pending[0] || t->pending[1]) {
		t->errors++;
		fprintf(stderr, "FAIL: tenant %u: stops with %u interrupt-driven and %u polled commands not reaped\n",
			t->id, t->pending[0], t->pending[1]);
	}
	atomic_fetch_add(&finished, 1);
	return NULL;
}

/* Read the whole extent back (hw queue 0 or the tenant's first interrupt queue). */
static void verify_all(struct tenant *t)
{
	char *buf = qid_alloc((size_t)MAX_BLKS * BLK);
	struct io_uring_cqe *cqe;
	unsigned int blk, b, q = 0;
	char rb[64];
	int ret;

	for (blk = 0; blk < NBLK; blk += MAX_BLKS) {
		qid_prep(&dev, qid_get_sqe(&t->irq), OPC_READ, buf, MAX_BLKS * BLK,
			 t->base + (uint64_t)blk * BLK, q, 0);
		ret = io_uring_submit_and_wait(&t->irq, 1);
		if (ret >= 0)
			ret = io_uring_wait_cqe(&t->irq, &cqe);
		if (ret < 0) {
			t->errors++;
			fprintf(stderr, "FAIL: tenant %u: final read at block %u: io_uring: %d (%s)\n",
				t->id, blk, ret, strerror(-ret));
			break;
		}
		if (cqe->res) {
			t->errors++;
			fprintf(stderr, "FAIL: tenant %u: final read at block %u: %s\n", t->id, blk,
				qid_res_str(cqe->res, rb, sizeof(rb)));
		}
		io_uring_cqe_seen(&t->irq, cqe);
		for (b = 0; b < MAX_BLKS; b++)
			if (check_block(buf + (size_t)b * BLK, t->id, blk + b, t->ver[blk + b])) {
				t->mismatches++;
				fprintf(stderr, "FAIL: tenant %u block %u: final read not version %u\n",
					t->id, blk + b, t->ver[blk + b]);
			}
	}
	free(buf);
}

static void setup_tenant(struct tenant *t, unsigned int id, unsigned int qd)
{
	unsigned int q, i;

	t->id = id;
	t->qd = qd;
	t->base = extent_base + id * EXTENT;
	t->rng = 0x9e3779b97f4a7c15ull * (id + 1);
	t->nq = 0;
	t->hot = ~0u;
	for (q = id; q < dev.nr; q += nr_tenants) {
		t->queues[t->nq++] = q;
		if (qid_is_poll(&dev, q) && q != shared_q)
			t->hot = q;
	}
	/* Even tenants: their first queue (interrupt driven if any); odd: their last polled. */
	if (t->hot == ~0u || !(id & 1))
		t->hot = t->queues[0];
	t->ver = calloc(NBLK, sizeof(*t->ver));
	t->inflight = calloc(NBLK, 1);
	if (!t->ver || !t->inflight) {
		fprintf(stderr, "out of memory\n");
		exit(3);
	}
	for (i = 0; i < qd; i++)
		t->slot[i].buf = qid_alloc((size_t)MAX_BLKS * BLK);
	qid_ring_init(&t->irq, 2 * MAX_QD, false);
	qid_ring_init(&t->poll, 2 * MAX_QD, true);
}

int main(int argc, char **argv)
{
	unsigned long secs, qd, last = 0, total = 0, sum_eagain = 0, errors = 0, bad = 0;
	unsigned int i, q, untouched = 0;
	time_t start, last_change;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 6 && argc != 7) {
		fprintf(stderr, "usage: %s /dev/ngXnY nvmeXnY SECONDS TENANTS QD [BASE_MIB]\n",
			argv[0]);
		return 3;
	}
	if (argc == 7)
		extent_base = strtoull(argv[6], NULL, 0) << 20;
	secs = strtoul(argv[3], NULL, 0);
	nr_tenants = (unsigned int)strtoul(argv[4], NULL, 0);
	qd = strtoul(argv[5], NULL, 0);
	if (!secs || !nr_tenants || nr_tenants > MAX_TENANTS || !qd || qd > MAX_QD) {
		fprintf(stderr, "want SECONDS > 0, TENANTS 1..%u, QD 1..%u\n", MAX_TENANTS, MAX_QD);
		return 3;
	}
	if (qid_open(&dev, argv[1], argv[2]))
		return 3;
	if (nr_tenants > dev.nr) {
		fprintf(stderr, "%u tenants but only %u hardware queues\n", nr_tenants, dev.nr);
		return 3;
	}
	shared_q = dev.nr - 1;
	for (q = 0; q < dev.nr; q++)
		if (qid_is_poll(&dev, q))
			shared_q = q;
	printf("shared hot queue: %u (%s, %u tags)\n", shared_q, dev.hctx[shared_q].type,
	       dev.hctx[shared_q].nr_tags);
	for (i = 0; i < nr_tenants; i++) {
		setup_tenant(&tenants[i], i, (unsigned int)qd);
		printf("tenant %u: extent [%llu MiB, +%llu MiB), %u queues, hot queue %u (%s, %u tags), QD %lu\n",
		       i, (unsigned long long)(tenants[i].base >> 20),
		       (unsigned long long)(EXTENT >> 20), tenants[i].nq, tenants[i].hot,
		       dev.hctx[tenants[i].hot].type, dev.hctx[tenants[i].hot].nr_tags, qd);
	}
	for (i = 0; i < nr_tenants; i++)
		if (pthread_create(&tenants[i].thread, NULL, tenant_main, &tenants[i])) {
			fprintf(stderr, "pthread_create failed\n");
			return 3;
		}
	start = last_change = time(NULL);
	for (;;) {
		unsigned long now_progress;

		sleep(1);
		now_progress = atomic_load(&progress);
		if (now_progress != last) {
			last = now_progress;
			last_change = time(NULL);
		} else if (time(NULL) - last_change >= 60) {
			fprintf(stderr, "FAIL: no completion for 60 s: hang (%lu completions so far)\n",
				now_progress);
			fflush(stderr);
			_exit(1);
		}
		if (!atomic_load(&stop) && (unsigned long)(time(NULL) - start) >= secs)
			atomic_store(&stop, true);
		if (atomic_load(&finished) == nr_tenants)
			break;
		if ((time(NULL) - start) % 30 == 0)
			printf("%lds: %lu completions\n", (long)(time(NULL) - start), now_progress);
	}
	for (i = 0; i < nr_tenants; i++)
		pthread_join(tenants[i].thread, NULL);
	printf("final read-back of every extent\n");
	for (i = 0; i < nr_tenants; i++)
		verify_all(&tenants[i]);

	for (i = 0; i < nr_tenants; i++) {
		struct tenant *t = &tenants[i];

		printf("tenant %u: %lu commands (%lu writes, %lu reads), %lu -EAGAIN, %lu errors, %lu mismatches\n",
		       i, t->done, t->writes, t->reads, t->eagain, t->errors, t->mismatches);
		total += t->done;
		sum_eagain += t->eagain;
		errors += t->errors;
		bad += t->mismatches;
	}
	for (q = 0; q < dev.nr; q++) {
		printf("hw queue %2u (qid %2u, %-7s): %lu commands, %lu -EAGAIN\n", q, q + 1,
		       dev.hctx[q].type, atomic_load(&q_cmds[q]), atomic_load(&q_eagain[q]));
		if (!atomic_load(&q_cmds[q]))
			untouched++;
	}
	printf("total: %lu commands in %lds, %lu -EAGAIN, %lu errors, %lu mismatches, %u queues unused\n",
	       total, (long)(time(NULL) - start), sum_eagain, errors, bad, untouched);
	if (errors || bad || untouched) {
		printf("FAIL\n");
		return 1;
	}
	printf("PASS\n");
	return 0;
}
