/* SPDX-License-Identifier: MIT */
/*
 * Creating and destroying one ublk device: the control-command sequence
 * around the queues that the workers serve.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/bits.h"
#include "common/log.h"
#include "ublk/queue.h"
#include "ublk/reattach.h"

#define ATTACH_TIMEOUT_MS 5000
/* START_USER_RECOVERY: until the dead daemon's files are closed (seconds). */
#define RECOVERY_START_TIMEOUT_MS 20000
#define OPEN_TIMEOUT_MS 5000
/* STOP_DEV lets in-flight requests finish; a slow backend may take a while. */
#define DETACH_TIMEOUT_MS 30000

/* DDUBLKD_FAULT=stuck-create:NAME (tests only): see ublk_dev_fault_stuck_create. */
static char stuck_create[CONF_NAME_MAX];

void ublk_dev_fault_stuck_create(const char *name)
{
	snprintf(stuck_create, sizeof(stuck_create), "%s", name ? name : "");
}

/* The hook fires once, for the tenant it names. */
static bool fault_fires(const char *name)
{
	if (!stuck_create[0] || strcmp(stuck_create, name))
		return false;
	stuck_create[0] = '\0';
	log_warn("DDUBLKD_FAULT=stuck-create:%s: failing this device and its rollback (test hook)",
		 name);
	return true;
}

struct ublk_dev {
	char name[CONF_NAME_MAX];
	int dev_id;
	int char_fd;
	unsigned nr_queues;
	unsigned depth;
	uint64_t flags; /* UBLK_F_* the kernel granted */
	unsigned attached; /* queues handed to the workers: what teardown waits for */
	struct ublk_queue **queues;
	struct ublk_workers *pool;
};

int ublk_dev_id(const struct ublk_dev *d)
{
	return d->dev_id;
}

unsigned ublk_dev_queues(const struct ublk_dev *d)
{
	return d->nr_queues;
}

void ublk_dev_stats(const struct ublk_dev *d, struct stats_io_snap *out)
{
	for (unsigned i = 0; i < d->nr_queues; i++)
		if (d->queues[i])
			stats_io_snap_add(out, &d->queues[i]->st);
}

unsigned ublk_dev_depth(const struct ublk_dev *d)
{
	return d->depth;
}

bool ublk_dev_recoverable(const struct ublk_dev *d)
{
	return d->flags & UBLK_F_USER_RECOVERY;
}

static void fill_params(struct ublk_params *p, const struct ublk_dev_config *cfg,
			uint32_t max_io_bytes)
{
	unsigned lbs_shift = ilog2_u32(cfg->be->block_size);

	memset(p, 0, sizeof(*p));
	p->types = UBLK_PARAM_TYPE_BASIC;
	/* A volatile cache with FUA makes the kernel send us FLUSH and FUA. */
	p->basic.attrs = UBLK_ATTR_VOLATILE_CACHE | UBLK_ATTR_FUA;
	p->basic.logical_bs_shift = (uint8_t)lbs_shift;
	p->basic.physical_bs_shift = (uint8_t)(lbs_shift > 12 ? lbs_shift : 12);
	p->basic.io_min_shift = (uint8_t)lbs_shift;
	p->basic.io_opt_shift = 12;
	p->basic.max_sectors = max_io_bytes >> 9;
	p->basic.dev_sectors = cfg->size >> 9;
	if (cfg->be->can_discard) {
		p->types |= UBLK_PARAM_TYPE_DISCARD;
		p->discard.discard_granularity = 4096;
		/* Bounded so that one fallocate never stalls a worker for long. */
		p->discard.max_discard_sectors = (1u << 30) >> 9;
		p->discard.max_write_zeroes_sectors = (1u << 30) >> 9;
		p->discard.max_discard_segments = 1;
	}
}

