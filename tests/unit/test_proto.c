/* SPDX-License-Identifier: MIT */
/*
 * Control protocol codec: every request shape, every way a request can be
 * wrong (with the exact text the operator will read), round trips, and
 * the reply shapes ublk-ctl and scripts depend on.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/proto.h"
#include "ctl/stats_json.h"

#define NAME63 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
#define NAME64 NAME63 "x"

/* Length of a string literal, embedded NULs included. */
#define LIT(s) s, sizeof(s) - 1
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Requests as decode fills them in: the fields given, the defaults of
 * ctl_request_init() for the rest. Designated, so a new field is a default
 * (zero) rather than a -Wmissing-field-initializers error.
 */
#define REQ_ADD_QOS(n, b, sz, q, d, cl, iops, bw, w, rec)                                   \
	{ .cmd = CTL_CMD_ADD,                                                               \
	  .spec = { .name = n, .backend = b, .size = (sz), .queues = (q), .depth = (d),      \
		    .cls = (cl), .qos = { .iops_limit = (iops), .bw_limit = (bw), .weight = (w) }, \
		    .recovery = (rec) } }
#define REQ_ADD(n, b, sz, q, d) \
	REQ_ADD_QOS(n, b, sz, q, d, CONF_CLASS_BESTEFFORT, 0, 0, CONF_DEFAULT_WEIGHT, true)
/* The ADD_WITH() request below, with these QoS fields. */
#define REQ_QOS(cl, iops, bw, w, rec) REQ_ADD_QOS("db", "nvme0", 4096, 0, 0, cl, iops, bw, w, rec)
/* The ADD_WITH() request with limits, reservations and a latency goal. */
#define REQ_SLO(iops, bw, mi, mb, lt)                                                        \
	{ .cmd = CTL_CMD_ADD,                                                               \
	  .spec = { .name = "db", .backend = "nvme0", .size = 4096, .cls = BESTEFFORT,     \
		    .qos = { .iops_limit = (iops), .bw_limit = (bw), .weight = DEF_WEIGHT,  \
			     .min_iops = (mi), .min_bw = (mb), .latency_target_us = (lt) }, \
		    .recovery = true } }
/* The spec of a request that is not an add: ctl_request_init()'s defaults. */
#define SPEC_DEFAULT(n)                                                                     \
	{ .name = n, .cls = CONF_CLASS_BESTEFFORT, .qos = { .weight = CONF_DEFAULT_WEIGHT },  \
	  .recovery = true }
#define REQ_CMD(c, n) { .cmd = (c), .spec = SPEC_DEFAULT(n) }
#define REQ_DEL(n, f) { .cmd = CTL_CMD_DEL, .spec = SPEC_DEFAULT(n), .force = (f) }
#define REQ_RELOAD(f, dr)                                                                   \
	{ .cmd = CTL_CMD_RELOAD, .spec = SPEC_DEFAULT(""), .force = (f), .dry_run = (dr) }

#define BESTEFFORT CONF_CLASS_BESTEFFORT
#define LATENCY CONF_CLASS_LATENCY
#define THROUGHPUT CONF_CLASS_THROUGHPUT
#define DEF_WEIGHT CONF_DEFAULT_WEIGHT

#define ADD_PREFIX "{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"nvme0\","
#define ADD_WITH(extra) ADD_PREFIX "\"size\":4096," extra "}"
#define ADD_SIZE(v) ADD_PREFIX "\"size\":" v "}"
#define ADD_NAME(v) "{\"cmd\":\"add\",\"name\":" v ",\"backend\":\"b\",\"size\":4096}"
#define RELOAD_WITH(extra) "{\"cmd\":\"reload\"," extra "}"

/* ---- valid requests ----------------------------------------------------- */

struct good_case {
	const char *desc;
	const char *line;
	size_t len;
	struct ctl_request want;
};

static const struct good_case good_cases[] = {
	{ "add_full",
	  LIT("{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"nvme0\",\"size\":1073741824,"
	      "\"queues\":2,\"depth\":128}"),
	  REQ_ADD("db", "nvme0", 1073741824, 2, 128) },
	{ "add_minimal_defaults",
	  LIT("{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"nvme0\",\"size\":4096}"),
	  REQ_ADD("db", "nvme0", 4096, 0, 0) },
	{ "add_zero_means_default",
	  LIT("{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"b\",\"size\":8192,"
	      "\"queues\":0,\"depth\":0}"),
	  REQ_ADD("db", "b", 8192, 0, 0) },
	{ "add_limits",
	  LIT("{\"cmd\":\"add\",\"name\":\"" NAME63 "\",\"backend\":\"a.b-c_d\","
	      "\"size\":18446744073709547520,\"queues\":64,\"depth\":1024}"),
	  REQ_ADD(NAME63, "a.b-c_d", 18446744073709547520ULL, 64, 1024) },
	{ "add_minimum_counts",
	  LIT("{\"cmd\":\"add\",\"name\":\"x\",\"backend\":\"y\",\"size\":4096,"
	      "\"queues\":1,\"depth\":1}"),
	  REQ_ADD("x", "y", 4096, 1, 1) },
	{ "add_any_key_order_and_spaces",
	  LIT("  { \"depth\" : 32 , \"size\":65536,\"backend\":\"img\",\n\"name\":\"web.1\","
	      "\"cmd\":\"add\"}\t \r"),
	  REQ_ADD("web.1", "img", 65536, 0, 32) },
	{ "del", LIT("{\"cmd\":\"del\",\"name\":\"db\"}"), REQ_CMD(CTL_CMD_DEL, "db") },
	{ "del_name_with_dots", LIT("{\"name\":\"a..b\",\"cmd\":\"del\"}"),
	  REQ_CMD(CTL_CMD_DEL, "a..b") },
	{ "del_force", LIT("{\"cmd\":\"del\",\"name\":\"db\",\"force\":true}"), REQ_DEL("db", true) },
	{ "del_force_false", LIT("{\"force\":false,\"cmd\":\"del\",\"name\":\"db\"}"),
	  REQ_DEL("db", false) },
	{ "list", LIT("{\"cmd\":\"list\"}"), REQ_CMD(CTL_CMD_LIST, "") },
	{ "features", LIT("{\"cmd\":\"features\"}"), REQ_CMD(CTL_CMD_FEATURES, "") },
	/* Only len bytes count: the daemon hands us its buffer, not a string. */
	{ "length_bounds_input", "{\"cmd\":\"list\"}{garbage", 14, REQ_CMD(CTL_CMD_LIST, "") },

	/* add: class and QoS */
	{ "add_every_new_field",
	  LIT("{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"nvme0\",\"size\":1073741824,"
	      "\"queues\":1,\"depth\":64,\"class\":\"latency\",\"iops_limit\":5000,"
	      "\"bw_limit\":104857600,\"weight\":7,\"recovery\":false}"),
	  REQ_ADD_QOS("db", "nvme0", 1073741824, 1, 64, LATENCY, 5000, 104857600, 7, false) },
	{ "add_new_fields_first",
	  LIT("{\"recovery\":true,\"weight\":10000,\"bw_limit\":4096,\"iops_limit\":1,"
	      "\"class\":\"throughput\",\"size\":8192,\"backend\":\"b\",\"name\":\"n\","
	      "\"cmd\":\"add\"}"),
	  REQ_ADD_QOS("n", "b", 8192, 0, 0, THROUGHPUT, 1, 4096, 10000, true) },
	{ "class_latency", LIT(ADD_WITH("\"class\":\"latency\"")),
	  REQ_QOS(LATENCY, 0, 0, DEF_WEIGHT, true) },
	{ "class_throughput", LIT(ADD_WITH("\"class\":\"throughput\"")),
	  REQ_QOS(THROUGHPUT, 0, 0, DEF_WEIGHT, true) },
	{ "class_besteffort", LIT(ADD_WITH("\"class\":\"besteffort\"")),
	  REQ_QOS(BESTEFFORT, 0, 0, DEF_WEIGHT, true) },
	{ "iops_limit_zero_is_none", LIT(ADD_WITH("\"iops_limit\":0")),
	  REQ_QOS(BESTEFFORT, 0, 0, DEF_WEIGHT, true) },
	{ "iops_limit_min", LIT(ADD_WITH("\"iops_limit\":1")),
	  REQ_QOS(BESTEFFORT, 1, 0, DEF_WEIGHT, true) },
	{ "iops_limit_max", LIT(ADD_WITH("\"iops_limit\":10000000")),
	  REQ_QOS(BESTEFFORT, 10000000, 0, DEF_WEIGHT, true) },
	{ "bw_limit_zero_is_none", LIT(ADD_WITH("\"bw_limit\":0")),
	  REQ_QOS(BESTEFFORT, 0, 0, DEF_WEIGHT, true) },
	{ "bw_limit_min", LIT(ADD_WITH("\"bw_limit\":4096")),
	  REQ_QOS(BESTEFFORT, 0, 4096, DEF_WEIGHT, true) },
	{ "bw_limit_unaligned", LIT(ADD_WITH("\"bw_limit\":5000")),
	  REQ_QOS(BESTEFFORT, 0, 5000, DEF_WEIGHT, true) },
	{ "bw_limit_max", LIT(ADD_WITH("\"bw_limit\":1099511627776")),
	  REQ_QOS(BESTEFFORT, 0, 1ULL << 40, DEF_WEIGHT, true) },
	{ "weight_min", LIT(ADD_WITH("\"weight\":1")), REQ_QOS(BESTEFFORT, 0, 0, 1, true) },
	{ "weight_default_explicit", LIT(ADD_WITH("\"weight\":100")),
	  REQ_QOS(BESTEFFORT, 0, 0, 100, true) },
	{ "weight_max", LIT(ADD_WITH("\"weight\":10000")),
	  REQ_QOS(BESTEFFORT, 0, 0, 10000, true) },
	{ "recovery_true", LIT(ADD_WITH("\"recovery\":true")),
	  REQ_QOS(BESTEFFORT, 0, 0, DEF_WEIGHT, true) },
	{ "recovery_false", LIT(ADD_WITH("\"recovery\":false")),
	  REQ_QOS(BESTEFFORT, 0, 0, DEF_WEIGHT, false) },

	/* add: reservations and the latency goal */
	{ "slo_all", LIT(ADD_WITH("\"min_iops\":1000,\"min_bw\":52428800,"
				  "\"latency_target_us\":500")),
	  REQ_SLO(0, 0, 1000, 52428800, 500) },
	{ "slo_zero_is_none", LIT(ADD_WITH("\"min_iops\":0,\"min_bw\":0,"
					   "\"latency_target_us\":0")),
	  REQ_SLO(0, 0, 0, 0, 0) },
	{ "min_iops_min", LIT(ADD_WITH("\"min_iops\":1")), REQ_SLO(0, 0, 1, 0, 0) },
	{ "min_iops_max", LIT(ADD_WITH("\"min_iops\":10000000")),
	  REQ_SLO(0, 0, 10000000, 0, 0) },
	{ "min_bw_min", LIT(ADD_WITH("\"min_bw\":4096")), REQ_SLO(0, 0, 0, 4096, 0) },
	{ "min_bw_max", LIT(ADD_WITH("\"min_bw\":1099511627776")),
	  REQ_SLO(0, 0, 0, 1ULL << 40, 0) },
	{ "latency_target_min", LIT(ADD_WITH("\"latency_target_us\":10")),
	  REQ_SLO(0, 0, 0, 0, 10) },
	{ "latency_target_max", LIT(ADD_WITH("\"latency_target_us\":10000000")),
	  REQ_SLO(0, 0, 0, 0, 10000000) },
	/* a reservation as large as the limit, given before or after it */
	{ "min_at_limits", LIT(ADD_WITH("\"min_iops\":500,\"iops_limit\":500,"
					"\"bw_limit\":4096,\"min_bw\":4096")),
	  REQ_SLO(500, 4096, 500, 4096, 0) },
	{ "min_below_limits", LIT(ADD_WITH("\"iops_limit\":500,\"min_iops\":499,"
					   "\"min_bw\":4096,\"bw_limit\":8192")),
	  REQ_SLO(500, 8192, 499, 4096, 0) },

	/* reload */
	{ "reload", LIT("{\"cmd\":\"reload\"}"), REQ_RELOAD(false, false) },
	{ "reload_force", LIT(RELOAD_WITH("\"force\":true")), REQ_RELOAD(true, false) },
	{ "reload_dry_run", LIT(RELOAD_WITH("\"dry_run\":true")), REQ_RELOAD(false, true) },
	{ "reload_both", LIT(RELOAD_WITH("\"force\":true,\"dry_run\":true")),
	  REQ_RELOAD(true, true) },
	{ "reload_explicit_false", LIT(RELOAD_WITH("\"force\":false,\"dry_run\":false")),
	  REQ_RELOAD(false, false) },
	{ "reload_keys_before_cmd", LIT("{ \"dry_run\" : true, \"cmd\" : \"reload\" }"),
	  REQ_RELOAD(false, true) },

	/* stats: every tenant, or one */
	{ "stats", LIT("{\"cmd\":\"stats\"}"), REQ_CMD(CTL_CMD_STATS, "") },
	{ "stats_name", LIT("{\"cmd\":\"stats\",\"name\":\"db\"}"), REQ_CMD(CTL_CMD_STATS, "db") },
	{ "stats_name_first", LIT("{\"name\":\"a.b-c_1\",\"cmd\":\"stats\"}"),
	  REQ_CMD(CTL_CMD_STATS, "a.b-c_1") },
};

