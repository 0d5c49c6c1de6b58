/* SPDX-License-Identifier: MIT */
/* Who may use the control socket: see ctlauth.h. */
#include "daemon/ctlauth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "ctl/proto.h"

int ctl_bind_private(int fd, const struct sockaddr_un *addr)
{
	/*
	 * bind() makes the file 0777 less the umask: 0177 gives 0600 at once.
	 * Process-wide, but only for this call; nothing else creates files then.
	 */
	mode_t old = umask(0177);
	int ret = bind(fd, (const struct sockaddr *)addr, sizeof(*addr));
	int saved = errno;

	umask(old);
	errno = saved;
	return ret;
}

int ctl_socket_bind(int fd, const struct sockaddr_un *addr, const struct ctl_access *a,
		    char *err, size_t errlen)
{
	const char *path = addr->sun_path;

	if (ctl_bind_private(fd, addr) < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (!a->has_group)
		return 0;
	/* The group first: 0660 while still root's group would admit root's group. */
	if (chown(path, (uid_t)-1, a->gid) < 0 || chmod(path, 0660) < 0) {
		snprintf(err, errlen, "control socket %s: cannot give it to group %s: %s", path,
			 a->group, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/* Whether gid is among the peer's supplementary groups, as of its connect(). */
static int peer_has_group(int fd, gid_t gid, bool *in)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	int ret = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);

	if (ret < 0 && errno == ERANGE) { /* len now says how much room it needs */
		groups = malloc(len);
		if (!groups)
			return -1;
		ret = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
	}
	*in = false;
	for (size_t i = 0; ret == 0 && i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			*in = true;
	if (groups != small)
		free(groups);
	return ret;
}

int ctl_peer_get(int fd, const struct ctl_access *a, struct ctl_peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -1;
	*p = (struct ctl_peer){ .pid = cred.pid, .uid = cred.uid, .gid = cred.gid };
	if (!a->has_group)
		return 0;
	if (cred.gid == a->gid) {
		p->in_group = true;
		return 0;
	}
	return peer_has_group(fd, a->gid, &p->in_group);
}

int ctl_peer_check(const struct ctl_peer *p, const struct ctl_access *a, char *why,
		   size_t len)
{
	if (p->uid == 0 || (a->has_group && p->in_group))
		return 0;
	if (a->has_group)
		snprintf(why, len, "permission denied: uid %u is neither root nor in group \"%s\" "
			 "(daemon.socket_group)", (unsigned)p->uid, a->group);
	else
		snprintf(why, len, "permission denied: uid %u is not root (the control socket is "
			 "root's alone: daemon.socket_group is not set)", (unsigned)p->uid);
	return -1;
}

int ctl_admit(int fd, const struct ctl_access *a)
{
	struct ctl_peer p;
	char why[256];
	char *reply;

	if (ctl_peer_get(fd, a, &p) < 0) {
		log_warn("control: refused a connection: cannot read its credentials: %s",
			 strerror(errno));
		snprintf(why, sizeof(why), "permission denied: ddublkd cannot tell who you are");
	} else if (ctl_peer_check(&p, a, why, sizeof(why)) == 0) {
		return 0;
	} else {
		log_warn("control: refused a connection from uid %u gid %u (pid %d): %s",
			 (unsigned)p.uid, (unsigned)p.gid, (int)p.pid, why);
	}
	/* One small line fits any socket buffer: a non-blocking send is enough. */
	reply = ctl_reply_error(why);
	if (reply)
		send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
	free(reply);
	shutdown(fd, SHUT_WR);
	return -1;
}
