/* SPDX-License-Identifier: MIT */
#include "backend/backend_id.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

void backend_id_describe(const struct backend_id *id, char *buf, size_t len)
{
	switch (id->kind) {
	case BACKEND_ID_NVME:
		snprintf(buf, len, "NVMe namespace %s", id->nvme_ns);
		break;
	case BACKEND_ID_BLOCK:
		snprintf(buf, len, "block device %u:%u", id->rdev_major, id->rdev_minor);
		break;
	case BACKEND_ID_FILE:
		snprintf(buf, len, "file (inode %llu on device %u:%u)",
			 (unsigned long long)id->st_ino, major((dev_t)id->st_dev),
			 minor((dev_t)id->st_dev));
		break;
	case BACKEND_ID_NEW_FILE:
		snprintf(buf, len, "file %s", id->path);
		break;
	default:
		snprintf(buf, len, "backend");
		break;
	}
}

static bool has_rdev(const struct backend_id *id)
{
	return (id->kind == BACKEND_ID_NVME || id->kind == BACKEND_ID_BLOCK) &&
	       (id->rdev_major || id->rdev_minor);
}

bool backend_id_same(const struct backend_id *a, const struct backend_id *b)
{
	if (has_rdev(a) && has_rdev(b))
		return a->rdev_major == b->rdev_major && a->rdev_minor == b->rdev_minor;
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case BACKEND_ID_NVME:
		return strcmp(a->nvme_ns, b->nvme_ns) == 0;
	case BACKEND_ID_FILE:
		return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
	case BACKEND_ID_NEW_FILE:
		return strcmp(a->path, b->path) == 0;
	default:
		return false;
	}
}

bool backend_id_partition_of(const struct backend_id *a, const struct backend_id *b)
{
	if (!has_rdev(a) || !has_rdev(b) || backend_id_same(a, b))
		return false;
	return a->disk_major == b->rdev_major && a->disk_minor == b->rdev_minor;
}

/* What is wrong with the backend on its own, or false. */
static bool unusable(const struct backend_id *id, char *msg, size_t len)
{
	char what[PATH_MAX + 64];

	backend_id_describe(id, what, sizeof(what));
	if (id->ublk[0] && id->kind == BACKEND_ID_FILE)
		snprintf(msg, len, "%s is on a file system on /dev/%s, a ublk device: a tenant of "
			 "ddublkd cannot hold a backend", what, id->ublk);
	else if (id->ublk[0])
		snprintf(msg, len, "%s is /dev/%s, a ublk device: a tenant of ddublkd cannot be "
			 "a backend", what, id->ublk);
	else if (id->mounted[0])
		snprintf(msg, len, "%s is mounted (%s at %s); unmount it first: a backend's "
			 "bytes belong to its tenants", what, id->mounted_dev, id->mounted);
	else if (id->holder[0])
		snprintf(msg, len, "%s is in use by %s (see its holders in sysfs)", what,
			 id->holder);
	else
		return false;
	return true;
}

int conf_check_backend_ids(const struct conf *c, const struct backend_id *ids, char *err,
			   size_t errlen)
{
	char msg[PATH_MAX + 512], what[PATH_MAX + 64];

	for (size_t i = 0; i < c->nr_backends; i++) {
		const struct backend_id *a = &ids[i];

		if (a->kind == BACKEND_ID_NONE)
			continue;
		backend_id_describe(a, what, sizeof(what));
		for (size_t j = 0; j < i; j++) {
			const struct backend_id *b = &ids[j];

			if (backend_id_same(a, b))
				snprintf(msg, sizeof(msg), "the same %s as backends[%zu] (line %d)",
					 what, j, c->backends[j].line);
			else if (backend_id_partition_of(a, b))
				snprintf(msg, sizeof(msg), "%s is a partition of backends[%zu] "
					 "(line %d)", what, j, c->backends[j].line);
			else if (backend_id_partition_of(b, a))
				snprintf(msg, sizeof(msg), "%s is the disk of backends[%zu] (line "
					 "%d), a partition of it", what, j, c->backends[j].line);
			else
				continue;
			set_err(err, errlen, "%d: backends[%zu]: %s", c->backends[i].line, i, msg);
			return -1;
		}
		if (unusable(a, msg, sizeof(msg))) {
			set_err(err, errlen, "%d: backends[%zu]: %s", c->backends[i].line, i, msg);
			return -1;
		}
	}
	return 0;
}
