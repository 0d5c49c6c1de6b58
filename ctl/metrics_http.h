/* SPDX-License-Identifier: MIT */
/*
 * The smallest HTTP server a Prometheus scrape needs, for
 * `ublk-ctl serve-metrics`: GET or HEAD /metrics answers what a render
 * callback writes (the text exposition format), / points there, anything
 * else is 404 or 405. Up to 16 connections at once, each closed after its
 * answer; a request head must fit 8 KiB, and each connection gets 5 s from
 * accept to the last byte of its answer, however it trickles: a slow or
 * stalled client is cut then (408 if its head was not in) and never holds
 * up the others. The answer itself is rendered in place (one daemon
 * request), so scrapes are answered one after the other. The daemon
 * itself serves no HTTP.
 */
#ifndef DDUBLK_CTL_METRICS_HTTP_H
#define DDUBLK_CTL_METRICS_HTTP_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

/* Write the metrics to out: 0, or -1 with a one-line reason in err (-> 503). */
typedef int (*metrics_render_fn)(void *arg, FILE *out, char *err, size_t errlen);

/*
 * Listen on "HOST:PORT" (HOST an IPv4 address, [IPv6] or a name; PORT
 * 1..65535). Returns the socket, or -1 with err set.
 */
int metrics_http_listen(const char *addr, char *err, size_t errlen);

/* Answer requests on fd until *stop is set (checked at least once a second). */
void metrics_http_serve(int fd, metrics_render_fn render, void *arg,
			volatile sig_atomic_t *stop);

#endif
