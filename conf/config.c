/* SPDX-License-Identifier: MIT */
/*
 * Policy file loader (schema in config.h).
 *
 * Everything is validated into a private struct conf that is only copied to
 * the caller on success, so a bad edit followed by a reload changes nothing.
 * Every problem is reported as one line, "FILE:LINE: key: problem", where
 * key is the setting's path (daemon.workers, tenants[2].size, ...).
 */
#include "conf/config.h"
#include "store/table.h"
#include "common/err.h"
#include "common/text.h"

#include "common/log.h"
#include "common/units.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TENANT_ALIGN 4096u
#define POLICY_MAX_BYTES (16u << 20) /* far beyond any sane policy */
#define KEY_MAX 256

struct loader {
	const char *file;
	char *err;
	size_t errlen;
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const root_keys[] = { "daemon", "scheduler", "backends", "tenants", NULL };
static const char *const daemon_keys[] = { "socket", "socket_group", "workers", "log_level",
					   "on_stop", NULL };
static const char *const sched_keys[] = { "mode", "latency_target_us", "latency_queues",
					  "adapt_interval_ms", "throughput_cap",
					  "promote_flush", "poll", "cost_read_iops", "cost_read_bw",
					  "cost_write_iops", "cost_write_bw", NULL };
static const char *const backend_keys[] = { "name", "path", "size", "reserved", "type",
					    "controller", "nsid", NULL };
static const char *const backend_types[] = {
	[CONF_BACKEND_AUTO] = "auto",
	[CONF_BACKEND_FILE] = "file",
	[CONF_BACKEND_NVME] = "nvme",
	[CONF_BACKEND_NULL] = "null",
};
static const char *const tenant_keys[] = { "name", "backend", "size", "queues", "depth",
					   "class", "iops_limit", "bw_limit", "weight",
					   "min_iops", "min_bw", "latency_target_us",
					   "recovery", NULL };
/* The one spelling of classes and modes: the policy, the diff, the protocol. */
static const char *const class_names[] = {
	[CONF_CLASS_BESTEFFORT] = "besteffort",
	[CONF_CLASS_LATENCY] = "latency",
	[CONF_CLASS_THROUGHPUT] = "throughput",
};
static const char *const on_stop_names[] = {
	[CONF_ON_STOP_DELETE] = "delete",
	[CONF_ON_STOP_KEEP] = "keep",
};

/* A scheduler mode's policy name; its code is sched/mode_NAME.c (see sched/mode.h). */
static const char *const sched_modes[] = {
	[CONF_SCHED_STATIC] = "static",
	[CONF_SCHED_DAREDEVIL] = "daredevil",
};
static const char *const poll_names[] = {
	[CONF_POLL_AUTO] = "auto",
	[CONF_POLL_ALWAYS] = "always",
	[CONF_POLL_NEVER] = "never",
};

static void appendf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void appendf(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strnlen(buf, len);
	va_list ap;

	if (n + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/* Exact, so that "need X but only Y" never prints two equal numbers. */
static const char *exact_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	int u;

	for (u = 5; u >= 0; u--) {
		uint64_t m = 1ULL << (10 * (u + 1));

		if (bytes && bytes % m == 0) {
			snprintf(buf, len, "%llu %s", (unsigned long long)(bytes / m), unit[u]);
			return buf;
		}
	}
	snprintf(buf, len, "%llu bytes", (unsigned long long)bytes);
	return buf;
}

/* daemon.workers, backends[1].path, ... from libconfig's parent links. */
static void key_of(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *parent = config_setting_parent(s);

	if (!parent) {
		buf[0] = '\0';
		return;
	}
	key_of(parent, buf, len);
	if (config_setting_type(parent) == CONFIG_TYPE_GROUP)
		appendf(buf, len, "%s%s", buf[0] ? "." : "", config_setting_name(s));
	else
		appendf(buf, len, "[%d]", config_setting_index(s));
}

/*
 * Report a problem with setting s, or with its missing member `member`
 * (then the line is the group's). Always returns -1.
 */
static int fail(const struct loader *ld, const config_setting_t *s,
		const char *member, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(const struct loader *ld, const config_setting_t *s,
		const char *member, const char *fmt, ...)
{
	char key[KEY_MAX] = "", msg[512];
	va_list ap;

	key_of(s, key, sizeof(key));
	if (member)
		appendf(key, sizeof(key), "%s%s", key[0] ? "." : "", member);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	set_err(ld->err, ld->errlen, "%s:%u: %s: %s", ld->file,
		config_setting_source_line(s), key, msg);
	return -1;
}

static bool key_known(const char *name, const char *const *valid)
{
	for (; *valid; valid++)
		if (strcmp(name, *valid) == 0)
			return true;
	return false;
}

static int check_keys(const struct loader *ld, const config_setting_t *group,
		      const char *const *valid)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		char list[KEY_MAX] = "";

		if (key_known(config_setting_name(s), valid))
			continue;
		for (const char *const *v = valid; *v; v++)
			appendf(list, sizeof(list), "%s%s", v == valid ? "" : ", ", *v);
		return fail(ld, s, NULL, "unknown key (valid: %s)", list);
	}
	return 0;
}

static bool is_group(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_GROUP;
}

static bool is_integer(const config_setting_t *s)
{
	int type = config_setting_type(s);

	return type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
}

/* 1 and *out set if present, 0 if absent and optional, -1 on error. */
static int get_string(const struct loader *ld, const config_setting_t *group,
		      const char *key, bool required, const char **out)
{
	const config_setting_t *s = config_setting_get_member(group, key);

	if (!s)
		return required ? fail(ld, group, key, "missing") : 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, NULL, "must be a string");
	*out = config_setting_get_string(s);
	return 1;
}

