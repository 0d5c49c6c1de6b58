/* SPDX-License-Identifier: MIT */
/* The "stats" reply's objects (see stats_json.h). */
#include "ctl/stats_json.h"

#include <stdio.h>
#include <string.h>

/* Adders that tolerate allocation failure: the object stays valid, a field may be missing. */
static void put(json_object *obj, const char *key, json_object *val)
{
	if (val && json_object_object_add(obj, key, val))
		json_object_put(val);
}

static void put_u64(json_object *obj, const char *key, uint64_t v)
{
	put(obj, key, json_object_new_uint64(v));
}

static void put_str(json_object *obj, const char *key, const char *s)
{
	put(obj, key, json_object_new_string(s ? s : ""));
}

json_object *ctl_hist_to_json(const struct stats_hist_snap *s)
{
	json_object *obj = json_object_new_object();
	json_object *buckets = json_object_new_array();

	if (!obj || !buckets) {
		json_object_put(obj);
		json_object_put(buckets);
		return NULL;
	}
	put_u64(obj, "count", s->count);
	put_u64(obj, "sum_ns", s->sum_ns);
	put_u64(obj, "max_ns", s->max_ns);
	put_u64(obj, "p50_ns", stats_hist_quantile(s, 0.5));
	put_u64(obj, "p90_ns", stats_hist_quantile(s, 0.9));
	put_u64(obj, "p99_ns", stats_hist_quantile(s, 0.99));
	put_u64(obj, "p999_ns", stats_hist_quantile(s, 0.999));
	for (unsigned b = 0; b < STATS_HIST_BUCKETS; b++) {
		json_object *pair;

		if (!s->bucket[b])
			continue;
		pair = json_object_new_array_ext(2);
		if (!pair)
			continue;
		json_object_array_add(pair, json_object_new_uint64(stats_hist_bucket_top(b)));
		json_object_array_add(pair, json_object_new_uint64(s->bucket[b]));
		json_object_array_add(buckets, pair);
	}
	put(obj, "buckets", buckets);
	return obj;
}

static bool is_uint(json_object *v)
{
	return v && json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0;
}

int ctl_hist_from_json(json_object *obj, struct stats_hist_snap *s)
{
	json_object *buckets;
	size_t n;

	memset(s, 0, sizeof(*s));
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "buckets", &buckets) ||
	    !json_object_is_type(buckets, json_type_array))
		return -1;
	s->count = ctl_json_u64(obj, "count");
	s->sum_ns = ctl_json_u64(obj, "sum_ns");
	s->max_ns = ctl_json_u64(obj, "max_ns");
	n = json_object_array_length(buckets);
	for (size_t i = 0; i < n; i++) {
		json_object *pair = json_object_array_get_idx(buckets, i), *le, *count;

		if (!json_object_is_type(pair, json_type_array) ||
		    json_object_array_length(pair) != 2)
			return -1;
		le = json_object_array_get_idx(pair, 0);
		count = json_object_array_get_idx(pair, 1);
		if (!is_uint(le) || !is_uint(count))
			return -1;
		s->bucket[stats_hist_bucket(json_object_get_uint64(le))] +=
			json_object_get_uint64(count);
	}
	return 0;
}

json_object *ctl_tenant_stats_to_json(const struct ctl_tenant_info *t,
				      const struct stats_io_snap *s, const unsigned *qids,
				      unsigned nr_qids)
{
	json_object *obj = json_object_new_object(), *errors, *nqs;
	char key[32];

	if (!obj)
		return NULL;
	put_str(obj, "name", t->spec.name);
	put_str(obj, "device", t->device);
	put_str(obj, "backend", t->spec.backend);
	put_str(obj, "class", conf_class_name(t->spec.cls));
	put_str(obj, "state", t->state);
	for (unsigned op = 0; op < IO_NR_OPS; op++) {
		snprintf(key, sizeof(key), "%s_ops", stats_op_name(op));
		put_u64(obj, key, s->ops[op]);
		if (op == IO_OP_FLUSH)
			continue; /* a flush moves no bytes */
		snprintf(key, sizeof(key), "%s_bytes", stats_op_name(op));
		put_u64(obj, key, s->bytes[op]);
	}
	put_u64(obj, "arrived", s->arrived);
	put_u64(obj, "completed", s->completed);
	put_u64(obj, "inflight", stats_io_inflight(s));
	errors = json_object_new_object();
	if (errors) {
		for (unsigned e = 0; e < STATS_NR_ERRS; e++)
			put_u64(errors, stats_err_name(e), s->errors[e]);
		put(obj, "errors", errors);
	}
	put_u64(obj, "throttled", s->throttled);
	put_u64(obj, "throttled_ns", s->throttled_ns);
	nqs = json_object_new_array();
	if (nqs) {
		for (unsigned i = 0; i < nr_qids; i++)
			json_object_array_add(nqs, json_object_new_int64(qids[i]));
		put(obj, "nqs", nqs);
	}
	put(obj, "queue_lat", ctl_hist_to_json(&s->queue_lat));
	put(obj, "dev_lat", ctl_hist_to_json(&s->dev_lat));
	return obj;
}

