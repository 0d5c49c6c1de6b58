/* SPDX-License-Identifier: MIT */
/*
 * CPU lists as sysfs prints them: blk-mq's mq/N/cpu_list says "0, 1, 2",
 * /sys/devices/system/cpu/online says "0-3,8". Both forms, mixed, parse.
 */
#ifndef DDUBLK_ROUTER_CPULIST_H
#define DDUBLK_ROUTER_CPULIST_H

#include <sched.h>
#include <stddef.h>

/*
 * Add every CPU of text (one line, a trailing newline allowed) to set.
 * Returns how many CPUs it names (0 for an empty list: an unmapped
 * hardware queue has one), or -1 if text is not a CPU list or names a CPU
 * beyond CPU_SETSIZE.
 */
int cpulist_parse(const char *text, cpu_set_t *set);

/* set as "0-3,8" (truncated with "..." if len is too small; "" if empty). */
void cpulist_format(const cpu_set_t *set, char *buf, size_t len);

#endif
