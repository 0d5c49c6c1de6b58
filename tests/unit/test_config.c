/* SPDX-License-Identifier: MIT */
/* Policy file loading and validation (conf/config.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/log.h"
#include "backend/backend_id.h"
#include "conf/config.h"
#include "conf/diff.h"
#include "backend/identify.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)

static const char full_policy[] =
	"# a complete policy\n"
	"daemon = {\n"
	"  socket     = \"/run/test/ctl.sock\"; socket_group = \"root\";\n"
	"  workers    = 4;\n"
	"  log_level  = \"debug\"; on_stop = \"keep\";\n"
	"};\n"
	"scheduler = {\n"
	"  mode = \"daredevil\";\n"
	"  latency_target_us = 500;\n"
	"  latency_queues = 8;\n"
	"  adapt_interval_ms = 250;\n"
	"  throughput_cap = \"8M\";\n"
	"  promote_flush = false;\n"
	"};\n"
	"backends = (\n"
	"  { name = \"nvme0\"; path = \"/dev/nvme0n1\"; reserved = \"4M\"; },\n"
	"  { name = \"img\";   path = \"/srv/pool.img\"; size = \"8G\"; }\n"
	");\n"
	"tenants = (\n"
	"  { name = \"db\"; backend = \"nvme0\"; size = \"2G\"; queues = 2; depth = 128;\n"
	"    class = \"latency\"; iops_limit = 50000; bw_limit = \"200M\"; weight = 300;\n"
	"    recovery = false; },\n"
	"  { name = \"web-1.a_b\"; backend = \"img\"; size = 1048576; class = \"throughput\";\n"
	"    bw_limit = 4096; },\n"
	"  {\n"
	"    name = \"big\";\n"
	"    backend = \"img\";\n"
	"    size = 5368709120L;\n"
	"  }\n"
	");\n";

static void test_full_file(void **state)
{
	char err[512] = "";
	struct conf c;

	(void)state;
	assert_int_equal(conf_load_string(full_policy, "policy.conf", &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(c.socket_path, "/run/test/ctl.sock");
	assert_string_equal(c.socket_group, "root");
	assert_int_equal(c.socket_gid, 0);
	assert_int_equal(c.workers, 4);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.on_stop, CONF_ON_STOP_KEEP);
	assert_int_equal(c.daemon_line, 2);

	assert_int_equal(c.sched.mode, CONF_SCHED_DAREDEVIL);
	assert_int_equal(c.sched.latency_target_us, 500);
	assert_int_equal(c.sched.latency_queues, 8);
	assert_int_equal(c.sched.adapt_interval_ms, 250);
	assert_true(c.sched.throughput_cap == 8 * MiB);
	assert_false(c.sched.promote_flush);
	assert_int_equal(c.sched.line, 7);

	assert_int_equal(c.backends_line, 15);
	assert_int_equal(c.nr_backends, 2);
	assert_string_equal(c.backends[0].name, "nvme0");
	assert_string_equal(c.backends[0].path, "/dev/nvme0n1");
	assert_true(c.backends[0].size == 0);
	assert_true(c.backends[0].reserved == 4 * MiB);
	assert_int_equal(c.backends[0].line, 16);
	assert_string_equal(c.backends[1].name, "img");
	assert_string_equal(c.backends[1].path, "/srv/pool.img");
	assert_true(c.backends[1].size == 8 * GiB);
	assert_true(c.backends[1].reserved == MiB);
	assert_int_equal(c.backends[1].line, 17);

	assert_int_equal(c.nr_tenants, 3);
	assert_string_equal(c.tenants[0].spec.name, "db");
	assert_string_equal(c.tenants[0].spec.backend, "nvme0");
	assert_true(c.tenants[0].spec.size == 2 * GiB);
	assert_int_equal(c.tenants[0].spec.queues, 2);
	assert_int_equal(c.tenants[0].spec.depth, 128);
	assert_int_equal(c.tenants[0].spec.cls, CONF_CLASS_LATENCY);
	assert_true(c.tenants[0].spec.qos.iops_limit == 50000);
	assert_true(c.tenants[0].spec.qos.bw_limit == 200 * MiB);
	assert_int_equal(c.tenants[0].spec.qos.weight, 300);
	assert_false(c.tenants[0].spec.recovery);
	assert_int_equal(c.tenants[0].line, 20);
	assert_string_equal(c.tenants[1].spec.name, "web-1.a_b");
	assert_string_equal(c.tenants[1].spec.backend, "img");
	assert_true(c.tenants[1].spec.size == MiB);
	assert_int_equal(c.tenants[1].spec.queues, CONF_DEFAULT_QUEUES);
	assert_int_equal(c.tenants[1].spec.depth, CONF_DEFAULT_DEPTH);
	assert_int_equal(c.tenants[1].spec.cls, CONF_CLASS_THROUGHPUT);
	assert_true(c.tenants[1].spec.qos.iops_limit == 0);
	assert_true(c.tenants[1].spec.qos.bw_limit == 4096);
	assert_int_equal(c.tenants[1].spec.qos.weight, CONF_DEFAULT_WEIGHT);
	assert_true(c.tenants[1].spec.recovery);
	assert_string_equal(c.tenants[2].spec.name, "big");
	assert_true(c.tenants[2].spec.size == 5 * GiB);
	assert_int_equal(c.tenants[2].spec.cls, CONF_CLASS_BESTEFFORT);
	assert_int_equal(c.tenants[2].line, 25); /* where its block opens */

	assert_ptr_equal(conf_find_backend(&c, "img"), &c.backends[1]);
	assert_ptr_equal(conf_find_backend(&c, "nvme0"), &c.backends[0]);
	assert_null(conf_find_backend(&c, "nvme1"));
	assert_null(conf_find_backend(&c, ""));
	conf_free(&c);
	assert_null(c.backends);
	assert_null(c.tenants);
	assert_int_equal(c.nr_backends, 0);
	assert_int_equal(c.nr_tenants, 0);
}

static void expect_sched_defaults(const struct conf_sched *s)
{
	assert_int_equal(s->mode, CONF_SCHED_STATIC);
	assert_int_equal(s->latency_target_us, 1000);
	assert_int_equal(s->latency_queues, 0);
	assert_int_equal(s->adapt_interval_ms, 100);
	assert_true(s->throughput_cap == 4 * MiB);
	assert_false(s->promote_flush);
	assert_int_equal(s->poll, CONF_POLL_AUTO);
	assert_true(s->cost.read_iops == COST_DEFAULT_READ_IOPS);
	assert_true(s->cost.read_bw == COST_DEFAULT_READ_BW);
	assert_true(s->cost.write_iops == COST_DEFAULT_WRITE_IOPS);
	assert_true(s->cost.write_bw == COST_DEFAULT_WRITE_BW);
}

static void expect_defaults(const struct conf *c)
{
	assert_string_equal(c->socket_path, CONF_DEFAULT_SOCKET);
	assert_string_equal(c->socket_group, ""); /* root only */
	assert_int_equal(c->workers, 0);
	assert_int_equal(c->log_level, LOG_INFO);
	assert_int_equal(c->on_stop, CONF_ON_STOP_DELETE);
	expect_sched_defaults(&c->sched);
	assert_int_equal(c->sched.line, 0);
	assert_null(c->backends);
	assert_int_equal(c->nr_backends, 0);
	assert_null(c->tenants);
	assert_int_equal(c->nr_tenants, 0);
}

static void test_defaults(void **state)
{
	static const char *const texts[] = {
		"",
		"# only a comment\n",
		"daemon = {};\n",
		"daemon = {};\nbackends = ();\ntenants = ();\n",
		"scheduler = {};\n",
	};
	char err[256];
	struct conf c;

	(void)state;
	conf_init(&c);
	expect_defaults(&c);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		memset(&c, 0x5a, sizeof(c));
		assert_int_equal(conf_load_string(texts[i], "p", &c, err, sizeof(err)), 0);
		if (strncmp(texts[i], "scheduler", 9) == 0)
			c.sched.line = 0; /* present, if empty */
		expect_defaults(&c);
		conf_free(&c);
	}
}

/* A tenant and a backend that say nothing but what is required. */
static void test_new_key_defaults(void **state)
{
	char err[256] = "";
	struct conf c;

	(void)state;
	assert_int_equal(conf_load_string("backends = ( { name = \"b\"; path = \"/b\"; } );\n"
					  "tenants = ( { name = \"t\"; backend = \"b\"; "
					  "size = \"1G\"; } );\n",
					  "p", &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_true(c.backends[0].reserved == MiB);
	assert_int_equal(c.tenants[0].spec.cls, CONF_CLASS_BESTEFFORT);
	assert_true(c.tenants[0].spec.qos.iops_limit == 0);
	assert_true(c.tenants[0].spec.qos.bw_limit == 0);
	assert_int_equal(c.tenants[0].spec.qos.weight, CONF_DEFAULT_WEIGHT);
	assert_true(c.tenants[0].spec.qos.min_iops == 0);
	assert_true(c.tenants[0].spec.qos.min_bw == 0);
	assert_int_equal(c.tenants[0].spec.qos.latency_target_us, 0);
	assert_true(c.tenants[0].spec.recovery);
	assert_int_equal(c.daemon_line, 0);
	assert_int_equal(c.backends_line, 1);
	expect_sched_defaults(&c.sched);
	assert_int_equal(c.sched.line, 0);
	conf_free(&c);
}

static void test_limits_accepted(void **state)
{
	char text[1024], sock[CONF_SOCKET_MAX], err[256];
	struct conf c;

	(void)state;
	/* The longest socket path that still fits sun_path with its NUL. */
	memset(sock, 'a', sizeof(sock) - 1);
	sock[0] = '/';
	sock[sizeof(sock) - 1] = '\0';
	snprintf(text, sizeof(text),
		 "daemon = { socket = \"%s\"; workers = %d; log_level = \"error\"; };\n"
		 "backends = ( { name = \"b\"; path = \"/b\"; size = \"3M\"; },\n"
		 "             { name = \"r\"; path = \"/r\"; reserved = \"1G\"; } );\n"
		 "tenants = (\n"
		 "  { name = \"t1\"; backend = \"b\"; size = 4096; queues = 1; depth = 1;\n"
		 "    iops_limit = 0; bw_limit = 0; weight = 1; },\n"
		 "  { name = \"t2\"; backend = \"b\"; size = \"4K\"; queues = %d; depth = %d;\n"
		 "    iops_limit = %u; bw_limit = \"1T\"; weight = %d; }\n"
		 ");\n",
		 sock, CONF_MAX_WORKERS, CONF_MAX_QUEUES, CONF_MAX_DEPTH, CONF_MAX_IOPS_LIMIT,
		 CONF_MAX_WEIGHT);
	assert_int_equal(conf_load_string(text, "p", &c, err, sizeof(err)), 0);
	assert_string_equal(c.socket_path, sock);
	assert_int_equal(c.workers, CONF_MAX_WORKERS);
	assert_int_equal(c.log_level, LOG_ERR);
	assert_true(c.backends[1].reserved == GiB);
	/* 1 MiB reserved + two 4K tenants, 1 MiB each, fill the 3M backend exactly */
	assert_int_equal(c.nr_tenants, 2);
	assert_int_equal(c.tenants[0].spec.queues, 1);
	assert_int_equal(c.tenants[0].spec.depth, 1);
	assert_true(c.tenants[0].spec.qos.iops_limit == 0);
	assert_true(c.tenants[0].spec.qos.bw_limit == 0);
	assert_int_equal(c.tenants[0].spec.qos.weight, 1);
	assert_int_equal(c.tenants[1].spec.queues, CONF_MAX_QUEUES);
	assert_int_equal(c.tenants[1].spec.depth, CONF_MAX_DEPTH);
	assert_true(c.tenants[1].spec.qos.iops_limit == 10000000);
	assert_true(c.tenants[1].spec.qos.bw_limit == 1024 * GiB);
	assert_int_equal(c.tenants[1].spec.qos.weight, 10000);
	conf_free(&c);

	/* the scheduler's edges */
	assert_int_equal(conf_load_string("scheduler = { latency_target_us = 10; latency_queues = 0;\n"
					  "  adapt_interval_ms = 10; throughput_cap = \"128K\"; };\n",
					  "p", &c, err, sizeof(err)), 0);
	assert_int_equal(c.sched.latency_target_us, 10);
	assert_int_equal(c.sched.adapt_interval_ms, 10);
	assert_true(c.sched.throughput_cap == 128 << 10);
	conf_free(&c);
	assert_int_equal(conf_load_string("scheduler = { latency_target_us = 10000000;\n"
					  "  latency_queues = 1024; adapt_interval_ms = 60000;\n"
					  "  throughput_cap = 1073741824; };\n",
					  "p", &c, err, sizeof(err)), 0);
	assert_int_equal(c.sched.latency_target_us, 10000000);
	assert_int_equal(c.sched.latency_queues, 1024);
	assert_int_equal(c.sched.adapt_interval_ms, 60000);
	assert_true(c.sched.throughput_cap == GiB);
	conf_free(&c);
}

static void test_every_log_level(void **state)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "error", LOG_ERR }, { "warn", LOG_WARN },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	char text[128], err[256];
	struct conf c;

	(void)state;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		snprintf(text, sizeof(text), "daemon = { log_level = \"%s\"; };", levels[i].name);
		assert_int_equal(conf_load_string(text, "p", &c, err, sizeof(err)), 0);
		assert_int_equal(c.log_level, levels[i].level);
		conf_free(&c);
	}
}

