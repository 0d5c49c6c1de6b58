// SPDX-License-Identifier: MIT
/* A minimal HTTP/1.x server for Prometheus scrapes: see metrics_http.h. */
#include "ctl/metrics_http.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HEAD_MAX 8192
#define IO_TIMEOUT_S 5
#define PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"

int metrics_http_listen(const char *addr, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	const char *colon = strrchr(addr, ':');
	char host[256];
	size_t hlen;
	char *end;
	long port;
	int fd, ret, one = 1;

	if (!colon || colon == addr) {
		snprintf(err, errlen, "'%s' is not HOST:PORT", addr);
		return -1;
	}
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 1 || port > 65535) {
		snprintf(err, errlen, "'%s': the port must be 1 to 65535", addr);
		return -1;
	}
	hlen = (size_t)(colon - addr);
	if (addr[0] == '[' && hlen >= 2 && addr[hlen - 1] == ']') { /* [::1]:9580 */
		addr++;
		hlen -= 2;
	}
	if (hlen >= sizeof(host)) {
		snprintf(err, errlen, "'%s': the host name is too long", addr);
		return -1;
	}
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	ret = getaddrinfo(host, colon + 1, &hints, &res);
	if (ret) {
		snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(ret));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 8) < 0) {
		snprintf(err, errlen, "cannot listen on %s:%ld: %s", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the scraper left or stalled: nothing to tell it */
		buf += n;
		len -= (size_t)n;
	}
}

static void respond(int fd, int status, const char *reason, const char *type,
		    const char *body, size_t len, bool head_only)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n%s\r\n", status, reason, type, len,
			 status == 405 ? "Allow: GET, HEAD\r\n" : "");

	write_all(fd, hdr, (size_t)n);
	if (!head_only)
		write_all(fd, body, len);
}

static void respond_text(int fd, int status, const char *reason, const char *text,
			 bool head_only)
{
	respond(fd, status, reason, "text/plain; charset=utf-8", text, strlen(text), head_only);
}

/* Read the request head: its length, or -1 if it is cut short, too long or slow. */
static ssize_t read_head(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	while (len < cap - 1) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return (ssize_t)len;
	}
	return -1;
}

static void serve_one(int fd, metrics_render_fn render, void *arg)
{
	char head[HEAD_MAX], method[16], target[1024], version[16];
	char err[512], *body = NULL, *q;
	size_t len = 0;
	FILE *out;
	bool head_only;

	if (read_head(fd, head, sizeof(head)) < 0 ||
	    sscanf(head, "%15s %1023s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7)) {
		respond_text(fd, 400, "Bad Request", "bad request\n", false);
		return;
	}
	head_only = !strcmp(method, "HEAD");
	if (strcmp(method, "GET") && !head_only) {
		respond_text(fd, 405, "Method Not Allowed", "only GET and HEAD\n", false);
		return;
	}
	q = strchr(target, '?');
	if (q)
		*q = '\0'; /* Prometheus may add ?name[]=...: everything is served anyway */
	if (!strcmp(target, "/")) {
		respond_text(fd, 200, "OK", "ddublk metrics: see /metrics\n", head_only);
		return;
	}
	if (strcmp(target, "/metrics")) {
		respond_text(fd, 404, "Not Found", "not found: the metrics are at /metrics\n",
			     head_only);
		return;
	}
	out = open_memstream(&body, &len);
	if (!out) {
		respond_text(fd, 500, "Internal Server Error", "out of memory\n", head_only);
		return;
	}
	err[0] = '\0';
	if (render(arg, out, err, sizeof(err)) < 0) {
		fclose(out);
		free(body);
		snprintf(head, sizeof(head), "%s\n", err[0] ? err : "no statistics");
		respond_text(fd, 503, "Service Unavailable", head, head_only);
		return;
	}
	if (fclose(out) != 0) {
		free(body);
		respond_text(fd, 500, "Internal Server Error", "out of memory\n", head_only);
		return;
	}
	respond(fd, 200, "OK", PROM_TYPE, body, len, head_only);
	free(body);
}

void metrics_http_serve(int fd, metrics_render_fn render, void *arg,
			volatile sig_atomic_t *stop)
{
	const struct timeval tmo = { .tv_sec = IO_TIMEOUT_S };

	while (!*stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 1000) <= 0)
			continue; /* timeout, or a signal: look at *stop */
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		/* A scraper that stalls must not hold the next one up for long. */
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
		serve_one(c, render, arg);
		close(c);
	}
}
