/* SPDX-License-Identifier: MIT */
/*
 * ublk-ctl: the operator's interface to ddublkd.
 *
 * One request, one reply, over the daemon's unix control socket (see
 * ctl/proto.h). Output is meant for both people and scripts: stdout
 * carries only results, stderr only "ublk-ctl: reason", and the exit
 * status says whose fault a failure was (see EXIT STATUS in the help).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h> /* isfinite(): a macro, no libm */
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/units.h"
#include "conf/config.h"
#include "ctl/ctl_help.h"
#include "ctl/metrics_http.h"
#include "ctl/proto.h"
#include "ctl/statsfmt.h"

#define UBLK_CTL_VERSION "0.1.0" /* keep in step with project() in CMakeLists.txt */

/* common_option(): c is not a common option / help was printed, stop. */
#define OPT_NOT_COMMON (-1)
#define OPT_HELP_SHOWN (-2)
#define MAX_TIMEOUT_S 2147483.0 /* milliseconds must fit an int for poll() */

enum exit_status {
	EXIT_OK = 0,
	EXIT_REFUSED = 1, /* the daemon said no, or answered nonsense */
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3, /* no daemon, or no answer in time */
};

/* Long-only options get values outside the char range. */
enum {
	OPT_HELP = 256,
	OPT_SOCKET,
	OPT_TIMEOUT,
	OPT_VERSION,
	OPT_NAME,
	OPT_BACKEND,
	OPT_SIZE,
	OPT_QUEUES,
	OPT_DEPTH,
	OPT_JSON,
	OPT_CLASS,
	OPT_IOPS_LIMIT,
	OPT_BW_LIMIT,
	OPT_WEIGHT,
	OPT_NO_RECOVERY,
	OPT_FORCE,
	OPT_DRY_RUN,
	OPT_PROMETHEUS,
	OPT_INTERVAL,
	OPT_SORT,
	OPT_LISTEN,
};

/* Accepted before the command and, for convenience, after it too. */
#define COMMON_LONG_OPTIONS                                            \
	{ "socket", required_argument, NULL, OPT_SOCKET },             \
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },           \
	{ "help", no_argument, NULL, OPT_HELP }

struct ctl_opts {
	const char *socket;
	const char *timeout_text; /* as given, for messages */
	int timeout_ms; /* -1: wait forever */
};

struct deadline {
	bool forever;
	struct timespec at;
};

/* One run of a command: what its options and arguments said. */
struct cmd_ctx {
	struct ctl_opts *o;
	const struct command *cmd;
	struct ctl_request req; /* what query_and_show() sends */
	bool json; /* --json */
	bool prometheus; /* stats --prometheus */
	/* add: the required values, checked once every option is read */
	const char *name, *backend, *size;
	/* top */
	unsigned interval_ms, iterations;
	int sort;
	const char *listen; /* serve-metrics */
};

/*
 * A command is its table entry. run_command() parses the common options
 * and the command's own (option), then its arguments (args); then it
 * sends req and hands the reply's payload to show, or calls loop for a
 * command that asks more than once. raw takes over all of it (help).
 */
struct command {
	const char *name;
	const char *help;
	int (*raw)(struct ctl_opts *o, int argc, char **argv);
	enum ctl_cmd request; /* the request ctx.req starts as */
	const struct option *longopts; /* NULL: the common ones only */
	const char *shortopts; /* NULL: ":h" */
	/* 0, or an exit status (its reason printed), or OPT_NOT_COMMON */
	int (*option)(struct cmd_ctx *x, int c, const char *arg);
	/* The operands argv[optind..argc); NULL: there must be none. */
	int (*args)(struct cmd_ctx *x, int argc, char **argv);
	const char *payload; /* the reply's key show takes; NULL: none */
	enum json_type payload_type;
	int (*show)(struct cmd_ctx *x, json_object *payload);
	int (*loop)(struct cmd_ctx *x); /* instead of one request and show */
};

/* ---- messages ---------------------------------------------------------- */

static void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void errmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ublk-ctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Report a usage error for `cmd` (NULL: global) and return EXIT_USAGE. */
static int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ublk-ctl: ", stderr);
	if (cmd)
		fprintf(stderr, "%s: ", cmd);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'ublk-ctl %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
	return EXIT_USAGE;
}

