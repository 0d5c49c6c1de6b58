/* SPDX-License-Identifier: MIT */
#include "router/cpulist.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* A decimal at *p (no sign), advancing *p; -1 if there is none or it is too large. */
static long number(const char **p)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)**p))
		return -1;
	v = strtol(*p, &end, 10);
	*p = end;
	return v >= CPU_SETSIZE ? -1 : v;
}

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static bool at_end(const char *p)
{
	return !*p || (*p == '\n' && !p[1]);
}

int cpulist_parse(const char *text, cpu_set_t *set)
{
	const char *p = skip_blanks(text);
	int count = 0;

	if (at_end(p))
		return 0;
	for (;;) {
		long first = number(&p), last = first;

		if (first < 0)
			return -1;
		if (*p == '-') {
			p++;
			last = number(&p);
			if (last < first)
				return -1;
		}
		for (long cpu = first; cpu <= last; cpu++, count++)
			CPU_SET((int)cpu, set);
		p = skip_blanks(p);
		if (at_end(p))
			return count;
		if (*p != ',')
			return -1;
		p = skip_blanks(p + 1);
	}
}

void cpulist_format(const cpu_set_t *set, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		int last = cpu;
		int n;

		if (!CPU_ISSET(cpu, set))
			continue;
		while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, set))
			last++;
		n = last == cpu ? snprintf(buf + used, len - used, "%s%d", used ? "," : "", cpu) :
				  snprintf(buf + used, len - used, "%s%d-%d", used ? "," : "", cpu,
					   last);
		if (n < 0 || (size_t)n >= len - used) {
			if (len >= 4)
				snprintf(buf + len - 4, 4, "...");
			return;
		}
		used += (size_t)n;
		cpu = last;
	}
}
