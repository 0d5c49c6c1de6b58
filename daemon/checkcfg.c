/* SPDX-License-Identifier: MIT */
/*
 * ddublkd --check-config: the policy, and whether its tenants fit the
 * backends as they are now. Each backend is sized the way the daemon will
 * open it (an NVMe namespace by its LBA count, whether the policy names
 * /dev/nvmeXnY, /dev/ngXnY or controller + nsid), its tenant table is read
 * read-only (what `ublk-ctl add` and earlier policies left there), and the
 * policy's new tenants are placed on what is free exactly as a start
 * places them (store/place.h). Nothing is written, created or locked.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/units.h"
#include "store/place.h"
#include "daemon/daemon.h"
#include "backend/nvme/discover.h"
#include "backend/identify.h"

/* What the start will find on one backend. */
struct seen {
	uint64_t bytes; /* 0: unknown */
	struct table tab;
	struct extent_map map;
	bool have_map;
	char note[PATH_MAX + 1024]; /* why it could not be looked at */
	char refused[PATH_MAX + 1024]; /* its table is unreadable: the daemon leaves it alone */
};

static int ro_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(*(int *)ctx, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) { /* past the end: never written */
			memset((char *)buf + done, 0, len - done);
			break;
		}
		done += (size_t)n;
	}
	return 0;
}

/* A check never writes: table_load does not either. */
static int ro_write(void *ctx, const void *buf, size_t len, uint64_t off)
{
	(void)ctx;
	(void)buf;
	(void)len;
	(void)off;
	return -EROFS;
}

static int ro_flush(void *ctx)
{
	(void)ctx;
	return -EROFS;
}

/* O_DIRECT: passthrough writes bypass the block device's page cache. */
static int open_ro(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);

	if (fd < 0 && errno == EINVAL)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd;
}

static void read_table(const struct conf_backend *cb, const char *node, struct seen *s)
{
	char what[PATH_MAX + 96];
	struct table_io io = { .read = ro_read, .write = ro_write, .flush = ro_flush };
	int fd = open_ro(node);

	if (fd < 0) {
		snprintf(s->note, sizeof(s->note), "cannot read its tenant table from %s: %s",
			 node, strerror(errno));
		s->bytes = 0;
		return;
	}
	io.ctx = &fd;
	snprintf(what, sizeof(what), "backend \"%s\" (%s)", cb->name, node);
	if (table_load(&io, what, &s->tab, s->refused, sizeof(s->refused)) < 0 && !s->refused[0])
		snprintf(s->refused, sizeof(s->refused), "%s: unreadable tenant table", what);
	close(fd);
}

/* An NVMe namespace, as passthrough sees it; its table through the block device. */
static void look_nvme(const struct conf_backend *cb, struct seen *s)
{
	struct nvme_ns_info ns;
	char node[64];

	if (nvme_discover(cb, &ns, s->note, sizeof(s->note)) < 0)
		return;
	s->bytes = ns.lba_count * ns.lba_size;
	if (nvme_block_path(ns.ns, node, sizeof(node)) < 0) {
		snprintf(s->note, sizeof(s->note), "namespace %s has no block device to read "
			 "its tenant table from", ns.ns);
		s->bytes = 0;
		return;
	}
	read_table(cb, node, s);
}

static void look_file(const struct conf_backend *cb, struct seen *s)
{
	struct stat st;
	int fd;

	if (stat(cb->path, &st) < 0) {
		if (errno == ENOENT && cb->size)
			s->bytes = cb->size; /* the daemon creates it: empty */
		else
			snprintf(s->note, sizeof(s->note), "%s: %s", cb->path, strerror(errno));
		return;
	}
	if (S_ISREG(st.st_mode)) {
		/* The daemon extends it to `size`, never shrinks it. */
		s->bytes = (uint64_t)st.st_size > cb->size ? (uint64_t)st.st_size : cb->size;
	} else if (S_ISBLK(st.st_mode)) {
		fd = open_ro(cb->path);
		if (fd < 0 || ioctl(fd, BLKGETSIZE64, &s->bytes) < 0) {
			snprintf(s->note, sizeof(s->note), "cannot size %s: %s", cb->path,
				 strerror(errno));
			s->bytes = 0;
		}
		if (fd >= 0)
			close(fd);
	} else {
		snprintf(s->note, sizeof(s->note), "%s is neither a regular file nor a block "
			 "device", cb->path);
	}
	if (s->bytes)
		read_table(cb, cb->path, s);
}

