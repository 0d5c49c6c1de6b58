/* SPDX-License-Identifier: MIT */
/*
 * The control socket: JSON lines (ctl/proto.h) over a unix stream socket
 * that only root, and the members of daemon.socket_group if set, may use
 * (daemon/ctlauth.h: the file's mode, and every peer's credentials).
 * Requests are served one at a time by the main
 * thread, so each one sees and leaves a consistent tenant table; clients
 * connect concurrently and wait their turn.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/log.h"
#include "daemon/ctlauth.h"
#include "daemon/daemon.h"

#define MAX_CLIENTS 64
#define SEND_TIMEOUT_S 5

struct client {
	int fd;
	char *buf; /* CTL_MAX_LINE + 1; NULL when refused */
	size_t len;
	bool refused; /* told so; closed once it sends its request or leaves */
};

static struct ctl_access access_of(const struct daemon *d)
{
	return (struct ctl_access){ .has_group = d->conf.socket_group[0] != '\0',
				    .gid = (gid_t)d->conf.socket_gid,
				    .group = d->conf.socket_group };
}

static int mkdir_parent(const char *path)
{
	char dir[CONF_SOCKET_MAX];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* A socket file left by a dead daemon is removed; a live daemon is not disturbed. */
static int claim_path(const struct sockaddr_un *addr, char *err, size_t errlen)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live;

	if (fd < 0)
		return 0;
	live = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	if (live) {
		snprintf(err, errlen, "another ddublkd is serving %s", addr->sun_path);
		return -1;
	}
	unlink(addr->sun_path);
	return 0;
}

int ctl_listen(struct daemon *d, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const struct ctl_access access = access_of(d);
	const char *path = d->conf.socket_path;
	int fd;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (mkdir_parent(path) < 0) {
		snprintf(err, errlen, "cannot create the directory of %s: %s", path, strerror(errno));
		return -1;
	}
	if (claim_path(&addr, err, errlen) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		return -1;
	}
	if (ctl_socket_bind(fd, &addr, &access, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	if (listen(fd, 64) < 0) {
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (access.has_group)
		log_info("control socket %s: mode 0660, group %s (gid %u) admitted besides root",
			 path, access.group, (unsigned)access.gid);
	d->listen_fd = fd;
	return 0;
}

void ctl_close(struct daemon *d)
{
	if (d->listen_fd < 0)
		return;
	close(d->listen_fd);
	unlink(d->conf.socket_path);
	d->listen_fd = -1;
}

static char *reply_tenant(const struct tenant *t)
{
	struct ctl_tenant_info info;

	tenant_info(t, &info);
	return ctl_reply_ok("tenant", ctl_tenant_to_json(&info));
}

static char *handle_list(struct daemon *d)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < d->nr_tenants; i++) {
		struct ctl_tenant_info info;

		tenant_info(&d->tenants[i], &info);
		json_object_array_add(arr, ctl_tenant_to_json(&info));
	}
	return ctl_reply_ok("tenants", arr);
}

/* How each backend's NVMe queues are reached: steering, pinned submitters, or none. */
static json_object *backends_json(struct daemon *d)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < d->nr_pools; i++) {
		const struct pool *p = &d->pools[i];
		struct ctl_backend_info b = { .route = CTL_ROUTE_NONE };
		struct router_info ri;

		snprintf(b.name, sizeof(b.name), "%s", p->be->name);
		snprintf(b.kind, sizeof(b.kind), "%s", p->be->ops->kind);
		if (p->router) {
			router_get_info(p->router, &ri);
			b.route = ri.steering ? CTL_ROUTE_STEERING : CTL_ROUTE_PINNED;
			b.hw_queues = ri.nr_hw;
			b.reachable_queues = ri.nr_reachable;
			b.poll_queues = ri.nr_poll;
		}
		json_object_array_add(arr, ctl_backend_to_json(&b));
	}
	return arr;
}

static char *handle_features(struct daemon *d)
{
	json_object *f = json_object_new_object();
	json_object *flags = json_object_new_array();
	struct utsname uts;

	for (unsigned bit = 0; bit < 64; bit++) {
		const char *name = ublk_flag_name(bit);

		if (d->ublk_flags & (1ULL << bit))
			json_object_array_add(flags, json_object_new_string(name ? name : "unknown"));
	}
	json_object_object_add(f, "opcodes", json_object_new_string(ublk_form_name(d->ctrl.form)));
	json_object_object_add(f, "flags", flags);
	json_object_object_add(f, "flags_raw", json_object_new_int64((int64_t)d->ublk_flags));
	json_object_object_add(f, "kernel",
			       json_object_new_string(uname(&uts) == 0 ? uts.release : "unknown"));
	json_object_object_add(f, "backends", backends_json(d));
	return ctl_reply_ok("features", f);
}

