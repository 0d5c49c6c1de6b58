/* SPDX-License-Identifier: MIT */
/* ublk-ctl's views of a "stats" reply (see statsfmt.h). */
#include "ctl/statsfmt.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/units.h"
#include "ctl/stats_json.h"

#define NAME_LEN 64

struct sf_tenant {
	char name[NAME_LEN], device[NAME_LEN], backend[NAME_LEN], cls[16], state[16];
	char nqs[128]; /* "1,2" */
	uint64_t ops[IO_NR_OPS], bytes[IO_NR_OPS], errors[STATS_NR_ERRS];
	uint64_t arrived, completed, inflight, throttled, throttled_ns;
	struct stats_hist_snap q, d; /* queue time, device time */
	/* "slo" (stats/slo.h); all 0 from a daemon without it */
	uint64_t target_us, p99_us, intervals, violations;
	uint64_t resv_iops, resv_bw, used_iops, used_bw;
	double resv_pct, used_pct;
};

struct sf_nq {
	char backend[NAME_LEN], ns[NAME_LEN], kind[16], group[16], cpus[128];
	uint64_t index, qid, depth, inflight, inflight_bytes, cmds, bytes, direct, hopped;
	int submitter_cpu;
	struct stats_hist_snap lat;
};

struct sf_worker {
	uint64_t index, cpu_ns, ublk_ops, backend_ops, returned, ring_enters;
	int cpu, tid;
};

struct sf_sched {
	char backend[NAME_LEN], ns[NAME_LEN], mode[16], target[24], cap[8];
	bool latency_active;
	uint64_t target_us, p99_us, throughput_cap, cuts, fruitless, raises;
};

struct sf_snap {
	uint64_t time_ns;
	struct sf_tenant *t;
	struct sf_nq *q;
	struct sf_worker *w;
	struct sf_sched *s;
	size_t nt, nq, nw, ns;
};

/* ---- parsing ------------------------------------------------------------ */

static void copy_str(char *dst, size_t len, json_object *obj, const char *key)
{
	snprintf(dst, len, "%s", ctl_json_str(obj, key, ""));
}

static int64_t get_int(json_object *obj, const char *key, int64_t fallback)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
		return fallback;
	return json_object_get_int64(v);
}

static double get_double(json_object *obj, const char *key)
{
	json_object *v;

	if (!obj || !json_object_object_get_ex(obj, key, &v) ||
	    !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
		return 0;
	return json_object_get_double(v);
}

static void parse_slo(json_object *obj, struct sf_tenant *t)
{
	json_object *slo = NULL;

	json_object_object_get_ex(obj, "slo", &slo);
	t->target_us = ctl_json_u64(slo, "target_us");
	t->p99_us = ctl_json_u64(slo, "p99_us");
	t->intervals = ctl_json_u64(slo, "intervals");
	t->violations = ctl_json_u64(slo, "violations");
	t->resv_iops = ctl_json_u64(slo, "reserved_iops");
	t->resv_bw = ctl_json_u64(slo, "reserved_bw");
	t->used_iops = ctl_json_u64(slo, "used_iops");
	t->used_bw = ctl_json_u64(slo, "used_bw");
	t->resv_pct = get_double(slo, "reserved_pct");
	t->used_pct = get_double(slo, "used_pct");
}

static int parse_hist(json_object *obj, const char *key, struct stats_hist_snap *h)
{
	json_object *v;

	return json_object_object_get_ex(obj, key, &v) ? ctl_hist_from_json(v, h) : -1;
}

static void parse_nq_list(json_object *arr, char *buf, size_t len)
{
	size_t used = 0, n = arr && json_object_is_type(arr, json_type_array) ?
			    json_object_array_length(arr) : 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used + 12 < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%" PRId64, i ? "," : "",
					 json_object_get_int64(json_object_array_get_idx(arr, i)));
}

static int parse_tenant(json_object *obj, struct sf_tenant *t)
{
	json_object *errors = NULL, *nqs = NULL;
	char key[32];

	if (!json_object_is_type(obj, json_type_object) || !ctl_json_str(obj, "name", NULL))
		return -1;
	copy_str(t->name, sizeof(t->name), obj, "name");
	copy_str(t->device, sizeof(t->device), obj, "device");
	copy_str(t->backend, sizeof(t->backend), obj, "backend");
	copy_str(t->cls, sizeof(t->cls), obj, "class");
	copy_str(t->state, sizeof(t->state), obj, "state");
	for (unsigned op = 0; op < IO_NR_OPS; op++) {
		snprintf(key, sizeof(key), "%s_ops", stats_op_name(op));
		t->ops[op] = ctl_json_u64(obj, key);
		snprintf(key, sizeof(key), "%s_bytes", stats_op_name(op));
		t->bytes[op] = ctl_json_u64(obj, key);
	}
	json_object_object_get_ex(obj, "errors", &errors);
	for (unsigned e = 0; e < STATS_NR_ERRS; e++)
		t->errors[e] = ctl_json_u64(errors, stats_err_name(e));
	t->arrived = ctl_json_u64(obj, "arrived");
	t->completed = ctl_json_u64(obj, "completed");
	t->inflight = ctl_json_u64(obj, "inflight");
	t->throttled = ctl_json_u64(obj, "throttled");
	t->throttled_ns = ctl_json_u64(obj, "throttled_ns");
	json_object_object_get_ex(obj, "nqs", &nqs);
	parse_nq_list(nqs, t->nqs, sizeof(t->nqs));
	parse_slo(obj, t);
	return parse_hist(obj, "queue_lat", &t->q) || parse_hist(obj, "dev_lat", &t->d) ? -1 : 0;
}

