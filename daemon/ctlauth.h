/* SPDX-License-Identifier: MIT */
/*
 * Who may use the control socket. Two fences: the socket file's mode
 * (0600 root's, or 0660 in daemon.socket_group), never wider even for a
 * moment, and the peer's credentials as the kernel gives them for every
 * connection (SO_PEERCRED, SO_PEERGROUPS), so a socket made wider by hand
 * or reached some other way still serves only root and the group's
 * members. Apart from the server loop so tests run it without ublk.
 */
#ifndef DDUBLK_DAEMON_CTLAUTH_H
#define DDUBLK_DAEMON_CTLAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* Who is admitted besides root: members of group (by gid), if has_group. */
struct ctl_access {
	bool has_group;
	gid_t gid;
	const char *group; /* its name, for messages */
};

/* A connected client as the kernel saw it at connect(). */
struct ctl_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool in_group; /* the access group is its primary or a supplementary group */
};

/*
 * bind() fd to addr with umask 0177 around it: the file exists only as
 * mode 0600 (the process umask is restored). Returns 0 or -1 with errno.
 */
int ctl_bind_private(int fd, const struct sockaddr_un *addr);

/*
 * ctl_bind_private, then with a group: the file is given to that group
 * and made 0660. Returns 0, or -1 with err set.
 */
int ctl_socket_bind(int fd, const struct sockaddr_un *addr, const struct ctl_access *a,
		    char *err, size_t errlen);

/* The peer of a connected unix socket. Returns 0, or -1 with errno. */
int ctl_peer_get(int fd, const struct ctl_access *a, struct ctl_peer *p);

/* 0 if p may use the socket, else -1 with "permission denied: ..." in why. */
int ctl_peer_check(const struct ctl_peer *p, const struct ctl_access *a, char *why,
		   size_t len);

/*
 * For a connection just accepted: 0 to serve it. -1: refused, logged at
 * warn with the peer's uid and pid; the refusal has been sent as the reply
 * and the write side shut, so the caller closes fd once the client has
 * sent its request (or gone), and the client reads the reason either way.
 */
int ctl_admit(int fd, const struct ctl_access *a);

#endif
