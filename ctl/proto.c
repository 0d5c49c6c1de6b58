/* SPDX-License-Identifier: MIT */
/*
 * Control protocol codec (see proto.h for the wire contract).
 *
 * Decoding is strict on purpose: a request either means exactly one thing
 * or is refused with a reason an operator can act on, and nothing changes.
 */
#include "ctl/proto.h"
#include "common/text.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTL_SIZE_ALIGN 4096u

enum {
	BIT_ADD = 1u << CTL_CMD_ADD,
	BIT_DEL = 1u << CTL_CMD_DEL,
	BIT_LIST = 1u << CTL_CMD_LIST,
	BIT_FEATURES = 1u << CTL_CMD_FEATURES,
	BIT_RELOAD = 1u << CTL_CMD_RELOAD,
	BIT_STATS = 1u << CTL_CMD_STATS,
	BIT_ALL = BIT_ADD | BIT_DEL | BIT_LIST | BIT_FEATURES | BIT_RELOAD | BIT_STATS,
};

/* Every key a request may carry, and the commands that accept it. */
static const struct {
	const char *key;
	unsigned cmds;
} request_keys[] = {
	{ "cmd", BIT_ALL },
	{ "name", BIT_ADD | BIT_DEL | BIT_STATS },
	{ "backend", BIT_ADD },
	{ "size", BIT_ADD },
	{ "queues", BIT_ADD },
	{ "depth", BIT_ADD },
	{ "class", BIT_ADD },
	{ "iops_limit", BIT_ADD },
	{ "bw_limit", BIT_ADD },
	{ "weight", BIT_ADD },
	{ "min_iops", BIT_ADD },
	{ "min_bw", BIT_ADD },
	{ "latency_target_us", BIT_ADD },
	{ "recovery", BIT_ADD },
	{ "force", BIT_DEL | BIT_RELOAD },
	{ "dry_run", BIT_RELOAD },
};

/* Same bounds as the policy file (conf/config.c). */
#define CTL_MAX_IOPS_LIMIT 10000000ULL
#define CTL_MIN_BW_LIMIT 4096ULL
#define CTL_MAX_BW_LIMIT (1ULL << 40)

static const char *const cmd_names[] = {
	[CTL_CMD_ADD] = "add",
	[CTL_CMD_DEL] = "del",
	[CTL_CMD_LIST] = "list",
	[CTL_CMD_FEATURES] = "features",
	[CTL_CMD_RELOAD] = "reload",
	[CTL_CMD_STATS] = "stats",
};

/* A class out of range is sent as the default, never as something a client refuses. */
static const char *wire_class(enum conf_class cls)
{
	return conf_class_from_name(conf_class_name(cls)) < 0 ? "besteffort" : conf_class_name(cls);
}

void ctl_request_init(struct ctl_request *req, enum ctl_cmd cmd)
{
	*req = (struct ctl_request){
		.cmd = cmd,
		.spec = { .cls = CONF_CLASS_BESTEFFORT, .qos = { .weight = CONF_DEFAULT_WEIGHT },
			  .recovery = true },
	};
}

static bool cmd_valid(enum ctl_cmd cmd)
{
	return cmd > CTL_CMD_NONE &&
	       (unsigned)cmd < sizeof(cmd_names) / sizeof(cmd_names[0]);
}

const char *ctl_cmd_name(enum ctl_cmd cmd)
{
	if (cmd == CTL_CMD_NONE)
		return "none";
	return cmd_valid(cmd) ? cmd_names[cmd] : "unknown";
}

