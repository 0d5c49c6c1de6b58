/* SPDX-License-Identifier: MIT */
/* Reading /proc/PID/mountinfo lines (proc(5)): pure parsing, no system calls. */
#ifndef DDUBLK_COMMON_MOUNTINFO_H
#define DDUBLK_COMMON_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>

/*
 * If the mount described by line has a source that starts with prefix
 * ("/dev/ublkb"), copy its mount point, unescaped (\040 is a space), into
 * target and return true. False for other mounts and malformed lines, or a
 * mount point that does not fit.
 */
bool mountinfo_source_match(const char *line, const char *prefix, char *target, size_t len);

/*
 * If the mount described by line is of the block device major:minor (its
 * third field), copy its mount point, unescaped, into target and return
 * true. Unlike the source, the number is the same in every mount
 * namespace, whatever path the device was mounted by.
 */
bool mountinfo_dev_match(const char *line, unsigned major, unsigned minor, char *target,
			 size_t len);

#endif
