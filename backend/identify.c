/* SPDX-License-Identifier: MIT */
#include "backend/identify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mountinfo.h"
#include "backend/nvme/discover.h"

/* Copy s into buf[len], cut if need be (kernel names fit; a cut one does not match). */
static void copy_name(char *buf, size_t len, const char *s)
{
	size_t n = strnlen(s, len - 1);

	memcpy(buf, s, n);
	buf[n] = '\0';
}

/* The kernel's name of block device ma:mi ("nvme0n1p1"), or false. */
static bool block_name(unsigned ma, unsigned mi, char *name, size_t len)
{
	char link[64], target[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", ma, mi);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	base = strrchr(target, '/');
	copy_name(name, len, base ? base + 1 : target);
	return true;
}

/* "259:0\n" from a sysfs dev attribute. */
static bool read_devno(const char *path, unsigned *ma, unsigned *mi)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fscanf(f, "%u:%u", ma, mi) == 2;
	fclose(f);
	return ok;
}

/* The whole disk of block device ma:mi: itself, or a partition's parent. */
static void whole_disk(unsigned ma, unsigned mi, unsigned *dma, unsigned *dmi)
{
	char path[96];

	*dma = ma;
	*dmi = mi;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", ma, mi);
	if (access(path, F_OK) != 0)
		return;
	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", ma, mi);
	if (!read_devno(path, dma, dmi)) {
		*dma = ma;
		*dmi = mi;
	}
}

static void find_holder(struct backend_id *id)
{
	char path[96];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/holders", id->rdev_major,
		 id->rdev_minor);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.') {
			copy_name(id->holder, sizeof(id->holder), de->d_name);
			break;
		}
	closedir(dir);
}

/* The device itself or a partition of it mounted somewhere (in our mount namespace). */
static void find_mount(struct backend_id *id)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], target[256];
	unsigned ma, mi, dma, dmi;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!mountinfo_devno(line, &ma, &mi, target, sizeof(target)) || ma == 0)
			continue;
		if (ma != id->rdev_major || mi != id->rdev_minor) {
			whole_disk(ma, mi, &dma, &dmi);
			if (dma != id->rdev_major || dmi != id->rdev_minor ||
			    (dma == ma && dmi == mi))
				continue;
		}
		snprintf(id->mounted, sizeof(id->mounted), "%s", target);
		snprintf(id->mounted_dev, sizeof(id->mounted_dev), "%u:%u", ma, mi);
		break;
	}
	fclose(f);
}

/* A block device backend (an NVMe namespace's included): what sysfs and mounts say. */
static void inspect_block(struct backend_id *id)
{
	char name[64];

	if (block_name(id->rdev_major, id->rdev_minor, name, sizeof(name)) &&
	    strncmp(name, "ublkb", 5) == 0)
		copy_name(id->ublk, sizeof(id->ublk), name);
	whole_disk(id->rdev_major, id->rdev_minor, &id->disk_major, &id->disk_minor);
	find_holder(id);
	find_mount(id);
}

static void identify_nvme(struct backend_id *id, const char *ns)
{
	char path[96];

	id->kind = BACKEND_ID_NVME;
	snprintf(id->nvme_ns, sizeof(id->nvme_ns), "%s", ns);
	snprintf(path, sizeof(path), "/sys/block/%s/dev", ns);
	if (read_devno(path, &id->rdev_major, &id->rdev_minor))
		inspect_block(id);
}

/* A file the daemon will create (backends[].size): its absolute path. */
static void identify_new_file(struct backend_id *id, const char *path)
{
	char *copy = strdup(path), *dir, real[PATH_MAX];
	const char *base;

	if (!copy)
		return;
	dir = dirname(copy);
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (realpath(dir, real) && strlen(real) + 1 + strlen(base) < sizeof(id->path)) {
		id->kind = BACKEND_ID_NEW_FILE;
		strcpy(id->path, strcmp(real, "/") ? real : "");
		strcat(id->path, "/");
		strcat(id->path, base);
	}
	free(copy);
}

void backend_identify(const struct conf_backend *cb, struct backend_id *id)
{
	char ns[NVME_NAME_MAX], err[256], name[64];
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (cb->type == CONF_BACKEND_NULL)
		return; /* no storage: nothing to share, nothing to claim */
	if (cb->controller[0]) {
		if (nvme_ns_of_controller(cb, ns, sizeof(ns), err, sizeof(err)) == 0)
			identify_nvme(id, ns);
		return;
	}
	if (stat(cb->path, &st) < 0) {
		if (errno == ENOENT && cb->size)
			identify_new_file(id, cb->path);
		return;
	}
	if (nvme_path_namespace(cb->path, ns, sizeof(ns)) == 1) {
		identify_nvme(id, ns);
	} else if (S_ISBLK(st.st_mode)) {
		id->kind = BACKEND_ID_BLOCK;
		id->rdev_major = major(st.st_rdev);
		id->rdev_minor = minor(st.st_rdev);
		inspect_block(id);
	} else if (S_ISREG(st.st_mode)) {
		id->kind = BACKEND_ID_FILE;
		id->st_dev = st.st_dev;
		id->st_ino = st.st_ino;
		/* a backend file on a tenant's file system: ddublkd would serve itself */
		if (block_name(major(st.st_dev), minor(st.st_dev), name, sizeof(name)) &&
		    strncmp(name, "ublkb", 5) == 0)
			copy_name(id->ublk, sizeof(id->ublk), name);
	}
}