/* An optional integer in min..max, or also 0 ("not set") when zero_ok. */
static int get_uint_in(const struct loader *ld, const config_setting_t *group, const char *key,
		       unsigned min, unsigned max, bool zero_ok, unsigned *out)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	long long v;

	if (!s)
		return 0;
	if (!is_integer(s))
		return fail(ld, s, NULL, "must be an integer");
	v = config_setting_get_int64(s);
	if ((v != 0 || !zero_ok) && (v < (long long)min || v > (long long)max))
		return fail(ld, s, NULL, "%lld is out of range (%s%u..%u)", v,
			    zero_ok ? "0 or " : "", min, max);
	*out = (unsigned)v;
	return 1;
}

static int get_uint(const struct loader *ld, const config_setting_t *group,
		    const char *key, unsigned min, unsigned max, unsigned *out)
{
	return get_uint_in(ld, group, key, min, max, false, out);
}

static int get_uint_or0(const struct loader *ld, const config_setting_t *group,
			const char *key, unsigned min, unsigned max, unsigned *out)
{
	return get_uint_in(ld, group, key, min, max, true, out);
}

/* An optional 64-bit integer in min..max (the literal needs an L suffix past 32 bits). */
static int get_u64(const struct loader *ld, const config_setting_t *group,
		   const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	long long v;

	if (!s)
		return 0;
	if (!is_integer(s))
		return fail(ld, s, NULL, "must be an integer");
	v = config_setting_get_int64(s);
	if (v < 0 || (uint64_t)v < min || (uint64_t)v > max)
		return fail(ld, s, NULL, "%lld is out of range (%llu..%llu)", v,
			    (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)v;
	return 1;
}

static int get_bool(const struct loader *ld, const config_setting_t *group,
		    const char *key, bool *out)
{
	const config_setting_t *s = config_setting_get_member(group, key);

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return fail(ld, s, NULL, "must be a boolean (true or false)");
	*out = config_setting_get_bool(s);
	return 1;
}

/* One of names[0..n): *out is its index. */
/* The index of name in names[n], or -1. */
static int name_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

static int get_choice(const struct loader *ld, const config_setting_t *group,
		      const char *key, const char *const *names, size_t n,
		      const char *what, int *out)
{
	char q[QUOTE_BUF], list[KEY_MAX] = "";
	const char *s;
	int rc = get_string(ld, group, key, false, &s), found;

	if (rc <= 0)
		return rc;
	found = name_index(names, n, s);
	if (found >= 0) {
		*out = found;
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		appendf(list, sizeof(list), "%s%s", i ? ", " : "", names[i]);
	return fail(ld, config_setting_get_member(group, key), NULL, "%s is not a %s (use %s)",
		    quote(s, q, sizeof(q)), what, list);
}

/*
 * A size is "4G"-style text or a plain integer of bytes. Capped at
 * INT64_MAX because offsets end up in off_t. zero_ok: 0 means "off".
 */
static int size_value(const struct loader *ld, const config_setting_t *s, bool zero_ok,
		      uint64_t *out)
{
	const char *positive = zero_ok ? "must be >= 0" : "must be > 0";
	char q[QUOTE_BUF];
	uint64_t v;

	if (is_integer(s)) {
		long long ll = config_setting_get_int64(s);

		if (ll < 0 || (ll == 0 && !zero_ok))
			return fail(ld, s, NULL, "%s", positive);
		*out = (uint64_t)ll;
		return 1;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail(ld, s, NULL, "must be a size: a string like \"4G\" or an integer");
	quote(config_setting_get_string(s), q, sizeof(q));
	switch (parse_size(config_setting_get_string(s), &v)) {
	case 0:
		break;
	case -ERANGE:
		return fail(ld, s, NULL, "%s is too large (must be under 8 EiB)", q);
	default:
		return fail(ld, s, NULL, "%s is not a size (use 512, 4K, 64M, 1G, 2T)", q);
	}
	if (v > INT64_MAX)
		return fail(ld, s, NULL, "%s is too large (must be under 8 EiB)", q);
	if (v == 0 && !zero_ok)
		return fail(ld, s, NULL, "%s", positive);
	*out = v;
	return 1;
}

static int get_size(const struct loader *ld, const config_setting_t *group,
		    const char *key, bool required, uint64_t *out)
{
	const config_setting_t *s = config_setting_get_member(group, key);

	if (!s)
		return required ? fail(ld, group, key, "missing") : 0;
	return size_value(ld, s, false, out);
}

/* An optional size in min..max, or with zero_ok also 0 ("unlimited"). */
static int get_size_in(const struct loader *ld, const config_setting_t *group,
		       const char *key, uint64_t min, uint64_t max, bool zero_ok,
		       uint64_t *out)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	char v[32], lo[32], hi[32];
	uint64_t val;

	if (!s)
		return 0;
	if (size_value(ld, s, zero_ok, &val) < 0)
		return -1;
	if ((val < min || val > max) && !(zero_ok && val == 0))
		return fail(ld, s, NULL, "%s is out of range (%s%s..%s)",
			    exact_size(val, v, sizeof(v)), zero_ok ? "0 or " : "",
			    exact_size(min, lo, sizeof(lo)), exact_size(max, hi, sizeof(hi)));
	*out = val;
	return 1;
}

static int get_name(const struct loader *ld, const config_setting_t *group,
		    char name[CONF_NAME_MAX])
{
	const char *s;
	char q[QUOTE_BUF];

	if (get_string(ld, group, "name", true, &s) < 0)
		return -1;
	if (!conf_name_valid(s))
		return fail(ld, config_setting_get_member(group, "name"), NULL,
			    "%s is not a valid name (1 to 63 of A-Z a-z 0-9 _ . -, not \".\" or \"..\")",
			    quote(s, q, sizeof(q)));
	strcpy(name, s);
	return 0;
}

static int get_path(const struct loader *ld, const config_setting_t *group,
		    const char *key, bool required, char *out, size_t size)
{
	const char *s;
	int rc = get_string(ld, group, key, required, &s);

	if (rc <= 0)
		return rc;
	if (s[0] != '/')
		return fail(ld, config_setting_get_member(group, key), NULL,
			    "must be an absolute path");
	if (strlen(s) >= size)
		return fail(ld, config_setting_get_member(group, key), NULL,
			    "too long (%zu bytes, max %zu)", strlen(s), size - 1);
	strcpy(out, s);
	return 1;
}

/* Portable group names: what groupadd takes without --badname. */
static bool group_name_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n < CONF_GROUP_MAX && s[0] != '-' &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* The gid of group name into *gid: 1, 0 if there is no such group, -errno. */
static int lookup_group(const char *name, unsigned *gid)
{
	struct group gr, *found = NULL;
	size_t size = 16384;
	char *buf = NULL;
	int rc;

	do { /* a group with many members needs a larger buffer */
		char *bigger = realloc(buf, size);

		if (!bigger) {
			free(buf);
			return -ENOMEM;
		}
		buf = bigger;
		rc = getgrnam_r(name, &gr, buf, size, &found);
		size *= 2;
	} while (rc == ERANGE && size <= (16u << 20));
	if (found)
		*gid = (unsigned)gr.gr_gid;
	free(buf);
	if (found)
		return 1;
	/* Some NSS modules say "not found" with an errno (getgrnam_r(3)). */
	return rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM ? 0 : -rc;
}

/* daemon.socket_group: a group of this system, kept with its gid. */
static int get_group(const struct loader *ld, const config_setting_t *d, struct conf *c)
{
	const config_setting_t *s = config_setting_get_member(d, "socket_group");
	char q[QUOTE_BUF];
	const char *name;
	unsigned gid = 0;
	int rc = get_string(ld, d, "socket_group", false, &name);

	if (rc <= 0)
		return rc;
	if (!group_name_valid(name))
		return fail(ld, s, NULL, "%s is not a group name (1 to 32 of A-Z a-z 0-9 _ . -, "
			    "not starting with -)", quote(name, q, sizeof(q)));
	rc = lookup_group(name, &gid);
	if (rc < 0)
		return fail(ld, s, NULL, "cannot look up group %s: %s", quote(name, q, sizeof(q)),
			    strerror(-rc));
	if (rc == 0)
		return fail(ld, s, NULL, "no group %s on this system (create it, or leave "
			    "socket_group out: root only)", quote(name, q, sizeof(q)));
	strcpy(c->socket_group, name);
	c->socket_gid = gid;
	return 1;
}

static int load_daemon(const struct loader *ld, const config_setting_t *d,
		       struct conf *c)
{
	const config_setting_t *gone;
	const char *level;
	char q[QUOTE_BUF];
	int on_stop = (int)c->on_stop;
	int rc;

	if (!is_group(d))
		return fail(ld, d, NULL, "must be a group: daemon = { ... };");
	c->daemon_line = (int)config_setting_source_line(d);
	/* A path that is silently ignored would look honoured: refuse it. */
	gone = config_setting_get_member(d, "state_file");
	if (gone)
		return fail(ld, gone, NULL, "no longer supported: the tenant table lives in "
			    "each backend's reserved region");
	if (check_keys(ld, d, daemon_keys) < 0 ||
	    get_path(ld, d, "socket", false, c->socket_path, sizeof(c->socket_path)) < 0 ||
	    get_group(ld, d, c) < 0 ||
	    get_uint(ld, d, "workers", 0, CONF_MAX_WORKERS, &c->workers) < 0 ||
	    get_choice(ld, d, "on_stop", on_stop_names, ARRAY_LEN(on_stop_names), "stop action",
		       &on_stop) < 0)
		return -1;
	c->on_stop = (enum conf_on_stop)on_stop;
	rc = get_string(ld, d, "log_level", false, &level);
	if (rc <= 0)
		return rc;
	c->log_level = log_level_from_name(level);
	if (c->log_level < 0)
		return fail(ld, config_setting_get_member(d, "log_level"), NULL,
			    "%s is not a log level (use error, warn, info, debug)",
			    quote(level, q, sizeof(q)));
	return 0;
}

/* A drive's bytes per second: a size, 1..COST_MAX_RATE. */
static int get_rate(const struct loader *ld, const config_setting_t *group, const char *key,
		    uint64_t *out)
{
	uint64_t v;
	char sz[32];
	int rc = get_size(ld, group, key, false, &v);

	if (rc <= 0)
		return rc;
	if (v > COST_MAX_RATE)
		return fail(ld, config_setting_get_member(group, key), NULL,
			    "%s is out of range (1..%llu bytes per second)",
			    exact_size(v, sz, sizeof(sz)), (unsigned long long)COST_MAX_RATE);
	*out = v;
	return 1;
}

/* The drive as the cost model sees it (common/cost.h): each rate 1..COST_MAX_RATE. */
static int load_cost(const struct loader *ld, const config_setting_t *s, struct cost_model *m)
{
	if (get_u64(ld, s, "cost_read_iops", 1, COST_MAX_RATE, &m->read_iops) < 0 ||
	    get_rate(ld, s, "cost_read_bw", &m->read_bw) < 0 ||
	    get_u64(ld, s, "cost_write_iops", 1, COST_MAX_RATE, &m->write_iops) < 0 ||
	    get_rate(ld, s, "cost_write_bw", &m->write_bw) < 0)
		return -1;
	return 0;
}

static int load_sched(const struct loader *ld, const config_setting_t *s,
		      struct conf_sched *o)
{
	int mode = (int)o->mode, poll = (int)o->poll;

	if (!is_group(s))
		return fail(ld, s, NULL, "must be a group: scheduler = { ... };");
	o->line = (int)config_setting_source_line(s);
	if (check_keys(ld, s, sched_keys) < 0 ||
	    get_choice(ld, s, "mode", sched_modes, ARRAY_LEN(sched_modes), "scheduler mode",
		       &mode) < 0 ||
	    get_uint(ld, s, "latency_target_us", CONF_MIN_LATENCY_TARGET_US,
		     CONF_MAX_LATENCY_TARGET_US, &o->latency_target_us) < 0 ||
	    get_uint(ld, s, "latency_queues", 0, 1024, &o->latency_queues) < 0 ||
	    get_uint(ld, s, "adapt_interval_ms", 10, 60000, &o->adapt_interval_ms) < 0 ||
	    get_size_in(ld, s, "throughput_cap", 128 << 10, 1 << 30, false,
			&o->throughput_cap) < 0 ||
	    get_bool(ld, s, "promote_flush", &o->promote_flush) < 0 ||
	    get_choice(ld, s, "poll", poll_names, ARRAY_LEN(poll_names), "poll setting",
		       &poll) < 0 ||
	    load_cost(ld, s, &o->cost) < 0)
		return -1;
	o->mode = (enum conf_sched_mode)mode;
	o->poll = (enum conf_poll)poll;
	return 0;
}

/* backends/tenants: a list of groups; returns the count or -1. */
static int check_list(const struct loader *ld, const config_setting_t *list,
		      const char *example)
{
	int n;

	if (config_setting_type(list) != CONFIG_TYPE_LIST)
		return fail(ld, list, NULL, "must be a list: %s = ( { ... }, { ... } );",
			    config_setting_name(list));
	n = config_setting_length(list);
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);

		if (!is_group(g))
			return fail(ld, g, NULL, "must be a group: { %s }", example);
	}
	return n;
}