/*
 * Load text that must fail with exactly `want`, and check that the output
 * struct was not touched at all.
 */
static void expect_error(const char *text, const char *want)
{
	struct conf c, before;
	char err[1024] = "";

	memset(&c, 0xa5, sizeof(c));
	memcpy(&before, &c, sizeof(c));
	assert_int_equal(conf_load_string(text, "policy.conf", &c, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_memory_equal(&c, &before, sizeof(c));
	assert_null(strchr(err, '\n'));
}

#define B1 "backends = ( { name = \"b\"; path = \"/dev/b\"; } );\n"

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_error("daemon = {\n  workers = ;\n};\n", "policy.conf:2: syntax error");
	expect_error("daemon = {\n  workers = 1;\n  workers = 2;\n};\n",
		     "policy.conf:3: syntax error: duplicate setting name");
	expect_error("\n\ntenants = ( { name = \"x\" ; );\n", "policy.conf:3: syntax error");
	/* at end of input libconfig blames the line after the last newline */
	expect_error("daemon = {\n", "policy.conf:2: syntax error");
	expect_error("daemon = { log_level = \"info; };\n", "policy.conf:2: syntax error");
	expect_error("a = 1;\nb = 2 3;\n", "policy.conf:2: syntax error");
	expect_error("@include \"other.conf\"\n",
		     "policy.conf:1: @include: not supported (keep the policy in one file)");
}

static void test_unknown_keys(void **state)
{
	(void)state;
	expect_error("deamon = {};\n",
		     "policy.conf:1: deamon: unknown key "
		     "(valid: daemon, scheduler, backends, tenants)");
	expect_error("daemon = {\n  wrokers = 2;\n};\n",
		     "policy.conf:2: daemon.wrokers: unknown key "
		     "(valid: socket, socket_group, workers, log_level, on_stop)");
	expect_error("backends = (\n  { name = \"a\"; path = \"/a\"; },\n"
		     "  { name = \"b\"; path = \"/b\"; sise = \"1G\"; }\n);\n",
		     "policy.conf:3: backends[1].sise: unknown key "
		     "(valid: name, path, size, reserved, type, controller, nsid)");
	expect_error(B1 "tenants = (\n  { name = \"t\"; backend = \"b\"; size = \"1G\";\n"
		     "    queue = 2; }\n);\n",
		     "policy.conf:4: tenants[0].queue: unknown key "
		     "(valid: name, backend, size, queues, depth, class, iops_limit, bw_limit, "
		     "weight, min_iops, min_bw, latency_target_us, recovery)");
	expect_error("scheduler = {\n  mode = \"static\";\n  latency_target = 100;\n};\n",
		     "policy.conf:3: scheduler.latency_target: unknown key "
		     "(valid: mode, latency_target_us, latency_queues, adapt_interval_ms, "
		     "throughput_cap, promote_flush, poll, cost_read_iops, cost_read_bw, "
		     "cost_write_iops, cost_write_bw)");
	/* libconfig itself refuses a key given twice in one group */
	expect_error("scheduler = {\n  mode = \"static\";\n  mode = \"daredevil\";\n};\n",
		     "policy.conf:3: syntax error: duplicate setting name");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = \"1G\";\n"
		     "  weight = 1; weight = 2; } );\n",
		     "policy.conf:3: syntax error: duplicate setting name");
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect_error("daemon = 5;\n", "policy.conf:1: daemon: must be a group: daemon = { ... };");
	expect_error("daemon = ( );\n", "policy.conf:1: daemon: must be a group: daemon = { ... };");
	expect_error("backends = { name = \"a\"; };\n",
		     "policy.conf:1: backends: must be a list: backends = ( { ... }, { ... } );");
	expect_error("backends = [];\n",
		     "policy.conf:1: backends: must be a list: backends = ( { ... }, { ... } );");
	expect_error("tenants = \"db\";\n",
		     "policy.conf:1: tenants: must be a list: tenants = ( { ... }, { ... } );");
	expect_error("backends = ( \"x\" );\n",
		     "policy.conf:1: backends[0]: must be a group: { name = \"...\"; path = \"/...\"; }");
	expect_error(B1 "tenants = (\n  { name = \"t\"; backend = \"b\"; size = \"4K\"; },\n  5\n);\n",
		     "policy.conf:4: tenants[1]: must be a group: "
		     "{ name = \"...\"; backend = \"...\"; size = \"1G\"; }");
	expect_error("daemon = { socket = 5; };\n", "policy.conf:1: daemon.socket: must be a string");
	expect_error("daemon = { workers = \"4\"; };\n",
		     "policy.conf:1: daemon.workers: must be an integer");
	expect_error("daemon = { workers = 1.5; };\n",
		     "policy.conf:1: daemon.workers: must be an integer");
	expect_error("daemon = { workers = true; };\n",
		     "policy.conf:1: daemon.workers: must be an integer");
	expect_error("daemon = { log_level = 3; };\n",
		     "policy.conf:1: daemon.log_level: must be a string");
	expect_error("backends = ( { name = 1; path = \"/a\"; } );\n",
		     "policy.conf:1: backends[0].name: must be a string");
	expect_error("backends = ( { name = \"a\"; path = false; } );\n",
		     "policy.conf:1: backends[0].path: must be a string");
	expect_error("backends = ( { name = \"a\"; path = \"/a\"; size = 1.5; } );\n",
		     "policy.conf:1: backends[0].size: must be a size: a string like \"4G\" or an integer");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = 0; size = \"1G\"; } );\n",
		     "policy.conf:2: tenants[0].backend: must be a string");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = { }; } );\n",
		     "policy.conf:2: tenants[0].size: must be a size: a string like \"4G\" or an integer");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = \"4K\"; queues = \"2\"; } );\n",
		     "policy.conf:2: tenants[0].queues: must be an integer");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = \"4K\"; depth = 64.0; } );\n",
		     "policy.conf:2: tenants[0].depth: must be an integer");
}

#define T1(extra) B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = \"1G\"; " extra " } );\n"

static void test_new_key_types(void **state)
{
	(void)state;
	expect_error("scheduler = 1;\n",
		     "policy.conf:1: scheduler: must be a group: scheduler = { ... };");
	expect_error("scheduler = ( { mode = \"static\"; } );\n",
		     "policy.conf:1: scheduler: must be a group: scheduler = { ... };");
	expect_error("scheduler = { mode = 1; };\n", "policy.conf:1: scheduler.mode: must be a string");
	expect_error("scheduler = { latency_target_us = \"1ms\"; };\n",
		     "policy.conf:1: scheduler.latency_target_us: must be an integer");
	expect_error("scheduler = { latency_queues = 2.0; };\n",
		     "policy.conf:1: scheduler.latency_queues: must be an integer");
	expect_error("scheduler = { adapt_interval_ms = true; };\n",
		     "policy.conf:1: scheduler.adapt_interval_ms: must be an integer");
	expect_error("scheduler = { throughput_cap = 1.5; };\n",
		     "policy.conf:1: scheduler.throughput_cap: must be a size: a string like \"4G\" "
		     "or an integer");
	expect_error("scheduler = { promote_flush = 1; };\n",
		     "policy.conf:1: scheduler.promote_flush: must be a boolean (true or false)");
	expect_error("scheduler = { promote_flush = \"yes\"; };\n",
		     "policy.conf:1: scheduler.promote_flush: must be a boolean (true or false)");
	expect_error("backends = ( { name = \"a\"; path = \"/a\"; reserved = true; } );\n",
		     "policy.conf:1: backends[0].reserved: must be a size: a string like \"4G\" "
		     "or an integer");
	expect_error(T1("class = 1;"), "policy.conf:2: tenants[0].class: must be a string");
	expect_error(T1("iops_limit = \"1000\";"),
		     "policy.conf:2: tenants[0].iops_limit: must be an integer");
	expect_error(T1("bw_limit = [ 1 ];"),
		     "policy.conf:2: tenants[0].bw_limit: must be a size: a string like \"4G\" "
		     "or an integer");
	expect_error(T1("weight = 1.5;"), "policy.conf:2: tenants[0].weight: must be an integer");
	expect_error(T1("recovery = \"true\";"),
		     "policy.conf:2: tenants[0].recovery: must be a boolean (true or false)");
	expect_error(T1("recovery = 0;"),
		     "policy.conf:2: tenants[0].recovery: must be a boolean (true or false)");
}