static int parse_nq(json_object *obj, struct sf_nq *q)
{
	if (!json_object_is_type(obj, json_type_object))
		return -1;
	copy_str(q->backend, sizeof(q->backend), obj, "backend");
	copy_str(q->ns, sizeof(q->ns), obj, "namespace");
	copy_str(q->kind, sizeof(q->kind), obj, "kind");
	copy_str(q->group, sizeof(q->group), obj, "group");
	copy_str(q->cpus, sizeof(q->cpus), obj, "cpus");
	q->index = ctl_json_u64(obj, "index");
	q->qid = ctl_json_u64(obj, "qid");
	q->depth = ctl_json_u64(obj, "depth");
	q->inflight = ctl_json_u64(obj, "inflight");
	q->inflight_bytes = ctl_json_u64(obj, "inflight_bytes");
	q->cmds = ctl_json_u64(obj, "cmds");
	q->bytes = ctl_json_u64(obj, "bytes");
	q->direct = ctl_json_u64(obj, "direct");
	q->hopped = ctl_json_u64(obj, "hopped");
	q->submitter_cpu = (int)get_int(obj, "submitter_cpu", -1);
	return parse_hist(obj, "lat", &q->lat);
}

static int parse_worker(json_object *obj, struct sf_worker *w)
{
	if (!json_object_is_type(obj, json_type_object))
		return -1;
	w->index = ctl_json_u64(obj, "index");
	w->cpu = (int)get_int(obj, "cpu", -1);
	w->tid = (int)get_int(obj, "tid", 0);
	w->cpu_ns = ctl_json_u64(obj, "cpu_ns");
	w->ublk_ops = ctl_json_u64(obj, "ublk_ops");
	w->backend_ops = ctl_json_u64(obj, "backend_ops");
	w->returned = ctl_json_u64(obj, "returned");
	w->ring_enters = ctl_json_u64(obj, "ring_enters");
	return 0;
}

static int parse_sched(json_object *obj, struct sf_sched *s)
{
	json_object *v;

	if (!json_object_is_type(obj, json_type_object))
		return -1;
	copy_str(s->backend, sizeof(s->backend), obj, "backend");
	copy_str(s->ns, sizeof(s->ns), obj, "namespace");
	copy_str(s->mode, sizeof(s->mode), obj, "mode");
	copy_str(s->target, sizeof(s->target), obj, "target");
	copy_str(s->cap, sizeof(s->cap), obj, "cap");
	s->latency_active = json_object_object_get_ex(obj, "latency_active", &v) &&
			    json_object_get_boolean(v);
	s->target_us = ctl_json_u64(obj, "latency_target_us");
	s->p99_us = ctl_json_u64(obj, "latency_p99_us");
	s->throughput_cap = ctl_json_u64(obj, "throughput_cap");
	s->cuts = ctl_json_u64(obj, "cap_cuts");
	s->fruitless = ctl_json_u64(obj, "cap_fruitless");
	s->raises = ctl_json_u64(obj, "cap_raises");
	return 0;
}

/* arr under key (a missing one is empty), as n elements of size sz parsed by fn. */
static int parse_array(json_object *stats, const char *key, void **out, size_t *n, size_t sz,
		       int (*fn)(json_object *, void *))
{
	json_object *arr;

	*n = 0;
	*out = NULL;
	if (!json_object_object_get_ex(stats, key, &arr))
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return -1;
	*n = json_object_array_length(arr);
	*out = calloc(*n ? *n : 1, sz);
	if (!*out)
		return -1;
	for (size_t i = 0; i < *n; i++)
		if (fn(json_object_array_get_idx(arr, i), (char *)*out + i * sz))
			return -1;
	return 0;
}

static int parse_tenant_v(json_object *o, void *p) { return parse_tenant(o, p); }
static int parse_nq_v(json_object *o, void *p) { return parse_nq(o, p); }
static int parse_worker_v(json_object *o, void *p) { return parse_worker(o, p); }
static int parse_sched_v(json_object *o, void *p) { return parse_sched(o, p); }

struct sf_snap *sf_parse(json_object *stats, char *err, size_t errlen)
{
	struct sf_snap *s = calloc(1, sizeof(*s));
	const char *what = NULL;
	json_object *tenants;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!json_object_is_type(stats, json_type_object) || get_int(stats, "time_ns", -1) < 0)
		what = "no \"time_ns\"";
	else if (!json_object_object_get_ex(stats, "tenants", &tenants))
		what = "no \"tenants\"";
	else if (parse_array(stats, "tenants", (void **)&s->t, &s->nt, sizeof(*s->t),
			     parse_tenant_v))
		what = "bad \"tenants\"";
	else if (parse_array(stats, "nqs", (void **)&s->q, &s->nq, sizeof(*s->q), parse_nq_v))
		what = "bad \"nqs\"";
	else if (parse_array(stats, "workers", (void **)&s->w, &s->nw, sizeof(*s->w),
			     parse_worker_v))
		what = "bad \"workers\"";
	else if (parse_array(stats, "schedulers", (void **)&s->s, &s->ns, sizeof(*s->s),
			     parse_sched_v))
		what = "bad \"schedulers\"";
	if (what) {
		snprintf(err, errlen, "malformed reply from the daemon (stats: %s)", what);
		sf_free(s);
		return NULL;
	}
	s->time_ns = (uint64_t)get_int(stats, "time_ns", 0);
	return s;
}

void sf_free(struct sf_snap *s)
{
	if (!s)
		return;
	free(s->t);
	free(s->q);
	free(s->w);
	free(s->s);
	free(s);
}

/* ---- tables ------------------------------------------------------------- */

#define CELL 48
#define MAX_COLS 16

struct table {
	size_t ncols, nrows, cap;
	const char *const *hdr;
	unsigned left; /* bit i: column i is text, aligned left */
	char (*cell)[CELL];
};

static char *cell(struct table *t, size_t row, size_t col)
{
	return t->cell[row * t->ncols + col];
}

/* A new row, or NULL (out of memory: the row is left out). */
static size_t add_row(struct table *t)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		char (*grown)[CELL] = realloc(t->cell, cap * t->ncols * CELL);

		if (!grown)
			return SIZE_MAX;
		t->cell = grown;
		t->cap = cap;
	}
	memset(t->cell[t->nrows * t->ncols], 0, t->ncols * CELL);
	return t->nrows++;
}

