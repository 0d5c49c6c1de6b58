/* SPDX-License-Identifier: MIT */
/*
 * router/: CPU lists, hctx types, NQ discovery on a fake sysfs/debugfs
 * tree, and the lock-free inbox (one thread, then several producers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "router/cpulist.h"
#include "router/discover.h"
#include "router/inbox.h"

static void test_cpulist_parse(void **state)
{
	cpu_set_t s;

	(void)state;
	CPU_ZERO(&s);
	assert_int_equal(cpulist_parse("0, 1, 2\n", &s), 3);
	assert_true(CPU_ISSET(0, &s) && CPU_ISSET(1, &s) && CPU_ISSET(2, &s));
	assert_int_equal(CPU_COUNT(&s), 3);
	CPU_ZERO(&s);
	assert_int_equal(cpulist_parse("0-3,8,10-11", &s), 7);
	assert_true(CPU_ISSET(3, &s) && CPU_ISSET(8, &s) && CPU_ISSET(11, &s));
	assert_false(CPU_ISSET(9, &s));
	CPU_ZERO(&s);
	assert_int_equal(cpulist_parse("\n", &s), 0); /* an unmapped hctx */
	assert_int_equal(cpulist_parse("", &s), 0);
	assert_int_equal(CPU_COUNT(&s), 0);
	assert_int_equal(cpulist_parse("1,", &s), -1);
	assert_int_equal(cpulist_parse("3-1", &s), -1);
	assert_int_equal(cpulist_parse("a", &s), -1);
	assert_int_equal(cpulist_parse("1 2", &s), -1);
	assert_int_equal(cpulist_parse("99999", &s), -1);
	assert_int_equal(cpulist_parse("1\n\n", &s), -1);
}

static void test_cpulist_format(void **state)
{
	char buf[64], tiny[8];
	cpu_set_t s;

	(void)state;
	CPU_ZERO(&s);
	cpulist_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "");
	assert_int_equal(cpulist_parse("0-3,8,10-11,63", &s), 8);
	cpulist_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "0-3,8,10-11,63");
	cpulist_format(&s, tiny, sizeof(tiny));
	assert_string_equal(tiny, "0-3,...");
}

static void test_hctx_type_parse(void **state)
{
	(void)state;
	assert_int_equal(hctx_type_parse("default\n"), HCTX_DEFAULT);
	assert_int_equal(hctx_type_parse("read"), HCTX_READ);
	assert_int_equal(hctx_type_parse("poll\n"), HCTX_POLL);
	assert_int_equal(hctx_type_parse("polled"), -1);
	assert_int_equal(hctx_type_parse(""), -1);
	assert_string_equal(hctx_type_name(HCTX_POLL), "poll");
}

/* types as a string: D, R, P per queue. */
static const char *types_of(unsigned nr, unsigned poll, unsigned write)
{
	static char out[80];
	enum hctx_type t[64];

	hctx_types_from_params(nr, poll, write, t);
	for (unsigned i = 0; i < nr; i++)
		out[i] = "DRP"[t[i]];
	out[nr] = '\0';
	return out;
}

static void test_types_from_params(void **state)
{
	(void)state;
	assert_string_equal(types_of(2, 0, 0), "DD");
	assert_string_equal(types_of(4, 2, 0), "DDPP");
	/* possible_cpus=64 nvme.poll_queues=62 on 2 CPUs: 2/0/62. */
	assert_memory_equal(types_of(64, 62, 0), "DDPPPP", 6);
	assert_int_equal(strspn(types_of(64, 62, 0) + 2, "P"), 62);
	/* Poll queues never take the last interrupt queue. */
	assert_string_equal(types_of(2, 8, 0), "DP");
	assert_string_equal(types_of(1, 8, 0), "D");
	/* write_queues: DEFAULT holds the writes, READ the rest. */
	assert_string_equal(types_of(6, 2, 1), "DRRRPP");
	assert_string_equal(types_of(4, 0, 9), "DDDR");
	assert_string_equal(types_of(3, 2, 1), "DPP");
}

/* ---- a fake /sys and debugfs ---- */

static char root[64];

