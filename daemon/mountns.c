/* SPDX-License-Identifier: MIT */
/*
 * ddublkd's own mount namespace. If the daemon shared one with a tenant's
 * mounted file system, its own exit could block flushing through itself;
 * and a copy of such a mount (unshare copies every mount there is) would
 * keep the file system alive after the operator unmounts it, so that it is
 * never cleanly unmounted and its device can never be deleted.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "common/log.h"
#include "common/mountinfo.h"
#include "daemon/daemon.h"

#define UBLK_BLOCK_PREFIX "/dev/ublkb"

/* Lazily unmount, in this namespace only, every mount of a ublk device. */
static void drop_tenant_mounts(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], target[4096];
	char **found = NULL;
	size_t n = 0;

	if (!f) {
		log_warn("cannot read /proc/self/mountinfo: %s", strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char **grown;

		if (!mountinfo_source_match(line, UBLK_BLOCK_PREFIX, target, sizeof(target)))
			continue;
		grown = realloc(found, (n + 1) * sizeof(*found));
		if (!grown || !(grown[n] = strdup(target))) {
			found = grown ? grown : found;
			log_warn("out of memory listing tenant mounts");
			break;
		}
		found = grown;
		n++;
	}
	fclose(f);
	/* Children are listed after their parents: undo them first. */
	while (n--) {
		if (umount2(found[n], MNT_DETACH) < 0)
			log_warn("cannot drop the copy of %s (a ublk device) from my mount "
				 "namespace: %s", found[n], strerror(errno));
		else
			log_debug("dropped the copy of mount %s from my mount namespace",
				  found[n]);
		free(found[n]);
	}
	free(found);
}

void enter_own_mount_ns(void)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		log_warn("cannot enter a private mount namespace: %s", strerror(errno));
		return;
	}
	drop_tenant_mounts();
}
