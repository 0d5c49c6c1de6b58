/* SPDX-License-Identifier: MIT */
/*
 * Crash recovery: a tenant with recovery on keeps its ublk device when
 * ddublkd dies (the kernel quiesces it and holds its I/O); the next daemon
 * takes that device over instead of creating a new one, so a file system
 * mounted on it never notices more than a pause.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/daemon.h"
#include "ublk/reattach.h"

/* 6.1 checks on a device's daemon every 5 s; leave room for a slow machine. */
#define QUIESCE_TIMEOUT_MS 20000

#define PF_EXITING 0x00000004 /* include/linux/sched.h */

/*
 * pid is a running process: it exists (EPERM: we may not signal it), and
 * is neither a zombie nor exiting, the state the kernel waits for before
 * it quiesces the process's devices. Unknown counts as running.
 */
static bool pid_alive(int pid)
{
	char path[64], buf[1024], state = 0;
	unsigned long flags = 0;
	const char *p;
	size_t n;
	FILE *f;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) state ppid pgrp session tty_nr tpgid flags ...": comm may hold ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
		return true;
	return state != 'Z' && state != 'X' && !(flags & PF_EXITING);
}

static enum ublk_reattach look(struct daemon *d, const struct tenant *t,
			       struct ublksrv_ctrl_dev_info *info, char *why, size_t len)
{
	struct ublk_reattach_want want = {
		.recovery = t->e.spec.recovery,
		.queues = t->e.spec.queues,
		.depth = t->e.spec.depth,
		.size = t->e.spec.size,
		.block_size = t->pool->be->block_size,
	};
	uint32_t id = (uint32_t)t->e.dev_id;
	struct ublk_params params;
	int ret = ublk_ctrl_get_dev_info(&d->ctrl, id, info);
	bool have_params = ret == 0 && ublk_ctrl_get_params(&d->ctrl, id, &params) == 0;

	want.server_alive = ret == 0 && pid_alive(info->ublksrv_pid);
	return ublk_reattach_decide(&want, ret, info, have_params ? &params : NULL, why, len);
}

/* A device that died moments ago is LIVE until the kernel notices. */
static enum ublk_reattach look_settled(struct daemon *d, const struct tenant *t,
				       struct ublksrv_ctrl_dev_info *info, char *why,
				       size_t len)
{
	uint64_t deadline = monotonic_ns() + QUIESCE_TIMEOUT_MS * 1000000ULL;
	enum ublk_reattach r;
	bool told = false;

	while ((r = look(d, t, info, why, len)) == UBLK_REATTACH_WAIT &&
	       monotonic_ns() < deadline) {
		if (!told)
			log_info("tenant \"%s\": ublk device %d is %s; waiting up to %d s for "
				 "the kernel to quiesce it", t->e.spec.name, t->e.dev_id, why,
				 QUIESCE_TIMEOUT_MS / 1000);
		told = true;
		usleep(100000);
	}
	return r;
}

static int refuse(struct tenant *t, const char *why)
{
	log_err("tenant \"%s\": %s; leaving the device alone and not serving the tenant "
		"(stop whatever holds the device, then restart ddublkd)", t->e.spec.name, why);
	t->state = "failed";
	return -1;
}

int tenant_reattach(struct daemon *d, struct tenant *t)
{
	struct ublksrv_ctrl_dev_info info;
	struct ublk_dev_config cfg;
	char why[512], msg[600];
	int ret;

	switch (look_settled(d, t, &info, why, sizeof(why))) {
	case UBLK_REATTACH_NONE:
		return 0;
	case UBLK_REATTACH_WAIT:
		snprintf(msg, sizeof(msg), "ublk device %d is %s after %d s", t->e.dev_id, why,
			 QUIESCE_TIMEOUT_MS / 1000);
		return refuse(t, msg);
	case UBLK_REATTACH_BUSY:
		snprintf(msg, sizeof(msg), "ublk device %d is %s (another ddublkd, or one "
			 "that is stopped?)", t->e.dev_id, why);
		return refuse(t, msg);
	case UBLK_REATTACH_REPLACE:
		if (!t->e.spec.recovery)
			log_info("tenant \"%s\": recovery off: its ublk device %d (%s) from the "
				 "earlier daemon is replaced by a new one", t->e.spec.name,
				 t->e.dev_id, ublk_state_name(info.state));
		else
			log_warn("tenant \"%s\": ublk device %d is left over from an earlier "
				 "daemon but cannot be re-attached (%s); replacing it",
				 t->e.spec.name, t->e.dev_id, why);
		ublk_dev_remove_stale(&d->ctrl, (uint32_t)t->e.dev_id);
		return 0;
	case UBLK_REATTACH_GO:
		break;
	}
	log_info("tenant \"%s\": ublk device %d outlived its daemon (pid %d) and is QUIESCED; "
		 "re-attaching (user recovery)", t->e.spec.name, t->e.dev_id, info.ublksrv_pid);
	if (tenant_dev_config(d, t, &cfg, why, sizeof(why)) < 0)
		return refuse(t, why);
	ret = ublk_dev_reattach(&d->ctrl, d->workers, &cfg, &info, &t->dev, why, sizeof(why));
	if (ret == -EBUSY || ret == UBLK_DEV_STUCK) /* stuck: t->dev keeps the extent */
		return refuse(t, why);
	if (ret < 0) {
		t->dev = NULL;
		log_err("tenant \"%s\": re-attaching failed: %s; creating a new device (a file "
			"system still mounted on the old one sees I/O errors)", t->e.spec.name,
			why);
		return 0;
	}
	t->state = "live";
	log_tenant_up(t, "re-attached from the previous daemon (user recovery)");
	return 1;
}