static void put(const char *path, const char *text)
{
	char full[512], dir[512];
	char *slash;
	FILE *f;

	snprintf(full, sizeof(full), "%s%s", root, path);
	snprintf(dir, sizeof(dir), "%s", full);
	for (slash = strchr(dir + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
	f = fopen(full, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup_root(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/ddublk-router-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown_root(void **state)
{
	(void)state;
	return nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* hctx i with cpu_list and tags, plus its debugfs type if type is not NULL. */
static void fake_hctx(unsigned i, const char *cpus, unsigned tags, const char *type)
{
	char path[128], text[32];

	snprintf(path, sizeof(path), "/sys/block/nvme0n1/mq/%u/cpu_list", i);
	put(path, cpus);
	snprintf(path, sizeof(path), "/sys/block/nvme0n1/mq/%u/nr_tags", i);
	snprintf(text, sizeof(text), "%u\n", tags);
	put(path, text);
	if (type) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/block/nvme0n1/hctx%u/type", i);
		put(path, type);
	}
}

static cpu_set_t cpus_0_1(void)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(0, &s);
	CPU_SET(1, &s);
	return s;
}

/* 2 vCPUs, possible_cpus=64, poll_queues=62: 2 DEFAULT + 2 POLL reachable. */
static void test_discover_debugfs(void **state)
{
	cpu_set_t allowed = cpus_0_1();
	struct nq_list l;
	char err[256];

	(void)state;
	put("/sys/block/nvme0n1/queue/nr_requests", "1023\n");
	fake_hctx(0, "0, 2, 3, 4\n", 1023, "default\n");
	fake_hctx(1, "1, 33, 34\n", 1023, "default\n");
	for (unsigned i = 2; i < 64; i++) {
		char cpus[32];

		/* blk_mq_map_queues: present CPUs first, then the rest in order. */
		snprintf(cpus, sizeof(cpus), i == 2 ? "0, 62\n" : i == 3 ? "1, 63\n" : "%u\n", i - 2);
		fake_hctx(i, cpus, 1023, "poll\n");
	}
	fake_hctx(10, "10\n", 1023, "poll\n");
	put("/sys/block/nvme0n1/mq/cpu0/ignored", "x"); /* not a queue */
	assert_int_equal(nq_discover(root, "nvme0n1", &allowed, &l, err, sizeof(err)), 0);
	assert_int_equal(l.nr, 64);
	assert_true(l.types_from_debugfs);
	assert_int_equal(l.nr_reachable, 4);
	assert_int_equal(l.q[0].type, HCTX_DEFAULT);
	assert_int_equal(l.q[0].cpu, 0);
	assert_int_equal(l.q[1].cpu, 1);
	assert_int_equal(l.q[2].type, HCTX_POLL);
	assert_int_equal(l.q[2].desc.kind, NQ_POLL);
	assert_int_equal(l.q[2].cpu, 0);
	assert_int_equal(l.q[3].cpu, 1);
	assert_int_equal(l.q[4].cpu, -1); /* CPU 2 is not ours */
	assert_int_equal(l.q[63].cpu, -1);
	assert_int_equal(l.q[0].depth, 1023);
	assert_true(nq_desc_has_cpu(&l.q[0].desc, 4));
	assert_false(nq_desc_has_cpu(&l.q[0].desc, 1));
	nq_list_free(&l);
}

/* No debugfs: types from the module parameters; nr_requests caps the depth. */
static void test_discover_params(void **state)
{
	cpu_set_t allowed = cpus_0_1();
	struct nq_list l;
	char err[256];

	(void)state;
	put("/sys/block/nvme0n1/queue/nr_requests", "64\n");
	put("/sys/module/nvme/parameters/poll_queues", "1\n");
	put("/sys/module/nvme/parameters/write_queues", "0\n");
	fake_hctx(0, "0\n", 1023, NULL);
	fake_hctx(1, "1\n", 1023, NULL);
	fake_hctx(2, "0, 1\n", 1023, NULL);
	assert_int_equal(nq_discover(root, "nvme0n1", &allowed, &l, err, sizeof(err)), 0);
	assert_false(l.types_from_debugfs);
	assert_int_equal(l.nr, 3);
	assert_int_equal(l.q[0].type, HCTX_DEFAULT);
	assert_int_equal(l.q[1].type, HCTX_DEFAULT);
	assert_int_equal(l.q[2].type, HCTX_POLL);
	assert_int_equal(l.q[2].depth, 64);
	assert_int_equal(l.nr_reachable, 3);
	nq_list_free(&l);
}

/* READ queues are never reachable; CPUs we may not use do not count. */
static void test_discover_read_and_affinity(void **state)
{
	cpu_set_t only1;
	struct nq_list l;
	char err[256];

	(void)state;
	CPU_ZERO(&only1);
	CPU_SET(1, &only1);
	fake_hctx(0, "0\n", 128, "default\n");
	fake_hctx(1, "1\n", 128, "default\n");
	fake_hctx(2, "0\n", 128, "read\n");
	fake_hctx(3, "1\n", 128, "read\n");
	assert_int_equal(nq_discover(root, "nvme0n1", &only1, &l, err, sizeof(err)), 0);
	assert_int_equal(l.nr_reachable, 1);
	assert_int_equal(l.q[0].cpu, -1);
	assert_int_equal(l.q[1].cpu, 1);
	assert_int_equal(l.q[3].cpu, -1);
	nq_list_free(&l);
}

static void test_discover_errors(void **state)
{
	cpu_set_t allowed = cpus_0_1();
	struct nq_list l;
	char err[256];

	(void)state;
	assert_int_equal(nq_discover(root, "nvme9n1", &allowed, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/sys/block/nvme9n1/mq"));
	put("/sys/block/nvme1n1/mq/0/cpu_list", "0\n");
	assert_int_equal(nq_discover(root, "nvme1n1", &allowed, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nr_tags"));
	put("/sys/block/nvme1n1/mq/0/nr_tags", "8\n");
	put("/sys/block/nvme1n1/mq/0/cpu_list", "zero\n");
	assert_int_equal(nq_discover(root, "nvme1n1", &allowed, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a CPU list"));
}

/* ---- the inbox ---- */

struct item {
	int producer, seq;
	struct inbox_link link;
};

static struct item *item_of(struct inbox_link *l)
{
	return (struct item *)((char *)l - offsetof(struct item, link));
}

static void test_inbox_order(void **state)
{
	struct item it[4] = { { .seq = 0 }, { .seq = 1 }, { .seq = 2 }, { .seq = 3 } };
	struct inbox in;
	struct inbox_link *l;

	(void)state;
	inbox_init(&in);
	assert_true(inbox_empty(&in));
	assert_null(inbox_take(&in));
	assert_true(inbox_push(&in, &it[0].link));
	assert_false(inbox_push(&in, &it[1].link));
	assert_false(inbox_push(&in, &it[2].link));
	l = inbox_take(&in);
	assert_true(inbox_empty(&in));
	for (int i = 0; i < 3; i++, l = l->next)
		assert_int_equal(item_of(l)->seq, i);
	assert_null(l);
	/* Empty again: the next push is the one that wakes. */
	assert_true(inbox_push(&in, &it[3].link));
}

#define PRODUCERS 4
#define PER_PRODUCER 20000

static struct inbox shared;

static void *produce(void *arg)
{
	struct item *items = arg;

	for (int i = 0; i < PER_PRODUCER; i++)
		inbox_push(&shared, &items[i].link);
	return NULL;
}

/* Several producers, one consumer: nothing lost, each producer's items in order. */
static void test_inbox_threads(void **state)
{
	struct item *items = calloc(PRODUCERS * PER_PRODUCER, sizeof(*items));
	pthread_t t[PRODUCERS];
	int next[PRODUCERS] = { 0 }, got = 0;

	(void)state;
	assert_non_null(items);
	inbox_init(&shared);
	for (int p = 0; p < PRODUCERS; p++) {
		for (int i = 0; i < PER_PRODUCER; i++)
			items[p * PER_PRODUCER + i] = (struct item){ .producer = p, .seq = i };
		assert_int_equal(pthread_create(&t[p], NULL, produce, &items[p * PER_PRODUCER]), 0);
	}
	while (got < PRODUCERS * PER_PRODUCER) {
		for (struct inbox_link *l = inbox_take(&shared); l; l = l->next) {
			struct item *it = item_of(l);

			assert_int_equal(it->seq, next[it->producer]);
			next[it->producer]++;
			got++;
		}
	}
	for (int p = 0; p < PRODUCERS; p++)
		pthread_join(t[p], NULL);
	assert_null(inbox_take(&shared));
	free(items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpulist_parse),
		cmocka_unit_test(test_cpulist_format),
		cmocka_unit_test(test_hctx_type_parse),
		cmocka_unit_test(test_types_from_params),
		cmocka_unit_test_setup_teardown(test_discover_debugfs, setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_discover_params, setup_root, teardown_root),
		cmocka_unit_test_setup_teardown(test_discover_read_and_affinity, setup_root,
						teardown_root),
		cmocka_unit_test_setup_teardown(test_discover_errors, setup_root, teardown_root),
		cmocka_unit_test(test_inbox_order),
		cmocka_unit_test(test_inbox_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