static void test_tenant_service_values(void **state)
{
	char err[256];
	struct conf c;

	(void)state;
	expect_error(T1("class = \"gold\";"),
		     "policy.conf:2: tenants[0].class: \"gold\" is not a class "
		     "(use besteffort, latency, throughput)");
	expect_error(T1("class = \"Latency\";"),
		     "policy.conf:2: tenants[0].class: \"Latency\" is not a class "
		     "(use besteffort, latency, throughput)");
	expect_error(T1("iops_limit = -1;"),
		     "policy.conf:2: tenants[0].iops_limit: -1 is out of range (0..10000000)");
	expect_error(T1("iops_limit = 10000001;"),
		     "policy.conf:2: tenants[0].iops_limit: 10000001 is out of range (0..10000000)");
	expect_error(T1("bw_limit = 4095;"),
		     "policy.conf:2: tenants[0].bw_limit: 4095 bytes is out of range "
		     "(0 or 4 KiB..1 TiB)");
	expect_error(T1("bw_limit = \"2K\";"),
		     "policy.conf:2: tenants[0].bw_limit: 2 KiB is out of range (0 or 4 KiB..1 TiB)");
	expect_error(T1("bw_limit = \"1025G\";"),
		     "policy.conf:2: tenants[0].bw_limit: 1025 GiB is out of range "
		     "(0 or 4 KiB..1 TiB)");
	expect_error(T1("bw_limit = -4096;"), "policy.conf:2: tenants[0].bw_limit: must be >= 0");
	expect_error(T1("bw_limit = \"100Mb/s\";"),
		     "policy.conf:2: tenants[0].bw_limit: \"100Mb/s\" is not a size "
		     "(use 512, 4K, 64M, 1G, 2T)");
	expect_error(T1("weight = 0;"),
		     "policy.conf:2: tenants[0].weight: 0 is out of range (1..10000)");
	expect_error(T1("weight = 10001;"),
		     "policy.conf:2: tenants[0].weight: 10001 is out of range (1..10000)");

	/* 0 is "unlimited", as a string too; every class spelled as conf_class_name() */
	assert_int_equal(conf_load_string(T1("iops_limit = 0; bw_limit = \"0\"; recovery = true;"),
					  "p", &c, err, sizeof(err)), 0);
	assert_true(c.tenants[0].spec.qos.iops_limit == 0 && c.tenants[0].spec.qos.bw_limit == 0);
	assert_true(c.tenants[0].spec.recovery);
	conf_free(&c);
	for (int cls = CONF_CLASS_BESTEFFORT; cls <= CONF_CLASS_THROUGHPUT; cls++) {
		char text[256], line[64];

		snprintf(line, sizeof(line), "class = \"%s\";", conf_class_name((enum conf_class)cls));
		snprintf(text, sizeof(text), T1("%s"), line);
		assert_int_equal(conf_load_string(text, "p", &c, err, sizeof(err)), 0);
		assert_int_equal(c.tenants[0].spec.cls, cls);
		conf_free(&c);
	}
}

static void test_scheduler_values(void **state)
{
	char err[256];
	struct conf c;

	(void)state;
	expect_error("scheduler = {\n  mode = \"fifo\";\n};\n",
		     "policy.conf:2: scheduler.mode: \"fifo\" is not a scheduler mode "
		     "(use static, daredevil)");
	expect_error("scheduler = { latency_target_us = 9; };\n",
		     "policy.conf:1: scheduler.latency_target_us: 9 is out of range (10..10000000)");
	expect_error("scheduler = { latency_target_us = 10000001; };\n",
		     "policy.conf:1: scheduler.latency_target_us: 10000001 is out of range "
		     "(10..10000000)");
	expect_error("scheduler = { latency_queues = -1; };\n",
		     "policy.conf:1: scheduler.latency_queues: -1 is out of range (0..1024)");
	expect_error("scheduler = { latency_queues = 1025; };\n",
		     "policy.conf:1: scheduler.latency_queues: 1025 is out of range (0..1024)");
	expect_error("scheduler = { adapt_interval_ms = 9; };\n",
		     "policy.conf:1: scheduler.adapt_interval_ms: 9 is out of range (10..60000)");
	expect_error("scheduler = { adapt_interval_ms = 60001; };\n",
		     "policy.conf:1: scheduler.adapt_interval_ms: 60001 is out of range (10..60000)");
	expect_error("scheduler = { throughput_cap = \"64K\"; };\n",
		     "policy.conf:1: scheduler.throughput_cap: 64 KiB is out of range "
		     "(128 KiB..1 GiB)");
	expect_error("scheduler = { throughput_cap = \"1025M\"; };\n",
		     "policy.conf:1: scheduler.throughput_cap: 1025 MiB is out of range "
		     "(128 KiB..1 GiB)");
	expect_error("scheduler = { throughput_cap = 0; };\n",
		     "policy.conf:1: scheduler.throughput_cap: must be > 0");
	for (int m = CONF_SCHED_STATIC; m <= CONF_SCHED_DAREDEVIL; m++) {
		char text[128];

		snprintf(text, sizeof(text), "\n\nscheduler = { mode = \"%s\"; };\n",
			 conf_sched_mode_name((enum conf_sched_mode)m));
		assert_int_equal(conf_load_string(text, "p", &c, err, sizeof(err)), 0);
		assert_int_equal(c.sched.mode, m);
		assert_int_equal(c.sched.line, 3);
		conf_free(&c);
	}
	expect_error("scheduler = {\n  poll = \"sometimes\";\n};\n",
		     "policy.conf:2: scheduler.poll: \"sometimes\" is not a poll setting "
		     "(use auto, always, never)");
	expect_error("scheduler = { poll = true; };\n",
		     "policy.conf:1: scheduler.poll: must be a string");
	for (int m = CONF_POLL_AUTO; m <= CONF_POLL_NEVER; m++) {
		char text[128];

		snprintf(text, sizeof(text), "scheduler = { poll = \"%s\"; };\n",
			 conf_poll_name((enum conf_poll)m));
		assert_int_equal(conf_load_string(text, "p", &c, err, sizeof(err)), 0);
		assert_int_equal(c.sched.poll, m);
		conf_free(&c);
	}
}

/* A group is looked up by name when the policy loads: its gid is kept. */
static void test_socket_group(void **state)
{
	struct group *g;
	char text[128], err[512] = "";
	struct conf c;

	(void)state;
	setgrent();
	while ((g = getgrent()) && (g->gr_gid == 0 || strlen(g->gr_name) > 32 ||
				    strpbrk(g->gr_name, ":$ ")))
		;
	if (!g) {
		endgrent();
		skip();
	}
	snprintf(text, sizeof(text), "daemon = { socket_group = \"%s\"; };\n", g->gr_name);
	assert_int_equal(conf_load_string(text, "policy.conf", &c, err, sizeof(err)), 0);
	assert_string_equal(c.socket_group, g->gr_name);
	assert_int_equal(c.socket_gid, g->gr_gid);
	endgrent();
	conf_free(&c);
}

#define BAD_GROUP " is not a group name (1 to 32 of A-Z a-z 0-9 _ . -, not starting with -)"

static void test_daemon_values(void **state)
{
	char text[256], want[256], sock[CONF_SOCKET_MAX + 1];

	(void)state;
	expect_error("daemon = {\n  socket = \"run/ctl.sock\";\n};\n",
		     "policy.conf:2: daemon.socket: must be an absolute path");
	expect_error("daemon = { socket = \"\"; };\n",
		     "policy.conf:1: daemon.socket: must be an absolute path");
	memset(sock, 'a', sizeof(sock) - 1);
	sock[0] = '/';
	sock[sizeof(sock) - 1] = '\0'; /* CONF_SOCKET_MAX chars: no room for the NUL */
	snprintf(text, sizeof(text), "daemon = { socket = \"%s\"; };\n", sock);
	snprintf(want, sizeof(want), "policy.conf:1: daemon.socket: too long (%d bytes, max %d)",
		 CONF_SOCKET_MAX, CONF_SOCKET_MAX - 1);
	expect_error(text, want);

	/* the tenant table moved onto the backends: any state_file is refused */
	expect_error("daemon = {\n  workers = 2;\n"
		     "  state_file = \"/var/lib/ddublk/state.json\";\n};\n",
		     "policy.conf:3: daemon.state_file: no longer supported: the tenant table "
		     "lives in each backend's reserved region");
	expect_error("daemon = { state_file = [\"/a\"]; };\n",
		     "policy.conf:1: daemon.state_file: no longer supported: the tenant table "
		     "lives in each backend's reserved region");

	expect_error("daemon = { workers = -1; };\n",
		     "policy.conf:1: daemon.workers: -1 is out of range (0..256)");
	expect_error("daemon = { workers = 257; };\n",
		     "policy.conf:1: daemon.workers: 257 is out of range (0..256)");
	expect_error("daemon = { workers = 4294967297L; };\n",
		     "policy.conf:1: daemon.workers: 4294967297 is out of range (0..256)");
	expect_error("daemon = {\n  log_level = \"verbose\";\n};\n",
		     "policy.conf:2: daemon.log_level: \"verbose\" is not a log level "
		     "(use error, warn, info, debug)");
	expect_error("daemon = { log_level = \"INFO\"; };\n",
		     "policy.conf:1: daemon.log_level: \"INFO\" is not a log level "
		     "(use error, warn, info, debug)");
	expect_error("daemon = {\n  on_stop = \"detach\";\n};\n",
		     "policy.conf:2: daemon.on_stop: \"detach\" is not a stop action "
		     "(use delete, keep)");
	expect_error("daemon = { on_stop = true; };\n",
		     "policy.conf:1: daemon.on_stop: must be a string");

	/* socket_group: a group that exists here, by name */
	expect_error("daemon = {\n  socket_group = \"no-such-group.ddublk\";\n};\n",
		     "policy.conf:2: daemon.socket_group: no group \"no-such-group.ddublk\" on this "
		     "system (create it, or leave socket_group out: root only)");
	expect_error("daemon = { socket_group = 0; };\n",
		     "policy.conf:1: daemon.socket_group: must be a string");
	expect_error("daemon = { socket_group = \"\"; };\n",
		     "policy.conf:1: daemon.socket_group: \"\"" BAD_GROUP);
	expect_error("daemon = { socket_group = \"wheel:x\"; };\n",
		     "policy.conf:1: daemon.socket_group: \"wheel:x\"" BAD_GROUP);
	expect_error("daemon = { socket_group = \"-root\"; };\n",
		     "policy.conf:1: daemon.socket_group: \"-root\"" BAD_GROUP);
	expect_error("daemon = { socket_group = \"abcdefghijklmnopqrstuvwxyz0123456\"; };\n",
		     "policy.conf:1: daemon.socket_group: \"abcdefghijklmnopqrstuvwxyz0123456\""
		     BAD_GROUP);
}

#define BAD_NAME " is not a valid name (1 to 63 of A-Z a-z 0-9 _ . -, not \".\" or \"..\")"

