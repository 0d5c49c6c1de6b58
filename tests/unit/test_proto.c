/* SPDX-License-Identifier: MIT */
/*
 * Control protocol codec: every request shape, every way a request can be
 * wrong (with the exact text the operator will read), round trips, and
 * the reply shapes ublk-ctl and scripts depend on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/proto.h"

#define NAME63 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
#define NAME64 NAME63 "x"

/* Length of a string literal, embedded NULs included. */
#define LIT(s) s, sizeof(s) - 1

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
	  { CTL_CMD_ADD, "db", "nvme0", 1073741824, 2, 128 } },
	{ "add_minimal_defaults",
	  LIT("{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"nvme0\",\"size\":4096}"),
	  { CTL_CMD_ADD, "db", "nvme0", 4096, 0, 0 } },
	{ "add_zero_means_default",
	  LIT("{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"b\",\"size\":8192,"
	      "\"queues\":0,\"depth\":0}"),
	  { CTL_CMD_ADD, "db", "b", 8192, 0, 0 } },
	{ "add_limits",
	  LIT("{\"cmd\":\"add\",\"name\":\"" NAME63 "\",\"backend\":\"a.b-c_d\","
	      "\"size\":18446744073709547520,\"queues\":64,\"depth\":1024}"),
	  { CTL_CMD_ADD, NAME63, "a.b-c_d", 18446744073709547520ULL, 64, 1024 } },
	{ "add_minimum_counts",
	  LIT("{\"cmd\":\"add\",\"name\":\"x\",\"backend\":\"y\",\"size\":4096,"
	      "\"queues\":1,\"depth\":1}"),
	  { CTL_CMD_ADD, "x", "y", 4096, 1, 1 } },
	{ "add_any_key_order_and_spaces",
	  LIT("  { \"depth\" : 32 , \"size\":65536,\"backend\":\"img\",\n\"name\":\"web.1\","
	      "\"cmd\":\"add\"}\t \r"),
	  { CTL_CMD_ADD, "web.1", "img", 65536, 0, 32 } },
	{ "del", LIT("{\"cmd\":\"del\",\"name\":\"db\"}"), { CTL_CMD_DEL, "db", "", 0, 0, 0 } },
	{ "del_name_with_dots", LIT("{\"name\":\"a..b\",\"cmd\":\"del\"}"),
	  { CTL_CMD_DEL, "a..b", "", 0, 0, 0 } },
	{ "list", LIT("{\"cmd\":\"list\"}"), { CTL_CMD_LIST, "", "", 0, 0, 0 } },
	{ "features", LIT("{\"cmd\":\"features\"}"), { CTL_CMD_FEATURES, "", "", 0, 0, 0 } },
	/* Only len bytes count: the daemon hands us its buffer, not a string. */
	{ "length_bounds_input", "{\"cmd\":\"list\"}{garbage", 14,
	  { CTL_CMD_LIST, "", "", 0, 0, 0 } },
};

static void assert_request_equal(const struct ctl_request *got, const struct ctl_request *want)
{
	assert_int_equal(got->cmd, want->cmd);
	assert_string_equal(got->name, want->name);
	assert_string_equal(got->backend, want->backend);
	assert_true(got->size == want->size);
	assert_int_equal(got->queues, want->queues);
	assert_int_equal(got->depth, want->depth);
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

#define ADD_PREFIX "{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"nvme0\","
#define ADD_WITH(extra) ADD_PREFIX "\"size\":4096," extra "}"
#define ADD_SIZE(v) ADD_PREFIX "\"size\":" v "}"
#define ADD_NAME(v) "{\"cmd\":\"add\",\"name\":" v ",\"backend\":\"b\",\"size\":4096}"
#define NAME_HINT " (use letters, digits, '_', '.', '-')"
#define QUEUES_ERR "\"queues\" must be an integer from 1 to 64"
#define DEPTH_ERR "\"depth\" must be an integer from 1 to 1024"
#define SIZE_ERR "\"size\" must be a positive integer"
#define ALIGN_ERR "\"size\" must be a multiple of 4096"

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
	  "unknown command \"start\" (use add, del, list or features)" },
	{ "cmd_case", LIT("{\"cmd\":\"LIST\"}"),
	  "unknown command \"LIST\" (use add, del, list or features)" },
	{ "cmd_empty", LIT("{\"cmd\":\"\"}"),
	  "unknown command \"\" (use add, del, list or features)" },
	{ "cmd_escaped_nul", LIT("{\"cmd\":\"list\\u0000x\"}"),
	  "unknown command \"list\\x00x\" (use add, del, list or features)" },
	{ "cmd_control_chars", LIT("{\"cmd\":\"\\u001b[2J\"}"),
	  "unknown command \"\\x1b[2J\" (use add, del, list or features)" },

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
	snprintf(want, sizeof(want), "unknown command \"%064d\"... (use add, del, list or features)", 0);
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
	assert_string_equal(ctl_cmd_name(CTL_CMD_NONE), "none");
	assert_string_equal(ctl_cmd_name((enum ctl_cmd)99), "unknown");
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

