/* SPDX-License-Identifier: MIT */
/*
 * Who uses a tenant's block device: mounts (in any mount namespace),
 * processes with it open, stacked devices and loop devices on it. Asked
 * before a device is taken away (ublk-ctl del, a forced reload), so that
 * a mounted file system is never yanked without --force.
 *
 * ddublkd runs in its own mount namespace without tenant mounts, so its
 * own mountinfo shows none: the host's view is read through /proc/PID of
 * other processes, one per mount namespace. Device numbers, not paths,
 * are compared: they are the same in every namespace.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/mountinfo.h"
#include "daemon/daemon.h"

/* Openers that come and go by themselves (udev probing a new disk). */
#define SETTLE_TRIES 10
#define SETTLE_STEP_US 100000

struct holders {
	dev_t dev;
	char *out;
	size_t len;
	bool found;
	ino_t *ns; /* mount namespaces already read */
	size_t nr_ns;
};

static void add(struct holders *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct holders *h, const char *fmt, ...)
{
	size_t n = strnlen(h->out, h->len);
	va_list ap;

	if (h->found && n + 2 < h->len) {
		memcpy(h->out + n, "; ", 3);
		n += 2;
	}
	h->found = true;
	if (n + 1 >= h->len)
		return;
	va_start(ap, fmt);
	vsnprintf(h->out + n, h->len - n, fmt, ap);
	va_end(ap);
}

static bool is_pid(const char *name)
{
	for (const char *p = name; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return name[0] != '\0';
}

/* The mounts of h->dev in pid's mount namespace, unless that one was read. */
static void scan_mounts(struct holders *h, int pid)
{
	char path[64], line[8192], target[4096];
	struct stat st;
	ino_t *grown;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", pid);
	if (stat(path, &st) < 0)
		return;
	for (size_t i = 0; i < h->nr_ns; i++)
		if (h->ns[i] == st.st_ino)
			return;
	grown = realloc(h->ns, (h->nr_ns + 1) * sizeof(*grown));
	if (!grown)
		return;
	h->ns = grown;
	h->ns[h->nr_ns++] = st.st_ino;
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (mountinfo_dev_match(line, major(h->dev), minor(h->dev), target,
					sizeof(target))) {
			if (pid == 1)
				add(h, "mounted at %s", target);
			else
				add(h, "mounted at %s (mount namespace of pid %d)", target, pid);
		}
	fclose(f);
}

/* pid's open files: one entry for the process, however many it has. */
static void scan_fds(struct holders *h, int pid)
{
	char path[64], comm[64] = "?";
	struct dirent *e;
	struct stat st;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((e = readdir(dir)) != NULL) {
		/* Follows the link to the file itself, whatever namespace named it. */
		if (!is_pid(e->d_name) || fstatat(dirfd(dir), e->d_name, &st, 0) < 0 ||
		    !S_ISBLK(st.st_mode) || st.st_rdev != h->dev)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "re");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
		add(h, "opened by pid %d (%s)", pid, comm);
		break;
	}
	closedir(dir);
}

static void scan_processes(struct holders *h)
{
	struct dirent *e;
	DIR *proc;
	int pid;

	/* pid 1 first: its namespace is the host's, named without a pid. */
	scan_mounts(h, 1);
	proc = opendir("/proc");
	if (!proc)
		return;
	while ((e = readdir(proc)) != NULL) {
		if (!is_pid(e->d_name) || strlen(e->d_name) > 9)
			continue;
		pid = atoi(e->d_name);
		if (pid == (int)getpid())
			continue;
		scan_mounts(h, pid);
		scan_fds(h, pid);
	}
	closedir(proc);
}

/* Devices stacked on it (device-mapper, md) and loop devices backed by it. */
static void scan_stacked(struct holders *h, const char *disk)
{
	char path[600], line[512];
	struct dirent *e;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/block/%s/holders", disk);
	dir = opendir(path);
	if (dir) {
		while ((e = readdir(dir)) != NULL)
			if (e->d_name[0] != '.')
				add(h, "used by /dev/%s", e->d_name);
		closedir(dir);
	}
	dir = opendir("/sys/block");
	if (!dir)
		return;
	while ((e = readdir(dir)) != NULL) {
		if (strncmp(e->d_name, "loop", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "/dev/", 5) == 0 && strcmp(line + 5, disk) == 0)
				add(h, "backs /dev/%s", e->d_name);
		}
		fclose(f);
	}
	closedir(dir);
}

/* Held although nothing above names it: the kernel refuses an exclusive open. */
static void try_exclusive(struct holders *h, const char *disk)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/%s", disk);
	fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	else if (errno == EBUSY)
		add(h, "held exclusively (swap, RAID, or a mount no process can see)");
}

static bool scan(dev_t dev, const char *disk, char *out, size_t len)
{
	struct holders h = { .dev = dev, .out = out, .len = len };

	out[0] = '\0';
	scan_processes(&h);
	scan_stacked(&h, disk);
	if (!h.found)
		try_exclusive(&h, disk);
	free(h.ns);
	return h.found;
}

bool ublk_disk_holders(int dev_id, char *out, size_t len)
{
	char disk[32], path[96], num[32] = "";
	unsigned ma, mi;
	bool held = false;
	FILE *f;

	if (!len)
		return false;
	out[0] = '\0';
	snprintf(disk, sizeof(disk), "ublkb%d", dev_id);
	snprintf(path, sizeof(path), "/sys/block/%s/dev", disk);
	f = fopen(path, "re");
	if (!f)
		return false; /* no disk (never started, or gone): nobody can hold it */
	if (!fgets(num, sizeof(num), f) || sscanf(num, "%u:%u", &ma, &mi) != 2) {
		fclose(f);
		return false;
	}
	fclose(f);
	for (int i = 0; i < SETTLE_TRIES; i++) {
		held = scan(makedev(ma, mi), disk, out, len);
		if (!held)
			break;
		usleep(SETTLE_STEP_US);
	}
	return held;
}
