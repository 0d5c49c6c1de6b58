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
 * The device number of the mount described by line (its "major:minor"
 * field) and its mount point, unescaped, into target. False for a
 * malformed line or a mount point that does not fit.
 */
bool mountinfo_devno(const char *line, unsigned *major, unsigned *minor, char *target,
		     size_t len);

/* The same, true only for a mount of the block device major:minor: the
 * number is the same in every mount namespace, whatever path mounted it. */
bool mountinfo_dev_match(const char *line, unsigned major, unsigned minor, char *target,
			 size_t len);

#endif