static void assert_request_equal(const struct ctl_request *got, const struct ctl_request *want)
{
	assert_int_equal(got->cmd, want->cmd);
	assert_string_equal(got->spec.name, want->spec.name);
	assert_string_equal(got->spec.backend, want->spec.backend);
	assert_true(got->spec.size == want->spec.size);
	assert_int_equal(got->spec.queues, want->spec.queues);
	assert_int_equal(got->spec.depth, want->spec.depth);
	assert_int_equal(got->spec.cls, want->spec.cls);
	assert_true(got->spec.qos.iops_limit == want->spec.qos.iops_limit);
	assert_true(got->spec.qos.bw_limit == want->spec.qos.bw_limit);
	assert_int_equal(got->spec.qos.weight, want->spec.qos.weight);
	assert_true(got->spec.qos.min_iops == want->spec.qos.min_iops);
	assert_true(got->spec.qos.min_bw == want->spec.qos.min_bw);
	assert_int_equal(got->spec.qos.latency_target_us, want->spec.qos.latency_target_us);
	assert_int_equal(got->spec.recovery, want->spec.recovery);
	assert_int_equal(got->force, want->force);
	assert_int_equal(got->dry_run, want->dry_run);
}

static void test_decode_good(void **state)
{
	const struct good_case *c = *state;
	struct ctl_request req;
	char err[256] = "untouched";

	memset(&req, 0xa5, sizeof(req));
	if (ctl_request_decode(c->line, c->len, &req, err, sizeof(err)) != 0)
		fail_msg("%s: refused: %s", c->desc, err);
	assert_request_equal(&req, &c->want);
}

/* ---- invalid requests --------------------------------------------------- */

struct bad_case {
	const char *desc;
	const char *line;
	size_t len;
	const char *err;
};

#define NAME_HINT " (use letters, digits, '_', '.', '-')"
#define QUEUES_ERR "\"queues\" must be an integer from 1 to 64"
#define DEPTH_ERR "\"depth\" must be an integer from 1 to 1024"
#define SIZE_ERR "\"size\" must be a positive integer"
#define ALIGN_ERR "\"size\" must be a multiple of 4096"
#define CMDS_HINT " (use add, del, list, features, reload or stats)"
#define CLASS_ERR "\"class\" must be \"latency\", \"throughput\" or \"besteffort\""
#define IOPS_ERR "\"iops_limit\" must be 0 (no limit) or an integer from 1 to 10000000"
#define BW_ERR "\"bw_limit\" must be 0 (no limit) or an integer from 4096 to 1099511627776"
#define WEIGHT_ERR "\"weight\" must be an integer from 1 to 10000"
#define MIN_IOPS_ERR "\"min_iops\" must be 0 (none) or an integer from 1 to 10000000"
#define MIN_BW_ERR "\"min_bw\" must be 0 (none) or an integer from 4096 to 1099511627776"
#define LATENCY_ERR \
	"\"latency_target_us\" must be 0 (the scheduler's) or an integer from 10 to 10000000"
#define RECOVERY_ERR "\"recovery\" must be true or false"
#define FORCE_ERR "\"force\" must be true or false"
#define DRY_RUN_ERR "\"dry_run\" must be true or false"

