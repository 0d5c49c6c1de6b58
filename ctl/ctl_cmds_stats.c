/* SPDX-License-Identifier: MIT */
/*
 * The statistics: stats (one snapshot), nq (its NVMe queue map), top (a
 * snapshot every interval, shown as rates) and serve-metrics (a snapshot
 * per Prometheus scrape). Parsing and formats are in statsfmt.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl_cli.h"
#include "ctl/ctl_help.h"
#include "ctl/metrics_http.h"
#include "ctl/statsfmt.h"

/* ---- stats, nq --------------------------------------------------------- */

/* The snapshot in a "stats" payload, or NULL (reported). */
static struct sf_snap *parse_stats(json_object *st)
{
	struct sf_snap *snap;
	char err[256];

	snap = sf_parse(st, err, sizeof(err));
	if (!snap)
		errmsg("%s", err);
	return snap;
}

/* One "stats" request, for the commands that ask more than once. */
static int fetch_stats(struct ctl_opts *o, struct sf_snap **snap)
{
	struct ctl_request req;
	json_object *reply, *st;
	int ret;

	*snap = NULL;
	ctl_request_init(&req, CTL_CMD_STATS);
	ret = transact(o, &req, &reply);
	if (ret)
		return ret;
	st = reply_payload(reply, "stats", json_type_object);
	*snap = st ? parse_stats(st) : NULL;
	json_object_put(reply);
	return *snap ? EXIT_OK : EXIT_REFUSED;
}

/* stats [NAME] */
static int stats_operands(struct cmd_ctx *x, int argc, char **argv)
{
	const char *name = NULL;
	int ret;

	if (x->json && x->prometheus)
		return usage_error("stats", "--json and --prometheus exclude each other");
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc)
		return usage_error("stats", "unexpected argument '%s'", argv[optind]);
	if (name && (ret = check_name("stats", "tenant", name)))
		return ret;
	if (name)
		snprintf(x->req.spec.name, sizeof(x->req.spec.name), "%s", name);
	return 0;
}

static int show_stats(struct cmd_ctx *x, json_object *st)
{
	struct sf_snap *snap = parse_stats(st);

	if (!snap)
		return EXIT_REFUSED;
	if (x->json)
		print_json(st);
	else if (x->prometheus)
		sf_print_prometheus(stdout, snap);
	else
		sf_print_stats(stdout, snap);
	sf_free(snap);
	return EXIT_OK;
}

static int show_nqs(struct cmd_ctx *x, json_object *st)
{
	struct sf_snap *snap = parse_stats(st);
	json_object *nqs;

	if (!snap)
		return EXIT_REFUSED;
	if (!x->json)
		sf_print_nqs(stdout, snap);
	else if (json_object_object_get_ex(st, "nqs", &nqs))
		print_json(nqs);
	else
		puts("[]"); /* a daemon without routers */
	sf_free(snap);
	return EXIT_OK;
}

static const struct option stats_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "prometheus", no_argument, NULL, OPT_PROMETHEUS },
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

const struct command cmd_stats = {
	.name = "stats", .help = help_stats,
	.request = CTL_CMD_STATS, .longopts = stats_options, .args = stats_operands,
	.payload = "stats", .payload_type = json_type_object, .show = show_stats,
};

const struct command cmd_nq = {
	.name = "nq", .help = help_nq,
	.request = CTL_CMD_STATS, .longopts = json_options,
	.payload = "stats", .payload_type = json_type_object, .show = show_nqs,
};

/* ---- serve-metrics ----------------------------------------------------- */

static volatile sig_atomic_t metrics_stop;

static void on_stop_signal(int sig)
{
	(void)sig;
	metrics_stop = 1;
}

/* One scrape: a "stats" request, rendered as Prometheus text. */
static int render_metrics(void *arg, FILE *out, char *err, size_t errlen)
{
	struct sf_snap *snap;

	if (fetch_stats(arg, &snap)) { /* its reason went to stderr */
		snprintf(err, errlen, "no statistics from ddublkd (see ublk-ctl's stderr)");
		return -1;
	}
	sf_print_prometheus(out, snap);
	sf_free(snap);
	return 0;
}