/* /dev/ublkcN appears asynchronously and udev may hold it for a moment. */
static int open_char_dev(int dev_id)
{
	char path[64];
	int fd, waited = 0;

	snprintf(path, sizeof(path), "/dev/ublkc%d", dev_id);
	for (;;) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 || (errno != ENOENT && errno != EBUSY) || waited >= OPEN_TIMEOUT_MS)
			return fd < 0 ? -errno : fd;
		usleep(10000);
		waited += 10;
	}
}

static void free_queue(struct ublk_queue *q)
{
	if (!q)
		return;
	if (q->descs)
		munmap((void *)q->descs, q->descs_len);
	if (q->bufs)
		munmap(q->bufs, q->bufs_len);
	free(q);
}

static struct ublk_queue *alloc_queue(const struct ublk_dev *d, const struct ublk_dev_config *cfg,
				      unsigned q_id, uint32_t buf_bytes, char *err, size_t errlen)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct ublk_queue *q = calloc(1, sizeof(*q) + d->depth * sizeof(q->ios[0]));
	void *descs;

	if (!q) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->name = d->name;
	q->dev_id = d->dev_id;
	q->q_id = q_id;
	q->depth = d->depth;
	q->char_fd = d->char_fd;
	q->buf_bytes = buf_bytes;
	q->dev_bytes = cfg->size;
	q->be = cfg->be;
	q->be_offset = cfg->be_offset;
	admit_flow_init(&q->flow, cfg->gate);
	route_init(&q->route, cfg->be, cfg->router, cfg->route_tenant);
	q->buf_slot = -1;
	q->descs_len = ublk_desc_mmap_len(d->depth, page);
	descs = mmap(NULL, q->descs_len, PROT_READ, MAP_SHARED | MAP_POPULATE, d->char_fd,
		     (off_t)ublk_desc_mmap_offset(q_id, page));
	if (descs == MAP_FAILED) {
		snprintf(err, errlen, "mmap of queue %u descriptors: %s", q_id, strerror(errno));
		free(q);
		return NULL;
	}
	q->descs = descs;
	/* Page-aligned per-tag buffers: unaligned ones would be bounce-copied. */
	q->bufs_len = (size_t)d->depth * buf_bytes;
	q->bufs = mmap(NULL, q->bufs_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (q->bufs == MAP_FAILED) {
		q->bufs = NULL;
		snprintf(err, errlen, "queue %u buffers (%zu bytes): %s", q_id, q->bufs_len,
			 strerror(errno));
		free_queue(q);
		return NULL;
	}
	/*
	 * Locked as they are first touched: a page fault on an I/O buffer
	 * under memory pressure could wait on writeback through this very
	 * device. ONFAULT: a deep queue does not pin memory it never uses.
	 */
	if (mlock2(q->bufs, q->bufs_len, MLOCK_ONFAULT) < 0)
		log_warn("tenant \"%s\" queue %u: cannot lock its %zu buffer bytes in memory: %s",
			 d->name, q_id, q->bufs_len, strerror(errno));
	for (unsigned tag = 0; tag < d->depth; tag++) {
		q->ios[tag].q = q;
		q->ios[tag].tag = (uint16_t)tag;
		q->ios[tag].buf = (char *)q->bufs + (size_t)tag * buf_bytes;
	}
	return q;
}

static void release_dev(struct ublk_dev *d)
{
	if (d->queues)
		for (unsigned i = 0; i < d->nr_queues; i++)
			free_queue(d->queues[i]);
	free(d->queues);
	if (d->char_fd >= 0)
		close(d->char_fd);
	free(d);
}