static const struct bad_case bad_cases[] = {
	/* not JSON at all */
	{ "empty", LIT(""), "empty request" },
	{ "blank", LIT(" \t\r\n"), "empty request" },
	{ "text", LIT("add db"), "request is not valid JSON" },
	{ "truncated", LIT("{\"cmd\":\"list\""), "request is not valid JSON" },
	{ "open_brace", LIT("{"), "request is not valid JSON" },
	{ "trailing_comma", LIT("{\"cmd\":\"list\",}"), "request is not valid JSON" },
	{ "single_quotes", LIT("{'cmd':'list'}"), "request is not valid JSON" },
	{ "single_quoted_value", LIT("{\"cmd\":'list'}"), "request is not valid JSON" },
	/* json-c's strict mode still takes these; JSON does not */
	{ "single_quoted_key", LIT("{'cmd':\"list\"}"), "request is not valid JSON" },
	{ "single_quoted_second_key", LIT("{\"cmd\":\"list\",'x':1}"),
	  "request is not valid JSON" },
	{ "bare_key", LIT("{cmd:\"list\"}"), "request is not valid JSON" },
	{ "hex_number", LIT(ADD_SIZE("0x1000")), "request is not valid JSON" },
	{ "leading_zero", LIT(ADD_SIZE("04096")), "request is not valid JSON" },
	{ "bad_utf8", LIT("{\"cmd\":\"del\",\"name\":\"\xff\"}"), "request is not valid JSON" },
	{ "trailing_garbage", LIT("{\"cmd\":\"list\"} x"),
	  "trailing characters after the request object" },
	{ "two_objects", LIT("{\"cmd\":\"list\"}{\"cmd\":\"list\"}"),
	  "trailing characters after the request object" },
	{ "nul_after_object", LIT("{\"cmd\":\"list\"}\0"), "request contains a NUL byte" },
	{ "nul_in_string", LIT("{\"cmd\":\"li\0st\"}"), "request contains a NUL byte" },
	{ "nul_first", LIT("\0{\"cmd\":\"list\"}"), "request contains a NUL byte" },

	/* JSON, but not an object */
	{ "array", LIT("[{\"cmd\":\"list\"}]"), "request must be a JSON object" },
	{ "empty_array", LIT("[]"), "request must be a JSON object" },
	{ "string", LIT("\"list\""), "request must be a JSON object" },
	{ "number", LIT("42"), "request must be a JSON object" },
	{ "true", LIT("true"), "request must be a JSON object" },
	{ "null", LIT("null"), "request must be a JSON object" },

	/* json-c keeps the last of a repeated key; ambiguous, so refused */
	{ "repeated_name", LIT("{\"cmd\":\"del\",\"name\":\"a\",\"name\":\"b\"}"),
	  "request repeats a key" },
	{ "repeated_cmd", LIT("{\"cmd\":\"list\",\"cmd\":\"list\"}"), "request repeats a key" },
	{ "repeated_escaped", LIT("{\"cmd\":\"del\",\"name\":\"a\",\"n\\u0061me\":\"b\"}"),
	  "request repeats a key" },
	/* ...but only the top level's keys count, and only outside strings */
	{ "nested_keys_not_counted", LIT("{\"cmd\":\"del\",\"name\":{\"x\":1,\"x\":2}}"),
	  "\"name\" must be a string" },
	{ "comma_quote_inside_string", LIT("{\"cmd\":\"del\",\"name\":\"a,\\\"b\"}"),
	  "invalid tenant name \"a,\\\"b\"" NAME_HINT },

	/* cmd */
	{ "no_cmd", LIT("{}"), "missing \"cmd\"" },
	{ "no_cmd_with_name", LIT("{\"name\":\"db\"}"), "missing \"cmd\"" },
	{ "cmd_number", LIT("{\"cmd\":1}"), "\"cmd\" must be a string" },
	{ "cmd_null", LIT("{\"cmd\":null}"), "\"cmd\" must be a string" },
	{ "cmd_array", LIT("{\"cmd\":[\"list\"]}"), "\"cmd\" must be a string" },
	{ "cmd_unknown", LIT("{\"cmd\":\"start\"}"),
	  "unknown command \"start\"" CMDS_HINT },
	{ "cmd_case", LIT("{\"cmd\":\"LIST\"}"),
	  "unknown command \"LIST\"" CMDS_HINT },
	{ "cmd_empty", LIT("{\"cmd\":\"\"}"),
	  "unknown command \"\"" CMDS_HINT },
	{ "cmd_escaped_nul", LIT("{\"cmd\":\"list\\u0000x\"}"),
	  "unknown command \"list\\x00x\"" CMDS_HINT },
	{ "cmd_control_chars", LIT("{\"cmd\":\"\\u001b[2J\"}"),
	  "unknown command \"\\x1b[2J\"" CMDS_HINT },

	/* keys */
	{ "unknown_key", LIT(ADD_WITH("\"sise\":4096")), "unknown key \"sise\"" },
	{ "unknown_key_list", LIT("{\"cmd\":\"list\",\"all\":true}"), "unknown key \"all\"" },
	{ "unknown_key_features", LIT("{\"cmd\":\"features\",\"x\":1}"), "unknown key \"x\"" },
	{ "unknown_key_before_missing", LIT("{\"cmd\":\"add\",\"nmae\":\"db\"}"),
	  "unknown key \"nmae\"" },
	{ "key_quoted_in_error", LIT("{\"cmd\":\"list\",\"a\\\"b\":1}"),
	  "unknown key \"a\\\"b\"" },
	{ "del_with_size", LIT("{\"cmd\":\"del\",\"name\":\"db\",\"size\":4096}"),
	  "del: unexpected key \"size\"" },
	{ "list_with_name", LIT("{\"cmd\":\"list\",\"name\":\"db\"}"),
	  "list: unexpected key \"name\"" },
	{ "features_with_backend", LIT("{\"cmd\":\"features\",\"backend\":\"b\"}"),
	  "features: unexpected key \"backend\"" },
	{ "stats_force", LIT("{\"cmd\":\"stats\",\"force\":true}"), "stats: unexpected key \"force\"" },
	{ "stats_unknown_key", LIT("{\"cmd\":\"stats\",\"interval\":1}"), "unknown key \"interval\"" },
	{ "stats_name_number", LIT("{\"cmd\":\"stats\",\"name\":7}"), "\"name\" must be a string" },
	{ "stats_name_null", LIT("{\"cmd\":\"stats\",\"name\":null}"), "\"name\" must be a string" },
	{ "stats_name_empty", LIT("{\"cmd\":\"stats\",\"name\":\"\"}"),
	  "invalid tenant name \"\"" NAME_HINT },
	{ "stats_name_escape", LIT("{\"cmd\":\"stats\",\"name\":\"\\u001b[2J\"}"),
	  "invalid tenant name \"\\x1b[2J\"" NAME_HINT },

	/* missing fields */
	{ "add_no_name", LIT("{\"cmd\":\"add\",\"backend\":\"b\",\"size\":4096}"),
	  "add: missing \"name\"" },
	{ "add_no_backend", LIT("{\"cmd\":\"add\",\"name\":\"db\",\"size\":4096}"),
	  "add: missing \"backend\"" },
	{ "add_no_size", LIT("{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"b\"}"),
	  "add: missing \"size\"" },
	{ "add_nothing", LIT("{\"cmd\":\"add\"}"), "add: missing \"name\"" },
	{ "del_no_name", LIT("{\"cmd\":\"del\"}"), "del: missing \"name\"" },

	/* wrong types */
	{ "name_number", LIT(ADD_NAME("5")), "\"name\" must be a string" },
	{ "name_null", LIT(ADD_NAME("null")), "\"name\" must be a string" },
	{ "name_array", LIT(ADD_NAME("[\"db\"]")), "\"name\" must be a string" },
	{ "name_object", LIT("{\"cmd\":\"del\",\"name\":{}}"), "\"name\" must be a string" },
	{ "backend_bool", LIT("{\"cmd\":\"add\",\"name\":\"db\",\"backend\":true,\"size\":4096}"),
	  "\"backend\" must be a string" },
	{ "size_string", LIT(ADD_SIZE("\"1G\"")), SIZE_ERR },
	{ "size_numeric_string", LIT(ADD_SIZE("\"4096\"")), SIZE_ERR },
	{ "size_double", LIT(ADD_SIZE("4096.0")), SIZE_ERR },
	{ "size_exponent", LIT(ADD_SIZE("4.096e3")), SIZE_ERR },
	{ "size_bool", LIT(ADD_SIZE("true")), SIZE_ERR },
	{ "size_null", LIT(ADD_SIZE("null")), SIZE_ERR },
	{ "size_nan", LIT(ADD_SIZE("NaN")), SIZE_ERR },
	{ "queues_string", LIT(ADD_WITH("\"queues\":\"2\"")), QUEUES_ERR },
	{ "queues_double", LIT(ADD_WITH("\"queues\":1.5")), QUEUES_ERR },
	{ "depth_bool", LIT(ADD_WITH("\"depth\":false")), DEPTH_ERR },
	{ "depth_null", LIT(ADD_WITH("\"depth\":null")), DEPTH_ERR },

	/* sizes */
	{ "size_zero", LIT(ADD_SIZE("0")), SIZE_ERR },
	{ "size_negative", LIT(ADD_SIZE("-4096")), SIZE_ERR },
	{ "size_int64_min", LIT(ADD_SIZE("-9223372036854775808")), SIZE_ERR },
	{ "size_one", LIT(ADD_SIZE("1")), ALIGN_ERR },
	{ "size_unaligned", LIT(ADD_SIZE("4097")), ALIGN_ERR },
	{ "size_half_page", LIT(ADD_SIZE("2048")), ALIGN_ERR },
	{ "size_uint64_max", LIT(ADD_SIZE("18446744073709551615")), ALIGN_ERR },
	{ "size_beyond_uint64", LIT(ADD_SIZE("18446744073709551616")), ALIGN_ERR },

	/* queues and depth ranges */
	{ "queues_too_many", LIT(ADD_WITH("\"queues\":65")), QUEUES_ERR },
	{ "queues_negative", LIT(ADD_WITH("\"queues\":-1")), QUEUES_ERR },
	{ "queues_huge", LIT(ADD_WITH("\"queues\":4294967297")), QUEUES_ERR },
	{ "depth_too_deep", LIT(ADD_WITH("\"depth\":1025")), DEPTH_ERR },
	{ "depth_negative", LIT(ADD_WITH("\"depth\":-64")), DEPTH_ERR },

	/* names */
	{ "name_slash", LIT(ADD_NAME("\"a/b\"")), "invalid tenant name \"a/b\"" NAME_HINT },
	{ "name_empty", LIT(ADD_NAME("\"\"")), "invalid tenant name \"\"" NAME_HINT },
	{ "name_dot", LIT(ADD_NAME("\".\"")), "invalid tenant name \".\"" NAME_HINT },
	{ "name_dotdot", LIT("{\"cmd\":\"del\",\"name\":\"..\"}"),
	  "invalid tenant name \"..\"" NAME_HINT },
	{ "name_space", LIT(ADD_NAME("\"a b\"")), "invalid tenant name \"a b\"" NAME_HINT },
	{ "name_newline", LIT(ADD_NAME("\"a\\nb\"")), "invalid tenant name \"a\\x0ab\"" NAME_HINT },
	{ "name_quote", LIT(ADD_NAME("\"a\\\"b\"")), "invalid tenant name \"a\\\"b\"" NAME_HINT },
	/* apostrophes inside strings are JSON: the name is what is wrong */
	{ "name_apostrophe", LIT(ADD_NAME("\"a'b\"")), "invalid tenant name \"a'b\"" NAME_HINT },
	{ "name_escaped_quote_apostrophe", LIT(ADD_NAME("\"a\\\"'b\"")),
	  "invalid tenant name \"a\\\"'b\"" NAME_HINT },
	{ "name_utf8", LIT(ADD_NAME("\"caf\xc3\xa9\"")),
	  "invalid tenant name \"caf\\xc3\\xa9\"" NAME_HINT },
	{ "name_escaped_nul", LIT("{\"cmd\":\"del\",\"name\":\"a\\u0000b\"}"),
	  "invalid tenant name \"a\\x00b\"" NAME_HINT },
	{ "name_64_chars", LIT(ADD_NAME("\"" NAME64 "\"")),
	  "tenant name too long (64 bytes, max 63)" },
	{ "backend_slash", LIT("{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"x/y\",\"size\":4096}"),
	  "invalid backend name \"x/y\"" NAME_HINT },
	{ "backend_too_long",
	  LIT("{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"" NAME64 NAME64 "\",\"size\":4096}"),
	  "backend name too long (128 bytes, max 63)" },

	/* reload: the command word */
	{ "cmd_reload_case", LIT("{\"cmd\":\"Reload\"}"), "unknown command \"Reload\"" CMDS_HINT },
	{ "cmd_reload_space", LIT("{\"cmd\":\"reload \"}"),
	  "unknown command \"reload \"" CMDS_HINT },

	/* class */
	{ "class_unknown", LIT(ADD_WITH("\"class\":\"fast\"")), CLASS_ERR ", not \"fast\"" },
	{ "class_case", LIT(ADD_WITH("\"class\":\"LATENCY\"")), CLASS_ERR ", not \"LATENCY\"" },
	{ "class_empty", LIT(ADD_WITH("\"class\":\"\"")), CLASS_ERR ", not \"\"" },
	{ "class_padded", LIT(ADD_WITH("\"class\":\" latency\"")), CLASS_ERR ", not \" latency\"" },
	{ "class_hyphen", LIT(ADD_WITH("\"class\":\"best-effort\"")),
	  CLASS_ERR ", not \"best-effort\"" },
	{ "class_escaped_nul", LIT(ADD_WITH("\"class\":\"latency\\u0000x\"")),
	  CLASS_ERR ", not \"latency\\x00x\"" },
	{ "class_control_chars", LIT(ADD_WITH("\"class\":\"\\u001b[2J\"")),
	  CLASS_ERR ", not \"\\x1b[2J\"" },
	{ "class_quote", LIT(ADD_WITH("\"class\":\"a\\\"b\"")), CLASS_ERR ", not \"a\\\"b\"" },
	{ "class_long_cut",
	  LIT(ADD_WITH("\"class\":\"" NAME64 NAME64 "\"")), CLASS_ERR ", not \"" NAME64 "\"..." },
	{ "class_number", LIT(ADD_WITH("\"class\":1")), CLASS_ERR },
	{ "class_bool", LIT(ADD_WITH("\"class\":true")), CLASS_ERR },
	{ "class_null", LIT(ADD_WITH("\"class\":null")), CLASS_ERR },
	{ "class_array", LIT(ADD_WITH("\"class\":[\"latency\"]")), CLASS_ERR },
	{ "class_object", LIT(ADD_WITH("\"class\":{}")), CLASS_ERR },

	/* iops_limit */
	{ "iops_limit_too_high", LIT(ADD_WITH("\"iops_limit\":10000001")), IOPS_ERR },
	{ "iops_limit_negative", LIT(ADD_WITH("\"iops_limit\":-1")), IOPS_ERR },
	{ "iops_limit_int64_min", LIT(ADD_WITH("\"iops_limit\":-9223372036854775808")), IOPS_ERR },
	{ "iops_limit_uint64_max", LIT(ADD_WITH("\"iops_limit\":18446744073709551615")), IOPS_ERR },
	{ "iops_limit_beyond_uint64", LIT(ADD_WITH("\"iops_limit\":18446744073709551616")),
	  IOPS_ERR },
	{ "iops_limit_string", LIT(ADD_WITH("\"iops_limit\":\"5000\"")), IOPS_ERR },
	{ "iops_limit_double", LIT(ADD_WITH("\"iops_limit\":5000.0")), IOPS_ERR },
	{ "iops_limit_exponent", LIT(ADD_WITH("\"iops_limit\":5e3")), IOPS_ERR },
	{ "iops_limit_bool", LIT(ADD_WITH("\"iops_limit\":true")), IOPS_ERR },
	{ "iops_limit_null", LIT(ADD_WITH("\"iops_limit\":null")), IOPS_ERR },
	{ "iops_limit_array", LIT(ADD_WITH("\"iops_limit\":[1]")), IOPS_ERR },

	/* bw_limit */
	{ "bw_limit_one", LIT(ADD_WITH("\"bw_limit\":1")), BW_ERR },
	{ "bw_limit_below_min", LIT(ADD_WITH("\"bw_limit\":4095")), BW_ERR },
	{ "bw_limit_above_max", LIT(ADD_WITH("\"bw_limit\":1099511627777")), BW_ERR },
	{ "bw_limit_negative", LIT(ADD_WITH("\"bw_limit\":-4096")), BW_ERR },
	{ "bw_limit_uint64_max", LIT(ADD_WITH("\"bw_limit\":18446744073709551615")), BW_ERR },
	{ "bw_limit_string", LIT(ADD_WITH("\"bw_limit\":\"100M\"")), BW_ERR },
	{ "bw_limit_double", LIT(ADD_WITH("\"bw_limit\":4096.5")), BW_ERR },
	{ "bw_limit_bool", LIT(ADD_WITH("\"bw_limit\":false")), BW_ERR },
	{ "bw_limit_null", LIT(ADD_WITH("\"bw_limit\":null")), BW_ERR },
	{ "bw_limit_object", LIT(ADD_WITH("\"bw_limit\":{}")), BW_ERR },

	/* weight: 0 is not "default" here, it is refused */
	{ "weight_zero", LIT(ADD_WITH("\"weight\":0")), WEIGHT_ERR },
	{ "weight_too_high", LIT(ADD_WITH("\"weight\":10001")), WEIGHT_ERR },
	{ "weight_negative", LIT(ADD_WITH("\"weight\":-1")), WEIGHT_ERR },
	/* 2^32 + 100: must not wrap to 100 in an unsigned */
	{ "weight_wraps_unsigned", LIT(ADD_WITH("\"weight\":4294967396")), WEIGHT_ERR },
	{ "weight_string", LIT(ADD_WITH("\"weight\":\"100\"")), WEIGHT_ERR },
	{ "weight_double", LIT(ADD_WITH("\"weight\":1.0")), WEIGHT_ERR },
	{ "weight_bool", LIT(ADD_WITH("\"weight\":true")), WEIGHT_ERR },
	{ "weight_null", LIT(ADD_WITH("\"weight\":null")), WEIGHT_ERR },

	/* reservations and the latency goal */
	{ "min_iops_too_high", LIT(ADD_WITH("\"min_iops\":10000001")), MIN_IOPS_ERR },
	{ "min_iops_negative", LIT(ADD_WITH("\"min_iops\":-1")), MIN_IOPS_ERR },
	{ "min_iops_string", LIT(ADD_WITH("\"min_iops\":\"5000\"")), MIN_IOPS_ERR },
	{ "min_iops_double", LIT(ADD_WITH("\"min_iops\":5000.0")), MIN_IOPS_ERR },
	{ "min_iops_null", LIT(ADD_WITH("\"min_iops\":null")), MIN_IOPS_ERR },
	{ "min_bw_below_min", LIT(ADD_WITH("\"min_bw\":4095")), MIN_BW_ERR },
	{ "min_bw_above_max", LIT(ADD_WITH("\"min_bw\":1099511627777")), MIN_BW_ERR },
	{ "min_bw_string", LIT(ADD_WITH("\"min_bw\":\"50M\"")), MIN_BW_ERR },
	{ "min_bw_negative", LIT(ADD_WITH("\"min_bw\":-4096")), MIN_BW_ERR },
	{ "latency_target_too_low", LIT(ADD_WITH("\"latency_target_us\":9")), LATENCY_ERR },
	{ "latency_target_too_high", LIT(ADD_WITH("\"latency_target_us\":10000001")),
	  LATENCY_ERR },
	/* 2^32 + 500: must not wrap to 500 in an unsigned */
	{ "latency_target_wraps", LIT(ADD_WITH("\"latency_target_us\":4294967796")),
	  LATENCY_ERR },
	{ "latency_target_negative", LIT(ADD_WITH("\"latency_target_us\":-1")), LATENCY_ERR },
	{ "latency_target_bool", LIT(ADD_WITH("\"latency_target_us\":true")), LATENCY_ERR },
	{ "min_iops_above_limit", LIT(ADD_WITH("\"iops_limit\":1000,\"min_iops\":1001")),
	  "\"min_iops\" (1001) is above \"iops_limit\" (1000): a reservation cannot exceed "
	  "the limit" },
	{ "min_bw_above_limit", LIT(ADD_WITH("\"min_bw\":8192,\"bw_limit\":8191")),
	  "\"min_bw\" (8192) is above \"bw_limit\" (8191): a reservation cannot exceed "
	  "the limit" },
	{ "reload_with_min_iops", LIT(RELOAD_WITH("\"min_iops\":1")),
	  "reload: unexpected key \"min_iops\"" },
	{ "del_with_latency_target",
	  LIT("{\"cmd\":\"del\",\"name\":\"db\",\"latency_target_us\":100}"),
	  "del: unexpected key \"latency_target_us\"" },
	{ "list_with_min_bw", LIT("{\"cmd\":\"list\",\"min_bw\":4096}"),
	  "list: unexpected key \"min_bw\"" },

	/* recovery */
	{ "recovery_one", LIT(ADD_WITH("\"recovery\":1")), RECOVERY_ERR },
	{ "recovery_zero", LIT(ADD_WITH("\"recovery\":0")), RECOVERY_ERR },
	{ "recovery_string_true", LIT(ADD_WITH("\"recovery\":\"true\"")), RECOVERY_ERR },
	{ "recovery_string_false", LIT(ADD_WITH("\"recovery\":\"false\"")), RECOVERY_ERR },
	{ "recovery_null", LIT(ADD_WITH("\"recovery\":null")), RECOVERY_ERR },
	{ "recovery_array", LIT(ADD_WITH("\"recovery\":[]")), RECOVERY_ERR },
	{ "recovery_repeated", LIT(ADD_WITH("\"recovery\":true,\"recovery\":false")),
	  "request repeats a key" },

	/* which error wins: fields in order, the old ones first */
	{ "add_missing_size_before_bad_class",
	  LIT(ADD_PREFIX "\"class\":\"fast\"}"), "add: missing \"size\"" },
	{ "add_bad_depth_before_bad_class", LIT(ADD_WITH("\"depth\":0.5,\"class\":\"fast\"")),
	  DEPTH_ERR },
	{ "add_bad_class_before_bad_weight", LIT(ADD_WITH("\"weight\":0,\"class\":\"fast\"")),
	  CLASS_ERR ", not \"fast\"" },
	{ "add_bad_iops_before_bad_bw", LIT(ADD_WITH("\"bw_limit\":1,\"iops_limit\":-1")),
	  IOPS_ERR },
	{ "add_bad_weight_before_bad_recovery",
	  LIT(ADD_WITH("\"recovery\":1,\"weight\":0")), WEIGHT_ERR },

	/* keys of one command on another */
	{ "add_with_force", LIT(ADD_WITH("\"force\":true")), "add: unexpected key \"force\"" },
	{ "add_with_dry_run", LIT(ADD_WITH("\"dry_run\":false")),
	  "add: unexpected key \"dry_run\"" },
	{ "del_with_class", LIT("{\"cmd\":\"del\",\"name\":\"db\",\"class\":\"latency\"}"),
	  "del: unexpected key \"class\"" },
	{ "del_with_recovery", LIT("{\"cmd\":\"del\",\"name\":\"db\",\"recovery\":true}"),
	  "del: unexpected key \"recovery\"" },
	{ "del_with_dry_run", LIT("{\"cmd\":\"del\",\"name\":\"db\",\"dry_run\":true}"),
	  "del: unexpected key \"dry_run\"" },
	{ "del_force_one", LIT("{\"cmd\":\"del\",\"name\":\"db\",\"force\":1}"), FORCE_ERR },
	{ "del_force_string", LIT("{\"cmd\":\"del\",\"name\":\"db\",\"force\":\"yes\"}"),
	  FORCE_ERR },
	{ "del_force_without_name", LIT("{\"cmd\":\"del\",\"force\":true}"),
	  "del: missing \"name\"" },
	{ "list_with_weight", LIT("{\"cmd\":\"list\",\"weight\":1}"),
	  "list: unexpected key \"weight\"" },
	{ "list_with_force", LIT("{\"cmd\":\"list\",\"force\":true}"),
	  "list: unexpected key \"force\"" },
	{ "features_with_dry_run", LIT("{\"cmd\":\"features\",\"dry_run\":true}"),
	  "features: unexpected key \"dry_run\"" },
	{ "reload_with_name", LIT(RELOAD_WITH("\"name\":\"db\"")),
	  "reload: unexpected key \"name\"" },
	{ "reload_with_size", LIT(RELOAD_WITH("\"size\":4096")),
	  "reload: unexpected key \"size\"" },
	{ "reload_with_class", LIT(RELOAD_WITH("\"class\":\"latency\"")),
	  "reload: unexpected key \"class\"" },
	{ "reload_with_iops_limit", LIT(RELOAD_WITH("\"iops_limit\":1")),
	  "reload: unexpected key \"iops_limit\"" },
	{ "reload_with_recovery", LIT(RELOAD_WITH("\"recovery\":true")),
	  "reload: unexpected key \"recovery\"" },
	/* keys are checked before values */
	{ "reload_key_before_value", LIT(RELOAD_WITH("\"force\":1,\"name\":\"db\"")),
	  "reload: unexpected key \"name\"" },
	{ "reload_unknown_key", LIT(RELOAD_WITH("\"all\":true")), "unknown key \"all\"" },
	{ "reload_key_case", LIT(RELOAD_WITH("\"Force\":true")), "unknown key \"Force\"" },
	{ "reload_key_dash", LIT(RELOAD_WITH("\"dry-run\":true")), "unknown key \"dry-run\"" },
	{ "reload_repeated_force", LIT(RELOAD_WITH("\"force\":true,\"force\":false")),
	  "request repeats a key" },

	/* reload: force and dry_run are booleans */
	{ "force_one", LIT(RELOAD_WITH("\"force\":1")), FORCE_ERR },
	{ "force_zero", LIT(RELOAD_WITH("\"force\":0")), FORCE_ERR },
	{ "force_string", LIT(RELOAD_WITH("\"force\":\"yes\"")), FORCE_ERR },
	{ "force_string_true", LIT(RELOAD_WITH("\"force\":\"true\"")), FORCE_ERR },
	{ "force_null", LIT(RELOAD_WITH("\"force\":null")), FORCE_ERR },
	{ "force_object", LIT(RELOAD_WITH("\"force\":{}")), FORCE_ERR },
	{ "dry_run_one", LIT(RELOAD_WITH("\"dry_run\":1")), DRY_RUN_ERR },
	{ "dry_run_string", LIT(RELOAD_WITH("\"dry_run\":\"false\"")), DRY_RUN_ERR },
	{ "dry_run_null", LIT(RELOAD_WITH("\"dry_run\":null")), DRY_RUN_ERR },
	{ "dry_run_array", LIT(RELOAD_WITH("\"dry_run\":[true]")), DRY_RUN_ERR },
	{ "force_before_dry_run", LIT(RELOAD_WITH("\"dry_run\":1,\"force\":1")), FORCE_ERR },
};

