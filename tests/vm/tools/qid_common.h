/* SPDX-License-Identifier: MIT */
/*
 * Shared by the guest-side queue-steering tools (qid_smoke, qid_stress):
 * what the namespace's hardware queues are, and steered commands
 * (backend/nvme/nvme_qid.h) on rings set up for NVMe passthrough.
 */
#ifndef DDUBLK_QID_COMMON_H
#define DDUBLK_QID_COMMON_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#define OPC_FLUSH 0x00
#define OPC_WRITE 0x01
#define OPC_READ 0x02
#define QID_MAX_HCTX 1024u

struct qid_hctx {
	char type[16]; /* "default", "read" or "poll" (debugfs hctxN/type) */
	char cpus[256]; /* sysfs mq/N/cpu_list, "" if no CPU maps to it */
	unsigned int nr_tags;
};

struct qid_dev {
	int fd; /* the generic char device, /dev/ngXnY */
	const char *disk; /* its block device's name, nvmeXnY */
	uint32_t nsid;
	uint32_t lbasz;
	unsigned int nr; /* hardware queues */
	struct qid_hctx hctx[QID_MAX_HCTX];
};

/* Open path and read disk's queues from sysfs and debugfs; 0 or -1 (printed). */
int qid_open(struct qid_dev *dev, const char *path, const char *disk);
bool qid_is_poll(const struct qid_dev *dev, unsigned int q);
/* "busy=" of hctxN's bitmap tags in debugfs: tags in use now; -1 if unknown. */
int qid_hctx_busy(const struct qid_dev *dev, unsigned int q);

/* SQE128|CQE32 ring, IOPOLL if asked; exits with status 3 on failure. */
void qid_ring_init(struct io_uring *ring, unsigned int entries, bool iopoll);
struct io_uring_sqe *qid_get_sqe(struct io_uring *ring); /* exits 3 if full */
/* A steered command: data buf of len bytes at byte offset off (buf NULL: none). */
void qid_prep(const struct qid_dev *dev, struct io_uring_sqe *sqe, unsigned int opcode, void *buf,
	      uint32_t len, uint64_t off, uint32_t hw_queue, uint64_t user_data);
/* 4 KiB aligned, zeroed; exits 3 if out of memory. */
void *qid_alloc(size_t len);
/* "-11 (Resource temporarily unavailable)", "0 (ok)", "NVMe status 0x281 (SCT 2 SC 0x81)". */
const char *qid_res_str(int res, char *buf, size_t len);

#endif /* DDUBLK_QID_COMMON_H */
