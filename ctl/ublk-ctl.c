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

struct command {
	const char *name;
	int (*run)(struct ctl_opts *o, int argc, char **argv);
	const char *help;
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

/* ---- commands ---------------------------------------------------------- */

/* --class, --iops-limit, --bw-limit, --weight, --no-recovery: 0 or EXIT_USAGE. */
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
	return 0;
}

static int cmd_add(struct ctl_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
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
	const char *name = NULL, *backend = NULL, *size = NULL;
	struct ctl_request req;
	struct ctl_tenant_info t;
	json_object *reply, *tenant;
	int c, ret;

	ctl_request_init(&req, CTL_CMD_ADD);
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CLASS:
		case OPT_IOPS_LIMIT:
		case OPT_BW_LIMIT:
		case OPT_WEIGHT:
		case OPT_NO_RECOVERY:
			ret = qos_option(&req, c, optarg);
			if (ret)
				return ret;
			break;
		case OPT_NAME:
			name = optarg;
			break;
		case OPT_BACKEND:
			backend = optarg;
			break;
		case OPT_SIZE:
			size = optarg;
			break;
		case OPT_QUEUES:
			if (parse_count(optarg, CONF_MAX_QUEUES, &req.queues))
				return usage_error("add", "--queues must be an integer from 1 to %d, not '%s'",
						   CONF_MAX_QUEUES, optarg);
			break;
		case OPT_DEPTH:
			if (parse_count(optarg, CONF_MAX_DEPTH, &req.depth))
				return usage_error("add", "--depth must be an integer from 1 to %d, not '%s'",
						   CONF_MAX_DEPTH, optarg);
			break;
		case '?':
		case ':':
			return bad_option("add", c, argv);
		default:
			ret = common_option(o, "add", c, help_add);
			if (ret)
				return option_status("add", c, argv, ret);
		}
	}
	if (optind < argc)
		return usage_error("add", "unexpected argument '%s'", argv[optind]);
	if (!name)
		return usage_error("add", "missing --name");
	if (!backend)
		return usage_error("add", "missing --backend");
	if (!size)
		return usage_error("add", "missing --size");
	if (check_name("add", "tenant", name) || check_name("add", "backend", backend))
		return EXIT_USAGE;
	switch (parse_size(size, &req.size)) {
	case 0:
		break;
	case -ERANGE:
		return usage_error("add", "size '%s' is too large", size);
	default:
		return usage_error("add", "invalid size '%s' (use e.g. 4K, 64M, 1G, 2T)", size);
	}
	if (req.size == 0 || req.size % 4096)
		return usage_error("add", "size must be a positive multiple of 4096 bytes, not %s",
				   size);
	strcpy(req.name, name); /* lengths checked by check_name() */
	strcpy(req.backend, backend);

	ret = transact(o, &req, &reply);
	if (ret)
		return ret;
	tenant = payload(reply, "tenant", json_type_object);
	if (!tenant) {
		ret = EXIT_REFUSED;
	} else if (ctl_tenant_from_json(tenant, &t) || !t.device[0]) {
		errmsg("malformed reply from the daemon (bad \"tenant\")");
		ret = EXIT_REFUSED;
	} else {
		printf("%s\n", t.device);
	}
	json_object_put(reply);
	return ret;
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

static int show_tenants(json_object *tenants, bool json)
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
	if (json)
		print_json(tenants);
	else
		print_table(rows, n);
	free(rows);
	return EXIT_OK;
}

/*
 * list and features take the same options: --json plus the common ones.
 * Returns -1 to go on, or the exit status to stop with (0 after --help).
 */
static int parse_json_flag(struct ctl_opts *o, const char *cmd, const char *help, int argc,
			   char **argv, bool *json)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c, ret;

	*json = false;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			*json = true;
			break;
		case '?':
		case ':':
			return bad_option(cmd, c, argv);
		default:
			ret = common_option(o, cmd, c, help);
			if (ret)
				return option_status(cmd, c, argv, ret);
		}
	}
	if (optind < argc)
		return usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	return -1;
}

