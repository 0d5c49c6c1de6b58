/* SPDX-License-Identifier: MIT */
/*
 * Finding out what a policy's backend is (backend/backend_id.h) and claiming
 * it for this daemon alone.
 */
#ifndef DDUBLK_BACKEND_IDENTIFY_H
#define DDUBLK_BACKEND_IDENTIFY_H

#include <stddef.h>

#include "backend/backend_id.h"
#include "conf/config.h"

/* Where backend lock files live (NVMe namespaces and block devices). */
#define BACKEND_LOCK_DIR "/run/ddublk"

/*
 * What cb names: stat of its path (following symlinks), sysfs for NVMe
 * namespaces, partitions, holders and ublk devices, /proc/self/mountinfo
 * for mounts. Writes nothing. Something that cannot be looked at (a
 * missing device, an unknown controller) gets BACKEND_ID_NONE: opening it
 * reports that.
 */
void backend_identify(const struct conf_backend *cb, struct backend_id *id);

/* Every backend of c, into ids[c->nr_backends]. */
void backends_identify(const struct conf *c, struct backend_id *ids);

/*
 * Claim the backend for this process before anything on it is read: a
 * lock file under BACKEND_LOCK_DIR named by its identity (an NVMe
 * namespace or block device) or a lock on the file itself, both flock()ed,
 * and the block device opened with O_EXCL (which a mount, device-mapper or
 * another ddublkd also needs). Fills fds[2] (-1: unused): keep them open
 * while the backend is served. 0, or -1 with a message and nothing held.
 */
int backend_claim(const struct conf_backend *cb, const struct backend_id *id, int fds[2],
		  char *err, size_t errlen);
void backend_unclaim(int fds[2]);

#endif
