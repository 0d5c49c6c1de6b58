/* SPDX-License-Identifier: MIT */
/* sim.dat, sim.gp and sim.png (see plot.h). */
#include "tests/sim/plot.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

static const char *const mode_name[2] = { "static", "daredevil" };

static double us(uint64_t ns)
{
	return (double)ns / 1e3;
}

/* Blocks in order cpus-major, mode-minor; gnuplot's "index" counts them. */
static int write_data(const char *path, const struct sim_point *pts, unsigned nr,
		      unsigned *blocks)
{
	FILE *f = fopen(path, "w");
	unsigned last_cpus = 0;

	if (!f)
		return -1;
	*blocks = 0;
	for (unsigned start = 0; start < nr; start++) {
		if (pts[start].cpus == last_cpus)
			continue;
		last_cpus = pts[start].cpus;
		for (int m = 0; m < 2; m++) {
			fprintf(f, "%s# %s, tenants on %u CPUs\n# T_jobs L_p50_us L_p99_us "
				   "L_p99.9_us T_MBps\n",
				*blocks ? "\n\n" : "", mode_name[m], last_cpus);
			for (unsigned i = start; i < nr && pts[i].cpus == last_cpus; i++) {
				const struct sim_result *r = &pts[i].mode[m];

				fprintf(f, "%u %.1f %.1f %.1f %.1f\n", pts[i].t_jobs,
					us(r->l_p50_ns), us(r->l_p99_ns), us(r->l_p999_ns),
					r->t_mbps);
			}
			(*blocks)++;
		}
	}
	return fclose(f) ? -1 : 0;
}

static int write_script(const char *path, const char *dat, const char *png,
			const struct sim_point *pts, unsigned nr, unsigned blocks)
{
	FILE *f = fopen(path, "w");
	unsigned cpus[64], nc = 0;

	if (!f)
		return -1;
	for (unsigned i = 0; i < nr && nc < 64; i++)
		if (!nc || cpus[nc - 1] != pts[i].cpus)
			cpus[nc++] = pts[i].cpus;
	fprintf(f, "set terminal pngcairo size 1400,560 font ',10'\nset output '%s'\n"
		   "set multiplot layout 1,2 title 'ddublk sim: 4 L jobs (4 KiB read QD1) vs "
		   "T jobs (128 KiB write QD32)'\n"
		   "set key top left\nset grid\nset xlabel 'T jobs'\n",
		png);
	for (int panel = 0; panel < 2; panel++) {
		fputs(panel ? "unset logscale y\nset ylabel 'T bandwidth (MB/s)'\n"
			      "set yrange [0:*]\nset key bottom right\n"
			      "set title 'throughput tenants'\nplot "
			    : "set logscale y\nset ylabel 'L latency (us)'\n"
			      "set title 'latency tenants: p99 (solid), p99.9 (dashed)'\nplot ",
		      f);
		for (unsigned b = 0; b < blocks; b++) {
			const char *sep = b + 1 < blocks || !panel ? ", \\\n     " : "\n";
			unsigned lt = b + 1;

			/* Steps as evenly spaced categories: they roughly double. */
			fprintf(f, "'%s' index %u using 0:%d:xtic(1) with linespoints lt %u "
				   "title '%s, %u CPUs'%s",
				dat, b, panel ? 5 : 3, lt, mode_name[b % 2], cpus[b / 2], sep);
			if (!panel)
				fprintf(f, "'%s' index %u using 0:4 with lines lt %u dt 2 "
					   "notitle%s", dat, b, lt,
					b + 1 < blocks ? ", \\\n     " : "\n");
		}
	}
	fprintf(f, "unset multiplot\n");
	return fclose(f) ? -1 : 0;
}

/* gnuplot SCRIPT: its exit status, or -ENOENT when there is no gnuplot. */
static int run_gnuplot(const char *script)
{
	char *argv[] = { "gnuplot", (char *)script, NULL };
	pid_t pid;
	int err, status;

	err = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
	if (err)
		return -err;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int sim_plot(const char *dir, const struct sim_point *pts, unsigned nr)
{
	char dat[PATH_MAX], gp[PATH_MAX], png[PATH_MAX];
	unsigned blocks;
	int rc;

	snprintf(dat, sizeof(dat), "%s/sim.dat", dir);
	snprintf(gp, sizeof(gp), "%s/sim.gp", dir);
	snprintf(png, sizeof(png), "%s/sim.png", dir);
	if (write_data(dat, pts, nr, &blocks) || write_script(gp, dat, png, pts, nr, blocks)) {
		fprintf(stderr, "sim: writing %s: %s\n", dir, strerror(errno));
		return -1;
	}
	printf("data: %s\n", dat);
	rc = run_gnuplot(gp);
	if (rc == -ENOENT) {
		fprintf(stderr, "sim: gnuplot not found, no plot (apt-get install gnuplot-nox; "
				"then: gnuplot %s)\n", gp);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "sim: gnuplot %s failed (%d)\n", gp, rc);
		return -1;
	}
	printf("plot: %s\n", png);
	return 0;
}