static int cmd_list(struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_request req = { .cmd = CTL_CMD_LIST };
	json_object *reply, *tenants;
	bool json;
	int ret;

	ret = parse_json_flag(o, "list", help_list, argc, argv, &json);
	if (ret >= 0)
		return ret;
	ret = transact(o, &req, &reply);
	if (ret)
		return ret;
	tenants = payload(reply, "tenants", json_type_array);
	ret = tenants ? show_tenants(tenants, json) : EXIT_REFUSED;
	json_object_put(reply);
	return ret;
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

static int show_features(json_object *f, bool json)
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
	if (json) {
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

static int cmd_features(struct ctl_opts *o, int argc, char **argv)
{
	struct ctl_request req = { .cmd = CTL_CMD_FEATURES };
	json_object *reply, *features;
	bool json;
	int ret;

	ret = parse_json_flag(o, "features", help_features, argc, argv, &json);
	if (ret >= 0)
		return ret;
	ret = transact(o, &req, &reply);
	if (ret)
		return ret;
	features = payload(reply, "features", json_type_object);
	ret = features ? show_features(features, json) : EXIT_REFUSED;
	json_object_put(reply);
	return ret;
}

static int cmd_del(struct ctl_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, OPT_FORCE },
		COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_request req;
	json_object *reply;
	int c, ret;

	ctl_request_init(&req, CTL_CMD_DEL);
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FORCE:
			req.force = true;
			break;
		case '?':
		case ':':
			return bad_option("del", c, argv);
		default:
			ret = common_option(o, "del", c, help_del);
			if (ret)
				return option_status("del", c, argv, ret);
		}
	}
	if (optind >= argc)
		return usage_error("del", "missing NAME");
	if (optind + 1 < argc)
		return usage_error("del", "unexpected argument '%s'", argv[optind + 1]);
	if (check_name("del", "tenant", argv[optind]))
		return EXIT_USAGE;
	strcpy(req.name, argv[optind]);

	ret = transact(o, &req, &reply);
	if (ret == EXIT_OK)
		json_object_put(reply);
	return ret;
}

static int show_reload(json_object *r)
{
	json_object *applied, *changes, *line;
	size_t n;

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

static int cmd_reload(struct ctl_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_request req;
	json_object *reply, *r;
	int c, ret;

	ctl_request_init(&req, CTL_CMD_RELOAD);
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_FORCE:
			req.force = true;
			break;
		case OPT_DRY_RUN:
			req.dry_run = true;
			break;
		case '?':
		case ':':
			return bad_option("reload", c, argv);
		default:
			ret = common_option(o, "reload", c, help_reload);
			if (ret)
				return option_status("reload", c, argv, ret);
		}
	}
	if (optind < argc)
		return usage_error("reload", "unexpected argument '%s'", argv[optind]);
	ret = transact(o, &req, &reply);
	if (ret)
		return ret;
	r = payload(reply, "reload", json_type_object);
	ret = r ? show_reload(r) : EXIT_REFUSED;
	json_object_put(reply);
	return ret;
}

/* ---- statistics ---------------------------------------------------------- */

/* One "stats" request: the parsed snapshot (and the raw payload if json), or an exit status. */
static int fetch_stats(struct ctl_opts *o, const char *name, struct sf_snap **snap,
		       json_object **raw)
{
	struct ctl_request req;
	json_object *reply, *st;
	char err[256];
	int ret;

	*snap = NULL;
	ctl_request_init(&req, CTL_CMD_STATS);
	if (name)
		snprintf(req.name, sizeof(req.name), "%s", name);
	ret = transact(o, &req, &reply);
	if (ret)
		return ret;
	st = payload(reply, "stats", json_type_object);
	*snap = st ? sf_parse(st, err, sizeof(err)) : NULL;
	if (st && !*snap)
		errmsg("%s", err);
	if (*snap && raw)
		*raw = json_object_get(st);
	json_object_put(reply);
	return *snap ? EXIT_OK : EXIT_REFUSED;
}

static int cmd_stats(struct ctl_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "prometheus", no_argument, NULL, OPT_PROMETHEUS },
		COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	bool json = false, prom = false;
	const char *name = NULL;
	struct sf_snap *snap;
	json_object *raw = NULL;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			json = true;
			break;
		case OPT_PROMETHEUS:
			prom = true;
			break;
		case '?':
		case ':':
			return bad_option("stats", c, argv);
		default:
			ret = common_option(o, "stats", c, help_stats);
			if (ret)
				return option_status("stats", c, argv, ret);
		}
	}
	if (json && prom)
		return usage_error("stats", "--json and --prometheus exclude each other");
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc)
		return usage_error("stats", "unexpected argument '%s'", argv[optind]);
	if (name && (ret = check_name("stats", "tenant", name)))
		return ret;
	ret = fetch_stats(o, name, &snap, json ? &raw : NULL);
	if (ret)
		return ret;
	if (json)
		print_json(raw);
	else if (prom)
		sf_print_prometheus(stdout, snap);
	else
		sf_print_stats(stdout, snap);
	json_object_put(raw);
	sf_free(snap);
	return EXIT_OK;
}

