/* SPDX-License-Identifier: MIT */
/*
 * One simulated run (see sim.h). The only events are units finishing
 * commands: a completion goes back through the scheduler, its job issues
 * the next request at the same instant, the scheduler dispatches what may
 * go, and idle units fetch. Nothing else happens between two completions.
 */
#include "tests/sim/sim.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define SIM_DEFAULT_NQS 64 /* the test VM's controller: max_ioqpairs=64 */
#define SIM_DEFAULT_POLL_NQS 32
#define SIM_DEFAULT_DEPTH 1023 /* nvme io_queue_depth=1024, less one slot */
#define NS_PER_SEC 1000000000ULL

struct job {
	unsigned tenant, cpu;
	bool latency;
	enum io_op op;
	uint32_t bytes;
	uint64_t issued; /* requests so far: picks the next one's op in a mix */
};

struct io {
	struct sched_req sr;
	struct ssd_cmd cmd;
	struct job *job;
	uint64_t issue_ns;
	uint32_t data; /* bytes it moves (T bandwidth counts them) */
};

#define io_of(ptr, member) ((struct io *)((char *)(ptr) - offsetof(struct io, member)))

struct samples {
	uint64_t *v;
	size_t nr, cap;
};

/* What a T job's request k does in the percentage mix (sim_cfg.t_fua_pct): slot k % 100. */
enum t_slot { T_SLOT_PLAIN, T_SLOT_FUA, T_SLOT_FLUSH };

#define T_MIX_PERIOD 100

struct run {
	const struct sim_cfg *cfg;
	uint8_t t_mix[T_MIX_PERIOD]; /* enum t_slot; all PLAIN without a T mix */
	struct sched *s;
	struct ssd d;
	struct job *jobs;
	struct io *ios;
	struct samples lat;
	uint64_t t_bytes, t_ios;
	uint64_t t0_bytes; /* the first T job's */
	uint64_t t_cmds, t_fua_cmds, t_flush_cmds;
	uint64_t over_depth;
};

/*
 * The cost model of the model SSD: 4 KiB of either direction takes
 * a + 4 b of one of K units, and bytes flow at K / b.
 */
static void sim_cost_model(const struct ssd_cfg *d, struct cost_model *m)
{
	uint64_t iops = NS_PER_SEC * d->units / ssd_service_ns(d, 4096);
	uint64_t bw = 1024ULL * NS_PER_SEC * d->units / d->ns_per_kib;

	*m = (struct cost_model){ .read_iops = iops, .read_bw = bw, .write_iops = iops,
				  .write_bw = bw };
}

void sim_cfg_default(struct sim_cfg *c, enum conf_sched_mode mode, unsigned cpus,
		     unsigned t_jobs)
{
	memset(c, 0, sizeof(*c));
	sched_params_init(&c->sched);
	c->sched.mode = mode;
	ssd_cfg_default(&c->ssd, SIM_DEFAULT_NQS);
	c->poll_nqs = SIM_DEFAULT_POLL_NQS;
	c->depth = SIM_DEFAULT_DEPTH;
	c->cpus = cpus;
	c->l_jobs = 4;
	c->l_qd = 1;
	c->l_bytes = 4096;
	c->t_jobs = t_jobs;
	c->t_qd = 32;
	c->t_bytes = 128 * 1024;
	c->warmup_ns = NS_PER_SEC / 2;
	c->measure_ns = 4 * NS_PER_SEC;
}

