/* SPDX-License-Identifier: MIT */
#include "common/mountinfo.h"

#include <stdio.h>
#include <string.h>

/* The n-th (0-based) space-separated field of line: its start and length. */
static const char *field(const char *line, unsigned n, size_t *flen)
{
	const char *p = line;

	for (;;) {
		size_t l = strcspn(p, " \n");

		if (!n--) {
			*flen = l;
			return l ? p : NULL;
		}
		if (p[l] != ' ')
			return NULL;
		p += l + 1;
	}
}

/* Octal escapes (\040 space, \011 tab, \012 newline, \134 backslash). */
static bool unescape(const char *s, size_t slen, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < slen; i++) {
		char c = s[i];

		if (c == '\\' && i + 3 < slen && s[i + 1] >= '0' && s[i + 1] <= '3' &&
		    s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			c = (char)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= len)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

bool mountinfo_source_match(const char *line, const char *prefix, char *target, size_t len)
{
	const char *mnt, *p;
	size_t mlen, slen, plen = strlen(prefix);
	unsigned sep;

	/* id parent maj:min root mount-point options [optional...] - fstype source ... */
	mnt = field(line, 4, &mlen);
	if (!mnt)
		return false;
	for (sep = 5; (p = field(line, sep, &slen)) != NULL; sep++)
		if (slen == 1 && *p == '-')
			break;
	if (!p)
		return false;
	p = field(line, sep + 2, &slen);
	if (!p || slen < plen || strncmp(p, prefix, plen))
		return false;
	return unescape(mnt, mlen, target, len);
}

bool mountinfo_devno(const char *line, unsigned *major, unsigned *minor, char *target,
		     size_t len)
{
	const char *dev, *mnt;
	size_t dlen = 0, mlen = 0;
	char num[24];
	unsigned ma, mi;
	char end;

	/* id parent maj:min root mount-point ... */
	dev = field(line, 2, &dlen);
	mnt = field(line, 4, &mlen);
	if (!dev || !mnt || dlen >= sizeof(num))
		return false;
	memcpy(num, dev, dlen);
	num[dlen] = '\0';
	if (sscanf(num, "%u:%u%c", &ma, &mi, &end) != 2 || !unescape(mnt, mlen, target, len))
		return false;
	*major = ma;
	*minor = mi;
	return true;
}

bool mountinfo_dev_match(const char *line, unsigned major, unsigned minor, char *target,
			 size_t len)
{
	unsigned ma, mi;

	return mountinfo_devno(line, &ma, &mi, target, len) && ma == major && mi == minor;
}
