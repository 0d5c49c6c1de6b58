/* SPDX-License-Identifier: MIT */
/*
 * A model SSD for the simulation: N submission queues (SQs), each a FIFO,
 * and K internal units that serve one command each. Whenever a unit is
 * idle, the controller fetches the next command round-robin over the
 * non-empty SQs, one command per queue per turn (NVMe's default
 * arbitration), and the unit takes a + b * size to serve it.
 *
 * Defaults: a = 20 us, b = 2 us per KiB, 8 units: a 4 KiB read takes
 * 28 us, a 128 KiB write 276 us (9.9x); 8 units give 285K IOPS of 4 KiB
 * and 3.8 GB/s of 128 KiB writes -- a PCIe 3/4 TLC drive. Each service
 * time varies uniformly by +-20% (flash is not a metronome; without it
 * the closed loops lock into a period and percentiles into steps).
 *
 * The model watches the property daredevil promises: it counts every L
 * command that joins an SQ while a T command waits in it.
 */
#ifndef DDUBLK_TESTS_SIM_SSD_H
#define DDUBLK_TESTS_SIM_SSD_H

#include <stdbool.h>
#include <stdint.h>

#define SSD_DEFAULT_UNITS 8
#define SSD_DEFAULT_BASE_NS 20000
#define SSD_DEFAULT_NS_PER_KIB 2000
#define SSD_DEFAULT_JITTER_PCT 20

struct ssd_cfg {
	unsigned nqs; /* submission queues */
	unsigned units; /* K: commands in service at once */
	uint64_t base_ns; /* a */
	uint64_t ns_per_kib; /* b */
	unsigned jitter_pct; /* each service time uniform in +-this % of a + b * size */
	uint64_t seed; /* of the jitter's generator: same seed, same run */
};

struct ssd_cmd {
	struct ssd_cmd *next; /* in its SQ */
	uint32_t bytes;
	bool latency; /* from an L tenant: for the behind-T check */
	uint64_t done_ns; /* when its unit finishes it */
};

struct ssd_sq {
	struct ssd_cmd *head, **tail;
	unsigned nr;
	unsigned throughput; /* T commands among the nr */
};

struct ssd {
	struct ssd_cfg cfg;
	struct ssd_sq *sq;
	struct ssd_cmd **unit; /* what each unit serves, NULL when idle */
	unsigned busy; /* units serving */
	unsigned queued; /* commands in all SQs */
	unsigned rr; /* the SQ whose turn is next */
	uint64_t rng; /* xorshift64 state */
	uint64_t latency_cmds; /* L commands submitted */
	uint64_t latency_behind_t; /* ... that joined an SQ holding a T command */
};

void ssd_cfg_default(struct ssd_cfg *c, unsigned nqs);
/* a + b * size, before jitter. */
uint64_t ssd_service_ns(const struct ssd_cfg *c, uint32_t bytes);

/* 0, or -ENOMEM. */
int ssd_init(struct ssd *d, const struct ssd_cfg *cfg);
void ssd_free(struct ssd *d);

/* The host rings SQ sq's doorbell with cmd. */
void ssd_submit(struct ssd *d, unsigned sq, struct ssd_cmd *cmd);
/* Idle units fetch commands (round-robin over SQs) and start them at now_ns. */
void ssd_fetch(struct ssd *d, uint64_t now_ns);
/* When the next command finishes; UINT64_MAX when every unit is idle. */
uint64_t ssd_next_done_ns(const struct ssd *d);
/* The command that finishes first (ties: the lowest unit), its unit now idle; NULL if none. */
struct ssd_cmd *ssd_pop_done(struct ssd *d);

#endif
