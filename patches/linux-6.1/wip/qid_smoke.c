/* SPDX-License-Identifier: MIT */
/*
 * DRAFT guest-side smoke test for the queue-steering patches (wip/0003,
 * wip/0004). Compile-tested only; never run.
 *
 *   cc -O2 -Wall -o qid_smoke qid_smoke.c -luring
 *   qid_smoke /dev/ng0n1 nvme0n1
 *
 * Needs debugfs on /sys/kernel/debug (hctx types and tag counts), root, and
 * a namespace whose first 4 KiB can be read. Exit status: 0 all checks
 * passed, 1 a check failed, 2 steering not supported (-ENOTTY: stock
 * kernel), 3 setup error.
 */
#include "nvme_qid_uapi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NVME_CMD_FLUSH 0x00
#define NVME_CMD_READ 0x02
#define IO_BYTES 4096u
#define MAX_HCTX 4096

static int fd;
static unsigned int nsid = 1, lbasz = 512;
static const char *disk;
static int failures;

static int read_sys(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* 1 poll, 0 default/read, -1 unknown */
static int hctx_is_poll(unsigned int n)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "/sys/kernel/debug/block/%s/hctx%u/type",
		 disk, n);
	if (read_sys(path, buf, sizeof(buf)))
		return -1;
	return strcmp(buf, "poll") == 0;
}

static unsigned int hctx_nr_tags(unsigned int n)
{
	char path[256], line[128];
	unsigned int v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/block/%s/hctx%u/tags",
		 disk, n);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "nr_tags=%u", &v) == 1)
			break;
	fclose(f);
	return v;
}

static unsigned int count_hctx(void)
{
	char path[256];
	unsigned int n = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/block/%s/mq", disk);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
			n++;
	closedir(d);
	return n;
}

static void prep(struct io_uring_sqe *sqe, unsigned int opcode, void *buf,
		 uint32_t hw_queue, uint64_t tag)
{
	struct nvme_uring_cmd *cmd;

	if (!sqe) {
		fprintf(stderr, "submission queue full\n");
		exit(3);
	}
	memset(sqe, 0, 2 * sizeof(*sqe));	/* SQE128 */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = NVME_URING_CMD_IO_QID;
	sqe->user_data = tag;
	cmd = (struct nvme_uring_cmd *)sqe->cmd;
	cmd->opcode = (uint8_t)opcode;
	cmd->nsid = nsid;
	if (buf) {
		cmd->addr = (uint64_t)(uintptr_t)buf;
		cmd->data_len = IO_BYTES;
		cmd->cdw10 = 0;				/* SLBA low */
		cmd->cdw11 = 0;				/* SLBA high */
		cmd->cdw12 = IO_BYTES / lbasz - 1;	/* NLB, 0-based */
	}
	nvme_uring_cmd_set_hw_queue(cmd, hw_queue);
}

/* Submit one command and return its cqe->res. */
static int one(struct io_uring *ring, unsigned int opcode, void *buf,
	       uint32_t hw_queue)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int ret;

	prep(sqe, opcode, buf, hw_queue, 1);
	ret = io_uring_submit(ring);
	if (ret != 1)
		return ret < 0 ? ret : -EIO;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

static void expect(const char *what, unsigned int q, int got, int want)
{
	if (got == want)
		return;
	failures++;
	fprintf(stderr, "FAIL %s hctx %u: got %d (%s), want %d\n", what, q,
		got, got < 0 ? strerror(-got) : "status", want);
}

