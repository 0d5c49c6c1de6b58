/* SPDX-License-Identifier: MIT */
/* libnvme first: it carries its own copy of the kernel's nvme_ioctl.h. */
#include <libnvme.h>

#include "backend/nvme/discover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define LIBNVME_LOG_ERR 3 /* syslog's LOG_ERR; <syslog.h> clashes with common/log.h */

/* s starts with one or more digits; returns the first non-digit. */
static const char *skip_digits(const char *s)
{
	const char *p = s;

	while (*p >= '0' && *p <= '9')
		p++;
	return p == s ? NULL : p;
}

/* "<prefix>XnY" with X and Y decimal numbers, nothing after. */
static bool is_ns_form(const char *dev, const char *prefix)
{
	size_t plen = strlen(prefix);
	const char *p;

	if (strncmp(dev, prefix, plen) != 0)
		return false;
	p = skip_digits(dev + plen);
	if (!p || *p != 'n')
		return false;
	p = skip_digits(p + 1);
	return p && *p == '\0';
}

int nvme_ns_name_from_dev(const char *dev, char *ns, size_t len)
{
	int n;

	if (is_ns_form(dev, "nvme"))
		n = snprintf(ns, len, "%s", dev);
	else if (is_ns_form(dev, "ng"))
		n = snprintf(ns, len, "nvme%s", dev + 2);
	else
		return -1;
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int ns_path(const char *ns, const char *prefix, char *out, size_t len)
{
	int n;

	if (!is_ns_form(ns, "nvme"))
		return -1;
	n = snprintf(out, len, "/dev/%s%s", prefix, ns + 4);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int nvme_generic_path(const char *ns, char *out, size_t len)
{
	return ns_path(ns, "ng", out, len);
}

int nvme_block_path(const char *ns, char *out, size_t len)
{
	return ns_path(ns, "nvme", out, len);
}

int nvme_parse_sysfs_u64(const char *text, uint64_t *out)
{
	const char *p = skip_digits(text);
	uint64_t v = 0;

	if (!p || (*p && strcmp(p, "\n") != 0))
		return -1;
	for (const char *d = text; d < p; d++) {
		if (v > (UINT64_MAX - (uint64_t)(*d - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*d - '0');
	}
	*out = v;
	return 0;
}

uint32_t nvme_max_transfer(uint64_t max_hw_sectors_kb, uint64_t max_segments,
			   uint32_t page_size)
{
	uint64_t bytes = max_hw_sectors_kb << 10;

	if (max_segments && max_segments * page_size < bytes)
		bytes = max_segments * page_size;
	return bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
}

bool nvme_mq_entry_is_queue(const char *name)
{
	const char *p = skip_digits(name);

	return p && *p == '\0';
}

int nvme_path_namespace(const char *path, char *ns, size_t len)
{
	char link[64], target[PATH_MAX];
	const char *base;
	struct stat st;
	ssize_t n;

	if (stat(path, &st) < 0 || (!S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode)))
		return 0;
	snprintf(link, sizeof(link), "/sys/dev/%s/%u:%u", S_ISBLK(st.st_mode) ? "block" : "char",
		 major(st.st_rdev), minor(st.st_rdev));
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	/* A block device must be the namespace itself, a char device its generic node. */
	if (S_ISBLK(st.st_mode) ? !is_ns_form(base, "nvme") : !is_ns_form(base, "ng"))
		return 0;
	return nvme_ns_name_from_dev(base, ns, len) == 0;
}

int nvme_read_sysfs_u64(const char *path, uint64_t *out)
{
	char text[32];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -1;
	text[n] = '\0';
	if (nvme_parse_sysfs_u64(text, out) < 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static unsigned count_hw_queues(const char *ns)
{
	char path[96];
	struct dirent *de;
	unsigned nr = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/block/%s/mq", ns);
	dir = opendir(path);
	if (!dir)
		return 0; /* a multipath head has no queues of its own */
	while ((de = readdir(dir)))
		nr += nvme_mq_entry_is_queue(de->d_name);
	closedir(dir);
	return nr;
}

static bool subsys_has_ctrl(nvme_subsystem_t s, const char *name)
{
	nvme_ctrl_t c;

	nvme_subsystem_for_each_ctrl(s, c)
		if (strcmp(nvme_ctrl_get_name(c), name) == 0)
			return true;
	return false;
}

/* By the namespace's name, or (ns_name NULL) by controller + nsid. */
static bool ns_matches(nvme_ns_t n, const struct conf_backend *cb, const char *ns_name)
{
	if (ns_name)
		return strcmp(nvme_ns_get_name(n), ns_name) == 0;
	return (unsigned)nvme_ns_get_nsid(n) == cb->nsid;
}

static nvme_ns_t find_in_subsystem(nvme_subsystem_t s, const struct conf_backend *cb,
				   const char *ns_name, char ctrl[NVME_NAME_MAX],
				   bool *ctrl_seen)
{
	nvme_ctrl_t c;
	nvme_ns_t n;

	nvme_subsystem_for_each_ctrl(s, c) {
		if (!ns_name && strcmp(nvme_ctrl_get_name(c), cb->controller) != 0)
			continue;
		*ctrl_seen = true;
		snprintf(ctrl, NVME_NAME_MAX, "%s", nvme_ctrl_get_name(c));
		nvme_ctrl_for_each_ns(c, n)
			if (ns_matches(n, cb, ns_name))
				return n;
	}
	/* Multipath: the namespace hangs off the subsystem, not a controller. */
	if (!ns_name && !subsys_has_ctrl(s, cb->controller))
		return NULL;
	nvme_subsystem_for_each_ns(s, n) {
		if (!ns_matches(n, cb, ns_name))
			continue;
		if (ns_name) {
			c = nvme_subsystem_first_ctrl(s);
			snprintf(ctrl, NVME_NAME_MAX, "%s", c ? nvme_ctrl_get_name(c) : "?");
		}
		return n;
	}
	return NULL;
}

static nvme_ns_t find_ns(nvme_root_t r, const struct conf_backend *cb, const char *ns_name,
			 char ctrl[NVME_NAME_MAX], bool *ctrl_seen)
{
	nvme_subsystem_t s;
	nvme_host_t h;
	nvme_ns_t n;

	nvme_for_each_host(r, h) {
		nvme_for_each_subsystem(h, s) {
			n = find_in_subsystem(s, cb, ns_name, ctrl, ctrl_seen);
			if (n)
				return n;
		}
	}
	return NULL;
}

static void not_found(const struct conf_backend *cb, const char *ns_name, bool ctrl_seen,
		      char *err, size_t errlen)
{
	if (ns_name)
		snprintf(err, errlen, "backend \"%s\": libnvme does not list namespace %s of %s "
			 "(check `nvme list`, or use type = \"file\")", cb->name, ns_name, cb->path);
	else if (!ctrl_seen)
		snprintf(err, errlen, "backend \"%s\": no NVMe controller %s (see `nvme list` "
			 "or /sys/class/nvme)", cb->name, cb->controller);
	else
		snprintf(err, errlen, "backend \"%s\": controller %s has no namespace %u "
			 "(see `nvme list-ns /dev/%s`)", cb->name, cb->controller, cb->nsid,
			 cb->controller);
}

static void fill_from_ns(nvme_ns_t n, struct nvme_ns_info *out)
{
	const char *gen = nvme_ns_get_generic_name(n);
	struct nvme_id_ns id;

	snprintf(out->ns, sizeof(out->ns), "%s", nvme_ns_get_name(n));
	out->nsid = (uint32_t)nvme_ns_get_nsid(n);
	out->lba_size = (uint32_t)nvme_ns_get_lba_size(n);
	out->meta_size = (uint32_t)nvme_ns_get_meta_size(n);
	out->lba_count = nvme_ns_get_lba_count(n);
	if (gen && *gen)
		snprintf(out->generic_path, sizeof(out->generic_path), "%s%s",
			 gen[0] == '/' ? "" : "/dev/", gen);
	else if (nvme_generic_path(out->ns, out->generic_path, sizeof(out->generic_path)) < 0)
		out->generic_path[0] = '\0';
	/* What a deallocated block reads back as; unknown: nothing is promised. */
	if (nvme_ns_identify(n, &id) == 0)
		out->dlfeat = id.dlfeat;
}

/* Look the namespace up in libnvme's view of the topology. */
static int lookup(const struct conf_backend *cb, const char *ns_name, struct nvme_ns_info *out,
		  char *err, size_t errlen)
{
	nvme_root_t r = nvme_create_root(stderr, LIBNVME_LOG_ERR);
	bool ctrl_seen = false;
	nvme_ns_t n;
	int ret = -1;

	if (!r) {
		snprintf(err, errlen, "backend \"%s\": libnvme: %s", cb->name, strerror(errno));
		return -1;
	}
	if (nvme_scan_topology(r, NULL, NULL) < 0) {
		snprintf(err, errlen, "backend \"%s\": cannot scan NVMe devices: %s (is sysfs "
			 "mounted? are you root?)", cb->name, strerror(errno));
		goto out;
	}
	n = find_ns(r, cb, ns_name, out->ctrl, &ctrl_seen);
	if (!n) {
		not_found(cb, ns_name, ctrl_seen, err, errlen);
		goto out;
	}
	fill_from_ns(n, out);
	ret = 0;
out:
	nvme_free_tree(r);
	return ret;
}

int nvme_ns_of_controller(const struct conf_backend *cb, char *ns, size_t len, char *err,
			  size_t errlen)
{
	struct nvme_ns_info info = { 0 };

	if (lookup(cb, NULL, &info, err, errlen) < 0)
		return -1;
	snprintf(ns, len, "%s", info.ns);
	return 0;
}

static int check_format(const struct conf_backend *cb, const struct nvme_ns_info *ns, char *err,
			size_t errlen)
{
	if (ns->meta_size) {
		snprintf(err, errlen, "backend \"%s\": namespace %s uses %u bytes of metadata per "
			 "block; ddublk needs a format without metadata (nvme format --lbaf=...)",
			 cb->name, ns->ns, ns->meta_size);
		return -1;
	}
	if (ns->lba_size < 512 || (ns->lba_size & (ns->lba_size - 1)) || !ns->lba_count) {
		snprintf(err, errlen, "backend \"%s\": namespace %s reports %u-byte blocks and "
			 "%llu blocks; is it formatted and attached (nvme id-ns)?", cb->name,
			 ns->ns, ns->lba_size, (unsigned long long)ns->lba_count);
		return -1;
	}
	if (!ns->generic_path[0]) {
		snprintf(err, errlen, "backend \"%s\": namespace %s has no generic char device "
			 "(/dev/ngXnY needs Linux 5.13 or newer)", cb->name, ns->ns);
		return -1;
	}
	return 0;
}

static int read_queue_attr(const struct conf_backend *cb, const struct nvme_ns_info *ns,
			   const char *attr, uint64_t *out, char *err, size_t errlen)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/block/%s/queue/%s", ns->ns, attr);
	if (nvme_read_sysfs_u64(path, out) == 0)
		return 0;
	snprintf(err, errlen, "backend \"%s\": cannot read %s: %s (is the namespace's block "
		 "device present?)", cb->name, path, strerror(errno));
	return -1;
}

/* The block layer's view of the transfer limit already folds in MDTS. */
static int read_limits(const struct conf_backend *cb, struct nvme_ns_info *ns, char *err,
		       size_t errlen)
{
	uint64_t kb, segs;
	long page = sysconf(_SC_PAGESIZE);

	if (read_queue_attr(cb, ns, "max_hw_sectors_kb", &kb, err, errlen) < 0 ||
	    read_queue_attr(cb, ns, "max_segments", &segs, err, errlen) < 0)
		return -1;
	ns->max_transfer = nvme_max_transfer(kb, segs, page > 0 ? (uint32_t)page : 4096);
	if (ns->max_transfer < ns->lba_size || ns->max_transfer % ns->lba_size) {
		snprintf(err, errlen, "backend \"%s\": namespace %s allows %u bytes per command "
			 "(max_hw_sectors_kb %llu, max_segments %llu), not whole %u-byte blocks",
			 cb->name, ns->ns, ns->max_transfer, (unsigned long long)kb,
			 (unsigned long long)segs, ns->lba_size);
		return -1;
	}
	ns->nr_io_queues = count_hw_queues(ns->ns);
	/* The driver's view of DMRSL/DMRL; a namespace without DSM shows 0. */
	if (read_queue_attr(cb, ns, "discard_max_hw_bytes", &ns->max_discard_bytes, err,
			    errlen) < 0 ||
	    read_queue_attr(cb, ns, "max_discard_segments", &segs, err, errlen) < 0)
		return -1;
	ns->max_discard_ranges = segs > 256 ? 256 : (unsigned)segs;
	return 0;
}

int nvme_discover(const struct conf_backend *cb, struct nvme_ns_info *out, char *err,
		  size_t errlen)
{
	struct nvme_ns_info ns = { 0 };
	char name[NVME_NAME_MAX];
	const char *by_name = NULL;

	if (!cb->controller[0]) {
		if (nvme_path_namespace(cb->path, name, sizeof(name)) != 1) {
			snprintf(err, errlen, "backend \"%s\": %s is not an NVMe namespace "
				 "(/dev/nvmeXnY or /dev/ngXnY); use type = \"file\" or \"auto\" "
				 "for other files and devices", cb->name, cb->path);
			return -1;
		}
		by_name = name;
	}
	if (lookup(cb, by_name, &ns, err, errlen) < 0 || check_format(cb, &ns, err, errlen) < 0 ||
	    read_limits(cb, &ns, err, errlen) < 0)
		return -1;
	*out = ns;
	return 0;
}
