/* SPDX-License-Identifier: MIT */
/* NQ discovery from sysfs and block debugfs (see discover.h). */
#include "router/discover.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/nvme/discover.h"
#include "router/cpulist.h"

#define TEXT_MAX 8192 /* a cpu_list of a few hundred CPUs */

int hctx_type_parse(const char *text)
{
	static const char *const names[] = { "default", "read", "poll" };

	for (int t = 0; t < 3; t++) {
		size_t n = strlen(names[t]);

		if (!strncmp(text, names[t], n) && (!text[n] || !strcmp(text + n, "\n")))
			return t;
	}
	return -1;
}

const char *hctx_type_name(enum hctx_type t)
{
	return t == HCTX_POLL ? "poll" : t == HCTX_READ ? "read" : "default";
}

void hctx_types_from_params(unsigned nr, unsigned poll_queues, unsigned write_queues,
			    enum hctx_type *types)
{
	unsigned poll = nr ? (poll_queues < nr - 1 ? poll_queues : nr - 1) : 0;
	unsigned irq = nr - poll, dflt = irq;

	if (irq > 1 && write_queues)
		dflt = write_queues >= irq ? irq - 1 : write_queues;
	for (unsigned i = 0; i < nr; i++)
		types[i] = i < dflt ? HCTX_DEFAULT : i < irq ? HCTX_READ : HCTX_POLL;
}

/* The whole of a small text file below root; -1 with errno if it cannot be read. */
static int read_text(const char *root, const char *path, char *buf, size_t len)
{
	char full[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(full, sizeof(full), "%s%s", root, path);
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static int read_u64(const char *root, const char *path, uint64_t *out)
{
	char full[PATH_MAX];

	snprintf(full, sizeof(full), "%s%s", root, path);
	return nvme_read_sysfs_u64(full, out);
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/* The hctx numbers under mq/, sorted. */
static int list_hctxs(const char *root, const char *ns, unsigned **out, unsigned *nr,
		      char *err, size_t errlen)
{
	char path[PATH_MAX];
	unsigned *idx = NULL, cap = 0, n = 0;
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/sys/block/%s/mq", root, ns);
	dir = opendir(path);
	if (!dir) {
		snprintf(err, errlen, "cannot list %s: %s", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(dir))) {
		if (!nvme_mq_entry_is_queue(de->d_name))
			continue;
		if (n == cap) {
			unsigned *grown = realloc(idx, (cap = cap ? 2 * cap : 64) * sizeof(*idx));

			if (!grown) {
				closedir(dir);
				free(idx);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			idx = grown;
		}
		idx[n++] = (unsigned)strtoul(de->d_name, NULL, 10);
	}
	closedir(dir);
	if (!n) {
		free(idx);
		snprintf(err, errlen, "%s lists no hardware queues", path);
		return -1;
	}
	qsort(idx, n, sizeof(*idx), cmp_unsigned);
	*out = idx;
	*nr = n;
	return 0;
}

/* debugfs's hctxN/type for every queue, or false if any is missing. */
static bool types_from_debugfs(const char *root, const char *ns, struct nq_list *l)
{
	for (unsigned i = 0; i < l->nr; i++) {
		char path[PATH_MAX], text[32];
		int t;

		snprintf(path, sizeof(path), "/sys/kernel/debug/block/%s/hctx%u/type", ns,
			 l->q[i].hctx);
		if (read_text(root, path, text, sizeof(text)) < 0 || (t = hctx_type_parse(text)) < 0)
			return false;
		l->q[i].type = (enum hctx_type)t;
	}
	return true;
}

static void types_from_module(const char *root, struct nq_list *l)
{
	uint64_t poll = 0, write = 0;
	enum hctx_type *types = calloc(l->nr, sizeof(*types));

	/* A missing parameter (nvme not built with it) means 0, the default. */
	read_u64(root, "/sys/module/nvme/parameters/poll_queues", &poll);
	read_u64(root, "/sys/module/nvme/parameters/write_queues", &write);
	if (!types)
		return; /* all DEFAULT: calloc'd q[] says so */
	hctx_types_from_params(l->nr, poll > UINT32_MAX ? UINT32_MAX : (unsigned)poll,
			       write > UINT32_MAX ? UINT32_MAX : (unsigned)write, types);
	for (unsigned i = 0; i < l->nr; i++)
		l->q[i].type = types[i];
	free(types);
}

/* The first CPU of set that allowed has too, or -1. */
static int first_allowed(const cpu_set_t *set, const cpu_set_t *allowed)
{
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, set) && CPU_ISSET(cpu, allowed))
			return cpu;
	return -1;
}

static int read_queue(const char *root, const char *ns, const cpu_set_t *allowed,
		      uint64_t nr_requests, struct nq_found *q, char *err, size_t errlen)
{
	char path[PATH_MAX], *text = malloc(TEXT_MAX);
	cpu_set_t cpus;
	uint64_t tags;

	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	CPU_ZERO(&cpus);
	snprintf(path, sizeof(path), "/sys/block/%s/mq/%u/cpu_list", ns, q->hctx);
	if (read_text(root, path, text, TEXT_MAX) < 0 || cpulist_parse(text, &cpus) < 0) {
		snprintf(err, errlen, "cannot read %s%s: %s", root, path,
			 errno ? strerror(errno) : "not a CPU list");
		free(text);
		return -1;
	}
	free(text);
	snprintf(path, sizeof(path), "/sys/block/%s/mq/%u/nr_tags", ns, q->hctx);
	if (read_u64(root, path, &tags) < 0 || !tags) {
		snprintf(err, errlen, "cannot read %s%s: %s", root, path,
			 errno ? strerror(errno) : "0 tags");
		return -1;
	}
	if (nr_requests && nr_requests < tags)
		tags = nr_requests; /* an I/O scheduler's tags are the tighter bound */
	q->depth = tags > 65536 ? 65536 : (unsigned)tags;
	q->cpu = q->type == HCTX_READ ? -1 : first_allowed(&cpus, allowed);
	nq_desc_init(&q->desc, q->type == HCTX_POLL ? NQ_POLL : NQ_DEFAULT, q->depth);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &cpus))
			nq_desc_add_cpu(&q->desc, (unsigned)cpu);
	return 0;
}

int nq_discover(const char *root, const char *ns, const cpu_set_t *allowed,
		struct nq_list *out, char *err, size_t errlen)
{
	struct nq_list l = { 0 };
	unsigned *idx;
	uint64_t nr_requests = 0;
	char path[PATH_MAX];

	errno = 0;
	if (list_hctxs(root, ns, &idx, &l.nr, err, errlen) < 0)
		return -1;
	l.q = calloc(l.nr, sizeof(*l.q));
	if (!l.q) {
		free(idx);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < l.nr; i++)
		l.q[i].hctx = idx[i];
	free(idx);
	l.types_from_debugfs = types_from_debugfs(root, ns, &l);
	if (!l.types_from_debugfs)
		types_from_module(root, &l);
	snprintf(path, sizeof(path), "/sys/block/%s/queue/nr_requests", ns);
	read_u64(root, path, &nr_requests);
	for (unsigned i = 0; i < l.nr; i++) {
		errno = 0;
		if (read_queue(root, ns, allowed, nr_requests, &l.q[i], err, errlen) < 0) {
			nq_list_free(&l);
			return -1;
		}
		l.nr_reachable += l.q[i].cpu >= 0;
	}
	*out = l;
	return 0;
}

void nq_list_free(struct nq_list *l)
{
	free(l->q);
	memset(l, 0, sizeof(*l));
}