static int samples_push(struct samples *s, uint64_t v)
{
	if (s->nr == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4096;
		uint64_t *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->nr++] = v;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the ceil(q * n)-th smallest of sorted v. */
static uint64_t quantile(const struct samples *s, double q)
{
	size_t rank = (size_t)(q * (double)s->nr);

	if ((double)rank < q * (double)s->nr)
		rank++;
	return s->nr ? s->v[rank ? rank - 1 : 0] : 0;
}

static int make_sched(struct run *r)
{
	const struct sim_cfg *c = r->cfg;
	unsigned nr = c->ssd.nqs, nr_default = nr - c->poll_nqs;
	struct nq_desc *descs = calloc(nr, sizeof(*descs));
	struct sched_params p;

	if (!descs)
		return -ENOMEM;
	for (unsigned i = 0; i < nr; i++) {
		bool poll = i >= nr_default;

		nq_desc_init(&descs[i], poll ? NQ_POLL : NQ_DEFAULT, c->depth);
		nq_desc_add_cpu(&descs[i], poll ? i - nr_default : i);
	}
	p = c->sched;
	sim_cost_model(&c->ssd, &p.cost); /* reservations are charged at this device's speeds */
	r->s = sched_new(&p, descs, nr, 0);
	free(descs);
	return r->s ? 0 : -errno;
}

/* L jobs first, then T; job i is tenant i, on CPU (its index in its class) % cpus. */
static int make_jobs(struct run *r)
{
	const struct sim_cfg *c = r->cfg;
	unsigned nr = c->l_jobs + c->t_jobs;

	r->jobs = calloc(nr ? nr : 1, sizeof(*r->jobs));
	r->ios = calloc((size_t)c->l_jobs * c->l_qd + (size_t)c->t_jobs * c->t_qd + 1,
			sizeof(*r->ios));
	if (!r->jobs || !r->ios)
		return -ENOMEM;
	for (unsigned i = 0; i < nr; i++) {
		bool l = i < c->l_jobs;
		struct job *j = &r->jobs[i];

		*j = (struct job){
			.tenant = i,
			.cpu = (l ? i : i - c->l_jobs) % c->cpus,
			.latency = l,
			.op = l ? IO_OP_READ : IO_OP_WRITE,
			.bytes = l ? c->l_bytes : c->t_bytes,
		};
		if (sched_tenant_set(r->s, i, l ? CONF_CLASS_LATENCY : CONF_CLASS_THROUGHPUT))
			return -ENOMEM;
	}
	if (c->t_jobs && (c->t0_min_iops || c->t0_min_bw)) {
		const struct sched_slo slo = { .min_iops = c->t0_min_iops, .min_bw = c->t0_min_bw };

		return sched_tenant_slo(r->s, c->l_jobs, &slo);
	}
	return 0;
}

/*
 * Put n slots of a kind into the T mix's pattern, evenly: the i-th at the
 * middle of the i-th n-th of the period, or the next free slot after it
 * (another kind may hold it). The caller keeps the total within the period.
 */
static void t_mix_place(struct run *r, unsigned n, enum t_slot kind)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned at = (2 * i + 1) * T_MIX_PERIOD / (2 * n);

		while (r->t_mix[at] != T_SLOT_PLAIN)
			at = (at + 1) % T_MIX_PERIOD;
		r->t_mix[at] = (uint8_t)kind;
	}
}

/*
 * The job's next request: its own op; for a T job, what its slot in T's
 * percentage mix says; or in the 1-in-8 mix every 8th of a kind (sim.h).
 */
static void next_op(const struct run *r, struct job *j, enum io_op *op, unsigned *flags)
{
	uint64_t k = j->issued++;

	*op = j->op;
	*flags = 0;
	if (!j->latency) {
		switch ((enum t_slot)r->t_mix[k % T_MIX_PERIOD]) {
		case T_SLOT_FUA:
			*op = IO_OP_WRITE;
			*flags = SCHED_REQ_FUA;
			return;
		case T_SLOT_FLUSH:
			*op = IO_OP_FLUSH;
			return;
		case T_SLOT_PLAIN:
			break;
		}
	}
	if (!r->cfg->mix)
		return;
	switch (k % 8) {
	case 2:
		*op = IO_OP_FLUSH;
		break;
	case 4:
		*op = IO_OP_WRITE;
		*flags = SCHED_REQ_FUA;
		break;
	case 6:
		*op = !j->latency && k % 16 == 14 ? IO_OP_WRITE_ZEROES : IO_OP_DISCARD;
		break;
	}
}

static void issue(struct run *r, struct io *io, uint64_t now_ns)
{
	struct job *j = io->job;
	enum io_op op;
	unsigned flags;
	bool data;

	next_op(r, j, &op, &flags);
	data = op == IO_OP_READ || op == IO_OP_WRITE;
	if (!j->latency) {
		r->t_cmds++;
		r->t_fua_cmds += (flags & SCHED_REQ_FUA) != 0;
		r->t_flush_cmds += op == IO_OP_FLUSH;
	}
	io->issue_ns = now_ns;
	io->data = data ? j->bytes : 0;
	io->sr = (struct sched_req){
		.tenant = j->tenant, .cpu = j->cpu, .op = op, .flags = flags,
		.bytes = op == IO_OP_FLUSH ? 0 : j->bytes,
	};
	/* the device's work: the data, the zeroes it writes; a flush or an unmap costs the base */
	io->cmd = (struct ssd_cmd){
		.bytes = data || op == IO_OP_WRITE_ZEROES ? j->bytes : 0, .latency = j->latency
	};
	sched_enqueue(r->s, &io->sr, now_ns);
}

/*
 * The SQ a command lands in: its NQ's, but one without data on a POLL NQ
 * goes to the submitting CPU's DEFAULT queue, as the kernel does with a
 * command it cannot poll (DEFAULT NQ i maps CPU i, see sim.h).
 */
static unsigned landing_sq(const struct run *r, const struct sched_req *sr)
{
	unsigned nr_default = r->cfg->ssd.nqs - r->cfg->poll_nqs;
	bool data = sr->op == IO_OP_READ || sr->op == IO_OP_WRITE;

	if (data || sched_nq(r->s, (unsigned)sr->nq)->kind != NQ_POLL || !nr_default)
		return (unsigned)sr->nq;
	return sr->cpu % nr_default;
}

