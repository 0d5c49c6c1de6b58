/* SPDX-License-Identifier: MIT */
/*
 * ddublkd's top level: the one place that holds mutable process state.
 * Everything below it (ublk/, nvme/, conf/, ctl/) gets what it needs passed
 * in. Only the main (control) thread touches struct daemon; workers see
 * their queues only.
 */
#ifndef DDUBLK_DAEMON_DAEMON_H
#define DDUBLK_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/config.h"
#include "conf/extent.h"
#include "conf/state.h"
#include "ctl/proto.h"
#include "nvme/backend.h"
#include "ublk/ctrl.h"
#include "ublk/dev.h"

/* Reserved at the start of every backend for the on-disk tenant table. */
#define POOL_METADATA_BYTES (1ULL << 20)
#define POOL_ALIGN (1ULL << 20)

struct pool {
	struct backend *be;
	struct extent_map map;
};

struct tenant {
	struct tenant_rec rec;
	struct ublk_dev *dev; /* NULL when not served */
	const char *state; /* "live", "stopped", "failed" */
};

struct daemon {
	struct conf conf;
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
};

/* daemon/tenant.c */
int pools_open(struct daemon *d, char *err, size_t errlen);
void pools_close(struct daemon *d);
struct pool *pool_find(struct daemon *d, const char *name);
/* Recreate the tenants of the state file, then those of the policy. */
int tenants_restore(struct daemon *d, char *err, size_t errlen);
int tenant_add(struct daemon *d, const struct ctl_request *req, struct tenant **out,
	       char *err, size_t errlen);
int tenant_del(struct daemon *d, const char *name, char *err, size_t errlen);
/* Stop and delete every device, keeping the table: the next start brings them back. */
void tenants_stop_all(struct daemon *d);
struct tenant *tenant_find(struct daemon *d, const char *name);
void tenant_info(const struct tenant *t, struct ctl_tenant_info *info);

/* daemon/ctlserver.c */
int ctl_listen(struct daemon *d, char *err, size_t errlen);
/* Serve the socket until SIGTERM/SIGINT. */
int ctl_serve(struct daemon *d);
void ctl_close(struct daemon *d);

#endif
