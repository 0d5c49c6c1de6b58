/* SPDX-License-Identifier: MIT */
/*
 * NVMe namespace discovery: from a policy entry (a /dev/nvmeXnY or
 * /dev/ngXnY path, or controller + nsid) to what the passthrough backend
 * needs: the generic char device, nsid, LBA format, the largest transfer
 * and the number of I/O queues. libnvme for the topology and the LBA
 * format, sysfs for the block layer's limits.
 *
 * The name and sysfs-text helpers are pure, for the unit tests.
 */
#ifndef DDUBLK_NVME_DISCOVER_H
#define DDUBLK_NVME_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"

#define NVME_NAME_MAX 32

struct nvme_ns_info {
	char ctrl[NVME_NAME_MAX]; /* nvme0 */
	char ns[NVME_NAME_MAX]; /* nvme0n1: the block device's (and sysfs) name */
	char generic_path[NVME_NAME_MAX + 8]; /* /dev/ng0n1 */
	uint32_t nsid;
	uint32_t lba_size;
	uint32_t meta_size; /* bytes of metadata per block (must be 0) */
	uint64_t lba_count;
	uint32_t max_transfer; /* bytes per command (nvme_max_transfer()) */
	unsigned nr_io_queues; /* blk-mq hardware queues; 0: unknown */
	uint64_t max_discard_bytes; /* per DSM range (DMRSL); 0: no deallocate */
	unsigned max_discard_ranges; /* per DSM command (DMRL) */
	uint8_t dlfeat; /* Identify Namespace DLFEAT; 0 (nothing promised) if unknown */
};

/*
 * The namespace name ("nvme0n1") behind a device name: "nvme0n1" or
 * "ng0n1". Returns 0, or -1 if the name is not an NVMe namespace (a
 * partition, a controller, a multipath path device, anything else).
 */
int nvme_ns_name_from_dev(const char *dev, char *ns, size_t len);

/* "nvme0n1" -> "/dev/ng0n1" and "/dev/nvme0n1". Return 0 or -1. */
int nvme_generic_path(const char *ns, char *out, size_t len);
int nvme_block_path(const char *ns, char *out, size_t len);

/* A sysfs attribute holding one unsigned decimal ("512\n"). Returns 0 or -1. */
int nvme_parse_sysfs_u64(const char *text, uint64_t *out);
/* Read and parse such an attribute: 0, or -1 with errno (EINVAL: not a number). */
int nvme_read_sysfs_u64(const char *path, uint64_t *out);

/*
 * Bytes one passthrough command can carry from a page-aligned buffer: the
 * block layer's max_hw_sectors_kb, and at most max_segments pages (Linux
 * 6.1 maps a registered buffer page by page, and NVMe PCIe allows 127
 * segments while MDTS may allow 512 KiB = 128 pages). 0 segments: no limit.
 */
uint32_t nvme_max_transfer(uint64_t max_hw_sectors_kb, uint64_t max_segments,
			   uint32_t page_size);

/* 1 if an entry of /sys/block/<ns>/mq/ is a hardware queue (a number). */
bool nvme_mq_entry_is_queue(const char *name);

/*
 * 1 and the namespace name if path is an NVMe namespace (block or generic
 * char device, found through /sys/dev so that symlinks work), 0 if not
 * (or it cannot be stat'ed: the file backend reports that).
 */
int nvme_path_namespace(const char *path, char *ns, size_t len);

/* The namespace ("nvme0n1") of cb's controller + nsid: 0, or -1 with a message. */
int nvme_ns_of_controller(const struct conf_backend *cb, char *ns, size_t len, char *err,
			  size_t errlen);

/* Resolve cb to a namespace. Returns 0, or -1 with a message naming the backend. */
int nvme_discover(const struct conf_backend *cb, struct nvme_ns_info *out, char *err,
		  size_t errlen);

struct backend;
/*
 * backend/nvme/passthru.c: the passthrough backend on fd (the generic char device)
 * for a namespace nvme_discover() described; NULL if out of memory. The
 * tests build one on no device to drive its queue/complete methods.
 */
struct backend *nvme_backend_make(const struct nvme_ns_info *ns, const char *name, int fd);

#endif