static int get_backend_type(const struct loader *ld, const config_setting_t *g,
			    struct conf_backend *b)
{
	int type = (int)b->type;
	int rc = get_choice(ld, g, "type", backend_types, ARRAY_LEN(backend_types),
			    "backend type", &type);

	b->type = (enum conf_backend_type)type;
	return rc;
}

/* "nvme" and a controller instance number, as in /dev/nvme0. */
static bool controller_name_valid(const char *s)
{
	size_t len = strlen(s);

	if (len <= 4 || len >= CONF_CONTROLLER_MAX || strncmp(s, "nvme", 4) != 0)
		return false;
	for (size_t i = 4; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int get_controller(const struct loader *ld, const config_setting_t *g,
			  struct conf_backend *b)
{
	const char *s;
	char q[QUOTE_BUF];

	if (get_string(ld, g, "controller", true, &s) < 0)
		return -1;
	if (!controller_name_valid(s))
		return fail(ld, config_setting_get_member(g, "controller"), NULL,
			    "%s is not an NVMe controller name (like \"nvme0\")",
			    quote(s, q, sizeof(q)));
	strcpy(b->controller, s);
	return 0;
}

/* Exactly one of the two forms: path, or controller + nsid. */
static int get_location(const struct loader *ld, const config_setting_t *g,
			struct conf_backend *b)
{
	const config_setting_t *path = config_setting_get_member(g, "path");
	const config_setting_t *ctrl = config_setting_get_member(g, "controller");
	const config_setting_t *nsid = config_setting_get_member(g, "nsid");

	if (path && (ctrl || nsid))
		return fail(ld, ctrl ? ctrl : nsid, NULL,
			    "give either path or controller + nsid, not both");
	if (!ctrl && !nsid)
		return get_path(ld, g, "path", true, b->path, sizeof(b->path)) < 0 ? -1 : 0;
	if (!ctrl)
		return fail(ld, g, "controller", "missing (nsid needs the controller, "
			    "like controller = \"nvme0\";)");
	if (!nsid)
		return fail(ld, g, "nsid", "missing (controller needs the namespace id, "
			    "like nsid = 1;)");
	if (get_controller(ld, g, b) < 0 ||
	    get_uint(ld, g, "nsid", 1, 0xfffffffeu, &b->nsid) < 0)
		return -1;
	if (b->type == CONF_BACKEND_FILE)
		return fail(ld, config_setting_get_member(g, "type"), NULL,
			    "\"file\" needs a path (controller + nsid is served by passthrough)");
	return 0;
}

/* A null backend has no storage to name, and its size says how large it is. */
static int get_null(const struct loader *ld, const config_setting_t *g, struct conf_backend *b)
{
	static const char *const located[] = { "path", "controller", "nsid" };

	for (size_t i = 0; i < ARRAY_LEN(located); i++)
		if (config_setting_get_member(g, located[i]))
			return fail(ld, config_setting_get_member(g, located[i]), NULL,
				    "not for a \"null\" backend (it has no storage)");
	if (!config_setting_get_member(g, "size"))
		return fail(ld, g, "size", "missing (a \"null\" backend is as large as its "
			    "size, like size = \"16G\";)");
	return get_size(ld, g, "size", true, &b->size);
}

/* A backend of `bytes` must hold its reserved region and one smallest tenant. */
static bool backend_too_small(uint64_t bytes, uint64_t reserved, char *msg, size_t len)
{
	char v[32], min[32], res[32];

	if (bytes >= reserved + CONF_EXTENT_ALIGN)
		return false;
	snprintf(msg, len, "%s is too small (at least %s: the reserved %s plus 1 MiB for a tenant)",
		 exact_size(bytes, v, sizeof(v)),
		 exact_size(reserved + CONF_EXTENT_ALIGN, min, sizeof(min)),
		 exact_size(reserved, res, sizeof(res)));
	return true;
}

/*
 * The reserved region holds the tenant table; tenants start on a MiB
 * boundary after it, so it is whole MiB too.
 */
static int get_reserved(const struct loader *ld, const config_setting_t *g,
			struct conf_backend *b)
{
	char v[32], msg[256];

	if (get_size_in(ld, g, "reserved", TABLE_REGION_BYTES, CONF_MAX_RESERVED, false,
			&b->reserved) < 0)
		return -1;
	if (b->reserved % CONF_EXTENT_ALIGN)
		return fail(ld, config_setting_get_member(g, "reserved"), NULL,
			    "%s is not a multiple of 1 MiB", exact_size(b->reserved, v, sizeof(v)));
	if (b->size && backend_too_small(b->size, b->reserved, msg, sizeof(msg)))
		return fail(ld, config_setting_get_member(g, "size"), NULL, "%s", msg);
	return 0;
}

static int load_backend(const struct loader *ld, const config_setting_t *g,
			struct conf *c)
{
	struct conf_backend *b = &c->backends[c->nr_backends];
	const struct conf_backend *first;
	char q[QUOTE_BUF];

	b->line = (int)config_setting_source_line(g);
	b->reserved = TABLE_REGION_BYTES;
	if (check_keys(ld, g, backend_keys) < 0 || get_name(ld, g, b->name) < 0)
		return -1;
	first = conf_find_backend(c, b->name);
	if (first)
		return fail(ld, config_setting_get_member(g, "name"), NULL,
			    "duplicate backend name %s (first defined at line %d)",
			    quote(b->name, q, sizeof(q)), first->line);
	if (get_backend_type(ld, g, b) < 0)
		return -1;
	if (b->type == CONF_BACKEND_NULL) {
		if (get_null(ld, g, b) < 0)
			return -1;
	} else if (get_location(ld, g, b) < 0 || get_size(ld, g, "size", false, &b->size) < 0) {
		return -1;
	}
	if (b->size && (b->controller[0] || b->type == CONF_BACKEND_NVME))
		return fail(ld, config_setting_get_member(g, "size"), NULL,
			    "only for regular files (an NVMe namespace has its own size)");
	if (get_reserved(ld, g, b) < 0)
		return -1;
	c->nr_backends++;
	return 0;
}

static const struct conf_tenant *find_tenant(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nr_tenants; i++)
		if (strcmp(c->tenants[i].spec.name, name) == 0)
			return &c->tenants[i];
	return NULL;
}

static int check_backend_ref(const struct loader *ld, const config_setting_t *g,
			     const struct conf *c, const char *ref)
{
	char q[QUOTE_BUF], names[KEY_MAX] = "";

	if (conf_find_backend(c, ref))
		return 0;
	for (size_t i = 0; i < c->nr_backends; i++)
		appendf(names, sizeof(names), "%s%s", i ? ", " : "", c->backends[i].name);
	return fail(ld, config_setting_get_member(g, "backend"), NULL,
		    "no backend named %s (%s%s)", quote(ref, q, sizeof(q)),
		    c->nr_backends ? "defined: " : "no backends are defined", names);
}

/*
 * What backend b must hold for tenants[0..upto]: its reserved region plus
 * each tenant's extent, which the allocator rounds up to whole MiB.
 * Saturates instead of wrapping (sizes are < 8 EiB each, not in sum).
 */
static uint64_t backend_need(const struct conf *c, const struct conf_backend *b, size_t upto)
{
	uint64_t need = b->reserved;

	for (size_t i = 0; i <= upto; i++) {
		uint64_t len;

		if (strcmp(c->tenants[i].spec.backend, b->name) != 0)
			continue;
		len = round_up_u64(c->tenants[i].spec.size, CONF_EXTENT_ALIGN);
		need = need > UINT64_MAX - len ? UINT64_MAX : need + len;
	}
	return need;
}

/* Does tenants[upto] overflow backend b of `have` bytes (0: unknown)? */
static bool room_problem(const struct conf *c, const struct conf_backend *b, size_t upto,
			 uint64_t have, char *msg, size_t len)
{
	char need[32], holds[32], res[32], q[QUOTE_BUF];
	uint64_t bytes;

	if (!have)
		return false;
	bytes = backend_need(c, b, upto);
	if (bytes <= have)
		return false;
	snprintf(msg, len, "tenants on backend %s need %s but it holds %s "
		 "(%s reserved, each tenant rounded up to 1 MiB)",
		 quote(b->name, q, sizeof(q)), exact_size(bytes, need, sizeof(need)),
		 exact_size(have, holds, sizeof(holds)),
		 exact_size(b->reserved, res, sizeof(res)));
	return true;
}

/* Only backends with an explicit size can be checked before opening them. */
static int check_room(const struct loader *ld, const config_setting_t *g,
		      const struct conf *c)
{
	const struct conf_backend *b = conf_find_backend(c, c->tenants[c->nr_tenants].spec.backend);
	char msg[512];

	if (!room_problem(c, b, c->nr_tenants, b->size, msg, sizeof(msg)))
		return 0;
	return fail(ld, g, NULL, "%s", msg);
}

/* Class, QoS and recovery: what a live reload may change. */
static int load_service(const struct loader *ld, const config_setting_t *g,
			struct tenant_spec *t)
{
	int cls = (int)t->cls;
	unsigned iops = 0, min_iops = 0;

	if (get_choice(ld, g, "class", class_names, ARRAY_LEN(class_names), "class", &cls) < 0 ||
	    get_uint(ld, g, "iops_limit", 0, CONF_MAX_IOPS_LIMIT, &iops) < 0 ||
	    get_size_in(ld, g, "bw_limit", CONF_MIN_BW_LIMIT, CONF_MAX_BW_LIMIT, true,
			&t->qos.bw_limit) < 0 ||
	    get_uint(ld, g, "weight", 1, CONF_MAX_WEIGHT, &t->qos.weight) < 0 ||
	    get_uint(ld, g, "min_iops", 0, CONF_MAX_IOPS_LIMIT, &min_iops) < 0 ||
	    get_size_in(ld, g, "min_bw", CONF_MIN_BW_LIMIT, CONF_MAX_BW_LIMIT, true,
			&t->qos.min_bw) < 0 ||
	    get_uint_or0(ld, g, "latency_target_us", CONF_MIN_LATENCY_TARGET_US,
			 CONF_MAX_LATENCY_TARGET_US, &t->qos.latency_target_us) < 0 ||
	    get_bool(ld, g, "recovery", &t->recovery) < 0)
		return -1;
	t->cls = (enum conf_class)cls;
	t->qos.iops_limit = iops;
	t->qos.min_iops = min_iops;
	return 0;
}

/* The first of a tenant's reservation keys it has: where its errors point. */
static const config_setting_t *reservation_key(const config_setting_t *g,
					       const struct conf_qos *q)
{
	return config_setting_get_member(g, q->min_iops ? "min_iops" : "min_bw");
}

/*
 * tenants[c->nr_tenants]'s reservation: within its own limits, served by a
 * scheduler that can keep it, and with those before it on its backend at
 * most CONF_MAX_RESERVED_NS. The scheduler section is loaded before any
 * tenant wherever it stands in the file, so its mode and model are known.
 */
static int check_reservation(const struct loader *ld, const config_setting_t *g,
			     const struct conf *c)
{
	const struct tenant_spec *t = &c->tenants[c->nr_tenants].spec;
	const struct conf_qos *q = &t->qos;
	char a[32], b[32], bq[QUOTE_BUF];
	uint64_t total = 0;

	if (!q->min_iops && !q->min_bw)
		return 0;
	if (q->iops_limit && q->min_iops > q->iops_limit)
		return fail(ld, config_setting_get_member(g, "min_iops"), NULL,
			    "%llu is above iops_limit %llu: a reservation cannot exceed the limit",
			    (unsigned long long)q->min_iops, (unsigned long long)q->iops_limit);
	if (q->bw_limit && q->min_bw > q->bw_limit)
		return fail(ld, config_setting_get_member(g, "min_bw"), NULL,
			    "%s is above bw_limit %s: a reservation cannot exceed the limit",
			    exact_size(q->min_bw, a, sizeof(a)), exact_size(q->bw_limit, b, sizeof(b)));
	if (c->sched.mode != CONF_SCHED_DAREDEVIL)
		return fail(ld, reservation_key(g, q), NULL,
			    "reservations need scheduler.mode = \"daredevil\" (%s mode leaves "
			    "the order to the kernel's queues)", conf_sched_mode_name(c->sched.mode));
	for (size_t i = 0; i <= c->nr_tenants; i++)
		if (strcmp(c->tenants[i].spec.backend, t->backend) == 0)
			total = conf_add_sat(total, conf_reservation_ns(&c->sched.cost,
									&c->tenants[i].spec.qos));
	if (total <= CONF_MAX_RESERVED_NS)
		return 0;
	/* rounded up: a total just over the bound never reads as the bound itself */
	return fail(ld, reservation_key(g, q), NULL,
		    "reservations on backend %s add up to %llu%% of the device as scheduler.cost_* "
		    "model it (at most %d%%)", quote(t->backend, bq, sizeof(bq)),
		    (unsigned long long)(total / (COST_NS_PER_SEC / 100) +
					 (total % (COST_NS_PER_SEC / 100) != 0)),
		    COST_MAX_RESERVED_PCT);
}

static int load_tenant(const struct loader *ld, const config_setting_t *g,
		       struct conf *c)
{
	struct conf_tenant *ct = &c->tenants[c->nr_tenants];
	struct tenant_spec *t = &ct->spec;
	const struct conf_tenant *first;
	char q[QUOTE_BUF], sz[32];
	const char *ref;

	ct->line = (int)config_setting_source_line(g);
	t->queues = CONF_DEFAULT_QUEUES;
	t->depth = CONF_DEFAULT_DEPTH;
	t->cls = CONF_CLASS_BESTEFFORT;
	t->qos.weight = CONF_DEFAULT_WEIGHT;
	t->recovery = true;
	if (check_keys(ld, g, tenant_keys) < 0 || get_name(ld, g, t->name) < 0)
		return -1;
	first = find_tenant(c, t->name);
	if (first)
		return fail(ld, config_setting_get_member(g, "name"), NULL,
			    "duplicate tenant name %s (first defined at line %d)",
			    quote(t->name, q, sizeof(q)), first->line);
	if (get_string(ld, g, "backend", true, &ref) < 0 ||
	    check_backend_ref(ld, g, c, ref) < 0)
		return -1;
	strcpy(t->backend, ref); /* a defined backend's name fits */
	if (get_size(ld, g, "size", true, &t->size) < 0)
		return -1;
	if (t->size % TENANT_ALIGN)
		return fail(ld, config_setting_get_member(g, "size"), NULL,
			    "%s is not a multiple of 4 KiB",
			    exact_size(t->size, sz, sizeof(sz)));
	if (check_room(ld, g, c) < 0 ||
	    get_uint(ld, g, "queues", 1, CONF_MAX_QUEUES, &t->queues) < 0 ||
	    get_uint(ld, g, "depth", 1, CONF_MAX_DEPTH, &t->depth) < 0 ||
	    load_service(ld, g, t) < 0 || check_reservation(ld, g, c) < 0)
		return -1;
	c->nr_tenants++;
	return 0;
}

static int load_backends(const struct loader *ld, const config_setting_t *list,
			 struct conf *c)
{
	int n = check_list(ld, list, "name = \"...\"; path = \"/...\";");

	if (n < 0)
		return n;
	c->backends_line = (int)config_setting_source_line(list);
	if (n == 0)
		return 0;
	c->backends = calloc((size_t)n, sizeof(*c->backends));
	if (!c->backends)
		return fail(ld, list, NULL, "out of memory");
	for (int i = 0; i < n; i++)
		if (load_backend(ld, config_setting_get_elem(list, (unsigned)i), c) < 0)
			return -1;
	return 0;
}

static int load_tenants(const struct loader *ld, const config_setting_t *list,
			struct conf *c)
{
	int n = check_list(ld, list, "name = \"...\"; backend = \"...\"; size = \"1G\";");

	if (n <= 0)
		return n;
	c->tenants = calloc((size_t)n, sizeof(*c->tenants));
	if (!c->tenants)
		return fail(ld, list, NULL, "out of memory");
	for (int i = 0; i < n; i++)
		if (load_tenant(ld, config_setting_get_elem(list, (unsigned)i), c) < 0)
			return -1;
	return 0;
}

/*
 * libconfig 1.5 silently wraps integer literals outside 32 bits unless they
 * carry an L suffix ("size = 5368709120;" reads as 1 GiB), and @include
 * pulls in text we never see. So scan the raw text first: note @include, and
 * the first integer literal that libconfig will wrap, by its ordinal among
 * all numeric literals, which is also its ordinal among the numeric settings
 * of the parsed tree in document order.
 */
struct prescan {
	unsigned include_line; /* 0: no @include */
	unsigned wrap_line; /* 0: no wrapped literal */
	unsigned wrap_nth;
	char wrap_text[32];
};

static bool name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*';
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool number_start(const char *p)
{
	if (*p == '-' || *p == '+')
		p++;
	return digit(*p) || (*p == '.' && digit(p[1]));
}

/* Would libconfig (no L suffix) store this literal as a wrapped int? */
static bool literal_wraps(const char *tok, size_t len)
{
	bool neg = tok[0] == '-', hex;
	size_t i = (tok[0] == '-' || tok[0] == '+') ? 1 : 0;
	uint64_t v = 0, limit;

	hex = len > i + 1 && tok[i] == '0' && (tok[i + 1] == 'x' || tok[i + 1] == 'X');
	if (tok[len - 1] == 'L' || tok[len - 1] == 'l')
		return false; /* 64-bit literal */
	if (!hex && (memchr(tok, '.', len) || memchr(tok, 'e', len) || memchr(tok, 'E', len)))
		return false; /* float */
	limit = neg ? 1ULL << 31 : (1ULL << 31) - 1;
	for (i += hex ? 2 : 0; i < len; i++) {
		char c = tok[i];
		unsigned d = digit(c) ? (unsigned)(c - '0') :
			     (unsigned)((c | 0x20) - 'a' + 10);

		v = v * (hex ? 16 : 10) + d;
		if (v > limit)
			return true;
	}
	return false;
}

static const char *skip_number(const char *p)
{
	const char *start = p;

	if (*p == '-' || *p == '+')
		p++;
	for (; *p; p++) {
		if (digit(*p) || name_start(*p) || *p == '.')
			continue;
		if ((*p == '-' || *p == '+') && (p[-1] == 'e' || p[-1] == 'E') &&
		    p - 1 > start && !(start[0] == '0' && (start[1] | 0x20) == 'x'))
			continue;
		break;
	}
	return p;
}

static void prescan(const char *p, struct prescan *ps)
{
	unsigned line = 1, nth = 0;

	memset(ps, 0, sizeof(*ps));
	while (*p) {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
				line += *p == '\n';
			p += *p ? 2 : 0;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				line += *p == '\n';
			}
			p += *p ? 1 : 0;
		} else if (strncmp(p, "@include", 8) == 0) {
			if (!ps->include_line)
				ps->include_line = line;
			p += 8;
		} else if (name_start(*p)) {
			while (name_char(*p))
				p++;
		} else if (number_start(p)) {
			const char *end = skip_number(p);
			size_t len = (size_t)(end - p);

			nth++;
			if (!ps->wrap_line && literal_wraps(p, len)) {
				ps->wrap_line = line;
				ps->wrap_nth = nth;
				snprintf(ps->wrap_text, sizeof(ps->wrap_text), "%.*s",
					 (int)len, p);
			}
			p = end;
		} else {
			p++;
		}
	}
}

