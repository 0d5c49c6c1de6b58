/* SPDX-License-Identifier: MIT */
/*
 * The control protocol between ublk-ctl and ddublkd: JSON lines over a
 * unix stream socket. Each request is one JSON object on one line; the
 * daemon answers each with one JSON object on one line, in order.
 *
 * Requests:
 *   {"cmd":"add","name":"db","backend":"nvme0","size":1073741824,
 *    "queues":1,"depth":64,"class":"latency","iops_limit":5000,
 *    "bw_limit":104857600,"weight":100,"min_iops":1000,"min_bw":52428800,
 *    "latency_target_us":500,"recovery":true}
 *                                    everything after "size" optional; min_iops,
 *                                    min_bw: reservations, at most the limit of
 *                                    their kind; 0 or absent: none; latency_target_us
 *                                    0 or absent: the scheduler's
 *   {"cmd":"del","name":"db","force":false}        force optional: delete even
 *                                                   if mounted or open
 *   {"cmd":"list"}
 *   {"cmd":"features"}
 *   {"cmd":"reload","force":false,"dry_run":false}  both optional
 *   {"cmd":"stats","name":"db"}                     name optional: one tenant
 *
 * Replies:
 *   {"ok":true,"tenant":{TENANT}}                 add
 *   {"ok":true}                                   del
 *   {"ok":true,"tenants":[{TENANT},...]}          list
 *   {"ok":true,"features":{"opcodes":"legacy","flags":["USER_RECOVERY",...],
 *    "flags_raw":24,"kernel":"6.1.0","backends":[{BACKEND},...]}}   features
 *                                                 ("backends": newer daemons)
 *   {"ok":true,"reload":{"applied":true,"changes":["+ tenant \"c\": ...",...]}}
 *                                                 reload (applied false: dry run
 *                                                 or nothing to do)
 *   {"ok":true,"stats":{STATS}}                   stats (ctl/stats_json.h, README)
 *   {"ok":false,"error":"human readable reason"}  any failure
 *
 *   TENANT = {"name":"db","device":"/dev/ublkb0","dev_id":0,"state":"live",
 *             "backend":"nvme0","offset":1048576,"size":1073741824,
 *             "queues":1,"depth":64,"class":"latency","iops_limit":0,
 *             "bw_limit":0,"weight":100,"min_iops":1000,"min_bw":52428800,
 *             "latency_target_us":500,"recovery":true,
 *             "uuid":"8c0c...","created":1795000000}
 *     min_iops, min_bw and latency_target_us are left out when 0 (not set)
 *
 *   BACKEND = {"name":"nvme0","kind":"nvme passthrough","queue_route":"steering",
 *              "hw_queues":64,"reachable_queues":64,"poll_queues":62}
 *     queue_route: "steering" (the kernel lets each command name its NVMe
 *     queue: patches/linux-6.1), "pinned" (a submitter thread pinned per
 *     reachable queue), "none" (no NVMe queue routing: file backends, or
 *     the router could not be built); the counts are 0 with "none".
 *
 * A request line longer than CTL_MAX_LINE bytes is answered with an error
 * and the connection is closed. Unknown commands, unknown keys, missing or
 * mistyped fields are errors and change nothing.
 */
#ifndef DDUBLK_CTL_PROTO_H
#define DDUBLK_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "conf/config.h"

#define CTL_MAX_LINE 65536
/* Replies may be longer than requests: statistics of many tenants. */
#define CTL_MAX_REPLY (16 << 20)

enum ctl_cmd {
	CTL_CMD_NONE = 0,
	CTL_CMD_ADD,
	CTL_CMD_DEL,
	CTL_CMD_LIST,
	CTL_CMD_FEATURES,
	CTL_CMD_RELOAD,
	CTL_CMD_STATS,
};

struct ctl_request {
	enum ctl_cmd cmd;
	/*
	 * add: the tenant (queues, depth 0: the daemon's default; class
	 * besteffort, no limits, weight CONF_DEFAULT_WEIGHT, recovery on
	 * unless given). del: spec.name only; stats: spec.name, "" = every
	 * tenant.
	 */
	struct tenant_spec spec;
	/* del: even if the device is mounted or open; reload: apply destructive changes too */
	bool force;
	bool dry_run; /* reload: only say what would change */
};

/* The defaults of an add request's optional fields. */
void ctl_request_init(struct ctl_request *req, enum ctl_cmd cmd);

struct ctl_tenant_info {
	struct tenant_spec spec;
	char device[64]; /* "/dev/ublkbN", "" when no device */
	int dev_id; /* -1 when no device */
	char state[16]; /* "live", "stopped", "failed" */
	uint64_t offset;
	char uuid[37]; /* "" if unknown */
	uint64_t created; /* seconds since the epoch, 0 if unknown */
};

/* How ddublkd reaches one backend's NVMe queues (the features reply). */
enum ctl_queue_route {
	CTL_ROUTE_NONE = 0,
	CTL_ROUTE_PINNED,
	CTL_ROUTE_STEERING,
};

struct ctl_backend_info {
	char name[CONF_NAME_MAX];
	char kind[32]; /* the backend's kind: "nvme passthrough", "file" */
	enum ctl_queue_route route;
	unsigned hw_queues; /* hardware queues of the namespace */
	unsigned reachable_queues; /* of them, the ones the scheduler uses */
	unsigned poll_queues; /* of those, polled */
};

const char *ctl_cmd_name(enum ctl_cmd cmd);
const char *ctl_queue_route_name(enum ctl_queue_route r);

/*
 * Decode one request line (without the trailing newline; len bytes, need
 * not be NUL-terminated). Validates names with conf_name_valid(), sizes,
 * queue and depth ranges. Returns 0, or -1 with a reason in err.
 */
int ctl_request_decode(const char *line, size_t len, struct ctl_request *req,
		       char *err, size_t errlen);

/* Encode a request as one line including the trailing '\n'. malloc'd. */
char *ctl_request_encode(const struct ctl_request *req);

json_object *ctl_tenant_to_json(const struct ctl_tenant_info *t);
/* 0, or -1 if a field is missing or mistyped. */
int ctl_tenant_from_json(json_object *obj, struct ctl_tenant_info *t);

json_object *ctl_backend_to_json(const struct ctl_backend_info *b);
/* 0, or -1 if a field is missing or mistyped (unknown keys are fine). */
int ctl_backend_from_json(json_object *obj, struct ctl_backend_info *b);

/* Replies as lines including the trailing '\n'. malloc'd. */
char *ctl_reply_error(const char *msg);
/* {"ok":true} plus, if payload_key is set, payload_key: payload (consumed). */
char *ctl_reply_ok(const char *payload_key, json_object *payload);

/*
 * Client side: decode one reply line (len bytes; a trailing '\n' is
 * allowed). Returns 0 with the whole reply object in *reply (caller puts
 * it) when "ok" is true; 1 when the daemon refused, with its "error" text
 * verbatim in err; -1 when the line is not a well-formed reply.
 */
int ctl_reply_decode(const char *line, size_t len, json_object **reply,
		     char *err, size_t errlen);

#endif
