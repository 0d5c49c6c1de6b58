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
#include <time.h>
#include <unistd.h>

#define HEAD_MAX 8192
#define MAX_CONNS 16
#define REQUEST_DEADLINE_MS 5000 /* from accept to the last byte of the answer */
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
	/* Non-blocking: a client gone between poll and accept must not stall the loop. */
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    res->ai_protocol);
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

/* Head bytes read so far, then the answer being written; both bounded by deadline. */
struct conn {
	int fd; /* -1: free slot */
	long long deadline_ms;
	size_t head_len;
	char head[HEAD_MAX];
	char *out; /* the whole answer, once the head is in */
	size_t out_len, out_off;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The whole answer as one buffer, so it can be sent piecewise without blocking. */
static char *answer(int status, const char *reason, const char *type, const char *body,
		    size_t len, bool head_only, size_t *out_len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	fprintf(f, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		"Connection: close\r\n%s\r\n", status, reason, type, len,
		status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (!head_only)
		fwrite(body, 1, len, f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*out_len = size;
	return buf;
}

static char *answer_text(int status, const char *reason, const char *text, bool head_only,
			 size_t *out_len)
{
	return answer(status, reason, "text/plain; charset=utf-8", text, strlen(text), head_only,
		      out_len);
}

/* The answer to a complete request head (NUL-terminated in head). */
static char *handle(char *head, metrics_render_fn render, void *arg, size_t *out_len)
{
	char method[16], target[1024], version[16];
	char err[512], msg[600], *body = NULL, *q, *reply;
	size_t len = 0;
	FILE *out;
	bool head_only;

	if (sscanf(head, "%15s %1023s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7))
		return answer_text(400, "Bad Request", "bad request\n", false, out_len);
	head_only = !strcmp(method, "HEAD");
	if (strcmp(method, "GET") && !head_only)
		return answer_text(405, "Method Not Allowed", "only GET and HEAD\n", false, out_len);
	q = strchr(target, '?');
	if (q)
		*q = '\0'; /* Prometheus may add ?name[]=...: everything is served anyway */
	if (!strcmp(target, "/"))
		return answer_text(200, "OK", "ddublk metrics: see /metrics\n", head_only, out_len);
	if (strcmp(target, "/metrics"))
		return answer_text(404, "Not Found", "not found: the metrics are at /metrics\n",
				   head_only, out_len);
	out = open_memstream(&body, &len);
	if (!out)
		return answer_text(500, "Internal Server Error", "out of memory\n", head_only,
				   out_len);
	err[0] = '\0';
	if (render(arg, out, err, sizeof(err)) < 0) {
		fclose(out);
		free(body);
		snprintf(msg, sizeof(msg), "%s\n", err[0] ? err : "no statistics");
		return answer_text(503, "Service Unavailable", msg, head_only, out_len);
	}
	if (fclose(out) != 0) {
		free(body);
		return answer_text(500, "Internal Server Error", "out of memory\n", head_only,
				   out_len);
	}
	reply = answer(200, "OK", PROM_TYPE, body, len, head_only, out_len);
	free(body);
	return reply;
}

/*
 * Closing a TCP socket with unread input makes the kernel answer with a
 * reset and drop what was not sent yet -- a slow client still sending its
 * head would lose the 408 it was just sent. So: FIN after the answer, the
 * input that has arrived drained, then close. (A byte arriving after the
 * close still draws a reset; by then the answer has left.)
 */
static void conn_close(struct conn *c)
{
	char sink[512];

	shutdown(c->fd, SHUT_WR);
	for (int i = 0; i < 16 && recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		; /* bounded: a client that floods us gets its reset */
	close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
}

/* Read what there is of the head; once it is complete, prepare the answer. */
static void conn_read(struct conn *c, metrics_render_fn render, void *arg)
{
	ssize_t n = recv(c->fd, c->head + c->head_len, sizeof(c->head) - 1 - c->head_len, 0);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		c->head_len += (size_t)n;
		c->head[c->head_len] = '\0';
		if (strstr(c->head, "\r\n\r\n") || strstr(c->head, "\n\n"))
			c->out = handle(c->head, render, arg, &c->out_len);
		else if (c->head_len < sizeof(c->head) - 1)
			return;
	}
	/* Cut short, too long, or we are out of memory: what there is, or nothing. */
	if (!c->out)
		c->out = answer_text(400, "Bad Request", "bad request\n", false, &c->out_len);
	if (!c->out)
		conn_close(c);
}

static void conn_write(struct conn *c)
{
	ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		conn_close(c); /* the scraper left: nothing to tell it */
		return;
	}
	c->out_off += (size_t)n;
	if (c->out_off == c->out_len)
		conn_close(c);
}

/* Past its deadline: a word to a client still sending its head, then the door. */
static void conn_expire(struct conn *c)
{
	size_t len;
	char *msg = c->out ? NULL : answer_text(408, "Request Timeout",
						"the request took too long\n", false, &len);

	if (msg)
		send(c->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(msg);
	conn_close(c);
}

static void accept_conn(int fd, struct conn *conns)
{
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (c < 0)
		return;
	for (int i = 0; i < MAX_CONNS; i++) {
		if (conns[i].fd >= 0)
			continue;
		conns[i].fd = c;
		conns[i].deadline_ms = now_ms() + REQUEST_DEADLINE_MS;
		conns[i].head_len = 0;
		conns[i].out_len = conns[i].out_off = 0;
		return;
	}
	close(c); /* not reached: the listener is not polled while every slot is taken */
}

void metrics_http_serve(int fd, metrics_render_fn render, void *arg,
			volatile sig_atomic_t *stop)
{
	struct conn *conns = calloc(MAX_CONNS, sizeof(*conns));
	struct pollfd pfds[MAX_CONNS + 1];
	int map[MAX_CONNS + 1];

	if (!conns)
		return;
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	while (!*stop) {
		long long now = now_ms();
		int timeout = 1000; /* look at *stop at least once a second */
		nfds_t n = 0;

		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = &conns[i];

			if (c->fd < 0)
				continue;
			if (c->deadline_ms <= now) {
				conn_expire(c);
				continue;
			}
			if (c->deadline_ms - now < timeout)
				timeout = (int)(c->deadline_ms - now);
			map[n] = i;
			pfds[n++] = (struct pollfd){ .fd = c->fd,
						     .events = c->out ? POLLOUT : POLLIN };
		}
		/* With every slot taken, newcomers wait in the backlog for at most a deadline. */
		if (n < MAX_CONNS) {
			map[n] = -1;
			pfds[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
		}
		if (poll(pfds, n, timeout) <= 0)
			continue; /* timeout, or a signal: look at *stop and the deadlines */
		for (nfds_t i = 0; i < n; i++) {
			struct conn *c = map[i] < 0 ? NULL : &conns[map[i]];

			if (!pfds[i].revents)
				continue;
			if (!c) {
				accept_conn(fd, conns);
				continue;
			}
			if (!c->out)
				conn_read(c, render, arg);
			if (c->fd >= 0 && c->out) /* most answers fit the socket buffer at once */
				conn_write(c);
		}
	}
	for (int i = 0; i < MAX_CONNS; i++)
		if (conns[i].fd >= 0)
			conn_close(&conns[i]);
	free(conns);
}