static void test_backend_values(void **state)
{
	char text[PATH_MAX + 128], want[256], *long_path;

	(void)state;
	expect_error("backends = (\n  { path = \"/a\"; }\n);\n",
		     "policy.conf:2: backends[0].name: missing");
	expect_error("backends = (\n  { name = \"a\"; }\n);\n",
		     "policy.conf:2: backends[0].path: missing");
	expect_error("backends = ( { name = \"a/b\"; path = \"/a\"; } );\n",
		     "policy.conf:1: backends[0].name: \"a/b\"" BAD_NAME);
	expect_error("backends = ( { name = \"\"; path = \"/a\"; } );\n",
		     "policy.conf:1: backends[0].name: \"\"" BAD_NAME);
	expect_error("backends = ( { name = \"..\"; path = \"/a\"; } );\n",
		     "policy.conf:1: backends[0].name: \"..\"" BAD_NAME);
	expect_error("backends = ( { name = \"a b\"; path = \"/a\"; } );\n",
		     "policy.conf:1: backends[0].name: \"a b\"" BAD_NAME);
	/* control characters are escaped: the message stays on one line */
	expect_error("backends = ( { name = \"a\\nb\\\"\"; path = \"/a\"; } );\n",
		     "policy.conf:1: backends[0].name: \"a\\x0ab\\\"\"" BAD_NAME);
	expect_error("backends = ( { name = \"a\"; path = \"dev/a\"; } );\n",
		     "policy.conf:1: backends[0].path: must be an absolute path");
	long_path = malloc(PATH_MAX + 1);
	assert_non_null(long_path);
	memset(long_path, 'p', PATH_MAX);
	long_path[0] = '/';
	long_path[PATH_MAX] = '\0';
	snprintf(text, sizeof(text), "backends = ( { name = \"a\"; path = \"%s\"; } );\n",
		 long_path);
	snprintf(want, sizeof(want), "policy.conf:1: backends[0].path: too long (%d bytes, max %d)",
		 PATH_MAX, PATH_MAX - 1);
	expect_error(text, want);
	free(long_path);

	expect_error("backends = ( { name = \"a\"; path = \"/a\"; size = \"8X\"; } );\n",
		     "policy.conf:1: backends[0].size: \"8X\" is not a size (use 512, 4K, 64M, 1G, 2T)");
	expect_error("backends = ( { name = \"a\"; path = \"/a\"; size = \"\"; } );\n",
		     "policy.conf:1: backends[0].size: \"\" is not a size (use 512, 4K, 64M, 1G, 2T)");
	expect_error("backends = ( { name = \"a\"; path = \"/a\"; size = 0; } );\n",
		     "policy.conf:1: backends[0].size: must be > 0");
	expect_error("backends = ( { name = \"a\"; path = \"/a\"; size = \"0G\"; } );\n",
		     "policy.conf:1: backends[0].size: must be > 0");
	expect_error("backends = ( { name = \"a\"; path = \"/a\"; size = -4096; } );\n",
		     "policy.conf:1: backends[0].size: must be > 0");
	expect_error("backends = ( { name = \"a\"; path = \"/a\"; size = \"99999999T\"; } );\n",
		     "policy.conf:1: backends[0].size: \"99999999T\" is too large (must be under 8 EiB)");
	expect_error("backends = ( { name = \"a\"; path = \"/a\"; size = \"99999999999999999999\"; } );\n",
		     "policy.conf:1: backends[0].size: \"99999999999999999999\" is too large "
		     "(must be under 8 EiB)");
}

#define BR(extra) "backends = ( { name = \"a\"; path = \"/a\"; " extra " } );\n"

static void test_backend_reserved(void **state)
{
	char err[256];
	struct conf c;

	(void)state;
	expect_error(BR("reserved = \"512K\";"),
		     "policy.conf:1: backends[0].reserved: 512 KiB is out of range (1 MiB..1 GiB)");
	expect_error(BR("reserved = \"2G\";"),
		     "policy.conf:1: backends[0].reserved: 2 GiB is out of range (1 MiB..1 GiB)");
	expect_error(BR("reserved = 0;"), "policy.conf:1: backends[0].reserved: must be > 0");
	expect_error(BR("reserved = \"1536K\";"),
		     "policy.conf:1: backends[0].reserved: 1536 KiB is not a multiple of 1 MiB");
	expect_error(BR("reserved = 1052672;"),
		     "policy.conf:1: backends[0].reserved: 1028 KiB is not a multiple of 1 MiB");
	/* a sized file must hold the reserved region and one tenant's MiB */
	expect_error("backends = (\n  { name = \"a\"; path = \"/a\";\n    size = \"8K\"; }\n);\n",
		     "policy.conf:3: backends[0].size: 8 KiB is too small (at least 2 MiB: the "
		     "reserved 1 MiB plus 1 MiB for a tenant)");
	expect_error(BR("size = \"4M\"; reserved = \"4M\";"),
		     "policy.conf:1: backends[0].size: 4 MiB is too small (at least 5 MiB: the "
		     "reserved 4 MiB plus 1 MiB for a tenant)");
	/* on a namespace or device (no size) any valid reservation loads */
	assert_int_equal(conf_load_string(BR("reserved = \"16M\";")
					  "tenants = ( { name = \"t\"; backend = \"a\"; "
					  "size = \"4K\"; } );\n",
					  "p", &c, err, sizeof(err)), 0);
	assert_true(c.backends[0].reserved == 16 * MiB);
	conf_free(&c);
	assert_int_equal(conf_load_string(BR("size = \"2M\"; reserved = 1048576;"), "p", &c, err,
					  sizeof(err)), 0);
	assert_true(c.backends[0].reserved == MiB && c.backends[0].size == 2 * MiB);
	conf_free(&c);
}

static void test_backend_types(void **state)
{
	char err[512] = "";
	struct conf c;

	(void)state;
	assert_int_equal(conf_load_string(
		"backends = (\n"
		"  { name = \"a\"; path = \"/dev/nvme0n1\"; },\n"
		"  { name = \"b\"; path = \"/dev/nvme0n1\"; type = \"file\"; },\n"
		"  { name = \"c\"; path = \"/dev/ng0n1\"; type = \"nvme\"; },\n"
		"  { name = \"d\"; controller = \"nvme12\"; nsid = 3; },\n"
		"  { name = \"e\"; controller = \"nvme0\"; nsid = 1; type = \"auto\"; },\n"
		"  { name = \"f\"; controller = \"nvme0\"; nsid = 4294967294L; type = \"nvme\"; }\n"
		");\n", "policy.conf", &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(c.nr_backends, 6);
	assert_int_equal(c.backends[0].type, CONF_BACKEND_AUTO);
	assert_string_equal(c.backends[0].controller, "");
	assert_int_equal(c.backends[0].nsid, 0);
	assert_int_equal(c.backends[1].type, CONF_BACKEND_FILE);
	assert_int_equal(c.backends[2].type, CONF_BACKEND_NVME);
	assert_string_equal(c.backends[3].path, "");
	assert_string_equal(c.backends[3].controller, "nvme12");
	assert_int_equal(c.backends[3].nsid, 3);
	assert_int_equal(c.backends[3].type, CONF_BACKEND_AUTO);
	assert_int_equal(c.backends[5].nsid, 4294967294u);
	assert_int_equal(c.backends[5].type, CONF_BACKEND_NVME);
	conf_free(&c);
	assert_string_equal(conf_backend_type_name(CONF_BACKEND_AUTO), "auto");
	assert_string_equal(conf_backend_type_name(CONF_BACKEND_FILE), "file");
	assert_string_equal(conf_backend_type_name(CONF_BACKEND_NVME), "nvme");
	assert_string_equal(conf_backend_type_name(CONF_BACKEND_NULL), "null");
}

/* A null backend: no storage to name, its size required. */
static void test_backend_null(void **state)
{
	char err[512] = "";
	struct conf c;

	(void)state;
	assert_int_equal(conf_load_string(
		"backends = ( { name = \"z\"; type = \"null\"; size = \"16G\"; } );\n"
		"tenants = ( { name = \"t\"; backend = \"z\"; size = \"1G\"; } );\n",
		"policy.conf", &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(c.backends[0].type, CONF_BACKEND_NULL);
	assert_true(c.backends[0].size == 16ULL << 30);
	assert_string_equal(c.backends[0].path, "");
	conf_free(&c);
	expect_error("backends = ( { name = \"z\"; type = \"null\"; } );\n",
		     "policy.conf:1: backends[0].size: missing (a \"null\" backend is as large "
		     "as its size, like size = \"16G\";)");
	expect_error("backends = ( { name = \"z\"; type = \"null\"; size = \"1G\";\n"
		     "  path = \"/dev/nvme0n1\"; } );\n",
		     "policy.conf:2: backends[0].path: not for a \"null\" backend (it has no "
		     "storage)");
	expect_error("backends = ( { name = \"z\"; type = \"null\"; size = \"1G\";\n"
		     "  controller = \"nvme0\"; nsid = 1; } );\n",
		     "policy.conf:2: backends[0].controller: not for a \"null\" backend (it has "
		     "no storage)");
	expect_error("backends = ( { name = \"z\"; type = \"null\"; size = \"2M\"; "
		     "reserved = \"2M\"; } );\n",
		     "policy.conf:1: backends[0].size: 2 MiB is too small (at least 3 MiB: the "
		     "reserved 2 MiB plus 1 MiB for a tenant)");
}

static void test_backend_type_errors(void **state)
{
	(void)state;
	expect_error("backends = ( { name = \"a\"; path = \"/a\"; type = \"spdk\"; } );\n",
		     "policy.conf:1: backends[0].type: \"spdk\" is not a backend type "
		     "(use auto, file, nvme, null)");
	expect_error("backends = ( { name = \"a\"; path = \"/a\"; type = \"NVME\"; } );\n",
		     "policy.conf:1: backends[0].type: \"NVME\" is not a backend type "
		     "(use auto, file, nvme, null)");
	expect_error("backends = ( { name = \"a\"; path = \"/a\"; type = 1; } );\n",
		     "policy.conf:1: backends[0].type: must be a string");
	/* exactly one of path and controller + nsid */
	expect_error("backends = (\n  { name = \"a\"; path = \"/dev/nvme0n1\";\n"
		     "    controller = \"nvme0\"; nsid = 1; }\n);\n",
		     "policy.conf:3: backends[0].controller: give either path or controller + nsid, "
		     "not both");
	expect_error("backends = (\n  { name = \"a\"; path = \"/dev/nvme0n1\";\n"
		     "    nsid = 1; }\n);\n",
		     "policy.conf:3: backends[0].nsid: give either path or controller + nsid, "
		     "not both");
	expect_error("backends = (\n  { name = \"a\"; controller = \"nvme0\"; }\n);\n",
		     "policy.conf:2: backends[0].nsid: missing (controller needs the namespace id, "
		     "like nsid = 1;)");
	expect_error("backends = (\n  { name = \"a\";\n    nsid = 2; }\n);\n",
		     "policy.conf:2: backends[0].controller: missing (nsid needs the controller, "
		     "like controller = \"nvme0\";)");
	expect_error("backends = ( { name = \"a\"; } );\n",
		     "policy.conf:1: backends[0].path: missing");
	/* the controller is named as in /dev */
	expect_error("backends = ( { name = \"a\"; controller = \"/dev/nvme0\"; nsid = 1; } );\n",
		     "policy.conf:1: backends[0].controller: \"/dev/nvme0\" is not an NVMe "
		     "controller name (like \"nvme0\")");
	expect_error("backends = ( { name = \"a\"; controller = \"nvme\"; nsid = 1; } );\n",
		     "policy.conf:1: backends[0].controller: \"nvme\" is not an NVMe "
		     "controller name (like \"nvme0\")");
	expect_error("backends = ( { name = \"a\"; controller = \"nvme0n1\"; nsid = 1; } );\n",
		     "policy.conf:1: backends[0].controller: \"nvme0n1\" is not an NVMe "
		     "controller name (like \"nvme0\")");
	expect_error("backends = ( { name = \"a\"; controller = 0; nsid = 1; } );\n",
		     "policy.conf:1: backends[0].controller: must be a string");
	expect_error("backends = ( { name = \"a\"; controller = \"nvme0\"; nsid = 0; } );\n",
		     "policy.conf:1: backends[0].nsid: 0 is out of range (1..4294967294)");
	expect_error("backends = ( { name = \"a\"; controller = \"nvme0\"; nsid = 4294967295L; } );\n",
		     "policy.conf:1: backends[0].nsid: 4294967295 is out of range (1..4294967294)");
	expect_error("backends = ( { name = \"a\"; controller = \"nvme0\"; nsid = \"1\"; } );\n",
		     "policy.conf:1: backends[0].nsid: must be an integer");
	expect_error("backends = (\n  { name = \"a\"; controller = \"nvme0\"; nsid = 1;\n"
		     "    type = \"file\"; }\n);\n",
		     "policy.conf:3: backends[0].type: \"file\" needs a path (controller + nsid is "
		     "served by passthrough)");
	/* a namespace has its own size */
	expect_error("backends = ( { name = \"a\"; controller = \"nvme0\"; nsid = 1; size = \"1G\"; } );\n",
		     "policy.conf:1: backends[0].size: only for regular files (an NVMe namespace "
		     "has its own size)");
	expect_error("backends = ( { name = \"a\"; path = \"/dev/ng0n1\"; type = \"nvme\"; size = 4096; } );\n",
		     "policy.conf:1: backends[0].size: only for regular files (an NVMe namespace "
		     "has its own size)");
}

static void test_duplicate_names(void **state)
{
	(void)state;
	expect_error("backends = (\n"
		     "  { name = \"img\"; path = \"/a\"; },\n"
		     "  { name = \"other\"; path = \"/b\"; },\n"
		     "  {\n"
		     "    path = \"/c\";\n"
		     "    name = \"img\";\n"
		     "  }\n"
		     ");\n",
		     "policy.conf:6: backends[2].name: duplicate backend name \"img\" "
		     "(first defined at line 2)");
	expect_error(B1
		     "tenants = (\n"
		     "  { name = \"web\"; backend = \"b\"; size = \"1G\"; },\n"
		     "  { name = \"db\"; backend = \"b\"; size = \"1G\"; },\n"
		     "  { name = \"db\"; backend = \"b\"; size = \"2G\"; }\n"
		     ");\n",
		     "policy.conf:5: tenants[2].name: duplicate tenant name \"db\" "
		     "(first defined at line 4)");
	/* a tenant may share its name with a backend: different namespaces */
	{
		char err[256];
		struct conf c;

		assert_int_equal(conf_load_string(B1 "tenants = ( { name = \"b\"; backend = \"b\"; "
						  "size = \"4K\"; } );\n",
						  "p", &c, err, sizeof(err)), 0);
		conf_free(&c);
	}
}

static void test_tenant_values(void **state)
{
	(void)state;
	expect_error(B1 "tenants = (\n  { backend = \"b\"; size = \"1G\"; }\n);\n",
		     "policy.conf:3: tenants[0].name: missing");
	expect_error(B1 "tenants = (\n  { name = \"t\"; size = \"1G\"; }\n);\n",
		     "policy.conf:3: tenants[0].backend: missing");
	expect_error(B1 "tenants = (\n  { name = \"t\"; backend = \"b\"; }\n);\n",
		     "policy.conf:3: tenants[0].size: missing");
	expect_error(B1 "tenants = ( { name = \"t:1\"; backend = \"b\"; size = \"1G\"; } );\n",
		     "policy.conf:2: tenants[0].name: \"t:1\"" BAD_NAME);
	expect_error(B1 "tenants = ( { name = \"" /* 64 chars */
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "\"; backend = \"b\"; size = \"1G\"; } );\n",
		     "policy.conf:2: tenants[0].name: \""
		     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"" BAD_NAME);
	expect_error("backends = (\n"
		     "  { name = \"nvme0\"; path = \"/dev/nvme0n1\"; },\n"
		     "  { name = \"img\"; path = \"/srv/pool.img\"; }\n"
		     ");\n"
		     "tenants = (\n"
		     "  { name = \"t\"; backend = \"nvme1\"; size = \"1G\"; }\n"
		     ");\n",
		     "policy.conf:6: tenants[0].backend: no backend named \"nvme1\" "
		     "(defined: nvme0, img)");
	expect_error("tenants = ( { name = \"t\"; backend = \"b\"; size = \"1G\"; } );\n",
		     "policy.conf:1: tenants[0].backend: no backend named \"b\" "
		     "(no backends are defined)");
	/* the example from the policy documentation: line 7, second tenant */
	expect_error("daemon = {\n"
		     "  workers = 2;\n"
		     "};\n"
		     B1
		     "tenants = (\n"
		     "  { name = \"a\"; backend = \"b\"; size = \"1G\"; },\n"
		     "  { name = \"c\"; backend = \"b\"; size = \"12Q\"; }\n"
		     ");\n",
		     "policy.conf:7: tenants[1].size: \"12Q\" is not a size (use 512, 4K, 64M, 1G, 2T)");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = 0; } );\n",
		     "policy.conf:2: tenants[0].size: must be > 0");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = \"0\"; } );\n",
		     "policy.conf:2: tenants[0].size: must be > 0");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = -4096; } );\n",
		     "policy.conf:2: tenants[0].size: must be > 0");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = 4097; } );\n",
		     "policy.conf:2: tenants[0].size: 4097 bytes is not a multiple of 4 KiB");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = \"5K\"; } );\n",
		     "policy.conf:2: tenants[0].size: 5 KiB is not a multiple of 4 KiB");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = \"512\"; } );\n",
		     "policy.conf:2: tenants[0].size: 512 bytes is not a multiple of 4 KiB");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = \"1G\"; queues = 0; } );\n",
		     "policy.conf:2: tenants[0].queues: 0 is out of range (1..64)");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = \"1G\"; queues = 65; } );\n",
		     "policy.conf:2: tenants[0].queues: 65 is out of range (1..64)");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = \"1G\"; depth = 0; } );\n",
		     "policy.conf:2: tenants[0].depth: 0 is out of range (1..1024)");
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = \"1G\";\n"
		     "  depth = 1025; } );\n",
		     "policy.conf:3: tenants[0].depth: 1025 is out of range (1..1024)");
}

