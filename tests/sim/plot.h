/* SPDX-License-Identifier: MIT */
/* The sim's outputs besides the table: a data file and a gnuplot PNG. */
#ifndef DDUBLK_TESTS_SIM_PLOT_H
#define DDUBLK_TESTS_SIM_PLOT_H

#include "tests/sim/sim.h"

/* One step of the experiment: both modes at one confinement and T load. */
struct sim_point {
	unsigned cpus, t_jobs;
	struct sim_result mode[2]; /* [0] static, [1] daredevil */
};

/*
 * Write DIR/sim.dat (one gnuplot data block per confinement and mode) and
 * DIR/sim.gp, and run gnuplot to make DIR/sim.png. Returns 0, 1 when
 * gnuplot is absent (the plot is skipped, said on stderr), -1 on error.
 */
int sim_plot(const char *dir, const struct sim_point *pts, unsigned nr);

#endif