/* The nth (from 1) numeric setting under s in document order, or NULL. */
static const config_setting_t *nth_number(const config_setting_t *s, unsigned *nth)
{
	int type = config_setting_type(s);

	if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64 ||
	    type == CONFIG_TYPE_FLOAT)
		return --*nth == 0 ? s : NULL;
	if (type != CONFIG_TYPE_GROUP && type != CONFIG_TYPE_LIST &&
	    type != CONFIG_TYPE_ARRAY)
		return NULL;
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *hit =
			nth_number(config_setting_get_elem(s, (unsigned)i), nth);

		if (hit)
			return hit;
	}
	return NULL;
}

static int check_wrapped(const struct loader *ld, const config_t *cfg,
			 const struct prescan *ps)
{
	unsigned nth = ps->wrap_nth;
	const config_setting_t *s;

	if (!ps->wrap_line)
		return 0;
	s = nth_number(config_root_setting(cfg), &nth);
	if (!s || config_setting_source_line(s) != ps->wrap_line) {
		/* Cannot name the key; still refuse rather than load a wrong number. */
		set_err(ld->err, ld->errlen,
			"%s:%u: %s: integer does not fit in 32 bits (add an L suffix: %sL)",
			ld->file, ps->wrap_line, ps->wrap_text, ps->wrap_text);
		return -1;
	}
	return fail(ld, s, NULL, "%s does not fit in 32 bits (add an L suffix: %sL)",
		    ps->wrap_text, ps->wrap_text);
}