static void test_encode_wire_format(void **state)
{
	struct ctl_request add = { CTL_CMD_ADD, "db", "nvme0", 1073741824, 0, 0 };
	struct ctl_request add_all = { CTL_CMD_ADD, "db", "nvme0", 1073741824, 1, 64 };
	struct ctl_request del = { CTL_CMD_DEL, "db", "", 0, 0, 0 };
	struct ctl_request list = { CTL_CMD_LIST, "", "", 0, 0, 0 };
	struct ctl_request features = { CTL_CMD_FEATURES, "", "", 0, 0, 0 };

	assert_round_trip(&add, "{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"nvme0\","
				"\"size\":1073741824}\n");
	assert_round_trip(&add_all, "{\"cmd\":\"add\",\"name\":\"db\",\"backend\":\"nvme0\","
				    "\"size\":1073741824,\"queues\":1,\"depth\":64}\n");
	assert_round_trip(&del, "{\"cmd\":\"del\",\"name\":\"db\"}\n");
	assert_round_trip(&list, "{\"cmd\":\"list\"}\n");
	assert_round_trip(&features, "{\"cmd\":\"features\"}\n");
}

static void test_encode_round_trip_limits(void **state)
{
	struct ctl_request big = { CTL_CMD_ADD, NAME63, "a.b_c-d", 18446744073709547520ULL,
				   CONF_MAX_QUEUES, CONF_MAX_DEPTH };
	struct ctl_request small = { CTL_CMD_ADD, "x", "y", 4096, 1, 1 };
	struct ctl_request only_depth = { CTL_CMD_ADD, "x", "y", 1ULL << 40, 0, 7 };
	struct ctl_request del = { CTL_CMD_DEL, NAME63, "", 0, 0, 0 };

	assert_round_trip(&big, NULL);
	assert_round_trip(&small, NULL);
	assert_round_trip(&only_depth, NULL);
	assert_round_trip(&del, NULL);
}

static void test_encode_ignores_irrelevant_fields(void **state)
{
	/* del and list must not leak add's fields onto the wire */
	struct ctl_request del = { CTL_CMD_DEL, "db", "nvme0", 4096, 2, 2 };
	struct ctl_request list = { CTL_CMD_LIST, "db", "nvme0", 4096, 2, 2 };
	char *line;

	line = ctl_request_encode(&del);
	assert_string_equal(line, "{\"cmd\":\"del\",\"name\":\"db\"}\n");
	free(line);
	line = ctl_request_encode(&list);
	assert_string_equal(line, "{\"cmd\":\"list\"}\n");
	free(line);
}

static void test_encode_invalid_cmd(void **state)
{
	struct ctl_request none = { CTL_CMD_NONE, "db", "", 0, 0, 0 };
	struct ctl_request bogus = { (enum ctl_cmd)42, "db", "", 0, 0, 0 };

	assert_null(ctl_request_encode(&none));
	assert_null(ctl_request_encode(&bogus));
}

/* ---- tenant info -------------------------------------------------------- */

