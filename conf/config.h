/* SPDX-License-Identifier: MIT */
/*
 * The policy file: what the operator asks for.
 *
 * Parsed with libconfig and validated strictly: unknown keys, wrong types,
 * out-of-range values and duplicate names are errors, reported as
 * "FILE:LINE: key: what is wrong". A failed load leaves *out untouched.
 *
 *   daemon = {
 *     socket    = "/run/ddublk/ctl.sock";  # control socket path
 *     socket_group = "ddublk";             # also serve this group's members
 *     workers   = 0;                       # 0: one per online CPU
 *     log_level = "info";                  # error|warn|info|debug
 *     on_stop   = "delete";                # delete|keep: devices at SIGTERM
 *   };
 *   scheduler = {
 *     mode              = "static";  # static|daredevil
 *     latency_target_us = 1000;      # 10..10000000: p99 goal of latency tenants
 *     latency_queues    = 0;         # 0..1024 NQs for latency at start, 0: auto
 *     adapt_interval_ms = 100;       # 10..60000
 *     throughput_cap    = "4M";      # 128K..1G in flight for T while L is busy
 *     promote_flush     = false;     # T tenants' FLUSHes use the latency group
 *     poll              = "auto";    # auto|always|never: polled NVMe queues
 *     cost_read_iops    = 400000;    # the drive, for the cost model that prices
 *     cost_read_bw      = "3G";      # reservations (common/cost.h): 4 KiB reads
 *     cost_write_iops   = 150000;    # and writes per second, bytes per second
 *     cost_write_bw     = "2G";      # of large ones; each 1..10^12
 *   };
 *   backends = (
 *     { name = "nvme0"; path = "/dev/nvme0n1"; },            # type "auto"
 *     { name = "ns2";   controller = "nvme0"; nsid = 2; },    # NVMe passthrough
 *     { name = "blk";   path = "/dev/nvme1n1"; type = "file"; },
 *     { name = "img";   path = "/srv/pool.img"; size = "8G"; reserved = "1M"; }
 *   );
 *   tenants = (
 *     { name = "db"; backend = "nvme0"; size = "2G"; queues = 2; depth = 64;
 *       class = "latency";        # latency|throughput|besteffort (default)
 *       iops_limit = 0;           # 0..10000000 per second, 0: unlimited
 *       bw_limit = "100M";        # bytes per second, 0 or 4K..1T, 0: unlimited
 *       weight = 100;             # 1..10000: share within its class
 *       min_iops = 5000;          # reserved 4 KiB reads/s, 0..10000000, 0: none
 *       min_bw = "50M";           # reserved bytes/s (128 KiB reads), 0 or 4K..1T
 *       latency_target_us = 500;  # p99 goal, 0 or 10..10000000, 0: the scheduler's
 *       recovery = true; }        # ublk user recovery across daemon restarts
 *   );
 *
 * "reserved" (default and minimum 1 MiB, a multiple of 1 MiB, at most 1 GiB)
 * is kept from tenants at the start of a backend: it holds the tenant table.
 * Tenants take whole MiB after it. daemon.state_file is refused: the table
 * lives in each backend's reserved region.
 *
 * The control socket is root's alone (mode 0600) unless "socket_group"
 * names a group: then it is mode 0660 in that group, and the group's
 * members (by primary or supplementary group) may use it too. The group
 * must exist when the policy loads.
 *
 * Reservations (min_iops, min_bw) need scheduler.mode = "daredevil", may
 * not exceed the tenant's own limits (iops_limit, bw_limit, when set), and
 * on each backend add up to at most COST_MAX_RESERVED_PCT % of the device
 * as the scheduler.cost_* keys describe it (conf_reservation_ns()).
 *
 * A backend "size" (regular files only) creates or extends the file to that
 * size; without it the file or device must already exist.
 *
 * A backend names its storage by "path" or, for an NVMe namespace, by
 * "controller" + "nsid" (exactly one of the two forms). "type" picks the
 * backend: "auto" (default) serves NVMe namespaces (/dev/nvmeXnY,
 * /dev/ngXnY) by passthrough and everything else as a file; "file" forces
 * the block layer; "nvme" insists on passthrough. "null" has no storage
 * (no path, controller or nsid; "size" required): reads return zeroes and
 * writes are dropped, for measuring ddublkd itself and for trying a policy.
 */