static int load_tree(const struct loader *ld, const config_t *cfg, struct conf *c)
{
	const config_setting_t *root = config_root_setting(cfg);
	const config_setting_t *s;

	if (check_keys(ld, root, root_keys) < 0)
		return -1;
	s = config_setting_get_member(root, "daemon");
	if (s && load_daemon(ld, s, c) < 0)
		return -1;
	s = config_setting_get_member(root, "scheduler");
	if (s && load_sched(ld, s, &c->sched) < 0)
		return -1;
	/* Backends first wherever they appear: tenants refer to them. */
	s = config_setting_get_member(root, "backends");
	if (s && load_backends(ld, s, c) < 0)
		return -1;
	s = config_setting_get_member(root, "tenants");
	if (s && load_tenants(ld, s, c) < 0)
		return -1;
	return 0;
}

const char *conf_class_name(enum conf_class cls)
{
	return (size_t)cls < ARRAY_LEN(class_names) ? class_names[cls] : "?";
}

int conf_class_from_name(const char *name)
{
	return name_index(class_names, ARRAY_LEN(class_names), name);
}

const char *conf_sched_mode_name(enum conf_sched_mode mode)
{
	return (size_t)mode < ARRAY_LEN(sched_modes) ? sched_modes[mode] : "?";
}

