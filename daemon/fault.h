/* SPDX-License-Identifier: MIT */
/*
 * Test-only hooks, armed from the environment: DDUBLKD_CRASH_AT kills the
 * daemon at a named point of a change (kill_during_add, kill_during_start),
 * DDUBLKD_FAULT=stuck-create:NAME makes NAME's device start hang.
 */
#ifndef DDUBLK_DAEMON_FAULT_H
#define DDUBLK_DAEMON_FAULT_H

struct daemon;

/* Read the hooks into d and arm those of the workers (d->workers exist). */
void fault_arm(struct daemon *d);
/* Die with SIGKILL here if DDUBLKD_CRASH_AT names where. */
void crash_point(const struct daemon *d, const char *where);

#endif