static void test_decode_bad(void **state)
{
	const struct bad_case *c = *state;
	struct ctl_request req, before;
	char err[512];

	memset(&req, 0x5a, sizeof(req));
	before = req;
	memset(err, 'X', sizeof(err));
	if (ctl_request_decode(c->line, c->len, &req, err, sizeof(err)) == 0)
		fail_msg("%s: accepted", c->desc);
	assert_string_equal(err, c->err);
	/* a refused request changes nothing */
	assert_memory_equal(&req, &before, sizeof(req));
}

/* ---- decode: more than one line ---------------------------------------- */

static void test_decode_too_long(void **state)
{
	size_t len = CTL_MAX_LINE + 100;
	char *line = malloc(len);
	struct ctl_request req;
	char err[128];

	assert_non_null(line);
	/* valid JSON, only too long: the length check must come first */
	memset(line, ' ', len);
	memcpy(line, "{\"cmd\":\"list\"}", 14);
	assert_int_equal(ctl_request_decode(line, len, &req, err, sizeof(err)), -1);
	assert_string_equal(err, "request longer than 65536 bytes");
	/* exactly CTL_MAX_LINE is still fine */
	assert_int_equal(ctl_request_decode(line, CTL_MAX_LINE, &req, err, sizeof(err)), 0);
	assert_int_equal(req.cmd, CTL_CMD_LIST);
	free(line);
}

static void test_decode_long_name_quoted_short(void **state)
{
	/* A hostile name is cut in the message, not echoed in full. */
	char line[512], want[256];
	char err[512];
	struct ctl_request req;

	snprintf(line, sizeof(line), "{\"cmd\":\"%0200d\"}", 0);
	assert_int_equal(ctl_request_decode(line, strlen(line), &req, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "unknown command \"%064d\"..." CMDS_HINT, 0);
	assert_string_equal(err, want);
}

static void test_decode_small_err_buffer(void **state)
{
	struct ctl_request req;
	char err[8];

	assert_int_equal(ctl_request_decode(LIT("{}"), &req, err, sizeof(err)), -1);
	assert_string_equal(err, "missing");
	/* no buffer at all is allowed */
	assert_int_equal(ctl_request_decode(LIT("{}"), &req, NULL, 0), -1);
	assert_int_equal(ctl_request_decode(LIT("{\"cmd\":\"list\"}"), &req, NULL, 0), 0);
}

static void test_cmd_names(void **state)
{
	assert_string_equal(ctl_cmd_name(CTL_CMD_ADD), "add");
	assert_string_equal(ctl_cmd_name(CTL_CMD_DEL), "del");
	assert_string_equal(ctl_cmd_name(CTL_CMD_LIST), "list");
	assert_string_equal(ctl_cmd_name(CTL_CMD_FEATURES), "features");
	assert_string_equal(ctl_cmd_name(CTL_CMD_RELOAD), "reload");
	assert_string_equal(ctl_cmd_name(CTL_CMD_STATS), "stats");
	assert_string_equal(ctl_cmd_name(CTL_CMD_NONE), "none");
	assert_string_equal(ctl_cmd_name((enum ctl_cmd)99), "unknown");
}

static void test_class_names(void **state)
{
	assert_int_equal(conf_class_from_name("besteffort"), CONF_CLASS_BESTEFFORT);
	assert_int_equal(conf_class_from_name("latency"), CONF_CLASS_LATENCY);
	assert_int_equal(conf_class_from_name("throughput"), CONF_CLASS_THROUGHPUT);
	assert_int_equal(conf_class_from_name(""), -1);
	assert_int_equal(conf_class_from_name("Latency"), -1);
	assert_int_equal(conf_class_from_name("latency "), -1);
	assert_int_equal(conf_class_from_name("best-effort"), -1);
	assert_int_equal(conf_class_from_name("late"), -1);
}

static void test_request_init(void **state)
{
	static const enum ctl_cmd cmds[] = {
		CTL_CMD_NONE, CTL_CMD_ADD, CTL_CMD_DEL, CTL_CMD_LIST, CTL_CMD_FEATURES,
		CTL_CMD_RELOAD,
	};

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		struct ctl_request req;
		const struct ctl_request want = { .cmd = cmds[i], .spec = SPEC_DEFAULT("") };

		/* everything is set, whatever was there before */
		memset(&req, 0xa5, sizeof(req));
		ctl_request_init(&req, cmds[i]);
		assert_request_equal(&req, &want);
		assert_int_equal(req.spec.name[CONF_NAME_MAX - 1], 0);
		assert_int_equal(req.spec.backend[CONF_NAME_MAX - 1], 0);
	}
}

/* ---- encode ------------------------------------------------------------- */