/* Stop, wait for the workers to let go, unmap, close, delete. */
static int teardown(struct ublk_ctrl *ctrl, struct ublk_workers *w, struct ublk_dev *d,
		    unsigned nr_attached, char *err, size_t errlen)
{
	int ret = ublk_ctrl_stop_dev(ctrl, (uint32_t)d->dev_id);

	if (ret < 0 && ret != -ENODEV) {
		snprintf(err, errlen, "STOP_DEV of ublk device %d: %s", d->dev_id,
			 strerror(-ret));
		return -1;
	}
	if (nr_attached && d->queues[0] && ublk_workers_wait(w, d->queues, nr_attached, false,
					     DETACH_TIMEOUT_MS) < 0) {
		/* DEL_DEV would block for good while the queues are mapped. */
		snprintf(err, errlen, "ublk device %d: queues still busy %d s after STOP_DEV",
			 d->dev_id, DETACH_TIMEOUT_MS / 1000);
		return -1;
	}
	for (unsigned i = 0; i < d->nr_queues; i++) {
		free_queue(d->queues[i]);
		d->queues[i] = NULL;
	}
	if (d->char_fd >= 0)
		close(d->char_fd);
	d->char_fd = -1;
	ret = ublk_ctrl_del_dev(ctrl, (uint32_t)d->dev_id);
	if (ret < 0 && ret != -ENODEV) {
		snprintf(err, errlen, "DEL_DEV of ublk device %d: %s", d->dev_id, strerror(-ret));
		return -1;
	}
	return 0;
}

static int rollback(struct ublk_ctrl *ctrl, struct ublk_workers *w,
		    const struct ublk_dev_config *cfg, struct ublk_dev *d, bool fault,
		    const char *why, struct ublk_dev **out, char *err, size_t errlen);

static int add_dev(struct ublk_ctrl *ctrl, const struct ublk_dev_config *cfg,
		   struct ublksrv_ctrl_dev_info *info, uint32_t max_io, char *err, size_t errlen)
{
	int ret;

	memset(info, 0, sizeof(*info));
	info->dev_id = (uint32_t)cfg->dev_id;
	info->nr_hw_queues = (uint16_t)cfg->queues;
	info->queue_depth = (uint16_t)cfg->depth;
	info->max_io_buf_bytes = max_io;
	info->flags = cfg->flags;
	ret = ublk_ctrl_add_dev(ctrl, info);
	if (ret == -EEXIST)
		snprintf(err, errlen, "ADD_DEV: ublk device id %d is already in use", cfg->dev_id);
	else if (ret < 0)
		snprintf(err, errlen, "ADD_DEV: %s", strerror(-ret));
	else if (info->nr_hw_queues != cfg->queues || info->queue_depth != cfg->depth)
		log_warn("tenant \"%s\": kernel granted %u queue(s) of depth %u (asked %u x %u)",
			 cfg->name, info->nr_hw_queues, info->queue_depth, cfg->queues,
			 cfg->depth);
	return ret;
}

/*
 * Open the device's char node, set up its queues and hand them to the
 * workers: FETCH must come from the thread that serves a queue, and
 * START_DEV / END_USER_RECOVERY wait for every tag's FETCH. d->attached
 * counts the queues given to workers, for the teardown.
 */
static int serve_queues(struct ublk_dev *d, struct ublk_workers *w,
			const struct ublk_dev_config *cfg, uint32_t max_io_buf_bytes, char *why,
			size_t len)
{
	d->char_fd = open_char_dev(d->dev_id);
	if (d->char_fd < 0) {
		snprintf(why, len, "open /dev/ublkc%d: %s", d->dev_id, strerror(-d->char_fd));
		return -1;
	}
	for (unsigned q = 0; q < d->nr_queues; q++) {
		d->queues[q] = alloc_queue(d, cfg, q, max_io_buf_bytes, why, len);
		if (!d->queues[q])
			return -1;
	}
	for (d->attached = 0; d->attached < d->nr_queues; d->attached++)
		ublk_workers_attach(w, d->attached, d->queues[d->attached]);
	if (ublk_workers_wait(w, d->queues, d->nr_queues, true, ATTACH_TIMEOUT_MS) < 0) {
		snprintf(why, len, "workers did not take the queues within %d s",
			 ATTACH_TIMEOUT_MS / 1000);
		return -1;
	}
	return 0;
}