#ifndef DDUBLK_CONF_CONFIG_H
#define DDUBLK_CONF_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cost.h"
#include "conf/tenant_spec.h"

#define CONF_SOCKET_MAX 108 /* sizeof(sockaddr_un.sun_path) */
#define CONF_GROUP_MAX 33 /* including the NUL: group names are 1..32 chars */

#define CONF_DEFAULT_SOCKET "/run/ddublk/ctl.sock"
#define CONF_DEFAULT_QUEUES 1
#define CONF_DEFAULT_DEPTH 64
#define CONF_MAX_QUEUES 64
#define CONF_MAX_DEPTH 1024
#define CONF_MAX_WORKERS 256
#define CONF_MAX_IOPS_LIMIT 10000000u
#define CONF_MIN_BW_LIMIT 4096ULL /* when not 0 */
#define CONF_MAX_BW_LIMIT (1ULL << 40)
#define CONF_MAX_RESERVED (1ULL << 30)
#define CONF_EXTENT_ALIGN (1ULL << 20) /* tenants take whole MiB on a backend */

#define CONF_CONTROLLER_MAX 32

enum conf_backend_type {
	CONF_BACKEND_AUTO = 0, /* NVMe namespace: passthrough; else: file */
	CONF_BACKEND_FILE,
	CONF_BACKEND_NVME,
	CONF_BACKEND_NULL, /* no storage: reads return zeroes */
};

/* What SIGTERM/SIGINT do to tenant devices. */
enum conf_on_stop {
	CONF_ON_STOP_DELETE = 0, /* stop and delete every device */
	/* leave recovery tenants' devices (quiesced, I/O held) for the next daemon */
	CONF_ON_STOP_KEEP,
};

/* Each mode's code is sched/mode_NAME.c, its policy name in config.c's sched_modes[]. */
enum conf_sched_mode {
	CONF_SCHED_STATIC = 0, /* like stock blk-mq: a worker's own queue, no classes */
	CONF_SCHED_DAREDEVIL,
};

/* Polled NVMe queues (daredevil): who may use them, and how workers poll. */
enum conf_poll {
	CONF_POLL_AUTO = 0, /* latency tenants only, polled hybrid (sleep, then poll) */
	CONF_POLL_ALWAYS, /* every group, polled without pause */
	CONF_POLL_NEVER, /* interrupts only: DEFAULT queues wherever a group has one */
};

#define CONF_DEFAULT_LATENCY_TARGET_US 1000
/* scheduler.latency_target_us, and a tenant's when not 0 */
#define CONF_MIN_LATENCY_TARGET_US 10
#define CONF_MAX_LATENCY_TARGET_US 10000000
/* What reservations on one backend may add up to, in device ns per second. */
#define CONF_MAX_RESERVED_NS (COST_NS_PER_SEC / 100 * COST_MAX_RESERVED_PCT)
#define CONF_DEFAULT_ADAPT_INTERVAL_MS 100
#define CONF_DEFAULT_THROUGHPUT_CAP (4ULL << 20)

/* The scheduler section; issue 5's scheduler gives these their meaning. */
struct conf_sched {
	enum conf_sched_mode mode;
	unsigned latency_target_us; /* p99 goal for latency tenants */
	unsigned latency_queues; /* NQs in the latency group at start, 0 = auto */
	unsigned adapt_interval_ms; /* how often group sizes and caps adapt */
	uint64_t throughput_cap; /* T in-flight bytes while L is active (initial) */
	bool promote_flush; /* T tenants' FLUSH/FUA ride the latency group */
	enum conf_poll poll; /* live: reload changes it at once */
	struct cost_model cost; /* the cost_* keys: the drive, for reservations and sharing */
	int line; /* of the section, 0 if absent */
};