static void assert_round_trip(const struct ctl_request *req, const char *wire)
{
	struct ctl_request back;
	char err[256] = "";
	char *line = ctl_request_encode(req);
	size_t len;

	assert_non_null(line);
	len = strlen(line);
	assert_true(len > 0 && line[len - 1] == '\n');
	assert_null(memchr(line, '\n', len - 1)); /* one line */
	if (wire)
		assert_string_equal(line, wire);
	memset(&back, 0x33, sizeof(back));
	if (ctl_request_decode(line, len - 1, &back, err, sizeof(err)))
		fail_msg("encoded %s refused: %s", line, err);
	assert_request_equal(&back, req);
	free(line);
}

#define WIRE_ADD(extra) \
	"{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"nvme0\",\"size\":4096" extra "}\n"

static void test_encode_wire_format(void **state)
{
	struct ctl_request add = REQ_ADD("db", "nvme0", 1073741824, 0, 0);
	struct ctl_request add_all = REQ_ADD("db", "nvme0", 1073741824, 1, 64);
	struct ctl_request del = REQ_CMD(CTL_CMD_DEL, "db");
	struct ctl_request del_force = REQ_DEL("db", true);
	struct ctl_request list = REQ_CMD(CTL_CMD_LIST, "");
	struct ctl_request features = REQ_CMD(CTL_CMD_FEATURES, "");

	assert_round_trip(&add, "{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"nvme0\","
				"\"size\":1073741824}\n");
	assert_round_trip(&add_all, "{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"nvme0\","
				    "\"size\":1073741824,\"queues\":1,\"depth\":64}\n");
	assert_round_trip(&del, "{\"cmd\":\"del\",\"name\":\"db\"}\n");
	assert_round_trip(&del_force, "{\"cmd\":\"del\",\"name\":\"db\",\"force\":true}\n");
	assert_round_trip(&list, "{\"cmd\":\"list\"}\n");
	assert_round_trip(&features, "{\"cmd\":\"features\"}\n");
}

static void test_encode_stats_wire_format(void **state)
{
	struct ctl_request all = REQ_CMD(CTL_CMD_STATS, "");
	struct ctl_request one = REQ_CMD(CTL_CMD_STATS, "db");

	assert_round_trip(&all, "{\"cmd\":\"stats\"}\n");
	assert_round_trip(&one, "{\"cmd\":\"stats\",\"name\":\"db\"}\n");
}

/* ---- the stats reply's objects ------------------------------------------- */

static struct stats_hist_snap hs, hback;
static struct stats_io_snap ios;

static void test_stats_hist_round_trip(void **state)
{
	json_object *obj;
	uint64_t v = 1;

	memset(&hs, 0, sizeof(hs));
	for (int i = 0; i < 40; i++, v = v * 7 / 3 + 1) {
		hs.bucket[stats_hist_bucket(v)] += (uint64_t)i + 1;
		hs.count += (uint64_t)i + 1;
		hs.sum_ns += v * ((uint64_t)i + 1);
		hs.max_ns = v;
	}
	obj = ctl_hist_to_json(&hs);
	assert_non_null(obj);
	assert_true(ctl_json_u64(obj, "p50_ns") == stats_hist_quantile(&hs, 0.5));
	assert_true(ctl_json_u64(obj, "p999_ns") == stats_hist_quantile(&hs, 0.999));
	assert_true(ctl_json_u64(obj, "p99_ns") <= ctl_json_u64(obj, "max_ns"));
	assert_int_equal(ctl_hist_from_json(obj, &hback), 0);
	assert_memory_equal(&hs, &hback, sizeof(hs));
	json_object_put(obj);
}

static void assert_hist_refused(const char *text)
{
	json_object *obj = json_tokener_parse(text);

	assert_non_null(obj);
	if (ctl_hist_from_json(obj, &hback) != -1)
		fail_msg("accepted %s", text);
	json_object_put(obj);
}

static void test_stats_hist_bad(void **state)
{
	assert_int_equal(ctl_hist_from_json(NULL, &hback), -1);
	assert_hist_refused("{}");
	assert_hist_refused("[]");
	assert_hist_refused("{\"buckets\":{}}");
	assert_hist_refused("{\"buckets\":[1]}");
	assert_hist_refused("{\"buckets\":[[1]]}");
	assert_hist_refused("{\"buckets\":[[1,2,3]]}");
	assert_hist_refused("{\"buckets\":[[-1,2]]}");
	assert_hist_refused("{\"buckets\":[[1,-2]]}");
	assert_hist_refused("{\"buckets\":[[\"1\",2]]}");
	assert_hist_refused("{\"buckets\":[[1.5,2]]}");
	/* an upper bound in the middle of a bucket lands in that bucket; huge ones in the last */
	{
		json_object *obj = json_tokener_parse("{\"count\":3,\"buckets\":[[1030,1],"
						      "[18446744073709551615,2]]}");

		assert_int_equal(ctl_hist_from_json(obj, &hback), 0);
		assert_true(hback.bucket[stats_hist_bucket(1024)] == 1);
		assert_true(hback.bucket[STATS_HIST_BUCKETS - 1] == 2);
		assert_true(hback.count == 3);
		json_object_put(obj);
	}
}

static void test_stats_tenant_shape(void **state)
{
	static const char *const keys[] = {
		"name", "device", "backend", "class", "state", "read_ops", "write_ops",
		"flush_ops", "discard_ops", "write_zeroes_ops", "read_bytes", "write_bytes",
		"discard_bytes", "write_zeroes_bytes", "arrived", "completed", "inflight",
		"errors", "throttled", "throttled_ns", "nqs", "queue_lat", "dev_lat",
	};
	struct ctl_tenant_info t = { .spec = { .name = "db", .backend = "nvme",
					       .cls = CONF_CLASS_LATENCY },
				     .device = "/dev/ublkb0", .state = "live" };
	unsigned qids[] = { 1, 3 };
	json_object *obj, *v;

	memset(&ios, 0, sizeof(ios));
	ios.arrived = 10;
	ios.completed = 7;
	ios.ops[IO_OP_READ] = 5;
	ios.bytes[IO_OP_READ] = 5 * 4096;
	ios.errors[STATS_ERR_RANGE] = 2;
	obj = ctl_tenant_stats_to_json(&t, &ios, qids, 2);
	assert_non_null(obj);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!json_object_object_get_ex(obj, keys[i], NULL))
			fail_msg("no \"%s\"", keys[i]);
	assert_int_equal(json_object_object_length(obj), sizeof(keys) / sizeof(keys[0]));
	assert_false(json_object_object_get_ex(obj, "flush_bytes", NULL));
	assert_true(ctl_json_u64(obj, "inflight") == 3);
	assert_true(ctl_json_u64(obj, "read_bytes") == 5 * 4096);
	assert_string_equal(ctl_json_str(obj, "class", NULL), "latency");
	json_object_object_get_ex(obj, "errors", &v);
	assert_true(ctl_json_u64(v, "out_of_range") == 2);
	assert_int_equal(json_object_object_length(v), 5);
	json_object_object_get_ex(obj, "nqs", &v);
	assert_string_equal(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), "[1,3]");
	json_object_put(obj);
	/* a torn read (completed ahead of arrived) never shows negative in-flight */
	ios.completed = 11;
	obj = ctl_tenant_stats_to_json(&t, &ios, NULL, 0);
	assert_true(ctl_json_u64(obj, "inflight") == 0);
	json_object_put(obj);
}

static void test_stats_err_kinds(void **state)
{
	assert_int_equal(stats_err_of_errno(-EIO), STATS_ERR_IO);
	assert_int_equal(stats_err_of_errno(-ETIMEDOUT), STATS_ERR_TIMEOUT);
	assert_int_equal(stats_err_of_errno(-ECANCELED), STATS_ERR_TIMEOUT);
	assert_int_equal(stats_err_of_errno(-EOPNOTSUPP), STATS_ERR_UNSUPPORTED);
	assert_int_equal(stats_err_of_errno(-ENOSPC), STATS_ERR_OTHER);
	assert_string_equal(stats_err_name(STATS_ERR_RANGE), "out_of_range");
	assert_string_equal(stats_err_name(STATS_NR_ERRS), "unknown");
	assert_string_equal(stats_op_name(IO_OP_WRITE_ZEROES), "write_zeroes");
}

static void test_encode_qos_wire_format(void **state)
{
	/* Defaults are left out: besteffort, no limits, weight 100, recovery. */
	struct ctl_request defaults = REQ_QOS(BESTEFFORT, 0, 0, DEF_WEIGHT, true);
	struct ctl_request latency = REQ_QOS(LATENCY, 0, 0, DEF_WEIGHT, true);
	struct ctl_request throughput = REQ_QOS(THROUGHPUT, 0, 0, DEF_WEIGHT, true);
	struct ctl_request iops = REQ_QOS(BESTEFFORT, 2000, 0, DEF_WEIGHT, true);
	struct ctl_request bw = REQ_QOS(BESTEFFORT, 0, 104857600, DEF_WEIGHT, true);
	struct ctl_request weight = REQ_QOS(BESTEFFORT, 0, 0, 1, true);
	struct ctl_request norecovery = REQ_QOS(BESTEFFORT, 0, 0, DEF_WEIGHT, false);
	struct ctl_request all = REQ_ADD_QOS("db", "nvme0", 4096, 2, 32, LATENCY, 5000,
					     104857600, 7, false);
	struct ctl_request min_iops = REQ_SLO(0, 0, 1000, 0, 0);
	struct ctl_request min_bw = REQ_SLO(0, 0, 0, 52428800, 0);
	struct ctl_request target = REQ_SLO(0, 0, 0, 0, 500);
	struct ctl_request slo = REQ_SLO(5000, 104857600, 5000, 52428800, 10000000);
	struct ctl_request init;

	assert_round_trip(&defaults, WIRE_ADD(""));
	assert_round_trip(&latency, WIRE_ADD(",\"class\":\"latency\""));
	assert_round_trip(&throughput, WIRE_ADD(",\"class\":\"throughput\""));
	assert_round_trip(&iops, WIRE_ADD(",\"iops_limit\":2000"));
	assert_round_trip(&bw, WIRE_ADD(",\"bw_limit\":104857600"));
	assert_round_trip(&weight, WIRE_ADD(",\"weight\":1"));
	assert_round_trip(&norecovery, WIRE_ADD(",\"recovery\":false"));
	assert_round_trip(&all, WIRE_ADD(",\"queues\":2,\"depth\":32,\"class\":\"latency\","
					 "\"iops_limit\":5000,\"bw_limit\":104857600,"
					 "\"weight\":7,\"recovery\":false"));
	assert_round_trip(&min_iops, WIRE_ADD(",\"min_iops\":1000"));
	assert_round_trip(&min_bw, WIRE_ADD(",\"min_bw\":52428800"));
	assert_round_trip(&target, WIRE_ADD(",\"latency_target_us\":500"));
	assert_round_trip(&slo, WIRE_ADD(",\"iops_limit\":5000,\"bw_limit\":104857600,"
					 "\"min_iops\":5000,\"min_bw\":52428800,"
					 "\"latency_target_us\":10000000"));

	/* what ublk-ctl does: init, then fill in */
	ctl_request_init(&init, CTL_CMD_ADD);
	strcpy(init.spec.name, "db");
	strcpy(init.spec.backend, "nvme0");
	init.spec.size = 4096;
	assert_round_trip(&init, WIRE_ADD(""));
}

static void test_encode_reload_wire_format(void **state)
{
	struct ctl_request plain = REQ_RELOAD(false, false);
	struct ctl_request force = REQ_RELOAD(true, false);
	struct ctl_request dry_run = REQ_RELOAD(false, true);
	struct ctl_request both = REQ_RELOAD(true, true);

	assert_round_trip(&plain, "{\"cmd\":\"reload\"}\n");
	assert_round_trip(&force, "{\"cmd\":\"reload\",\"force\":true}\n");
	assert_round_trip(&dry_run, "{\"cmd\":\"reload\",\"dry_run\":true}\n");
	assert_round_trip(&both, "{\"cmd\":\"reload\",\"force\":true,\"dry_run\":true}\n");
}