json_object *ctl_nq_stats_to_json(const struct ctl_nq_stats *n)
{
	json_object *obj = json_object_new_object();

	if (!obj)
		return NULL;
	put_str(obj, "backend", n->backend);
	put_str(obj, "namespace", n->ns);
	put_u64(obj, "index", n->index);
	put_u64(obj, "qid", n->qid);
	put_str(obj, "kind", n->poll ? "poll" : "default");
	put_str(obj, "group", n->group);
	put_str(obj, "cpus", n->cpus);
	put(obj, "submitter_cpu", json_object_new_int(n->submitter_cpu));
	put_u64(obj, "depth", n->depth);
	put_u64(obj, "inflight", n->inflight);
	put_u64(obj, "inflight_bytes", n->inflight_bytes);
	put_u64(obj, "cmds", n->cmds);
	put_u64(obj, "bytes", n->bytes);
	put_u64(obj, "direct", n->direct);
	put_u64(obj, "hopped", n->hopped);
	put(obj, "lat", ctl_hist_to_json(&n->lat));
	return obj;
}

json_object *ctl_worker_stats_to_json(const struct ctl_worker_stats *w)
{
	json_object *obj = json_object_new_object();

	if (!obj)
		return NULL;
	put_u64(obj, "index", w->index);
	put(obj, "cpu", json_object_new_int(w->cpu));
	put(obj, "tid", json_object_new_int(w->tid));
	put_u64(obj, "cpu_ns", w->cpu_ns);
	put_u64(obj, "ublk_ops", w->ublk_ops);
	put_u64(obj, "backend_ops", w->backend_ops);
	put_u64(obj, "returned", w->returned);
	put_u64(obj, "ring_enters", w->ring_enters);
	return obj;
}

json_object *ctl_sched_stats_to_json(const struct ctl_sched_stats *s)
{
	json_object *obj = json_object_new_object();

	if (!obj)
		return NULL;
	put_str(obj, "backend", s->backend);
	put_str(obj, "namespace", s->ns);
	put_str(obj, "mode", s->mode);
	put(obj, "latency_active", json_object_new_boolean(s->latency_active));
	put_u64(obj, "latency_target_us", s->latency_target_us);
	put_u64(obj, "latency_p99_us", s->latency_p99_us);
	put_str(obj, "target", s->target);
	put_u64(obj, "throughput_cap", s->throughput_cap);
	put_str(obj, "cap", s->cap_on ? "on" : "off");
	put_u64(obj, "cap_cuts", s->cap_cuts);
	put_u64(obj, "cap_fruitless", s->cap_fruitless);
	put_u64(obj, "cap_raises", s->cap_raises);
	return obj;
}

uint64_t ctl_json_u64(json_object *obj, const char *key)
{
	json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) || !is_uint(v))
		return 0;
	return json_object_get_uint64(v);
}

const char *ctl_json_str(json_object *obj, const char *key, const char *fallback)
{
	json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return fallback;
	return json_object_get_string(v);
}

json_object *ctl_slo_stats_to_json(const struct ctl_slo_stats *s)
{
	json_object *obj = json_object_new_object();

	if (!obj)
		return NULL;
	put(obj, "target_us", json_object_new_uint64(s->target_us));
	put(obj, "p99_us", json_object_new_uint64(s->p99_us));
	put(obj, "intervals", json_object_new_uint64(s->intervals));
	put(obj, "violations", json_object_new_uint64(s->violations));
	put(obj, "reserved_iops", json_object_new_uint64(s->reserved_iops));
	put(obj, "reserved_bw", json_object_new_uint64(s->reserved_bw));
	put(obj, "reserved_pct", json_object_new_double(s->reserved_pct));
	put(obj, "used_iops", json_object_new_uint64(s->used_iops));
	put(obj, "used_bw", json_object_new_uint64(s->used_bw));
	put(obj, "used_pct", json_object_new_double(s->used_pct));
	return obj;
}
