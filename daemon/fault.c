/* SPDX-License-Identifier: MIT */
#include "daemon/fault.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/daemon.h"

void fault_arm(struct daemon *d)
{
	const char *fault = getenv("DDUBLKD_FAULT");

	d->crash_at = getenv("DDUBLKD_CRASH_AT");
	if (d->crash_at && !strcmp(d->crash_at, "first-read"))
		ublk_workers_crash_on_read(d->workers);
	if (fault && !strncmp(fault, "stuck-create:", 13))
		ublk_dev_fault_stuck_create(fault + 13);
}

void crash_point(const struct daemon *d, const char *where)
{
	if (!d->crash_at || strcmp(d->crash_at, where))
		return;
	log_warn("DDUBLKD_CRASH_AT=%s: killing myself (test hook)", where);
	raise(SIGKILL);
}
