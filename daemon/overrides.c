/* SPDX-License-Identifier: MIT */
#include "daemon/overrides.h"

#include <stdio.h>
#include <string.h>

int overrides_check(const struct daemon_overrides *ov)
{
	if (ov->socket && (ov->socket[0] != '/' || strlen(ov->socket) >= CONF_SOCKET_MAX)) {
		fprintf(stderr, "ddublkd: --socket must be an absolute path shorter than %d bytes\n",
			CONF_SOCKET_MAX);
		return -1;
	}
	return 0;
}

void overrides_apply(const struct daemon_overrides *ov, struct conf *c)
{
	if (ov->socket)
		snprintf(c->socket_path, sizeof(c->socket_path), "%s", ov->socket);
	if (ov->workers >= 0)
		c->workers = (unsigned)ov->workers;
	if (ov->log_level >= 0)
		c->log_level = ov->log_level;
	if (ov->on_stop >= 0)
		c->on_stop = (enum conf_on_stop)ov->on_stop;
}