static enum ctl_cmd cmd_from_name(const char *name)
{
	for (unsigned i = 0; i < sizeof(cmd_names) / sizeof(cmd_names[0]); i++)
		if (cmd_names[i] && strcmp(cmd_names[i], name) == 0)
			return (enum ctl_cmd)i;
	return CTL_CMD_NONE;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * What json-c does not check for us, from the raw text: 'single-quoted'
 * keys (accepted even in strict mode; JSON has none) make this return -1;
 * *keys counts the top-level object's keys as written, duplicates included,
 * since json-c keeps only the last of a duplicate.
 */
static int scan_request(const char *s, size_t len, size_t *keys)
{
	bool in_string = false;
	char prev = 0;
	int depth = 0;

	*keys = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		switch (c) {
		case '\'':
			return -1;
		case '"':
			if (depth == 1 && (prev == '{' || prev == ','))
				(*keys)++;
			in_string = true;
			break;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			depth--;
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			continue;
		}
		prev = c;
	}
	return 0;
}

static bool all_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/*
 * Parse exactly one JSON value filling all len bytes: 0 with *obj set (NULL
 * for a JSON null), or -1 with *end where parsing stopped.
 */
static int parse_exact(const char *s, size_t len, json_object **obj, size_t *end)
{
	struct json_tokener *tok;
	enum json_tokener_error e;

	*obj = NULL;
	*end = 0;
	if (len > INT_MAX)
		return -1;
	tok = json_tokener_new();
	if (!tok)
		return -1;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	*obj = json_tokener_parse_ex(tok, s, (int)len);
	e = json_tokener_get_error(tok);
	*end = json_tokener_get_parse_end(tok);
	/* A bare number only ends at a delimiter: say the input is over. */
	if (e == json_tokener_continue && *end == len) {
		*obj = json_tokener_parse_ex(tok, "", 1);
		e = json_tokener_get_error(tok);
		*end = len;
	}
	json_tokener_free(tok);
	if (e == json_tokener_success && *end == len)
		return 0;
	json_object_put(*obj);
	*obj = NULL;
	return -1;
}

/*
 * 0 with the parsed value in *obj (NULL for null) and the number of keys
 * written in the top-level object in *keys, or -1 with err set.
 */
static int parse_request(const char *line, size_t len, json_object **obj,
			 size_t *keys, char *err, size_t errlen)
{
	json_object *prefix;
	size_t end;

	*obj = NULL;
	if (!line)
		return fail(err, errlen, "empty request");
	if (memchr(line, '\0', len))
		return fail(err, errlen, "request contains a NUL byte");
	if (all_blank(line, len))
		return fail(err, errlen, "empty request");
	if (len > CTL_MAX_LINE)
		return fail(err, errlen, "request longer than %d bytes", CTL_MAX_LINE);
	if (scan_request(line, len, keys))
		return fail(err, errlen, "request is not valid JSON");
	if (parse_exact(line, len, obj, &end) == 0)
		return 0;
	/* Tell "{...} junk" apart from plain bad syntax: the prefix parses. */
	if (end > 0 && end < len && parse_exact(line, end, &prefix, &end) == 0) {
		json_object_put(prefix);
		return fail(err, errlen, "trailing characters after the request object");
	}
	return fail(err, errlen, "request is not valid JSON");
}

/* A JSON string without embedded NULs, or NULL. */
static const char *plain_string(json_object *val, size_t *len)
{
	const char *s;

	if (!json_object_is_type(val, json_type_string))
		return NULL;
	s = json_object_get_string(val);
	*len = (size_t)json_object_get_string_len(val);
	return s;
}

static int decode_name(json_object *obj, const char *key, const char *what,
		       enum ctl_cmd cmd, char out[CONF_NAME_MAX], char *err, size_t errlen)
{
	char q[QUOTE_BUF];
	json_object *val;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(obj, key, &val))
		return fail(err, errlen, "%s: missing \"%s\"", ctl_cmd_name(cmd), key);
	s = plain_string(val, &len);
	if (!s)
		return fail(err, errlen, "\"%s\" must be a string", key);
	if (len >= CONF_NAME_MAX)
		return fail(err, errlen, "%s name too long (%zu bytes, max %d)", what,
			    len, CONF_NAME_MAX - 1);
	if (strlen(s) != len || !conf_name_valid(s))
		return fail(err, errlen,
			    "invalid %s name %s (use letters, digits, '_', '.', '-')",
			    what, quote_n(s, len, q, sizeof(q)));
	memcpy(out, s, len + 1);
	return 0;
}

