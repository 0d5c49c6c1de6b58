/* SPDX-License-Identifier: MIT */
/* Error messages into caller-provided buffers: the convention of every module. */
#ifndef DDUBLK_COMMON_ERR_H
#define DDUBLK_COMMON_ERR_H

#include <stddef.h>

/* printf into err (if err and errlen are set); always NUL-terminated. */
void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
