/* SPDX-License-Identifier: MIT */
/*
 * What a policy reload would change. Pure: compares the tenants the daemon
 * runs now with a freshly loaded policy and lists the changes, each marked
 * live (applied without interrupting I/O) or destructive (needs --force).
 *
 * Rules, per tenant name:
 *   in the new policy, not running              -> ADD
 *   running from the policy, gone from it       -> REMOVE      (destructive)
 *   running from `ublk-ctl add`, not in policy  -> nothing (reload leaves it)
 *   running and in the policy:
 *     backend, size, queues, depth or recovery differ
 *                                               -> RESHAPE     (destructive:
 *                                                  the device is recreated;
 *                                                  a new size or backend
 *                                                  means a new, empty extent)
 *     else class or QoS (limits, weight, min_iops, min_bw,
 *     latency_target_us) differ, or it was added by ublk-ctl and the
 *     policy now names it                       -> UPDATE      (live)
 * Sections other than tenants: a changed daemon.socket, daemon.workers or
 * any change to backends is an error (needs a restart): conf_diff fails
 * with "FILE:LINE: key: cannot change on reload; restart ddublkd". The
 * log level and daemon.on_stop apply live; a changed scheduler section is
 * listed too, but the running schedulers keep theirs until the next start
 * (CHANGE_GLOBAL with at_restart): the cost_* keys among them, since the
 * schedulers price requests with the model they started with.
 */
#ifndef DDUBLK_CONF_DIFF_H
#define DDUBLK_CONF_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/config.h"

enum conf_change_kind {
	CHANGE_ADD,
	CHANGE_REMOVE,
	CHANGE_RESHAPE,
	CHANGE_UPDATE,
	CHANGE_GLOBAL, /* log level / scheduler parameters */
};

struct conf_change {
	enum conf_change_kind kind;
	bool destructive;
	char tenant[CONF_NAME_MAX]; /* "" for CHANGE_GLOBAL */
	/* Human text without the tenant name, e.g. "iops_limit 1000 -> 500, class
	 * throughput -> latency", "1 GiB on \"pool\", class latency". */
	char what[512];
	/* ADD/RESHAPE/UPDATE: index of the tenant in new->tenants; else -1. */
	long new_index;
	/* REMOVE/RESHAPE/UPDATE: index in the running array; else -1. */
	long running_index;
	/* GLOBAL: takes effect when ddublkd next starts, not now (the scheduler). */
	bool at_restart;
};

/* One running tenant as the diff sees it. */
struct conf_running {
	struct tenant_spec spec;
	bool from_policy;
};

/*
 * Fill *out (malloc'd, *nr entries, in the order: GLOBAL, REMOVE, RESHAPE,
 * UPDATE, ADD) or return -1 with "FILE:LINE: key: problem" in err (FILE is
 * new_conf's file name as given to conf_diff). old_conf is the policy the
 * daemon loaded last (for the daemon/backends/scheduler comparison).
 */
int conf_diff(const struct conf *old_conf, const struct conf_running *running, size_t nr_running,
	      const struct conf *new_conf, const char *new_file, struct conf_change **out,
	      size_t *nr, char *err, size_t errlen);

/* "+ tenant \"c\": 1 GiB on \"pool\", class latency" etc.: one line, no newline. */
void conf_change_format(const struct conf_change *c, char *buf, size_t len);


#endif