void backends_identify(const struct conf *c, struct backend_id *ids)
{
	for (size_t i = 0; i < c->nr_backends; i++)
		backend_identify(&c->backends[i], &ids[i]);
}

/* Who holds lock file fd, from the pid written into it: "pid 812" or "another process". */
static void lock_holder(int fd, char *buf, size_t len)
{
	char text[32] = "";
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	long pid = n > 0 ? strtol(text, NULL, 10) : 0;

	if (pid > 0)
		snprintf(buf, len, "pid %ld", pid);
	else
		snprintf(buf, len, "another process");
}

/* flock fd for good, or say who has it. */
static int lock_fd(const struct conf_backend *cb, const char *what, const char *file, int fd,
		   bool write_pid, char *err, size_t errlen)
{
	char who[48], pid[24];
	int n;

	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
		/* only a hint for the message below, in another daemon */
		if (write_pid && (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n))
			log_debug("backend \"%s\": cannot write the pid into %s", cb->name, file);
		return 0;
	}
	if (errno != EWOULDBLOCK) {
		snprintf(err, errlen, "backend \"%s\": cannot lock %s: %s", cb->name, file,
			 strerror(errno));
		return -1;
	}
	if (write_pid)
		lock_holder(fd, who, sizeof(who));
	else
		snprintf(who, sizeof(who), "another process");
	snprintf(err, errlen, "backend \"%s\": %s is in use: %s holds the lock on %s (another "
		 "ddublkd serving it?); nothing on it was read or changed", cb->name, what, who,
		 file);
	return -1;
}

static int claim_lock_file(const struct conf_backend *cb, const struct backend_id *id,
			   const char *what, int *fd, char *err, size_t errlen)
{
	char file[128];

	if (id->kind == BACKEND_ID_NVME)
		snprintf(file, sizeof(file), "%s/backend-%s.lock", BACKEND_LOCK_DIR, id->nvme_ns);
	else
		snprintf(file, sizeof(file), "%s/backend-block-%u:%u.lock", BACKEND_LOCK_DIR,
			 id->rdev_major, id->rdev_minor);
	if (mkdir(BACKEND_LOCK_DIR, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "backend \"%s\": cannot create %s for its lock: %s",
			 cb->name, BACKEND_LOCK_DIR, strerror(errno));
		return -1;
	}
	*fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (*fd < 0) {
		snprintf(err, errlen, "backend \"%s\": cannot open its lock %s: %s", cb->name, file,
			 strerror(errno));
		return -1;
	}
	return lock_fd(cb, what, file, *fd, true, err, errlen);
}

/* O_EXCL on the block device: refused while it is mounted, held or claimed elsewhere. */
static int claim_block(const struct conf_backend *cb, const struct backend_id *id, int *fd,
		       char *err, size_t errlen)
{
	char node[64];
	const char *path = node;

	if (id->kind == BACKEND_ID_NVME) {
		if (nvme_block_path(id->nvme_ns, node, sizeof(node)) < 0)
			return 0;
	} else {
		path = cb->path;
	}
	*fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	/* a namespace without a block device (an unsupported format): the lock file does */
	if (errno == ENOENT && id->kind == BACKEND_ID_NVME)
		return 0;
	snprintf(err, errlen, "backend \"%s\": cannot open %s exclusively: %s%s", cb->name, path,
		 strerror(errno), errno == EBUSY ? " (it is mounted, held by device-mapper or "
		 "md, or served by another ddublkd)" : "");
	return -1;
}

int backend_claim(const struct conf_backend *cb, const struct backend_id *id, int fds[2],
		  char *err, size_t errlen)
{
	char what[PATH_MAX + 64];
	int ret = 0;

	fds[0] = fds[1] = -1;
	backend_id_describe(id, what, sizeof(what));
	switch (id->kind) {
	case BACKEND_ID_NVME:
	case BACKEND_ID_BLOCK:
		ret = claim_lock_file(cb, id, what, &fds[0], err, errlen);
		if (ret == 0)
			ret = claim_block(cb, id, &fds[1], err, errlen);
		break;
	case BACKEND_ID_FILE:
	case BACKEND_ID_NEW_FILE:
		/* the file itself: any path or hard link to it meets the same lock */
		fds[0] = open(cb->path, O_RDONLY | O_CLOEXEC | (cb->size ? O_CREAT : 0), 0600);
		if (fds[0] < 0) {
			snprintf(err, errlen, "backend \"%s\": cannot open %s: %s", cb->name,
				 cb->path, strerror(errno));
			ret = -1;
		} else {
			ret = lock_fd(cb, what, cb->path, fds[0], false, err, errlen);
		}
		break;
	default:
		break; /* not there: opening it says why */
	}
	if (ret < 0)
		backend_unclaim(fds);
	return ret;
}

void backend_unclaim(int fds[2])
{
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}
