/* SPDX-License-Identifier: MIT */
/*
 * The credentials a worker's ublk FETCH commands carry.
 *
 * 6.1's START_DEV reads a new disk's partition table while it holds the
 * device's mutex, unless some queue's daemon lacked CAP_SYS_ADMIN when it
 * fetched. If ddublkd dies with that read in its hands, the device is lost
 * until reboot: the kernel's quiesce work (user recovery) waits for the
 * mutex, START_DEV waits for the read, and the dying daemon waits for
 * START_DEV, in D state. A tenant's partition table is tenant data, which
 * the host has no business parsing anyway. So FETCHes go out under an
 * io_uring personality: this thread's credentials minus CAP_SYS_ADMIN.
 */
#ifndef DDUBLK_UBLK_FETCH_CREDS_H
#define DDUBLK_UBLK_FETCH_CREDS_H

#include <liburing.h>

/*
 * Register, on ring, a personality like the calling thread minus
 * CAP_SYS_ADMIN. Returns its id (> 0), 0 when the thread has no
 * CAP_SYS_ADMIN to drop (FETCH then needs no personality), or -errno.
 * The calling thread's own credentials are the same before and after.
 */
int ublk_fetch_personality(struct io_uring *ring);

#endif