static void log_affinity(struct ublk_ctrl *ctrl, const struct ublk_dev *d)
{
	cpu_set_t cpus;

	if (log_get_level() < LOG_DEBUG)
		return;
	for (unsigned q = 0; q < d->nr_queues; q++) {
		char list[256] = "";
		size_t used = 0;

		if (ublk_ctrl_get_queue_affinity(ctrl, (uint32_t)d->dev_id, (uint16_t)q, &cpus))
			continue;
		for (int cpu = 0; cpu < CPU_SETSIZE && used < sizeof(list) - 8; cpu++)
			if (CPU_ISSET(cpu, &cpus))
				used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%d",
							 used ? "," : "", cpu);
		log_debug("tenant \"%s\": ublk queue %u serves CPUs %s", d->name, q, list);
	}
}

int ublk_dev_create(struct ublk_ctrl *ctrl, struct ublk_workers *w,
		    const struct ublk_dev_config *cfg, struct ublk_dev **out,
		    char *err, size_t errlen)
{
	uint32_t max_io = cfg->be->max_io_bytes;
	struct ublksrv_ctrl_dev_info info;
	struct ublk_params params;
	struct ublk_dev *d;
	bool fault = false;
	char why[256];
	int ret;

	if (cfg->queues > ublk_workers_count(w)) {
		snprintf(err, errlen, "%u queues asked but the daemon runs %u worker(s)",
			 cfg->queues, ublk_workers_count(w));
		return -1;
	}
	/* Before ADD_DEV: from then on every failure goes through the rollback. */
	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (add_dev(ctrl, cfg, &info, max_io, err, errlen) < 0) {
		free(d);
		return -1;
	}
	snprintf(d->name, sizeof(d->name), "%s", cfg->name);
	d->dev_id = (int)info.dev_id;
	d->char_fd = -1;
	d->pool = w;
	d->nr_queues = info.nr_hw_queues;
	d->depth = info.queue_depth;
	d->flags = info.flags;
	d->queues = calloc(d->nr_queues, sizeof(*d->queues));
	if (!d->queues) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	fill_params(&params, cfg, info.max_io_buf_bytes);
	ret = ublk_ctrl_set_params(ctrl, info.dev_id, &params);
	if (ret < 0) {
		snprintf(why, sizeof(why), "SET_PARAMS: %s", strerror(-ret));
		goto fail;
	}
	if (serve_queues(d, w, cfg, info.max_io_buf_bytes, why, sizeof(why)) < 0)
		goto fail;
	log_affinity(ctrl, d);
	fault = fault_fires(cfg->name);
	ret = fault ? -EIO : ublk_ctrl_start_dev(ctrl, info.dev_id, getpid());
	if (ret < 0) {
		snprintf(why, sizeof(why), "START_DEV: %s%s", strerror(-ret),
			 fault ? " (test hook)" : "");
		goto fail;
	}
	*out = d;
	return 0;
fail:
	return rollback(ctrl, w, cfg, d, fault, why, out, err, errlen);
}

/*
 * START_USER_RECOVERY is refused with EBUSY until the dying daemon's
 * /dev/ublkcN is closed and the kernel has quiesced the device.
 */
static int start_recovery(struct ublk_ctrl *ctrl, uint32_t dev_id)
{
	int ret, waited = 0;

	for (;;) {
		ret = ublk_ctrl_start_user_recovery(ctrl, dev_id);
		if (ret != -EBUSY || waited >= RECOVERY_START_TIMEOUT_MS)
			return ret;
		usleep(100000);
		waited += 100;
	}
}

int ublk_dev_reattach(struct ublk_ctrl *ctrl, struct ublk_workers *w,
		      const struct ublk_dev_config *cfg, const struct ublksrv_ctrl_dev_info *info,
		      struct ublk_dev **out, char *err, size_t errlen)
{
	struct ublk_dev *d;
	char why[256];
	int ret;

