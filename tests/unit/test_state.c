/* SPDX-License-Identifier: MIT */
/* The tenant table on disk (conf/state.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/state.h"

static const struct tenant_rec sample[] = {
	{ .name = "db", .backend = "nvme0", .offset = 1048576, .size = 1073741824,
	  .dev_id = 0, .queues = 2, .depth = 64 },
	{ .name = "web-1.a_b", .backend = "img", .offset = 0, .size = 4096,
	  .dev_id = -1, .queues = 1, .depth = 1 },
	/* beyond 32 bits, up to the int64 ceiling */
	{ .name = "big", .backend = "nvme0", .offset = (1ULL << 40) + 4096,
	  .size = (uint64_t)INT64_MAX - (1ULL << 40) - 4096, .dev_id = INT_MAX,
	  .queues = CONF_MAX_QUEUES, .depth = CONF_MAX_DEPTH },
};
#define NR_SAMPLE (sizeof(sample) / sizeof(sample[0]))

static void assert_rec_equal(const struct tenant_rec *a, const struct tenant_rec *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->backend, b->backend);
	assert_true(a->offset == b->offset);
	assert_true(a->size == b->size);
	assert_int_equal(a->dev_id, b->dev_id);
	assert_int_equal(a->queues, b->queues);
	assert_int_equal(a->depth, b->depth);
}

