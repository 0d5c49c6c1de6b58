/* SPDX-License-Identifier: MIT */
/*
 * sim: Daredevil's single-namespace experiment against the real scheduler
 * on a model SSD (README.md). For every CPU confinement and T load, both
 * modes: L p50/p99/p99.9 and T bandwidth, as a table, a data file and a
 * PNG. Runs are independent and deterministic, so -j only saves time.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/sim/plot.h"
#include "tests/sim/sim.h"

#define MAX_LIST 16

struct opts {
	double warmup_s, duration_s;
	unsigned steps[MAX_LIST], nr_steps;
	unsigned cpus[MAX_LIST], nr_cpus;
	unsigned units, jobs;
	unsigned long long seed;
	unsigned target_us;
	unsigned t_fua_pct, t_flush_pct; /* --t-mix */
	const char *out;
	bool plot, verbose;
};

struct task {
	struct sim_cfg cfg;
	struct sim_result *res;
	int err;
};

struct pool {
	struct task *task;
	unsigned nr;
	unsigned next; /* atomically taken */
};

static void usage(FILE *f)
{
	fputs("usage: sim [options]\n"
	      "  -d, --duration SEC   measured time per point (default 4)\n"
	      "  -w, --warmup SEC     unmeasured start of each point (default 0.5)\n"
	      "  -s, --steps LIST     T jobs per step (default 0,4,8,16,32,64,116)\n"
	      "  -c, --cpus LIST      CPUs the tenants are confined to (default 2,8)\n"
	      "  -u, --units K        the SSD's parallel units (default 8)\n"
	      "      --seed N         the service time jitter's seed (default 1)\n"
	      "  -t, --target-us US   daredevil's L p99 target (default 1000)\n"
	      "      --t-mix FUA,FLUSH\n"
	      "                       percent of each T job's requests that are FUA\n"
	      "                       writes and FLUSHes, spread evenly (default 0,0)\n"
	      "  -j, --jobs N         runs at once (default: online CPUs)\n"
	      "  -o, --out DIR        where sim.dat, sim.gp, sim.png go (default .)\n"
	      "      --no-plot        no data file, no plot\n"
	      "  -v, --verbose        also the scheduler's state at the end of each run\n",
	      f);
}

