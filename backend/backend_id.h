/* SPDX-License-Identifier: MIT */
/*
 * What a backend is, whatever the policy calls it: one NVMe namespace may
 * be named /dev/nvme0n1, /dev/ng0n1, a symlink to either or controller +
 * nsid; one file by any of its paths. Two backends that are the same
 * storage would each place tenants on the same bytes, so the policy is
 * refused (conf_check_backend_ids), as is a backend that is not ours to
 * use: a ublk device (a tenant of ddublkd itself), a disk and a partition
 * of it, a mounted device, or one another driver holds (device-mapper, md).
 *
 * The identity is gathered from the system by backend_identify()
 * (backend/identify.c); comparing and judging it is pure, for the tests.
 */
#ifndef DDUBLK_BACKEND_BACKEND_ID_H
#define DDUBLK_BACKEND_BACKEND_ID_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"

enum backend_id_kind {
	BACKEND_ID_NONE = 0, /* not known (not there yet, or cannot be looked at) */
	BACKEND_ID_NVME, /* an NVMe namespace, by any of its names */
	BACKEND_ID_BLOCK, /* another block device (a partition, a SATA disk, dm, ...) */
	BACKEND_ID_FILE, /* a regular file */
	BACKEND_ID_NEW_FILE, /* a regular file the daemon will create */
};

struct backend_id {
	enum backend_id_kind kind;
	char nvme_ns[32]; /* NVME: the namespace ("nvme0n1") */
	/* NVME, BLOCK: the block device's number and its whole disk's (0: unknown) */
	unsigned rdev_major, rdev_minor, disk_major, disk_minor;
	uint64_t st_dev, st_ino; /* FILE */
	char path[PATH_MAX]; /* NEW_FILE: absolute, its directory resolved */
	/* what makes it unusable */
	char ublk[32]; /* "ublkb3": it is a ublk device (FILE: its file system is on one) */
	char mounted[256]; /* a mount point of it, or of a partition of it */
	char mounted_dev[32]; /* what is mounted there, "259:1" (itself or a partition) */
	char holder[64]; /* a holder of the block device ("dm-0"), from sysfs */
};

/* "NVMe namespace nvme0n1", "block device 8:16", "file (inode 12 on 8:1)", ... */
void backend_id_describe(const struct backend_id *id, char *buf, size_t len);

/* The same storage: a tenant placed on one lands on the other's bytes. */
bool backend_id_same(const struct backend_id *a, const struct backend_id *b);

/* a is a partition of b's whole disk (b is that disk). */
bool backend_id_partition_of(const struct backend_id *a, const struct backend_id *b);

/*
 * The policy's backends against each other and what they are (ids[i] for
 * c->backends[i]): 0, or -1 with "LINE: backends[N]: problem" in err (as
 * conf_check_capacity: prefix "FILE:").
 */
int conf_check_backend_ids(const struct conf *c, const struct backend_id *ids, char *err,
			   size_t errlen);

#endif