static int print_help(const char *text)
{
	fputs(text, stdout);
	return EXIT_OK;
}

/* getopt_long() returned '?' or ':'; opterr is off so we word it. */
static int bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	/* glibc: optopt is 0 for an unknown long option, else its value. */
	if (c == ':')
		return usage_error(cmd, "option '%s' needs an argument", arg);
	if (optopt == 0)
		return usage_error(cmd, "unknown option '%s'", arg);
	if (optopt >= OPT_HELP) /* long options are all >= OPT_HELP */
		return usage_error(cmd, "option '%.*s' takes no argument",
				   (int)strcspn(arg, "="), arg);
	return usage_error(cmd, "unknown option '-%c'", optopt);
}

/* ---- option values ----------------------------------------------------- */

static int parse_count(const char *text, unsigned max, unsigned *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Seconds as an operator writes them ("60", "0.5"), at most max. */
static int parse_seconds(const char *text, double max, double *out)
{
	char *end;

	/* strtod() also takes hex, "inf" and exponents: not for operators */
	if (!text[0] || strspn(text, "0123456789.") != strlen(text))
		return -1;
	errno = 0;
	*out = strtod(text, &end);
	if (errno || *end || !isfinite(*out) || *out > max)
		return -1;
	return 0;
}

static int set_timeout(struct ctl_opts *o, const char *cmd, const char *text)
{
	double s;

	if (parse_seconds(text, MAX_TIMEOUT_S, &s) < 0)
		goto bad;
	o->timeout_text = text;
	o->timeout_ms = s == 0 ? -1 : (int)(s * 1000 + 0.999); /* round up */
	return 0;
bad:
	return usage_error(cmd, "invalid timeout '%s' (seconds, e.g. 60 or 0.5; 0 waits forever)",
			   text);
}

static int set_socket(struct ctl_opts *o, const char *cmd, const char *path)
{
	if (!path[0])
		return usage_error(cmd, "empty socket path");
	if (strlen(path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
		return usage_error(cmd, "socket path too long (max %zu bytes): %s",
				   sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1, path);
	o->socket = path;
	return 0;
}

/*
 * Options every command takes: 0 when handled, EXIT_USAGE on a bad value,
 * OPT_HELP_SHOWN after printing help, OPT_NOT_COMMON for anything else.
 */
static int common_option(struct ctl_opts *o, const char *cmd, int c, const char *help)
{
	switch (c) {
	case OPT_SOCKET:
		return set_socket(o, cmd, optarg);
	case OPT_TIMEOUT:
		return set_timeout(o, cmd, optarg);
	case 'h':
	case OPT_HELP:
		print_help(help);
		return OPT_HELP_SHOWN;
	default:
		return OPT_NOT_COMMON;
	}
}

/* Exit status for a nonzero common_option() result. */
static int option_status(const char *cmd, int c, char **argv, int ret)
{
	if (ret == OPT_HELP_SHOWN)
		return EXIT_OK;
	if (ret == OPT_NOT_COMMON) /* getopt returned a value we did not list */
		return bad_option(cmd, '?', argv);
	return ret;
}

static int check_name(const char *cmd, const char *what, const char *name)
{
	size_t len = strlen(name);

	if (len >= CONF_NAME_MAX)
		return usage_error(cmd, "%s name too long (%zu bytes, max %d)", what, len,
				   CONF_NAME_MAX - 1);
	if (!conf_name_valid(name))
		return usage_error(cmd, "invalid %s name \"%s\" (use letters, digits, '_', '.', '-')",
				   what, name);
	return 0;
}

/* ---- talking to the daemon -------------------------------------------- */

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
static int transact(const struct ctl_opts *o, const struct ctl_request *req,
		    json_object **reply)
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
static json_object *payload(json_object *reply, const char *key, enum json_type type)
{
	json_object *val;

	if (json_object_object_get_ex(reply, key, &val) && json_object_is_type(val, type))
		return val;
	errmsg("malformed reply from the daemon (no \"%s\")", key);
	return NULL;
}

static void print_json(json_object *obj)
{
	/* json-c pretty-prints an empty array over two lines */
	if (json_object_is_type(obj, json_type_array) && !json_object_array_length(obj)) {
		puts("[]");
		return;
	}
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
						 JSON_C_TO_STRING_SPACED |
						 JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ---- the command skeleton ------------------------------------------------ */

static const struct option common_options[] = {
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

/* The flags, for every command: its longopts decide which it takes. */
static int flag_option(struct cmd_ctx *x, int c, const char *arg)
{
	(void)arg;
	switch (c) {
	case OPT_JSON:
		x->json = true;
		return 0;
	case OPT_PROMETHEUS:
		x->prometheus = true;
		return 0;
	case OPT_FORCE:
		x->req.force = true;
		return 0;
	case OPT_DRY_RUN:
		x->req.dry_run = true;
		return 0;
	}
	return OPT_NOT_COMMON;
}

/* -1 to go on, or the exit status to stop with (0 after --help). */
static int parse_options(struct cmd_ctx *x, int argc, char **argv)
{
	const struct command *cmd = x->cmd;
	int c, ret;

	while ((c = getopt_long(argc, argv, cmd->shortopts ? cmd->shortopts : ":h",
				cmd->longopts ? cmd->longopts : common_options, NULL)) != -1) {
		if (c == '?' || c == ':')
			return bad_option(cmd->name, c, argv);
		ret = common_option(x->o, cmd->name, c, cmd->help);
		if (ret == OPT_NOT_COMMON)
			ret = (cmd->option ? cmd->option : flag_option)(x, c, optarg);
		if (ret)
			return option_status(cmd->name, c, argv, ret);
	}
	return -1;
}

static int no_operands(struct cmd_ctx *x, int argc, char **argv)
{
	if (optind < argc)
		return usage_error(x->cmd->name, "unexpected argument '%s'", argv[optind]);
	return 0;
}

/* One request, one reply: its payload goes to the command's show. */
static int query_and_show(struct cmd_ctx *x)
{
	const struct command *cmd = x->cmd;
	json_object *reply, *p;
	int ret;

	ret = transact(x->o, &x->req, &reply);
	if (ret)
		return ret;
	if (cmd->payload) {
		p = payload(reply, cmd->payload, cmd->payload_type);
		ret = p ? cmd->show(x, p) : EXIT_REFUSED;
	}
	json_object_put(reply);
	return ret;
}

static int run_command(const struct command *cmd, struct ctl_opts *o, int argc, char **argv)
{
	struct cmd_ctx x = {
		.o = o,
		.cmd = cmd,
		/* the defaults of the options that take a value */
		.interval_ms = 1000,
		.sort = sf_sort_column("iops"),
		.listen = DEFAULT_METRICS_LISTEN,
	};
	int ret;

	if (cmd->raw)
		return cmd->raw(o, argc, argv);
	ctl_request_init(&x.req, cmd->request);
	ret = parse_options(&x, argc, argv);
	if (ret >= 0)
		return ret;
	ret = (cmd->args ? cmd->args : no_operands)(&x, argc, argv);
	if (ret)
		return ret;
	return cmd->loop ? cmd->loop(&x) : query_and_show(&x);
}

/* ---- commands ---------------------------------------------------------- */

/* --class, --iops-limit, --bw-limit, --weight, --no-recovery. */
static int qos_option(struct ctl_request *req, int c, const char *arg)
{
	unsigned long long v;
	char *end;
	int cls;

	switch (c) {
	case OPT_CLASS:
		cls = conf_class_from_name(arg);
		if (cls < 0)
			return usage_error("add", "--class must be latency, throughput or besteffort, "
					   "not '%s'", arg);
		req->cls = (enum conf_class)cls;
		return 0;
	case OPT_IOPS_LIMIT:
		errno = 0;
		v = strtoull(arg, &end, 10);
		/* strtoull() also skips blanks and takes a sign: digits only */
		if (!isdigit((unsigned char)arg[0]) || errno || *end || v > 10000000ULL)
			return usage_error("add", "--iops-limit must be 0 (no limit) or an integer up "
					   "to 10000000, not '%s'", arg);
		req->qos.iops_limit = v;
		return 0;
	case OPT_BW_LIMIT:
		if (parse_size(arg, &req->qos.bw_limit) ||
		    (req->qos.bw_limit && (req->qos.bw_limit < 4096 || req->qos.bw_limit > (1ULL << 40))))
			return usage_error("add", "--bw-limit must be 0 (no limit) or 4K to 1T per "
					   "second, e.g. 100M, not '%s'", arg);
		return 0;
	case OPT_WEIGHT:
		if (parse_count(arg, CONF_MAX_WEIGHT, &req->qos.weight) || !req->qos.weight)
			return usage_error("add", "--weight must be an integer from 1 to %d, not '%s'",
					   CONF_MAX_WEIGHT, arg);
		return 0;
	case OPT_NO_RECOVERY:
		req->recovery = false;
		return 0;
	}
	return OPT_NOT_COMMON;
}

/* add's options: where the tenant goes, its shape, its QoS. */
static int add_option(struct cmd_ctx *x, int c, const char *arg)
{
	switch (c) {
	case OPT_NAME:
		x->name = arg;
		return 0;
	case OPT_BACKEND:
		x->backend = arg;
		return 0;
	case OPT_SIZE:
		x->size = arg;
		return 0;
	case OPT_QUEUES:
		if (parse_count(arg, CONF_MAX_QUEUES, &x->req.queues))
			return usage_error("add", "--queues must be an integer from 1 to %d, not '%s'",
					   CONF_MAX_QUEUES, arg);
		return 0;
	case OPT_DEPTH:
		if (parse_count(arg, CONF_MAX_DEPTH, &x->req.depth))
			return usage_error("add", "--depth must be an integer from 1 to %d, not '%s'",
					   CONF_MAX_DEPTH, arg);
		return 0;
	}
	return qos_option(&x->req, c, arg);
}

/* --size: a positive multiple of 4096 bytes. */
static int parse_device_size(const char *text, uint64_t *size)
{
	switch (parse_size(text, size)) {
	case 0:
		break;
	case -ERANGE:
		return usage_error("add", "size '%s' is too large", text);
	default:
		return usage_error("add", "invalid size '%s' (use e.g. 4K, 64M, 1G, 2T)", text);
	}
	if (*size == 0 || *size % 4096)
		return usage_error("add", "size must be a positive multiple of 4096 bytes, not %s",
				   text);
	return 0;
}

/* Once every option is read: the required ones complete the request. */
static int add_operands(struct cmd_ctx *x, int argc, char **argv)
{
	int ret = no_operands(x, argc, argv);

	if (ret)
		return ret;
	if (!x->name)
		return usage_error("add", "missing --name");
	if (!x->backend)
		return usage_error("add", "missing --backend");
	if (!x->size)
		return usage_error("add", "missing --size");
	if (check_name("add", "tenant", x->name) || check_name("add", "backend", x->backend))
		return EXIT_USAGE;
	ret = parse_device_size(x->size, &x->req.size);
	if (ret)
		return ret;
	strcpy(x->req.name, x->name); /* lengths checked by check_name() */
	strcpy(x->req.backend, x->backend);
	return 0;
}

/* The new device's path, and nothing else: dev=$(ublk-ctl add ...). */
static int show_added(struct cmd_ctx *x, json_object *tenant)
{
	struct ctl_tenant_info t;

	(void)x;
	if (ctl_tenant_from_json(tenant, &t) || !t.device[0]) {
		errmsg("malformed reply from the daemon (bad \"tenant\")");
		return EXIT_REFUSED;
	}
	printf("%s\n", t.device);
	return EXIT_OK;
}

enum list_column {
	COL_NAME,
	COL_DEVICE,
	COL_STATE,
	COL_BACKEND,
	COL_OFFSET,
	COL_SIZE,
	COL_QUEUES,
	COL_DEPTH,
	COL_CLASS,
	COL_LIMITS,
	NR_COLS,
};

struct table_row {
	char cell[NR_COLS][80];
};

static const char *const list_header[NR_COLS] = {
	"NAME", "DEVICE", "STATE", "BACKEND", "OFFSET", "SIZE", "QUEUES", "DEPTH", "CLASS",
	"LIMITS",
};

static void format_limits(const struct conf_qos *q, char *buf, size_t len)
{
	char bw[32];
	int n = 0;

	buf[0] = '\0';
	if (q->iops_limit)
		n = snprintf(buf, len, "%llu IOPS", (unsigned long long)q->iops_limit);
	if (q->bw_limit && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "%s%s/s", n ? ", " : "",
			 format_size(q->bw_limit, bw, sizeof(bw)));
	if (!buf[0])
		snprintf(buf, len, "-");
}

static void tenant_row(const struct ctl_tenant_info *t, struct table_row *r)
{
	snprintf(r->cell[COL_NAME], sizeof(r->cell[0]), "%s", t->name);
	snprintf(r->cell[COL_DEVICE], sizeof(r->cell[0]), "%s", t->device[0] ? t->device : "-");
	snprintf(r->cell[COL_STATE], sizeof(r->cell[0]), "%s", t->state);
	snprintf(r->cell[COL_BACKEND], sizeof(r->cell[0]), "%s", t->backend);
	format_size(t->offset, r->cell[COL_OFFSET], sizeof(r->cell[0]));
	format_size(t->size, r->cell[COL_SIZE], sizeof(r->cell[0]));
	snprintf(r->cell[COL_QUEUES], sizeof(r->cell[0]), "%u", t->queues);
	snprintf(r->cell[COL_DEPTH], sizeof(r->cell[0]), "%u", t->depth);
	snprintf(r->cell[COL_CLASS], sizeof(r->cell[0]), "%s", conf_class_name(t->cls));
	format_limits(&t->qos, r->cell[COL_LIMITS], sizeof(r->cell[0]));
}

/* Left-aligned columns two spaces apart, no trailing blanks. */
static void print_table(const struct table_row *rows, size_t n)
{
	size_t width[NR_COLS];
	int col;

	for (col = 0; col < NR_COLS; col++) {
		width[col] = strlen(list_header[col]);
		for (size_t i = 0; i < n; i++)
			if (strlen(rows[i].cell[col]) > width[col])
				width[col] = strlen(rows[i].cell[col]);
	}
	for (size_t i = 0; i <= n; i++) {
		for (col = 0; col < NR_COLS; col++) {
			const char *s = i == 0 ? list_header[col] : rows[i - 1].cell[col];

			if (col == NR_COLS - 1)
				printf("%s\n", s);
			else
				printf("%-*s  ", (int)width[col], s);
		}
	}
}

static int show_tenants(struct cmd_ctx *x, json_object *tenants)
{
	size_t n = json_object_array_length(tenants);
	struct ctl_tenant_info t;
	struct table_row *rows;

	rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows) {
		errmsg("out of memory");
		return EXIT_REFUSED;
	}
	/* Validate everything first: print all or nothing. */
	for (size_t i = 0; i < n; i++) {
		if (ctl_tenant_from_json(json_object_array_get_idx(tenants, i), &t)) {
			errmsg("malformed reply from the daemon (bad tenant #%zu)", i + 1);
			free(rows);
			return EXIT_REFUSED;
		}
		tenant_row(&t, &rows[i]);
	}
	if (x->json)
		print_json(tenants);
	else
		print_table(rows, n);
	free(rows);
	return EXIT_OK;
}

/*
 * One line per backend (print), or only the check that every entry is well
 * formed: how its NVMe queues are reached. Older daemons send none.
 */
static int show_backends(json_object *f, bool print)
{
	json_object *arr;
	size_t n;

	if (!json_object_object_get_ex(f, "backends", &arr))
		return EXIT_OK;
	if (!json_object_is_type(arr, json_type_array)) {
		errmsg("malformed reply from the daemon (bad \"backends\")");
		return EXIT_REFUSED;
	}
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		struct ctl_backend_info b;

		if (ctl_backend_from_json(json_object_array_get_idx(arr, i), &b) < 0) {
			errmsg("malformed reply from the daemon (bad \"backends\")");
			return EXIT_REFUSED;
		}
		if (!print)
			continue;
		if (b.route == CTL_ROUTE_NONE)
			printf("backend %s (%s): no NVMe queue routing\n", b.name, b.kind);
		else
			printf("backend %s (%s): %s, %u of %u NVMe queues reachable (%u polled)\n",
			       b.name, b.kind, b.route == CTL_ROUTE_STEERING ?
			       "queue steering" : "pinned submitters", b.reachable_queues,
			       b.hw_queues, b.poll_queues);
	}
	return EXIT_OK;
}

static int show_features(struct cmd_ctx *x, json_object *f)
{
	json_object *opcodes, *flags, *raw, *kernel, *flag;
	size_t n;

	if (!json_object_object_get_ex(f, "opcodes", &opcodes) ||
	    !json_object_is_type(opcodes, json_type_string) ||
	    !json_object_object_get_ex(f, "flags", &flags) ||
	    !json_object_is_type(flags, json_type_array) ||
	    !json_object_object_get_ex(f, "flags_raw", &raw) ||
	    !json_object_is_type(raw, json_type_int) ||
	    !json_object_object_get_ex(f, "kernel", &kernel) ||
	    !json_object_is_type(kernel, json_type_string)) {
		errmsg("malformed reply from the daemon (bad \"features\")");
		return EXIT_REFUSED;
	}
	n = json_object_array_length(flags);
	for (size_t i = 0; i < n; i++) {
		if (!json_object_is_type(json_object_array_get_idx(flags, i), json_type_string)) {
			errmsg("malformed reply from the daemon (bad \"flags\")");
			return EXIT_REFUSED;
		}
	}
	if (show_backends(f, false) != EXIT_OK)
		return EXIT_REFUSED;
	if (x->json) {
		print_json(f);
		return EXIT_OK;
	}
	printf("ublk opcodes: %s\n", json_object_get_string(opcodes));
	fputs("ublk flags:", stdout);
	for (size_t i = 0; i < n; i++) {
		flag = json_object_array_get_idx(flags, i);
		printf(" %s", json_object_get_string(flag));
	}
	printf("%s (0x%llx)\n", n ? "" : " none",
	       (unsigned long long)json_object_get_uint64(raw));
	printf("kernel: %s\n", json_object_get_string(kernel));
	return show_backends(f, true);
}

/* del NAME */
static int del_operands(struct cmd_ctx *x, int argc, char **argv)
{
	if (optind >= argc)
		return usage_error("del", "missing NAME");
	if (optind + 1 < argc)
		return usage_error("del", "unexpected argument '%s'", argv[optind + 1]);
	if (check_name("del", "tenant", argv[optind]))
		return EXIT_USAGE;
	strcpy(x->req.name, argv[optind]);
	return 0;
}

static int show_reload(struct cmd_ctx *x, json_object *r)
{
	json_object *applied, *changes, *line;
	size_t n;

	(void)x;
	if (!json_object_object_get_ex(r, "applied", &applied) ||
	    !json_object_is_type(applied, json_type_boolean) ||
	    !json_object_object_get_ex(r, "changes", &changes) ||
	    !json_object_is_type(changes, json_type_array)) {
		errmsg("malformed reply from the daemon (bad \"reload\")");
		return EXIT_REFUSED;
	}
	n = json_object_array_length(changes);
	/* Validate first: print all or nothing. */
	for (size_t i = 0; i < n; i++) {
		if (!json_object_is_type(json_object_array_get_idx(changes, i), json_type_string)) {
			errmsg("malformed reply from the daemon (bad \"changes\")");
			return EXIT_REFUSED;
		}
	}
	for (size_t i = 0; i < n; i++) {
		line = json_object_array_get_idx(changes, i);
		printf("%s\n", json_object_get_string(line));
	}
	if (!n)
		puts("no changes");
	else if (!json_object_get_boolean(applied))
		puts("(dry run: nothing was changed)");
	return EXIT_OK;
}

/* ---- statistics ---------------------------------------------------------- */

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
	st = payload(reply, "stats", json_type_object);
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
		snprintf(x->req.name, sizeof(x->req.name), "%s", name);
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

/* ---- serve-metrics --------------------------------------------------- */

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

static int cmd_help(struct ctl_opts *o, int argc, char **argv);

static const struct option add_options[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "queues", required_argument, NULL, OPT_QUEUES },
	{ "depth", required_argument, NULL, OPT_DEPTH },
	{ "class", required_argument, NULL, OPT_CLASS },
	{ "iops-limit", required_argument, NULL, OPT_IOPS_LIMIT },
	{ "bw-limit", required_argument, NULL, OPT_BW_LIMIT },
	{ "weight", required_argument, NULL, OPT_WEIGHT },
	{ "no-recovery", no_argument, NULL, OPT_NO_RECOVERY },
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static const struct option json_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static const struct option del_options[] = {
	{ "force", no_argument, NULL, OPT_FORCE },
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static const struct option reload_options[] = {
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static const struct option stats_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "prometheus", no_argument, NULL, OPT_PROMETHEUS },
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static const struct option top_options[] = {
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "sort", required_argument, NULL, OPT_SORT },
	{ "iterations", required_argument, NULL, 'n' },
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static const struct option serve_metrics_options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

static const struct command commands[] = {
	{
		.name = "add", .help = help_add,
		.request = CTL_CMD_ADD, .longopts = add_options, .option = add_option,
		.args = add_operands,
		.payload = "tenant", .payload_type = json_type_object, .show = show_added,
	},
	{
		.name = "list", .help = help_list,
		.request = CTL_CMD_LIST, .longopts = json_options,
		.payload = "tenants", .payload_type = json_type_array, .show = show_tenants,
	},
	{
		.name = "del", .help = help_del,
		.request = CTL_CMD_DEL, .longopts = del_options, .args = del_operands,
	},
	{
		.name = "reload", .help = help_reload,
		.request = CTL_CMD_RELOAD, .longopts = reload_options,
		.payload = "reload", .payload_type = json_type_object, .show = show_reload,
	},
	{
		.name = "features", .help = help_features,
		.request = CTL_CMD_FEATURES, .longopts = json_options,
		.payload = "features", .payload_type = json_type_object, .show = show_features,
	},
	{
		.name = "stats", .help = help_stats,
		.request = CTL_CMD_STATS, .longopts = stats_options, .args = stats_operands,
		.payload = "stats", .payload_type = json_type_object, .show = show_stats,
	},
	{
		.name = "top", .help = help_top,
		.longopts = top_options, .shortopts = ":hn:", .option = top_option,
		.loop = top_loop,
	},
	{
		.name = "nq", .help = help_nq,
		.request = CTL_CMD_STATS, .longopts = json_options,
		.payload = "stats", .payload_type = json_type_object, .show = show_nqs,
	},
	{
		.name = "serve-metrics", .help = help_serve_metrics,
		.longopts = serve_metrics_options, .option = serve_metrics_option,
		.loop = serve_metrics,
	},
	{ .name = "help", .help = help_help, .raw = cmd_help },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int cmd_help(struct ctl_opts *o, int argc, char **argv)
{
	const struct command *cmd;

	if (argc < 2)
		return print_help(help_main);
	if (argc > 2)
		return usage_error("help", "unexpected argument '%s'", argv[2]);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return print_help(help_help);
	cmd = find_command(argv[1]);
	if (!cmd)
		return usage_error(NULL, "unknown command '%s'", argv[1]);
	return print_help(cmd->help);
}

/* ---- main -------------------------------------------------------------- */

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_LONG_OPTIONS,
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_opts o = {
		.socket = CONF_DEFAULT_SOCKET,
		.timeout_text = DEFAULT_TIMEOUT,
	};
	const struct command *cmd;
	const char *env;
	int c, ret;

	set_timeout(&o, NULL, DEFAULT_TIMEOUT);
	env = getenv("DDUBLK_SOCKET");
	if (env && env[0] && set_socket(&o, NULL, env))
		return EXIT_USAGE;

	opterr = 0;
	/* '+': stop at the command; its options are parsed by the command. */
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_VERSION:
			printf("ublk-ctl %s\n", UBLK_CTL_VERSION);
			return EXIT_OK;
		case '?':
		case ':':
			return bad_option(NULL, c, argv);
		default:
			ret = common_option(&o, NULL, c, help_main);
			if (ret)
				return option_status(NULL, c, argv, ret);
		}
	}
	if (optind >= argc)
		return usage_error(NULL, "missing command");
	cmd = find_command(argv[optind]);
	if (!cmd)
		return usage_error(NULL, "unknown command '%s'", argv[optind]);

	argc -= optind;
	argv += optind;
	optind = 0; /* full getopt reset (glibc) for the command's own options */
	return run_command(cmd, &o, argc, argv);
}

int main(int argc, char **argv)
{
	int ret = run(argc, argv);

	/* A result nobody received is a failure, e.g. a full disk or closed pipe. */
	if (fflush(stdout) || ferror(stdout)) {
		errmsg("cannot write to stdout: %s", strerror(errno));
		if (ret == EXIT_OK)
			ret = EXIT_REFUSED;
	}
	return ret;
}
