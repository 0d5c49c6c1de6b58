/* SPDX-License-Identifier: MIT */
/* The one clock QoS runs on: the workers ask the gates with it, reloads set them with it. */
#ifndef DDUBLK_COMMON_CLOCK_H
#define DDUBLK_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif
