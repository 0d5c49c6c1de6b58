/* SPDX-License-Identifier: MIT */
/*
 * The file backend: a regular file or a block device, served with io_uring
 * read/write/fsync/fallocate. O_DIRECT whenever the target takes it, so
 * tenant data does not sit twice in the page cache; buffered otherwise
 * (tmpfs on Linux < 6.6 has no O_DIRECT).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/units.h"
#include "backend/backend.h"

#define FILE_MAX_IO_BYTES (512u << 10)

/* Stages of WRITE_ZEROES: the first fallocate mode, then the other where it is missing. */
enum { WZ_FIRST = 0, WZ_FALLBACK = 1 };

/*
 * ZERO_RANGE keeps the blocks allocated; PUNCH_HOLE frees them (a regular
 * file's hole reads zeroes; on a block device it is the kernel's zero-out
 * that may unmap, and fails rather than writing zeroes). io->unmap prefers
 * the hole.
 */
static int wz_mode(const struct backend_io *io)
{
	bool punch = io->unmap ? io->stage == WZ_FIRST : io->stage == WZ_FALLBACK;

	return punch ? FALLOC_FL_PUNCH_HOLE : FALLOC_FL_ZERO_RANGE;
}

static void prep_rw(struct io_uring_sqe *sqe, struct backend *be, struct backend_io *io)
{
	char *buf = (char *)io->buf + io->done;
	unsigned len = (unsigned)(io->len - io->done);
	uint64_t off = io->off + io->done;

	if (io->op == IO_OP_READ) {
		io_uring_prep_read(sqe, be->fd, buf, len, off);
	} else {
		io_uring_prep_write(sqe, be->fd, buf, len, off);
		if (io->fua)
			sqe->rw_flags = RWF_DSYNC;
	}
}

static int file_queue(struct backend *be, struct io_uring *ring, struct backend_io *io,
		      uint64_t user_data)
{
	struct io_uring_sqe *sqe = backend_get_sqe(ring);
	int mode;

	if (!sqe)
		return -EAGAIN;
	switch (io->op) {
	case IO_OP_READ:
	case IO_OP_WRITE:
		prep_rw(sqe, be, io);
		break;
	case IO_OP_FLUSH:
		io_uring_prep_fsync(sqe, be->fd, IORING_FSYNC_DATASYNC);
		break;
	case IO_OP_DISCARD:
		io_uring_prep_fallocate(sqe, be->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					io->off, io->len);
		break;
	case IO_OP_WRITE_ZEROES:
		mode = wz_mode(io);
		io_uring_prep_fallocate(sqe, be->fd, mode | FALLOC_FL_KEEP_SIZE, io->off, io->len);
		break;
	default:
		return -EOPNOTSUPP;
	}
	io_uring_sqe_set_data64(sqe, user_data);
	io->pending++;
	return 0;
}

/* Queue the same request again (the rest of it, or its next stage). */
static int requeue(struct backend *be, struct io_uring *ring, struct backend_io *io,
		   uint64_t user_data)
{
	int ret = file_queue(be, ring, io, user_data);

	if (ret < 0) {
		io->result = ret;
		return 1;
	}
	return 0;
}

static int file_complete(struct backend *be, struct io_uring *ring, struct backend_io *io,
			 const struct io_uring_cqe *cqe, uint64_t user_data)
{
	int res = cqe->res;

	io->pending--;
	if (res == -EAGAIN || res == -EINTR)
		return requeue(be, ring, io, user_data);
	switch (io->op) {
	case IO_OP_READ:
	case IO_OP_WRITE:
		if (res < 0) {
			io->result = res;
			return 1;
		}
		/* A short transfer inside the extent: move on with the rest. */
		if (res == 0) {
			io->result = -EIO;
			return 1;
		}
		io->done += (uint64_t)res;
		if (io->done < io->len)
			return requeue(be, ring, io, user_data);
		return 1;
	case IO_OP_DISCARD:
		/* Discard is a hint; a target that cannot punch holes ignores it. */
		io->result = res == -EOPNOTSUPP ? 0 : res;
		break;
	case IO_OP_WRITE_ZEROES:
		if (res == -EOPNOTSUPP && io->stage == WZ_FIRST) {
			io->stage = WZ_FALLBACK;
			return requeue(be, ring, io, user_data);
		}
		io->result = res < 0 ? res : 0;
		break;
	default:
		io->result = res < 0 ? res : 0;
		break;
	}
	io->done = io->result ? 0 : io->len;
	return 1;
}