	if (info->nr_hw_queues > ublk_workers_count(w)) {
		snprintf(err, errlen, "ublk device %u has %u queues but the daemon runs %u "
			 "worker(s)", info->dev_id, info->nr_hw_queues, ublk_workers_count(w));
		ublk_dev_remove_stale(ctrl, info->dev_id);
		return -1;
	}
	d = calloc(1, sizeof(*d));
	if (d)
		d->queues = calloc(info->nr_hw_queues, sizeof(*d->queues));
	if (!d || !d->queues) {
		free(d);
		snprintf(err, errlen, "out of memory");
		ublk_dev_remove_stale(ctrl, info->dev_id);
		return -1;
	}
	snprintf(d->name, sizeof(d->name), "%s", cfg->name);
	d->dev_id = (int)info->dev_id;
	d->char_fd = -1;
	d->pool = w;
	d->nr_queues = info->nr_hw_queues;
	d->depth = info->queue_depth;
	d->flags = info->flags;
	ret = start_recovery(ctrl, info->dev_id);
	if (ret == -EBUSY) {
		/* Someone still holds it (another daemon?): never delete it under them. */
		snprintf(err, errlen, "ublk device %d: START_USER_RECOVERY: %s (its "
			 "/dev/ublkc%d is still open)", d->dev_id, strerror(-ret), d->dev_id);
		release_dev(d);
		return -EBUSY;
	}
	if (ret < 0) {
		snprintf(err, errlen, "ublk device %d: START_USER_RECOVERY: %s", d->dev_id,
			 strerror(-ret));
		release_dev(d);
		ublk_dev_remove_stale(ctrl, info->dev_id);
		return -1;
	}
	if (serve_queues(d, w, cfg, info->max_io_buf_bytes, why, sizeof(why)) < 0)
		goto fail;
	ret = ublk_ctrl_end_user_recovery(ctrl, info->dev_id, getpid());
	if (ret < 0) {
		snprintf(why, sizeof(why), "END_USER_RECOVERY: %s", strerror(-ret));
		goto fail;
	}
	*out = d;
	return 0;
fail:
	return rollback(ctrl, w, cfg, d, false, why, out, err, errlen);
}

/*
 * A create or reattach failed at `why`: delete the device again, report.
 * If that fails too, the device may still serve its extent through the
 * caller's gate and router: it is handed back (*out) as stuck, for
 * ublk_dev_destroy to try again, and never freed under the kernel.
 */
static int rollback(struct ublk_ctrl *ctrl, struct ublk_workers *w,
		    const struct ublk_dev_config *cfg, struct ublk_dev *d, bool fault,
		    const char *why, struct ublk_dev **out, char *err, size_t errlen)
{
	char how[256];

	if (fault)
		snprintf(how, sizeof(how), "STOP_DEV of ublk device %d: refused (test hook)",
			 d->dev_id);
	if (fault || teardown(ctrl, w, d, d->attached, how, sizeof(how)) < 0) {
		log_err("tenant \"%s\": rollback failed: %s", cfg->name, how);
		snprintf(err, errlen, "ublk device %d: %s; deleting it again failed: %s", d->dev_id,
			 why, how);
		*out = d;
		return UBLK_DEV_STUCK;
	}
	snprintf(err, errlen, "ublk device %d: %s", d->dev_id, why);
	release_dev(d);
	return -1;
}

int ublk_dev_destroy(struct ublk_ctrl *ctrl, struct ublk_dev *d, char *err, size_t errlen)
{
	if (teardown(ctrl, d->pool, d, d->attached, err, errlen) < 0)
		return -1;
	release_dev(d);
	return 0;
}

int ublk_dev_remove_stale(struct ublk_ctrl *ctrl, uint32_t dev_id)
{
	struct ublksrv_ctrl_dev_info info;
	int ret = ublk_ctrl_get_dev_info(ctrl, dev_id, &info);

	if (ret < 0)
		return ret;
	log_warn("ublk device %u (%s) is left over from an earlier daemon; deleting it",
		 dev_id, ublk_state_name(info.state));
	ret = ublk_ctrl_stop_dev(ctrl, dev_id);
	if (ret < 0 && ret != -ENODEV)
		return ret;
	ret = ublk_ctrl_del_dev(ctrl, dev_id);
	return ret == -ENODEV ? 0 : ret;
}