static void free_lines(char **lines, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free(lines[i]);
	free(lines);
}

/* Run a reload and log it; used by the ctl command and by SIGHUP. */
static int reload(struct daemon *d, const char *who, bool force, bool dry_run, char ***lines,
		  size_t *nr, bool *applied, char *err, size_t errlen)
{
	int ret;

	log_info("%s: reloading %s%s%s", who, d->policy_path, force ? " (--force)" : "",
		 dry_run ? " (dry run)" : "");
	if (!dry_run)
		sd_notify(0, "RELOADING=1");
	ret = daemon_reload(d, force, dry_run, lines, nr, applied, err, errlen);
	if (!dry_run)
		sd_notifyf(0, "READY=1\nSTATUS=serving %zu tenant(s); last reload %s", d->nr_tenants,
			   ret < 0 ? "failed" : "applied");
	if (ret < 0) {
		for (size_t i = 0; i < *nr; i++)
			log_warn("reload: not applied: %s", (*lines)[i]);
		log_err("%s: reload failed: %s", who, err);
	} else if (*nr == 0) {
		log_info("%s: reload: no changes", who);
	} else if (dry_run) {
		for (size_t i = 0; i < *nr; i++)
			log_info("reload (dry run): %s", (*lines)[i]);
	}
	return ret;
}

static char *handle_reload(struct daemon *d, const struct ctl_request *req)
{
	json_object *obj, *arr;
	char **lines = NULL;
	size_t nr = 0;
	bool applied;
	char err[1024];

	if (reload(d, "control", req->force, req->dry_run, &lines, &nr, &applied, err,
		   sizeof(err)) < 0) {
		/* The refusal carries the list: the operator sees what --force would do. */
		size_t len = strlen(err) + 1;
		char *msg, *reply;

		for (size_t i = 0; i < nr; i++)
			len += strlen(lines[i]) + 1;
		msg = malloc(len);
		if (msg) {
			strcpy(msg, err);
			for (size_t i = 0; i < nr; i++)
				strcat(strcat(msg, "\n"), lines[i]);
		}
		free_lines(lines, nr);
		reply = ctl_reply_error(msg ? msg : err);
		free(msg);
		return reply;
	}
	obj = json_object_new_object();
	arr = json_object_new_array();
	for (size_t i = 0; i < nr; i++)
		json_object_array_add(arr, json_object_new_string(lines[i]));
	json_object_object_add(obj, "applied", json_object_new_boolean(applied));
	json_object_object_add(obj, "changes", arr);
	free_lines(lines, nr);
	return ctl_reply_ok("reload", obj);
}

static char *handle_request(struct daemon *d, const char *line, size_t len)
{
	struct ctl_request req;
	struct tenant *t;
	char err[1024];

	if (ctl_request_decode(line, len, &req, err, sizeof(err)) < 0) {
		log_warn("control: rejected request: %s", err);
		return ctl_reply_error(err);
	}
	switch (req.cmd) {
	case CTL_CMD_ADD:
		if (tenant_add(d, &req.spec, false, &t, err, sizeof(err)) < 0)
			break;
		return reply_tenant(t);
	case CTL_CMD_DEL:
		if (tenant_del(d, req.spec.name, req.force, err, sizeof(err)) < 0)
			break;
		return ctl_reply_ok(NULL, NULL);
	case CTL_CMD_LIST:
		return handle_list(d);
	case CTL_CMD_FEATURES:
		return handle_features(d);
	case CTL_CMD_RELOAD:
		return handle_reload(d, &req);
	case CTL_CMD_STATS: {
		json_object *st = daemon_stats(d, req.spec.name, err, sizeof(err));

		if (!st)
			break;
		return ctl_reply_ok("stats", st);
	}
	default:
		snprintf(err, sizeof(err), "unsupported command");
		break;
	}
	log_warn("control: %s %s failed: %s", ctl_cmd_name(req.cmd), req.spec.name, err);
	return ctl_reply_error(err);
}

