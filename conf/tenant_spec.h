/* SPDX-License-Identifier: MIT */
/*
 * What a tenant is, wherever it is written down: a policy file entry
 * (struct conf_tenant), a backend's table entry (struct table_entry), an
 * add request and a listed tenant (struct ctl_request, ctl_tenant_info).
 * Each of those embeds one struct tenant_spec and adds only what is its
 * own (a policy line, an extent and a uuid, a device and a state), so one
 * is turned into another by assigning the spec, never field by field.
 *
 * A new tenant key is one field here, plus the policy parser, the table
 * codec and the protocol codec that read and write it.
 */
#ifndef DDUBLK_CONF_TENANT_SPEC_H
#define DDUBLK_CONF_TENANT_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#define CONF_NAME_MAX 64 /* including the NUL: names are 1..63 chars */

/* A tenant's class: which NQ group serves it (sched/). */
enum conf_class {
	CONF_CLASS_BESTEFFORT = 0, /* default */
	CONF_CLASS_LATENCY,
	CONF_CLASS_THROUGHPUT,
};

#define CONF_DEFAULT_WEIGHT 100
#define CONF_MAX_WEIGHT 10000

/* Per-tenant QoS. Limits are token buckets with one second's worth of burst. */
struct conf_qos {
	uint64_t iops_limit; /* requests per second, 0 = unlimited */
	uint64_t bw_limit; /* bytes per second, 0 = unlimited */
	unsigned weight; /* 1..CONF_MAX_WEIGHT: share among tenants of one class */
	/*
	 * Reservations and the latency goal (daredevil only). A reservation is
	 * a share of the device, as common/cost.h's model prices it; min_iops
	 * <= iops_limit and min_bw <= bw_limit when those are set.
	 */
	uint64_t min_iops; /* reserved: 4 KiB-read-equivalents per second, charged by the cost model; 0 = none */
	uint64_t min_bw; /* reserved bytes per second (in 128 KiB-read cost); 0 = none */
	unsigned latency_target_us; /* this tenant's p99 goal, overrides scheduler.latency_target_us; 0 = the scheduler's */
};

struct tenant_spec {
	char name[CONF_NAME_MAX];
	/*
	 * The backend its extent lies on. A table entry does not store it
	 * (the table lies on that backend): the daemon fills it in.
	 */
	char backend[CONF_NAME_MAX];
	uint64_t size; /* bytes, > 0, multiple of 4096 */
	unsigned queues; /* 1..CONF_MAX_QUEUES; an add request: 0 = daemon default */
	unsigned depth; /* 1..CONF_MAX_DEPTH; an add request: 0 = daemon default */
	enum conf_class cls;
	struct conf_qos qos;
	bool recovery; /* ublk user recovery across daemon restarts */
};

#endif