static void serve_metrics_init(struct cmd_ctx *x)
{
	x->listen = DEFAULT_METRICS_LISTEN;
}

static int serve_metrics_option(struct cmd_ctx *x, int c, const char *arg)
{
	if (c != OPT_LISTEN)
		return OPT_NOT_COMMON;
	x->listen = arg;
	return 0;
}

static int serve_metrics(struct cmd_ctx *x)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	char err[512];
	int fd;

	fd = metrics_http_listen(x->listen, err, sizeof(err));
	if (fd < 0)
		return usage_error("serve-metrics", "%s", err);
	/* No SA_RESTART: the wait for a connection ends, and sees metrics_stop. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "ublk-ctl: serving metrics of %s on http://%s/metrics\n", x->o->socket,
		x->listen);
	metrics_http_serve(fd, render_metrics, x->o, &metrics_stop);
	close(fd);
	return EXIT_OK;
}

static const struct option serve_metrics_options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

const struct command cmd_serve_metrics = {
	.name = "serve-metrics", .help = help_serve_metrics,
	.init = serve_metrics_init,
	.longopts = serve_metrics_options, .option = serve_metrics_option,
	.loop = serve_metrics,
};

/* ---- top --------------------------------------------------------------- */

/* --interval: 0.1 .. 86400 seconds, as milliseconds. */
static int parse_interval(const char *text, unsigned *ms)
{
	double v;

	if (parse_seconds(text, 86400, &v) < 0 || v < 0.1)
		return -1;
	*ms = (unsigned)(v * 1000 + 0.5);
	return 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void frame_time(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	if (!localtime_r(&now, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "?");
}

static unsigned terminal_lines(void)
{
	struct winsize ws;

	return ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row ? ws.ws_row : 24;
}

static int top_loop(struct cmd_ctx *x)
{
	struct sf_frame_opts fo = { .sort = x->sort, .tty = isatty(STDOUT_FILENO) == 1 };
	struct sf_snap *prev = NULL, *cur;
	char when[64];
	int ret;

	ret = fetch_stats(x->o, &prev);
	for (unsigned i = 0; !ret && (!x->iterations || i < x->iterations); i++) {
		sleep_ms(x->interval_ms);
		ret = fetch_stats(x->o, &cur);
		if (ret)
			break;
		frame_time(when, sizeof(when));
		fo.when = when;
		fo.max_lines = fo.tty ? terminal_lines() : 0;
		sf_print_top(stdout, prev, cur, &fo);
		if (ferror(stdout))
			ret = EXIT_REFUSED; /* a closed pipe: main() says why */
		sf_free(prev);
		prev = cur;
	}
	sf_free(prev);
	return ret;
}

static void top_init(struct cmd_ctx *x)
{
	x->interval_ms = 1000;
	x->sort = sf_sort_column("iops");
}

static int top_option(struct cmd_ctx *x, int c, const char *arg)
{
	switch (c) {
	case OPT_INTERVAL:
		if (parse_interval(arg, &x->interval_ms))
			return usage_error("top", "--interval must be 0.1 to 86400 seconds, not '%s'",
					   arg);
		return 0;
	case OPT_SORT:
		x->sort = sf_sort_column(arg);
		if (x->sort < 0)
			return usage_error("top", "unknown sort column '%s' (use %s)", arg,
					   sf_sort_columns());
		return 0;
	case 'n':
		if (parse_count(arg, 1000000, &x->iterations) || !x->iterations)
			return usage_error("top", "-n must be 1 to 1000000, not '%s'", arg);
		return 0;
	}
	return OPT_NOT_COMMON;
}

static const struct option top_options[] = {
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "iterations", required_argument, NULL, 'n' },
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

const struct command cmd_top = {
	.name = "top", .help = help_top,
	.init = top_init,
	.longopts = top_options, .shortopts = ":hn:", .option = top_option,
	.loop = top_loop,
};