static void test_encode_round_trip_limits(void **state)
{
	struct ctl_request big = REQ_ADD_QOS(NAME63, "a.b_c-d", 18446744073709547520ULL,
					     CONF_MAX_QUEUES, CONF_MAX_DEPTH, THROUGHPUT,
					     CONF_MAX_IOPS_LIMIT, CONF_MAX_BW_LIMIT,
					     CONF_MAX_WEIGHT, false);
	struct ctl_request small = REQ_ADD_QOS("x", "y", 4096, 1, 1, LATENCY, 1,
					       CONF_MIN_BW_LIMIT, 1, true);
	struct ctl_request only_depth = REQ_ADD("x", "y", 1ULL << 40, 0, 7);
	struct ctl_request odd_bw = REQ_ADD_QOS("x", "y", 8192, 0, 0, BESTEFFORT, 0, 4097,
						DEF_WEIGHT + 1, true);
	struct ctl_request del = REQ_CMD(CTL_CMD_DEL, NAME63);
	struct ctl_request del_force = REQ_DEL(NAME63, true);

	assert_round_trip(&del_force, NULL);
	assert_round_trip(&big, NULL);
	assert_round_trip(&small, NULL);
	assert_round_trip(&only_depth, NULL);
	assert_round_trip(&odd_bw, NULL);
	assert_round_trip(&del, NULL);
	for (int f = 0; f < 2; f++) {
		for (int d = 0; d < 2; d++) {
			struct ctl_request r = REQ_RELOAD(f, d);

			assert_round_trip(&r, NULL);
		}
	}
}

static void test_encode_ignores_irrelevant_fields(void **state)
{
	/* no command leaks another's fields onto the wire */
	struct ctl_request del = REQ_ADD_QOS("db", "nvme0", 4096, 2, 2, LATENCY, 1, 4096, 7,
					     false);
	struct ctl_request list = del, features = del, reload = del, add = del;
	char *line;

	del.cmd = CTL_CMD_DEL;
	list.cmd = CTL_CMD_LIST;
	features.cmd = CTL_CMD_FEATURES;
	reload.cmd = CTL_CMD_RELOAD;
	list.force = features.force = add.force = true;
	del.dry_run = list.dry_run = features.dry_run = add.dry_run = true;

	line = ctl_request_encode(&del);
	assert_string_equal(line, "{\"cmd\":\"del\",\"name\":\"db\"}\n");
	free(line);
	line = ctl_request_encode(&list);
	assert_string_equal(line, "{\"cmd\":\"list\"}\n");
	free(line);
	line = ctl_request_encode(&features);
	assert_string_equal(line, "{\"cmd\":\"features\"}\n");
	free(line);
	line = ctl_request_encode(&reload);
	assert_string_equal(line, "{\"cmd\":\"reload\"}\n");
	free(line);
	line = ctl_request_encode(&add);
	assert_string_equal(line, WIRE_ADD(",\"queues\":2,\"depth\":2,\"class\":\"latency\","
					   "\"iops_limit\":1,\"bw_limit\":4096,\"weight\":7,"
					   "\"recovery\":false"));
	free(line);
}

static void test_encode_invalid_cmd(void **state)
{
	struct ctl_request none, bogus;

	ctl_request_init(&none, CTL_CMD_NONE);
	strcpy(none.spec.name, "db");
	ctl_request_init(&bogus, (enum ctl_cmd)42);
	strcpy(bogus.spec.name, "db");
	assert_null(ctl_request_encode(&none));
	assert_null(ctl_request_encode(&bogus));
}

/* ---- tenant info -------------------------------------------------------- */

#define SAMPLE_UUID "8c0c5a1e-3f2b-4d6a-9e7f-0123456789ab"

/* Every field away from its default, so a dropped one shows. */
static const struct ctl_tenant_info sample_tenant = {
	.spec = {
		.name = "db",
		.backend = "nvme0",
		.size = 1073741824,
		.queues = 1,
		.depth = 64,
		.cls = CONF_CLASS_LATENCY,
		.qos = { .iops_limit = 5000, .bw_limit = 104857600, .weight = 50,
			 .min_iops = 1000, .min_bw = 52428800, .latency_target_us = 500 },
		.recovery = false,
	},
	.device = "/dev/ublkb0",
	.dev_id = 0,
	.state = "live",
	.offset = 1048576,
	.uuid = SAMPLE_UUID,
	.created = 1795000000,
};

#define OLD_TENANT_JSON                                                          \
	"{\"name\":\"db\",\"device\":\"/dev/ublkb0\",\"dev_id\":0,\"state\":\"live\"," \
	"\"backend\":\"nvme0\",\"offset\":1048576,\"size\":1073741824,"              \
	"\"queues\":1,\"depth\":64}"

#define SAMPLE_TENANT_JSON                                                       \
	"{\"name\":\"db\",\"device\":\"/dev/ublkb0\",\"dev_id\":0,\"state\":\"live\"," \
	"\"backend\":\"nvme0\",\"offset\":1048576,\"size\":1073741824,"              \
	"\"queues\":1,\"depth\":64,\"class\":\"latency\",\"iops_limit\":5000,"       \
	"\"bw_limit\":104857600,\"weight\":50,\"min_iops\":1000,\"min_bw\":52428800,"  \
	"\"latency_target_us\":500,\"recovery\":false,"                                \
	"\"uuid\":\"" SAMPLE_UUID "\",\"created\":1795000000}"

/* Every daemon sends these. */
static const char *const tenant_keys[] = {
	"name", "device", "dev_id", "state", "backend", "offset", "size", "queues", "depth",
};

/* An older daemon does not: defaults then. */
static const char *const optional_tenant_keys[] = {
	"class", "iops_limit", "bw_limit", "weight", "recovery", "uuid", "created",
	"min_iops", "min_bw", "latency_target_us",
};

static void assert_tenant_equal(const struct ctl_tenant_info *a, const struct ctl_tenant_info *b)
{
	assert_string_equal(a->spec.name, b->spec.name);
	assert_string_equal(a->device, b->device);
	assert_int_equal(a->dev_id, b->dev_id);
	assert_string_equal(a->state, b->state);
	assert_string_equal(a->spec.backend, b->spec.backend);
	assert_true(a->offset == b->offset);
	assert_true(a->spec.size == b->spec.size);
	assert_int_equal(a->spec.queues, b->spec.queues);
	assert_int_equal(a->spec.depth, b->spec.depth);
	assert_int_equal(a->spec.cls, b->spec.cls);
	assert_true(a->spec.qos.iops_limit == b->spec.qos.iops_limit);
	assert_true(a->spec.qos.bw_limit == b->spec.qos.bw_limit);
	assert_int_equal(a->spec.qos.weight, b->spec.qos.weight);
	assert_true(a->spec.qos.min_iops == b->spec.qos.min_iops);
	assert_true(a->spec.qos.min_bw == b->spec.qos.min_bw);
	assert_int_equal(a->spec.qos.latency_target_us, b->spec.qos.latency_target_us);
	assert_int_equal(a->spec.recovery, b->spec.recovery);
	assert_string_equal(a->uuid, b->uuid);
	assert_true(a->created == b->created);
}

/* What ctl_tenant_from_json() fills in when key is absent. */
static void set_tenant_default(struct ctl_tenant_info *t, const char *key)
{
	if (!strcmp(key, "class"))
		t->spec.cls = CONF_CLASS_BESTEFFORT;
	else if (!strcmp(key, "iops_limit"))
		t->spec.qos.iops_limit = 0;
	else if (!strcmp(key, "bw_limit"))
		t->spec.qos.bw_limit = 0;
	else if (!strcmp(key, "weight"))
		t->spec.qos.weight = CONF_DEFAULT_WEIGHT;
	else if (!strcmp(key, "recovery"))
		t->spec.recovery = true;
	else if (!strcmp(key, "uuid"))
		t->uuid[0] = '\0';
	else if (!strcmp(key, "created"))
		t->created = 0;
	else if (!strcmp(key, "min_iops"))
		t->spec.qos.min_iops = 0;
	else if (!strcmp(key, "min_bw"))
		t->spec.qos.min_bw = 0;
	else if (!strcmp(key, "latency_target_us"))
		t->spec.qos.latency_target_us = 0;
	else
		fail_msg("no default for \"%s\"", key);
}

static void test_tenant_to_json_shape(void **state)
{
	json_object *obj = ctl_tenant_to_json(&sample_tenant);

	assert_non_null(obj);
	/* slashes unescaped: scripts and people read this */
	assert_string_equal(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE),
			    SAMPLE_TENANT_JSON);
	json_object_put(obj);
}

static void test_tenant_to_json_defaults(void **state)
{
	struct ctl_tenant_info t = {
		.spec = { .name = "web", .backend = "img", .size = 4096, .queues = 1, .depth = 1,
			  .cls = CONF_CLASS_BESTEFFORT, .qos = { .weight = CONF_DEFAULT_WEIGHT },
			  .recovery = true },
		.device = "", .dev_id = -1, .state = "failed",
	};
	json_object *obj = ctl_tenant_to_json(&t), *cls;

	/* class, limits and weight are always sent, defaults too; reservations and the
	 * latency goal only when set */
	assert_non_null(obj);
	assert_string_equal(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE),
			    "{\"name\":\"web\",\"device\":\"\",\"dev_id\":-1,\"state\":\"failed\","
			    "\"backend\":\"img\",\"offset\":0,\"size\":4096,\"queues\":1,"
			    "\"depth\":1,\"class\":\"besteffort\",\"iops_limit\":0,"
			    "\"bw_limit\":0,\"weight\":100,\"recovery\":true,\"uuid\":\"\","
			    "\"created\":0}");
	json_object_put(obj);

	/* a class out of range is never sent as something a client refuses */
	t.spec.cls = (enum conf_class)42;
	obj = ctl_tenant_to_json(&t);
	assert_non_null(obj);
	assert_true(json_object_object_get_ex(obj, "class", &cls));
	assert_string_equal(json_object_get_string(cls), "besteffort");
	json_object_put(obj);
}

static void assert_tenant_round_trip(const struct ctl_tenant_info *t)
{
	struct ctl_tenant_info back;
	json_object *obj = ctl_tenant_to_json(t), *reparsed;

	assert_non_null(obj);
	memset(&back, 0x77, sizeof(back));
	assert_int_equal(ctl_tenant_from_json(obj, &back), 0);
	assert_tenant_equal(&back, t);
	/* and through text, as it travels */
	reparsed = json_tokener_parse(json_object_to_json_string(obj));
	assert_non_null(reparsed);
	memset(&back, 0x77, sizeof(back));
	assert_int_equal(ctl_tenant_from_json(reparsed, &back), 0);
	assert_tenant_equal(&back, t);
	json_object_put(reparsed);
	json_object_put(obj);
}

static void test_tenant_round_trip(void **state)
{
	struct ctl_tenant_info no_device = {
		.spec = { .name = "web", .backend = "img", .size = 4096, .queues = 2, .depth = 1024,
			  .cls = CONF_CLASS_BESTEFFORT, .qos = { .weight = CONF_DEFAULT_WEIGHT },
			  .recovery = true },
		.device = "", .dev_id = -1, .state = "failed", .offset = 0, .uuid = "",
		.created = 0,
	};
	struct ctl_tenant_info huge = {
		.spec = { .name = NAME63, .backend = NAME63, .size = 9223372036854779904ULL,
			  .queues = 64, .depth = 1, .cls = CONF_CLASS_THROUGHPUT,
			  .qos = { .iops_limit = UINT64_MAX, .bw_limit = UINT64_MAX,
				   .weight = UINT32_MAX, .min_iops = UINT64_MAX,
				   .min_bw = UINT64_MAX, .latency_target_us = UINT32_MAX },
			  .recovery = true },
		.device = "/dev/ublkb12345", .dev_id = 12345, .state = "stopped",
		.offset = 18446744073709547520ULL, .uuid = "ffffffff-ffff-ffff-ffff-ffffffffffff",
		.created = UINT64_MAX,
	};
	struct ctl_tenant_info besteffort = sample_tenant;

	besteffort.spec.cls = CONF_CLASS_BESTEFFORT;
	besteffort.spec.qos.weight = 1;
	assert_tenant_round_trip(&sample_tenant);
	assert_tenant_round_trip(&no_device);
	assert_tenant_round_trip(&huge);
	assert_tenant_round_trip(&besteffort);
}