#define ROOM_NOTE " reserved, each tenant rounded up to 1 MiB)"

static void test_oversubscribed_backend(void **state)
{
	char err[256];
	struct conf c;

	(void)state;
	/* the reserved MiB counts: 5G + 3G no longer fit in 8G */
	expect_error("backends = (\n"
		     "  { name = \"img\"; path = \"/srv/pool.img\"; size = \"8G\"; },\n"
		     "  { name = \"dev\"; path = \"/dev/sda\"; }\n"
		     ");\n"
		     "tenants = (\n"
		     "  { name = \"a\"; backend = \"img\"; size = \"5G\"; },\n"
		     "  { name = \"x\"; backend = \"dev\"; size = \"1T\"; },\n"
		     "  {\n"
		     "    name = \"b\"; backend = \"img\"; size = \"3G\";\n"
		     "  },\n"
		     "  { name = \"c\"; backend = \"img\"; size = \"4K\"; }\n"
		     ");\n",
		     "policy.conf:8: tenants[2]: tenants on backend \"img\" need 8193 MiB but "
		     "it holds 8 GiB (1 MiB" ROOM_NOTE);
	/* each tenant takes whole MiB: three 4K tenants need 3 MiB + 1 MiB reserved */
	expect_error("backends = ( { name = \"img\"; path = \"/i\"; size = \"3M\"; } );\n"
		     "tenants = (\n"
		     "  { name = \"a\"; backend = \"img\"; size = \"4K\"; },\n"
		     "  { name = \"b\"; backend = \"img\"; size = \"4K\"; },\n"
		     "  { name = \"c\"; backend = \"img\"; size = \"4K\"; }\n"
		     ");\n",
		     "policy.conf:5: tenants[2]: tenants on backend \"img\" need 4 MiB but it "
		     "holds 3 MiB (1 MiB" ROOM_NOTE);
	expect_error("backends = ( { name = \"img\"; path = \"/i\"; size = \"1G\";\n"
		     "  reserved = \"64M\"; } );\n"
		     "tenants = ( { name = \"a\"; backend = \"img\"; size = \"961M\"; } );\n",
		     "policy.conf:3: tenants[0]: tenants on backend \"img\" need 1025 MiB but "
		     "it holds 1 GiB (64 MiB" ROOM_NOTE);
	expect_error("backends = ( { name = \"img\"; path = \"/i\"; size = \"1G\"; } );\n"
		     "tenants = ( { name = \"a\"; backend = \"img\"; size = \"2G\"; } );\n",
		     "policy.conf:2: tenants[0]: tenants on backend \"img\" need 2049 MiB "
		     "but it holds 1 GiB (1 MiB" ROOM_NOTE);
	/* exactly full loads */
	assert_int_equal(conf_load_string("backends = ( { name = \"i\"; path = \"/i\";\n"
					  "  size = \"1G\"; reserved = \"64M\"; } );\n"
					  "tenants = (\n"
					  "  { name = \"a\"; backend = \"i\"; size = \"900M\"; },\n"
					  "  { name = \"b\"; backend = \"i\"; size = \"59M\"; },\n"
					  "  { name = \"c\"; backend = \"i\"; size = 4096; } );\n",
					  "p", &c, err, sizeof(err)), 0);
	conf_free(&c);
	/* a backend without a size cannot be checked here: any amount loads */
	assert_int_equal(conf_load_string("backends = ( { name = \"d\"; path = \"/dev/d\"; } );\n"
					  "tenants = (\n"
					  "  { name = \"a\"; backend = \"d\"; size = \"8T\"; },\n"
					  "  { name = \"b\"; backend = \"d\"; size = \"8T\"; }\n"
					  ");\n", "p", &c, err, sizeof(err)), 0);
	conf_free(&c);
}

#define DD "scheduler = { mode = \"daredevil\"; };\n"
/* T1 with the scheduler that keeps reservations: the tenant is on line 3 */
#define TD(extra) DD T1(extra)

