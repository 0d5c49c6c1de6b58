/* SPDX-License-Identifier: MIT */
/*
 * The control socket's fences (daemon/ctlauth.h): the file is 0600 from
 * the moment it exists, 0660 in daemon.socket_group when one is set, and
 * every connection is checked by the credentials the kernel gives for its
 * peer. As root, a child that drops to uid 65534 (with a supplementary
 * group) connects for real: refused with the reason, or admitted as a
 * member of the group.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/ctlauth.h"

#define NOBODY 65534
#define MEMBER_GID 4242 /* the child's supplementary group */
#define OTHER_GID 4243

static const struct ctl_access root_only = { .has_group = false };

struct dir {
	char path[64];
	struct sockaddr_un addr;
};

static void dir_make(struct dir *d)
{
	snprintf(d->path, sizeof(d->path), "/tmp/ctlauth.XXXXXX");
	assert_non_null(mkdtemp(d->path));
	assert_int_equal(chmod(d->path, 0755), 0); /* the child must reach the socket */
	d->addr = (struct sockaddr_un){ .sun_family = AF_UNIX };
	snprintf(d->addr.sun_path, sizeof(d->addr.sun_path), "%s/ctl.sock", d->path);
}

static void dir_remove(struct dir *d)
{
	unlink(d->addr.sun_path);
	rmdir(d->path);
}

static int unix_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	return fd;
}

static mode_t mode_of(const char *path, gid_t *gid)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	if (gid)
		*gid = st.st_gid;
	return st.st_mode & 07777;
}

/* Even under umask 0, the file bind() creates is 0600: no window for others. */
static void test_bind_private(void **state)
{
	mode_t old = umask(0);
	struct dir d;
	int fd = unix_socket();

	(void)state;
	dir_make(&d);
	assert_int_equal(ctl_bind_private(fd, &d.addr), 0);
	assert_int_equal(mode_of(d.addr.sun_path, NULL), 0600);
	assert_int_equal(umask(old), 0); /* the process umask is put back */
	close(fd);
	dir_remove(&d);
}

/* Without a group the file stays 0600; with one it is 0660 in that group. */
static void test_socket_bind_modes(void **state)
{
	struct ctl_access grp = { .has_group = true, .group = "test" };
	mode_t old = umask(0);
	struct dir d;
	gid_t gid;
	int fd;

	(void)state;
	/* Root may give the file any group; others only their own. */
	grp.gid = geteuid() == 0 ? MEMBER_GID : getegid();
	dir_make(&d);
	fd = unix_socket();
	assert_int_equal(ctl_socket_bind(fd, &d.addr, &root_only, NULL, 0), 0);
	assert_int_equal(mode_of(d.addr.sun_path, NULL), 0600);
	close(fd);
	unlink(d.addr.sun_path);
	fd = unix_socket();
	assert_int_equal(ctl_socket_bind(fd, &d.addr, &grp, NULL, 0), 0);
	assert_int_equal(mode_of(d.addr.sun_path, &gid), 0660);
	assert_int_equal(gid, grp.gid);
	close(fd);
	umask(old);
	dir_remove(&d);
}

static void test_socket_bind_error(void **state)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = "/nonexistent/dir/ctl.sock" };
	char err[256] = "";
	int fd = unix_socket();

	(void)state;
	assert_int_equal(ctl_socket_bind(fd, &addr, &root_only, err, sizeof(err)), -1);
	assert_string_equal(err, "control socket /nonexistent/dir/ctl.sock: No such file or directory");
	close(fd);
}

/* The decision alone, from credentials. */
static void test_peer_check(void **state)
{
	const struct ctl_access grp = { .has_group = true, .gid = 4242, .group = "ddublk" };
	struct ctl_peer root = { .pid = 1, .uid = 0, .gid = 0 };
	struct ctl_peer user = { .pid = 77, .uid = 1000, .gid = 1000 };
	char why[256];

	(void)state;
	assert_int_equal(ctl_peer_check(&root, &root_only, why, sizeof(why)), 0);
	assert_int_equal(ctl_peer_check(&root, &grp, why, sizeof(why)), 0);
	assert_int_equal(ctl_peer_check(&user, &root_only, why, sizeof(why)), -1);
	assert_string_equal(why, "permission denied: uid 1000 is not root (the control socket is "
				 "root's alone: daemon.socket_group is not set)");
	assert_int_equal(ctl_peer_check(&user, &grp, why, sizeof(why)), -1);
	assert_string_equal(why, "permission denied: uid 1000 is neither root nor in group "
				 "\"ddublk\" (daemon.socket_group)");
	user.in_group = true;
	assert_int_equal(ctl_peer_check(&user, &grp, why, sizeof(why)), 0);
	/* in_group means nothing without a configured group */
	assert_int_equal(ctl_peer_check(&user, &root_only, why, sizeof(why)), -1);
}

