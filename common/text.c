/* SPDX-License-Identifier: MIT */
#include "common/text.h"

#include <errno.h>
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
