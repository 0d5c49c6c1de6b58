/* SPDX-License-Identifier: MIT */
/* Reading small text files (policy, tenant table) whole. */
#ifndef DDUBLK_COMMON_TEXT_H
#define DDUBLK_COMMON_TEXT_H

#include <stddef.h>

/*
 * Everything left in fd as a NUL-terminated string (malloc'd). NULL with
 * errno set on failure: EFBIG past about max_bytes, EILSEQ if the text
 * holds a NUL byte (it would silently cut the text short for a parser).
 */
char *read_text_fd(int fd, size_t max_bytes);

#endif
