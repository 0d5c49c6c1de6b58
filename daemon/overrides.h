/* SPDX-License-Identifier: MIT */
/* Command-line settings that beat the policy file's, at start and on reload. */
#ifndef DDUBLK_DAEMON_OVERRIDES_H
#define DDUBLK_DAEMON_OVERRIDES_H

#include "conf/config.h"

struct daemon_overrides {
	const char *socket; /* NULL: the policy's */
	int workers; /* -1: the policy's */
	int log_level; /* -1: the policy's */
	int on_stop; /* enum conf_on_stop, -1: the policy's */
};

/* What the options alone cannot check: 0, or -1 after saying why on stderr. */
int overrides_check(const struct daemon_overrides *ov);
/* Put ov into c, a policy just read. */
void overrides_apply(const struct daemon_overrides *ov, struct conf *c);

#endif
