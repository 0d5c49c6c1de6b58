/* SPDX-License-Identifier: MIT */
/*
 * ddublkd's top level: the one place that holds mutable process state.
 * Everything below it (ublk/, nvme/, conf/, ctl/, sched/) gets what it
 * needs passed in. Only the main (control) thread touches struct daemon;
 * workers see their queues, and a tenant's gate, only.
 */
#ifndef DDUBLK_DAEMON_DAEMON_H
#define DDUBLK_DAEMON_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "conf/config.h"
#include "conf/diff.h"
#include "store/extent.h"
#include "store/table.h"
#include "ctl/proto.h"
#include "backend/backend.h"
#include "router/router.h"
#include "sched/qos.h"
#include "ublk/ctrl.h"
#include "ublk/dev.h"
#include "daemon/overrides.h"

/* Tenant extents start and end on this boundary. */
#define POOL_ALIGN (1ULL << 20)

struct pool {
	struct backend *be;
	/* NVMe passthrough: routes requests to the NVMe queues sched/ picks; else NULL. */
	struct router *router;
	struct extent_map map;
	uint64_t reserved; /* bytes before the first extent: the tenant table */
	uint64_t generation; /* of the tenant table on disk */
	int slot; /* its copy: 0 = A, 1 = B, -1: never written */
	uint32_t table_version; /* its format: an older one is rewritten in both copies */
	uint8_t uuid[TABLE_UUID_BYTES]; /* the backend's, from its table or new */
	/* The table as pools_open read it, until tenants_restore takes it. */
	struct table loaded;
	bool have_loaded;
	/* Held while served: this daemon's exclusive claim (backend/identify.h). */
	int claim[2];
	/* Set when the table could not be read: the backend is left alone. */
	char broken[1024];
};

/*
 * A tenant's QoS gate: the workers ask it before every request. The
 * control thread changes the limits under the lock; the fast path of an
 * unlimited tenant takes no lock.
 */
struct tenant_gate {
	struct admit_gate gate;
	pthread_mutex_t lock;
	struct qos_limiter lim;
	atomic_bool limited;
	struct tbucket resv; /* its reservation in device ns per second (cost model), under lock */
	atomic_bool reserving; /* it has one */
};

struct slo_track;

struct tenant {
	struct table_entry e; /* what the backend's table records; e.spec.backend: pool's */
	struct pool *pool;
	struct ublk_dev *dev; /* NULL when not served */
	struct tenant_gate *gate; /* malloc'd: lives as long as the device may use it */
	int route_id; /* its id in the pool's router, -1: none */
	struct slo_track *slo; /* its objectives, judged each second (stats/slo.h); NULL until then */
	const char *state; /* "live", "stopped", "failed" */
};

struct daemon {
	struct conf conf;
	const char *policy_path; /* what reload and SIGHUP read again */
	struct daemon_overrides ov; /* command line's, applied at start and on reload */
	struct ublk_ctrl ctrl;
	struct ublk_workers *workers;
	uint64_t ublk_flags; /* what the kernel's ublk driver supports */
	struct pool *pools;
	size_t nr_pools;
	struct tenant *tenants;
	size_t nr_tenants, cap_tenants;
	int listen_fd;
	int signal_fd;
	bool stopping;
	/* A reload's changes (or a start's policy tenants) are being applied, their reservations checked as a whole. */
	bool resv_prechecked;
	/* DDUBLKD_CRASH_AT (tests only, daemon/fault.c): die with SIGKILL at this named point. */
	const char *crash_at;
};

/*
 * daemon/checkcfg.c: --check-config. c parsed from path; the backends are
 * sized and their tables read, read-only, and the policy's new tenants
 * placed as a start would. Prints the verdict; returns the exit status.
 */
int check_config(const struct conf *c, const char *path);

/* daemon/mountns.c: a private mount namespace without copies of tenant mounts. */
void enter_own_mount_ns(void);

/*
 * daemon/holders.c: whether anyone uses /dev/ublkbN (dev_id N), seen from
 * the whole host: true with out = "mounted at /mnt/x; opened by pid 812
 * (fio)" etc. Waits up to a second for openers that let go by themselves.
 */
bool ublk_disk_holders(int dev_id, char *out, size_t len);

/* daemon/pool.c */
/*
 * Identify, check, claim and open every backend, and read its table: a
 * backend named twice, in use elsewhere or unfit is refused here, before
 * anything on any backend is read. 0 or -1 with err.
 */
int pools_open(struct daemon *d, char *err, size_t errlen);
void pools_close(struct daemon *d);
struct pool *pool_find(struct daemon *d, const char *name);
/* Read the pool's tenant table (both copies; the newer valid one wins). */
int pool_load(struct pool *p, struct table *out, char *err, size_t errlen);
/* Write the tenants on p as its new table generation. 0 or -1 with err. */
int pool_save(struct daemon *d, struct pool *p, char *err, size_t errlen);
/*
 * Make an extent read back as zeroes, durably (backend_zero()), before it
 * can be given to another tenant. 0, or -1 with err (partly zeroed, maybe).
 */
int pool_scrub(struct pool *p, uint64_t offset, uint64_t size, char *err, size_t errlen);
/* The routers' periodic scheduler adaptation; how long until the next is due (ms, -1: never). */
int pools_tick(struct daemon *d);
/* scheduler.poll for every router and worker, now (start-up and reload). */
void pools_set_poll(struct daemon *d, enum conf_poll poll);