const char *conf_poll_name(enum conf_poll poll)
{
	return (size_t)poll < ARRAY_LEN(poll_names) ? poll_names[poll] : "?";
}

const char *conf_on_stop_name(enum conf_on_stop on_stop)
{
	return (size_t)on_stop < ARRAY_LEN(on_stop_names) ? on_stop_names[on_stop] : "?";
}

int conf_on_stop_from_name(const char *name)
{
	return name_index(on_stop_names, ARRAY_LEN(on_stop_names), name);
}

void conf_init(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket_path, sizeof(c->socket_path), "%s", CONF_DEFAULT_SOCKET);
	c->workers = 0;
	c->log_level = LOG_INFO;
	c->sched = (struct conf_sched){
		.mode = CONF_SCHED_STATIC,
		.latency_target_us = CONF_DEFAULT_LATENCY_TARGET_US,
		.latency_queues = 0,
		.adapt_interval_ms = CONF_DEFAULT_ADAPT_INTERVAL_MS,
		.throughput_cap = CONF_DEFAULT_THROUGHPUT_CAP,
		.promote_flush = false, /* a promoted flush puts latency tenants behind it */
		.poll = CONF_POLL_AUTO,
	};
	cost_model_init(&c->sched.cost);
}

void conf_free(struct conf *c)
{
	free(c->backends);
	free(c->tenants);
	c->backends = NULL;
	c->tenants = NULL;
	c->nr_backends = 0;
	c->nr_tenants = 0;
}