/* Our own credentials through a socketpair. */
static void test_peer_get_self(void **state)
{
	struct ctl_access grp = { .has_group = true, .gid = getegid(), .group = "mine" };
	struct ctl_peer p;
	gid_t other = 1;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(ctl_peer_get(sv[0], &grp, &p), 0);
	assert_int_equal(p.pid, getpid());
	assert_int_equal(p.uid, geteuid());
	assert_int_equal(p.gid, getegid());
	assert_true(p.in_group); /* the primary group counts */
	/* a gid that is none of ours */
	for (;; other++) {
		gid_t groups[256];
		int n = getgroups(256, groups), i;

		for (i = 0; i < n && groups[i] != other; i++)
			;
		if (i == n && other != getegid())
			break;
	}
	grp.gid = other;
	assert_int_equal(ctl_peer_get(sv[0], &grp, &p), 0);
	assert_false(p.in_group);
	close(sv[0]);
	close(sv[1]);
}

/*
 * A child as uid/gid 65534 with supplementary group MEMBER_GID connects,
 * sends a request and writes the reply line it reads to out. Root only.
 */
static pid_t nobody_client(const struct sockaddr_un *addr, int out)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		const gid_t groups[] = { MEMBER_GID };
		char buf[512];
		ssize_t n, have = 0;
		int fd;

		if (setgroups(1, groups) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(10);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0)
			_exit(11);
		if (send(fd, "{\"cmd\":\"list\"}\n", 15, MSG_NOSIGNAL) != 15)
			_exit(12);
		while ((n = read(fd, buf + have, sizeof(buf) - 1 - (size_t)have)) > 0) {
			have += n;
			if (memchr(buf, '\n', (size_t)have))
				break;
		}
		if (write(out, buf, (size_t)have) != have)
			_exit(13);
		_exit(0);
	}
	return pid;
}

/* Accept one connection from a nobody_client and admit or refuse it; its reply line. */
static int serve_nobody(const struct ctl_access *a, char *reply, size_t len)
{
	struct dir d;
	int lfd = unix_socket(), cfd, pipefd[2], status, admitted;
	struct pollfd p;
	pid_t pid;
	ssize_t n;

	dir_make(&d);
	assert_int_equal(ctl_socket_bind(lfd, &d.addr, a, NULL, 0), 0);
	/* As if the operator had made it wider: the peer check must still hold. */
	assert_int_equal(chmod(d.addr.sun_path, 0666), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(pipe(pipefd), 0);
	pid = nobody_client(&d.addr, pipefd[1]);
	close(pipefd[1]);
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(cfd >= 0);
	admitted = ctl_admit(cfd, a) == 0;
	p = (struct pollfd){ .fd = cfd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1); /* the request, as the server would wait */
	if (admitted)
		assert_int_equal(send(cfd, "served\n", 7, MSG_NOSIGNAL), 7);
	else
		assert_true(recv(cfd, reply, len, 0) > 0); /* drained, as the server does */
	n = read(pipefd[0], reply, len - 1);
	assert_true(n > 0);
	reply[n] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(cfd);
	close(pipefd[0]);
	close(lfd);
	dir_remove(&d);
	return admitted;
}

static void test_other_user_refused(void **state)
{
	const struct ctl_access other = { .has_group = true, .gid = OTHER_GID, .group = "ops" };
	char reply[512];

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_false(serve_nobody(&root_only, reply, sizeof(reply)));
	assert_string_equal(reply, "{\"ok\":false,\"error\":\"permission denied: uid 65534 is not "
				   "root (the control socket is root's alone: daemon.socket_group "
				   "is not set)\"}\n");
	assert_false(serve_nobody(&other, reply, sizeof(reply)));
	assert_string_equal(reply, "{\"ok\":false,\"error\":\"permission denied: uid 65534 is "
				   "neither root nor in group \\\"ops\\\" (daemon.socket_group)\"}\n");
}

static void test_group_member_admitted(void **state)
{
	const struct ctl_access member = { .has_group = true, .gid = MEMBER_GID, .group = "ops" };
	char reply[512];

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_true(serve_nobody(&member, reply, sizeof(reply)));
	assert_string_equal(reply, "served\n");
}

static void test_root_admitted(void **state)
{
	int sv[2];

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(ctl_admit(sv[0], &root_only), 0);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_private),
		cmocka_unit_test(test_socket_bind_modes),
		cmocka_unit_test(test_socket_bind_error),
		cmocka_unit_test(test_peer_check),
		cmocka_unit_test(test_peer_get_self),
		cmocka_unit_test(test_other_user_refused),
		cmocka_unit_test(test_group_member_admitted),
		cmocka_unit_test(test_root_admitted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
