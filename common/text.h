/* SPDX-License-Identifier: MIT */
/* Text: small files read whole (policy, tenant table), untrusted text quoted for messages. */
#ifndef DDUBLK_COMMON_TEXT_H
#define DDUBLK_COMMON_TEXT_H

#include <stddef.h>

/*
 * Everything left in fd as a NUL-terminated string (malloc'd). NULL with
 * errno set on failure: EFBIG past about max_bytes, EILSEQ if the text
 * holds a NUL byte (it would silently cut the text short for a parser).
 */
char *read_text_fd(int fd, size_t max_bytes);

/* Longest piece of untrusted text echoed in a message; more is cut to "...". */
#define QUOTE_MAX 64
/* Room for any quote: every byte as \xNN, the quotes, "..." and the NUL. */
#define QUOTE_BUF (QUOTE_MAX * 4 + 16)

/*
 * Untrusted text for an error message, on one line and bounded: "text",
 * printable ASCII as is, " and \ escaped, the rest as \xNN, cut after
 * QUOTE_MAX bytes with "...", so a hostile name or request cannot put
 * terminal escapes or megabytes into a message. Returns buf; a buf of
 * QUOTE_BUF bytes always holds the whole quote.
 */
const char *quote(const char *s, char *buf, size_t len);
/* The same for the n bytes at s, NUL bytes included (a JSON string's). */
const char *quote_n(const char *s, size_t n, char *buf, size_t len);

#endif