/* daemon/trial.c: try frees and allocations on the real maps, then undo them. */
struct trial_step {
	struct pool *p;
	uint64_t start, len;
	bool freed; /* released by the trial (else allocated) */
};
struct trial {
	struct trial_step *v;
	size_t n, cap;
};
/* Room for steps frees and allocations. 0, or -1 out of memory. */
int trial_init(struct trial *t, size_t steps);
/* Release p's extent at start (len bytes) for the trial; false if there is none. */
bool trial_release(struct trial *t, struct pool *p, uint64_t start, uint64_t len);
/* Allocate size bytes on p, first fit as for real: 0, or -1 with why (no room). */
int trial_alloc(struct trial *t, struct pool *p, uint64_t size, char *why, size_t whylen);
/* Put every map back as it was and free t. */
void trial_undo(struct trial *t);

/* daemon/tenant.c */
/* Recreate the tenants of every backend's table, then those of the policy. */
int tenants_restore(struct daemon *d, char *err, size_t errlen);
/*
 * Create a tenant as want says (queues, depth, weight 0: the defaults) on
 * a new extent of want->backend: recorded, then its device started.
 */
int tenant_add(struct daemon *d, const struct tenant_spec *want, bool from_policy,
	       struct tenant **out, char *err, size_t errlen);
/*
 * Delete a tenant: its device, its record, its extent. Refused, nothing
 * changed, while its device is mounted or open, unless force.
 */
int tenant_del(struct daemon *d, const char *name, bool force, char *err, size_t errlen);
/*
 * Recreate t's device with want's queues, depth and recovery (and class
 * and QoS) on the same record, extent and uuid: the data stays (want's
 * name, backend and size are not looked at). Refused, nothing changed,
 * while the device is mounted or open. On failure err says what state the
 * tenant is left in and how to retry.
 */
int tenant_reshape(struct daemon *d, struct tenant *t, const struct tenant_spec *want, char *err,
		   size_t errlen);
/* Whether t's device is in use: true with who (holders.c's words) set. */
bool tenant_held(const struct tenant *t, char *who, size_t len);
/*
 * The tenant's recorded ublk device exists but this daemon does not serve
 * it (start-up refused it: held open, LIVE under a running server, not
 * quiesced in time): true, with the operator's message in why. Such a
 * tenant is neither deleted, zeroed nor recreated, --force or not.
 */
bool tenant_unserved(const struct tenant *t, char *why, size_t len);
/* want's class/QoS for a running tenant, recorded in its table: 0 or -1, unchanged. */
/*
 * Whether every backend's reservations fit once the policy `next` is in
 * force (its tenants as it says, ublk-ctl's as they are): 0, or -1 with a
 * "PATH:LINE: ..." err. Checks the whole before a reload applies any part.
 */
int reservations_fit(struct daemon *d, const struct conf *next, const char *path, char *err,
		     size_t errlen);
int tenant_update(struct daemon *d, struct tenant *t, const struct tenant_spec *want, char *err,
		  size_t errlen);
/* The ublk device settings of t (its gate made if need be). 0 or -1 with err. */
int tenant_dev_config(struct daemon *d, struct tenant *t, struct ublk_dev_config *cfg,
		      char *err, size_t errlen);
/*
 * Stop and delete every device, keeping the tables: the next start brings
 * them back. With keep, devices of recovery tenants are left as they are,
 * for the next daemon to re-attach. Returns how many were left.
 */
size_t tenants_stop_all(struct daemon *d, bool keep);
struct tenant *tenant_find(struct daemon *d, const char *name);
void tenant_info(const struct tenant *t, struct ctl_tenant_info *info);
/* Why size does not fit on p, for an error message. */
void explain_no_room(struct pool *p, uint64_t size, char *err, size_t errlen);

/* daemon/recover.c */
/*
 * A tenant's recorded device still exists after a daemon died: 1 if t was
 * re-attached to it (user recovery), 0 if there is none (any left over was
 * deleted: create one), -1 if it is held by someone else and left alone
 * (t is "failed").
 */
int tenant_reattach(struct daemon *d, struct tenant *t);
void log_tenant_up(const struct tenant *t, const char *how);

/* daemon/gate.c */
/* cost: what requests weigh when tenants of a class share (scheduler.cost_*, fixed). */
struct tenant_gate *gate_new(enum conf_class cls, const struct conf_qos *qos,
			     const struct cost_model *cost);
void gate_set(struct tenant_gate *g, enum conf_class cls, const struct conf_qos *qos);
/* No limits until the next gate_set(): before a device is stopped (tenant_del). */
void gate_lift(struct tenant_gate *g);
void gate_free(struct tenant_gate *g);

/* daemon/reload.c: apply the policy file again (ublk-ctl reload, SIGHUP). */
int daemon_reload(struct daemon *d, bool force, bool dry_run, char ***lines, size_t *nr_lines,
		  bool *applied, char *err, size_t errlen);

/* daemon/stats.c: the "stats" reply's payload, or NULL with err (unknown tenant). */
json_object *daemon_stats(struct daemon *d, const char *name, char *err, size_t errlen);
/*
 * Close every served tenant's SLO interval that is over (stats/slo.h).
 * Returns the ms until the next one is due, -1 if no tenant is served.
 */
int tenants_slo_tick(struct daemon *d);

/* daemon/ctlserver.c */
int ctl_listen(struct daemon *d, char *err, size_t errlen);
/* Serve the socket until SIGTERM/SIGINT. */
int ctl_serve(struct daemon *d);
void ctl_close(struct daemon *d);

#endif