static void look(const struct conf_backend *cb, struct seen *s)
{
	size_t skipped;

	if (cb->type == CONF_BACKEND_NULL)
		s->bytes = cb->size; /* no storage, so no table: it starts empty */
	else if (backend_is_nvme(cb)) /* as backend_open() decides */
		look_nvme(cb, s);
	else
		look_file(cb, s);
	if (!s->bytes || s->refused[0])
		return;
	if (conf_room_map(&s->map, s->bytes, cb->reserved, &s->tab, &skipped) == 0)
		s->have_map = true;
	if (skipped)
		fprintf(stderr, "ddublkd: warning: backend \"%s\": %zu tenant(s) of its table "
			"lie outside it and will not be served\n", cb->name, skipped);
}

/* Every table's names: the daemon serves those tenants where they are. */
static bool recorded(void *ctx, const char *name)
{
	const struct conf *c = ((const struct conf **)ctx)[0];
	const struct seen *seen = ((const struct seen **)ctx)[1];

	for (size_t i = 0; i < c->nr_backends; i++)
		if (table_find(&seen[i].tab, name) >= 0)
			return true;
	return false;
}

static uint64_t table_bytes(const struct table *t)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < t->nr; i++)
		sum += round_up_u64(t->e[i].spec.size, CONF_EXTENT_ALIGN);
	return sum;
}

/* The placement's verdict, or one line per backend on what it holds. */
static int place(const struct conf *c, struct seen *seen, const char *path)
{
	struct conf_room *rooms = calloc(c->nr_backends ? c->nr_backends : 1, sizeof(*rooms));
	const void *ctx[2] = { c, seen };
	char why[512], sz[32];
	size_t bad = 0;
	int ret;

	if (!rooms)
		return -1;
	for (size_t i = 0; i < c->nr_backends; i++)
		rooms[i] = (struct conf_room){ .bytes = seen[i].bytes,
					       .map = seen[i].have_map ? &seen[i].map : NULL,
					       .refused = seen[i].refused[0] ? seen[i].refused : NULL };
	ret = conf_place_new(c, rooms, recorded, ctx, &bad, why, sizeof(why));
	free(rooms);
	if (ret == 0)
		return 0;
	{
		const struct conf_backend *cb = conf_find_backend(c, c->tenants[bad].spec.backend);
		const struct table *t = &seen[cb - c->backends].tab;

		fprintf(stderr, "ddublkd: %s:%d: tenants[%zu]: %s", path, c->tenants[bad].line,
			bad, why);
		if (t->nr)
			fprintf(stderr, " (its tenant table already holds %zu tenant(s), %s, "
				"each rounded up to 1 MiB)", t->nr,
				format_size(table_bytes(t), sz, sizeof(sz)));
		fputc('\n', stderr);
	}
	return -1;
}

int check_config(const struct conf *c, const char *path)
{
	struct seen *seen = calloc(c->nr_backends ? c->nr_backends : 1, sizeof(*seen));
	uint64_t *bytes = calloc(c->nr_backends ? c->nr_backends : 1, sizeof(*bytes));
	struct backend_id *ids = calloc(c->nr_backends ? c->nr_backends : 1, sizeof(*ids));
	char err[PATH_MAX + 1024], sz[32];
	int ret = 0;

	if (!seen || !bytes || !ids) {
		free(seen);
		free(bytes);
		free(ids);
		return 1;
	}
	for (size_t i = 0; i < c->nr_backends; i++) {
		look(&c->backends[i], &seen[i]);
		bytes[i] = seen[i].bytes;
		if (seen[i].note[0])
			fprintf(stderr, "ddublkd: warning: backend \"%s\": %s; its room is not "
				"checked\n", c->backends[i].name, seen[i].note);
		if (seen[i].refused[0])
			fprintf(stderr, "ddublkd: warning: %s; ddublkd will leave this backend "
				"alone\n", seen[i].refused);
	}
	/* the same storage named twice, a ublk device, a partition of another, mounted */
	backends_identify(c, ids);
	if (conf_check_backend_ids(c, ids, err, sizeof(err)) < 0 ||
	    conf_check_capacity(c, bytes, err, sizeof(err)) < 0) {
		fprintf(stderr, "ddublkd: %s:%s\n", path, err); /* err is "LINE: key: ..." */
		ret = 1;
	} else if (place(c, seen, path) < 0) {
		ret = 1;
	} else {
		printf("%s: OK: %zu backend(s), %zu tenant(s), scheduler %s\n", path,
		       c->nr_backends, c->nr_tenants, conf_sched_mode_name(c->sched.mode));
		for (size_t i = 0; i < c->nr_backends; i++)
			if (seen[i].bytes)
				printf("  backend \"%s\": %s, %zu tenant(s) in its table\n",
				       c->backends[i].name,
				       format_size(seen[i].bytes, sz, sizeof(sz)), seen[i].tab.nr);
	}
	for (size_t i = 0; i < c->nr_backends; i++) {
		if (seen[i].have_map)
			extent_map_free(&seen[i].map);
		table_free(&seen[i].tab);
	}
	free(seen);
	free(bytes);
	free(ids);
	return ret;
}