/* The reservation and latency keys, with the scheduler after the tenants. */
static void test_slo_keys(void **state)
{
	char err[256] = "";
	struct conf c;

	(void)state;
	assert_int_equal(conf_load_string(
		"backends = ( { name = \"a\"; path = \"/a\"; }, { name = \"b\"; path = \"/b\"; } );\n"
		"tenants = (\n"
		"  { name = \"t0\"; backend = \"a\"; size = \"1G\"; class = \"latency\";\n"
		"    min_iops = 5000; min_bw = \"50M\"; latency_target_us = 300; },\n"
		"  { name = \"t1\"; backend = \"a\"; size = \"1G\"; latency_target_us = 10;\n"
		"    min_iops = 0; min_bw = 0; },\n"
		"  { name = \"t2\"; backend = \"b\"; size = \"1G\"; iops_limit = 1000;\n"
		"    min_iops = 1000; bw_limit = \"10M\"; min_bw = \"10M\";\n"
		"    latency_target_us = 10000000; },\n"
		"  { name = \"t3\"; backend = \"b\"; size = \"1G\"; min_bw = 4096;\n"
		"    latency_target_us = 0; }\n"
		");\n"
		"scheduler = { mode = \"daredevil\"; cost_read_iops = 500000; cost_read_bw = \"4G\";\n"
		"  cost_write_iops = 200000L; cost_write_bw = 1000000000000L; };\n",
		"p", &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(c.sched.mode, CONF_SCHED_DAREDEVIL);
	assert_true(c.sched.cost.read_iops == 500000);
	assert_true(c.sched.cost.read_bw == 4 * GiB);
	assert_true(c.sched.cost.write_iops == 200000);
	assert_true(c.sched.cost.write_bw == 1000000000000ULL);
	assert_true(c.tenants[0].spec.qos.min_iops == 5000);
	assert_true(c.tenants[0].spec.qos.min_bw == 50 * MiB);
	assert_int_equal(c.tenants[0].spec.qos.latency_target_us, 300);
	assert_true(c.tenants[1].spec.qos.min_iops == 0);
	assert_true(c.tenants[1].spec.qos.min_bw == 0);
	assert_int_equal(c.tenants[1].spec.qos.latency_target_us, 10);
	/* a reservation may be as large as the limit */
	assert_true(c.tenants[2].spec.qos.min_iops == 1000);
	assert_true(c.tenants[2].spec.qos.min_bw == 10 * MiB);
	assert_int_equal(c.tenants[2].spec.qos.latency_target_us, 10000000);
	assert_true(c.tenants[3].spec.qos.min_bw == 4096);
	assert_int_equal(c.tenants[3].spec.qos.latency_target_us, 0);
	conf_free(&c);

	/* no reservation is no reservation in static mode too; a latency goal is fine */
	assert_int_equal(conf_load_string(T1("min_iops = 0; min_bw = \"0\"; "
					     "latency_target_us = 500;"),
					  "p", &c, err, sizeof(err)), 0);
	assert_int_equal(c.sched.mode, CONF_SCHED_STATIC);
	assert_int_equal(c.tenants[0].spec.qos.latency_target_us, 500);
	conf_free(&c);
}

static void test_slo_errors(void **state)
{
	(void)state;
	expect_error(TD("min_iops = \"5\";"), "policy.conf:3: tenants[0].min_iops: must be an integer");
	expect_error(TD("min_bw = 1.5;"),
		     "policy.conf:3: tenants[0].min_bw: must be a size: a string like \"4G\" "
		     "or an integer");
	expect_error(TD("latency_target_us = \"1ms\";"),
		     "policy.conf:3: tenants[0].latency_target_us: must be an integer");
	expect_error(TD("min_iops = -1;"),
		     "policy.conf:3: tenants[0].min_iops: -1 is out of range (0..10000000)");
	expect_error(TD("min_iops = 10000001;"),
		     "policy.conf:3: tenants[0].min_iops: 10000001 is out of range (0..10000000)");
	expect_error(TD("min_bw = \"2K\";"),
		     "policy.conf:3: tenants[0].min_bw: 2 KiB is out of range (0 or 4 KiB..1 TiB)");
	expect_error(TD("min_bw = \"1025G\";"),
		     "policy.conf:3: tenants[0].min_bw: 1025 GiB is out of range "
		     "(0 or 4 KiB..1 TiB)");
	expect_error(TD("min_bw = -1;"), "policy.conf:3: tenants[0].min_bw: must be >= 0");
	expect_error(TD("latency_target_us = 9;"),
		     "policy.conf:3: tenants[0].latency_target_us: 9 is out of range "
		     "(0 or 10..10000000)");
	expect_error(TD("latency_target_us = 10000001;"),
		     "policy.conf:3: tenants[0].latency_target_us: 10000001 is out of range "
		     "(0 or 10..10000000)");
	expect_error(TD("latency_target_us = -1;"),
		     "policy.conf:3: tenants[0].latency_target_us: -1 is out of range "
		     "(0 or 10..10000000)");

	/* above the tenant's own limit */
	expect_error(TD("iops_limit = 1000;\n  min_iops = 1001;"),
		     "policy.conf:4: tenants[0].min_iops: 1001 is above iops_limit 1000: "
		     "a reservation cannot exceed the limit");
	expect_error(TD("bw_limit = \"10M\";\n\n  min_bw = \"11M\";"),
		     "policy.conf:5: tenants[0].min_bw: 11 MiB is above bw_limit 10 MiB: "
		     "a reservation cannot exceed the limit");
	expect_error(TD("bw_limit = \"10M\"; min_bw = 10485761;"),
		     "policy.conf:3: tenants[0].min_bw: 10485761 bytes is above bw_limit 10 MiB: "
		     "a reservation cannot exceed the limit");

	/* static mode, by default or said after the tenants: at the reservation's line */
	expect_error(T1("min_iops = 100;"),
		     "policy.conf:2: tenants[0].min_iops: reservations need scheduler.mode = "
		     "\"daredevil\" (static mode leaves the order to the kernel's queues)");
	expect_error(B1 "tenants = (\n"
		     "  { name = \"t\"; backend = \"b\"; size = \"1G\"; },\n"
		     "  { name = \"u\"; backend = \"b\"; size = \"1G\";\n"
		     "    min_bw = \"1M\"; }\n"
		     ");\n"
		     "scheduler = { mode = \"static\"; };\n",
		     "policy.conf:5: tenants[1].min_bw: reservations need scheduler.mode = "
		     "\"daredevil\" (static mode leaves the order to the kernel's queues)");
}

/* The default model: a 4 KiB read is 2500 ns, a 128 KiB read 1135 + 43690 ns. */
static void test_reservation_ns(void **state)
{
	struct cost_model m;
	struct conf_qos q = { 0 };

	(void)state;
	cost_model_init(&m);
	assert_true(conf_reservation_ns(&m, &q) == 0);
	q.min_iops = 1;
	assert_true(conf_reservation_ns(&m, &q) == 2500);
	q.min_iops = 0;
	q.min_bw = 128 << 10;
	assert_true(conf_reservation_ns(&m, &q) == 44825);
	q.min_iops = 400000;
	q.min_bw = 100 * MiB; /* 800 large reads */
	assert_true(conf_reservation_ns(&m, &q) == 400000ULL * 2500 + 800ULL * 44825);
	assert_true(conf_reservation_ns(&m, &q) == cost_reserved(&m, 400000, 100 * MiB));
	/* an absurd drive saturates rather than wrapping to a small share */
	m.read_bw = 1;
	q.min_iops = 0;
	q.min_bw = 1ULL << 40;
	assert_true(conf_reservation_ns(&m, &q) == UINT64_MAX);
	m.read_iops = 1;
	q.min_bw = 0;
	q.min_iops = 10000000;
	assert_true(conf_reservation_ns(&m, &q) == UINT64_MAX);
	assert_true(conf_add_sat(UINT64_MAX - 1, 1) == UINT64_MAX);
	assert_true(conf_add_sat(UINT64_MAX, UINT64_MAX) == UINT64_MAX);
	assert_true(conf_add_sat(2, 3) == 5);
	assert_true(CONF_MAX_RESERVED_NS == 900000000ULL);
}

/* Per backend, at the tenant that takes the total over 90%. */
static void test_reservation_sum(void **state)
{
	char err[256] = "";
	struct conf c;

	(void)state;
	/* a: 25% + 50% (b's 75% apart) + 1 GiB of 128 KiB reads, 8192 * 44825 ns: 112% */
	expect_error(DD
		     "backends = ( { name = \"a\"; path = \"/a\"; }, { name = \"b\"; path = \"/b\"; } );\n"
		     "tenants = (\n"
		     "  { name = \"t0\"; backend = \"a\"; size = \"1G\"; min_iops = 100000; },\n"
		     "  { name = \"t1\"; backend = \"b\"; size = \"1G\"; min_iops = 300000; },\n"
		     "  { name = \"t2\"; backend = \"a\"; size = \"1G\"; min_iops = 200000; },\n"
		     "  {\n"
		     "    name = \"t3\"; backend = \"a\"; size = \"1G\";\n"
		     "    min_bw = \"1G\";\n"
		     "  }\n"
		     ");\n",
		     "policy.conf:9: tenants[3].min_bw: reservations on backend \"a\" add up to 112% "
		     "of the device as scheduler.cost_* model it (at most 90%)");
	/* exactly 90% loads; one more 4 KiB read a second is over, and reads as 91% */
	assert_int_equal(conf_load_string(DD
					  "backends = ( { name = \"a\"; path = \"/a\"; } );\n"
					  "tenants = (\n"
					  "  { name = \"t0\"; backend = \"a\"; size = \"1G\"; min_iops = 200000; },\n"
					  "  { name = \"t1\"; backend = \"a\"; size = \"1G\"; min_iops = 160000; }\n"
					  ");\n", "p", &c, err, sizeof(err)), 0);
	conf_free(&c);
	expect_error(DD
		     "backends = ( { name = \"a\"; path = \"/a\"; } );\n"
		     "tenants = (\n"
		     "  { name = \"t0\"; backend = \"a\"; size = \"1G\"; min_iops = 200000; },\n"
		     "  { name = \"t1\"; backend = \"a\"; size = \"1G\"; min_iops = 160001; }\n"
		     ");\n",
		     "policy.conf:5: tenants[1].min_iops: reservations on backend \"a\" add up to 91% "
		     "of the device as scheduler.cost_* model it (at most 90%)");
	/* one tenant alone, both kinds: 300000 * 2500 + 4096 * 44825 ns = 93.4% */
	expect_error(DD B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = \"1G\";\n"
		     "  min_iops = 300000; min_bw = \"512M\"; } );\n",
		     "policy.conf:4: tenants[0].min_iops: reservations on backend \"b\" add up to 94% "
		     "of the device as scheduler.cost_* model it (at most 90%)");
	/* the drive's model decides: 50% of the default drive, 100% of a slower one */
	assert_int_equal(conf_load_string(B1 "tenants = ( { name = \"t\"; backend = \"b\";\n"
					  "  size = \"1G\"; min_iops = 200000; } );\n" DD,
					  "p", &c, err, sizeof(err)), 0);
	conf_free(&c);
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\";\n"
		     "  size = \"1G\"; min_iops = 200000; } );\n"
		     "scheduler = { mode = \"daredevil\"; cost_read_iops = 200000; };\n",
		     "policy.conf:3: tenants[0].min_iops: reservations on backend \"b\" add up to 100% "
		     "of the device as scheduler.cost_* model it (at most 90%)");
	/* a wrapping sum would pass: it saturates */
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\";\n"
		     "  size = \"1G\"; min_bw = \"1T\"; } );\n"
		     "scheduler = { mode = \"daredevil\"; cost_read_bw = 1; };\n",
		     "policy.conf:3: tenants[0].min_bw: reservations on backend \"b\" add up to "
		     "1844674407371% of the device as scheduler.cost_* model it (at most 90%)");
}

static void test_cost_keys(void **state)
{
	char err[256] = "";
	struct conf c;

	(void)state;
	assert_int_equal(conf_load_string("scheduler = { cost_read_iops = 1; cost_read_bw = 1;\n"
					  "  cost_write_iops = 1000000000000L;\n"
					  "  cost_write_bw = 1000000000000L; };\n",
					  "p", &c, err, sizeof(err)), 0);
	assert_true(c.sched.cost.read_iops == 1);
	assert_true(c.sched.cost.read_bw == 1);
	assert_true(c.sched.cost.write_iops == COST_MAX_RATE);
	assert_true(c.sched.cost.write_bw == COST_MAX_RATE);
	conf_free(&c);
	/* one key leaves the others at their defaults */
	assert_int_equal(conf_load_string("scheduler = { cost_write_bw = \"1G\"; };\n",
					  "p", &c, err, sizeof(err)), 0);
	assert_true(c.sched.cost.write_bw == GiB);
	assert_true(c.sched.cost.read_iops == COST_DEFAULT_READ_IOPS);
	assert_true(c.sched.cost.read_bw == COST_DEFAULT_READ_BW);
	assert_true(c.sched.cost.write_iops == COST_DEFAULT_WRITE_IOPS);
	conf_free(&c);

	expect_error("scheduler = {\n  cost_read_iops = 0; };\n",
		     "policy.conf:2: scheduler.cost_read_iops: 0 is out of range (1..1000000000000)");
	expect_error("scheduler = { cost_write_iops = 1000000000001L; };\n",
		     "policy.conf:1: scheduler.cost_write_iops: 1000000000001 is out of range "
		     "(1..1000000000000)");
	expect_error("scheduler = { cost_write_iops = -5; };\n",
		     "policy.conf:1: scheduler.cost_write_iops: -5 is out of range "
		     "(1..1000000000000)");
	expect_error("scheduler = { cost_read_iops = \"400K\"; };\n",
		     "policy.conf:1: scheduler.cost_read_iops: must be an integer");
	expect_error("scheduler = { cost_read_bw = 0; };\n",
		     "policy.conf:1: scheduler.cost_read_bw: must be > 0");
	expect_error("scheduler = { cost_write_bw = \"1T\"; };\n",
		     "policy.conf:1: scheduler.cost_write_bw: 1 TiB is out of range "
		     "(1..1000000000000 bytes per second)");
	expect_error("scheduler = { cost_read_bw = \"fast\"; };\n",
		     "policy.conf:1: scheduler.cost_read_bw: \"fast\" is not a size "
		     "(use 512, 4K, 64M, 1G, 2T)");
	expect_error("scheduler = { cost_read_bw = true; };\n",
		     "policy.conf:1: scheduler.cost_read_bw: must be a size: a string like \"4G\" "
		     "or an integer");
}