static void test_tenant_older_daemon(void **state)
{
	/* No class, QoS, recovery, uuid or created: the defaults. */
	json_object *obj = json_tokener_parse(OLD_TENANT_JSON);
	struct ctl_tenant_info t, want = sample_tenant;

	for (size_t i = 0; i < ARRAY_SIZE(optional_tenant_keys); i++)
		set_tenant_default(&want, optional_tenant_keys[i]);
	assert_non_null(obj);
	memset(&t, 0x77, sizeof(t));
	assert_int_equal(ctl_tenant_from_json(obj, &t), 0);
	assert_tenant_equal(&t, &want);
	assert_int_equal(t.spec.cls, CONF_CLASS_BESTEFFORT);
	assert_int_equal(t.spec.qos.weight, 100);
	assert_true(t.spec.recovery);
	assert_true(t.spec.qos.iops_limit == 0 && t.spec.qos.bw_limit == 0 && t.created == 0);
	assert_string_equal(t.uuid, "");
	json_object_put(obj);
}

static void test_tenant_missing_field(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(tenant_keys); i++) {
		json_object *obj = ctl_tenant_to_json(&sample_tenant);
		struct ctl_tenant_info t, before;

		memset(&t, 0x11, sizeof(t));
		before = t;
		json_object_object_del(obj, tenant_keys[i]);
		if (ctl_tenant_from_json(obj, &t) != -1)
			fail_msg("accepted a tenant without \"%s\"", tenant_keys[i]);
		assert_memory_equal(&t, &before, sizeof(t));
		json_object_put(obj);
	}
}

static void test_tenant_missing_optional_field(void **state)
{
	/* Each one alone: that field takes its default, the rest are kept. */
	for (size_t i = 0; i < ARRAY_SIZE(optional_tenant_keys); i++) {
		json_object *obj = ctl_tenant_to_json(&sample_tenant);
		struct ctl_tenant_info t, want = sample_tenant;

		set_tenant_default(&want, optional_tenant_keys[i]);
		json_object_object_del(obj, optional_tenant_keys[i]);
		memset(&t, 0x11, sizeof(t));
		if (ctl_tenant_from_json(obj, &t) != 0)
			fail_msg("refused a tenant without \"%s\"", optional_tenant_keys[i]);
		assert_tenant_equal(&t, &want);
		json_object_put(obj);
	}
}

static void assert_mistyped_refused(const char *key, json_object *val)
{
	json_object *obj = ctl_tenant_to_json(&sample_tenant);
	struct ctl_tenant_info t, before;

	memset(&t, 0x11, sizeof(t));
	before = t;
	json_object_object_add(obj, key, val);
	if (ctl_tenant_from_json(obj, &t) != -1)
		fail_msg("accepted a mistyped \"%s\": %s", key, json_object_to_json_string(val));
	assert_memory_equal(&t, &before, sizeof(t));
	json_object_put(obj);
}

static void test_tenant_mistyped_field(void **state)
{
	const size_t nr = ARRAY_SIZE(tenant_keys);
	const size_t nr_opt = ARRAY_SIZE(optional_tenant_keys);

	for (size_t i = 0; i < nr + nr_opt; i++) {
		const char *key = i < nr ? tenant_keys[i] : optional_tenant_keys[i - nr];
		json_object *obj = ctl_tenant_to_json(&sample_tenant), *cur;
		bool is_string;

		/* swap the kind: strings become numbers, the rest strings; null for all */
		assert_true(json_object_object_get_ex(obj, key, &cur));
		is_string = json_object_is_type(cur, json_type_string);
		json_object_put(obj);
		assert_mistyped_refused(key, is_string ? json_object_new_int(1) :
							 json_object_new_string("1"));
		assert_mistyped_refused(key, NULL); /* JSON null */
		assert_mistyped_refused(key, json_object_new_array());
		assert_mistyped_refused(key, json_object_new_double(1.5));
	}
	/* the boolean one takes no numbers either */
	assert_mistyped_refused("recovery", json_object_new_int(1));
	assert_mistyped_refused("recovery", json_object_new_int(0));
}

static int tenant_from_text(const char *text, struct ctl_tenant_info *out)
{
	json_object *obj = json_tokener_parse(text);
	struct ctl_tenant_info t;
	int ret;

	ret = ctl_tenant_from_json(obj, out ? out : &t);
	json_object_put(obj);
	return ret;
}

static void test_tenant_bad_values(void **state)
{
	char text[512];

#define TENANT_WITH(key_value)                                                              \
	(snprintf(text, sizeof(text),                                                       \
		  "{\"name\":\"db\",\"device\":\"/dev/ublkb0\",\"dev_id\":0,\"state\":\"live\"," \
		  "\"backend\":\"nvme0\",\"offset\":0,\"size\":4096,\"queues\":1,\"depth\":64," \
		  key_value "}"),                                                           \
	 tenant_from_text(text, NULL))

	assert_int_equal(TENANT_WITH("\"extra\":true"), 0); /* newer daemons may add keys */
	assert_int_equal(TENANT_WITH("\"dev_id\":-1"), 0);
	assert_int_equal(TENANT_WITH("\"dev_id\":-2"), -1);
	assert_int_equal(TENANT_WITH("\"dev_id\":4294967296"), -1);
	assert_int_equal(TENANT_WITH("\"offset\":-1"), -1);
	assert_int_equal(TENANT_WITH("\"size\":-4096"), -1);
	assert_int_equal(TENANT_WITH("\"size\":4096.5"), -1);
	assert_int_equal(TENANT_WITH("\"queues\":-1"), -1);
	assert_int_equal(TENANT_WITH("\"depth\":4294967296"), -1);
	assert_int_equal(TENANT_WITH("\"name\":\"" NAME64 "\""), -1);
	assert_int_equal(TENANT_WITH("\"state\":\"a-state-name-too-long\""), -1);
	assert_int_equal(TENANT_WITH("\"device\":\"/dev/" NAME64 "\""), -1);
	assert_int_equal(TENANT_WITH("\"name\":\"a\\u0000b\""), -1);
	assert_int_equal(TENANT_WITH("\"name\":null"), -1);

	/* class: one of the three names, exactly */
	assert_int_equal(TENANT_WITH("\"class\":\"latency\""), 0);
	assert_int_equal(TENANT_WITH("\"class\":\"throughput\""), 0);
	assert_int_equal(TENANT_WITH("\"class\":\"besteffort\""), 0);
	assert_int_equal(TENANT_WITH("\"class\":\"fast\""), -1);
	assert_int_equal(TENANT_WITH("\"class\":\"LATENCY\""), -1);
	assert_int_equal(TENANT_WITH("\"class\":\"\""), -1);
	assert_int_equal(TENANT_WITH("\"class\":\"latency\\u0000\""), -1);
	assert_int_equal(TENANT_WITH("\"class\":\"a-class-name-too-long\""), -1);
	assert_int_equal(TENANT_WITH("\"class\":2"), -1);
	/* limits: unsigned integers; the daemon's bounds are its business */
	assert_int_equal(TENANT_WITH("\"iops_limit\":18446744073709551615"), 0);
	assert_int_equal(TENANT_WITH("\"iops_limit\":-1"), -1);
	assert_int_equal(TENANT_WITH("\"iops_limit\":\"5000\""), -1);
	assert_int_equal(TENANT_WITH("\"bw_limit\":1"), 0);
	assert_int_equal(TENANT_WITH("\"bw_limit\":-4096"), -1);
	assert_int_equal(TENANT_WITH("\"bw_limit\":4096.0"), -1);
	assert_int_equal(TENANT_WITH("\"bw_limit\":\"100M\""), -1);
	/* weight: must fit an unsigned */
	assert_int_equal(TENANT_WITH("\"weight\":4294967295"), 0);
	assert_int_equal(TENANT_WITH("\"weight\":4294967296"), -1);
	assert_int_equal(TENANT_WITH("\"weight\":-1"), -1);
	assert_int_equal(TENANT_WITH("\"weight\":true"), -1);
	/* reservations: unsigned integers; the latency goal must fit an unsigned */
	assert_int_equal(TENANT_WITH("\"min_iops\":18446744073709551615"), 0);
	assert_int_equal(TENANT_WITH("\"min_iops\":-1"), -1);
	assert_int_equal(TENANT_WITH("\"min_iops\":\"5000\""), -1);
	assert_int_equal(TENANT_WITH("\"min_bw\":1"), 0);
	assert_int_equal(TENANT_WITH("\"min_bw\":-4096"), -1);
	assert_int_equal(TENANT_WITH("\"min_bw\":4096.0"), -1);
	assert_int_equal(TENANT_WITH("\"latency_target_us\":4294967295"), 0);
	assert_int_equal(TENANT_WITH("\"latency_target_us\":4294967296"), -1);
	assert_int_equal(TENANT_WITH("\"latency_target_us\":-1"), -1);
	assert_int_equal(TENANT_WITH("\"latency_target_us\":false"), -1);
	/* recovery: a boolean */
	assert_int_equal(TENANT_WITH("\"recovery\":false"), 0);
	assert_int_equal(TENANT_WITH("\"recovery\":1"), -1);
	assert_int_equal(TENANT_WITH("\"recovery\":\"true\""), -1);
	assert_int_equal(TENANT_WITH("\"recovery\":null"), -1);
	/* uuid: a string of at most 36 bytes */
	assert_int_equal(TENANT_WITH("\"uuid\":\"\""), 0);
	assert_int_equal(TENANT_WITH("\"uuid\":\"" SAMPLE_UUID "\""), 0);
	assert_int_equal(TENANT_WITH("\"uuid\":\"" SAMPLE_UUID "0\""), -1);
	assert_int_equal(TENANT_WITH("\"uuid\":\"a\\u0000b\""), -1);
	assert_int_equal(TENANT_WITH("\"uuid\":42"), -1);
	/* created: seconds, not negative */
	assert_int_equal(TENANT_WITH("\"created\":0"), 0);
	assert_int_equal(TENANT_WITH("\"created\":18446744073709551615"), 0);
	assert_int_equal(TENANT_WITH("\"created\":-1"), -1);
	assert_int_equal(TENANT_WITH("\"created\":1.5"), -1);
	assert_int_equal(TENANT_WITH("\"created\":\"1795000000\""), -1);
#undef TENANT_WITH
	assert_int_equal(tenant_from_text("[]", NULL), -1);
	assert_int_equal(tenant_from_text("\"db\"", NULL), -1);
	assert_int_equal(ctl_tenant_from_json(NULL, &(struct ctl_tenant_info){ 0 }), -1);
}

static void test_tenant_new_values_parsed(void **state)
{
	struct ctl_tenant_info t;

	assert_int_equal(tenant_from_text("{\"name\":\"db\",\"device\":\"\",\"dev_id\":-1,"
					  "\"state\":\"stopped\",\"backend\":\"b\",\"offset\":0,"
					  "\"size\":4096,\"queues\":1,\"depth\":1,"
					  "\"class\":\"throughput\",\"iops_limit\":2000,"
					  "\"bw_limit\":104857600,\"weight\":3,\"recovery\":false,"
					  "\"min_iops\":700,\"min_bw\":4096,\"latency_target_us\":250,"
					  "\"uuid\":\"" SAMPLE_UUID "\",\"created\":7}", &t), 0);
	assert_true(t.spec.qos.min_iops == 700);
	assert_true(t.spec.qos.min_bw == 4096);
	assert_int_equal(t.spec.qos.latency_target_us, 250);
	assert_int_equal(t.spec.cls, CONF_CLASS_THROUGHPUT);
	assert_true(t.spec.qos.iops_limit == 2000);
	assert_true(t.spec.qos.bw_limit == 104857600);
	assert_int_equal(t.spec.qos.weight, 3);
	assert_false(t.spec.recovery);
	assert_string_equal(t.uuid, SAMPLE_UUID);
	assert_true(t.created == 7);
}

/* ---- replies ------------------------------------------------------------ */