static void file_close(struct backend *be)
{
	if (be->fd >= 0)
		close(be->fd);
	free(be);
}

static void file_describe(const struct backend *be, char *buf, size_t len)
{
	char sz[32];

	snprintf(buf, len, "on %s (%s), %s, block size %u", be->path,
		 be->is_blockdev ? "block device" : "file", format_size(be->size, sz, sizeof(sz)),
		 be->block_size);
}

static const struct backend_ops file_ops = {
	.describe = file_describe,
	.kind = "file",
	.queue = file_queue,
	.complete = file_complete,
	.close = file_close,
};

/* Create or extend a regular file to the size the policy asks for. */
static int ensure_file_size(const struct conf_backend *cb, int fd, struct stat *st,
			    char *err, size_t errlen)
{
	char want[32], have[32];

	if (!cb->size || !S_ISREG(st->st_mode) || (uint64_t)st->st_size >= cb->size)
		return 0;
	if (ftruncate(fd, (off_t)cb->size) < 0) {
		snprintf(err, errlen, "backend \"%s\": cannot extend %s to %s: %s", cb->name,
			 cb->path, format_size(cb->size, want, sizeof(want)), strerror(errno));
		return -1;
	}
	if (st->st_size)
		log_info("backend \"%s\": extended %s from %s to %s", cb->name, cb->path,
			 format_size((uint64_t)st->st_size, have, sizeof(have)),
			 format_size(cb->size, want, sizeof(want)));
	return fstat(fd, st);
}

static int open_target(const struct conf_backend *cb, bool *direct, char *err, size_t errlen)
{
	int flags = O_RDWR | O_CLOEXEC | (cb->size ? O_CREAT : 0);
	int fd;

	*direct = true;
	fd = open(cb->path, flags | O_DIRECT, 0600);
	if (fd < 0 && errno == EINVAL) {
		*direct = false;
		fd = open(cb->path, flags, 0600);
	}
	if (fd < 0)
		snprintf(err, errlen, "backend \"%s\": cannot open %s: %s%s", cb->name,
			 cb->path, strerror(errno),
			 errno == ENOENT ? " (give the backend a size to create a file)" : "");
	return fd;
}

int file_backend_open(const struct conf_backend *cb, struct backend **out, char *err,
		      size_t errlen)
{
	struct backend *be;
	struct stat st;
	bool direct;
	int fd = open_target(cb, &direct, err, errlen);

	if (fd < 0)
		return -1;
	be = calloc(1, sizeof(*be));
	if (!be || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "backend \"%s\": %s", cb->name, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "backend \"%s\": %s is neither a regular file nor a "
			 "block device", cb->name, cb->path);
		goto fail;
	}
	if (ensure_file_size(cb, fd, &st, err, errlen) < 0)
		goto fail;
	be->ops = &file_ops;
	be->fd = fd;
	be->direct = direct;
	be->is_blockdev = S_ISBLK(st.st_mode);
	be->max_io_bytes = FILE_MAX_IO_BYTES;
	be->can_discard = true;
	snprintf(be->name, sizeof(be->name), "%s", cb->name);
	snprintf(be->path, sizeof(be->path), "%s", cb->path);
	if (be->is_blockdev) {
		int lbs = 512;

		if (ioctl(fd, BLKGETSIZE64, &be->size) < 0 || ioctl(fd, BLKSSZGET, &lbs) < 0) {
			snprintf(err, errlen, "backend \"%s\": cannot size %s: %s", cb->name,
				 cb->path, strerror(errno));
			goto fail;
		}
		be->block_size = (uint32_t)lbs;
	} else {
		be->size = (uint64_t)st.st_size;
		/* O_DIRECT on a file wants the file system's block alignment. */
		be->block_size = direct ? 4096 : 512;
	}
	if (!direct)
		log_info("backend \"%s\": %s does not support O_DIRECT; using buffered I/O",
			 cb->name, cb->path);
	*out = be;
	return 0;
fail:
	close(fd);
	free(be);
	return -1;
}