static int decode_size(json_object *obj, uint64_t *size, char *err, size_t errlen)
{
	json_object *val;

	if (!json_object_object_get_ex(obj, "size", &val))
		return fail(err, errlen, "add: missing \"size\"");
	/* get_int64 clamps, so its sign is reliable; get_uint64 has the range. */
	if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) <= 0)
		return fail(err, errlen, "\"size\" must be a positive integer");
	*size = json_object_get_uint64(val);
	if (*size % CTL_SIZE_ALIGN)
		return fail(err, errlen, "\"size\" must be a multiple of %u", CTL_SIZE_ALIGN);
	return 0;
}

/* Optional count: absent or 0 means the daemon default. */
static int decode_count(json_object *obj, const char *key, unsigned max,
			unsigned *out, char *err, size_t errlen)
{
	json_object *val;
	int64_t v;

	*out = 0;
	if (!json_object_object_get_ex(obj, key, &val))
		return 0;
	if (!json_object_is_type(val, json_type_int))
		return fail(err, errlen, "\"%s\" must be an integer from 1 to %u", key, max);
	v = json_object_get_int64(val);
	if (v < 0 || v > (int64_t)max)
		return fail(err, errlen, "\"%s\" must be an integer from 1 to %u", key, max);
	*out = (unsigned)v;
	return 0;
}

/* Optional integer in [min, max], or 0 when zero says what 0 means (NULL: not allowed). */
static int decode_u64(json_object *obj, const char *key, uint64_t min, uint64_t max,
		      const char *zero, uint64_t *out, char *err, size_t errlen)
{
	bool zero_ok = zero != NULL;

	json_object *val;
	int64_t v;

	if (!json_object_object_get_ex(obj, key, &val))
		return 0;
	if (json_object_is_type(val, json_type_int)) {
		v = json_object_get_int64(val);
		if (v >= 0) {
			uint64_t u = json_object_get_uint64(val);

			if ((u == 0 && zero_ok) || (u >= min && u <= max)) {
				*out = u;
				return 0;
			}
		}
	}
	if (zero_ok)
		return fail(err, errlen, "\"%s\" must be 0 (%s) or an integer from %llu to "
			    "%llu", key, zero, (unsigned long long)min, (unsigned long long)max);
	return fail(err, errlen, "\"%s\" must be an integer from %llu to %llu", key,
		    (unsigned long long)min, (unsigned long long)max);
}

static int decode_bool(json_object *obj, const char *key, bool *out, char *err, size_t errlen)
{
	json_object *val;

	if (!json_object_object_get_ex(obj, key, &val))
		return 0;
	if (!json_object_is_type(val, json_type_boolean))
		return fail(err, errlen, "\"%s\" must be true or false", key);
	*out = json_object_get_boolean(val);
	return 0;
}

static int decode_class(json_object *obj, enum conf_class *cls, char *err, size_t errlen)
{
	char q[QUOTE_BUF];
	json_object *val;
	const char *s;
	size_t len;
	int c;

	if (!json_object_object_get_ex(obj, "class", &val))
		return 0;
	s = plain_string(val, &len);
	c = s && strlen(s) == len ? conf_class_from_name(s) : -1;
	if (c < 0)
		return fail(err, errlen, "\"class\" must be \"latency\", \"throughput\" or "
			    "\"besteffort\"%s%s", s ? ", not " : "",
			    s ? quote_n(s, len, q, sizeof(q)) : "");
	*cls = (enum conf_class)c;
	return 0;
}

/* A reservation within its own limit (0: no limit), as the policy and the table insist. */
static int check_within(const char *min_key, uint64_t min, const char *limit_key, uint64_t limit,
			char *err, size_t errlen)
{
	if (!limit || min <= limit)
		return 0;
	return fail(err, errlen, "\"%s\" (%llu) is above \"%s\" (%llu): a reservation cannot "
		    "exceed the limit", min_key, (unsigned long long)min, limit_key,
		    (unsigned long long)limit);
}