static void test_reply_error_shape(void **state)
{
	char *line = ctl_reply_error("tenant \"db\" already exists");

	assert_string_equal(line, "{\"ok\":false,\"error\":\"tenant \\\"db\\\" already exists\"}\n");
	free(line);
	/* a message with a newline must still be one line */
	line = ctl_reply_error("two\nlines /dev/x");
	assert_string_equal(line, "{\"ok\":false,\"error\":\"two\\nlines /dev/x\"}\n");
	free(line);
}

static void test_reply_ok_shapes(void **state)
{
	json_object *arr, *features, *flags, *reload, *changes;
	char *line;

	line = ctl_reply_ok(NULL, NULL);
	assert_string_equal(line, "{\"ok\":true}\n");
	free(line);

	line = ctl_reply_ok("tenant", ctl_tenant_to_json(&sample_tenant));
	assert_string_equal(line, "{\"ok\":true,\"tenant\":" SAMPLE_TENANT_JSON "}\n");
	free(line);

	arr = json_object_new_array();
	json_object_array_add(arr, ctl_tenant_to_json(&sample_tenant));
	json_object_array_add(arr, ctl_tenant_to_json(&sample_tenant));
	line = ctl_reply_ok("tenants", arr);
	assert_string_equal(line, "{\"ok\":true,\"tenants\":[" SAMPLE_TENANT_JSON ","
				  SAMPLE_TENANT_JSON "]}\n");
	free(line);

	line = ctl_reply_ok("tenants", json_object_new_array());
	assert_string_equal(line, "{\"ok\":true,\"tenants\":[]}\n");
	free(line);

	features = json_object_new_object();
	flags = json_object_new_array();
	json_object_array_add(flags, json_object_new_string("USER_RECOVERY"));
	json_object_object_add(features, "opcodes", json_object_new_string("legacy"));
	json_object_object_add(features, "flags", flags);
	json_object_object_add(features, "flags_raw", json_object_new_int(24));
	json_object_object_add(features, "kernel", json_object_new_string("6.1.0"));
	line = ctl_reply_ok("features", features);
	assert_string_equal(line, "{\"ok\":true,\"features\":{\"opcodes\":\"legacy\","
				  "\"flags\":[\"USER_RECOVERY\"],\"flags_raw\":24,"
				  "\"kernel\":\"6.1.0\"}}\n");
	free(line);

	reload = json_object_new_object();
	changes = json_object_new_array();
	json_object_array_add(changes,
			      json_object_new_string("+ tenant \"c\": add 1 GiB on nvme0"));
	json_object_array_add(changes, json_object_new_string("~ tenant \"a\": class latency"));
	json_object_object_add(reload, "applied", json_object_new_boolean(1));
	json_object_object_add(reload, "changes", changes);
	line = ctl_reply_ok("reload", reload);
	assert_string_equal(line, "{\"ok\":true,\"reload\":{\"applied\":true,\"changes\":["
				  "\"+ tenant \\\"c\\\": add 1 GiB on nvme0\","
				  "\"~ tenant \\\"a\\\": class latency\"]}}\n");
	free(line);

	/* payload without a key is still consumed (the leak checker watches) */
	line = ctl_reply_ok(NULL, json_object_new_string("dropped"));
	assert_string_equal(line, "{\"ok\":true}\n");
	free(line);
}

static void test_reply_decode(void **state)
{
	json_object *reply, *tenant;
	struct ctl_tenant_info t;
	char err[256];
	char *line;

	/* ok, with the payload reachable */
	line = ctl_reply_ok("tenant", ctl_tenant_to_json(&sample_tenant));
	assert_int_equal(ctl_reply_decode(line, strlen(line), &reply, err, sizeof(err)), 0);
	assert_true(json_object_object_get_ex(reply, "tenant", &tenant));
	assert_int_equal(ctl_tenant_from_json(tenant, &t), 0);
	assert_tenant_equal(&t, &sample_tenant);
	json_object_put(reply);
	free(line);

	/* refusal: the daemon's text verbatim */
	line = ctl_reply_error("backend \"nvme0\" has only 1 GiB free / asked 2 GiB");
	assert_int_equal(ctl_reply_decode(line, strlen(line), &reply, err, sizeof(err)), 1);
	assert_null(reply);
	assert_string_equal(err, "backend \"nvme0\" has only 1 GiB free / asked 2 GiB");
	free(line);

	/* a reload refusal: several lines, kept as they are */
	line = ctl_reply_error("reload refused: 1 destructive change (marked \"needs --force\"); "
			       "nothing was changed\n"
			       "- tenant \"b\": remove: 1 GiB on nvme0 (needs --force)\n"
			       "~ tenant \"a\": iops_limit 0 -> 5000");
	assert_true(strchr(line, '\n') == line + strlen(line) - 1); /* one line */
	assert_int_equal(ctl_reply_decode(line, strlen(line), &reply, err, sizeof(err)), 1);
	assert_string_equal(err, "reload refused: 1 destructive change (marked \"needs --force\"); "
				 "nothing was changed\n"
				 "- tenant \"b\": remove: 1 GiB on nvme0 (needs --force)\n"
				 "~ tenant \"a\": iops_limit 0 -> 5000");
	free(line);

	assert_int_equal(ctl_reply_decode(LIT("{\"ok\":false}"), &reply, err, sizeof(err)), 1);
	assert_string_equal(err, "the daemon refused the request without a reason");

	/* not replies */
	assert_int_equal(ctl_reply_decode(LIT("garbage"), &reply, err, sizeof(err)), -1);
	assert_string_equal(err, "malformed reply from the daemon (not JSON)");
	assert_int_equal(ctl_reply_decode(LIT("{\"ok\":true} x"), &reply, err, sizeof(err)), -1);
	assert_string_equal(err, "malformed reply from the daemon (not JSON)");
	assert_int_equal(ctl_reply_decode(LIT("{\"error\":\"x\"}"), &reply, err, sizeof(err)), -1);
	assert_string_equal(err, "malformed reply from the daemon (no \"ok\")");
	assert_int_equal(ctl_reply_decode(LIT("{\"ok\":1}"), &reply, err, sizeof(err)), -1);
	assert_int_equal(ctl_reply_decode(LIT("[true]"), &reply, err, sizeof(err)), -1);
	assert_int_equal(ctl_reply_decode(LIT("null"), &reply, err, sizeof(err)), -1);
	assert_null(reply);
}

/* ---- runner -------------------------------------------------------------- */

/* features: one backend's queue routing, exactly as on the wire. */
static void test_backend_json_shape(void **state)
{
	struct ctl_backend_info b = { .name = "nvme0", .kind = "nvme",
				      .route = CTL_ROUTE_STEERING, .hw_queues = 64,
				      .reachable_queues = 64, .poll_queues = 62 };
	json_object *obj = ctl_backend_to_json(&b);

	(void)state;
	assert_non_null(obj);
	assert_string_equal(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN),
			    "{\"name\":\"nvme0\",\"kind\":\"nvme\",\"queue_route\":\"steering\","
			    "\"hw_queues\":64,\"reachable_queues\":64,\"poll_queues\":62}");
	json_object_put(obj);
	assert_string_equal(ctl_queue_route_name(CTL_ROUTE_PINNED), "pinned");
	assert_string_equal(ctl_queue_route_name(CTL_ROUTE_NONE), "none");
}

static void test_backend_round_trip(void **state)
{
	const struct ctl_backend_info in[] = {
		{ .name = "a", .kind = "nvme", .route = CTL_ROUTE_PINNED, .hw_queues = 64,
		  .reachable_queues = 2 },
		{ .name = "b", .kind = "file", .route = CTL_ROUTE_NONE },
		{ .name = "c", .kind = "nvme", .route = CTL_ROUTE_STEERING, .hw_queues = 4,
		  .reachable_queues = 4, .poll_queues = 2 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		json_object *obj = ctl_backend_to_json(&in[i]);
		struct ctl_backend_info out;

		assert_int_equal(ctl_backend_from_json(obj, &out), 0);
		assert_memory_equal(&out, &in[i], sizeof(out));
		json_object_put(obj);
	}
}

static int backend_from_text(const char *text)
{
	json_object *obj = json_tokener_parse(text);
	struct ctl_backend_info b;
	int ret = ctl_backend_from_json(obj, &b);

	json_object_put(obj);
	return ret;
}

static void test_backend_bad(void **state)
{
#define B(route, hw, reach, poll) \
	"{\"name\":\"n\",\"kind\":\"nvme\",\"queue_route\":" route ",\"hw_queues\":" hw \
	",\"reachable_queues\":" reach ",\"poll_queues\":" poll "}"
	(void)state;
	assert_int_equal(backend_from_text(B("\"steering\"", "64", "64", "62")), 0);
	/* A newer daemon may say more. */
	assert_int_equal(backend_from_text(B("\"steering\"", "64", "64", "62 ,\"new\":1")), 0);
	assert_int_equal(backend_from_text(B("\"warp\"", "64", "64", "62")), -1);
	assert_int_equal(backend_from_text(B("1", "64", "64", "62")), -1);
	assert_int_equal(backend_from_text(B("\"pinned\"", "2", "3", "0")), -1);
	assert_int_equal(backend_from_text(B("\"pinned\"", "4", "3", "4")), -1);
	assert_int_equal(backend_from_text(B("\"pinned\"", "-1", "0", "0")), -1);
	assert_int_equal(backend_from_text("{\"name\":\"n\",\"kind\":\"nvme\"}"), -1);
	assert_int_equal(backend_from_text("[]"), -1);
	assert_int_equal(ctl_backend_from_json(NULL, &(struct ctl_backend_info){ 0 }), -1);
#undef B
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_decode_too_long),
		cmocka_unit_test(test_decode_long_name_quoted_short),
		cmocka_unit_test(test_decode_small_err_buffer),
		cmocka_unit_test(test_cmd_names),
		cmocka_unit_test(test_class_names),
		cmocka_unit_test(test_request_init),
		cmocka_unit_test(test_encode_wire_format),
		cmocka_unit_test(test_encode_stats_wire_format),
		cmocka_unit_test(test_stats_hist_round_trip),
		cmocka_unit_test(test_stats_hist_bad),
		cmocka_unit_test(test_stats_tenant_shape),
		cmocka_unit_test(test_stats_err_kinds),
		cmocka_unit_test(test_encode_qos_wire_format),
		cmocka_unit_test(test_encode_reload_wire_format),
		cmocka_unit_test(test_encode_round_trip_limits),
		cmocka_unit_test(test_encode_ignores_irrelevant_fields),
		cmocka_unit_test(test_encode_invalid_cmd),
		cmocka_unit_test(test_tenant_to_json_shape),
		cmocka_unit_test(test_tenant_to_json_defaults),
		cmocka_unit_test(test_tenant_round_trip),
		cmocka_unit_test(test_tenant_older_daemon),
		cmocka_unit_test(test_tenant_missing_field),
		cmocka_unit_test(test_tenant_missing_optional_field),
		cmocka_unit_test(test_tenant_mistyped_field),
		cmocka_unit_test(test_tenant_bad_values),
		cmocka_unit_test(test_tenant_new_values_parsed),
		cmocka_unit_test(test_backend_json_shape),
		cmocka_unit_test(test_backend_round_trip),
		cmocka_unit_test(test_backend_bad),
		cmocka_unit_test(test_reply_error_shape),
		cmocka_unit_test(test_reply_ok_shapes),
		cmocka_unit_test(test_reply_decode),
	};
	size_t n = 0, total = ARRAY_SIZE(fixed) + ARRAY_SIZE(good_cases) + ARRAY_SIZE(bad_cases);
	struct CMUnitTest *tests = calloc(total, sizeof(*tests));
	int failed;

	if (!tests)
		return 1;
	/* One named test per table row, so a failure names its case. */
	for (size_t i = 0; i < ARRAY_SIZE(good_cases); i++)
		tests[n++] = (struct CMUnitTest){ .name = good_cases[i].desc,
						  .test_func = test_decode_good,
						  .initial_state = (void *)&good_cases[i] };
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++)
		tests[n++] = (struct CMUnitTest){ .name = bad_cases[i].desc,
						  .test_func = test_decode_bad,
						  .initial_state = (void *)&bad_cases[i] };
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		tests[n++] = fixed[i];
	failed = _cmocka_run_group_tests("proto", tests, n, NULL, NULL);
	free(tests);
	return failed;
}