struct conf_backend {
	char name[CONF_NAME_MAX];
	char path[PATH_MAX]; /* "" when named by controller + nsid */
	uint64_t size; /* 0: use the existing file/device as is */
	uint64_t reserved; /* bytes kept from tenants at the start (>= 1 MiB: the table) */
	enum conf_backend_type type;
	char controller[CONF_CONTROLLER_MAX]; /* "nvme0", or "" with a path */
	unsigned nsid; /* with controller; 0 with a path */
	int line;
};

struct conf_tenant {
	struct tenant_spec spec; /* unset keys hold their defaults (recovery: true) */
	int line;
};

struct conf {
	char socket_path[CONF_SOCKET_MAX];
	char socket_group[CONF_GROUP_MAX]; /* "" = root only */
	unsigned socket_gid; /* of socket_group, looked up when the policy loads */
	unsigned workers; /* 0 = one per online CPU */
	struct conf_sched sched;
	int log_level; /* enum log_level */
	enum conf_on_stop on_stop;
	int daemon_line; /* of the daemon section, 0 if absent */
	int backends_line; /* of the backends list, 0 if absent */
	struct conf_backend *backends;
	size_t nr_backends;
	struct conf_tenant *tenants;
	size_t nr_tenants;
};

/* Defaults for every field; no backends, no tenants. */
void conf_init(struct conf *c);

/*
 * Load and validate a policy file. Returns 0, or -1 with a one-line
 * "FILE:LINE: key: problem" message in err.
 */
int conf_load_file(const char *path, struct conf *out, char *err, size_t errlen);

/* Same, from a string; `name` stands for the file name in messages. */
int conf_load_string(const char *text, const char *name, struct conf *out,
		     char *err, size_t errlen);

void conf_free(struct conf *c);

/*
 * The loader's room checks again, with real sizes (for --check-config after
 * stat'ing devices): backend_bytes[i] is the size of c->backends[i], 0 if
 * unknown (skipped). A backend must hold its reserved region plus 1 MiB,
 * and its reserved region plus every tenant on it, each rounded up to
 * 1 MiB. Returns 0, or -1 with "LINE: backends[N]: problem" or
 * "LINE: tenants[N]: problem" (the first tenant that does not fit) in err:
 * c does not know its file name, so prefix "FILE:" for the usual form.
 */
int conf_check_capacity(const struct conf *c, const uint64_t *backend_bytes, char *err,
			size_t errlen);

/*
 * The share of the device qos reserves (min_iops, min_bw), in device ns
 * per second: cost_reserved(), saturating at UINT64_MAX where extreme
 * cost_* values would make it wrap. Add shares with conf_add_sat().
 */
uint64_t conf_reservation_ns(const struct cost_model *m, const struct conf_qos *qos);
uint64_t conf_add_sat(uint64_t a, uint64_t b);

const struct conf_backend *conf_find_backend(const struct conf *c, const char *name);

/* "besteffort", "latency", "throughput" ("?" out of range); and back, -1 if unknown. */
const char *conf_class_name(enum conf_class cls);
int conf_class_from_name(const char *name);
/* "static", "daredevil". */
const char *conf_sched_mode_name(enum conf_sched_mode mode);
/* "auto", "always", "never". */
const char *conf_poll_name(enum conf_poll poll);
/* "delete", "keep"; and back, -1 if unknown. */
const char *conf_on_stop_name(enum conf_on_stop on_stop);
int conf_on_stop_from_name(const char *name);

/* "auto", "file", "nvme", "null". */
const char *conf_backend_type_name(enum conf_backend_type type);

/* 1 if name is a valid tenant/backend name: [A-Za-z0-9_.-]{1,63}, not "." or "..". */
int conf_name_valid(const char *name);

#endif