static int cmd_nq(struct ctl_opts *o, int argc, char **argv)
{
	struct sf_snap *snap;
	json_object *raw = NULL, *nqs;
	bool json;
	int ret;

	ret = parse_json_flag(o, "nq", help_nq, argc, argv, &json);
	if (ret >= 0)
		return ret;
	ret = fetch_stats(o, NULL, &snap, json ? &raw : NULL);
	if (ret)
		return ret;
	if (!json)
		sf_print_nqs(stdout, snap);
	else if (json_object_object_get_ex(raw, "nqs", &nqs))
		print_json(nqs);
	else
		puts("[]"); /* a daemon without routers */
	json_object_put(raw);
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

	if (fetch_stats(arg, NULL, &snap, NULL)) { /* its reason went to stderr */
		snprintf(err, errlen, "no statistics from ddublkd (see ublk-ctl's stderr)");
		return -1;
	}
	sf_print_prometheus(out, snap);
	sf_free(snap);
	return 0;
}

static int cmd_serve_metrics(struct ctl_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, OPT_LISTEN },
		COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_at = DEFAULT_METRICS_LISTEN;
	struct sigaction sa = { .sa_handler = on_stop_signal };
	char err[512];
	int c, ret, fd;

	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			listen_at = optarg;
			break;
		case '?':
		case ':':
			return bad_option("serve-metrics", c, argv);
		default:
			ret = common_option(o, "serve-metrics", c, help_serve_metrics);
			if (ret)
				return option_status("serve-metrics", c, argv, ret);
		}
	}
	if (optind < argc)
		return usage_error("serve-metrics", "unexpected argument '%s'", argv[optind]);
	fd = metrics_http_listen(listen_at, err, sizeof(err));
	if (fd < 0)
		return usage_error("serve-metrics", "%s", err);
	/* No SA_RESTART: the wait for a connection ends, and sees metrics_stop. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "ublk-ctl: serving metrics of %s on http://%s/metrics\n", o->socket,
		listen_at);
	metrics_http_serve(fd, render_metrics, o, &metrics_stop);
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

static int top_loop(struct ctl_opts *o, unsigned interval_ms, int sort, unsigned iterations)
{
	struct sf_frame_opts fo = { .sort = sort, .tty = isatty(STDOUT_FILENO) == 1 };
	struct sf_snap *prev = NULL, *cur;
	char when[64];
	int ret;

	ret = fetch_stats(o, NULL, &prev, NULL);
	for (unsigned i = 0; !ret && (!iterations || i < iterations); i++) {
		sleep_ms(interval_ms);
		ret = fetch_stats(o, NULL, &cur, NULL);
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

static int cmd_top(struct ctl_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "sort", required_argument, NULL, OPT_SORT },
		{ "iterations", required_argument, NULL, 'n' },
		COMMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	unsigned interval_ms = 1000, iterations = 0;
	int c, ret, sort = sf_sort_column("iops");

	while ((c = getopt_long(argc, argv, ":hn:", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_INTERVAL:
			if (parse_interval(optarg, &interval_ms))
				return usage_error("top", "--interval must be 0.1 to 86400 seconds, "
						   "not '%s'", optarg);
			break;
		case OPT_SORT:
			sort = sf_sort_column(optarg);
			if (sort < 0)
				return usage_error("top", "unknown sort column '%s' (use %s)", optarg,
						   sf_sort_columns());
			break;
		case 'n':
			if (parse_count(optarg, 1000000, &iterations) || !iterations)
				return usage_error("top", "-n must be 1 to 1000000, not '%s'", optarg);
			break;
		case '?':
		case ':':
			return bad_option("top", c, argv);
		default:
			ret = common_option(o, "top", c, help_top);
			if (ret)
				return option_status("top", c, argv, ret);
		}
	}
	if (optind < argc)
		return usage_error("top", "unexpected argument '%s'", argv[optind]);
	return top_loop(o, interval_ms, sort, iterations);
}

static int cmd_help(struct ctl_opts *o, int argc, char **argv);

static const struct command commands[] = {
	{ "add", cmd_add, help_add },
	{ "list", cmd_list, help_list },
	{ "del", cmd_del, help_del },
	{ "reload", cmd_reload, help_reload },
	{ "features", cmd_features, help_features },
	{ "stats", cmd_stats, help_stats },
	{ "top", cmd_top, help_top },
	{ "nq", cmd_nq, help_nq },
	{ "serve-metrics", cmd_serve_metrics, help_serve_metrics },
	{ "help", cmd_help, help_help },
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
	return cmd->run(&o, argc, argv);
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