/* Replies are small; a client that does not read them within a few seconds is dropped. */
static int send_reply(int fd, char *reply)
{
	size_t len = reply ? strlen(reply) : 0, off = 0;
	int ret = 0;

	while (off < len) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, reply + off, len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && poll(&pfd, 1, SEND_TIMEOUT_S * 1000) > 0)
			continue;
		ret = -1;
		break;
	}
	free(reply);
	return ret;
}

static void drop_client(struct client *c)
{
	close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
	c->len = 0;
	c->refused = false;
}

/* Serve every complete line in the client's buffer. -1: close the connection. */
static int serve_lines(struct daemon *d, struct client *c)
{
	char *nl;

	while ((nl = memchr(c->buf, '\n', c->len))) {
		size_t line_len = (size_t)(nl - c->buf);

		if (send_reply(c->fd, handle_request(d, c->buf, line_len)) < 0)
			return -1;
		memmove(c->buf, nl + 1, c->len - line_len - 1);
		c->len -= line_len + 1;
	}
	if (c->len >= CTL_MAX_LINE) {
		log_warn("control: request longer than %d bytes; closing the connection",
			 CTL_MAX_LINE);
		send_reply(c->fd, ctl_reply_error("request too long"));
		return -1;
	}
	return 0;
}

static void on_client_readable(struct daemon *d, struct client *c)
{
	ssize_t n;

	if (c->refused) {
		char sink[512];

		/* The refusal was its reply; what it sent is not read, only taken off. */
		if (recv(c->fd, sink, sizeof(sink), 0) < 0 && errno == EAGAIN)
			return;
		drop_client(c);
		return;
	}
	n = recv(c->fd, c->buf + c->len, CTL_MAX_LINE - c->len, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_client(c);
		return;
	}
	c->len += (size_t)n;
	if (serve_lines(d, c) < 0)
		drop_client(c);
}

static void accept_clients(struct daemon *d, struct client *clients)
{
	const struct ctl_access access = access_of(d);

	for (;;) {
		int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		bool refused;
		int slot = -1;

		if (fd < 0)
			return;
		/* Every connection: the file's mode may have been widened by hand. */
		refused = ctl_admit(fd, &access) < 0;
		for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
			if (clients[i].fd < 0)
				slot = i;
		if (slot < 0) {
			if (!refused)
				send_reply(fd, ctl_reply_error("too many control connections; retry"));
			close(fd);
			continue;
		}
		if (!refused) {
			clients[slot].buf = malloc(CTL_MAX_LINE + 1);
			if (!clients[slot].buf) {
				close(fd);
				continue;
			}
		}
		clients[slot].fd = fd;
		clients[slot].len = 0;
		clients[slot].refused = refused;
	}
}

/* Returns 1 when the daemon should stop. */
static int on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	if (read(d->signal_fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	if (si.ssi_signo == SIGHUP) {
		char **lines = NULL, err[1024];
		size_t nr = 0;
		bool applied;

		reload(d, "SIGHUP", false, false, &lines, &nr, &applied, err, sizeof(err));
		free_lines(lines, nr);
		return 0;
	}
	log_info("%s: stopping", strsignal((int)si.ssi_signo));
	return 1;
}

int ctl_serve(struct daemon *d)
{
	struct client clients[MAX_CLIENTS];
	struct pollfd pfds[MAX_CLIENTS + 2];

	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i] = (struct client){ .fd = -1 };
	while (!d->stopping) {
		int map[MAX_CLIENTS + 2];
		int tick_ms = pools_tick(d), slo_ms = tenants_slo_tick(d);
		nfds_t n = 2;

		if (slo_ms >= 0 && (tick_ms < 0 || slo_ms < tick_ms))
			tick_ms = slo_ms;
		pfds[0] = (struct pollfd){ .fd = d->signal_fd, .events = POLLIN };
		pfds[1] = (struct pollfd){ .fd = d->listen_fd, .events = POLLIN };
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].fd < 0)
				continue;
			map[n] = i;
			pfds[n++] = (struct pollfd){ .fd = clients[i].fd, .events = POLLIN };
		}
		if (poll(pfds, n, tick_ms) < 0) {
			if (errno == EINTR)
				continue;
			log_err("control: poll: %s", strerror(errno));
			return -1;
		}
		if (pfds[0].revents && on_signal(d))
			d->stopping = true;
		if (pfds[1].revents)
			accept_clients(d, clients);
		for (nfds_t i = 2; i < n; i++)
			if (pfds[i].revents)
				on_client_readable(d, &clients[map[i]]);
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			drop_client(&clients[i]);
	return 0;
}
