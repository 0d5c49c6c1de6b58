/* SPDX-License-Identifier: MIT */
/*
 * One request, one reply, over the daemon's unix control socket (see
 * ctl/proto.h), within --timeout; a failure is reported on stderr and
 * comes back as the exit status that says whose fault it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl_cli.h"

struct deadline {
	bool forever;
	struct timespec at;
};

static void deadline_start(struct deadline *d, int timeout_ms)
{
	d->forever = timeout_ms < 0;
	clock_gettime(CLOCK_MONOTONIC, &d->at);
	if (d->forever)
		return;
	d->at.tv_sec += timeout_ms / 1000;
	d->at.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (d->at.tv_nsec >= 1000000000) {
		d->at.tv_sec++;
		d->at.tv_nsec -= 1000000000;
	}
}

/* Milliseconds left, rounded up; 0 once past; -1 when there is no limit. */
static int deadline_left_ms(const struct deadline *d)
{
	struct timespec now;
	long long ns;

	if (d->forever)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(d->at.tv_sec - now.tv_sec) * 1000000000 + (d->at.tv_nsec - now.tv_nsec);
	return ns <= 0 ? 0 : (int)((ns + 999999) / 1000000);
}

/* Wait for events on fd; -1 with errno ETIMEDOUT when the deadline passes. */
static int wait_fd(int fd, short events, const struct deadline *d)
{
	struct pollfd p = { .fd = fd, .events = events };
	int left, r;

	for (;;) {
		left = deadline_left_ms(d);
		if (left == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&p, 1, left);
		if (r > 0)
			return 0; /* errors and hangups surface in the read/write */
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

static const char *connect_hint(int err)
{
	switch (err) {
	case ENOENT:
	case ECONNREFUSED:
		return " (is ddublkd running?)";
	case EACCES:
	case EPERM:
		return " (are you root?)";
	default:
		return "";
	}
}

static int connect_daemon(const struct ctl_opts *o, const struct deadline *d, int *fdp)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, left, err;

	memcpy(addr.sun_path, o->socket, strlen(o->socket) + 1); /* length checked */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		errmsg("cannot create a socket: %s", strerror(errno));
		return EXIT_UNREACHABLE;
	}
	/* A unix connect() blocks only on a full backlog, for SO_SNDTIMEO. */
	left = deadline_left_ms(d);
	if (left > 0) {
		struct timeval tv = { .tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000 };

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	while (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		err = errno;
		if (err == EINTR && deadline_left_ms(d) != 0)
			continue;
		close(fd);
		if (err == EAGAIN || err == EINTR)
			errmsg("cannot connect to %s: no answer within %s s (daemon busy?)",
			       o->socket, o->timeout_text);
		else
			errmsg("cannot connect to %s: %s%s", o->socket, strerror(err),
			       connect_hint(err));
		return EXIT_UNREACHABLE;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		errmsg("cannot set up the connection to %s: %s", o->socket, strerror(errno));
		close(fd);
		return EXIT_UNREACHABLE;
	}
	*fdp = fd;
	return EXIT_OK;
}

static int io_failed(const struct ctl_opts *o, const char *what)
{
	if (errno == ETIMEDOUT)
		errmsg("no reply from %s within %s s (the request may still complete)",
		       o->socket, o->timeout_text);
	else
		errmsg("lost the connection to %s while %s: %s", o->socket, what,
		       strerror(errno));
	return EXIT_UNREACHABLE;
}

static int send_all(int fd, const char *buf, size_t len, const struct ctl_opts *o,
		    const struct deadline *d)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return io_failed(o, "sending the request");
		if (wait_fd(fd, POLLOUT, d))
			return io_failed(o, "sending the request");
	}
	return EXIT_OK;
}

/* Read one '\n'-terminated line of at most CTL_MAX_REPLY bytes into buf. */
static int recv_line(int fd, char *buf, size_t cap, size_t *len, const struct ctl_opts *o,
		     const struct deadline *d)
{
	size_t have = 0;
	char *nl;
	ssize_t n;

	for (;;) {
		if (wait_fd(fd, POLLIN, d))
			return io_failed(o, "waiting for the reply");
		n = read(fd, buf + have, cap - have);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return io_failed(o, "reading the reply");
		}
		if (n == 0) {
			errmsg("%s closed the connection without replying", o->socket);
			return EXIT_UNREACHABLE;
		}
		nl = memchr(buf + have, '\n', (size_t)n);
		have += (size_t)n;
		if (nl) {
			*len = (size_t)(nl - buf);
			return EXIT_OK;
		}
		if (have == cap) {
			errmsg("reply from the daemon is longer than %d bytes", CTL_MAX_REPLY);
			return EXIT_REFUSED;
		}
	}
}

/*
 * Send req and wait for the answer. On EXIT_OK *reply is the whole reply
 * object (caller puts it); otherwise the reason has been printed.
 */
int transact(const struct ctl_opts *o, const struct ctl_request *req, json_object **reply)
{
	struct deadline d;
	char *line, *buf = NULL, *err = NULL;
	size_t len = 0;
	int fd = -1, ret;

	line = ctl_request_encode(req);
	if (!line) {
		errmsg("cannot encode the %s request: out of memory", ctl_cmd_name(req->cmd));
		return EXIT_REFUSED;
	}
	deadline_start(&d, o->timeout_ms);
	ret = connect_daemon(o, &d, &fd);
	if (ret)
		goto out;
	ret = send_all(fd, line, strlen(line), o, &d);
	if (ret)
		goto out;
	buf = malloc(CTL_MAX_REPLY + 1);
	if (!buf) {
		errmsg("out of memory");
		ret = EXIT_REFUSED;
		goto out;
	}
	ret = recv_line(fd, buf, CTL_MAX_REPLY + 1, &len, o, &d);
	if (ret)
		goto out;
	/* As long as the line may be: a refused reload lists every change. */
	err = malloc(CTL_MAX_LINE + 1);
	if (!err) {
		errmsg("out of memory");
		ret = EXIT_REFUSED;
		goto out;
	}
	if (ctl_reply_decode(buf, len, reply, err, CTL_MAX_LINE + 1)) {
		errmsg("%s", err); /* the daemon's reason, verbatim */
		ret = EXIT_REFUSED;
	}
out:
	if (fd >= 0)
		close(fd);
	free(err);
	free(buf);
	free(line);
	return ret;
}

/* The reply's payload under key, of the given type, or NULL (reported). */
json_object *reply_payload(json_object *reply, const char *key, enum json_type type)
{
	json_object *val;

	if (json_object_object_get_ex(reply, key, &val) && json_object_is_type(val, type))
		return val;
	errmsg("malformed reply from the daemon (no \"%s\")", key);
	return NULL;
}