int conf_load_string(const char *text, const char *name, struct conf *out,
		     char *err, size_t errlen)
{
	struct loader ld = { .file = name ? name : "<string>", .err = err, .errlen = errlen };
	struct prescan ps;
	struct conf c;
	config_t cfg;
	int rc = -1;

	if (!text) {
		set_err(err, errlen, "%s: no text", ld.file);
		return -1;
	}
	prescan(text, &ps);
	if (ps.include_line) {
		set_err(err, errlen, "%s:%u: @include: not supported (keep the policy in one file)",
			ld.file, ps.include_line);
		return -1;
	}
	config_init(&cfg);
	conf_init(&c);
	if (!config_read_string(&cfg, text)) {
		const char *what = config_error_text(&cfg);

		/* libconfig's own text is often just "syntax error" */
		if (!what || strcmp(what, "syntax error") == 0)
			set_err(err, errlen, "%s:%d: syntax error", ld.file,
				config_error_line(&cfg));
		else
			set_err(err, errlen, "%s:%d: syntax error: %s", ld.file,
				config_error_line(&cfg), what);
		goto out;
	}
	if (check_wrapped(&ld, &cfg, &ps) < 0 || load_tree(&ld, &cfg, &c) < 0)
		goto out;
	*out = c;
	rc = 0;
out:
	if (rc)
		conf_free(&c);
	config_destroy(&cfg);
	return rc;
}