static void put_cell(struct table *t, size_t row, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put_cell(struct table *t, size_t row, size_t col, const char *fmt, ...)
{
	va_list ap;

	if (row == SIZE_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(cell(t, row, col), CELL, fmt, ap);
	va_end(ap);
}

/* Print at most max_rows rows (0: all); returns the lines printed. */
static unsigned print_table(FILE *f, struct table *t, unsigned max_rows)
{
	size_t width[MAX_COLS], rows = t->nrows;

	if (max_rows && rows > max_rows)
		rows = max_rows;
	for (size_t c = 0; c < t->ncols; c++) {
		width[c] = strlen(t->hdr[c]);
		for (size_t r = 0; r < rows; r++)
			if (strlen(cell(t, r, c)) > width[c])
				width[c] = strlen(cell(t, r, c));
	}
	for (size_t r = 0; r <= rows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = r == 0 ? t->hdr[c] : cell(t, r - 1, c);
			bool last = c + 1 == t->ncols, left = (t->left >> c) & 1;

			if (left && last)
				fprintf(f, "%s", s);
			else
				fprintf(f, left ? "%-*s" : "%*s", (int)width[c], s);
			fputs(last ? "\n" : "  ", f);
		}
	}
	free(t->cell);
	t->cell = NULL;
	return (unsigned)rows + 1;
}

/* ---- value formats ------------------------------------------------------ */

static const char *lat(uint64_t ns, char *buf, size_t len)
{
	if (!ns)
		snprintf(buf, len, "-");
	else if (ns < 10000)
		snprintf(buf, len, "%.1fus", (double)ns / 1e3);
	else if (ns < 1000000)
		snprintf(buf, len, "%.0fus", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1fms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", (double)ns / 1e9);
	return buf;
}

static const char *size(uint64_t bytes, char *buf, size_t len)
{
	return format_size(bytes, buf, len);
}

static uint64_t sum_errors(const struct sf_tenant *t)
{
	uint64_t n = 0;

	for (unsigned e = 0; e < STATS_NR_ERRS; e++)
		n += t->errors[e];
	return n;
}

/* ---- stats -------------------------------------------------------------- */

static const char *const tenant_hdr[] = {
	"NAME", "CLASS", "READS", "WRITES", "READ", "WRITTEN", "INFL", "ERRORS", "THROTTLED",
	"Q-P99", "D-P50", "D-P99", "D-P99.9", "D-MAX", "NQS",
};

static void tenant_table(FILE *f, const struct sf_snap *s)
{
	struct table t = { .ncols = 15, .hdr = tenant_hdr, .left = 1u | 2u | 1u << 14 };
	char a[32], b[32];

	for (size_t i = 0; i < s->nt; i++) {
		const struct sf_tenant *x = &s->t[i];
		size_t r = add_row(&t);
		char l[5][16];

		put_cell(&t, r, 0, "%s", x->name);
		put_cell(&t, r, 1, "%s", x->cls);
		put_cell(&t, r, 2, "%" PRIu64, x->ops[IO_OP_READ]);
		put_cell(&t, r, 3, "%" PRIu64, x->ops[IO_OP_WRITE]);
		put_cell(&t, r, 4, "%s", size(x->bytes[IO_OP_READ], a, sizeof(a)));
		put_cell(&t, r, 5, "%s", size(x->bytes[IO_OP_WRITE], b, sizeof(b)));
		put_cell(&t, r, 6, "%" PRIu64, x->inflight);
		put_cell(&t, r, 7, "%" PRIu64, sum_errors(x));
		put_cell(&t, r, 8, "%" PRIu64 " / %s", x->throttled,
			 lat(x->throttled_ns, l[0], sizeof(l[0])));
		put_cell(&t, r, 9, "%s", lat(stats_hist_quantile(&x->q, 0.99), l[1], 16));
		put_cell(&t, r, 10, "%s", lat(stats_hist_quantile(&x->d, 0.5), l[2], 16));
		put_cell(&t, r, 11, "%s", lat(stats_hist_quantile(&x->d, 0.99), l[3], 16));
		put_cell(&t, r, 12, "%s", lat(stats_hist_quantile(&x->d, 0.999), l[4], 16));
		put_cell(&t, r, 13, "%s", lat(x->d.max_ns, l[0], 16));
		put_cell(&t, r, 14, "%s", x->nqs[0] ? x->nqs : "-");
	}
	print_table(f, &t, 0);
}

static bool has_slo(const struct sf_tenant *t)
{
	return t->target_us || t->resv_iops || t->resv_bw;
}

static const char *const slo_hdr[] = {
	"NAME", "TARGET", "P99-1S", "MISSED", "RESERVED", "RES-SHARE", "USED", "USED-SHARE",
};

/*
 * Tenants with a latency target or a reservation: the last second's p99
 * against the target, seconds that missed it of those judged, and what the
 * tenant reserved against what it used (IOPS + bytes/s, and the device's
 * share by the cost model).
 */
static void slo_table(FILE *f, const struct sf_snap *s)
{
	struct table t = { .ncols = 8, .hdr = slo_hdr, .left = 1u };
	char l1[16], l2[16], a[32], b[32];

	for (size_t i = 0; i < s->nt; i++) {
		const struct sf_tenant *x = &s->t[i];
		size_t r;

		if (!has_slo(x))
			continue;
		r = add_row(&t);
		put_cell(&t, r, 0, "%s", x->name);
		put_cell(&t, r, 1, "%s", lat(x->target_us * 1000, l1, sizeof(l1)));
		put_cell(&t, r, 2, "%s", lat(x->p99_us * 1000, l2, sizeof(l2)));
		put_cell(&t, r, 3, "%" PRIu64 "/%" PRIu64, x->violations, x->intervals);
		if (x->resv_iops || x->resv_bw)
			put_cell(&t, r, 4, "%" PRIu64 " IOPS + %s/s", x->resv_iops,
				 size(x->resv_bw, a, sizeof(a)));
		else
			put_cell(&t, r, 4, "-");
		put_cell(&t, r, 5, "%.1f%%", x->resv_pct);
		put_cell(&t, r, 6, "%" PRIu64 " IOPS %s/s", x->used_iops, size(x->used_bw, b, sizeof(b)));
		put_cell(&t, r, 7, "%.1f%%", x->used_pct);
	}
	if (!t.nrows) {
		free(t.cell);
		return;
	}
	fputc('\n', f);
	print_table(f, &t, 0);
}

/* Failed requests by kind, for tenants that have any. */
static void error_lines(FILE *f, const struct sf_snap *s)
{
	for (size_t i = 0; i < s->nt; i++) {
		if (!sum_errors(&s->t[i]))
			continue;
		fprintf(f, "errors of %s:", s->t[i].name);
		for (unsigned e = 0; e < STATS_NR_ERRS; e++)
			fprintf(f, " %s %" PRIu64, stats_err_name(e), s->t[i].errors[e]);
		fputc('\n', f);
	}
}

static const char *const worker_hdr[] = {
	"WORKER", "CPU", "TID", "CPU-TIME", "UBLK-OPS", "BACKEND-OPS", "RETURNED", "RING-ENTERS",
};

static void worker_table(FILE *f, const struct sf_snap *s)
{
	struct table t = { .ncols = 8, .hdr = worker_hdr };

	for (size_t i = 0; i < s->nw; i++) {
		const struct sf_worker *w = &s->w[i];
		size_t r = add_row(&t);

		put_cell(&t, r, 0, "%" PRIu64, w->index);
		put_cell(&t, r, 1, "%d", w->cpu);
		put_cell(&t, r, 2, "%d", w->tid);
		put_cell(&t, r, 3, "%.2fs", (double)w->cpu_ns / 1e9);
		put_cell(&t, r, 4, "%" PRIu64, w->ublk_ops);
		put_cell(&t, r, 5, "%" PRIu64, w->backend_ops);
		put_cell(&t, r, 6, "%" PRIu64, w->returned);
		put_cell(&t, r, 7, "%" PRIu64, w->ring_enters);
	}
	print_table(f, &t, 0);
}

static const char *const sched_hdr[] = {
	"BACKEND", "MODE", "L-ACTIVE", "L-P99", "TARGET", "VERDICT", "T-CAP", "CUTS", "FRUITLESS",
	"RAISES",
};

/* Per router: L's p99 against its target, and what the T cap does about it. */
static void sched_table(FILE *f, const struct sf_snap *s)
{
	struct table t = { .ncols = 10, .hdr = sched_hdr, .left = 1u | 2u | 4u | 32u };
	char a[32], l1[16], l2[16];

	for (size_t i = 0; i < s->ns; i++) {
		const struct sf_sched *c = &s->s[i];
		bool dd = strcmp(c->mode, "daredevil") == 0;
		size_t r = add_row(&t);

		put_cell(&t, r, 0, "%s", c->backend);
		put_cell(&t, r, 1, "%s", c->mode);
		put_cell(&t, r, 2, "%s", c->latency_active ? "yes" : "no");
		put_cell(&t, r, 3, "%s", dd && c->p99_us ? lat(c->p99_us * 1000, l1, sizeof(l1)) : "-");
		put_cell(&t, r, 4, "%s", lat(c->target_us * 1000, l2, sizeof(l2)));
		put_cell(&t, r, 5, "%s", dd ? c->target : "-");
		put_cell(&t, r, 6, "%s", !dd ? "-" : strcmp(c->cap, "on") ? "off" :
					size(c->throughput_cap, a, sizeof(a)));
		put_cell(&t, r, 7, "%" PRIu64, c->cuts);
		put_cell(&t, r, 8, "%" PRIu64, c->fruitless);
		put_cell(&t, r, 9, "%" PRIu64, c->raises);
	}
	print_table(f, &t, 0);
}

void sf_print_stats(FILE *f, const struct sf_snap *s)
{
	if (s->nt)
		tenant_table(f, s);
	else
		fputs("no tenants\n", f);
	error_lines(f, s);
	slo_table(f, s);
	if (s->nq) {
		fputc('\n', f);
		sf_print_nqs(f, s);
	}
	if (s->nw) {
		fputc('\n', f);
		worker_table(f, s);
	}
	if (s->ns) {
		fputc('\n', f);
		sched_table(f, s);
	}
}

static const char *const nq_hdr[] = {
	"BACKEND", "QID", "KIND", "GROUP", "CPUS", "SUBMITTER", "DEPTH", "INFL", "INFL-BYTES",
	"CMDS", "BYTES", "DIRECT", "HOPPED", "LAT-P50", "LAT-P99",
};

void sf_print_nqs(FILE *f, const struct sf_snap *s)
{
	struct table t = { .ncols = 15, .hdr = nq_hdr, .left = 1u | 4u | 8u | 16u };
	char a[32], b[32], l1[16], l2[16];

	if (!s->nq) {
		fputs("no NVMe queues (no NVMe passthrough backend with a router)\n", f);
		return;
	}
	for (size_t i = 0; i < s->nq; i++) {
		const struct sf_nq *q = &s->q[i];
		size_t r = add_row(&t);

		put_cell(&t, r, 0, "%s", q->backend);
		put_cell(&t, r, 1, "%" PRIu64, q->qid);
		put_cell(&t, r, 2, "%s", q->kind);
		put_cell(&t, r, 3, "%s", q->group);
		put_cell(&t, r, 4, "%s", q->cpus);
		put_cell(&t, r, 5, "%d", q->submitter_cpu);
		put_cell(&t, r, 6, "%" PRIu64, q->depth);
		put_cell(&t, r, 7, "%" PRIu64, q->inflight);
		put_cell(&t, r, 8, "%s", size(q->inflight_bytes, a, sizeof(a)));
		put_cell(&t, r, 9, "%" PRIu64, q->cmds);
		put_cell(&t, r, 10, "%s", size(q->bytes, b, sizeof(b)));
		put_cell(&t, r, 11, "%" PRIu64, q->direct);
		put_cell(&t, r, 12, "%" PRIu64, q->hopped);
		put_cell(&t, r, 13, "%s", lat(stats_hist_quantile(&q->lat, 0.5), l1, sizeof(l1)));
		put_cell(&t, r, 14, "%s", lat(stats_hist_quantile(&q->lat, 0.99), l2, sizeof(l2)));
	}
	print_table(f, &t, 0);
}

/* ---- Prometheus --------------------------------------------------------- */

/* Label values: backslash, double quote and newline escaped (names are tame, be safe). */
static void label(FILE *f, const char *key, const char *val, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", key);
	for (; *val; val++) {
		if (*val == '\\' || *val == '"')
			fputc('\\', f);
		if (*val == '\n')
			fputs("\\n", f);
		else
			fputc(*val, f);
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP ddublk_%s %s\n# TYPE ddublk_%s %s\n", name, help, name, type);
}

/* Bucket bounds in seconds: 10 µs .. 10 s, roughly 1-2.5-5 per decade. */
static const double le_s[] = {
	10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3,
	50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10,
};

static void histogram(FILE *f, const char *name, const char *labels,
		      const struct stats_hist_snap *h)
{
	uint64_t total = stats_hist_total(h);

	for (size_t i = 0; i < sizeof(le_s) / sizeof(le_s[0]); i++)
		fprintf(f, "ddublk_%s_bucket{%s,le=\"%g\"} %" PRIu64 "\n", name, labels, le_s[i],
			stats_hist_count_le(h, (uint64_t)(le_s[i] * 1e9 + 0.5)));
	fprintf(f, "ddublk_%s_bucket{%s,le=\"+Inf\"} %" PRIu64 "\n", name, labels, total);
	fprintf(f, "ddublk_%s_sum{%s} %.9f\n", name, labels, (double)h->sum_ns / 1e9);
	fprintf(f, "ddublk_%s_count{%s} %" PRIu64 "\n", name, labels, total);
}

/* The labels of tenant i, as text for the histogram lines. */
static void tenant_labels(const struct sf_tenant *t, char *buf, size_t len)
{
	FILE *m = fmemopen(buf, len, "w");

	buf[0] = '\0';
	if (!m)
		return;
	label(m, "tenant", t->name, true);
	fclose(m);
}

static void prom_tenants(FILE *f, const struct sf_snap *s)
{
	char l[256];

	family(f, "tenant_info", "gauge", "Tenant devices: 1 per tenant, with its device, "
	       "backend, class and state.");
	for (size_t i = 0; i < s->nt; i++) {
		fputs("ddublk_tenant_info{", f);
		label(f, "tenant", s->t[i].name, true);
		label(f, "device", s->t[i].device, false);
		label(f, "backend", s->t[i].backend, false);
		label(f, "class", s->t[i].cls, false);
		label(f, "state", s->t[i].state, false);
		fputs("} 1\n", f);
	}
	family(f, "tenant_requests_total", "counter", "Requests completed without error, by op.");
	for (size_t i = 0; i < s->nt; i++)
		for (unsigned op = 0; op < IO_NR_OPS; op++) {
			tenant_labels(&s->t[i], l, sizeof(l));
			fprintf(f, "ddublk_tenant_requests_total{%s,op=\"%s\"} %" PRIu64 "\n", l,
				stats_op_name(op), s->t[i].ops[op]);
		}
	family(f, "tenant_bytes_total", "counter", "Bytes read, written, discarded or zeroed.");
	for (size_t i = 0; i < s->nt; i++)
		for (unsigned op = 0; op < IO_NR_OPS; op++) {
			if (op == IO_OP_FLUSH)
				continue;
			tenant_labels(&s->t[i], l, sizeof(l));
			fprintf(f, "ddublk_tenant_bytes_total{%s,op=\"%s\"} %" PRIu64 "\n", l,
				stats_op_name(op), s->t[i].bytes[op]);
		}
	family(f, "tenant_errors_total", "counter", "Requests failed, by kind.");
	for (size_t i = 0; i < s->nt; i++)
		for (unsigned e = 0; e < STATS_NR_ERRS; e++) {
			tenant_labels(&s->t[i], l, sizeof(l));
			fprintf(f, "ddublk_tenant_errors_total{%s,kind=\"%s\"} %" PRIu64 "\n", l,
				stats_err_name(e), s->t[i].errors[e]);
		}
	family(f, "tenant_inflight", "gauge", "Requests received and not yet answered.");
	for (size_t i = 0; i < s->nt; i++) {
		tenant_labels(&s->t[i], l, sizeof(l));
		fprintf(f, "ddublk_tenant_inflight{%s} %" PRIu64 "\n", l, s->t[i].inflight);
	}
	family(f, "tenant_throttled_total", "counter", "Requests held back by QoS limits.");
	for (size_t i = 0; i < s->nt; i++) {
		tenant_labels(&s->t[i], l, sizeof(l));
		fprintf(f, "ddublk_tenant_throttled_total{%s} %" PRIu64 "\n", l, s->t[i].throttled);
	}
	family(f, "tenant_throttled_seconds_total", "counter",
	       "Time requests spent held back by QoS limits, summed over requests.");
	for (size_t i = 0; i < s->nt; i++) {
		tenant_labels(&s->t[i], l, sizeof(l));
		fprintf(f, "ddublk_tenant_throttled_seconds_total{%s} %.9f\n", l,
			(double)s->t[i].throttled_ns / 1e9);
	}
	family(f, "tenant_queue_latency_seconds", "histogram",
	       "From arrival to submission to the backend (QoS, sharing, NVMe queue wait).");
	for (size_t i = 0; i < s->nt; i++) {
		tenant_labels(&s->t[i], l, sizeof(l));
		histogram(f, "tenant_queue_latency_seconds", l, &s->t[i].q);
	}
	family(f, "tenant_latency_target_seconds", "gauge",
	       "The tenant's p99 latency target (its own, or the scheduler's for a latency tenant).");
	for (size_t i = 0; i < s->nt; i++) {
		if (!s->t[i].target_us)
			continue;
		tenant_labels(&s->t[i], l, sizeof(l));
		fprintf(f, "ddublk_tenant_latency_target_seconds{%s} %.6f\n", l,
			(double)s->t[i].target_us / 1e6);
	}
	family(f, "tenant_latency_p99_last_second_seconds", "gauge",
	       "p99 from arrival to the backend's answer, over the last whole second.");
	for (size_t i = 0; i < s->nt; i++) {
		tenant_labels(&s->t[i], l, sizeof(l));
		fprintf(f, "ddublk_tenant_latency_p99_last_second_seconds{%s} %.6f\n", l,
			(double)s->t[i].p99_us / 1e6);
	}
	family(f, "tenant_slo_seconds_total", "counter",
	       "Seconds with I/O judged against the tenant's latency target.");
	for (size_t i = 0; i < s->nt; i++) {
		if (!s->t[i].target_us)
			continue;
		tenant_labels(&s->t[i], l, sizeof(l));
		fprintf(f, "ddublk_tenant_slo_seconds_total{%s} %" PRIu64 "\n", l, s->t[i].intervals);
	}
	family(f, "tenant_slo_violations_total", "counter",
	       "Seconds whose p99 was above the tenant's latency target.");
	for (size_t i = 0; i < s->nt; i++) {
		if (!s->t[i].target_us)
			continue;
		tenant_labels(&s->t[i], l, sizeof(l));
		fprintf(f, "ddublk_tenant_slo_violations_total{%s} %" PRIu64 "\n", l,
			s->t[i].violations);
	}
	family(f, "tenant_device_share", "gauge",
	       "Share of the device (0-1, by the cost model): reserved, and used in the last second.");
	for (size_t i = 0; i < s->nt; i++) {
		tenant_labels(&s->t[i], l, sizeof(l));
		fprintf(f, "ddublk_tenant_device_share{%s,kind=\"reserved\"} %.4f\n", l,
			s->t[i].resv_pct / 100);
		fprintf(f, "ddublk_tenant_device_share{%s,kind=\"used\"} %.4f\n", l,
			s->t[i].used_pct / 100);
	}
	family(f, "tenant_device_latency_seconds", "histogram",
	       "From submission to the backend to its completion.");
	for (size_t i = 0; i < s->nt; i++) {
		tenant_labels(&s->t[i], l, sizeof(l));
		histogram(f, "tenant_device_latency_seconds", l, &s->t[i].d);
	}
}

static void nq_labels(const struct sf_nq *q, char *buf, size_t len)
{
	FILE *m = fmemopen(buf, len, "w");

	buf[0] = '\0';
	if (!m)
		return;
	label(m, "backend", q->backend, true);
	fprintf(m, ",qid=\"%" PRIu64 "\"", q->qid);
	fclose(m);
}

static void prom_nqs(FILE *f, const struct sf_snap *s)
{
	char l[256];

	if (!s->nq)
		return;
	family(f, "nq_info", "gauge", "NVMe queues the router uses: kind, group, CPUs.");
	for (size_t i = 0; i < s->nq; i++) {
		nq_labels(&s->q[i], l, sizeof(l));
		fprintf(f, "ddublk_nq_info{%s", l);
		label(f, "kind", s->q[i].kind, false);
		label(f, "group", s->q[i].group, false);
		label(f, "cpus", s->q[i].cpus, false);
		fputs("} 1\n", f);
	}
#define NQ_GAUGE(name, type, help, field)                                                   \
	family(f, name, type, help);                                                        \
	for (size_t i = 0; i < s->nq; i++) {                                                \
		nq_labels(&s->q[i], l, sizeof(l));                                          \
		fprintf(f, "ddublk_" name "{%s} %" PRIu64 "\n", l, s->q[i].field);          \
	}
	NQ_GAUGE("nq_depth", "gauge", "Commands the scheduler allows in flight.", depth)
	NQ_GAUGE("nq_inflight", "gauge", "Commands in flight.", inflight)
	NQ_GAUGE("nq_commands_total", "counter", "Requests sent to the queue.", cmds)
	NQ_GAUGE("nq_bytes_total", "counter", "Data bytes of the requests sent.", bytes)
#undef NQ_GAUGE
	family(f, "nq_latency_seconds", "histogram", "From sending to completion.");
	for (size_t i = 0; i < s->nq; i++) {
		nq_labels(&s->q[i], l, sizeof(l));
		histogram(f, "nq_latency_seconds", l, &s->q[i].lat);
	}
}

static void prom_workers(FILE *f, const struct sf_snap *s)
{
	if (!s->nw)
		return;
	family(f, "worker_cpu_seconds_total", "counter", "CPU time of the I/O worker thread.");
	for (size_t i = 0; i < s->nw; i++)
		fprintf(f, "ddublk_worker_cpu_seconds_total{worker=\"%" PRIu64 "\",cpu=\"%d\"} %.9f\n",
			s->w[i].index, s->w[i].cpu, (double)s->w[i].cpu_ns / 1e9);
	family(f, "worker_ublk_requests_total", "counter", "Requests received from ublk.");
	for (size_t i = 0; i < s->nw; i++)
		fprintf(f, "ddublk_worker_ublk_requests_total{worker=\"%" PRIu64 "\"} %" PRIu64 "\n",
			s->w[i].index, s->w[i].ublk_ops);
	family(f, "worker_backend_completions_total", "counter",
	       "Backend (NVMe or file) completions reaped on the worker's ring.");
	for (size_t i = 0; i < s->nw; i++)
		fprintf(f, "ddublk_worker_backend_completions_total{worker=\"%" PRIu64 "\"} %" PRIu64
			"\n", s->w[i].index, s->w[i].backend_ops);
	family(f, "worker_ring_enters_total", "counter",
	       "io_uring_enter system calls of the worker thread.");
	for (size_t i = 0; i < s->nw; i++)
		fprintf(f, "ddublk_worker_ring_enters_total{worker=\"%" PRIu64 "\"} %" PRIu64 "\n",
			s->w[i].index, s->w[i].ring_enters);
}

enum sched_gauge { G_P99, G_TARGET, G_MET, G_CAP, NR_SCHED_GAUGES };

static const char *const sched_gauge[NR_SCHED_GAUGES][2] = {
	[G_P99] = { "sched_latency_p99_seconds",
		    "Latency tenants' p99 in the scheduler's last full window." },
	[G_TARGET] = { "sched_latency_target_seconds", "Latency tenants' p99 target." },
	[G_MET] = { "sched_target_met",
		    "1 while the latency target is met (or not judged yet), else 0." },
	[G_CAP] = { "sched_throughput_cap_bytes",
		    "Throughput tenants' bytes in flight allowed while latency tenants are "
		    "active; 0: no cap." },
};

static void prom_sched_value(FILE *f, const struct sf_sched *c, enum sched_gauge g)
{
	switch (g) {
	case G_P99:
		fprintf(f, "%.6f\n", (double)c->p99_us / 1e6);
		break;
	case G_TARGET:
		fprintf(f, "%.6f\n", (double)c->target_us / 1e6);
		break;
	case G_MET:
		fprintf(f, "%d\n", strcmp(c->target, "met") == 0);
		break;
	default:
		fprintf(f, "%" PRIu64 "\n", strcmp(c->cap, "on") ? 0 : c->throughput_cap);
		break;
	}
}

static void prom_scheds(FILE *f, const struct sf_snap *s)
{
	for (unsigned g = 0; s->ns && g < NR_SCHED_GAUGES; g++) {
		family(f, sched_gauge[g][0], "gauge", sched_gauge[g][1]);
		for (size_t i = 0; i < s->ns; i++) {
			fprintf(f, "ddublk_%s{", sched_gauge[g][0]);
			label(f, "backend", s->s[i].backend, true);
			label(f, "mode", s->s[i].mode, false);
			fputs("} ", f);
			prom_sched_value(f, &s->s[i], (enum sched_gauge)g);
		}
	}
}

void sf_print_prometheus(FILE *f, const struct sf_snap *s)
{
	prom_tenants(f, s);
	prom_nqs(f, s);
	prom_workers(f, s);
	prom_scheds(f, s);
}

/* ---- top ---------------------------------------------------------------- */

enum sort_col {
	SORT_IOPS, SORT_RIOPS, SORT_WIOPS, SORT_BW, SORT_RBW, SORT_WBW, SORT_INFLIGHT,
	SORT_P99, SORT_QP99, SORT_ERRORS, SORT_THROTTLED, SORT_NAME, NR_SORT,
};

static const char *const sort_names[NR_SORT] = {
	"iops", "riops", "wiops", "bw", "rbw", "wbw", "inflight", "p99", "qp99", "errors",
	"throttled", "name",
};

int sf_sort_column(const char *name)
{
	for (int i = 0; i < NR_SORT; i++)
		if (strcmp(sort_names[i], name) == 0)
			return i;
	return -1;
}

const char *sf_sort_columns(void)
{
	return "iops, riops, wiops, bw, rbw, wbw, inflight, p99, qp99, errors, throttled, name";
}

/* One tenant over the interval. */
struct rate {
	const struct sf_tenant *t;
	double v[NR_SORT - 1]; /* per second, or ns for the latencies, or a count */
	uint64_t qp99, p50, p99;
};

static const struct sf_tenant *find_tenant(const struct sf_snap *s, const char *name)
{
	for (size_t i = 0; i < s->nt; i++)
		if (strcmp(s->t[i].name, name) == 0)
			return &s->t[i];
	return NULL;
}

static double per_s(uint64_t now, uint64_t before, double secs)
{
	return now > before ? (double)(now - before) / secs : 0;
}

static void tenant_rate(const struct sf_tenant *b, const struct sf_tenant *a, double secs,
			struct rate *r, struct stats_hist_snap *tmp)
{
	static const struct sf_tenant zero;

	if (!a)
		a = &zero; /* new since the last frame: everything is recent */
	r->t = b;
	r->v[SORT_RIOPS] = per_s(b->ops[IO_OP_READ], a->ops[IO_OP_READ], secs);
	r->v[SORT_WIOPS] = per_s(b->ops[IO_OP_WRITE], a->ops[IO_OP_WRITE], secs);
	r->v[SORT_IOPS] = per_s(b->completed, a->completed, secs);
	r->v[SORT_RBW] = per_s(b->bytes[IO_OP_READ], a->bytes[IO_OP_READ], secs);
	r->v[SORT_WBW] = per_s(b->bytes[IO_OP_WRITE], a->bytes[IO_OP_WRITE], secs);
	r->v[SORT_BW] = r->v[SORT_RBW] + r->v[SORT_WBW];
	r->v[SORT_INFLIGHT] = (double)b->inflight;
	r->v[SORT_ERRORS] = per_s(sum_errors(b), sum_errors(a), secs);
	r->v[SORT_THROTTLED] = per_s(b->throttled, a->throttled, secs);
	stats_hist_snap_delta(tmp, &b->d, &a->d);
	r->p50 = stats_hist_quantile(tmp, 0.5);
	r->p99 = stats_hist_quantile(tmp, 0.99);
	/* an interval's max is unknown: the quantile is capped by the lifetime max */
	r->v[SORT_P99] = (double)r->p99;
	stats_hist_snap_delta(tmp, &b->q, &a->q);
	r->qp99 = stats_hist_quantile(tmp, 0.99);
	r->v[SORT_QP99] = (double)r->qp99;
}

static int cmp_rate(const void *x, const void *y, void *ctx)
{
	const struct rate *a = x, *b = y;
	int sort_by = *(const int *)ctx;

	if (sort_by == SORT_NAME || a->v[sort_by] == b->v[sort_by])
		return strcmp(a->t->name, b->t->name);
	return a->v[sort_by] < b->v[sort_by] ? 1 : -1;
}

static const char *const top_hdr[] = {
	"NAME", "CLASS", "R/s", "W/s", "RMB/s", "WMB/s", "INFL", "Q-P99", "D-P50", "D-P99",
	"ERR/s", "THR/s", "NQS",
};

static unsigned top_tenants(FILE *f, const struct sf_snap *a, const struct sf_snap *b,
			    double secs, int sort, unsigned max_rows)
{
	struct table t = { .ncols = 13, .hdr = top_hdr, .left = 1u | 2u | 1u << 12 };
	struct stats_hist_snap *tmp = malloc(sizeof(*tmp));
	struct rate *r = calloc(b->nt ? b->nt : 1, sizeof(*r));
	char l[3][16];

	if (!tmp || !r) {
		free(tmp);
		free(r);
		return 0;
	}
	for (size_t i = 0; i < b->nt; i++)
		tenant_rate(&b->t[i], find_tenant(a, b->t[i].name), secs, &r[i], tmp);
	qsort_r(r, b->nt, sizeof(*r), cmp_rate, &sort);
	for (size_t i = 0; i < b->nt; i++) {
		size_t row = add_row(&t);

		put_cell(&t, row, 0, "%s", r[i].t->name);
		put_cell(&t, row, 1, "%s", r[i].t->cls);
		put_cell(&t, row, 2, "%.0f", r[i].v[SORT_RIOPS]);
		put_cell(&t, row, 3, "%.0f", r[i].v[SORT_WIOPS]);
		put_cell(&t, row, 4, "%.1f", r[i].v[SORT_RBW] / 1e6);
		put_cell(&t, row, 5, "%.1f", r[i].v[SORT_WBW] / 1e6);
		put_cell(&t, row, 6, "%.0f", r[i].v[SORT_INFLIGHT]);
		put_cell(&t, row, 7, "%s", lat(r[i].qp99, l[0], sizeof(l[0])));
		put_cell(&t, row, 8, "%s", lat(r[i].p50, l[1], sizeof(l[1])));
		put_cell(&t, row, 9, "%s", lat(r[i].p99, l[2], sizeof(l[2])));
		put_cell(&t, row, 10, "%.0f", r[i].v[SORT_ERRORS]);
		put_cell(&t, row, 11, "%.0f", r[i].v[SORT_THROTTLED]);
		put_cell(&t, row, 12, "%s", r[i].t->nqs[0] ? r[i].t->nqs : "-");
	}
	free(tmp);
	free(r);
	return print_table(f, &t, max_rows);
}

static const struct sf_nq *find_nq(const struct sf_snap *s, const struct sf_nq *q)
{
	for (size_t i = 0; i < s->nq; i++)
		if (s->q[i].qid == q->qid && strcmp(s->q[i].backend, q->backend) == 0)
			return &s->q[i];
	return NULL;
}

static const char *const top_nq_hdr[] = {
	"BACKEND", "QID", "KIND", "GROUP", "CPUS", "INFL", "CMD/s", "MB/s", "LAT-P50", "LAT-P99",
};

static unsigned top_nqs(FILE *f, const struct sf_snap *a, const struct sf_snap *b, double secs,
			unsigned max_rows)
{
	struct table t = { .ncols = 10, .hdr = top_nq_hdr, .left = 1u | 4u | 8u | 16u };
	struct stats_hist_snap *tmp = malloc(sizeof(*tmp));
	char l1[16], l2[16];

	if (!tmp)
		return 0;
	for (size_t i = 0; i < b->nq; i++) {
		static const struct sf_nq zero;
		const struct sf_nq *q = &b->q[i], *p = find_nq(a, q);
		size_t r = add_row(&t);

		if (!p)
			p = &zero;
		stats_hist_snap_delta(tmp, &q->lat, &p->lat);
		put_cell(&t, r, 0, "%s", q->backend);
		put_cell(&t, r, 1, "%" PRIu64, q->qid);
		put_cell(&t, r, 2, "%s", q->kind);
		put_cell(&t, r, 3, "%s", q->group);
		put_cell(&t, r, 4, "%s", q->cpus);
		put_cell(&t, r, 5, "%" PRIu64, q->inflight);
		put_cell(&t, r, 6, "%.0f", per_s(q->cmds, p->cmds, secs));
		put_cell(&t, r, 7, "%.1f", per_s(q->bytes, p->bytes, secs) / 1e6);
		put_cell(&t, r, 8, "%s", lat(stats_hist_quantile(tmp, 0.5), l1, sizeof(l1)));
		put_cell(&t, r, 9, "%s", lat(stats_hist_quantile(tmp, 0.99), l2, sizeof(l2)));
	}
	free(tmp);
	return print_table(f, &t, max_rows);
}

/* Up to this many workers get a cell each on top's workers line; more, a summary. */
#define TOP_WORKER_CELLS 4

static void top_workers(FILE *f, const struct sf_snap *a, const struct sf_snap *b, double secs)
{
	double cpu = 0, ublk = 0, backend = 0, busiest = -1;
	const struct sf_worker *top = NULL;

	fputs("workers:", f);
	for (size_t i = 0; i < b->nw; i++) {
		const struct sf_worker *w = &b->w[i];
		const struct sf_worker *p = i < a->nw && a->w[i].index == w->index ? &a->w[i] : w;
		double c = per_s(w->cpu_ns, p->cpu_ns, secs) / 1e7; /* percent of a CPU */
		double u = per_s(w->ublk_ops, p->ublk_ops, secs);
		double be = per_s(w->backend_ops, p->backend_ops, secs);

		if (b->nw <= TOP_WORKER_CELLS)
			fprintf(f, "  w%" PRIu64 "@cpu%d %.0f%% cpu %.0f ublk/s %.0f backend/s",
				w->index, w->cpu, c, u, be);
		cpu += c;
		ublk += u;
		backend += be;
		if (c > busiest) {
			busiest = c;
			top = w;
		}
	}
	/* One line whatever the machine: 64 workers would not fit a terminal. */
	if (b->nw > TOP_WORKER_CELLS)
		fprintf(f, " %zu, %.0f%% cpu in all (busiest w%" PRIu64 "@cpu%d %.0f%%), %.0f ublk/s, "
			"%.0f backend/s", b->nw, cpu, top->index, top->cpu, busiest, ublk, backend);
	fputc('\n', f);
}

void sf_print_top(FILE *f, const struct sf_snap *prev, const struct sf_snap *cur,
		  const struct sf_frame_opts *o)
{
	double secs = cur->time_ns > prev->time_ns ? (double)(cur->time_ns - prev->time_ns) / 1e9 :
						       1.0;
	/* On a terminal: title, tenants, blank + NQs, workers, in the window's lines. */
	unsigned avail = o->tty && o->max_lines > 8 ? o->max_lines - 3 - (cur->nq ? 2 : 0) : 0;
	unsigned t_rows = 0, q_rows = 0;

	if (avail) { /* tenants first; the NQs get what is left, at least one row each */
		t_rows = cur->nt < avail - 1 ? (unsigned)cur->nt : avail - 1;
		q_rows = avail - t_rows;
		if (!t_rows)
			t_rows = 1;
	}
	if (o->tty)
		fputs("\033[H\033[2J", f); /* home, clear: any terminal, over ssh too */
	fprintf(f, "ddublk top  %s  interval %.1fs  %zu tenant(s)  sort %s\n", o->when, secs,
		cur->nt, sort_names[o->sort]);
	top_tenants(f, prev, cur, secs, o->sort, t_rows);
	if (cur->nq) {
		fputc('\n', f);
		top_nqs(f, prev, cur, secs, q_rows);
	}
	if (cur->nw)
		top_workers(f, prev, cur, secs);
	if (!o->tty)
		fputc('\n', f); /* one block per interval */
	fflush(f);
}