static const struct ctl_tenant_info sample_tenant = {
	.name = "db",
	.device = "/dev/ublkb0",
	.dev_id = 0,
	.state = "live",
	.backend = "nvme0",
	.offset = 1048576,
	.size = 1073741824,
	.queues = 1,
	.depth = 64,
};

#define SAMPLE_TENANT_JSON                                                       \
	"{\"name\":\"db\",\"device\":\"/dev/ublkb0\",\"dev_id\":0,\"state\":\"live\"," \
	"\"backend\":\"nvme0\",\"offset\":1048576,\"size\":1073741824,"              \
	"\"queues\":1,\"depth\":64}"

static const char *const tenant_keys[] = {
	"name", "device", "dev_id", "state", "backend", "offset", "size", "queues", "depth",
};

static void assert_tenant_equal(const struct ctl_tenant_info *a, const struct ctl_tenant_info *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->device, b->device);
	assert_int_equal(a->dev_id, b->dev_id);
	assert_string_equal(a->state, b->state);
	assert_string_equal(a->backend, b->backend);
	assert_true(a->offset == b->offset);
	assert_true(a->size == b->size);
	assert_int_equal(a->queues, b->queues);
	assert_int_equal(a->depth, b->depth);
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
		.name = "web", .device = "", .dev_id = -1, .state = "failed",
		.backend = "img", .offset = 0, .size = 4096, .queues = 2, .depth = 1024,
	};
	struct ctl_tenant_info huge = {
		.name = NAME63, .device = "/dev/ublkb12345", .dev_id = 12345,
		.state = "stopped", .backend = NAME63,
		.offset = 18446744073709547520ULL, .size = 9223372036854779904ULL,
		.queues = 64, .depth = 1,
	};

	assert_tenant_round_trip(&sample_tenant);
	assert_tenant_round_trip(&no_device);
	assert_tenant_round_trip(&huge);
}

static void test_tenant_missing_field(void **state)
{
	for (size_t i = 0; i < sizeof(tenant_keys) / sizeof(tenant_keys[0]); i++) {
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

static void test_tenant_mistyped_field(void **state)
{
	for (size_t i = 0; i < sizeof(tenant_keys) / sizeof(tenant_keys[0]); i++) {
		json_object *obj = ctl_tenant_to_json(&sample_tenant), *cur;
		struct ctl_tenant_info t;

		/* swap the kind: strings become numbers and numbers strings */
		assert_true(json_object_object_get_ex(obj, tenant_keys[i], &cur));
		if (json_object_is_type(cur, json_type_string))
			json_object_object_add(obj, tenant_keys[i], json_object_new_int(1));
		else
			json_object_object_add(obj, tenant_keys[i], json_object_new_string("1"));
		if (ctl_tenant_from_json(obj, &t) != -1)
			fail_msg("accepted a mistyped \"%s\"", tenant_keys[i]);
		json_object_put(obj);
	}
}

static int tenant_from_text(const char *text)
{
	json_object *obj = json_tokener_parse(text);
	struct ctl_tenant_info t;
	int ret;

	ret = ctl_tenant_from_json(obj, &t);
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
	 tenant_from_text(text))

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
#undef TENANT_WITH
	assert_int_equal(tenant_from_text("[]"), -1);
	assert_int_equal(tenant_from_text("\"db\""), -1);
	assert_int_equal(ctl_tenant_from_json(NULL, &(struct ctl_tenant_info){ 0 }), -1);
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
	json_object *arr, *features, *flags;
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

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_decode_too_long),
		cmocka_unit_test(test_decode_long_name_quoted_short),
		cmocka_unit_test(test_decode_small_err_buffer),
		cmocka_unit_test(test_cmd_names),
		cmocka_unit_test(test_encode_wire_format),
		cmocka_unit_test(test_encode_round_trip_limits),
		cmocka_unit_test(test_encode_ignores_irrelevant_fields),
		cmocka_unit_test(test_encode_invalid_cmd),
		cmocka_unit_test(test_tenant_to_json_shape),
		cmocka_unit_test(test_tenant_round_trip),
		cmocka_unit_test(test_tenant_missing_field),
		cmocka_unit_test(test_tenant_mistyped_field),
		cmocka_unit_test(test_tenant_bad_values),
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