/* Whole file as a C string; NULL with errno set on failure. */
static char *read_text(const char *path)
{
	struct stat st;
	char *buf = NULL;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		goto out;
	errno = S_ISDIR(st.st_mode) ? EISDIR : EFBIG;
	if (S_ISDIR(st.st_mode) || st.st_size > POLICY_MAX_BYTES)
		goto out;
	buf = read_text_fd(fd, POLICY_MAX_BYTES);
out:
	saved = errno;
	close(fd);
	errno = saved;
	return buf;
}

int conf_load_file(const char *path, struct conf *out, char *err, size_t errlen)
{
	char *text = read_text(path);
	int rc;

	if (!text) {
		set_err(err, errlen, "%s: cannot read: %s", path,
			errno == EILSEQ ? "contains a NUL byte" : strerror(errno));
		return -1;
	}
	rc = conf_load_string(text, path, out, err, errlen);
	free(text);
	return rc;
}

int conf_check_capacity(const struct conf *c, const uint64_t *backend_bytes, char *err,
			size_t errlen)
{
	char msg[512];

	for (size_t i = 0; i < c->nr_backends; i++) {
		const struct conf_backend *b = &c->backends[i];

		if (backend_bytes[i] &&
		    backend_too_small(backend_bytes[i], b->reserved, msg, sizeof(msg))) {
			set_err(err, errlen, "%d: backends[%zu]: %s", b->line, i, msg);
			return -1;
		}
	}
	for (size_t i = 0; i < c->nr_tenants; i++) {
		const struct conf_backend *b = conf_find_backend(c, c->tenants[i].spec.backend);

		if (b && room_problem(c, b, i, backend_bytes[b - c->backends], msg, sizeof(msg))) {
			set_err(err, errlen, "%d: tenants[%zu]: %s", c->tenants[i].line, i, msg);
			return -1;
		}
	}
	return 0;
}

uint64_t conf_add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t conf_reservation_ns(const struct cost_model *m, const struct conf_qos *qos)
{
	uint64_t io = cost_of(m, IO_OP_READ, false, COST_IOPS_REF_BYTES);
	uint64_t big = cost_of(m, IO_OP_READ, false, COST_BW_REF_BYTES);

	/*
	 * cost_reserved() adds min_iops * io, (min_bw / 128 KiB) * big and
	 * less than one more big: below UINT64_MAX when each product is
	 * below a third of it. Only absurd cost_* values come near.
	 */
	if (qos->min_iops > UINT64_MAX / 3 / io ||
	    (qos->min_bw && (qos->min_bw / COST_BW_REF_BYTES > UINT64_MAX / 3 / big ||
			     big > UINT64_MAX / 3 / COST_BW_REF_BYTES)))
		return UINT64_MAX;
	return cost_reserved(m, qos->min_iops, qos->min_bw);
}

const char *conf_backend_type_name(enum conf_backend_type type)
{
	if ((size_t)type >= ARRAY_LEN(backend_types))
		return "?";
	return backend_types[type];
}

const struct conf_backend *conf_find_backend(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nr_backends; i++)
		if (strcmp(c->backends[i].name, name) == 0)
			return &c->backends[i];
	return NULL;
}

int conf_name_valid(const char *name)
{
	size_t len = strnlen(name, CONF_NAME_MAX);

	if (len == 0 || len >= CONF_NAME_MAX)
		return 0;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];

		if (!(ch >= 'A' && ch <= 'Z') && !(ch >= 'a' && ch <= 'z') &&
		    !digit(ch) && ch != '_' && ch != '.' && ch != '-')
			return 0;
	}
	return 1;
}