static int decode_qos(json_object *obj, struct ctl_request *r, char *err, size_t errlen)
{
	struct conf_qos *q = &r->spec.qos;
	uint64_t weight = q->weight, target = q->latency_target_us;

	if (decode_class(obj, &r->spec.cls, err, errlen) ||
	    decode_u64(obj, "iops_limit", 1, CTL_MAX_IOPS_LIMIT, "no limit", &q->iops_limit,
		       err, errlen) ||
	    decode_u64(obj, "bw_limit", CTL_MIN_BW_LIMIT, CTL_MAX_BW_LIMIT, "no limit",
		       &q->bw_limit, err, errlen) ||
	    decode_u64(obj, "weight", 1, CONF_MAX_WEIGHT, NULL, &weight, err, errlen) ||
	    decode_u64(obj, "min_iops", 1, CTL_MAX_IOPS_LIMIT, "none", &q->min_iops, err,
		       errlen) ||
	    decode_u64(obj, "min_bw", CTL_MIN_BW_LIMIT, CTL_MAX_BW_LIMIT, "none", &q->min_bw,
		       err, errlen) ||
	    decode_u64(obj, "latency_target_us", CONF_MIN_LATENCY_TARGET_US,
		       CONF_MAX_LATENCY_TARGET_US, "the scheduler's", &target, err, errlen) ||
	    check_within("min_iops", q->min_iops, "iops_limit", q->iops_limit, err, errlen) ||
	    check_within("min_bw", q->min_bw, "bw_limit", q->bw_limit, err, errlen) ||
	    decode_bool(obj, "recovery", &r->spec.recovery, err, errlen))
		return -1;
	q->weight = (unsigned)weight;
	q->latency_target_us = (unsigned)target;
	return 0;
}

static int decode_cmd(json_object *obj, enum ctl_cmd *cmd, char *err, size_t errlen)
{
	char q[QUOTE_BUF];
	json_object *val;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(obj, "cmd", &val))
		return fail(err, errlen, "missing \"cmd\"");
	s = plain_string(val, &len);
	if (!s)
		return fail(err, errlen, "\"cmd\" must be a string");
	*cmd = strlen(s) == len ? cmd_from_name(s) : CTL_CMD_NONE;
	if (*cmd == CTL_CMD_NONE)
		return fail(err, errlen,
			    "unknown command %s (use add, del, list, features, reload or stats)",
			    quote_n(s, len, q, sizeof(q)));
	return 0;
}

static int check_keys(json_object *obj, enum ctl_cmd cmd, char *err, size_t errlen)
{
	char q[QUOTE_BUF];

	json_object_object_foreach(obj, key, val) {
		unsigned i, n = sizeof(request_keys) / sizeof(request_keys[0]);

		(void)val;
		for (i = 0; i < n; i++)
			if (strcmp(request_keys[i].key, key) == 0)
				break;
		if (i == n)
			return fail(err, errlen, "unknown key %s",
				    quote(key, q, sizeof(q)));
		if (!(request_keys[i].cmds & (1u << cmd)))
			return fail(err, errlen, "%s: unexpected key \"%s\"",
				    ctl_cmd_name(cmd), key);
	}
	return 0;
}

static int decode_fields(json_object *obj, struct ctl_request *r, char *err, size_t errlen)
{
	switch (r->cmd) {
	case CTL_CMD_ADD:
		if (decode_name(obj, "name", "tenant", r->cmd, r->spec.name, err, errlen) ||
		    decode_name(obj, "backend", "backend", r->cmd, r->spec.backend, err, errlen) ||
		    decode_size(obj, &r->spec.size, err, errlen) ||
		    decode_count(obj, "queues", CONF_MAX_QUEUES, &r->spec.queues, err, errlen) ||
		    decode_count(obj, "depth", CONF_MAX_DEPTH, &r->spec.depth, err, errlen) ||
		    decode_qos(obj, r, err, errlen))
			return -1;
		return 0;
	case CTL_CMD_DEL:
		return decode_name(obj, "name", "tenant", r->cmd, r->spec.name, err, errlen) ||
		       decode_bool(obj, "force", &r->force, err, errlen) ? -1 : 0;
	case CTL_CMD_STATS:
		if (!json_object_object_get_ex(obj, "name", NULL))
			return 0; /* every tenant */
		return decode_name(obj, "name", "tenant", r->cmd, r->spec.name, err, errlen);
	case CTL_CMD_RELOAD:
		return decode_bool(obj, "force", &r->force, err, errlen) ||
		       decode_bool(obj, "dry_run", &r->dry_run, err, errlen) ? -1 : 0;
	default:
		return 0;
	}
}