/* libconfig 1.5 wraps unsuffixed integers to 32 bits; we must refuse, not shrink. */
static void test_check_capacity(void **state)
{
	static const char text[] =
		"backends = (\n"
		"  { name = \"nvme0\"; path = \"/dev/nvme0n1\"; },\n"
		"  { name = \"img\"; path = \"/srv/img\"; size = \"4G\"; reserved = \"2M\"; },\n"
		"  { name = \"ns2\"; controller = \"nvme0\"; nsid = 2; }\n"
		");\n"
		"tenants = (\n"
		"  { name = \"a\"; backend = \"nvme0\"; size = \"1G\"; },\n"
		"  { name = \"i\"; backend = \"img\"; size = \"1G\"; },\n"
		"  { name = \"b\"; backend = \"nvme0\"; size = \"1G\"; },\n"
		"  { name = \"c\"; backend = \"nvme0\"; size = \"4K\"; }\n"
		");\n";
	uint64_t bytes[3] = { 0, 0, 0 };
	char err[512] = "";
	struct conf c;

	(void)state;
	assert_int_equal(conf_load_string(text, "p", &c, err, sizeof(err)), 0);
	/* unknown sizes are skipped */
	assert_int_equal(conf_check_capacity(&c, bytes, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	/* 1 MiB reserved + 1 GiB + 1 GiB + 1 MiB for the 4K tenant */
	bytes[0] = 2 * GiB + 2 * MiB;
	bytes[1] = 1; /* known, and smaller than img's reserved region */
	assert_int_equal(conf_check_capacity(&c, bytes, err, sizeof(err)), -1);
	assert_string_equal(err, "3: backends[1]: 1 bytes is too small (at least 3 MiB: the "
			    "reserved 2 MiB plus 1 MiB for a tenant)");
	bytes[1] = 4 * GiB;
	assert_int_equal(conf_check_capacity(&c, bytes, err, sizeof(err)), 0);
	/* one byte short, and the last whole MiB is gone */
	bytes[0] = 2 * GiB + 2 * MiB - 1;
	assert_int_equal(conf_check_capacity(&c, bytes, err, sizeof(err)), -1);
	assert_string_equal(err, "10: tenants[3]: tenants on backend \"nvme0\" need 2050 MiB "
			    "but it holds 2149580799 bytes (1 MiB" ROOM_NOTE);
	/* the first tenant that does not fit is named */
	bytes[0] = GiB;
	assert_int_equal(conf_check_capacity(&c, bytes, err, sizeof(err)), -1);
	assert_string_equal(err, "7: tenants[0]: tenants on backend \"nvme0\" need 1025 MiB "
			    "but it holds 1 GiB (1 MiB" ROOM_NOTE);
	/* the namespace without tenants only needs room for its reserve */
	bytes[0] = 0;
	bytes[2] = MiB;
	assert_int_equal(conf_check_capacity(&c, bytes, err, sizeof(err)), -1);
	assert_string_equal(err, "4: backends[2]: 1 MiB is too small (at least 2 MiB: the "
			    "reserved 1 MiB plus 1 MiB for a tenant)");
	bytes[2] = 2 * MiB;
	assert_int_equal(conf_check_capacity(&c, bytes, err, sizeof(err)), 0);
	conf_free(&c);
}

/* Four backends on lines 2..5, whatever they name: the ids say what they are. */
static const char four_backends[] =
	"backends = (\n"
	"  { name = \"a\"; path = \"/dev/nvme0n1\"; },\n"
	"  { name = \"b\"; path = \"/dev/ng0n1\"; },\n"
	"  { name = \"c\"; controller = \"nvme0\"; nsid = 1; },\n"
	"  { name = \"d\"; path = \"/srv/pool.img\"; size = \"1G\"; }\n"
	");\n";

static struct backend_id nvme_id(const char *ns, unsigned ma, unsigned mi)
{
	struct backend_id id = { .kind = BACKEND_ID_NVME, .rdev_major = ma, .rdev_minor = mi,
				 .disk_major = ma, .disk_minor = mi };

	snprintf(id.nvme_ns, sizeof(id.nvme_ns), "%s", ns);
	return id;
}

static struct backend_id block_id(unsigned ma, unsigned mi, unsigned dma, unsigned dmi)
{
	return (struct backend_id){ .kind = BACKEND_ID_BLOCK, .rdev_major = ma, .rdev_minor = mi,
				    .disk_major = dma, .disk_minor = dmi };
}

static void expect_ids(const struct conf *c, const struct backend_id *ids, const char *want)
{
	char err[PATH_MAX + 512] = "";

	assert_int_equal(conf_check_backend_ids(c, ids, err, sizeof(err)), want ? -1 : 0);
	assert_string_equal(err, want ? want : "");
}

/* One namespace, one disk, one file named twice: each would be two backends' tenants. */
static void test_backend_ids_duplicates(void **state)
{
	struct backend_id ids[4] = { 0 };
	char err[512] = "";
	struct conf c;

	(void)state;
	assert_int_equal(conf_load_string(four_backends, "p", &c, err, sizeof(err)), 0);
	/* nothing known: nothing to say */
	expect_ids(&c, ids, NULL);
	/* /dev/nvme0n1 and /dev/ng0n1 */
	ids[0] = nvme_id("nvme0n1", 259, 0);
	ids[1] = ids[0];
	expect_ids(&c, ids, "3: backends[1]: the same NVMe namespace nvme0n1 as backends[0] "
		   "(line 2)");
	/* controller + nsid, the namespace without a block device */
	ids[1] = (struct backend_id){ .kind = BACKEND_ID_NVME, .nvme_ns = "nvme1n1" };
	ids[2] = ids[1];
	expect_ids(&c, ids, "4: backends[2]: the same NVMe namespace nvme1n1 as backends[1] "
		   "(line 3)");
	/* the namespace as a block device (type = "file") is the namespace */
	ids[2] = block_id(259, 0, 259, 0);
	expect_ids(&c, ids, "4: backends[2]: the same block device 259:0 as backends[0] "
		   "(line 2)");
	/* two partitions of one disk are two backends */
	ids[0] = block_id(8, 17, 8, 16);
	ids[1] = block_id(8, 18, 8, 16);
	ids[2] = block_id(8, 33, 8, 32);
	expect_ids(&c, ids, NULL);
	/* a file by two paths (a symlink, a hard link) */
	ids[0] = (struct backend_id){ .kind = BACKEND_ID_FILE, .st_dev = makedev(8, 1),
				      .st_ino = 12 };
	ids[3] = ids[0];
	expect_ids(&c, ids, "5: backends[3]: the same file (inode 12 on device 8:1) as "
		   "backends[0] (line 2)");
	ids[3].st_ino = 13;
	expect_ids(&c, ids, NULL);
	/* a file still to be created, named twice */
	ids[0] = (struct backend_id){ .kind = BACKEND_ID_NEW_FILE, .path = "/srv/pool.img" };
	ids[3] = ids[0];
	expect_ids(&c, ids, "5: backends[3]: the same file /srv/pool.img as backends[0] (line 2)");
	conf_free(&c);
}

/* A disk and a partition of it overlap; a ublk device, a mounted or held one are not ours. */
static void test_backend_ids_unusable(void **state)
{
	struct backend_id ids[4] = { 0 };
	char err[512] = "";
	struct conf c;

	(void)state;
	assert_int_equal(conf_load_string(four_backends, "p", &c, err, sizeof(err)), 0);
	ids[0] = nvme_id("nvme0n1", 259, 0);
	ids[1] = block_id(259, 1, 259, 0);
	expect_ids(&c, ids, "3: backends[1]: block device 259:1 is a partition of backends[0] "
		   "(line 2)");
	ids[1] = ids[0];
	ids[0] = block_id(259, 1, 259, 0);
	expect_ids(&c, ids, "3: backends[1]: NVMe namespace nvme0n1 is the disk of backends[0] "
		   "(line 2), a partition of it");

	memset(ids, 0, sizeof(ids));
	ids[1] = block_id(252, 0, 252, 0);
	strcpy(ids[1].ublk, "ublkb0");
	expect_ids(&c, ids, "3: backends[1]: block device 252:0 is /dev/ublkb0, a ublk device: a "
		   "tenant of ddublkd cannot be a backend");
	ids[1] = (struct backend_id){ .kind = BACKEND_ID_FILE, .st_dev = makedev(252, 3),
				      .st_ino = 77, .ublk = "ublkb3" };
	expect_ids(&c, ids, "3: backends[1]: file (inode 77 on device 252:3) is on a file system "
		   "on /dev/ublkb3, a ublk device: a tenant of ddublkd cannot hold a backend");

	ids[1] = block_id(8, 16, 8, 16);
	strcpy(ids[1].mounted, "/mnt/data");
	strcpy(ids[1].mounted_dev, "8:17");
	expect_ids(&c, ids, "3: backends[1]: block device 8:16 is mounted (8:17 at /mnt/data); "
		   "unmount it first: a backend's bytes belong to its tenants");
	ids[1] = block_id(8, 16, 8, 16);
	strcpy(ids[1].holder, "dm-0");
	expect_ids(&c, ids, "3: backends[1]: block device 8:16 is in use by dm-0 (see its "
		   "holders in sysfs)");
	conf_free(&c);
}

/* Real files: a symlink and a hard link are the file; the lock holds across names. */
static void test_backend_identify_files(void **state)
{
	char dir[] = "/tmp/ddublk-id-XXXXXX", a[64], l[64], h[64], n1[80], n2[80], text[1024];
	char err[PATH_MAX + 512] = "", want[PATH_MAX + 512];
	struct backend_id ids[2];
	struct stat st;
	struct conf c;
	int fds[2], fds2[2], fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a.img", dir);
	snprintf(l, sizeof(l), "%s/l.img", dir);
	snprintf(h, sizeof(h), "%s/h.img", dir);
	fd = open(a, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(symlink(a, l), 0);
	assert_int_equal(link(a, h), 0);
	assert_int_equal(stat(a, &st), 0);

	snprintf(text, sizeof(text), "backends = (\n  { name = \"x\"; path = \"%s\"; },\n"
		 "  { name = \"y\"; path = \"%s\"; }\n);\n", a, l);
	assert_int_equal(conf_load_string(text, "p", &c, err, sizeof(err)), 0);
	backends_identify(&c, ids);
	assert_int_equal(ids[0].kind, BACKEND_ID_FILE);
	snprintf(want, sizeof(want), "3: backends[1]: the same file (inode %llu on device %u:%u) "
		 "as backends[0] (line 2)", (unsigned long long)st.st_ino, major(st.st_dev),
		 minor(st.st_dev));
	expect_ids(&c, ids, want);

	/* claimed by one name, refused by another: nothing else is opened */
	assert_int_equal(backend_claim(&c.backends[0], &ids[0], fds, err, sizeof(err)), 0);
	assert_int_equal(backend_claim(&c.backends[1], &ids[1], fds2, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "backend \"y\": file (inode %llu on device %u:%u) is in "
		 "use: another process holds the lock on %s (another ddublkd serving it?); "
		 "nothing on it was read or changed", (unsigned long long)st.st_ino,
		 major(st.st_dev), minor(st.st_dev), l);
	assert_string_equal(err, want);
	assert_int_equal(fds2[0], -1);
	assert_int_equal(fds2[1], -1);
	backend_unclaim(fds);
	assert_int_equal(fds[0], -1);
	assert_int_equal(backend_claim(&c.backends[1], &ids[1], fds2, err, sizeof(err)), 0);
	backend_unclaim(fds2);
	conf_free(&c);

	/* a hard link is the same inode; another file is not */
	snprintf(text, sizeof(text), "backends = (\n  { name = \"x\"; path = \"%s\"; },\n"
		 "  { name = \"y\"; path = \"%s\"; }\n);\n", h, dir);
	assert_int_equal(conf_load_string(text, "p", &c, err, sizeof(err)), 0);
	backends_identify(&c, ids);
	assert_int_equal(ids[0].kind, BACKEND_ID_FILE);
	assert_int_equal(ids[1].kind, BACKEND_ID_NONE); /* a directory: opening it says so */
	expect_ids(&c, ids, NULL);
	conf_free(&c);

	/* files still to be made: their directory resolved, the same path is one file */
	snprintf(n1, sizeof(n1), "%s/new.img", dir);
	snprintf(n2, sizeof(n2), "%s/./new.img", dir);
	snprintf(text, sizeof(text), "backends = (\n  { name = \"x\"; path = \"%s\"; "
		 "size = \"8M\"; },\n  { name = \"y\"; path = \"%s\"; size = \"8M\"; }\n);\n",
		 n1, n2);
	assert_int_equal(conf_load_string(text, "p", &c, err, sizeof(err)), 0);
	backends_identify(&c, ids);
	assert_int_equal(ids[1].kind, BACKEND_ID_NEW_FILE);
	{
		char real[PATH_MAX];

		assert_non_null(realpath(dir, real));
		snprintf(want, sizeof(want), "3: backends[1]: the same file %s/new.img as "
			 "backends[0] (line 2)", real);
	}
	expect_ids(&c, ids, want);
	conf_free(&c);

	unlink(h);
	unlink(l);
	unlink(a);
	unlink(n1);
	rmdir(dir);
}

static void test_wrapped_integers(void **state)
{
	(void)state;
	expect_error(B1 "tenants = ( { name = \"t\"; backend = \"b\"; size = 5368709120; } );\n",
		     "policy.conf:2: tenants[0].size: 5368709120 does not fit in 32 bits "
		     "(add an L suffix: 5368709120L)");
	expect_error("backends = (\n  { name = \"a\"; path = \"/a\";\n  size = 0x100000000; }\n);\n",
		     "policy.conf:3: backends[0].size: 0x100000000 does not fit in 32 bits "
		     "(add an L suffix: 0x100000000L)");
	/* the literal is found among other numbers, strings and comments */
	expect_error("# size = 9999999999\n"
		     "daemon = { workers = 1; /* 8589934592 */ };\n"
		     "backends = ( { name = \"a1\"; path = \"/4294967296\"; size = 4096; },\n"
		     "             { name = \"a2\"; path = \"/a\"; size = 2147483648; } );\n",
		     "policy.conf:4: backends[1].size: 2147483648 does not fit in 32 bits "
		     "(add an L suffix: 2147483648L)");
	expect_error("daemon = { workers = -2147483649; };\n",
		     "policy.conf:1: daemon.workers: -2147483649 does not fit in 32 bits "
		     "(add an L suffix: -2147483649L)");
	/* the edges of the 32-bit range are not wrapped */
	expect_error("daemon = { workers = 2147483647; };\n",
		     "policy.conf:1: daemon.workers: 2147483647 is out of range (0..256)");
	expect_error("daemon = { workers = -2147483648; };\n",
		     "policy.conf:1: daemon.workers: -2147483648 is out of range (0..256)");
}

static void test_failure_keeps_loaded_conf(void **state)
{
	struct conf c, before;
	char err[256];

	(void)state;
	assert_int_equal(conf_load_string(full_policy, "p", &c, err, sizeof(err)), 0);
	memcpy(&before, &c, sizeof(c));
	/* a failing reload: late failure, after backends were built */
	assert_int_equal(conf_load_string(B1 "tenants = ( { name = \"x\"; backend = \"b\"; "
					  "size = \"3K\"; } );\n",
					  "p", &c, err, sizeof(err)), -1);
	assert_memory_equal(&c, &before, sizeof(c));
	assert_string_equal(c.tenants[0].spec.name, "db"); /* still usable */
	conf_free(&c);
}

static void test_error_buffer_edges(void **state)
{
	const char *bad = "daemon = { workers = 1000; };\n";
	char small[16];
	struct conf c;

	(void)state;
	memset(small, 'x', sizeof(small));
	assert_int_equal(conf_load_string(bad, "policy.conf", &c, small, 10), -1);
	assert_string_equal(small, "policy.co");
	assert_int_equal(small[10], 'x');
	assert_int_equal(conf_load_string(bad, "policy.conf", &c, NULL, 0), -1);
	assert_int_equal(conf_load_string(NULL, "policy.conf", &c, small, sizeof(small)), -1);
}

static char *write_temp(const char *text, size_t len)
{
	char *path = strdup("/tmp/ddublk-test-config-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void test_load_file(void **state)
{
	char err[512], want[512];
	struct conf c, before;
	char *path;

	(void)state;
	path = write_temp(full_policy, strlen(full_policy));
	assert_int_equal(conf_load_file(path, &c, err, sizeof(err)), 0);
	assert_int_equal(c.nr_tenants, 3);
	assert_string_equal(c.tenants[2].spec.name, "big");
	conf_free(&c);
	unlink(path);
	free(path);

	/* messages carry the file's own path */
	path = write_temp("\ndaemon = { workers = 999; };\n", 30);
	assert_int_equal(conf_load_file(path, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: daemon.workers: 999 is out of range (0..256)", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);

	/* an embedded NUL would hide the rest of the file from libconfig */
	path = write_temp("daemon = {};\n\0tenants = 5;\n", 27);
	assert_int_equal(conf_load_file(path, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot read: contains a NUL byte", path);
	assert_string_equal(err, want);
	unlink(path);
	free(path);

	memset(&c, 0x3c, sizeof(c));
	memcpy(&before, &c, sizeof(c));
	assert_int_equal(conf_load_file("/nonexistent/ddublk/policy.conf", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/ddublk/policy.conf: cannot read: No such file or directory");
	assert_memory_equal(&c, &before, sizeof(c));

	assert_int_equal(conf_load_file("/tmp", &c, err, sizeof(err)), -1);
	assert_string_equal(err, "/tmp: cannot read: Is a directory");
	assert_memory_equal(&c, &before, sizeof(c));
}

/* examples/policy.conf is documentation: it must load and show the true defaults. */
static void test_example_policy(void **state)
{
	const char *src = __FILE__, *cut = strstr(src, "tests/unit/");
	char path[PATH_MAX], err[512] = "";
	struct conf c;

	(void)state;
	assert_non_null(cut); /* CMake compiles by absolute path */
	snprintf(path, sizeof(path), "%.*sexamples/policy.conf", (int)(cut - src), src);
	assert_int_equal(conf_load_file(path, &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(c.socket_path, CONF_DEFAULT_SOCKET);
	assert_int_equal(c.workers, 0);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_int_equal(c.on_stop, CONF_ON_STOP_KEEP);
	assert_int_not_equal(c.sched.line, 0);
	expect_sched_defaults(&c.sched);
	assert_int_equal(c.nr_backends, 2);
	assert_true(c.backends[1].reserved == MiB);
	assert_int_equal(c.nr_tenants, 2);
	assert_int_equal(c.tenants[0].spec.cls, CONF_CLASS_LATENCY);
	assert_int_equal(c.tenants[1].spec.cls, CONF_CLASS_THROUGHPUT);
	assert_int_equal(c.tenants[1].spec.qos.weight, CONF_DEFAULT_WEIGHT);
	assert_true(c.tenants[1].spec.recovery);
	conf_free(&c);
}

static void test_name_valid(void **state)
{
	char longest[CONF_NAME_MAX], too_long[CONF_NAME_MAX + 1];

	(void)state;
	assert_true(conf_name_valid("a"));
	assert_true(conf_name_valid("db"));
	assert_true(conf_name_valid("A-Z_a.z-09"));
	assert_true(conf_name_valid("..."));
	assert_true(conf_name_valid(".hidden"));
	assert_true(conf_name_valid("-"));
	assert_false(conf_name_valid(""));
	assert_false(conf_name_valid("."));
	assert_false(conf_name_valid(".."));
	assert_false(conf_name_valid("a/b"));
	assert_false(conf_name_valid("a b"));
	assert_false(conf_name_valid("a\tb"));
	assert_false(conf_name_valid("tenant:1"));
	assert_false(conf_name_valid("caf\xc3\xa9"));
	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	assert_true(conf_name_valid(longest)); /* 63 chars */
	memset(too_long, 'x', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	assert_false(conf_name_valid(too_long)); /* 64 chars */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_new_key_defaults),
		cmocka_unit_test(test_limits_accepted),
		cmocka_unit_test(test_every_log_level),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_new_key_types),
		cmocka_unit_test(test_daemon_values),
		cmocka_unit_test(test_socket_group),
		cmocka_unit_test(test_backend_values),
		cmocka_unit_test(test_backend_reserved),
		cmocka_unit_test(test_backend_types),
		cmocka_unit_test(test_backend_null),
		cmocka_unit_test(test_backend_type_errors),
		cmocka_unit_test(test_duplicate_names),
		cmocka_unit_test(test_tenant_values),
		cmocka_unit_test(test_tenant_service_values),
		cmocka_unit_test(test_scheduler_values),
		cmocka_unit_test(test_oversubscribed_backend),
		cmocka_unit_test(test_slo_keys),
		cmocka_unit_test(test_slo_errors),
		cmocka_unit_test(test_reservation_ns),
		cmocka_unit_test(test_reservation_sum),
		cmocka_unit_test(test_cost_keys),
		cmocka_unit_test(test_check_capacity),
		cmocka_unit_test(test_backend_ids_duplicates),
		cmocka_unit_test(test_backend_ids_unusable),
		cmocka_unit_test(test_backend_identify_files),
		cmocka_unit_test(test_wrapped_integers),
		cmocka_unit_test(test_failure_keeps_loaded_conf),
		cmocka_unit_test(test_error_buffer_edges),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_example_policy),
		cmocka_unit_test(test_name_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