/* Ring the doorbells of everything the scheduler lets go, then let idle units fetch. */
static void dispatch(struct run *r, uint64_t now_ns)
{
	struct sched_req *sr;

	while ((sr = sched_next(r->s, now_ns))) {
		const struct nq *q = sched_nq(r->s, (unsigned)sr->nq);

		r->over_depth += q->inflight > q->depth;
		ssd_submit(&r->d, landing_sq(r, sr), &io_of(sr, sr)->cmd);
	}
	ssd_fetch(&r->d, now_ns);
}

static int complete(struct run *r, struct io *io, uint64_t now_ns)
{
	sched_completed(r->s, &io->sr, now_ns);
	if (now_ns < r->cfg->warmup_ns)
		return 0;
	if (io->job->latency)
		return samples_push(&r->lat, now_ns - io->issue_ns);
	r->t_bytes += io->data;
	if (io->job->tenant == r->cfg->l_jobs)
		r->t0_bytes += io->data;
	r->t_ios++;
	return 0;
}

/* Every job of one class issues its whole queue depth at now_ns. */
static void start_jobs(struct run *r, bool latency, uint64_t now_ns)
{
	const struct sim_cfg *c = r->cfg;
	unsigned first = latency ? 0 : c->l_jobs, end = latency ? c->l_jobs : c->l_jobs + c->t_jobs;
	unsigned qd = latency ? c->l_qd : c->t_qd;
	struct io *io = &r->ios[latency ? 0 : (size_t)c->l_jobs * c->l_qd];

	for (unsigned i = first; i < end; i++) {
		bool idle = !latency && i == first && c->t0_idle;

		for (unsigned k = 0; k < qd; k++, io++) {
			if (idle)
				continue; /* its slots stay unused */
			io->job = &r->jobs[i];
			issue(r, io, now_ns);
		}
	}
}

static int simulate(struct run *r)
{
	const struct sim_cfg *c = r->cfg;
	uint64_t end = c->warmup_ns + c->measure_ns;
	bool l_started = !c->l_start_ns;

	start_jobs(r, false, 0);
	if (l_started)
		start_jobs(r, true, 0);
	dispatch(r, 0);
	for (;;) {
		uint64_t now = ssd_next_done_ns(&r->d);
		struct io *io;

		if (!l_started && c->l_start_ns <= now && c->l_start_ns < end) {
			l_started = true;
			start_jobs(r, true, c->l_start_ns);
			dispatch(r, c->l_start_ns);
			continue;
		}
		if (now >= end)
			return 0;
		io = io_of(ssd_pop_done(&r->d), cmd);
		if (complete(r, io, now))
			return -ENOMEM;
		issue(r, io, now);
		dispatch(r, now);
	}
}

static void summarize(struct run *r, struct sim_result *out)
{
	qsort(r->lat.v, r->lat.nr, sizeof(*r->lat.v), cmp_u64);
	out->l_ios = r->lat.nr;
	out->l_p50_ns = quantile(&r->lat, 0.50);
	out->l_p99_ns = quantile(&r->lat, 0.99);
	out->l_p999_ns = quantile(&r->lat, 0.999);
	out->l_max_ns = r->lat.nr ? r->lat.v[r->lat.nr - 1] : 0;
	out->t_ios = r->t_ios;
	out->t_cmds = r->t_cmds;
	out->t_fua_cmds = r->t_fua_cmds;
	out->t_flush_cmds = r->t_flush_cmds;
	out->t_mbps = (double)r->t_bytes * 1e3 / (double)r->cfg->measure_ns;
	out->t0_mbps = (double)r->t0_bytes * 1e3 / (double)r->cfg->measure_ns;
	out->latency_cmds = r->d.latency_cmds;
	out->latency_behind_t = r->d.latency_behind_t;
	out->over_depth = r->over_depth;
	sched_get_stats(r->s, r->cfg->warmup_ns + r->cfg->measure_ns, &out->sched);
}

int sim_run(const struct sim_cfg *c, struct sim_result *out)
{
	struct run r = { .cfg = c };
	int err;

	memset(out, 0, sizeof(*out));
	if (!c->cpus || c->poll_nqs > c->ssd.nqs || !c->measure_ns ||
	    c->t_fua_pct > T_MIX_PERIOD || c->t_flush_pct > T_MIX_PERIOD - c->t_fua_pct)
		return -EINVAL;
	t_mix_place(&r, c->t_fua_pct, T_SLOT_FUA);
	t_mix_place(&r, c->t_flush_pct, T_SLOT_FLUSH);
	err = ssd_init(&r.d, &c->ssd);
	if (!err)
		err = make_sched(&r);
	if (!err)
		err = make_jobs(&r);
	if (!err)
		err = simulate(&r);
	if (!err)
		summarize(&r, out);
	free(r.lat.v);
	free(r.ios);
	free(r.jobs);
	sched_free(r.s);
	ssd_free(&r.d);
	return err;
}
