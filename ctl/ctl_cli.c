/* SPDX-License-Identifier: MIT */
/*
 * What every ublk-ctl command shares: its messages (stdout carries only
 * results, stderr only "ublk-ctl: reason"), the values of its options,
 * and run_command(), the skeleton that runs a command from its entry.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h> /* isfinite(): a macro, no libm */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "conf/config.h"
#include "ctl/ctl_cli.h"

#define MAX_TIMEOUT_S 2147483.0 /* milliseconds must fit an int for poll() */

/* ---- messages ---------------------------------------------------------- */

void errmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ublk-ctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int usage_error(const char *cmd, const char *fmt, ...)
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

int print_help(const char *text)
{
	fputs(text, stdout);
	return EXIT_OK;
}

/* getopt_long() returned '?' or ':'; opterr is off so we word it. */
int bad_option(const char *cmd, int c, char **argv)
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


void print_json(json_object *obj)
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

/* ---- option values ----------------------------------------------------- */

int parse_count(const char *text, unsigned max, unsigned *out)
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
int parse_seconds(const char *text, double max, double *out)
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

int set_timeout(struct ctl_opts *o, const char *cmd, const char *text)
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

int set_socket(struct ctl_opts *o, const char *cmd, const char *path)
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
int common_option(struct ctl_opts *o, const char *cmd, int c, const char *help)
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
int option_status(const char *cmd, int c, char **argv, int ret)
{
	if (ret == OPT_HELP_SHOWN)
		return EXIT_OK;
	if (ret == OPT_NOT_COMMON) /* getopt returned a value we did not list */
		return bad_option(cmd, '?', argv);
	return ret;
}

int check_name(const char *cmd, const char *what, const char *name)
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

/* ---- the command skeleton ---------------------------------------------- */

static const struct option common_options[] = {
	COMMON_LONG_OPTIONS,
	{ NULL, 0, NULL, 0 },
};

const struct option json_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
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

int no_operands(struct cmd_ctx *x, int argc, char **argv)
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
		p = reply_payload(reply, cmd->payload, cmd->payload_type);
		ret = p ? cmd->show(x, p) : EXIT_REFUSED;
	}
	json_object_put(reply);
	return ret;
}

int run_command(const struct command *cmd, struct ctl_opts *o, int argc, char **argv)
{
	struct cmd_ctx x = { .o = o, .cmd = cmd };
	int ret;

	if (cmd->raw)
		return cmd->raw(o, argc, argv);
	ctl_request_init(&x.req, cmd->request);
	if (cmd->init)
		cmd->init(&x);
	ret = parse_options(&x, argc, argv);
	if (ret >= 0)
		return ret;
	ret = (cmd->args ? cmd->args : no_operands)(&x, argc, argv);
	if (ret)
		return ret;
	return cmd->loop ? cmd->loop(&x) : query_and_show(&x);
}