static int parse_list(const char *s, unsigned *out, unsigned *nr)
{
	char *end;

	*nr = 0;
	do {
		unsigned long v = strtoul(s, &end, 10);

		if (end == s || *nr == MAX_LIST || v > 100000)
			return -1;
		out[(*nr)++] = (unsigned)v;
		s = end + 1;
	} while (*end == ',');
	return *end ? -1 : 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "steps", required_argument, NULL, 's' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "units", required_argument, NULL, 'u' },
		{ "seed", required_argument, NULL, 'S' },
		{ "target-us", required_argument, NULL, 't' },
		{ "t-mix", required_argument, NULL, 'M' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "out", required_argument, NULL, 'o' },
		{ "no-plot", no_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned pct[MAX_LIST], nr_pct;
	int c;

	*o = (struct opts){
		.warmup_s = 0.5, .duration_s = 4, .units = SSD_DEFAULT_UNITS, .seed = 1,
		.target_us = SCHED_DEFAULT_LATENCY_TARGET_US,
		.jobs = ncpu > 0 ? (unsigned)ncpu : 1, .out = ".", .plot = true,
	};
	parse_list("0,4,8,16,32,64,116", o->steps, &o->nr_steps);
	parse_list("2,8", o->cpus, &o->nr_cpus);
	while ((c = getopt_long(argc, argv, "d:w:s:c:u:j:o:t:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->duration_s = atof(optarg); break;
		case 'w': o->warmup_s = atof(optarg); break;
		case 's': if (parse_list(optarg, o->steps, &o->nr_steps)) return -1; break;
		case 'c': if (parse_list(optarg, o->cpus, &o->nr_cpus)) return -1; break;
		case 'u': o->units = (unsigned)atoi(optarg); break;
		case 'j': o->jobs = (unsigned)atoi(optarg); break;
		case 'o': o->out = optarg; break;
		case 'P': o->plot = false; break;
		case 'S': o->seed = strtoull(optarg, NULL, 0); break;
		case 't': o->target_us = (unsigned)atoi(optarg); break;
		case 'M':
			if (parse_list(optarg, pct, &nr_pct) || nr_pct != 2 || pct[0] + pct[1] > 100)
				return -1;
			o->t_fua_pct = pct[0];
			o->t_flush_pct = pct[1];
			break;
		case 'v': o->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind != argc || o->duration_s <= 0 || o->warmup_s < 0 || !o->units || !o->jobs ||
	    !o->target_us)
		return -1;
	for (unsigned i = 0; i < o->nr_cpus; i++)
		if (!o->cpus[i])
			return -1;
	return 0;
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	unsigned i;

	while ((i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED)) < p->nr)
		p->task[i].err = sim_run(&p->task[i].cfg, p->task[i].res);
	return NULL;
}

static int run_all(struct task *task, unsigned nr, unsigned jobs)
{
	struct pool p = { .task = task, .nr = nr };
	pthread_t tid[64];
	unsigned nt = jobs < nr ? jobs : nr, started = 0;

	if (nt > 64)
		nt = 64;
	for (; started + 1 < nt; started++)
		if (pthread_create(&tid[started], NULL, worker, &p))
			break;
	worker(&p); /* this thread is one of them */
	for (unsigned t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	for (unsigned i = 0; i < nr; i++)
		if (task[i].err)
			return task[i].err;
	return 0;
}

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

static void print_header(const struct sim_cfg *c, const struct opts *o)
{
	printf("ddublk sim: %u NQs (%u DEFAULT + %u POLL, depth %u), SSD with %u units, "
	       "service %.0f us + %.1f us/KiB\n"
	       "  %u L jobs: %u KiB read QD%u; T jobs: %u KiB write QD%u; "
	       "%.1f s warmup + %.1f s measured per run\n"
	       "  daredevil: target p99 %u us, adapt every %u ms, T cap %llu KiB at start\n",
	       c->ssd.nqs, c->ssd.nqs - c->poll_nqs, c->poll_nqs, c->depth, c->ssd.units,
	       us(c->ssd.base_ns), us(c->ssd.ns_per_kib), c->l_jobs, c->l_bytes / 1024, c->l_qd,
	       c->t_bytes / 1024, c->t_qd, o->warmup_s, o->duration_s, c->sched.latency_target_us,
	       c->sched.adapt_interval_ms, (unsigned long long)(c->sched.throughput_cap >> 10));
	if (c->t_fua_pct || c->t_flush_pct)
		printf("  T mix: %u%% of each T job's requests FUA writes, %u%% FLUSH\n",
		       c->t_fua_pct, c->t_flush_pct);
}

static void print_row(const struct sim_point *pt)
{
	const struct sim_result *st = &pt->mode[0], *dd = &pt->mode[1];

	printf("%6u |", pt->t_jobs);
	for (int m = 0; m < 2; m++) {
		const struct sim_result *r = &pt->mode[m];

		printf(" %8.0f %8.0f %8.0f %8.0f |", us(r->l_p50_ns), us(r->l_p99_ns),
		       us(r->l_p999_ns), r->t_mbps);
	}
	printf(" %7.1fx", dd->l_p99_ns ? (double)st->l_p99_ns / (double)dd->l_p99_ns : 0);
	if (st->t_mbps > 0)
		printf(" %6.1f%%", 100 * dd->t_mbps / st->t_mbps);
	printf("\n");
}

static void print_state(const struct sim_point *pt)
{
	const struct sched_stats *s = &pt->mode[1].sched;

	printf("       | daredevil at the end: L/T NQs %u/%u, T cap %llu KiB, last L p99 %.0f us, "
	       "%llu moves, %llu cuts, %llu raises; L ios %llu (static %llu)\n",
	       s->group_nqs[NQ_LANE_LATENCY], s->group_nqs[NQ_LANE_THROUGHPUT],
	       (unsigned long long)(s->throughput_cap >> 10), us(s->latency_p99_ns),
	       (unsigned long long)s->moves, (unsigned long long)s->cap_cuts,
	       (unsigned long long)s->cap_raises, (unsigned long long)pt->mode[1].l_ios,
	       (unsigned long long)pt->mode[0].l_ios);
}

static void print_table(const struct sim_point *pts, unsigned nr, const struct opts *o)
{
	for (unsigned i = 0; i < nr; i++) {
		if (!i || pts[i].cpus != pts[i - 1].cpus) {
			printf("\ntenants on %u CPUs (static reaches their %u NQs, "
			       "daredevil all)\n", pts[i].cpus, pts[i].cpus);
			printf("T jobs |        static: L latency (us)     T MB/s |"
			       "     daredevil: L latency (us)     T MB/s | dd vs static\n"
			       "       |      p50      p99    p99.9          |"
			       "      p50      p99    p99.9          | p99 lower  T bw\n");
		}
		print_row(&pts[i]);
		if (o->verbose)
			print_state(&pts[i]);
	}
}

/* One run: mode m (0 static, 1 daredevil) at pt's confinement and load, as the options say. */
static void plan_task(struct task *t, const struct opts *o, struct sim_point *pt, int m)
{
	sim_cfg_default(&t->cfg, m ? CONF_SCHED_DAREDEVIL : CONF_SCHED_STATIC, pt->cpus,
			pt->t_jobs);
	t->cfg.ssd.units = o->units;
	t->cfg.ssd.seed = o->seed;
	t->cfg.sched.latency_target_us = o->target_us;
	t->cfg.t_fua_pct = o->t_fua_pct;
	t->cfg.t_flush_pct = o->t_flush_pct;
	t->cfg.warmup_ns = (uint64_t)(o->warmup_s * 1e9);
	t->cfg.measure_ns = (uint64_t)(o->duration_s * 1e9);
	t->res = &pt->mode[m];
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct sim_point *pts;
	struct task *task;
	unsigned nr_pts, nr_tasks;
	struct timespec t0;
	int err;

	if (parse_opts(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	nr_pts = o.nr_cpus * o.nr_steps;
	nr_tasks = 2 * nr_pts;
	pts = calloc(nr_pts, sizeof(*pts));
	task = calloc(nr_tasks, sizeof(*task));
	if (!pts || !task)
		return 1;
	for (unsigned i = 0; i < nr_pts; i++) {
		pts[i].cpus = o.cpus[i / o.nr_steps];
		pts[i].t_jobs = o.steps[i % o.nr_steps];
		for (int m = 0; m < 2; m++)
			plan_task(&task[2 * i + m], &o, &pts[i], m);
	}
	print_header(&task[0].cfg, &o);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = run_all(task, nr_tasks, o.jobs);
	if (err) {
		fprintf(stderr, "sim: %s\n", strerror(-err));
		return 1;
	}
	print_table(pts, nr_pts, &o);
	printf("\n%u runs in %.1f s (%u at once)\n", nr_tasks, seconds_since(&t0),
	       o.jobs < nr_tasks ? o.jobs : nr_tasks);
	if (o.plot && sim_plot(o.out, pts, nr_pts) < 0)
		return 1;
	free(task);
	free(pts);
	return 0;
}
