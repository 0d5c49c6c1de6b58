/* SPDX-License-Identifier: MIT */
/*
 * Reload diff (rules in diff.h). Everything is compared field by field and
 * described in the policy's own words (key names, true/false, sizes as
 * format_size prints them), so an operator can match each line to an edit.
 */
#include "conf/diff.h"
#include "common/err.h"
#include "common/log.h"
#include "common/units.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHAT_LEN sizeof(((struct conf_change *)0)->what)

static void vappend(char *w, size_t len, const char *fmt, va_list ap)
{
	size_t n = strnlen(w, len);

	if (n + 1 < len)
		vsnprintf(w + n, len - n, fmt, ap);
}

static void append(char *w, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *w, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vappend(w, len, fmt, ap);
	va_end(ap);
}

/* One more "field a -> b" in a comma-separated list. */
static void item(char *w, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void item(char *w, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (w[0])
		append(w, len, ", ");
	va_start(ap, fmt);
	vappend(w, len, fmt, ap);
	va_end(ap);
}

static const char *bool_name(bool b)
{
	return b ? "true" : "false";
}

/* Bytes, or bytes per second where 0 means `zero` ("unlimited", "none"). */
static const char *rate_text(uint64_t v, bool rate, const char *zero, char *buf, size_t len)
{
	char sz[32];

	if (rate && !v)
		snprintf(buf, len, "%s", zero);
	else
		snprintf(buf, len, "%s%s", format_size(v, sz, sizeof(sz)), rate ? "/s" : "");
	return buf;
}

static const char *size_text(uint64_t v, bool rate, char *buf, size_t len)
{
	return rate_text(v, rate, "unlimited", buf, len);
}

/* format_size rounds: "1 GiB -> 1 GiB" would hide the change, so go exact. */
static void item_rate(char *w, size_t len, const char *field, uint64_t a, uint64_t b,
		      bool rate, const char *zero)
{
	char x[48], y[48];

	rate_text(a, rate, zero, x, sizeof(x));
	rate_text(b, rate, zero, y, sizeof(y));
	if (strcmp(x, y) == 0) {
		snprintf(x, sizeof(x), "%llu bytes%s", (unsigned long long)a, rate ? "/s" : "");
		snprintf(y, sizeof(y), "%llu bytes%s", (unsigned long long)b, rate ? "/s" : "");
	}
	item(w, len, "%s %s -> %s", field, x, y);
}

static void item_size(char *w, size_t len, const char *field, uint64_t a, uint64_t b,
		      bool rate)
{
	item_rate(w, len, field, a, b, rate, "unlimited");
}

/* A count where 0 means `zero`: "unlimited" for a limit, "none" for a reservation. */
static const char *count_text(uint64_t v, const char *zero, char *buf, size_t len)
{
	if (!v)
		snprintf(buf, len, "%s", zero);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

static const char *iops_text(uint64_t v, char *buf, size_t len)
{
	return count_text(v, "unlimited", buf, len);
}

/* What recreating the device involves: the fields that need it. */
static void list_reshape(const struct tenant_spec *a, const struct tenant_spec *b, char *w,
			 size_t len)
{
	if (strcmp(a->backend, b->backend) != 0)
		item(w, len, "backend \"%s\" -> \"%s\"", a->backend, b->backend);
	if (a->size != b->size)
		item_size(w, len, "size", a->size, b->size, false);
	if (a->queues != b->queues)
		item(w, len, "queues %u -> %u", a->queues, b->queues);
	if (a->depth != b->depth)
		item(w, len, "depth %u -> %u", a->depth, b->depth);
	if (a->recovery != b->recovery)
		item(w, len, "recovery %s -> %s", bool_name(a->recovery), bool_name(b->recovery));
}

/* What a live update changes: class and QoS. */
static void list_service(const struct tenant_spec *a, const struct tenant_spec *b, char *w,
			 size_t len)
{
	char x[32], y[32];

	if (a->cls != b->cls)
		item(w, len, "class %s -> %s", conf_class_name(a->cls), conf_class_name(b->cls));
	if (a->qos.iops_limit != b->qos.iops_limit)
		item(w, len, "iops_limit %s -> %s", iops_text(a->qos.iops_limit, x, sizeof(x)),
		     iops_text(b->qos.iops_limit, y, sizeof(y)));
	if (a->qos.bw_limit != b->qos.bw_limit)
		item_size(w, len, "bw_limit", a->qos.bw_limit, b->qos.bw_limit, true);
	if (a->qos.weight != b->qos.weight)
		item(w, len, "weight %u -> %u", a->qos.weight, b->qos.weight);
	if (a->qos.min_iops != b->qos.min_iops)
		item(w, len, "min_iops %s -> %s", count_text(a->qos.min_iops, "none", x, sizeof(x)),
		     count_text(b->qos.min_iops, "none", y, sizeof(y)));
	if (a->qos.min_bw != b->qos.min_bw)
		item_rate(w, len, "min_bw", a->qos.min_bw, b->qos.min_bw, true, "none");
	if (a->qos.latency_target_us != b->qos.latency_target_us)
		item(w, len, "latency_target_us %s -> %s",
		     count_text(a->qos.latency_target_us, "default", x, sizeof(x)),
		     count_text(b->qos.latency_target_us, "default", y, sizeof(y)));
}

static bool needs_reshape(const struct tenant_spec *a, const struct tenant_spec *b)
{
	return strcmp(a->backend, b->backend) != 0 || a->size != b->size ||
	       a->queues != b->queues || a->depth != b->depth || a->recovery != b->recovery;
}

static bool service_differs(const struct tenant_spec *a, const struct tenant_spec *b)
{
	return a->cls != b->cls || a->qos.iops_limit != b->qos.iops_limit ||
	       a->qos.bw_limit != b->qos.bw_limit || a->qos.weight != b->qos.weight ||
	       a->qos.min_iops != b->qos.min_iops || a->qos.min_bw != b->qos.min_bw ||
	       a->qos.latency_target_us != b->qos.latency_target_us;
}

static void describe_add(const struct tenant_spec *t, char *w, size_t len)
{
	char x[32];

	item(w, len, "%s on \"%s\", class %s", size_text(t->size, false, x, sizeof(x)),
	     t->backend, conf_class_name(t->cls));
	if (t->qos.iops_limit)
		item(w, len, "iops_limit %s", iops_text(t->qos.iops_limit, x, sizeof(x)));
	if (t->qos.bw_limit)
		item(w, len, "bw_limit %s", size_text(t->qos.bw_limit, true, x, sizeof(x)));
	if (t->qos.weight != CONF_DEFAULT_WEIGHT)
		item(w, len, "weight %u", t->qos.weight);
	if (t->qos.min_iops)
		item(w, len, "min_iops %llu", (unsigned long long)t->qos.min_iops);
	if (t->qos.min_bw)
		item(w, len, "min_bw %s", size_text(t->qos.min_bw, true, x, sizeof(x)));
	if (t->qos.latency_target_us)
		item(w, len, "latency_target_us %u", t->qos.latency_target_us);
	if (!t->recovery)
		item(w, len, "recovery false");
}

static void describe_remove(const struct tenant_spec *t, char *w, size_t len)
{
	char x[32];

	item(w, len, "%s extent on \"%s\" freed, data lost",
	     size_text(t->size, false, x, sizeof(x)), t->backend);
}

/* A new size or backend means a new, empty extent; the rest keeps the data. */
static void describe_reshape(const struct tenant_spec *a, const struct tenant_spec *b, char *w,
			     size_t len)
{
	bool moved = strcmp(a->backend, b->backend) != 0 || a->size != b->size;

	list_reshape(a, b, w, len);
	list_service(a, b, w, len);
	append(w, len, ": %s", moved ? "recreated on a new extent, data lost" :
				       "device recreated on the same extent, data kept");
}

static void describe_update(const struct conf_running *r, const struct tenant_spec *b, char *w,
			    size_t len)
{
	list_service(&r->spec, b, w, len);
	if (!r->from_policy)
		item(w, len, "now managed by the policy (was added by ublk-ctl)");
}

static void list_sched(const struct conf_sched *a, const struct conf_sched *b, char *w,
		       size_t len)
{
	if (a->mode != b->mode)
		item(w, len, "mode %s -> %s", conf_sched_mode_name(a->mode),
		     conf_sched_mode_name(b->mode));
	if (a->latency_target_us != b->latency_target_us)
		item(w, len, "latency_target_us %u -> %u", a->latency_target_us,
		     b->latency_target_us);
	if (a->latency_queues != b->latency_queues)
		item(w, len, "latency_queues %u -> %u", a->latency_queues, b->latency_queues);
	if (a->adapt_interval_ms != b->adapt_interval_ms)
		item(w, len, "adapt_interval_ms %u -> %u", a->adapt_interval_ms,
		     b->adapt_interval_ms);
	if (a->throughput_cap != b->throughput_cap)
		item_size(w, len, "throughput_cap", a->throughput_cap, b->throughput_cap, false);
	if (a->promote_flush != b->promote_flush)
		item(w, len, "promote_flush %s -> %s", bool_name(a->promote_flush),
		     bool_name(b->promote_flush));
	/* the drive's model: the schedulers price requests with it from their start */
	if (a->cost.read_iops != b->cost.read_iops)
		item(w, len, "cost_read_iops %llu -> %llu", (unsigned long long)a->cost.read_iops,
		     (unsigned long long)b->cost.read_iops);
	if (a->cost.read_bw != b->cost.read_bw)
		item_size(w, len, "cost_read_bw", a->cost.read_bw, b->cost.read_bw, true);
	if (a->cost.write_iops != b->cost.write_iops)
		item(w, len, "cost_write_iops %llu -> %llu", (unsigned long long)a->cost.write_iops,
		     (unsigned long long)b->cost.write_iops);
	if (a->cost.write_bw != b->cost.write_bw)
		item_size(w, len, "cost_write_bw", a->cost.write_bw, b->cost.write_bw, true);
}

/* "FILE:LINE: key: cannot change on reload; restart ddublkd" (no LINE if unknown). */
static int restart_needed(const char *file, int line, const char *key, char *err,
			  size_t errlen)
{
	char where[16] = "";

	if (line > 0)
		snprintf(where, sizeof(where), ":%d", line);
	set_err(err, errlen, "%s%s: %s: cannot change on reload; restart ddublkd", file, where,
		key);
	return -1;
}

/* The first field that differs, or NULL. */
static const char *backend_change(const struct conf_backend *a, const struct conf_backend *b)
{
	if (strcmp(a->path, b->path) != 0)
		return "path";
	if (strcmp(a->controller, b->controller) != 0)
		return "controller";
	if (a->nsid != b->nsid)
		return "nsid";
	if (a->type != b->type)
		return "type";
	if (a->size != b->size)
		return "size";
	if (a->reserved != b->reserved)
		return "reserved";
	return NULL;
}

/* Open devices, extents and the control socket are fixed for a daemon's life. */
static int check_fixed(const struct conf *old_conf, const struct conf *new_conf,
		       const char *file, char *err, size_t errlen)
{
	char key[64];

	if (strcmp(old_conf->socket_path, new_conf->socket_path) != 0)
		return restart_needed(file, new_conf->daemon_line, "daemon.socket", err, errlen);
	if (strcmp(old_conf->socket_group, new_conf->socket_group) != 0 ||
	    old_conf->socket_gid != new_conf->socket_gid)
		return restart_needed(file, new_conf->daemon_line, "daemon.socket_group", err,
				      errlen);
	if (old_conf->workers != new_conf->workers)
		return restart_needed(file, new_conf->daemon_line, "daemon.workers", err, errlen);
	for (size_t i = 0; i < new_conf->nr_backends; i++) {
		const struct conf_backend *b = &new_conf->backends[i];
		const struct conf_backend *a = conf_find_backend(old_conf, b->name);
		const char *field = a ? backend_change(a, b) : NULL;

		if (a && !field)
			continue;
		snprintf(key, sizeof(key), "backends[%zu]%s%s", i, field ? "." : "",
			 field ? field : "");
		return restart_needed(file, b->line, key, err, errlen);
	}
	for (size_t i = 0; i < old_conf->nr_backends; i++)
		if (!conf_find_backend(new_conf, old_conf->backends[i].name))
			return restart_needed(file, new_conf->backends_line, "backends", err,
					      errlen);
	return 0;
}

static long find_running(const struct conf_running *running, size_t nr, const char *name)
{
	for (size_t i = 0; i < nr; i++)
		if (strcmp(running[i].spec.name, name) == 0)
			return (long)i;
	return -1;
}

static long find_new(const struct conf *c, const char *name)
{
	for (size_t i = 0; i < c->nr_tenants; i++)
		if (strcmp(c->tenants[i].spec.name, name) == 0)
			return (long)i;
	return -1;
}

/* What happens to new->tenants[j]: a kind, or -1 for nothing. */
static int classify(const struct conf_running *running, size_t nr_running,
		    const struct tenant_spec *t, long *ri)
{
	*ri = find_running(running, nr_running, t->name);
	if (*ri < 0)
		return CHANGE_ADD;
	if (needs_reshape(&running[*ri].spec, t))
		return CHANGE_RESHAPE;
	if (service_differs(&running[*ri].spec, t) || !running[*ri].from_policy)
		return CHANGE_UPDATE;
	return -1;
}

/* add_globals()' lines at most: log_level, on_stop, the scheduler section, its poll key. */
#define MAX_GLOBALS 4

static struct conf_change *next(struct conf_change *v, size_t *n, enum conf_change_kind kind,
				const char *tenant, long new_index, long running_index)
{
	struct conf_change *c = &v[(*n)++];

	c->kind = kind;
	c->destructive = kind == CHANGE_REMOVE || kind == CHANGE_RESHAPE;
	snprintf(c->tenant, sizeof(c->tenant), "%s", tenant);
	c->new_index = new_index;
	c->running_index = running_index;
	return c;
}

static void add_globals(const struct conf *old_conf, const struct conf *new_conf,
			struct conf_change *v, size_t *n)
{
	char list[WHAT_LEN] = "";

	if (old_conf->log_level != new_conf->log_level) {
		struct conf_change *c = next(v, n, CHANGE_GLOBAL, "", -1, -1);

		snprintf(c->what, WHAT_LEN, "daemon: log_level %s -> %s",
			 log_level_name((enum log_level)old_conf->log_level),
			 log_level_name((enum log_level)new_conf->log_level));
	}
	if (old_conf->on_stop != new_conf->on_stop) {
		struct conf_change *c = next(v, n, CHANGE_GLOBAL, "", -1, -1);

		snprintf(c->what, WHAT_LEN, "daemon: on_stop %s -> %s",
			 conf_on_stop_name(old_conf->on_stop), conf_on_stop_name(new_conf->on_stop));
	}
	list_sched(&old_conf->sched, &new_conf->sched, list, sizeof(list));
	if (list[0]) {
		struct conf_change *c = next(v, n, CHANGE_GLOBAL, "", -1, -1);

		append(c->what, WHAT_LEN, "scheduler: %s", list);
		c->at_restart = true;
	}
	if (old_conf->sched.poll != new_conf->sched.poll) { /* the one live scheduler key */
		struct conf_change *c = next(v, n, CHANGE_GLOBAL, "", -1, -1);

		snprintf(c->what, WHAT_LEN, "scheduler: poll %s -> %s",
			 conf_poll_name(old_conf->sched.poll), conf_poll_name(new_conf->sched.poll));
	}
}

static void add_removes(const struct conf_running *running, size_t nr_running,
			const struct conf *new_conf, struct conf_change *v, size_t *n)
{
	for (size_t i = 0; i < nr_running; i++) {
		const struct conf_running *r = &running[i];

		if (!r->from_policy || find_new(new_conf, r->spec.name) >= 0)
			continue;
		describe_remove(&r->spec, next(v, n, CHANGE_REMOVE, r->spec.name, -1, (long)i)->what,
				WHAT_LEN);
	}
}

/* One pass per kind keeps the documented order; within a kind, the policy's order. */
static void add_tenant_changes(const struct conf_running *running, size_t nr_running,
			       const struct conf *new_conf, enum conf_change_kind kind,
			       struct conf_change *v, size_t *n)
{
	for (size_t j = 0; j < new_conf->nr_tenants; j++) {
		const struct tenant_spec *t = &new_conf->tenants[j].spec;
		struct conf_change *c;
		long ri;

		if (classify(running, nr_running, t, &ri) != (int)kind)
			continue;
		c = next(v, n, kind, t->name, (long)j, ri);
		if (kind == CHANGE_ADD)
			describe_add(t, c->what, WHAT_LEN);
		else if (kind == CHANGE_RESHAPE)
			describe_reshape(&running[ri].spec, t, c->what, WHAT_LEN);
		else
			describe_update(&running[ri], t, c->what, WHAT_LEN);
	}
}

int conf_diff(const struct conf *old_conf, const struct conf_running *running, size_t nr_running,
	      const struct conf *new_conf, const char *new_file, struct conf_change **out,
	      size_t *nr, char *err, size_t errlen)
{
	const char *file = new_file ? new_file : "<string>";
	struct conf_change *v;
	size_t n = 0;

	if (check_fixed(old_conf, new_conf, file, err, errlen) < 0)
		return -1;
	/* at most: the globals, one per running tenant, one per new tenant */
	v = calloc(MAX_GLOBALS + nr_running + new_conf->nr_tenants, sizeof(*v));
	if (!v) {
		set_err(err, errlen, "%s: out of memory", file);
		return -1;
	}
	add_globals(old_conf, new_conf, v, &n);
	add_removes(running, nr_running, new_conf, v, &n);
	add_tenant_changes(running, nr_running, new_conf, CHANGE_RESHAPE, v, &n);
	add_tenant_changes(running, nr_running, new_conf, CHANGE_UPDATE, v, &n);
	add_tenant_changes(running, nr_running, new_conf, CHANGE_ADD, v, &n);
	if (!n) {
		free(v);
		v = NULL;
	}
	*out = v;
	*nr = n;
	return 0;
}

void conf_change_format(const struct conf_change *c, char *buf, size_t len)
{
	const char *force = c->destructive ? " (needs --force)" : "";

	if (!buf || !len)
		return;
	switch (c->kind) {
	case CHANGE_GLOBAL:
		snprintf(buf, len, "~ %s%s%s", c->what, c->at_restart ? " (at the next start)" : "",
			 force);
		break;
	case CHANGE_ADD:
		snprintf(buf, len, "+ tenant \"%s\": add %s%s", c->tenant, c->what, force);
		break;
	case CHANGE_REMOVE:
		snprintf(buf, len, "- tenant \"%s\": remove: %s%s", c->tenant, c->what, force);
		break;
	case CHANGE_RESHAPE:
		snprintf(buf, len, "! tenant \"%s\": %s%s", c->tenant, c->what, force);
		break;
	case CHANGE_UPDATE:
	default:
		snprintf(buf, len, "~ tenant \"%s\": %s%s", c->tenant, c->what, force);
		break;
	}
}