int ctl_request_decode(const char *line, size_t len, struct ctl_request *req,
		       char *err, size_t errlen)
{
	struct ctl_request r;
	json_object *obj;
	size_t keys = 0;
	int ret = -1;

	ctl_request_init(&r, CTL_CMD_NONE);
	if (err && errlen)
		err[0] = '\0';
	if (parse_request(line, len, &obj, &keys, err, errlen))
		return -1;
	if (!obj || !json_object_is_type(obj, json_type_object))
		fail(err, errlen, "request must be a JSON object");
	else if (keys != (size_t)json_object_object_length(obj))
		fail(err, errlen, "request repeats a key");
	else if (!decode_cmd(obj, &r.cmd, err, errlen) &&
		 (ctl_request_init(&r, r.cmd), 1) &&
		 !check_keys(obj, r.cmd, err, errlen) &&
		 !decode_fields(obj, &r, err, errlen))
		ret = 0;
	json_object_put(obj);
	if (ret == 0)
		*req = r; /* a refused request leaves *req alone */
	return ret;
}

/* Serialise as one line plus '\n'; takes the reference to obj. */
static char *to_line(json_object *obj)
{
	const char *s;
	char *line = NULL;
	size_t len;

	if (!obj)
		return NULL;
	s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
						JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s) {
		len = strlen(s);
		line = malloc(len + 2);
		if (line) {
			memcpy(line, s, len);
			line[len] = '\n';
			line[len + 1] = '\0';
		}
	}
	json_object_put(obj);
	return line;
}