/* Fill a poll hctx past its tag count; expect some -EAGAIN, no errors. */
static void exhaust(unsigned int q, unsigned int tags)
{
	unsigned int n = tags + 16, i, eagain = 0, ok = 0, other = 0;
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	char *bufs;

	if (io_uring_queue_init(n, &ring, IORING_SETUP_IOPOLL |
				IORING_SETUP_SQE128 | IORING_SETUP_CQE32)) {
		fprintf(stderr, "exhaust: ring setup failed\n");
		failures++;
		return;
	}
	if (posix_memalign((void **)&bufs, 4096, (size_t)n * IO_BYTES))
		exit(3);
	for (i = 0; i < n; i++)
		prep(io_uring_get_sqe(&ring), NVME_CMD_READ,
		     bufs + (size_t)i * IO_BYTES, q, i);
	/* Submit everything before reaping: polled tags stay busy meanwhile. */
	if (io_uring_submit(&ring) != (int)n) {
		fprintf(stderr, "exhaust: short submit\n");
		failures++;
	}
	for (i = 0; i < n; i++) {
		if (io_uring_wait_cqe(&ring, &cqe))
			break;
		if (cqe->res == 0)
			ok++;
		else if (cqe->res == -EAGAIN)
			eagain++;
		else
			other++;
		io_uring_cqe_seen(&ring, cqe);
	}
	printf("exhaust hctx %u (nr_tags %u): %u ok, %u -EAGAIN, %u other\n",
	       q, tags, ok, eagain, other);
	if (!eagain || other || ok + eagain != n)
		failures++;
	io_uring_queue_exit(&ring);
	free(bufs);
}

int main(int argc, char **argv)
{
	struct io_uring ring_irq, ring_poll;
	unsigned int nr, q, first_default = ~0u, last_poll = ~0u, tags;
	char path[256], val[64];
	void *buf;
	int ret, poll;

	if (argc < 3) {
		fprintf(stderr, "usage: %s /dev/ngXnY nvmeXnY [nsid]\n",
			argv[0]);
		return 3;
	}
	disk = argv[2];
	if (argc > 3)
		nsid = (unsigned int)strtoul(argv[3], NULL, 0);
	snprintf(path, sizeof(path), "/sys/block/%s/queue/logical_block_size",
		 disk);
	if (!read_sys(path, val, sizeof(val)))
		lbasz = (unsigned int)strtoul(val, NULL, 0);
	fd = open(argv[1], O_RDONLY);
	nr = count_hctx();
	if (fd < 0 || !nr || nr > MAX_HCTX ||
	    posix_memalign(&buf, 4096, IO_BYTES)) {
		fprintf(stderr, "setup failed (fd %d, %u hctx)\n", fd, nr);
		return 3;
	}
	if (io_uring_queue_init(64, &ring_irq,
				IORING_SETUP_SQE128 | IORING_SETUP_CQE32) ||
	    io_uring_queue_init(64, &ring_poll, IORING_SETUP_IOPOLL |
				IORING_SETUP_SQE128 | IORING_SETUP_CQE32)) {
		fprintf(stderr, "io_uring setup failed\n");
		return 3;
	}
	for (q = 0; q < nr; q++) {
		poll = hctx_is_poll(q);
		if (poll < 0) {
			fprintf(stderr, "no debugfs type for hctx%u\n", q);
			return 3;
		}
		if (!poll && first_default == ~0u)
			first_default = q;
		if (poll)
			last_poll = q;
	}
	printf("%u hctx, first default %d, last poll %d\n", nr,
	       (int)first_default, (int)last_poll);

	/* Feature probe: a read on the first interrupt-driven queue. */
	ret = one(&ring_irq, NVME_CMD_READ, buf, first_default);
	if (ret == -ENOTTY) {
		printf("steering not supported (-ENOTTY)\n");
		return 2;
	}
	expect("probe read", first_default, ret, 0);

	for (q = 0; q < nr; q++) {
		poll = hctx_is_poll(q);
		ret = one(poll ? &ring_poll : &ring_irq, NVME_CMD_READ, buf, q);
		expect("read", q, ret, 0);
	}
	expect("nonexistent", nr, one(&ring_irq, NVME_CMD_READ, buf, nr),
	       -EINVAL);
	expect("nonexistent", ~0u, one(&ring_irq, NVME_CMD_READ, buf, ~0u),
	       -EINVAL);
	expect("flush", first_default,
	       one(&ring_irq, NVME_CMD_FLUSH, NULL, first_default), 0);
	if (last_poll != ~0u) {
		expect("poll hctx on non-IOPOLL ring", last_poll,
		       one(&ring_irq, NVME_CMD_READ, buf, last_poll), -EINVAL);
		expect("no-data cmd on poll hctx", last_poll,
		       one(&ring_poll, NVME_CMD_FLUSH, NULL, last_poll),
		       -EINVAL);
		tags = hctx_nr_tags(last_poll);
		if (tags && tags <= 4096)
			exhaust(last_poll, tags);
		else
			printf("skip exhaustion: nr_tags %u\n", tags);
	}
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