static void test_round_trip(void **state)
{
	struct tenant_rec *recs = NULL;
	char err[256] = "";
	size_t nr = 0;
	char *text;

	(void)state;
	text = state_encode(sample, NR_SAMPLE);
	assert_non_null(text);
	assert_int_equal(state_decode(text, &recs, &nr, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(nr, NR_SAMPLE);
	for (size_t i = 0; i < NR_SAMPLE; i++)
		assert_rec_equal(&recs[i], &sample[i]);
	free(recs);
	free(text);
}

static void test_empty_table(void **state)
{
	struct tenant_rec *recs = (struct tenant_rec *)sample; /* must be replaced */
	char err[256];
	size_t nr = 99;
	char *text;

	(void)state;
	text = state_encode(NULL, 0);
	assert_non_null(text);
	assert_int_equal(state_decode(text, &recs, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, 0);
	assert_null(recs);
	free(text);
}

/* The file format is a contract with older and newer daemons: check it as JSON. */
static void test_encoded_schema(void **state)
{
	struct json_object *root, *v, *arr, *t;
	char *text;

	(void)state;
	text = state_encode(sample, NR_SAMPLE);
	assert_non_null(text);
	root = json_tokener_parse(text);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "version", &v));
	assert_int_equal(json_object_get_int(v), 1);
	assert_true(json_object_object_get_ex(root, "tenants", &arr));
	assert_true(json_object_is_type(arr, json_type_array));
	assert_int_equal(json_object_array_length(arr), NR_SAMPLE);
	t = json_object_array_get_idx(arr, 0);
	assert_int_equal(json_object_object_length(t), 7);
	assert_true(json_object_object_get_ex(t, "name", &v));
	assert_string_equal(json_object_get_string(v), "db");
	assert_true(json_object_object_get_ex(t, "backend", &v));
	assert_string_equal(json_object_get_string(v), "nvme0");
	assert_true(json_object_object_get_ex(t, "offset", &v));
	assert_true(json_object_is_type(v, json_type_int));
	assert_true(json_object_get_int64(v) == 1048576);
	assert_true(json_object_object_get_ex(t, "size", &v));
	assert_true(json_object_get_int64(v) == 1073741824);
	assert_true(json_object_object_get_ex(t, "dev_id", &v));
	assert_int_equal(json_object_get_int(v), 0);
	assert_true(json_object_object_get_ex(t, "queues", &v));
	assert_int_equal(json_object_get_int(v), 2);
	assert_true(json_object_object_get_ex(t, "depth", &v));
	assert_int_equal(json_object_get_int(v), 64);
	t = json_object_array_get_idx(arr, 2);
	assert_true(json_object_object_get_ex(t, "size", &v));
	assert_true(json_object_get_int64(v) == INT64_MAX - (1LL << 40) - 4096);
	json_object_put(root);
	free(text);
}

static void test_encode_refuses_values_beyond_int64(void **state)
{
	struct tenant_rec r = sample[0];

	(void)state;
	r.offset = (uint64_t)INT64_MAX + 1;
	assert_null(state_encode(&r, 1));
	r = sample[0];
	r.size = UINT64_MAX;
	assert_null(state_encode(&r, 1));
}

/* Decode must fail with exactly `want` and leave the outputs alone. */
static void expect_decode_error(const char *text, const char *want)
{
	struct tenant_rec *recs = (struct tenant_rec *)sample;
	char err[512] = "";
	size_t nr = 12345;

	assert_int_equal(state_decode(text, &recs, &nr, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_ptr_equal(recs, sample);
	assert_int_equal(nr, 12345);
}

#define T_DB "{\"name\":\"db\",\"backend\":\"b\",\"offset\":0,\"size\":4096," \
	     "\"dev_id\":0,\"queues\":1,\"depth\":64}"
#define WRAP(tenants) "{\"version\":1,\"tenants\":[" tenants "]}"

static void test_decode_malformed_json(void **state)
{
	(void)state;
	expect_decode_error("", "state: not valid JSON: empty");
	expect_decode_error(" \n ", "state: not valid JSON: empty");
	expect_decode_error("{\"version\":1,", "state: not valid JSON: unexpected end of input");
	expect_decode_error("{\n\"version\":1,}", "state: not valid JSON: unexpected character at line 2");
	expect_decode_error(WRAP(T_DB) " x", "state: not valid JSON: unexpected character at line 1");
	expect_decode_error(WRAP(T_DB) "{}", "state: not valid JSON: unexpected character at line 1");
	expect_decode_error("[]", "state: must be a JSON object");
	expect_decode_error("1", "state: must be a JSON object");
}

static void test_decode_bad_structure(void **state)
{
	(void)state;
	expect_decode_error("{}", "state: version: missing");
	expect_decode_error("{\"tenants\":[]}", "state: version: missing");
	expect_decode_error("{\"version\":\"1\",\"tenants\":[]}", "state: version: must be an integer");
	expect_decode_error("{\"version\":1.0,\"tenants\":[]}", "state: version: must be an integer");
	expect_decode_error("{\"version\":2,\"tenants\":[]}",
			    "state: version: 2 is not supported (expected 1)");
	expect_decode_error("{\"version\":0,\"tenants\":[]}",
			    "state: version: 0 is not supported (expected 1)");
	expect_decode_error("{\"version\":1}", "state: tenants: missing");
	expect_decode_error("{\"version\":1,\"tenants\":{}}", "state: tenants: must be an array");
	expect_decode_error("{\"version\":1,\"tenants\":null}", "state: tenants: must be an array");
	expect_decode_error("{\"version\":1,\"tenants\":[],\"extra\":1}",
			    "state: unknown key \"extra\"");
	expect_decode_error(WRAP(T_DB ",1"), "state: tenants[1]: must be an object");
	expect_decode_error(WRAP("[]"), "state: tenants[0]: must be an object");
}

static void test_decode_missing_fields(void **state)
{
	static const char *const fields[] = { "name", "backend", "offset", "size",
					      "dev_id", "queues", "depth" };
	char text[1024], want[128], tenant[256];

	(void)state;
	/* each field in turn, left out of the fourth tenant */
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		snprintf(tenant, sizeof(tenant), "{");
		for (size_t g = 0; g < sizeof(fields) / sizeof(fields[0]); g++) {
			const char *val = g < 2 ? "\"t4\"" : g == 3 ? "4096" : g == 4 ? "4" : "1";

			if (g == f)
				continue;
			snprintf(tenant + strlen(tenant), sizeof(tenant) - strlen(tenant),
				 "%s\"%s\":%s", strlen(tenant) > 1 ? "," : "", fields[g], val);
		}
		strcat(tenant, "}");
		snprintf(text, sizeof(text),
			 "{\"version\":1,\"tenants\":["
			 "{\"name\":\"t1\",\"backend\":\"b\",\"offset\":0,\"size\":4096,\"dev_id\":1,\"queues\":1,\"depth\":1},"
			 "{\"name\":\"t2\",\"backend\":\"b\",\"offset\":0,\"size\":4096,\"dev_id\":2,\"queues\":1,\"depth\":1},"
			 "{\"name\":\"t3\",\"backend\":\"b\",\"offset\":0,\"size\":4096,\"dev_id\":3,\"queues\":1,\"depth\":1},"
			 "%s]}", tenant);
		snprintf(want, sizeof(want), "state: tenants[3].%s: missing", fields[f]);
		expect_decode_error(text, want);
	}
}

#define T_WITH(field_json) \
	WRAP("{\"name\":\"db\",\"backend\":\"b\",\"offset\":0,\"size\":4096," \
	     "\"dev_id\":0,\"queues\":1,\"depth\":64," field_json "}")

static void test_decode_bad_values(void **state)
{
	(void)state;
	/* json-c keeps the last of repeated keys: override one field at a time */
	expect_decode_error(T_WITH("\"name\":5"), "state: tenants[0].name: must be a string");
	expect_decode_error(T_WITH("\"name\":null"), "state: tenants[0].name: must be a string");
	expect_decode_error(T_WITH("\"name\":\"a/b\""),
			    "state: tenants[0].name: \"a/b\" is not a valid name");
	expect_decode_error(T_WITH("\"name\":\"\""), "state: tenants[0].name: \"\" is not a valid name");
	expect_decode_error(T_WITH("\"name\":\"..\""),
			    "state: tenants[0].name: \"..\" is not a valid name");
	expect_decode_error(T_WITH("\"name\":\"a\\nb\""),
			    "state: tenants[0].name: \"a\\x0ab\" is not a valid name");
	/* an embedded NUL must not shorten the name to something valid */
	expect_decode_error(T_WITH("\"name\":\"db\\u0000x\""),
			    "state: tenants[0].name: \"db\" is not a valid name");
	expect_decode_error(T_WITH("\"backend\":[\"b\"]"),
			    "state: tenants[0].backend: must be a string");
	expect_decode_error(T_WITH("\"backend\":\"b c\""),
			    "state: tenants[0].backend: \"b c\" is not a valid name");
	expect_decode_error(T_WITH("\"offset\":\"0\""), "state: tenants[0].offset: must be an integer");
	expect_decode_error(T_WITH("\"offset\":-1"),
			    "state: tenants[0].offset: -1 is out of range (0..9223372036854775807)");
	expect_decode_error(T_WITH("\"offset\":9223372036854775808"),
			    "state: tenants[0].offset: 9223372036854775808 is out of range "
			    "(0..9223372036854775807)");
	expect_decode_error(T_WITH("\"offset\":18446744073709551615"),
			    "state: tenants[0].offset: 18446744073709551615 is out of range "
			    "(0..9223372036854775807)");
	expect_decode_error(T_WITH("\"size\":1.5"), "state: tenants[0].size: must be an integer");
	expect_decode_error(T_WITH("\"size\":0"),
			    "state: tenants[0].size: 0 is out of range (1..9223372036854775807)");
	expect_decode_error(T_WITH("\"offset\":9223372036854775807,\"size\":1"),
			    "state: tenants[0].size: offset + size overflows");
	expect_decode_error(T_WITH("\"dev_id\":true"), "state: tenants[0].dev_id: must be an integer");
	expect_decode_error(T_WITH("\"dev_id\":-2"),
			    "state: tenants[0].dev_id: -2 is out of range (-1..2147483647)");
	expect_decode_error(T_WITH("\"dev_id\":2147483648"),
			    "state: tenants[0].dev_id: 2147483648 is out of range (-1..2147483647)");
	expect_decode_error(T_WITH("\"queues\":0"),
			    "state: tenants[0].queues: 0 is out of range (1..64)");
	expect_decode_error(T_WITH("\"queues\":65"),
			    "state: tenants[0].queues: 65 is out of range (1..64)");
	expect_decode_error(T_WITH("\"depth\":0"), "state: tenants[0].depth: 0 is out of range (1..1024)");
	expect_decode_error(T_WITH("\"depth\":1025"),
			    "state: tenants[0].depth: 1025 is out of range (1..1024)");
	expect_decode_error(T_WITH("\"color\":\"red\""), "state: tenants[0]: unknown key \"color\"");
}

static void test_decode_duplicates(void **state)
{
	struct tenant_rec *recs = NULL;
	char err[256];
	size_t nr;

	(void)state;
	expect_decode_error(WRAP(T_DB ","
			    "{\"name\":\"web\",\"backend\":\"b\",\"offset\":4096,\"size\":4096,"
			    "\"dev_id\":1,\"queues\":1,\"depth\":1},"
			    "{\"name\":\"db\",\"backend\":\"c\",\"offset\":8192,\"size\":4096,"
			    "\"dev_id\":2,\"queues\":1,\"depth\":1}"),
			    "state: tenants[2].name: duplicate tenant name \"db\" (also tenants[0])");
	expect_decode_error(WRAP(T_DB ","
			    "{\"name\":\"web\",\"backend\":\"b\",\"offset\":4096,\"size\":4096,"
			    "\"dev_id\":0,\"queues\":1,\"depth\":1}"),
			    "state: tenants[1].dev_id: device 0 is also used by tenants[0]");
	/* tenants without a device yet do not clash */
	assert_int_equal(state_decode(WRAP("{\"name\":\"a\",\"backend\":\"b\",\"offset\":0,"
					   "\"size\":4096,\"dev_id\":-1,\"queues\":1,\"depth\":1},"
					   "{\"name\":\"c\",\"backend\":\"b\",\"offset\":4096,"
					   "\"size\":4096,\"dev_id\":-1,\"queues\":1,\"depth\":1}"),
				      &recs, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, 2);
	assert_int_equal(recs[0].dev_id, -1);
	assert_int_equal(recs[1].dev_id, -1);
	free(recs);
}

static void test_decode_error_buffer_edges(void **state)
{
	struct tenant_rec *recs = NULL;
	char small[8];
	size_t nr = 0;

	(void)state;
	memset(small, 'x', sizeof(small));
	assert_int_equal(state_decode("{}", &recs, &nr, small, 6), -1);
	assert_string_equal(small, "state");
	assert_int_equal(small[6], 'x');
	assert_int_equal(state_decode("{}", &recs, &nr, NULL, 0), -1);
}

/* A scratch directory under /tmp, removed with everything in it. */
static char *make_tmpdir(void)
{
	char *dir = strdup("/tmp/ddublk-test-state-XXXXXX");

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void remove_tree(const char *path)
{
	struct stat st;
	DIR *d;

	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	d = opendir(path);
	if (d) {
		struct dirent *e;

		while ((e = readdir(d))) {
			char *child;

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			assert_true(asprintf(&child, "%s/%s", path, e->d_name) > 0);
			remove_tree(child);
			free(child);
		}
		closedir(d);
	}
	rmdir(path);
}

static int count_entries(const char *dir)
{
	struct dirent *e;
	int n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_save_and_load(void **state)
{
	char *dir = make_tmpdir(), *sub, *path;
	struct tenant_rec *recs = NULL;
	char err[512] = "";
	struct stat st;
	size_t nr = 0;

	(void)state;
	/* two missing levels: both are created, private */
	assert_true(asprintf(&sub, "%s/a/b", dir) > 0);
	assert_true(asprintf(&path, "%s/state.json", sub) > 0);
	assert_int_equal(state_save(path, sample, NR_SAMPLE, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(count_entries(sub), 1); /* no .tmp left behind */

	assert_int_equal(state_load(path, &recs, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, NR_SAMPLE);
	for (size_t i = 0; i < NR_SAMPLE; i++)
		assert_rec_equal(&recs[i], &sample[i]);
	free(recs);

	/* overwrite with a smaller table: the new content replaces the old */
	assert_int_equal(state_save(path, &sample[1], 1, err, sizeof(err)), 0);
	assert_int_equal(count_entries(sub), 1);
	assert_int_equal(state_load(path, &recs, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, 1);
	assert_rec_equal(&recs[0], &sample[1]);
	free(recs);

	/* and the empty table */
	assert_int_equal(state_save(path, NULL, 0, err, sizeof(err)), 0);
	recs = (struct tenant_rec *)sample;
	assert_int_equal(state_load(path, &recs, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, 0);
	assert_null(recs);

	remove_tree(dir);
	free(path);
	free(sub);
	free(dir);
}

static void test_stale_tmp_is_replaced(void **state)
{
	char *dir = make_tmpdir(), *path, *tmp;
	struct tenant_rec *recs = NULL;
	char err[512] = "", big[8192];
	size_t nr = 0;

	(void)state;
	assert_true(asprintf(&path, "%s/state.json", dir) > 0);
	assert_true(asprintf(&tmp, "%s.tmp", path) > 0);
	/* a crash mid-save left a longer, half-written file */
	memset(big, '{', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_file(tmp, big);
	assert_int_equal(state_save(path, sample, 1, err, sizeof(err)), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(state_load(path, &recs, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, 1);
	assert_rec_equal(&recs[0], &sample[0]);
	free(recs);
	remove_tree(dir);
	free(tmp);
	free(path);
	free(dir);
}

static void test_failed_save_keeps_old_table(void **state)
{
	char *dir = make_tmpdir(), *path, *tmp, *want;
	struct tenant_rec *recs = NULL;
	char err[512] = "";
	size_t nr = 0;

	(void)state;
	assert_true(asprintf(&path, "%s/state.json", dir) > 0);
	assert_true(asprintf(&tmp, "%s.tmp", path) > 0);
	assert_int_equal(state_save(path, sample, NR_SAMPLE, err, sizeof(err)), 0);
	/* make the temporary file impossible to create */
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(state_save(path, &sample[1], 1, err, sizeof(err)), -1);
	assert_true(asprintf(&want, "%s: cannot write %s: Is a directory", path, tmp) > 0);
	assert_string_equal(err, want);
	assert_int_equal(state_load(path, &recs, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, NR_SAMPLE); /* the old table, whole */
	free(recs);
	remove_tree(dir);
	free(want);
	free(tmp);
	free(path);
	free(dir);
}

/* A write that fails half-way (file size limit): old table kept, no .tmp. */
static void test_short_write_leaves_no_tmp(void **state)
{
	char *dir = make_tmpdir(), *path, *tmp, *want;
	struct tenant_rec *recs = NULL;
	struct rlimit old, lim;
	void (*old_handler)(int);
	char err[512] = "";
	size_t nr = 0;
	int rc;

	(void)state;
	assert_true(asprintf(&path, "%s/state.json", dir) > 0);
	assert_true(asprintf(&tmp, "%s.tmp", path) > 0);
	assert_int_equal(state_save(path, &sample[1], 1, err, sizeof(err)), 0);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 64; /* the full table is several hundred bytes */
	old_handler = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = state_save(path, sample, NR_SAMPLE, err, sizeof(err));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);

	assert_int_equal(rc, -1);
	assert_true(asprintf(&want, "%s: cannot write %s: File too large", path, tmp) > 0);
	assert_string_equal(err, want);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(count_entries(dir), 1);
	assert_int_equal(state_load(path, &recs, &nr, err, sizeof(err)), 0);
	assert_int_equal(nr, 1);
	assert_rec_equal(&recs[0], &sample[1]);
	free(recs);
	remove_tree(dir);
	free(want);
	free(tmp);
	free(path);
	free(dir);
}

static void test_save_errors(void **state)
{
	char *dir = make_tmpdir(), *file, *path, *want;
	char err[512];

	(void)state;
	assert_true(asprintf(&file, "%s/plain", dir) > 0);
	write_file(file, "x");
	assert_true(asprintf(&path, "%s/state.json", file) > 0);
	assert_int_equal(state_save(path, sample, 1, err, sizeof(err)), -1);
	assert_true(asprintf(&want, "%s: cannot create directory %s: Not a directory", path, file) > 0);
	assert_string_equal(err, want);
	free(want);
	free(path);

	assert_true(asprintf(&path, "%s/plain/sub/state.json", dir) > 0);
	assert_int_equal(state_save(path, sample, 1, err, sizeof(err)), -1);
	assert_true(asprintf(&want, "%s: cannot create directory %s/plain/sub: Not a directory",
			     path, dir) > 0);
	assert_string_equal(err, want);
	free(want);
	free(path);

	remove_tree(dir);
	free(file);
	free(dir);
}

static void test_load_missing_is_empty(void **state)
{
	struct tenant_rec *recs = (struct tenant_rec *)sample;
	char *dir = make_tmpdir(), *path;
	char err[256] = "";
	size_t nr = 7;

	(void)state;
	assert_true(asprintf(&path, "%s/none/state.json", dir) > 0);
	assert_int_equal(state_load(path, &recs, &nr, err, sizeof(err)), 0);
	assert_null(recs);
	assert_int_equal(nr, 0);
	assert_string_equal(err, "");
	remove_tree(dir);
	free(path);
	free(dir);
}

static void test_load_errors(void **state)
{
	struct tenant_rec *recs = (struct tenant_rec *)sample;
	char *dir = make_tmpdir(), *path, *want;
	char err[512];
	size_t nr = 7;

	(void)state;
	assert_true(asprintf(&path, "%s/state.json", dir) > 0);
	write_file(path, "{\"version\":1,\"tenants\":[{\"name\":\"x\"}]}\n");
	assert_int_equal(state_load(path, &recs, &nr, err, sizeof(err)), -1);
	assert_true(asprintf(&want, "%s: tenants[0].backend: missing", path) > 0);
	assert_string_equal(err, want);
	assert_ptr_equal(recs, sample);
	assert_int_equal(nr, 7);
	free(want);

	write_file(path, "");
	assert_int_equal(state_load(path, &recs, &nr, err, sizeof(err)), -1);
	assert_true(asprintf(&want, "%s: not valid JSON: empty", path) > 0);
	assert_string_equal(err, want);
	free(want);

	{
		int fd = open(path, O_WRONLY | O_TRUNC);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "{\"version\":1,\0\"tenants\":[]}", 27), 27);
		close(fd);
	}
	assert_int_equal(state_load(path, &recs, &nr, err, sizeof(err)), -1);
	assert_true(asprintf(&want, "%s: cannot read: contains a NUL byte", path) > 0);
	assert_string_equal(err, want);
	free(want);

	assert_int_equal(state_load(dir, &recs, &nr, err, sizeof(err)), -1);
	assert_true(asprintf(&want, "%s: cannot read: Is a directory", dir) > 0);
	assert_string_equal(err, want);
	free(want);
	assert_ptr_equal(recs, sample);
	assert_int_equal(nr, 7);

	remove_tree(dir);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty_table),
		cmocka_unit_test(test_encoded_schema),
		cmocka_unit_test(test_encode_refuses_values_beyond_int64),
		cmocka_unit_test(test_decode_malformed_json),
		cmocka_unit_test(test_decode_bad_structure),
		cmocka_unit_test(test_decode_missing_fields),
		cmocka_unit_test(test_decode_bad_values),
		cmocka_unit_test(test_decode_duplicates),
		cmocka_unit_test(test_decode_error_buffer_edges),
		cmocka_unit_test(test_save_and_load),
		cmocka_unit_test(test_stale_tmp_is_replaced),
		cmocka_unit_test(test_failed_save_keeps_old_table),
		cmocka_unit_test(test_short_write_leaves_no_tmp),
		cmocka_unit_test(test_save_errors),
		cmocka_unit_test(test_load_missing_is_empty),
		cmocka_unit_test(test_load_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