/* json_object_object_add that accounts for allocation failure. */
static int add_field(json_object *obj, const char *key, json_object *val)
{
	if (!val)
		return -1;
	if (json_object_object_add(obj, key, val)) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

static int add_string(json_object *obj, const char *key, const char *s, size_t max)
{
	return add_field(obj, key, json_object_new_string_len(s, (int)strnlen(s, max)));
}

/* Reservations and the latency goal, each left out when 0 (not set). */
static int add_slo(json_object *obj, const struct conf_qos *q)
{
	int bad = 0;

	if (q->min_iops)
		bad |= add_field(obj, "min_iops", json_object_new_uint64(q->min_iops));
	if (q->min_bw)
		bad |= add_field(obj, "min_bw", json_object_new_uint64(q->min_bw));
	if (q->latency_target_us)
		bad |= add_field(obj, "latency_target_us",
				 json_object_new_int64(q->latency_target_us));
	return bad;
}

char *ctl_request_encode(const struct ctl_request *req)
{
	json_object *obj;
	int bad;

	if (!cmd_valid(req->cmd))
		return NULL;
	obj = json_object_new_object();
	if (!obj)
		return NULL;
	bad = add_field(obj, "cmd", json_object_new_string(ctl_cmd_name(req->cmd)));
	if (req->cmd == CTL_CMD_ADD || req->cmd == CTL_CMD_DEL ||
	    (req->cmd == CTL_CMD_STATS && req->spec.name[0]))
		bad |= add_string(obj, "name", req->spec.name, sizeof(req->spec.name));
	if (req->cmd == CTL_CMD_ADD) {
		const struct tenant_spec *s = &req->spec;

		bad |= add_string(obj, "backend", s->backend, sizeof(s->backend));
		bad |= add_field(obj, "size", json_object_new_uint64(s->size));
		/* 0 means "daemon default": leave it out rather than send it. */
		if (s->queues)
			bad |= add_field(obj, "queues", json_object_new_int64(s->queues));
		if (s->depth)
			bad |= add_field(obj, "depth", json_object_new_int64(s->depth));
		/* Defaults are left out too: the line says what the operator asked. */
		if (s->cls != CONF_CLASS_BESTEFFORT)
			bad |= add_field(obj, "class", json_object_new_string(wire_class(s->cls)));
		if (s->qos.iops_limit)
			bad |= add_field(obj, "iops_limit",
					 json_object_new_uint64(s->qos.iops_limit));
		if (s->qos.bw_limit)
			bad |= add_field(obj, "bw_limit", json_object_new_uint64(s->qos.bw_limit));
		if (s->qos.weight != CONF_DEFAULT_WEIGHT)
			bad |= add_field(obj, "weight", json_object_new_int64(s->qos.weight));
		bad |= add_slo(obj, &s->qos);
		if (!s->recovery)
			bad |= add_field(obj, "recovery", json_object_new_boolean(0));
	}
	if (req->cmd == CTL_CMD_DEL && req->force)
		bad |= add_field(obj, "force", json_object_new_boolean(1));
	if (req->cmd == CTL_CMD_RELOAD) {
		if (req->force)
			bad |= add_field(obj, "force", json_object_new_boolean(1));
		if (req->dry_run)
			bad |= add_field(obj, "dry_run", json_object_new_boolean(1));
	}
	if (bad) {
		json_object_put(obj);
		return NULL;
	}
	return to_line(obj);
}

json_object *ctl_tenant_to_json(const struct ctl_tenant_info *t)
{
	const struct tenant_spec *s = &t->spec;
	json_object *obj = json_object_new_object();
	int bad;

	if (!obj)
		return NULL;
	bad = add_string(obj, "name", s->name, sizeof(s->name));
	bad |= add_string(obj, "device", t->device, sizeof(t->device));
	bad |= add_field(obj, "dev_id", json_object_new_int(t->dev_id));
	bad |= add_string(obj, "state", t->state, sizeof(t->state));
	bad |= add_string(obj, "backend", s->backend, sizeof(s->backend));
	bad |= add_field(obj, "offset", json_object_new_uint64(t->offset));
	bad |= add_field(obj, "size", json_object_new_uint64(s->size));
	bad |= add_field(obj, "queues", json_object_new_int64(s->queues));
	bad |= add_field(obj, "depth", json_object_new_int64(s->depth));
	bad |= add_field(obj, "class", json_object_new_string(wire_class(s->cls)));
	bad |= add_field(obj, "iops_limit", json_object_new_uint64(s->qos.iops_limit));
	bad |= add_field(obj, "bw_limit", json_object_new_uint64(s->qos.bw_limit));
	bad |= add_field(obj, "weight", json_object_new_int64(s->qos.weight));
	bad |= add_slo(obj, &s->qos);
	bad |= add_field(obj, "recovery", json_object_new_boolean(s->recovery));
	bad |= add_string(obj, "uuid", t->uuid, sizeof(t->uuid));
	bad |= add_field(obj, "created", json_object_new_uint64(t->created));
	if (bad) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static int get_string(json_object *obj, const char *key, char *out, size_t outlen)
{
	json_object *val;
	const char *s;
	size_t len;

	if (!json_object_object_get_ex(obj, key, &val))
		return -1;
	s = plain_string(val, &len);
	if (!s || len >= outlen || strlen(s) != len)
		return -1;
	memcpy(out, s, len + 1);
	return 0;
}

/* An integer in [min, max]. */
static int get_int(json_object *obj, const char *key, int64_t min, uint64_t max,
		   uint64_t *out)
{
	json_object *val;
	int64_t v;

	if (!json_object_object_get_ex(obj, key, &val) ||
	    !json_object_is_type(val, json_type_int))
		return -1;
	v = json_object_get_int64(val);
	if (v < 0) {
		if (v < min)
			return -1;
		*out = (uint64_t)v;
		return 0;
	}
	*out = json_object_get_uint64(val);
	return *out <= max ? 0 : -1;
}

/* Fields an older daemon may not send: defaults when absent, -1 when malformed. */
static int optional_fields(json_object *obj, struct ctl_tenant_info *n)
{
	json_object *val;
	uint64_t weight = CONF_DEFAULT_WEIGHT, target = 0;
	char cls[16] = "besteffort";

	if ((json_object_object_get_ex(obj, "class", &val) &&
	     get_string(obj, "class", cls, sizeof(cls))) ||
	    conf_class_from_name(cls) < 0 ||
	    (json_object_object_get_ex(obj, "iops_limit", &val) &&
	     get_int(obj, "iops_limit", 0, UINT64_MAX, &n->spec.qos.iops_limit)) ||
	    (json_object_object_get_ex(obj, "bw_limit", &val) &&
	     get_int(obj, "bw_limit", 0, UINT64_MAX, &n->spec.qos.bw_limit)) ||
	    (json_object_object_get_ex(obj, "weight", &val) &&
	     get_int(obj, "weight", 0, UINT32_MAX, &weight)) ||
	    (json_object_object_get_ex(obj, "min_iops", &val) &&
	     get_int(obj, "min_iops", 0, UINT64_MAX, &n->spec.qos.min_iops)) ||
	    (json_object_object_get_ex(obj, "min_bw", &val) &&
	     get_int(obj, "min_bw", 0, UINT64_MAX, &n->spec.qos.min_bw)) ||
	    (json_object_object_get_ex(obj, "latency_target_us", &val) &&
	     get_int(obj, "latency_target_us", 0, UINT32_MAX, &target)) ||
	    (json_object_object_get_ex(obj, "uuid", &val) &&
	     get_string(obj, "uuid", n->uuid, sizeof(n->uuid))) ||
	    (json_object_object_get_ex(obj, "created", &val) &&
	     get_int(obj, "created", 0, UINT64_MAX, &n->created)))
		return -1;
	n->spec.cls = (enum conf_class)conf_class_from_name(cls);
	n->spec.qos.weight = (unsigned)weight;
	n->spec.qos.latency_target_us = (unsigned)target;
	n->spec.recovery = true;
	if (json_object_object_get_ex(obj, "recovery", &val)) {
		if (!json_object_is_type(val, json_type_boolean))
			return -1;
		n->spec.recovery = json_object_get_boolean(val);
	}
	return 0;
}

int ctl_tenant_from_json(json_object *obj, struct ctl_tenant_info *t)
{
	struct ctl_tenant_info n = { 0 };
	uint64_t dev_id, queues, depth;

	/* Unknown keys are tolerated: a newer daemon may report more. */
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    get_string(obj, "name", n.spec.name, sizeof(n.spec.name)) ||
	    get_string(obj, "device", n.device, sizeof(n.device)) ||
	    get_int(obj, "dev_id", -1, INT32_MAX, &dev_id) ||
	    get_string(obj, "state", n.state, sizeof(n.state)) ||
	    get_string(obj, "backend", n.spec.backend, sizeof(n.spec.backend)) ||
	    get_int(obj, "offset", 0, UINT64_MAX, &n.offset) ||
	    get_int(obj, "size", 0, UINT64_MAX, &n.spec.size) ||
	    get_int(obj, "queues", 0, UINT32_MAX, &queues) ||
	    get_int(obj, "depth", 0, UINT32_MAX, &depth))
		return -1;
	n.dev_id = (int)(int64_t)dev_id;
	n.spec.queues = (unsigned)queues;
	n.spec.depth = (unsigned)depth;
	if (optional_fields(obj, &n))
		return -1;
	*t = n;
	return 0;
}

char *ctl_reply_error(const char *msg)
{
	json_object *obj = json_object_new_object();

	if (!obj)
		return NULL;
	if (add_field(obj, "ok", json_object_new_boolean(0)) ||
	    add_field(obj, "error", json_object_new_string(msg ? msg : "error"))) {
		json_object_put(obj);
		return NULL;
	}
	return to_line(obj);
}

char *ctl_reply_ok(const char *payload_key, json_object *payload)
{
	json_object *obj = json_object_new_object();

	if (!obj) {
		json_object_put(payload);
		return NULL;
	}
	if (add_field(obj, "ok", json_object_new_boolean(1))) {
		json_object_put(payload);
		json_object_put(obj);
		return NULL;
	}
	if (payload_key && json_object_object_add(obj, payload_key, payload)) {
		json_object_put(payload);
		json_object_put(obj);
		return NULL;
	}
	if (!payload_key)
		json_object_put(payload);
	return to_line(obj);
}

int ctl_reply_decode(const char *line, size_t len, json_object **reply,
		     char *err, size_t errlen)
{
	json_object *obj, *ok, *msg;
	size_t end;

	*reply = NULL;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (memchr(line, '\0', len) || parse_exact(line, len, &obj, &end))
		return fail(err, errlen, "malformed reply from the daemon (not JSON)");
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "ok", &ok) ||
	    !json_object_is_type(ok, json_type_boolean)) {
		json_object_put(obj);
		return fail(err, errlen, "malformed reply from the daemon (no \"ok\")");
	}
	if (json_object_get_boolean(ok)) {
		*reply = obj;
		return 0;
	}
	if (json_object_object_get_ex(obj, "error", &msg) &&
	    json_object_is_type(msg, json_type_string))
		fail(err, errlen, "%s", json_object_get_string(msg));
	else
		fail(err, errlen, "the daemon refused the request without a reason");
	json_object_put(obj);
	return 1;
}

