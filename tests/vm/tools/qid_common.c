/* SPDX-License-Identifier: MIT */
#include "qid_common.h"

#include "backend/nvme/nvme_qid.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_line(const char *path, char *buf, size_t len)
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

static unsigned int count_hctx(const char *disk)
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

int qid_open(struct qid_dev *dev, const char *path, const char *disk)
{
	char p[256], val[64];
	unsigned int q;

	dev->disk = disk;
	dev->nsid = 1;
	dev->lbasz = 512;
	snprintf(p, sizeof(p), "/sys/block/%s/queue/logical_block_size", disk);
	if (!read_line(p, val, sizeof(val)))
		dev->lbasz = (uint32_t)strtoul(val, NULL, 0);
	snprintf(p, sizeof(p), "/sys/block/%s/nsid", disk);
	if (!read_line(p, val, sizeof(val)))
		dev->nsid = (uint32_t)strtoul(val, NULL, 0);
	if (!dev->lbasz || 4096 % dev->lbasz) {
		fprintf(stderr, "%s: unsupported logical block size %u\n", disk, dev->lbasz);
		return -1;
	}
	dev->nr = count_hctx(disk);
	if (!dev->nr || dev->nr > QID_MAX_HCTX) {
		fprintf(stderr, "/sys/block/%s/mq: %u hardware queues\n", disk, dev->nr);
		return -1;
	}
	for (q = 0; q < dev->nr; q++) {
		struct qid_hctx *h = &dev->hctx[q];
		FILE *f;

		snprintf(p, sizeof(p), "/sys/block/%s/mq/%u/cpu_list", disk, q);
		if (read_line(p, h->cpus, sizeof(h->cpus))) {
			fprintf(stderr, "%s missing: hardware queues not numbered 0..%u\n", p,
				dev->nr - 1);
			return -1;
		}
		snprintf(p, sizeof(p), "/sys/kernel/debug/block/%s/hctx%u/type", disk, q);
		if (read_line(p, h->type, sizeof(h->type))) {
			fprintf(stderr, "%s missing (debugfs not mounted?)\n", p);
			return -1;
		}
		snprintf(p, sizeof(p), "/sys/kernel/debug/block/%s/hctx%u/tags", disk, q);
		h->nr_tags = 0;
		f = fopen(p, "r");
		if (f) {
			if (fscanf(f, "nr_tags=%u", &h->nr_tags) != 1)
				h->nr_tags = 0;
			fclose(f);
		}
	}
	dev->fd = open(path, O_RDWR);
	if (dev->fd < 0) {
		perror(path);
		return -1;
	}
	return 0;
}

bool qid_is_poll(const struct qid_dev *dev, unsigned int q)
{
	return q < dev->nr && strcmp(dev->hctx[q].type, "poll") == 0;
}

int qid_hctx_busy(const struct qid_dev *dev, unsigned int q)
{
	char path[256], line[128];
	bool bitmap = false;
	int busy = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/block/%s/hctx%u/tags", dev->disk, q);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "bitmap_tags:", 12) == 0)
			bitmap = true;
		else if (bitmap && sscanf(line, "busy=%d", &busy) == 1)
			break;
	}
	fclose(f);
	return busy;
}

void qid_ring_init(struct io_uring *ring, unsigned int entries, bool iopoll)
{
	unsigned int flags = IORING_SETUP_SQE128 | IORING_SETUP_CQE32;
	int ret;

	if (iopoll)
		flags |= IORING_SETUP_IOPOLL;
	ret = io_uring_queue_init(entries, ring, flags);
	if (ret) {
		fprintf(stderr, "io_uring_queue_init(%u%s): %s\n", entries, iopoll ? ", IOPOLL" : "",
			strerror(-ret));
		exit(3);
	}
}

struct io_uring_sqe *qid_get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		fprintf(stderr, "submission queue full\n");
		exit(3);
	}
	return sqe;
}

void qid_prep(const struct qid_dev *dev, struct io_uring_sqe *sqe, unsigned int opcode, void *buf,
	      uint32_t len, uint64_t off, uint32_t hw_queue, uint64_t user_data)
{
	struct nvme_uring_cmd *cmd = (struct nvme_uring_cmd *)sqe->cmd;

	memset(sqe, 0, 2 * sizeof(*sqe)); /* SQE128 */
	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = dev->fd;
	sqe->cmd_op = NVME_URING_CMD_IO_QID;
	sqe->user_data = user_data;
	cmd->opcode = (uint8_t)opcode;
	cmd->nsid = dev->nsid;
	if (buf) {
		uint64_t slba = off / dev->lbasz;

		cmd->addr = (uint64_t)(uintptr_t)buf;
		cmd->data_len = len;
		cmd->cdw10 = (uint32_t)slba;
		cmd->cdw11 = (uint32_t)(slba >> 32);
		cmd->cdw12 = len / dev->lbasz - 1;
	}
	nvme_uring_cmd_set_hw_queue(cmd, hw_queue);
}

void *qid_alloc(size_t len)
{
	void *p;

	if (posix_memalign(&p, 4096, len)) {
		fprintf(stderr, "out of memory\n");
		exit(3);
	}
	memset(p, 0, len);
	return p;
}

const char *qid_res_str(int res, char *buf, size_t len)
{
	/* res > 0: the NVMe status field without the phase bit (nvme_req()->status). */
	if (res < 0)
		snprintf(buf, len, "%d (%s)", res, strerror(-res));
	else if (res)
		snprintf(buf, len, "NVMe status 0x%x (SCT %u SC 0x%02x%s)", (unsigned int)res,
			 (unsigned int)res >> 8 & 7, (unsigned int)res & 0xff,
			 res & 0x4000 ? ", DNR" : "");
	else
		snprintf(buf, len, "0 (ok)");
	return buf;
}
