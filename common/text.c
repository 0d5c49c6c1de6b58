/* SPDX-License-Identifier: MIT */
#include "common/text.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *read_text_fd(int fd, size_t max_bytes)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *grown;
	ssize_t n;
	int saved;

	if (!buf)
		return NULL;
	for (;;) {
		if (len + 1 == cap) {
			grown = cap > max_bytes ? NULL : realloc(buf, cap * 2);
			if (!grown) {
				errno = EFBIG;
				goto fail;
			}
			buf = grown;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		errno = EILSEQ;
		goto fail;
	}
	return buf;
fail:
	saved = errno;
	free(buf);
	errno = saved;
	return NULL;
}

/* Append to buf (len bytes, *o used), cut short where it is full. */
static void put(char *buf, size_t len, size_t *o, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t len, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o + 1 >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *o, len - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o = *o + (size_t)n < len ? *o + (size_t)n : len - 1;
}

const char *quote_n(const char *s, size_t n, char *buf, size_t len)
{
	size_t o = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	put(buf, len, &o, "\"");
	for (size_t i = 0; i < n && i < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			put(buf, len, &o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			put(buf, len, &o, "\\x%02x", c);
		else
			put(buf, len, &o, "%c", c);
	}
	put(buf, len, &o, n > QUOTE_MAX ? "\"..." : "\"");
	return buf;
}

const char *quote(const char *s, char *buf, size_t len)
{
	return quote_n(s, strnlen(s, QUOTE_MAX + 1), buf, len);
}