static const char *const route_names[] = {
	[CTL_ROUTE_NONE] = "none",
	[CTL_ROUTE_PINNED] = "pinned",
	[CTL_ROUTE_STEERING] = "steering",
};

const char *ctl_queue_route_name(enum ctl_queue_route r)
{
	return (unsigned)r < sizeof(route_names) / sizeof(route_names[0]) ? route_names[r] : "?";
}

json_object *ctl_backend_to_json(const struct ctl_backend_info *b)
{
	json_object *obj = json_object_new_object();
	int bad;

	if (!obj)
		return NULL;
	bad = add_string(obj, "name", b->name, sizeof(b->name));
	bad |= add_string(obj, "kind", b->kind, sizeof(b->kind));
	bad |= add_field(obj, "queue_route", json_object_new_string(ctl_queue_route_name(b->route)));
	bad |= add_field(obj, "hw_queues", json_object_new_int64(b->hw_queues));
	bad |= add_field(obj, "reachable_queues", json_object_new_int64(b->reachable_queues));
	bad |= add_field(obj, "poll_queues", json_object_new_int64(b->poll_queues));
	if (bad) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static int route_from_name(const char *name, enum ctl_queue_route *out)
{
	for (unsigned i = 0; i < sizeof(route_names) / sizeof(route_names[0]); i++)
		if (strcmp(name, route_names[i]) == 0) {
			*out = (enum ctl_queue_route)i;
			return 0;
		}
	return -1;
}

int ctl_backend_from_json(json_object *obj, struct ctl_backend_info *b)
{
	struct ctl_backend_info n = { 0 };
	uint64_t hw, reach, poll;
	char route[16];

	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    get_string(obj, "name", n.name, sizeof(n.name)) ||
	    get_string(obj, "kind", n.kind, sizeof(n.kind)) ||
	    get_string(obj, "queue_route", route, sizeof(route)) ||
	    route_from_name(route, &n.route) ||
	    get_int(obj, "hw_queues", 0, UINT32_MAX, &hw) ||
	    get_int(obj, "reachable_queues", 0, hw, &reach) ||
	    get_int(obj, "poll_queues", 0, reach, &poll))
		return -1;
	n.hw_queues = (unsigned)hw;
	n.reachable_queues = (unsigned)reach;
	n.poll_queues = (unsigned)poll;
	*b = n;
	return 0;
}
