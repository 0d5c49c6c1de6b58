/* SPDX-License-Identifier: MIT */
/* What a policy reload would change (conf/diff.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/log.h"
#include "conf/config.h"
#include "conf/diff.h"

#define MAX_RUNNING 16

/* Line 1: daemon, line 2: backends, tenants from line 3 on. */
#define DAEMON "daemon = { workers = 2; };\n"
#define POOL "backends = ( { name = \"pool\"; path = \"/dev/nvme0n1\"; } );\n"
#define HEAD DAEMON POOL

/* The running tenants of a test, and the policy the daemon loaded last. */
struct fixture {
	struct conf old_conf, new_conf;
	struct conf_running run[MAX_RUNNING];
	size_t nr_run;
	struct conf_change *changes;
	size_t nr;
};

static void load(struct conf *c, const char *text)
{
	char err[512] = "";

	if (conf_load_string(text, "new.conf", c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

/* Everything in old.conf runs, as created from the policy. */
static void start(struct fixture *f, const char *old_text)
{
	memset(f, 0, sizeof(*f));
	load(&f->old_conf, old_text);
	for (size_t i = 0; i < f->old_conf.nr_tenants; i++) {
		f->run[f->nr_run].spec = f->old_conf.tenants[i].spec;
		f->run[f->nr_run++].from_policy = true;
	}
}

/* A tenant made by `ublk-ctl add`. */
static void add_by_ctl(struct fixture *f, const char *name, uint64_t size)
{
	struct conf_running *r = &f->run[f->nr_run++];

	memset(r, 0, sizeof(*r));
	snprintf(r->spec.name, sizeof(r->spec.name), "%s", name);
	snprintf(r->spec.backend, sizeof(r->spec.backend), "pool");
	r->spec.size = size;
	r->spec.queues = CONF_DEFAULT_QUEUES;
	r->spec.depth = CONF_DEFAULT_DEPTH;
	r->spec.qos.weight = CONF_DEFAULT_WEIGHT;
	r->spec.recovery = true;
}

static size_t reload(struct fixture *f, const char *new_text)
{
	char err[512] = "";

	conf_free(&f->new_conf);
	free(f->changes);
	load(&f->new_conf, new_text);
	if (conf_diff(&f->old_conf, f->run, f->nr_run, &f->new_conf, "new.conf", &f->changes,
		      &f->nr, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(err, "");
	return f->nr;
}

static void finish(struct fixture *f)
{
	free(f->changes);
	conf_free(&f->old_conf);
	conf_free(&f->new_conf);
}

static const char *line_of(const struct conf_change *c)
{
	static char buf[640];

	conf_change_format(c, buf, sizeof(buf));
	return buf;
}

static void expect_line(const struct fixture *f, size_t i, const char *want)
{
	assert_true(i < f->nr);
	assert_string_equal(line_of(&f->changes[i]), want);
}

static void test_no_changes(void **state)
{
	static const char policy[] =
		HEAD "tenants = ( { name = \"a\"; backend = \"pool\"; size = \"1G\";\n"
		"  class = \"latency\"; iops_limit = 1000; } );\n";
	struct fixture f;

	(void)state;
	start(&f, policy);
	add_by_ctl(&f, "adhoc", 1ULL << 30); /* not in the policy: left alone */
	assert_int_equal(reload(&f, policy), 0);
	assert_null(f.changes);
	/* comments, order of keys and the line they sit on do not matter */
	assert_int_equal(reload(&f, "# moved\n" POOL DAEMON "tenants = (\n"
				"  { iops_limit = 1000; size = 1073741824; class = \"latency\";\n"
				"    backend = \"pool\"; name = \"a\"; }\n);\n"), 0);
	finish(&f);
}

static void test_add(void **state)
{
	struct fixture f;
	const struct conf_change *c;

	(void)state;
	start(&f, HEAD);
	assert_int_equal(reload(&f, HEAD "tenants = (\n"
				"  { name = \"c\"; backend = \"pool\"; size = \"1G\";\n"
				"    class = \"latency\"; },\n"
				"  { name = \"d\"; backend = \"pool\"; size = \"1536M\";\n"
				"    iops_limit = 500; bw_limit = \"100M\"; weight = 300;\n"
				"    recovery = false; queues = 2; }\n"
				");\n"), 2);
	c = &f.changes[0];
	assert_int_equal(c->kind, CHANGE_ADD);
	assert_false(c->destructive);
	assert_string_equal(c->tenant, "c");
	assert_string_equal(c->what, "1 GiB on \"pool\", class latency");
	assert_int_equal(c->new_index, 0);
	assert_int_equal(c->running_index, -1);
	expect_line(&f, 0, "+ tenant \"c\": add 1 GiB on \"pool\", class latency");
	assert_int_equal(f.changes[1].new_index, 1);
	expect_line(&f, 1, "+ tenant \"d\": add 1.5 GiB on \"pool\", class besteffort, "
		    "iops_limit 500, bw_limit 100 MiB/s, weight 300, recovery false");
	finish(&f);
}

static void test_remove(void **state)
{
	struct fixture f;
	const struct conf_change *c;

	(void)state;
	start(&f, HEAD "tenants = (\n"
	       "  { name = \"a\"; backend = \"pool\"; size = \"1G\"; },\n"
	       "  { name = \"b\"; backend = \"pool\"; size = \"1G\"; }\n"
	       ");\n");
	add_by_ctl(&f, "adhoc", 64ULL << 20);
	assert_int_equal(reload(&f, HEAD "tenants = ( { name = \"a\"; backend = \"pool\"; "
				"size = \"1G\"; } );\n"), 1);
	c = &f.changes[0];
	assert_int_equal(c->kind, CHANGE_REMOVE);
	assert_true(c->destructive);
	assert_string_equal(c->tenant, "b");
	assert_int_equal(c->new_index, -1);
	assert_int_equal(c->running_index, 1);
	expect_line(&f, 0, "- tenant \"b\": remove: 1 GiB extent on \"pool\" freed, data lost "
		    "(needs --force)");
	/* an empty policy removes every policy tenant, never a ublk-ctl one */
	assert_int_equal(reload(&f, HEAD), 2);
	assert_string_equal(f.changes[0].tenant, "a");
	assert_string_equal(f.changes[1].tenant, "b");
	finish(&f);
}

#define T_A(extra) HEAD "tenants = ( { name = \"a\"; backend = \"pool\"; " extra " } );\n"
#define TWO_POOLS \
	DAEMON "backends = ( { name = \"pool\"; path = \"/dev/nvme0n1\"; },\n" \
	"  { name = \"other\"; path = \"/dev/nvme1n1\"; } );\n"

static void test_reshape(void **state)
{
	struct fixture f;
	const struct conf_change *c;

	(void)state;
	start(&f, T_A("size = \"1G\"; class = \"throughput\";"));
	assert_int_equal(reload(&f, T_A("size = \"2G\"; class = \"throughput\";")), 1);
	c = &f.changes[0];
	assert_int_equal(c->kind, CHANGE_RESHAPE);
	assert_true(c->destructive);
	assert_int_equal(c->new_index, 0);
	assert_int_equal(c->running_index, 0);
	assert_string_equal(c->what, "size 1 GiB -> 2 GiB: recreated on a new extent, data lost");
	expect_line(&f, 0, "! tenant \"a\": size 1 GiB -> 2 GiB: recreated on a new extent, "
		    "data lost (needs --force)");
	/* shape only: the same extent, the data stays */
	reload(&f, T_A("size = \"1G\"; class = \"throughput\"; queues = 2;"));
	expect_line(&f, 0, "! tenant \"a\": queues 1 -> 2: device recreated on the same extent, "
		    "data kept (needs --force)");
	reload(&f, T_A("size = \"1G\"; class = \"throughput\"; depth = 128;"));
	expect_line(&f, 0, "! tenant \"a\": depth 64 -> 128: device recreated on the same "
		    "extent, data kept (needs --force)");
	reload(&f, T_A("size = \"1G\"; class = \"throughput\"; recovery = false;"));
	expect_line(&f, 0, "! tenant \"a\": recovery true -> false: device recreated on the "
		    "same extent, data kept (needs --force)");
	/* class and QoS changes ride along with a reshape */
	reload(&f, T_A("size = \"1G\"; queues = 4; depth = 32; class = \"latency\"; weight = 5;"));
	assert_int_equal(f.nr, 1);
	expect_line(&f, 0, "! tenant \"a\": queues 1 -> 4, depth 64 -> 32, class throughput -> "
		    "latency, weight 100 -> 5: device recreated on the same extent, data kept "
		    "(needs --force)");
	/* sizes that print alike are shown exactly */
	reload(&f, T_A("size = 1073745920; class = \"throughput\";"));
	expect_line(&f, 0, "! tenant \"a\": size 1073741824 bytes -> 1073745920 bytes: "
		    "recreated on a new extent, data lost (needs --force)");
	finish(&f);

	start(&f, TWO_POOLS "tenants = ( { name = \"a\"; backend = \"pool\"; size = \"1G\"; } );\n");
	reload(&f, TWO_POOLS "tenants = ( { name = \"a\"; backend = \"other\"; size = \"1G\"; } );\n");
	expect_line(&f, 0, "! tenant \"a\": backend \"pool\" -> \"other\": recreated on a new "
		    "extent, data lost (needs --force)");
	finish(&f);
}

static void test_update(void **state)
{
	struct fixture f;
	const struct conf_change *c;

	(void)state;
	start(&f, T_A("size = \"1G\"; iops_limit = 1000; bw_limit = \"100M\";"));
	assert_int_equal(reload(&f, T_A("size = \"1G\"; iops_limit = 500; bw_limit = \"100M\";")),
			 1);
	c = &f.changes[0];
	assert_int_equal(c->kind, CHANGE_UPDATE);
	assert_false(c->destructive);
	assert_int_equal(c->new_index, 0);
	assert_int_equal(c->running_index, 0);
	assert_string_equal(c->what, "iops_limit 1000 -> 500");
	expect_line(&f, 0, "~ tenant \"a\": iops_limit 1000 -> 500");
	reload(&f, T_A("size = \"1G\"; class = \"latency\"; bw_limit = \"50M\"; weight = 200;"));
	expect_line(&f, 0, "~ tenant \"a\": class besteffort -> latency, iops_limit 1000 -> "
		    "unlimited, bw_limit 100 MiB/s -> 50 MiB/s, weight 100 -> 200");
	reload(&f, T_A("size = \"1G\"; iops_limit = 1000;"));
	expect_line(&f, 0, "~ tenant \"a\": bw_limit 100 MiB/s -> unlimited");
	reload(&f, T_A("size = \"1G\"; iops_limit = 1000; bw_limit = 104861696;"));
	expect_line(&f, 0, "~ tenant \"a\": bw_limit 104857600 bytes/s -> 104861696 bytes/s");
	finish(&f);
}

/* Reservations need daredevil: this policy has it from the start. */
#define T_DD(extra) DAEMON POOL "scheduler = { mode = \"daredevil\"; };\n" \
	"tenants = ( { name = \"a\"; backend = \"pool\"; " extra " } );\n"

/* Reservations and the latency goal are QoS: live, on the tenant's "~" line. */
static void test_update_slo(void **state)
{
	struct fixture f;
	const struct conf_change *c;

	(void)state;
	start(&f, T_DD("size = \"1G\";"));
	assert_int_equal(reload(&f, T_DD("size = \"1G\"; min_iops = 5000;")), 1);
	c = &f.changes[0];
	assert_int_equal(c->kind, CHANGE_UPDATE);
	assert_false(c->destructive);
	assert_int_equal(c->new_index, 0);
	assert_int_equal(c->running_index, 0);
	expect_line(&f, 0, "~ tenant \"a\": min_iops none -> 5000");
	assert_int_equal(reload(&f, T_DD("size = \"1G\"; min_bw = \"50M\";")), 1);
	assert_int_equal(f.changes[0].kind, CHANGE_UPDATE);
	expect_line(&f, 0, "~ tenant \"a\": min_bw none -> 50 MiB/s");
	assert_int_equal(reload(&f, T_DD("size = \"1G\"; latency_target_us = 500;")), 1);
	assert_int_equal(f.changes[0].kind, CHANGE_UPDATE);
	assert_false(f.changes[0].destructive);
	expect_line(&f, 0, "~ tenant \"a\": latency_target_us default -> 500");
	reload(&f, T_DD("size = \"1G\"; iops_limit = 9000; min_iops = 100; min_bw = 4096;\n"
			"  latency_target_us = 10;"));
	expect_line(&f, 0, "~ tenant \"a\": iops_limit unlimited -> 9000, min_iops none -> 100, "
		    "min_bw none -> 4 KiB/s, latency_target_us default -> 10");
	finish(&f);

	/* an added tenant says what it reserves */
	start(&f, DAEMON POOL "scheduler = { mode = \"daredevil\"; };\n");
	assert_int_equal(reload(&f, T_DD("size = \"1G\"; class = \"latency\"; min_iops = 5000;\n"
					 "  min_bw = \"50M\"; latency_target_us = 500;")), 1);
	assert_int_equal(f.changes[0].kind, CHANGE_ADD);
	expect_line(&f, 0, "+ tenant \"a\": add 1 GiB on \"pool\", class latency, min_iops 5000, "
		    "min_bw 50 MiB/s, latency_target_us 500");
	finish(&f);

	/* and back to none; sizes that print alike are shown exactly */
	start(&f, T_DD("size = \"1G\"; min_iops = 5000; min_bw = \"100M\"; "
		       "latency_target_us = 300;"));
	assert_int_equal(reload(&f, T_DD("size = \"1G\"; min_bw = 104861696;")), 1);
	expect_line(&f, 0, "~ tenant \"a\": min_iops 5000 -> none, "
		    "min_bw 104857600 bytes/s -> 104861696 bytes/s, latency_target_us 300 -> default");
	assert_int_equal(reload(&f, T_DD("size = \"1G\"; min_iops = 5000; min_bw = \"100M\"; "
					 "latency_target_us = 300;")), 0);
	/* alongside a reshape they ride along, like the other QoS keys */
	reload(&f, T_DD("size = \"1G\"; queues = 2; min_iops = 6000; min_bw = \"100M\"; "
			"latency_target_us = 300;"));
	expect_line(&f, 0, "! tenant \"a\": queues 1 -> 2, min_iops 5000 -> 6000: device "
		    "recreated on the same extent, data kept (needs --force)");
	finish(&f);
}

/* A tenant from `ublk-ctl add` that the policy now names is taken over, live. */
static void test_adopt(void **state)
{
	struct fixture f;

	(void)state;
	start(&f, HEAD);
	add_by_ctl(&f, "a", 1ULL << 30);
	assert_int_equal(reload(&f, T_A("size = \"1G\";")), 1);
	assert_int_equal(f.changes[0].kind, CHANGE_UPDATE);
	assert_false(f.changes[0].destructive);
	assert_int_equal(f.changes[0].running_index, 0);
	expect_line(&f, 0, "~ tenant \"a\": now managed by the policy (was added by ublk-ctl)");
	reload(&f, T_A("size = \"1G\"; class = \"throughput\";"));
	expect_line(&f, 0, "~ tenant \"a\": class besteffort -> throughput, now managed by the "
		    "policy (was added by ublk-ctl)");
	/* ... unless its shape differs: then it is recreated like any other */
	reload(&f, T_A("size = \"2G\";"));
	assert_int_equal(f.changes[0].kind, CHANGE_RESHAPE);
	expect_line(&f, 0, "! tenant \"a\": size 1 GiB -> 2 GiB: recreated on a new extent, "
		    "data lost (needs --force)");
	finish(&f);
}

static void test_globals(void **state)
{
	struct fixture f;
	const struct conf_change *c;

	(void)state;
	start(&f, HEAD);
	assert_int_equal(reload(&f, "daemon = { workers = 2; log_level = \"debug\"; };\n" POOL), 1);
	c = &f.changes[0];
	assert_int_equal(c->kind, CHANGE_GLOBAL);
	assert_false(c->destructive);
	assert_string_equal(c->tenant, "");
	assert_int_equal(c->new_index, -1);
	assert_int_equal(c->running_index, -1);
	expect_line(&f, 0, "~ daemon: log_level info -> debug");
	assert_false(c->at_restart);

	assert_int_equal(reload(&f, HEAD "scheduler = { mode = \"daredevil\"; };\n"), 1);
	expect_line(&f, 0, "~ scheduler: mode static -> daredevil (at the next start)");
	assert_true(f.changes[0].at_restart);
	/* every scheduler key, one line; and the log level on its own line first */
	assert_int_equal(reload(&f, "daemon = { workers = 2; log_level = \"warn\"; };\n" POOL
				"scheduler = { mode = \"static\"; latency_target_us = 500;\n"
				"  latency_queues = 4; adapt_interval_ms = 50;\n"
				"  throughput_cap = \"8M\"; promote_flush = true; };\n"), 2);
	expect_line(&f, 0, "~ daemon: log_level info -> warn");
	expect_line(&f, 1, "~ scheduler: latency_target_us 1000 -> 500, latency_queues 0 -> 4, "
		    "adapt_interval_ms 100 -> 50, throughput_cap 4 MiB -> 8 MiB, "
		    "promote_flush false -> true (at the next start)");
	/* on_stop applies live: it is read when the daemon stops */
	assert_int_equal(reload(&f, "daemon = { workers = 2; on_stop = \"keep\"; };\n" POOL), 1);
	assert_int_equal(f.changes[0].kind, CHANGE_GLOBAL);
	assert_false(f.changes[0].destructive);
	expect_line(&f, 0, "~ daemon: on_stop delete -> keep");
	/* poll applies live, on its own line; the rest of the section waits for a restart */
	assert_int_equal(reload(&f, HEAD "scheduler = { poll = \"never\"; mode = \"daredevil\"; };\n"),
			 2);
	expect_line(&f, 0, "~ scheduler: mode static -> daredevil (at the next start)");
	expect_line(&f, 1, "~ scheduler: poll auto -> never");
	assert_int_equal(f.changes[1].kind, CHANGE_GLOBAL);
	assert_false(f.changes[1].at_restart);
	/* every global at once, with no tenant at all: four lines (their room is not per tenant) */
	assert_int_equal(reload(&f, "daemon = { workers = 2; log_level = \"warn\"; "
				"on_stop = \"keep\"; };\n" POOL
				"scheduler = { mode = \"daredevil\"; poll = \"never\"; };\n"), 4);
	expect_line(&f, 0, "~ daemon: log_level info -> warn");
	expect_line(&f, 1, "~ daemon: on_stop delete -> keep");
	expect_line(&f, 2, "~ scheduler: mode static -> daredevil (at the next start)");
	expect_line(&f, 3, "~ scheduler: poll auto -> never");
	/* the drive's cost model: read when the schedulers start */
	assert_int_equal(reload(&f, HEAD "scheduler = { cost_read_iops = 500000; "
				"cost_read_bw = \"4G\";\n  cost_write_iops = 100000; "
				"cost_write_bw = \"1G\"; };\n"), 1);
	assert_int_equal(f.changes[0].kind, CHANGE_GLOBAL);
	assert_true(f.changes[0].at_restart);
	assert_false(f.changes[0].destructive);
	expect_line(&f, 0, "~ scheduler: cost_read_iops 400000 -> 500000, cost_read_bw "
		    "2.7 GiB/s -> 4 GiB/s, cost_write_iops 150000 -> 100000, "
		    "cost_write_bw 1.8 GiB/s -> 1 GiB/s (at the next start)");
	assert_int_equal(reload(&f, HEAD "scheduler = { cost_write_bw = 2000000000; };\n"), 0);
	/* a scheduler section that only restates the defaults changes nothing */
	assert_int_equal(reload(&f, HEAD "\n\nscheduler = { mode = \"static\"; poll = \"auto\"; };\n"),
			 0);
	finish(&f);
}

/* GLOBAL, REMOVE, RESHAPE, UPDATE, ADD; within a kind, the new policy's order. */
static void test_order(void **state)
{
	static const char *const want[] = {
		"~ scheduler: mode static -> daredevil (at the next start)",
		"- tenant \"gone1\": remove: 1 GiB extent on \"pool\" freed, data lost (needs --force)",
		"- tenant \"gone2\": remove: 2 GiB extent on \"pool\" freed, data lost (needs --force)",
		"! tenant \"grow2\": size 1 GiB -> 3 GiB: recreated on a new extent, data lost "
		"(needs --force)",
		"! tenant \"grow1\": size 1 GiB -> 2 GiB: recreated on a new extent, data lost "
		"(needs --force)",
		"~ tenant \"adhoc\": now managed by the policy (was added by ublk-ctl)",
		"~ tenant \"lim\": iops_limit unlimited -> 100",
		"+ tenant \"new2\": add 4 GiB on \"pool\", class besteffort",
		"+ tenant \"new1\": add 8 GiB on \"pool\", class throughput",
	};
	static const enum conf_change_kind kinds[] = {
		CHANGE_GLOBAL, CHANGE_REMOVE, CHANGE_REMOVE, CHANGE_RESHAPE, CHANGE_RESHAPE,
		CHANGE_UPDATE, CHANGE_UPDATE, CHANGE_ADD, CHANGE_ADD,
	};
	struct fixture f;

	(void)state;
	start(&f, HEAD "tenants = (\n"
	       "  { name = \"grow1\"; backend = \"pool\"; size = \"1G\"; },\n"
	       "  { name = \"gone1\"; backend = \"pool\"; size = \"1G\"; },\n"
	       "  { name = \"same\"; backend = \"pool\"; size = \"1G\"; },\n"
	       "  { name = \"lim\"; backend = \"pool\"; size = \"1G\"; },\n"
	       "  { name = \"gone2\"; backend = \"pool\"; size = \"2G\"; },\n"
	       "  { name = \"grow2\"; backend = \"pool\"; size = \"1G\"; }\n"
	       ");\n");
	add_by_ctl(&f, "adhoc", 1ULL << 30);
	assert_int_equal(reload(&f, HEAD "scheduler = { mode = \"daredevil\"; };\n"
				"tenants = (\n"
				"  { name = \"new2\"; backend = \"pool\"; size = \"4G\"; },\n"
				"  { name = \"adhoc\"; backend = \"pool\"; size = \"1G\"; },\n"
				"  { name = \"grow2\"; backend = \"pool\"; size = \"3G\"; },\n"
				"  { name = \"same\"; backend = \"pool\"; size = \"1G\"; },\n"
				"  { name = \"lim\"; backend = \"pool\"; size = \"1G\";\n"
				"    iops_limit = 100; },\n"
				"  { name = \"grow1\"; backend = \"pool\"; size = \"2G\"; },\n"
				"  { name = \"new1\"; backend = \"pool\"; size = \"8G\"; "
				"class = \"throughput\"; }\n"
				");\n"),
			 sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < f.nr; i++) {
		assert_int_equal(f.changes[i].kind, kinds[i]);
		expect_line(&f, i, want[i]);
	}
	/* the indices point into both arrays */
	assert_int_equal(f.changes[1].running_index, 1); /* gone1 */
	assert_int_equal(f.changes[3].new_index, 2); /* grow2 */
	assert_int_equal(f.changes[3].running_index, 5);
	assert_int_equal(f.changes[5].running_index, 6); /* adhoc */
	assert_int_equal(f.changes[5].new_index, 1);
	assert_int_equal(f.changes[8].new_index, 6); /* new1 */
	finish(&f);
}

/* conf_diff must fail and leave *out and *nr alone. */
static void expect_restart(const char *old_text, const char *new_text, const char *want)
{
	struct conf_change *out = (struct conf_change *)&out;
	struct conf old_conf, new_conf;
	char err[512] = "";
	size_t nr = 77;

	load(&old_conf, old_text);
	load(&new_conf, new_text);
	assert_int_equal(conf_diff(&old_conf, NULL, 0, &new_conf, "new.conf", &out, &nr, err,
				   sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_ptr_equal(out, &out);
	assert_int_equal(nr, 77);
	conf_free(&old_conf);
	conf_free(&new_conf);
}

#define RESTART ": cannot change on reload; restart ddublkd"
#define BK(extra) DAEMON "backends = (\n  { name = \"pool\"; " extra " }\n);\n"

static void test_restart_needed(void **state)
{
	(void)state;
	expect_restart(HEAD, "daemon = {\n  socket = \"/run/other.sock\";\n  workers = 2;\n};\n" POOL,
		       "new.conf:1: daemon.socket" RESTART);
	expect_restart(HEAD, "\ndaemon = { workers = 4; };\n" POOL,
		       "new.conf:2: daemon.workers" RESTART);
	expect_restart(HEAD, "daemon = {\n  workers = 2;\n  socket_group = \"root\";\n};\n" POOL,
		       "new.conf:1: daemon.socket_group" RESTART);
	expect_restart("daemon = { workers = 2; socket_group = \"root\"; };\n" POOL, HEAD,
		       "new.conf:1: daemon.socket_group" RESTART);
	/* without a daemon section there is no line to name */
	expect_restart(HEAD, POOL, "new.conf: daemon.workers" RESTART);
	expect_restart(BK("path = \"/dev/nvme0n1\";"), BK("path = \"/dev/nvme1n1\";"),
		       "new.conf:3: backends[0].path" RESTART);
	expect_restart(BK("path = \"/dev/nvme0n1\";"), BK("controller = \"nvme0\"; nsid = 1;"),
		       "new.conf:3: backends[0].path" RESTART);
	expect_restart(BK("controller = \"nvme0\"; nsid = 1;"), BK("controller = \"nvme1\"; nsid = 1;"),
		       "new.conf:3: backends[0].controller" RESTART);
	expect_restart(BK("controller = \"nvme0\"; nsid = 1;"), BK("controller = \"nvme0\"; nsid = 2;"),
		       "new.conf:3: backends[0].nsid" RESTART);
	expect_restart(BK("path = \"/dev/nvme0n1\";"),
		       BK("path = \"/dev/nvme0n1\"; type = \"file\";"),
		       "new.conf:3: backends[0].type" RESTART);
	expect_restart(BK("path = \"/srv/img\"; size = \"1G\";"),
		       BK("path = \"/srv/img\"; size = \"2G\";"),
		       "new.conf:3: backends[0].size" RESTART);
	expect_restart(BK("path = \"/dev/nvme0n1\";"),
		       BK("path = \"/dev/nvme0n1\"; reserved = \"2M\";"),
		       "new.conf:3: backends[0].reserved" RESTART);
	/* added and removed backends */
	expect_restart(HEAD, TWO_POOLS, "new.conf:3: backends[1]" RESTART);
	expect_restart(TWO_POOLS,
		       DAEMON "\nbackends = (\n  { name = \"other\"; path = \"/dev/nvme1n1\"; }\n);\n",
		       "new.conf:3: backends" RESTART);
	expect_restart(HEAD, DAEMON, "new.conf: backends" RESTART);
	/* the order of the backends does not matter */
	{
		struct fixture f;

		start(&f, TWO_POOLS);
		assert_int_equal(reload(&f, DAEMON "backends = ( { name = \"other\"; "
					"path = \"/dev/nvme1n1\"; },\n"
					"  { name = \"pool\"; path = \"/dev/nvme0n1\"; } );\n"), 0);
		finish(&f);
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(conf_class_name(CONF_CLASS_BESTEFFORT), "besteffort");
	assert_string_equal(conf_class_name(CONF_CLASS_LATENCY), "latency");
	assert_string_equal(conf_class_name(CONF_CLASS_THROUGHPUT), "throughput");
	assert_string_equal(conf_class_name((enum conf_class)3), "?");
	assert_string_equal(conf_class_name((enum conf_class)-1), "?");
	assert_string_equal(conf_sched_mode_name(CONF_SCHED_STATIC), "static");
	assert_string_equal(conf_sched_mode_name(CONF_SCHED_DAREDEVIL), "daredevil");
	assert_string_equal(conf_sched_mode_name((enum conf_sched_mode)2), "?");
}

static void test_format_edges(void **state)
{
	struct conf_change c = {
		.kind = CHANGE_ADD, .tenant = "c", .what = "1 GiB on \"pool\", class latency",
		.new_index = 0, .running_index = -1,
	};
	char buf[16];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	conf_change_format(&c, buf, 10);
	assert_string_equal(buf, "+ tenant ");
	assert_int_equal(buf[10], 'x');
	conf_change_format(&c, buf, 0); /* nothing written */
	assert_int_equal(buf[0], '+');
	conf_change_format(&c, NULL, 0);
	/* destructive is what adds the warning, whatever the kind */
	c.kind = CHANGE_GLOBAL;
	c.destructive = true;
	snprintf(c.what, sizeof(c.what), "x");
	conf_change_format(&c, buf, sizeof(buf));
	assert_string_equal(buf, "~ x (needs --fo");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_changes),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_reshape),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_update_slo),
		cmocka_unit_test(test_adopt),
		cmocka_unit_test(test_globals),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_restart_needed),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_format_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
